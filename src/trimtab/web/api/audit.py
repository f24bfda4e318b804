"""The audit trail (admin): its entries, and the check of its hash chain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from trimtab.service import audit as svc
from trimtab.service import listing
from trimtab.web.api.params import Day, Filter, Limit, PageToken
from trimtab.web.api.schemas import PagePublic
from trimtab.web.deps import ApiUow, Caller

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditEntryPublic(BaseModel):
    """Who (``actor``) did what (``action``) to which record (``entity``, ``entity_id``)
    when (UTC); ``before`` and ``after`` are the record's fields as logged."""

    audit_id: int
    actor: str
    action: str
    entity: str
    entity_id: str
    at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class VerificationPublic(BaseModel):
    """The audit chain recomputed: ``intact`` when no entry was altered, removed or added
    outside trimtab; chained entries checked, entries from before the chain, and the
    problems found, first first."""

    intact: bool
    entries: int
    unchained: int
    problems: list[str]


@router.get("", response_model=PagePublic[AuditEntryPublic], summary="The audit log")
def audit_log(
    uow: ApiUow,
    who: Caller,
    user: Annotated[
        str | None, Query(min_length=1, max_length=64, description="Only this user's entries.")
    ] = None,
    action: Filter = None,
    entity: Filter = None,
    entity_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    since: Annotated[Day | None, Query(description="From this UTC date.")] = None,
    until: Annotated[Day | None, Query(description="Up to this UTC date, included.")] = None,
    limit: Limit = 50,
    page_token: PageToken = None,
) -> PagePublic[AuditEntryPublic]:
    """Entries newest first, filtered on any of the fields given."""
    page = listing.audit_page(
        uow,
        actor=who.user_id,
        user=user,
        action=action,
        entity=entity,
        entity_id=entity_id,
        since=since,
        until=until,
        limit=limit,
        page_token=page_token,
    )
    return PagePublic[AuditEntryPublic](
        items=[AuditEntryPublic.model_validate(e, from_attributes=True) for e in page.items],
        next_page_token=page.next_page_token,
    )


@router.get("/verify", response_model=VerificationPublic, summary="Verify the audit chain")
def verify(uow: ApiUow, who: Caller) -> VerificationPublic:
    found = svc.verify_chain(uow, actor=who.user_id)
    return VerificationPublic(
        intact=found.intact,
        entries=found.entries,
        unchained=found.unchained,
        problems=found.problems,
    )
