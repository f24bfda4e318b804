"""Accounts to Rebalance: the queue, its filters and pages, and Submit Request.

Selecting "all that match the filter" posts the filter, not the ids: the service lists
the accounts when the request is submitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from trimtab.errors import ConflictError, ForbiddenError, InputError
from trimtab.service import listing
from trimtab.service.credentials import Principal
from trimtab.service.requests import AMOUNTS, open_request
from trimtab.store.uow import UnitOfWork
from trimtab.web.deps import PageUow, Viewer, check_csrf, now
from trimtab.web.display import LOGICS, REASONS
from trimtab.web.pages._forms import FORM, field_errors, optional_number
from trimtab.web.pages._render import render, see_other
from trimtab.web.problems import status_of

router = APIRouter()

PAGE = 50
SORTS = {
    "account": "Account",
    "drift": "Largest drift",
    "value": "Value",
    "evaluated": "Newest evaluation",
}
FIELDS = ("accounts", "logic", *AMOUNTS)
Short = Annotated[str, Form(max_length=64)]


class _Filters(TypedDict):
    reason: str | None
    household: str | None
    model: str | None


@dataclass(frozen=True, slots=True)
class Filter:
    """The queue's filters as the page's query (and the submit form's hidden fields)."""

    reason: str = ""
    household: str = ""
    model: str = ""
    sort: str = "account"

    def kwargs(self) -> _Filters:
        return {
            "reason": self.reason or None,
            "household": self.household or None,
            "model": self.model or None,
        }

    def query(self, **more: str) -> str:
        from urllib.parse import urlencode

        pairs = {
            "reason": self.reason,
            "household": self.household,
            "model": self.model,
            "sort": self.sort if self.sort != "account" else "",
            **more,
        }
        return urlencode({k: v for k, v in pairs.items() if v})


def _page(
    request: Request,
    who: Principal,
    uow: UnitOfWork,
    chosen: Filter,
    page_token: str | None,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    page = listing.queue_page(
        uow,
        actor=who.user_id,
        sort=chosen.sort,
        limit=PAGE,
        page_token=page_token,
        **chosen.kwargs(),
    )
    total = listing.queue_count(uow, actor=who.user_id, **chosen.kwargs())
    form = form or {}
    return render(
        request,
        "queue.html",
        who,
        section="queue",
        items=page.items,
        total=total,
        f=chosen,
        sorts=SORTS,
        next_url=page.next_page_token and "/?" + chosen.query(page_token=page.next_page_token),
        first_url="/?" + chosen.query() if chosen.query() else "/",
        first_page=page_token is None,
        form=form,
        selected=set(form.get("accounts", ())),
        errors=errors or {},
        logics=LOGICS,
        reasons=REASONS,
        status_code=status_code,
    )


@router.get("/", include_in_schema=False)
def queue(
    request: Request,
    who: Viewer,
    uow: PageUow,
    reason: Annotated[str, Query(max_length=64)] = "",
    household: Annotated[str, Query(max_length=64)] = "",
    model: Annotated[str, Query(max_length=64)] = "",
    sort: Annotated[str, Query(max_length=16)] = "account",
    page_token: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    chosen = Filter(reason.strip(), household.strip(), model.strip(), sort)
    return _page(request, who, uow, chosen, page_token)


@router.post("/", include_in_schema=False)
def submit(
    request: Request,
    who: Viewer,
    uow: PageUow,
    logic: Short = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    account: Annotated[list[str] | None, Form(max_length=PAGE)] = None,
    all_matching: Annotated[str, Form(max_length=8)] = "",
    reason: Short = "",
    household: Short = "",
    model: Short = "",
    sort: Annotated[str, Form(max_length=16)] = "account",
    cash_to_generate: Short = "",
    mccar_pct: Short = "",
    cash_to_invest: Short = "",
    min_trade_value: Short = "",
) -> Response:
    check_csrf(who, csrf_token)
    chosen = Filter(reason, household, model, sort)
    texts = {
        "cash_to_generate": cash_to_generate,
        "mccar_pct": mccar_pct,
        "cash_to_invest": cash_to_invest,
        "min_trade_value": min_trade_value,
    }
    try:
        amounts = {name: optional_number(text, name) for name, text in texts.items()}
        if all_matching:
            accounts = listing.queue_account_ids(uow, actor=who.user_id, **chosen.kwargs())
            if not accounts:
                raise InputError("accounts", "no account in the queue matches the filter")
        else:
            accounts = list(account or [])
            if not accounts:
                raise InputError("accounts", "select at least one account")
        if not logic:
            raise InputError("logic", "choose the trade logic")
        request_id, status = _submit(request, who, uow, accounts, logic, amounts)
    except (InputError, ConflictError, ForbiddenError) as err:
        uow.rollback()
        code = status_of(err)
        form = {"accounts": account or [], "all_matching": all_matching, "logic": logic, **texts}
        errors = field_errors(err, FIELDS)
        if FORM in errors and not isinstance(err, InputError):
            errors = {FORM: str(err)}
        return _page(request, who, uow, chosen, None, form=form, errors=errors, status_code=code)
    if status == "failed":
        message = f"Request {request_id} failed: every account failed. See its Issue."
        return see_other(f"/requests/{request_id}", message)
    n = len(accounts)
    if status == "proposing":
        return see_other(
            f"/requests/{request_id}",
            f"Request {request_id} submitted for {n} accounts: proposing trades.",
        )
    return see_other(
        "/pending",
        f"Request {request_id} submitted for {n} account{'s' if n != 1 else ''} "
        f"({LOGICS.get(logic, logic)}): Pending Approval.",
    )


def _submit(
    request: Request,
    who: Principal,
    uow: UnitOfWork,
    accounts: list[str],
    logic: str,
    amounts: dict[str, float | None],
) -> tuple[int, str]:
    """Store the request (everything checked at once), then propose it within this call
    when it is small, else on the app's worker; returns its id and status (``proposing``
    while the worker has it)."""
    moment = now()
    request_id = open_request(
        uow,
        actor=who.user_id,
        account_ids=accounts,
        logic=logic,
        now=moment,
        amounts={k: v for k, v in amounts.items() if v is not None},
    )
    status = request.app.state.proposer.propose_soon(
        uow, request_id=request_id, accounts=len(accounts), now=moment
    )
    return request_id, status
