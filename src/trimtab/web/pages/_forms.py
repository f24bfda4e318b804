"""Reading page forms: texts to numbers and dates, checked once, errors naming the field;
and putting a service's error beside the field it names."""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import date

from trimtab.errors import InputError, TrimtabError
from trimtab.service.credentials import Principal
from trimtab.store.tables import ROLES

FORM = "_form"
"""The key of an error that belongs to no one field: shown above the form."""

RANK = {role: i for i, role in enumerate(ROLES)}


def may(who: Principal, role: str) -> bool:
    """Whether ``who``'s role ranks at least ``role`` (to show a button; the service
    still decides)."""
    return RANK.get(who.role, -1) >= RANK[role]


def blank(text: str | None) -> bool:
    return text is None or not text.strip()


def optional_number(text: str | None, field: str) -> float | None:
    """A number from a form field; ``None`` when left blank."""
    if blank(text):
        return None
    assert text is not None
    try:
        value = float(text.replace(",", "").strip())
    except ValueError:
        raise InputError(field, f"not a number: {text.strip()!r}") from None
    if not math.isfinite(value):
        raise InputError(field, f"not a number: {text.strip()!r}")
    return value


def optional_date(text: str | None, field: str) -> date | None:
    """A date (YYYY-MM-DD) from a form field; ``None`` when left blank."""
    if blank(text):
        return None
    assert text is not None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(field, f"not a date (YYYY-MM-DD): {text.strip()!r}") from None


def field_errors(err: TrimtabError, fields: Collection[str]) -> dict[str, str]:
    """The error as ``{field: message}``: beside the field it names when the form has that
    field, else above the form (:data:`FORM`). An input error names its field in
    ``where``; a conflict may start its message with it (``symbol: ...``)."""
    if isinstance(err, InputError):
        where, problem = err.where, err.problem
    else:
        where, _, problem = str(err).partition(": ")
        if not problem:
            where, problem = "", str(err)
    where = where.removeprefix("--")
    for name in fields:  # "members[1].symbol" beside member 1's symbol field
        if where == name:
            return {name: problem}
    return {FORM: str(err) if where not in fields else problem}
