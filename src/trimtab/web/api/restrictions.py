"""An account's trade restrictions and locks (seed 001, "Trade Restrictions").

A security sits in one restriction of an account only (a group member may also be a
substitute): adding one that breaks this is a conflict (409) naming the restriction in
the way.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path
from fastapi.responses import JSONResponse, Response

from trimtab.io.rules import EquivalentsIn, ExclusionIn, SubstitutionIn
from trimtab.service import restrictions as svc
from trimtab.web.api.params import AccountId
from trimtab.web.api.rule_schemas import (
    LockCreate,
    LockPublic,
    RestrictionEdit,
    RestrictionPublic,
    lock_id,
    lock_public,
    restriction_public,
)
from trimtab.web.deps import ApiUow, Caller, now
from trimtab.web.idempotent import Keyed, once

router = APIRouter(prefix="/accounts/{account_id}", tags=["restrictions"])

RestrictionId = Annotated[
    str, Path(min_length=1, max_length=64, description="The restriction's id (R1, R2, ...).")
]
RestrictionBody = Annotated[
    ExclusionIn | SubstitutionIn | EquivalentsIn, Body(discriminator="type")
]
"""A restriction in the scenario format's terms (docs/rules.md), told apart by ``type``."""
LockId = Annotated[
    str,
    Path(
        pattern=r"^(gain|elective|cost_basis_unlock)(:[^/]{1,32})?$",
        description="type (a gain lock on the whole account) or type:symbol.",
    ),
]


@router.get(
    "/restrictions",
    response_model=list[RestrictionPublic],
    summary="Trade Restrictions of an account",
)
def list_restrictions(account_id: AccountId, uow: ApiUow, who: Caller) -> list[object]:
    """The account's restrictions by id."""
    found = svc.list_restrictions(uow, actor=who.user_id, account_id=account_id)
    return [restriction_public(s) for s in found]


@router.post(
    "/restrictions",
    status_code=201,
    response_model=RestrictionPublic,
    responses={409: {"description": "A security it names is in another restriction."}},
    summary="Add a trade restriction",
)
def add_restriction(
    account_id: AccountId, body: RestrictionBody, uow: ApiUow, who: Caller, keyed: Keyed
) -> JSONResponse:
    """An exclusion, a substitution or an equivalents group; answers with its id."""

    def work() -> tuple[int, object, str]:
        new = svc.add_restriction(
            uow, actor=who.user_id, account_id=account_id, restriction=body, now=now()
        )
        shown = svc.show_restriction(
            uow, actor=who.user_id, account_id=account_id, restriction_id=new
        )
        where = f"/api/v1/accounts/{account_id}/restrictions/{new}"
        return 201, restriction_public(shown), where

    return once(uow, keyed, work)


@router.get(
    "/restrictions/{restriction_id}",
    response_model=RestrictionPublic,
    summary="A trade restriction",
)
def get_restriction(
    account_id: AccountId, restriction_id: RestrictionId, uow: ApiUow, who: Caller
) -> object:
    return restriction_public(
        svc.show_restriction(
            uow, actor=who.user_id, account_id=account_id, restriction_id=restriction_id
        )
    )


@router.patch(
    "/restrictions/{restriction_id}",
    response_model=RestrictionPublic,
    summary="Change a trade restriction's end",
)
def edit_restriction(
    account_id: AccountId,
    restriction_id: RestrictionId,
    body: RestrictionEdit,
    uow: ApiUow,
    who: Caller,
) -> object:
    """Set the end date and end action, the only fields that change."""
    svc.edit_restriction(
        uow,
        actor=who.user_id,
        account_id=account_id,
        restriction_id=restriction_id,
        end_date=body.end_date,
        end_action=body.end_action,
        now=now(),
    )
    return get_restriction(account_id, restriction_id, uow, who)


@router.delete(
    "/restrictions/{restriction_id}", status_code=204, summary="Delete a trade restriction"
)
def remove_restriction(
    account_id: AccountId, restriction_id: RestrictionId, uow: ApiUow, who: Caller
) -> Response:
    svc.remove_restriction(
        uow, actor=who.user_id, account_id=account_id, restriction_id=restriction_id, now=now()
    )
    return Response(status_code=204)


@router.get("/locks", response_model=list[LockPublic], summary="Locks of an account")
def list_locks(account_id: AccountId, uow: ApiUow, who: Caller) -> list[LockPublic]:
    return [lock_public(x) for x in svc.list_locks(uow, actor=who.user_id, account_id=account_id)]


@router.post(
    "/locks",
    status_code=201,
    response_model=LockPublic,
    responses={409: {"description": "The account has that lock already."}},
    summary="Add a lock",
)
def add_lock(
    account_id: AccountId, body: LockCreate, uow: ApiUow, who: Caller, keyed: Keyed
) -> JSONResponse:
    """Lock a security (or, with a gain lock without a symbol, the whole account)."""

    def work() -> tuple[int, LockPublic, str]:
        svc.add_lock(
            uow,
            actor=who.user_id,
            account_id=account_id,
            type=body.type,
            symbol=body.symbol,
            now=now(),
        )
        made = LockPublic(
            lock_id=lock_id(body.type, body.symbol), type=body.type, symbol=body.symbol
        )
        return 201, made, f"/api/v1/accounts/{account_id}/locks/{made.lock_id}"

    return once(uow, keyed, work)


@router.delete("/locks/{lock_id}", status_code=204, summary="Remove a lock")
def remove_lock(account_id: AccountId, lock_id: LockId, uow: ApiUow, who: Caller) -> Response:
    type, _, symbol = lock_id.partition(":")
    svc.remove_lock(
        uow, actor=who.user_id, account_id=account_id, type=type, symbol=symbol or None, now=now()
    )
    return Response(status_code=204)
