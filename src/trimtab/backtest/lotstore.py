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
from typing import Any

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
    missing) and acquisition ordinal (``date.toordinal``), for ``width`` slots per account.

    ``row``, ``slot``, ``quantity``, ``basis`` and ``acquired`` are the sorted lots; the lots
    opened since the last :meth:`compact` follow them (indexes from ``len(row)`` on).
    """

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
        self._new: list[tuple[npt.NDArray[np.generic], ...]] = []  # opened, not yet in tail
        self._tail = _Lots.empty()
        self._sort(np.lexsort((self.acquired, self._position(self.row, self.slot))))

    def copy(self) -> LotStore:
        """A store of the same lots, to change independently."""
        self.compact()
        return LotStore(self.row, self.slot, self.quantity, self.basis, self.acquired, self.width)

    @property
    def size(self) -> int:
        """Number of lots, those relieved to nothing since the last compaction included."""
        return int(self.row.size) + self._tail_lots().size

    def _position(self, row: npt.NDArray[np.int32], slot: npt.NDArray[np.int32]) -> Indices:
        out: Indices = row.astype(np.int64) * self.width + slot
        return out

    def _sort(self, order: Indices) -> None:
        for name in FIELDS:
            setattr(self, name, getattr(self, name)[order])

    def _tail_lots(self) -> _Lots:
        """The lots opened since the last compaction, in the order opened."""
        if self._new:
            parts = list(zip(*self._new, strict=True))
            self._tail = _Lots(
                *(
                    np.concatenate([getattr(self._tail, name), *added])
                    for name, added in zip(FIELDS, parts, strict=True)
                )
            )
            self._new = []
        return self._tail

    def _split(self, index: Indices) -> tuple[Indices, Indices, Indices, Indices]:
        """Where in ``index`` the sorted lots are and which, then the same for the tail."""
        late = index >= self.row.size
        early, later = np.flatnonzero(~late), np.flatnonzero(late)
        return early, index.take(early), later, index.take(later) - self.row.size

    def _gather(
        self, name: str, index: Indices, split: tuple[Indices, Indices, Indices, Indices]
    ) -> npt.NDArray[Any]:
        """Field ``name`` of the lots at ``index`` (sorted lots, then the tail), ``split``
        by :meth:`_split`."""
        head: npt.NDArray[Any] = getattr(self, name)
        early, at, later, tail_at = split
        if not later.size:
            out: npt.NDArray[Any] = head.take(index)
            return out
        out = np.empty(index.size, dtype=head.dtype)
        out[early] = head.take(at)
        out[later] = getattr(self._tail_lots(), name).take(tail_at)
        return out

    def where(self, lot: Indices) -> tuple[Indices, Indices]:
        """Account row and slot of each ``lot``."""
        split = self._split(lot)
        row = self._gather("row", lot, split).astype(np.int64)
        return row, self._gather("slot", lot, split).astype(np.int64)

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
            self._new.append(
                (row.astype(np.int32), slot.astype(np.int32), quantity, basis, acquired)
            )

    def relieve(self, lot: Indices, quantity: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Take ``quantity`` shares from each ``lot`` (each at most once); returns the basis
        relieved, pro rata (NaN where the lot has none)."""
        part = np.empty(lot.size)
        head = int(self.row.size)
        for lots, at, mine in (
            (self, lot, lot < head),
            (self._tail_lots(), lot - head, lot >= head),
        ):
            i, q = at[mine], quantity[mine]
            whole = lots.quantity[i]
            part[mine] = lots.basis[i] * (q / whole)
            left = whole - q
            lots.basis[i] = np.where(left > SHARE_TOLERANCE, lots.basis[i] - part[mine], 0.0)
            lots.quantity[i] = np.where(left > SHARE_TOLERANCE, left, 0.0)
        return part

    def compact(self) -> None:
        """Drop the lots with no shares left and merge the tail into the sorted lots: each
        tail lot, the newest of its position, goes after that position's lots."""
        tail = self._tail_lots()
        keep = self.quantity > 0
        if tail.size == 0 and keep.all():
            return
        for name in FIELDS:
            setattr(self, name, getattr(self, name)[keep])
        mine = np.flatnonzero(tail.quantity > 0)
        key = self._position(tail.row[mine], tail.slot[mine])
        order = np.argsort(key, kind="stable")
        mine, key = mine[order], key[order]
        at = np.searchsorted(self._position(self.row, self.slot), key, side="right")
        for name in FIELDS:
            setattr(self, name, np.insert(getattr(self, name), at, getattr(tail, name)[mine]))
        self._tail = _Lots.empty()

    def of(self, accounts: Indices, methods: npt.NDArray[np.int8]) -> LotArrays:
        """The lots with shares of ``accounts`` (ascending), rows renumbered 0..len(accounts)
        in that order; ``methods``, their lot methods (code 0 is first in, first out).

        The sorted lots of those accounts are contiguous runs, gathered field by field; the
        tail's lots of those accounts (few) are then merged in after their position's
        sorted lots, with one mask for every field."""
        keys = accounts.astype(self.row.dtype)  # searched in the store's own type: no copy
        lo = np.searchsorted(self.row, keys)
        count = np.searchsorted(self.row, keys + 1) - lo
        total = int(count.sum())
        if total == self.row.size:  # every lot of the sorted part: no gather
            index = np.arange(total)
        else:
            index = np.arange(total) + np.repeat(lo - np.cumsum(count) + count, count)
        new_row = np.repeat(np.arange(accounts.size, dtype=np.int64), count)
        quantity = self.quantity.take(index)
        has = quantity > 0
        if not has.all():
            index, new_row, quantity = index[has], new_row[has], quantity[has]
        fields = [index, new_row, quantity, *(getattr(self, f).take(index) for f in FIELDS[3:])]
        slot = self.slot.take(index)
        tail = self._tail_lots()
        mine = np.zeros(0, dtype=np.int64)
        if tail.size:
            place = np.full(int(tail.row.max()) + 1, -1, dtype=np.int64)
            inside = accounts < place.size
            place[accounts[inside]] = np.flatnonzero(inside)
            tail_row = place[tail.row]
            mine = np.flatnonzero((tail_row >= 0) & (tail.quantity > 0))
        if mine.size:  # the newest lots go after their position's sorted lots
            key = tail_row[mine] * self.width + tail.slot[mine]
            order = np.argsort(key, kind="stable")
            mine, key = mine[order], key[order]
            at = np.searchsorted(new_row * self.width + slot, key, side="right")
            spot = at + np.arange(mine.size)  # places in the merged lots
            head = np.ones(index.size + mine.size, dtype=bool)
            head[spot] = False
            added = [
                mine + self.row.size,
                tail_row[mine],
                tail.quantity[mine],
                *(getattr(tail, f)[mine] for f in FIELDS[3:]),
                tail.slot[mine],
            ]
            merged = []
            for old, extra in zip([*fields, slot], added, strict=True):
                both = np.empty(head.size, dtype=old.dtype)
                both[head] = old
                both[spot] = extra
                merged.append(both)
            *fields, slot = merged
        index, new_row, quantity, basis, acquired = fields
        return LotArrays(
            row=new_row.astype(np.int32),
            slot=slot,
            quantity=quantity,
            basis=basis,
            acquired=acquired,
            rank=None,
            source=index.astype(np.int64),
            ordered=not methods.any(),
        )

    def held(self, shape: tuple[int, int]) -> npt.NDArray[np.float64]:
        """Shares of the lots per slot, (N, K)."""
        n, k = shape
        tail = self._tail_lots()
        flat = np.r_[self._position(self.row, self.slot), self._position(tail.row, tail.slot)]
        out = np.bincount(flat, weights=np.r_[self.quantity, tail.quantity], minlength=n * k)
        return out.astype(np.float64).reshape(n, k)


@dataclass(slots=True)
class _Lots:
    """Lots as arrays, (L,) each (the fields of :class:`LotStore`)."""

    row: npt.NDArray[np.int32]
    slot: npt.NDArray[np.int32]
    quantity: npt.NDArray[np.float64]
    basis: npt.NDArray[np.float64]
    acquired: npt.NDArray[np.int32]

    @staticmethod
    def empty() -> _Lots:
        i32 = np.zeros(0, dtype=np.int32)
        return _Lots(i32, i32, np.zeros(0), np.zeros(0), i32)

    @property
    def size(self) -> int:
        return int(self.row.size)
