"""The tax lots of a backtested book: a store lots are opened in and relieved from.

The store keeps its lots sorted by account row, slot and acquisition (first in, first
out), with the lots opened since the last :meth:`LotStore.compact` in a short tail after
them. :meth:`LotStore.of` cuts the lots of some accounts as the pipeline's
:class:`~trimtab.core.lots.LotArrays` at a cost in proportion to those lots, already in
relief order for first-in-first-out accounts (marked ``ordered``: the pipeline sorts
nothing); their ``source`` is each lot's index here, so that the lots a proposal relieves
are found again. Indexes hold until the next :meth:`LotStore.compact`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trimtab.core.lots import SHARE_TOLERANCE, LotArrays

Indices = npt.NDArray[np.int64]
FIELDS = ("row", "slot", "quantity", "basis", "acquired")


@dataclass(frozen=True, slots=True)
class Relief:
    """Shares taken from lots by fills, (M,) each: the lot (index in the store at the
    time), its account and slot, shares, proceeds and basis relieved in dollars, the
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
    """Every lot of the book: account row, slot, shares, total basis in dollars (NaN when
    missing) and acquisition ordinal (``date.toordinal``), for ``width`` slots per account."""

    def __init__(
        self,
        row: npt.NDArray[np.integer],
        slot: npt.NDArray[np.integer],
        quantity: npt.NDArray[np.float64],
        basis: npt.NDArray[np.float64],
        acquired: npt.NDArray[np.integer],
        width: int,
    ) -> None:
        self.width = width
        self.row = np.asarray(row, dtype=np.int32)
        self.slot = np.asarray(slot, dtype=np.int32)
        self.quantity = np.asarray(quantity, dtype=np.float64).copy()
        self.basis = np.asarray(basis, dtype=np.float64).copy()
        self.acquired = np.asarray(acquired, dtype=np.int32)
        self._tail: list[tuple[npt.NDArray[np.generic], ...]] = []
        self._sorted = 0  # lots [0, _sorted) are in order; the rest is the tail
        self._sort(np.lexsort((self.acquired, self._position())))

    def copy(self) -> LotStore:
        """A store of the same lots, to change independently."""
        self._join()
        return LotStore(self.row, self.slot, self.quantity, self.basis, self.acquired, self.width)

    @property
    def size(self) -> int:
        self._join()
        return int(self.row.size)

    def _position(self) -> Indices:
        out: Indices = self.row.astype(np.int64) * self.width + self.slot
        return out

    def _sort(self, order: Indices) -> None:
        for name in FIELDS:
            setattr(self, name, getattr(self, name)[order])
        self._sorted = int(self.row.size)

    def _join(self) -> None:
        """Append the lots opened since the last call to the arrays (the tail)."""
        if not self._tail:
            return
        parts = list(zip(*self._tail, strict=True))
        for name, added in zip(FIELDS, parts, strict=True):
            setattr(self, name, np.concatenate([getattr(self, name), *added]))
        self._tail = []

    def open(
        self,
        row: Indices,
        slot: Indices,
        quantity: npt.NDArray[np.float64],
        basis: npt.NDArray[np.float64],
        ordinal: int,
    ) -> None:
        """Open a lot per buy, acquired on ``ordinal`` (later than every lot held)."""
        if row.size:
            acquired = np.full(row.size, ordinal, dtype=np.int32)
            self._tail.append(
                (row.astype(np.int32), slot.astype(np.int32), quantity, basis, acquired)
            )

    def relieve(self, lot: Indices, quantity: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Take ``quantity`` shares from each ``lot`` (each at most once); returns the basis
        relieved, pro rata (NaN where the lot has none)."""
        self._join()
        whole = self.quantity[lot]
        part = self.basis[lot] * (quantity / whole)
        left = whole - quantity
        self.basis[lot] = np.where(left > SHARE_TOLERANCE, self.basis[lot] - part, 0.0)
        self.quantity[lot] = np.where(left > SHARE_TOLERANCE, left, 0.0)
        return part

    def compact(self) -> None:
        """Drop the lots with no shares left and merge the tail into the sorted lots (a
        stable sort by position of two sorted runs: the tail's lots are the newest)."""
        self._join()
        keep = np.flatnonzero(self.quantity > 0)
        tail = keep[keep >= self._sorted]
        order = np.r_[
            keep[keep < self._sorted], tail[np.argsort(self._position()[tail], kind="stable")]
        ]
        position = self._position()[order]
        self._sort(order[np.argsort(position, kind="stable")])

    def of(self, accounts: Indices, methods: npt.NDArray[np.int8]) -> LotArrays:
        """The lots with shares of ``accounts`` (ascending), rows renumbered 0..len(accounts)
        in that order; ``methods``, their lot methods (code 0 is first in, first out)."""
        self._join()
        head = self.row[: self._sorted]
        lo = np.searchsorted(head, accounts)
        hi = np.searchsorted(head, accounts + 1)
        count = hi - lo
        new_row = np.repeat(np.arange(accounts.size), count)
        index = np.arange(int(count.sum())) + np.repeat(lo - np.cumsum(count) + count, count)
        if self.row.size > self._sorted:  # the tail: newest lots, after their position's
            place = np.full(int(self.row.max(initial=0)) + 1, -1, dtype=np.int64)
            place[accounts[accounts < place.size]] = np.flatnonzero(accounts < place.size)
            tail_row = place[self.row[self._sorted :]]
            mine = np.flatnonzero(tail_row >= 0)
            index = np.r_[index, mine + self._sorted]
            new_row = np.r_[new_row, tail_row[mine]]
            key = new_row * self.width + self.slot[index]
            order = np.argsort(key, kind="stable")
            index, new_row = index[order], new_row[order]
        has = self.quantity[index] > 0
        index, new_row = index[has], new_row[has]
        return LotArrays(
            row=new_row.astype(np.int32),
            slot=self.slot[index],
            quantity=self.quantity[index],
            basis=self.basis[index],
            acquired=self.acquired[index],
            rank=None,
            source=index.astype(np.int64),
            ordered=not methods.any(),
        )

    def held(self, shape: tuple[int, int]) -> npt.NDArray[np.float64]:
        """Shares of the lots per slot, (N, K)."""
        self._join()
        n, k = shape
        out = np.bincount(self._position(), weights=self.quantity, minlength=n * k)
        return out.astype(np.float64).reshape(n, k)
