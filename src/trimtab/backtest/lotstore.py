"""The tax lots of a backtested book: a flat store lots are opened in and relieved from.

Lots are appended as buys fill and never reordered; a lot relieved to nothing stays (with
no shares) until :meth:`LotStore.compact`. :meth:`LotStore.of` cuts the lots of some
accounts as the pipeline's :class:`~trimtab.core.lots.LotArrays`, whose ``source`` is each
lot's index here, so that the lots a proposal relieves are found again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trimtab.core.lots import SHARE_TOLERANCE, LotArrays

Indices = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Relief:
    """Shares taken from lots by fills, (M,) each: the lot (index in the store, before the
    relief), its account and slot, shares, proceeds and basis relieved in dollars, the
    realised gain (NaN without a basis) and whether it is long term."""

    lot: Indices
    account: Indices
    slot: Indices
    quantity: npt.NDArray[np.float64]
    proceeds: npt.NDArray[np.float64]
    basis: npt.NDArray[np.float64]
    gain: npt.NDArray[np.float64]
    long_term: npt.NDArray[np.bool_]


class LotStore:
    """Every lot of the book: account row, slot, shares, total basis (NaN when missing) and
    acquisition ordinal (``date.toordinal``)."""

    def __init__(
        self,
        row: npt.NDArray[np.integer],
        slot: npt.NDArray[np.integer],
        quantity: npt.NDArray[np.float64],
        basis: npt.NDArray[np.float64],
        acquired: npt.NDArray[np.integer],
    ) -> None:
        self.row = np.asarray(row, dtype=np.int32)
        self.slot = np.asarray(slot, dtype=np.int32)
        self.quantity = np.asarray(quantity, dtype=np.float64).copy()
        self.basis = np.asarray(basis, dtype=np.float64).copy()
        self.acquired = np.asarray(acquired, dtype=np.int32)

    @property
    def size(self) -> int:
        return int(self.row.size)

    def open(
        self,
        row: Indices,
        slot: Indices,
        quantity: npt.NDArray[np.float64],
        basis: npt.NDArray[np.float64],
        ordinal: int,
    ) -> None:
        """Open a lot per buy, acquired on ``ordinal``."""
        self.row = np.r_[self.row, row.astype(np.int32)]
        self.slot = np.r_[self.slot, slot.astype(np.int32)]
        self.quantity = np.r_[self.quantity, quantity]
        self.basis = np.r_[self.basis, basis]
        self.acquired = np.r_[self.acquired, np.full(row.size, ordinal, dtype=np.int32)]

    def relieve(self, lot: Indices, quantity: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Take ``quantity`` shares from each ``lot`` (each at most once); returns the basis
        relieved, pro rata (NaN where the lot has none)."""
        whole = self.quantity[lot]
        part = self.basis[lot] * (quantity / whole)
        left = whole - quantity
        self.basis[lot] = np.where(left > SHARE_TOLERANCE, self.basis[lot] - part, 0.0)
        self.quantity[lot] = np.where(left > SHARE_TOLERANCE, left, 0.0)
        return part

    def compact(self) -> None:
        """Drop the lots with no shares left."""
        keep = self.quantity > 0
        if keep.all():
            return
        self.row, self.slot = self.row[keep], self.slot[keep]
        self.quantity, self.basis = self.quantity[keep], self.basis[keep]
        self.acquired = self.acquired[keep]

    def of(self, accounts: Indices, n: int) -> LotArrays:
        """The lots with shares of ``accounts`` (ascending codes of ``n``), rows renumbered
        0..len(accounts) in that order; ``source`` is the index here."""
        place = np.full(n, -1, dtype=np.int64)
        place[accounts] = np.arange(accounts.size)
        new_row = place[self.row]
        index = np.flatnonzero((new_row >= 0) & (self.quantity > 0))
        index = index[np.argsort(new_row[index], kind="stable")]
        return LotArrays(
            row=new_row[index].astype(np.int32),
            slot=self.slot[index],
            quantity=self.quantity[index],
            basis=self.basis[index],
            acquired=self.acquired[index],
            rank=None,
            source=index.astype(np.int64),
        )

    def held(self, shape: tuple[int, int]) -> npt.NDArray[np.float64]:
        """Shares of the lots per slot, (N, K)."""
        n, k = shape
        flat = self.row.astype(np.int64) * k + self.slot
        out = np.bincount(flat, weights=self.quantity, minlength=n * k).astype(np.float64)
        return out.reshape(n, k)
