"""Accounts: the list, one account's details and lots, its settings and switch history."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query

from trimtab.service import account_view, accounts, listing
from trimtab.web.api.account_schemas import (
    AccountPublic,
    AccountSummaryPublic,
    AccountUpdate,
    LotPublic,
    SwitchChangePublic,
)
from trimtab.web.api.params import AccountId, Filter, Limit, PageToken
from trimtab.web.api.schemas import PagePublic
from trimtab.web.deps import ApiUow, Caller, now

router = APIRouter(prefix="/accounts", tags=["accounts"])


def account_public(view: account_view.AccountView) -> AccountPublic:
    """The API's shape of an account."""
    return AccountPublic.model_validate(view, from_attributes=True)


@router.get("", response_model=PagePublic[AccountSummaryPublic], summary="List accounts")
def list_accounts(
    uow: ApiUow,
    who: Caller,
    household: Filter = None,
    model: Filter = None,
    rebalancing: Annotated[bool | None, Query(description="The switch on or off.")] = None,
    search: Annotated[
        str | None, Query(min_length=1, max_length=64, description="Account ids starting so.")
    ] = None,
    limit: Limit = 50,
    page_token: PageToken = None,
) -> PagePublic[AccountSummaryPublic]:
    """Accounts by id, with their value and cash in the newest book."""
    page = listing.accounts_page(
        uow,
        actor=who.user_id,
        household=household,
        model=model,
        rebalancing=rebalancing,
        search=search,
        limit=limit,
        page_token=page_token,
    )
    return PagePublic[AccountSummaryPublic](
        items=[AccountSummaryPublic.model_validate(a, from_attributes=True) for a in page.items],
        next_page_token=page.next_page_token,
    )


@router.get("/{account_id}", response_model=AccountPublic, summary="View Details: an account")
def get_account(account_id: AccountId, uow: ApiUow, who: Caller) -> AccountPublic:
    """The account's settings, model and target (or sleeves), the holdings and cash of the
    newest book, and the open request it waits in."""
    return account_public(account_view.show_account(uow, actor=who.user_id, account_id=account_id))


@router.get("/{account_id}/lots", response_model=list[LotPublic], summary="An account's lots")
def get_lots(account_id: AccountId, uow: ApiUow, who: Caller) -> list[LotPublic]:
    """The tax lots of the newest book, by symbol."""
    lots = account_view.account_lots(uow, actor=who.user_id, account_id=account_id)
    return [LotPublic.model_validate(lot, from_attributes=True) for lot in lots]


@router.patch("/{account_id}", response_model=AccountPublic, summary="Change an account's settings")
def update(account_id: AccountId, body: AccountUpdate, uow: ApiUow, who: Caller) -> AccountPublic:
    """Turn rebalancing on or off, put on or lift a trade hold, choose the lot method, set
    drift parameters; every change is audited, switch changes also kept in the history."""
    drift = body.model_dump(include=set(accounts.DRIFT_PARAMETERS), exclude_none=True)
    change = accounts.AccountChange(
        rebalancing=body.rebalancing,
        trade_hold=body.trade_hold,
        hold_until=body.hold_until,
        lot_method=body.lot_method,
        drift={k: Decimal(v) for k, v in drift.items()} or None,
    )
    accounts.update_account(uow, actor=who.user_id, account_id=account_id, change=change, now=now())
    return account_public(account_view.show_account(uow, actor=who.user_id, account_id=account_id))


@router.get(
    "/{account_id}/rebalancing-history",
    response_model=list[SwitchChangePublic],
    summary="An account's rebalancing switch history",
)
def rebalancing_history(
    account_id: AccountId, uow: ApiUow, who: Caller
) -> list[SwitchChangePublic]:
    """Every change of the rebalancing switch, oldest first."""
    changes = accounts.switch_history(uow, actor=who.user_id, account_id=account_id)
    return [SwitchChangePublic.model_validate(c, from_attributes=True) for c in changes]
