"""Pending Approval: the open requests, View Details of one, Approve and Cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import Response

from trimtab.errors import ConflictError, ForbiddenError
from trimtab.service import listing
from trimtab.service.credentials import Principal
from trimtab.service.proposal_weights import request_details
from trimtab.service.requests import approve_request, cancel_request
from trimtab.store.uow import UnitOfWork
from trimtab.web.charts import weights_chart
from trimtab.web.deps import PageUow, Viewer, check_csrf, now
from trimtab.web.display import STATUSES
from trimtab.web.pages._render import render, see_other

router = APIRouter()

DETAILS_PAGE = 20
"""Accounts per page of View Details (each with its trades and chart)."""

RequestId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PAGE = 50
OPEN = ["pending", "proposing"]


@router.get("/pending", include_in_schema=False)
def pending_page(
    request: Request,
    who: Viewer,
    uow: PageUow,
    page_token: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    page = listing.requests_page(
        uow, actor=who.user_id, status=OPEN, limit=PAGE, page_token=page_token
    )
    return render(
        request,
        "pending.html",
        who,
        section="pending",
        requests=page.items,
        next_page_token=page.next_page_token,
        first_page=page_token is None,
    )


def _details(
    request: Request,
    who: Principal,
    uow: UnitOfWork,
    request_id: int,
    *,
    error: str | None = None,
    status_code: int = 200,
    page_token: str | None = None,
) -> Response:
    details = request_details(
        uow, actor=who.user_id, request_id=request_id, limit=DETAILS_PAGE, page_token=page_token
    )
    view = details.request
    charts = {
        account_id: weights_chart(
            rows,
            title=f"Weights of account {account_id} before, at target and after, percent",
            ident=f"chart-{account_id}",
        )
        for account_id, rows in details.weights.items()
    }
    section = "pending" if view.status in OPEN else "history"
    return render(
        request,
        "details.html",
        who,
        section=section,
        view=view,
        weights=details.weights,
        lookup={a: {r.symbol: r for r in rows} for a, rows in details.weights.items()},
        charts=charts,
        accounts=details.accounts,
        next_page_token=details.next_page_token,
        first_page=page_token is None,
        error=error,
        status_code=status_code,
    )


@router.get("/requests/{request_id}", include_in_schema=False)
def view_details(
    request: Request,
    request_id: RequestId,
    who: Viewer,
    uow: PageUow,
    page_token: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    return _details(request, who, uow, request_id, page_token=page_token)


@router.post("/requests/{request_id}/approve", include_in_schema=False)
def approve(
    request: Request,
    request_id: RequestId,
    who: Viewer,
    uow: PageUow,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(who, csrf_token)
    try:
        done = approve_request(uow, actor=who.user_id, request_id=request_id, now=now())
    except (ForbiddenError, ConflictError) as err:
        uow.rollback()
        code = 403 if isinstance(err, ForbiddenError) else 409
        error = f"Not approved: {err}"
        return _details(request, who, uow, request_id, error=error, status_code=code)
    best = " (best effort)" if done.best_effort else ""
    message = (
        f"Request {request_id} approved: {STATUSES[done.status]}; {done.orders} orders "
        f"trading {done.trade_date.isoformat()}{best}."
    )
    return see_other("/history", message)


@router.post("/requests/{request_id}/cancel", include_in_schema=False)
def cancel(
    request: Request,
    request_id: RequestId,
    who: Viewer,
    uow: PageUow,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(who, csrf_token)
    try:
        cancel_request(uow, actor=who.user_id, request_id=request_id, now=now())
    except (ForbiddenError, ConflictError) as err:
        uow.rollback()
        code = 403 if isinstance(err, ForbiddenError) else 409
        error = f"Not canceled: {err}"
        return _details(request, who, uow, request_id, error=error, status_code=code)
    return see_other("/history", f"Request {request_id} canceled: no trades were requested.")


__all__ = ["router"]
