"""Realised gain estimates for sells, relieving tax lots by the account's lot method."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Lot:
    """A tax lot: shares, total cost basis in dollars (``None`` when missing), acquired."""

    quantity: Decimal
    cost_basis: Decimal | None
    acquired: date | None


def relief_order(lots: Sequence[Lot], method: str) -> list[Lot]:
    """Lots in the order ``method`` (fifo, lifo, hifo) sells them."""
    if method == "hifo":
        return sorted(
            lots,
            key=lambda lot: (
                -(lot.cost_basis / lot.quantity)
                if lot.cost_basis is not None and lot.quantity
                else Decimal(0)
            ),
        )
    dated = sorted(lots, key=lambda lot: lot.acquired or date.min)
    return dated[::-1] if method == "lifo" else dated


def realised_gain(lots: Sequence[Lot], method: str, shares: Decimal, price: Decimal) -> Decimal:
    """Dollars of gain (loss negative) from selling ``shares`` at ``price`` dollars per share.

    Shares sold from lots with a missing basis, or beyond the lots, count as no gain.
    """
    left = shares
    gain = Decimal(0)
    for lot in relief_order(lots, method):
        if left <= 0:
            break
        take = min(left, lot.quantity)
        if lot.cost_basis is not None and lot.quantity > 0:
            gain += take * price - lot.cost_basis * take / lot.quantity
        left -= take
    return gain.quantize(Decimal("0.01"))
