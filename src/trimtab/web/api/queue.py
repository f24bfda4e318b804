"""Accounts to Rebalance: the accounts the daily evaluation flagged, with their reasons."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from trimtab.service import listing
from trimtab.web.api.params import Filter, Limit, PageToken
from trimtab.web.api.schemas import PagePublic
from trimtab.web.deps import ApiUow, Caller

router = APIRouter(prefix="/queue", tags=["queue"])

Reason = Literal[
    "target_changed",
    "out_of_band",
    "class_drift_6m",
    "class_drift_2d",
    "toggled",
    "no_trade",
    "cash_high",
    "cash_low",
    "deposit",
    "withdrawal",
    "restriction_ended",
]
"""The reasons an evaluation flags an account (:data:`trimtab.core.triggers.REASONS`)."""
Sort = Literal["account", "drift", "value", "evaluated"]
ReasonQuery = Annotated[Reason | None, Query(description="Only accounts with this reason.")]
Pending = Annotated[
    bool, Query(description="Also the accounts waiting in an open request (with its id).")
]


class QueueItemPublic(BaseModel):
    """An account to rebalance, as of the evaluation that flagged it (``as_of``): its value
    (dollars, cash included) and largest drift (percent points) then, the reasons, its
    household and model now, and the open request it waits in (with ``pending``)."""

    account_id: str
    as_of: date
    reasons: list[str]
    value: Decimal | None
    max_drift_pct: float | None
    household_id: str | None
    model_id: str | None
    request_id: int | None


class QueueCount(BaseModel):
    """How many accounts the queue lists with these filters, over all its pages."""

    count: int


@router.get("", response_model=PagePublic[QueueItemPublic], summary="Accounts to Rebalance")
def queue(
    uow: ApiUow,
    who: Caller,
    reason: ReasonQuery = None,
    household: Filter = None,
    model: Filter = None,
    pending: Pending = False,
    sort: Annotated[
        Sort,
        Query(
            description="account (by id), drift or value (largest first), evaluated (newest first)."
        ),
    ] = "account",
    limit: Limit = 50,
    page_token: PageToken = None,
) -> PagePublic[QueueItemPublic]:
    """Each flagged account's newest evaluation, filtered and sorted on the server (409
    while the newest evaluation is incomplete: its queue would be partial)."""
    page = listing.queue_page(
        uow,
        actor=who.user_id,
        reason=reason,
        household=household,
        model=model,
        sort=sort,
        pending=pending,
        limit=limit,
        page_token=page_token,
    )
    return PagePublic[QueueItemPublic](
        items=[QueueItemPublic.model_validate(x, from_attributes=True) for x in page.items],
        next_page_token=page.next_page_token,
    )


@router.get("/count", response_model=QueueCount, summary="Accounts to Rebalance: how many")
def count(
    uow: ApiUow,
    who: Caller,
    reason: ReasonQuery = None,
    household: Filter = None,
    model: Filter = None,
    pending: Pending = False,
) -> QueueCount:
    found = listing.queue_count(
        uow, actor=who.user_id, reason=reason, household=household, model=model, pending=pending
    )
    return QueueCount(count=found)
