"""Which shares a proposal may sell: locks and cost basis, per account slot.

- Lots with a missing cost basis are never sold (until the basis is supplied).
- An elective lock on a security: nothing of it is sold.
- A gain lock on a security of a non-qualified account: lots with an unrealised gain at the
  current price are not sold.

Positions without lots in the book carry no tax information and are not limited.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from trimtab.service.gains import Lot
from trimtab.service.snapshot import Snapshot

LockKey = tuple[str, str]


def sellable_lots(lots: list[Lot], *, price: Decimal, gain_lock: bool, elective: bool) -> list[Lot]:
    """The lots a sale may relieve, at ``price`` dollars per share."""
    if elective:
        return []
    out = []
    for lot in lots:
        if lot.cost_basis is None:
            continue
        if gain_lock and lot.quantity > 0 and lot.quantity * price > lot.cost_basis:
            continue
        out.append(lot)
    return out


def sell_limits(
    snap: Snapshot,
    *,
    lots: Mapping[LockKey, list[Lot]],
    locks: Mapping[LockKey, set[str]],
    qualified: Mapping[str, bool],
) -> tuple[npt.NDArray[np.float64], dict[LockKey, list[Lot]]]:
    """Shares each slot may sell, (N, K), and the sellable lots of each (account, symbol)."""
    arrays = snap.arrays
    limit = arrays.quantity.copy()
    eligible: dict[LockKey, list[Lot]] = {}
    rows, cols = np.nonzero((arrays.slot_symbol >= 0) & (arrays.quantity > 0))
    for i, k in zip(rows.tolist(), cols.tolist(), strict=True):
        account_id = snap.account_ids[i]
        code = int(arrays.slot_symbol[i, k])
        key = (account_id, snap.symbols[code])
        kinds = locks.get(key, set())
        held = lots.get(key)
        if held is None and "elective" not in kinds:
            continue
        price = Decimal(repr(float(arrays.price[code])))
        gain_lock = "gain" in kinds and not qualified.get(account_id, False)
        free = sellable_lots(
            held or [], price=price, gain_lock=gain_lock, elective="elective" in kinds
        )
        eligible[key] = free
        if held is None:
            limit[i, k] = 0.0
            continue
        locked = sum((lot.quantity for lot in held), Decimal(0)) - sum(
            (lot.quantity for lot in free), Decimal(0)
        )
        limit[i, k] = max(float(arrays.quantity[i, k]) - float(locked), 0.0)
    return limit, eligible
