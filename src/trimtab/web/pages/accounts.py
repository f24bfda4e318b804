"""Accounts and Account Details: holdings, lots, target and drift, the Rebalancing toggle
and its history, trade hold, lot method and drift parameters. Restrictions and locks are
managed on the same page (:mod:`trimtab.web.pages.restrictions`)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import Response

from trimtab.errors import InputError
from trimtab.service import listing
from trimtab.service.account_details import account_details
from trimtab.service.accounts import DRIFT_PARAMETERS, AccountChange, drift_values, update_account
from trimtab.service.credentials import Principal
from trimtab.store.uow import UnitOfWork
from trimtab.web.deps import PageUow, Viewer, check_csrf, now
from trimtab.web.pages._forms import field_errors, optional_date
from trimtab.web.pages._render import render, see_other

router = APIRouter()

AccountId = Annotated[str, Path(min_length=1, max_length=64)]
PAGE = 50
SETTINGS_FIELDS = ("trade_hold", "hold_until", "lot_method", *DRIFT_PARAMETERS)


def account_url(account_id: str) -> str:
    from urllib.parse import quote

    return f"/accounts/{quote(account_id, safe='')}"


@router.get("/accounts", include_in_schema=False)
def accounts_page(
    request: Request,
    who: Viewer,
    uow: PageUow,
    search: Annotated[str, Query(max_length=64)] = "",
    household: Annotated[str, Query(max_length=64)] = "",
    model: Annotated[str, Query(max_length=64)] = "",
    page_token: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    chosen = {"search": search.strip(), "household": household.strip(), "model": model.strip()}
    page = listing.accounts_page(
        uow,
        actor=who.user_id,
        search=chosen["search"] or None,
        household=chosen["household"] or None,
        model=chosen["model"] or None,
        limit=PAGE,
        page_token=page_token,
    )
    if search.strip() and page_token is None and len(page.items) == 1:
        return see_other(account_url(page.items[0].account_id))  # found it: straight there
    query = urlencode({k: v for k, v in chosen.items() if v})
    return render(
        request,
        "accounts.html",
        who,
        section="accounts",
        accounts=page.items,
        f=chosen,
        next_url=page.next_page_token
        and f"/accounts?{query}{'&' if query else ''}"
        + urlencode({"page_token": page.next_page_token}),
        first_url=f"/accounts?{query}" if query else "/accounts",
        first_page=page_token is None,
    )


def details_page(
    request: Request,
    who: Principal,
    uow: UnitOfWork,
    account_id: str,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """Account Details, with ``errors`` beside the fields of the form ``form`` came from."""
    details = account_details(uow, actor=who.user_id, account_id=account_id)
    return render(
        request,
        "account.html",
        who,
        section="accounts",
        d=details,
        a=details.account,
        s=details.account.settings,
        errors=errors or {},
        form=form or {},
        drift_parameters=DRIFT_PARAMETERS,
        url=account_url(account_id),
        status_code=status_code,
        **context,
    )


@router.get("/accounts/{account_id}", include_in_schema=False)
def account_page(request: Request, account_id: AccountId, who: Viewer, uow: PageUow) -> Response:
    return details_page(request, who, uow, account_id)


@router.post("/accounts/{account_id}/rebalancing", include_in_schema=False)
def toggle_rebalancing(
    account_id: AccountId,
    who: Viewer,
    uow: PageUow,
    rebalancing: Annotated[str, Form(pattern="^(on|off)$")],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(who, csrf_token)
    on = rebalancing == "on"
    update_account(
        uow,
        actor=who.user_id,
        account_id=account_id,
        change=AccountChange(rebalancing=on),
        now=now(),
    )
    return see_other(
        account_url(account_id), f"Rebalancing turned {'On' if on else 'Off'} for {account_id}."
    )


Text = Annotated[str, Form(max_length=40)]


@router.post("/accounts/{account_id}/settings", include_in_schema=False)
def save_settings(
    request: Request,
    account_id: AccountId,
    who: Viewer,
    uow: PageUow,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    trade_hold: Text = "",
    hold_until: Text = "",
    lot_method: Text = "",
    sac_soft_pct: Text = "",
    sac_soft_days: Text = "",
    sac_hard_pct: Text = "",
    cash_high_usd: Text = "",
    cash_low_pct: Text = "",
    sweep_pct: Text = "",
    sweep_min_usd: Text = "",
    no_trade_days: Text = "",
) -> Response:
    check_csrf(who, csrf_token)
    drift = {
        "sac_soft_pct": sac_soft_pct,
        "sac_soft_days": sac_soft_days,
        "sac_hard_pct": sac_hard_pct,
        "cash_high_usd": cash_high_usd,
        "cash_low_pct": cash_low_pct,
        "sweep_pct": sweep_pct,
        "sweep_min_usd": sweep_min_usd,
        "no_trade_days": no_trade_days,
    }
    try:
        change = AccountChange(
            trade_hold=trade_hold == "on",
            hold_until=optional_date(hold_until, "hold_until"),
            lot_method=lot_method or None,
            drift=drift_values(drift),
        )
        update_account(uow, actor=who.user_id, account_id=account_id, change=change, now=now())
    except InputError as err:
        uow.rollback()
        form = {"trade_hold": trade_hold, "hold_until": hold_until, "lot_method": lot_method}
        return details_page(
            request,
            who,
            uow,
            account_id,
            errors=field_errors(err, SETTINGS_FIELDS),
            form={**form, **drift},
            status_code=422,
        )
    return see_other(account_url(account_id), f"Settings of {account_id} saved.")
