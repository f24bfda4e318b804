"""Path and query parameters the API's routes share, each with its bounds (so that no value
of the right type can reach the store unchecked)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Path, Query

FIRST_DAY = date(2000, 1, 4)
LAST_DAY = date(2040, 12, 31)
"""The market calendar's range (:mod:`trimtab.service.market`): days outside it are refused
at the boundary."""

Limit = Annotated[int, Query(ge=1, le=1000, description="Items per page.")]
PageToken = Annotated[
    str | None, Query(max_length=2000, description="next_page_token of the previous page.")
]
AccountId = Annotated[str, Path(min_length=1, max_length=64, description="The account's id.")]
Filter = Annotated[str | None, Query(min_length=1, max_length=64)]
"""An optional id to filter a list on (a household, a model, a user, ...)."""
Day = Annotated[date, Query(ge=FIRST_DAY, le=LAST_DAY)]
"""A date of the market calendar."""
