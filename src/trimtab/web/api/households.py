"""Households: their accounts, with the value each holds."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel

from trimtab.service import listing
from trimtab.web.api.account_schemas import AccountSummaryPublic
from trimtab.web.api.params import Limit, PageToken
from trimtab.web.api.schemas import PagePublic
from trimtab.web.deps import ApiUow, Caller

router = APIRouter(prefix="/households", tags=["households"])


class HouseholdPublic(BaseModel):
    """A household: how many accounts it has and their total value (dollars, cash
    included, from the newest book; ``null`` when none of them is in it)."""

    household_id: str
    accounts: int
    value: Decimal | None


class HouseholdDetail(BaseModel):
    """A household with its accounts, by account id."""

    household_id: str
    accounts: list[AccountSummaryPublic]


@router.get("", response_model=PagePublic[HouseholdPublic], summary="List households")
def list_households(
    uow: ApiUow, who: Caller, limit: Limit = 50, page_token: PageToken = None
) -> PagePublic[HouseholdPublic]:
    """Households by id."""
    page = listing.households_page(uow, actor=who.user_id, limit=limit, page_token=page_token)
    return PagePublic[HouseholdPublic](
        items=[HouseholdPublic.model_validate(h, from_attributes=True) for h in page.items],
        next_page_token=page.next_page_token,
    )


@router.get("/{household_id}", response_model=HouseholdDetail, summary="A household")
def get_household(
    household_id: Annotated[str, Path(min_length=1, max_length=64)], uow: ApiUow, who: Caller
) -> HouseholdDetail:
    found = listing.household_accounts(uow, actor=who.user_id, household_id=household_id)
    return HouseholdDetail(
        household_id=household_id,
        accounts=[AccountSummaryPublic.model_validate(a, from_attributes=True) for a in found],
    )
