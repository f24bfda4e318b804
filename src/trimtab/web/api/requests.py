"""Rebalance requests: submit, look at the proposals, approve, cancel, resubmit; each
request's record: its replay, its document and its order memorandum."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from trimtab.errors import InputError
from trimtab.service import listing, request_record
from trimtab.service import requests as svc
from trimtab.web.api.params import Limit, PageToken
from trimtab.web.api.schemas import (
    ApprovalPublic,
    MemorandumPublic,
    PagePublic,
    ProposalPublic,
    ReplayPublic,
    RequestCreate,
    RequestPublic,
    RequestSummaryPublic,
)
from trimtab.web.deps import ApiUow, Caller, now
from trimtab.web.idempotent import Keyed, once

router = APIRouter(prefix="/requests", tags=["requests"])

RequestStatus = Literal[
    "proposing",
    "pending",
    "complete",
    "complete_with_errors",
    "failed",
    "expired",
    "canceled",
]
RequestId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The request's id.")]


def request_public(view: svc.RequestView) -> RequestPublic:
    """The API's shape of a request (without its proposals)."""
    return RequestPublic(
        request_id=view.request_id,
        logic=view.logic,
        status=view.status,
        submitted_by=view.submitted_by,
        submitted_at=view.submitted_at,
        expires_at=view.expires_at,
        decided_by=view.decided_by,
        decided_at=view.decided_at,
        issue=view.issue,
        needs_second_approver=view.needs_second_approver,
        price_date=view.price_date,
        amounts=view.amounts,
        households=list(view.households),
        accounts=len(view.proposals),
        failed_accounts=sum(p.status == "failed" for p in view.proposals),
        buy_value=_total(view, "buy"),
        sell_value=_total(view, "sell"),
    )


def _total(view: svc.RequestView, action: str) -> Decimal:
    return sum(
        (x.order_value for p in view.proposals for x in p.trades if x.action == action),
        Decimal(0),
    )


def proposal_public(p: svc.ProposalView) -> ProposalPublic:
    return ProposalPublic.model_validate(
        {
            **{f: getattr(p, f) for f in p.__slots__ if f != "trades"},
            "trades": [{f: getattr(x, f) for f in x.__slots__} for x in p.trades],
        }
    )


def _location(request_id: int) -> str:
    return f"/api/v1/requests/{request_id}"


@router.post(
    "",
    status_code=202,
    response_model=RequestPublic,
    responses={202: {"headers": {"Location": {"schema": {"type": "string"}}}}},
    summary="Submit Request",
)
def submit(
    body: RequestCreate, request: Request, uow: ApiUow, who: Caller, keyed: Keyed
) -> JSONResponse:
    """Propose trades for the accounts by the logic; answers 202 with the request's
    ``Location`` at once. Its ``status`` is ``proposing`` while the work goes on (small
    requests are proposed within the call), then ``pending`` or ``failed``."""

    if (body.accounts is None) == (body.match is None):
        raise InputError("accounts", "give the accounts or a match, one of the two")

    def work() -> tuple[int, RequestPublic, str]:
        if body.accounts is not None:
            accounts = body.accounts
        else:
            assert body.match is not None
            accounts = listing.queue_account_ids(
                uow,
                actor=who.user_id,
                reason=body.match.reason,
                household=body.match.household,
                model=body.match.model,
            )
        amounts = body.amounts.model_dump(exclude_none=True)
        moment = now()
        request_id = svc.open_request(
            uow,
            actor=who.user_id,
            account_ids=accounts,
            logic=body.logic,
            now=moment,
            amounts=amounts,
            replace=body.replace,
        )
        request.app.state.proposer.propose_soon(
            uow, request_id=request_id, accounts=len(accounts), now=moment
        )
        view = svc.show_request(uow, actor=who.user_id, request_id=request_id)
        return 202, request_public(view), _location(request_id)

    return once(uow, keyed, work)


@router.get("", response_model=PagePublic[RequestSummaryPublic], summary="List requests")
def list_requests(
    uow: ApiUow,
    who: Caller,
    status: Annotated[
        list[RequestStatus] | None,
        Query(max_length=7, description="Only these statuses (repeat the parameter)."),
    ] = None,
    limit: Limit = 50,
    page_token: PageToken = None,
) -> PagePublic[RequestSummaryPublic]:
    """Requests newest first: ``status=pending`` is Pending Approval, the rest History."""
    page = listing.requests_page(
        uow, actor=who.user_id, status=status, limit=limit, page_token=page_token
    )
    return PagePublic[RequestSummaryPublic](
        items=[RequestSummaryPublic.model_validate(r, from_attributes=True) for r in page.items],
        next_page_token=page.next_page_token,
    )


@router.get("/{request_id}", response_model=RequestPublic, summary="A request")
def get_request(request_id: RequestId, uow: ApiUow, who: Caller) -> RequestPublic:
    return request_public(svc.show_request(uow, actor=who.user_id, request_id=request_id))


@router.get(
    "/{request_id}/proposals",
    response_model=PagePublic[ProposalPublic],
    summary="View Details: the request's proposals",
)
def get_proposals(
    request_id: RequestId,
    uow: ApiUow,
    who: Caller,
    limit: Limit = 50,
    page_token: PageToken = None,
) -> PagePublic[ProposalPublic]:
    """Each account's proposal with its trade lines, by account id."""
    page = svc.proposals_page(
        uow, actor=who.user_id, request_id=request_id, limit=limit, page_token=page_token
    )
    return PagePublic[ProposalPublic](
        items=[proposal_public(p) for p in page.items], next_page_token=page.next_page_token
    )


@router.post("/{request_id}/approve", response_model=ApprovalPublic, summary="Approve")
def approve(request_id: RequestId, uow: ApiUow, who: Caller, keyed: Keyed) -> JSONResponse:
    """Approve a pending request: its orders are created. A request realising large gains
    needs an approver other than its submitter (403)."""

    def work() -> tuple[int, ApprovalPublic, None]:
        done = svc.approve_request(uow, actor=who.user_id, request_id=request_id, now=now())
        return (
            200,
            ApprovalPublic(
                request_id=request_id,
                status=done.status,
                orders=done.orders,
                trade_date=done.trade_date,
                best_effort=done.best_effort,
            ),
            None,
        )

    return once(uow, keyed, work)


@router.post("/{request_id}/cancel", response_model=RequestPublic, summary="Cancel")
def cancel(request_id: RequestId, uow: ApiUow, who: Caller, keyed: Keyed) -> JSONResponse:
    """Cancel a pending (or still proposing) request: no trades are sent."""

    def work() -> tuple[int, RequestPublic, None]:
        svc.cancel_request(uow, actor=who.user_id, request_id=request_id, now=now())
        view = svc.show_request(uow, actor=who.user_id, request_id=request_id)
        return 200, request_public(view), None

    return once(uow, keyed, work)


@router.post(
    "/{request_id}/resubmit",
    status_code=202,
    response_model=RequestPublic,
    summary="Resubmit the failed accounts",
)
def resubmit(request_id: RequestId, uow: ApiUow, who: Caller, keyed: Keyed) -> JSONResponse:
    """A new request for the accounts that failed in this one, with the same logic."""

    def work() -> tuple[int, RequestPublic, str]:
        done = svc.resubmit_failed(uow, actor=who.user_id, request_id=request_id, now=now())
        view = svc.show_request(uow, actor=who.user_id, request_id=done.request_id)
        return 202, request_public(view), _location(done.request_id)

    return once(uow, keyed, work)


@router.get(
    "/{request_id}/replay",
    response_model=ReplayPublic,
    summary="Replay: the proposal computed again from its record",
)
def get_replay(request_id: RequestId, uow: ApiUow, who: Caller) -> ReplayPublic:
    """Compute the request's proposal again from its record alone (the prices, holdings,
    lots, targets, rules and options it was computed from) and compare it, field by field,
    with the proposal kept."""
    again = request_record.replay(uow, actor=who.user_id, request_id=request_id)
    return ReplayPublic.model_validate(again.as_json())


@router.get(
    "/{request_id}/record",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}}},
    summary="The request's record document",
)
def get_record(request_id: RequestId, uow: ApiUow, who: Caller) -> Response:
    """The record as kept: a ZIP archive of Parquet files (every input, the proposal as
    computed) and ``request.json``; its SHA-256 is in the ``ETag``."""
    data = request_record.record_document(uow, actor=who.user_id, request_id=request_id)
    return Response(
        data,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="request-{request_id}-record.zip"',
            "ETag": f'"{hashlib.sha256(data).hexdigest()}"',
        },
    )


@router.get(
    "/{request_id}/memorandum",
    response_model=MemorandumPublic,
    summary="The order memorandum, from the store alone",
)
def get_memorandum(request_id: RequestId, uow: ApiUow, who: Caller) -> MemorandumPublic:
    """The request, the proposal reviewed, the approval and the orders, with the checks
    that tie them together (``holds`` false when one fails)."""
    memo = request_record.memorandum(uow, actor=who.user_id, request_id=request_id)
    return MemorandumPublic.model_validate(memo.as_json())
