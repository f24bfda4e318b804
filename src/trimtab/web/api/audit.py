"""The audit trail (admin): its entries, and the check of its hash chain."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from trimtab.service import audit as svc
from trimtab.web.deps import ApiUow, Caller

router = APIRouter(prefix="/audit", tags=["audit"])


class VerificationPublic(BaseModel):
    """The audit chain recomputed: ``intact`` when no entry was altered, removed or added
    outside trimtab; chained entries checked, entries from before the chain, and the
    problems found, first first."""

    intact: bool
    entries: int
    unchained: int
    problems: list[str]


@router.get("/verify", response_model=VerificationPublic, summary="Verify the audit chain")
def verify(uow: ApiUow, who: Caller) -> VerificationPublic:
    found = svc.verify_chain(uow, actor=who.user_id)
    return VerificationPublic(
        intact=found.intact,
        entries=found.entries,
        unchained=found.unchained,
        problems=found.problems,
    )
