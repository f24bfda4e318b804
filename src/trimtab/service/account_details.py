"""The Account Details page's reads: the account (:func:`show_account`), its tax lots, its
drift from target against the bands, its rebalancing switch history, restrictions and locks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np

from trimtab.core.drift import BAND_TOLERANCE
from trimtab.service.account_view import AccountView, show_account
from trimtab.service.accounts import SwitchChange, switch_history
from trimtab.service.restrictions import (
    StoredLock,
    StoredRestriction,
    list_locks,
    list_restrictions,
)
from trimtab.service.sleeve_targets import lay_out_sleeved
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


def _sleeved(view: AccountView) -> bool:
    """Whether the account's target is in sleeves (it has model or APM sleeves, or protected
    shares) and it is in a book."""
    protected = any(p["sleeve"] == "protected" for p in view.sleeve_positions)
    return view.book_date is not None and bool(view.sleeves or protected)


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


def sleeved_drift_rows(uow: UnitOfWork, view: AccountView) -> tuple[DriftRow, ...]:
    """:func:`drift_rows` of an account whose target is in sleeves, against that target as
    the daily evaluation measures it (:func:`~trimtab.service.sleeve_targets.lay_out_sleeved`):
    the blended model lines and the APM lines (``SYMBOL (APM)``, holding the APM sleeve's
    shares) in the target's order, protected shares at their weight, then the securities held
    outside the target; percentages to four places."""
    assert view.book_date is not None
    book = lay_out_sleeved(
        uow, as_of=view.book_date, account_ids=[view.account_id], trade_day=view.book_date
    )
    b = book.batch
    market = b.quantity[0] * b.price[0]
    value = float(b.cash[0] + market.sum())
    weight = market / value if value > 0 else np.zeros_like(market)
    codes = book.arrays.slot_symbol[0]
    first_twin = book.sleeves.first_twin

    def row(j: int) -> DriftRow:
        code = int(codes[j])
        name = book.symbols[code] + (" (APM)" if code >= first_twin else "")
        pct = [Decimal(f"{x * 100:.4f}") for x in (weight[j], b.target[0, j])]
        lo, hi = b.lower[0, j], b.upper[0, j]
        return DriftRow(
            symbol=name,
            weight_pct=pct[0],
            target_pct=pct[1],
            min_pct=Decimal(f"{lo * 100:.4f}"),
            max_pct=Decimal(f"{hi * 100:.4f}"),
            drift_pct=pct[0] - pct[1],
            outside=bool(weight[j] < lo - BAND_TOLERANCE or weight[j] > hi + BAND_TOLERANCE),
        )

    slots = [j for j in range(codes.size) if b.valid[0, j]]
    lines = [j for j in slots if b.in_model[0, j] or b.target[0, j] > 0]
    rest = sorted((j for j in slots if j not in lines), key=lambda j: book.symbols[codes[j]])
    return tuple(row(j) for j in [*lines, *rest])


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
        drift=sleeved_drift_rows(uow, view) if _sleeved(view) else drift_rows(view),
        switches=switch_history(uow, actor=actor, account_id=account_id),
        restrictions=tuple(list_restrictions(uow, actor=actor, account_id=account_id)),
        locks=tuple(list_locks(uow, actor=actor, account_id=account_id)),
    )
