"""The Account Details page's reads: the account (:func:`show_account`), its tax lots, its
drift from target against the bands, its rebalancing switch history, restrictions and locks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from trimtab.service.account_view import AccountView, show_account
from trimtab.service.accounts import SwitchChange, switch_history
from trimtab.service.restrictions import (
    StoredLock,
    StoredRestriction,
    list_locks,
    list_restrictions,
)
from trimtab.store.holdings import of_accounts
from trimtab.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Lot:
    """A tax lot of the newest book: shares, cost basis (dollars, the lot's total as
    imported), the day it was acquired."""

    symbol: str
    lot_id: str | None
    quantity: Decimal
    cost_basis: Decimal | None
    acquired: date | None


@dataclass(frozen=True, slots=True)
class DriftRow:
    """A security of the target, or one held outside it: weight now, target and band
    (``min_pct`` to ``max_pct``), drift = weight - target; percent points of the account's
    value, cash included. ``outside``: the weight is outside the band."""

    symbol: str
    weight_pct: Decimal
    target_pct: Decimal
    min_pct: Decimal
    max_pct: Decimal
    drift_pct: Decimal
    outside: bool


@dataclass(frozen=True, slots=True)
class AccountDetails:
    """Everything the Account Details page shows."""

    account: AccountView
    lots: tuple[Lot, ...]
    drift: tuple[DriftRow, ...]
    switches: tuple[SwitchChange, ...]
    restrictions: tuple[StoredRestriction, ...]
    locks: tuple[StoredLock, ...]


def drift_rows(view: AccountView) -> tuple[DriftRow, ...]:
    """The account's drift per security: each target line in model order, then securities
    held that the target does not name (target and band 0). Empty without a book."""
    if view.book_date is None:
        return ()
    weight = {h.symbol: h.weight_pct or Decimal(0) for h in view.holdings}
    rows = []
    for line in view.target:
        now = weight.pop(line["symbol"], Decimal(0))
        rows.append(
            DriftRow(
                symbol=line["symbol"],
                weight_pct=now,
                target_pct=line["target_pct"],
                min_pct=line["min_pct"],
                max_pct=line["max_pct"],
                drift_pct=now - line["target_pct"],
                outside=not line["min_pct"] <= now <= line["max_pct"],
            )
        )
    zero = Decimal(0)
    for symbol, now in sorted(weight.items()):
        rows.append(DriftRow(symbol, now, zero, zero, zero, now, now != zero))
    return tuple(rows)


def account_details(uow: UnitOfWork, *, actor: str, account_id: str) -> AccountDetails:
    """The account ``account_id`` as the Account Details page shows it. Raises
    :class:`NotFoundError` for an unknown account (or another firm's)."""
    view = show_account(uow, actor=actor, account_id=account_id)
    lots: list[Lot] = []
    if view.book_date is not None:
        found = of_accounts(
            uow, as_of=view.book_date, kind="lots", account_ids=[account_id]
        ).to_pylist()
        found.sort(key=lambda r: (r["symbol"], r["acquired"] or date.min, r["row"]))
        lots = [
            Lot(r["symbol"], r["lot_id"], r["quantity"], r["cost_basis"], r["acquired"])
            for r in found
        ]
    return AccountDetails(
        account=view,
        lots=tuple(lots),
        drift=drift_rows(view),
        switches=switch_history(uow, actor=actor, account_id=account_id),
        restrictions=tuple(list_restrictions(uow, actor=actor, account_id=account_id)),
        locks=tuple(list_locks(uow, actor=actor, account_id=account_id)),
    )
