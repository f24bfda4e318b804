"""History: decided requests with the seed's statuses, each failed account's issue,
resubmitting the failed accounts, and each request's record and order memorandum."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import Response

from trimtab.errors import InputError
from trimtab.service import listing
from trimtab.service.request_record import memorandum
from trimtab.service.request_record import replay as replay_request
from trimtab.service.requests import resubmit_failed
from trimtab.web.deps import PageUow, Viewer, check_csrf, now
from trimtab.web.display import HISTORY_STATUSES
from trimtab.web.pages._render import render, see_other

router = APIRouter()

PAGE = 50
RECORD_ACCOUNTS = 200
"""Accounts of the proposal reviewed shown on a record's page (the rest: its document)."""
RECORD_ORDERS = 2000
"""Orders shown on a record's page (all of them: the memorandum in the API, or the CLI)."""


@router.get("/history", include_in_schema=False)
def history(
    request: Request,
    who: Viewer,
    uow: PageUow,
    status: Annotated[str, Query(max_length=24)] = "",
    page_token: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    if status and status not in HISTORY_STATUSES:
        raise InputError("status", f"must be one of {', '.join(HISTORY_STATUSES)}")
    shown = [status] if status else list(HISTORY_STATUSES)
    page = listing.requests_page(
        uow, actor=who.user_id, status=shown, limit=PAGE, page_token=page_token
    )
    base = f"/history?status={status}&" if status else "/history?"
    return render(
        request,
        "history.html",
        who,
        section="history",
        requests=page.items,
        status=status,
        next_url=page.next_page_token and base + f"page_token={quote(page.next_page_token)}",
        first_url=base.rstrip("?&"),
        first_page=page_token is None,
    )


@router.post("/requests/{request_id}/resubmit", include_in_schema=False)
def resubmit(
    request_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    who: Viewer,
    uow: PageUow,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(who, csrf_token)
    done = resubmit_failed(uow, actor=who.user_id, request_id=request_id, now=now())
    n = len(done.proposals)
    return see_other(
        "/pending",
        f"The failed account{'s' if n != 1 else ''} of request {request_id} "
        f"{'were' if n != 1 else 'was'} resubmitted as request {done.request_id}.",
    )


@router.get("/requests/{request_id}/record", include_in_schema=False)
def record_page(
    request: Request,
    request_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    who: Viewer,
    uow: PageUow,
    replay: Annotated[bool, Query()] = False,
) -> Response:
    """The request's record and order memorandum: the proposal reviewed, the approval, the
    orders and the checks; with ``replay``, the proposal computed again from the record."""
    memo = memorandum(uow, actor=who.user_id, request_id=request_id)
    again = replay_request(uow, actor=who.user_id, request_id=request_id) if replay else None
    lines: dict[str, list[dict[str, object]]] = {}
    shown = {str(p["account_id"]) for p in memo.reviewed[:RECORD_ACCOUNTS]}
    for x in memo.reviewed_lines:
        if str(x["account_id"]) not in shown:
            continue
        lines.setdefault(str(x["account_id"]), []).append(x)
    moments = {
        "submitted": memo.request["submitted_at"],
        "stored": memo.record["stored_at"],
        "approved": memo.approval["at"] if memo.approval else None,
    }
    return render(
        request,
        "record.html",
        who,
        section="history",
        memo=memo,
        reviewed=memo.reviewed[:RECORD_ACCOUNTS],
        orders=memo.orders[:RECORD_ORDERS],
        lines=lines,
        again=again,
        request_id=request_id,
        at={k: datetime.fromisoformat(v) if v else None for k, v in moments.items()},
    )
