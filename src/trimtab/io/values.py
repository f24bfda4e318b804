"""JSON values taken as their JSON type only, for the bodies and files read with pydantic.

pydantic's lax mode turns ``true`` into ``1.0``, ``"5"`` into ``5`` and ``0`` into the date
1970-01-01. A body that says ``"min_trade_value": true`` is a mistake to be named, not a
dollar: these types take a number (integer or not), a whole number, a boolean and a date as
``YYYY-MM-DD`` text (or a :class:`~datetime.date` already parsed), and nothing else. Their
JSON schema is pydantic's own for the type.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, StrictBool, StrictFloat, StrictInt

Number = StrictFloat
"""A JSON number (``1`` or ``1.5``); not a boolean or text."""

Whole = StrictInt
"""A JSON integer; not a boolean, text or a number with a fraction."""

Flag = StrictBool
"""``true`` or ``false``; not ``1``, ``"yes"`` or ``"true"``."""

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _day(value: Any) -> Any:
    if isinstance(value, datetime):
        raise ValueError("must be a date YYYY-MM-DD, not a moment")
    if isinstance(value, date):
        return value
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        return value
    raise ValueError("must be a date YYYY-MM-DD")


Day = Annotated[date, BeforeValidator(_day)]
"""A date written ``YYYY-MM-DD`` (or given as a date); not a number of seconds."""
