"""Tax lots: which lots may be sold, which a sale relieves, and the gains it realises.

Sales of a whole batch are relieved at once (:func:`relieve_lots`); the plain one-position
reference the tests hold it against is ``tests/reference/lots.py``. Quantities are shares,
cost bases and gains dollars; a lot is long term when held more than one year (sold after
the first anniversary of its acquisition).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from trimtab.core.reasons import RuleReason

APPROVAL_GAIN = 1000.0
"""Dollars of realised gain in a non-qualified account from which a proposal needs approval."""

SHARE_TOLERANCE = 1e-9
"""Shares below this are nothing left to relieve."""

Indices = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Lot:
    """One tax lot: shares, total cost basis in dollars (``None`` when missing), acquisition."""

    quantity: float
    cost_basis: float | None
    acquired: date
    lot_id: str | None = None


def anniversary(acquired: date) -> date:
    """The first anniversary of ``acquired`` (28 February for a 29 February acquisition)."""
    try:
        return acquired.replace(year=acquired.year + 1)
    except ValueError:
        return acquired.replace(year=acquired.year + 1, day=28)


class LotMethod(StrEnum):
    """Lot relief methods of an account."""

    FIFO = "fifo"
    LIFO = "lifo"
    HIFO = "hifo"
    MINIMUM_TAX = "minimum_tax"
    SPECIFIC = "specific_lots"


@dataclass(frozen=True, slots=True)
class Relief:
    """Shares of one lot relieved by a sale, with dollars of basis, proceeds and gain."""

    index: int
    lot_id: str | None
    acquired: date
    quantity: float
    cost_basis: float | None
    proceeds: float
    gain: float | None
    long_term: bool


@dataclass(frozen=True, slots=True)
class Sale:
    """The lots a sale relieves and the gains it realises, dollars (``None`` parts unknown)."""

    reliefs: tuple[Relief, ...]
    short_term_gain: float
    long_term_gain: float
    unknown_basis: bool

    @property
    def gain(self) -> float:
        """Short- plus long-term realised gain in dollars (lots of unknown basis left out)."""
        return self.short_term_gain + self.long_term_gain


def needs_approval(gain: float, *, qualified: bool) -> bool:
    """A proposal realising ``gain`` dollars (net) needs an approver: non-qualified, >= $1,000."""
    return not qualified and gain >= APPROVAL_GAIN - 0.005


METHOD_CODE: dict[LotMethod, int] = {m: i for i, m in enumerate(LotMethod)}
"""Integer code of each relief method in per-account arrays."""


@dataclass(frozen=True, slots=True)
class LotArrays:
    """The tax lots of a batch as flat arrays sorted by account row, (L,) each.

    Attributes:
        row, slot: the account row and slot of the position the lot belongs to.
        quantity: shares.
        basis: total cost basis in dollars, NaN when missing.
        acquired: acquisition date as a proleptic Gregorian ordinal (``date.toordinal``;
            int32 holds every date).
        rank: with specific lots, the lot's place in the named order; ``inf`` if not named;
            ``None`` when no lot is named.
        lot_id: ids for display, or ``None``.
        source: each lot's row in the caller's lots table (a book's), or ``None``.
        ordered: each position's lots are together and in the relief order of their
            account's method, except minimum tax, whose order depends on prices
            (:func:`in_relief_order`); relief then needs no sort for the other methods.
    """

    row: npt.NDArray[np.int32]
    slot: npt.NDArray[np.int32]
    quantity: npt.NDArray[np.float64]
    basis: npt.NDArray[np.float64]
    acquired: npt.NDArray[np.int32]
    rank: npt.NDArray[np.float64] | None
    lot_id: tuple[str | None, ...] | None = None
    source: npt.NDArray[np.int64] | None = None
    ordered: bool = False

    @classmethod
    def empty(cls) -> LotArrays:
        """No lots."""
        i32 = np.zeros(0, dtype=np.int32)
        f64 = np.zeros(0)
        return cls(i32, i32, f64, f64, i32, f64, ())

    @property
    def size(self) -> int:
        """Number of lots."""
        return int(self.row.shape[0])

    def rows(self, start: int, stop: int) -> LotArrays:
        """Lots of accounts ``start:stop``, rows renumbered from 0."""
        a, b = np.searchsorted(self.row, np.array([start, stop], dtype=self.row.dtype))
        return LotArrays(
            self.row[a:b] - start,
            self.slot[a:b],
            self.quantity[a:b],
            self.basis[a:b],
            self.acquired[a:b],
            None if self.rank is None else self.rank[a:b],
            None if self.lot_id is None else self.lot_id[a:b],
            None if self.source is None else self.source[a:b],
            self.ordered,
        )


def long_term_cutoff(as_of: date) -> int:
    """The last acquisition day (ordinal) of a lot held more than one year on ``as_of``.

    The first anniversary is the same day a year later, 28 February for 29 February; it
    never falls earlier for a later acquisition, so the lots held more than one year are
    exactly those acquired on or before this day. Only the five days that can be the
    cutoff (364 to 368 days back) are checked.
    """
    first = as_of.toordinal() - 368
    later = sum(anniversary(date.fromordinal(first + i)) < as_of for i in range(5))
    return first + later - 1


Lots = npt.NDArray[np.bool_]


def lot_eligibility(
    lots: LotArrays,
    slot_price: npt.NDArray[np.float64],
    flat: npt.NDArray[np.int64],
    *,
    elective: Lots | None = None,
    gain_lock: Lots | None = None,
    basis_unlocked: Lots | None = None,
    wash_window: Lots | None = None,
    specific: Lots | None = None,
) -> tuple[Lots, npt.NDArray[np.uint32]]:
    """Which lots may be sold, and per lot the :class:`RuleReason` flags that held it back.

    ``slot_price`` is dollars per share of every slot, flattened, and ``flat`` each lot's
    index into it; the locks are per lot, (L,), ``None`` where none applies, and
    ``specific`` marks lots of accounts relieving specific lots.
    """
    n = lots.size
    missing = np.isnan(lots.basis)
    held: list[tuple[Lots, RuleReason]] = []
    if elective is not None:
        held.append((elective, RuleReason.ELECTIVE_LOCK))
    held.append(
        (missing if basis_unlocked is None else missing & ~basis_unlocked, RuleReason.MISSING_BASIS)
    )
    if gain_lock is not None or wash_window is not None:
        watched = np.zeros(n, dtype=bool)
        for mask in (gain_lock, wash_window):
            if mask is not None:
                watched |= mask
        idx = np.flatnonzero(watched)
        gain = lots.quantity[idx] * slot_price.take(flat[idx]) - lots.basis[idx]
        if gain_lock is not None:
            hit = np.zeros(n, dtype=bool)
            hit[idx] = gain_lock[idx] & (missing[idx] | (gain > 0))
            held.append((hit, RuleReason.GAIN_LOCK))
        if wash_window is not None:
            hit = np.zeros(n, dtype=bool)
            hit[idx] = wash_window[idx] & (gain < 0)
            held.append((hit, RuleReason.WASH_SALE_SELL))
    if specific is not None:
        named = None if lots.rank is None else np.isfinite(lots.rank)
        held.append((specific if named is None else specific & ~named, RuleReason.SPECIFIC_LOTS))
    ok: Lots = lots.quantity > 0
    for where, _ in held:
        ok &= ~where
    flags = np.zeros(n, dtype=np.uint32)
    out = np.flatnonzero(~ok)
    for where, reason in held:
        flags[out] |= where[out].astype(np.uint32) * np.uint32(reason)
    return ok, flags


@dataclass(frozen=True, slots=True)
class Relieved:
    """The lots a batch's sales relieved, in relief order: by position (ascending
    ``row * K + slot``), and within a position first relieved first, (M,) each.

    Attributes:
        index: the lot's index in the batch's :class:`LotArrays`.
        quantity: shares relieved, > 0.
        gain: realised gain in dollars, NaN where the basis is missing.
        long_term: held more than one year on the trade date.
    """

    index: npt.NDArray[np.int64]
    quantity: npt.NDArray[np.float64]
    gain: npt.NDArray[np.float64]
    long_term: npt.NDArray[np.bool_]


def lot_positions(row: npt.NDArray[np.int32], slot: npt.NDArray[np.int32], width: int) -> Indices:
    """Each lot's position ``row * width + slot`` (int64), made in one array."""
    out: Indices = row.astype(np.int64)
    out *= width
    out += slot
    return out


def _positions_first(
    position: npt.NDArray[np.int64], key: npt.NDArray[np.int64] | npt.NDArray[np.int32]
) -> Indices:
    """A stable order by ``position``, then ``key`` (integers, any sign)."""
    if key.size == 0:
        return np.zeros(0, dtype=np.int64)
    span = int(key.max()) - int(key.min()) + 1
    if span < 2**31 and int(position.max()) < 2**31:
        combined = position << 31
        combined += key
        combined -= key.min()
        order: Indices = np.argsort(combined, kind="stable")
        return order
    return np.lexsort((key, position)).astype(np.int64)


def relief_order(
    position: npt.NDArray[np.int64],
    method: npt.NDArray[np.int8] | None,
    acquired: npt.NDArray[np.int64] | npt.NDArray[np.int32],
    quantity: npt.NDArray[np.float64],
    basis: npt.NDArray[np.float64],
    rank: npt.NDArray[np.float64] | None,
) -> Indices:
    """A stable order of lots by ``position`` (e.g. ``row * K + slot``), then by the relief
    order of each lot's ``method`` code where it does not depend on prices: FIFO oldest
    first, LIFO newest first, HIFO highest cost per share first (missing bases first),
    specific lots by ``rank`` (``None``: none named); minimum tax keeps the given order.
    Ties keep the given order. ``method`` ``None`` means FIFO for every lot.
    """
    if method is None:
        return _positions_first(position, acquired)
    key = np.where(method == METHOD_CODE[LotMethod.LIFO], -acquired, acquired)
    key[method == METHOD_CODE[LotMethod.MINIMUM_TAX]] = 0
    hifo = np.flatnonzero(method == METHOD_CODE[LotMethod.HIFO])
    specific = np.flatnonzero(method == METHOD_CODE[LotMethod.SPECIFIC])
    for these, value in (
        (hifo, -_cost_per_share(quantity[hifo], basis[hifo])),
        (specific, np.full(specific.size, np.inf) if rank is None else rank[specific]),
    ):
        if these.size:
            # Float keys become their ranks among the lots of that method (ties share one).
            key[these] = np.unique(value, return_inverse=True)[1]
    return _positions_first(position, key)


def in_relief_order(lots: LotArrays, method: npt.NDArray[np.int8], width: int) -> LotArrays:
    """``lots`` reordered by :func:`relief_order` (``method``: code per account row, (N,);
    ``width``: slots per account) and marked ``ordered``; ``source`` and ``lot_id`` follow
    (without a ``source``, it becomes each lot's index in ``lots``). Lots already
    ``ordered`` are returned as they are."""
    return lots if lots.ordered else _reordered(lots, method, width)[0]


def _reordered(
    lots: LotArrays, method: npt.NDArray[np.int8], width: int
) -> tuple[LotArrays, Indices]:
    """:func:`in_relief_order` of lots not yet ordered, and the order (indices into ``lots``)."""
    position = lot_positions(lots.row, lots.slot, width)
    order = relief_order(
        position,
        method.take(lots.row) if method.any() else None,
        lots.acquired,
        lots.quantity,
        lots.basis,
        lots.rank,
    )
    ids = lots.lot_id
    if _ascending_from_zero(order):  # already in relief order (lots often come oldest first)
        source = order if lots.source is None else lots.source
        return replace(lots, source=source, ordered=True), order
    ordered = LotArrays(
        row=lots.row[order],
        slot=lots.slot[order],
        quantity=lots.quantity[order],
        basis=lots.basis[order],
        acquired=lots.acquired[order],
        rank=None if lots.rank is None else lots.rank[order],
        lot_id=None if ids is None else tuple(ids[i] for i in order.tolist()),
        source=order if lots.source is None else lots.source[order],
        ordered=True,
    )
    return ordered, order


def _ascending_from_zero(order: Indices) -> bool:
    """``order`` is ``0, 1, 2, ...``: the identity."""
    return bool((order == np.arange(order.size)).all())


def first_lots(lots: LotArrays, shape: tuple[int, int], counts: Indices | None = None) -> Indices:
    """For lots :func:`in_relief_order` of a batch of ``shape`` (N, K): the index of each
    slot's first lot, (N * K + 1,); slot ``s`` has the lots ``out[s]:out[s + 1]``.
    ``counts``, the lots of each slot (N * K,), when already counted."""
    n, k = shape
    if counts is None:
        counts = np.bincount(lot_positions(lots.row, lots.slot, k), minlength=n * k)
    out: Indices = np.zeros(n * k + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    return out


def _cost_per_share(
    q: npt.NDArray[np.float64], basis: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Cost basis per share of lots of ``q`` shares; infinite when missing."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out: npt.NDArray[np.float64] = np.where(np.isnan(basis) | (q <= 0), np.inf, basis / q)
    return out


def relieve_lots(
    lots: LotArrays,
    eligible: npt.NDArray[np.bool_],
    sold: npt.NDArray[np.float64],
    price: npt.NDArray[np.float64],
    method: npt.NDArray[np.int8],
    as_of: date,
) -> Relieved:
    """Relieve every sale of a batch from its position's eligible lots, vectorised.

    ``sold`` are shares sold per slot (N, K), slots with none (or less) sell nothing;
    ``price`` dollars per share (N, K);
    ``method`` the relief method code of each account (N,), see :data:`METHOD_CODE`. The
    order within a position is that of :func:`relief_order` (ties by lot order). Lots not yet
    :func:`in_relief_order` are ordered first. See :func:`relieve_sales`.
    """
    if not lots.ordered:
        # Relief needs no ids: leave them out of the reordering.
        ordered, order = _reordered(replace(lots, lot_id=None), method, sold.shape[1])
        done = relieve_lots(ordered, eligible[order], sold, price, method, as_of)
        return Relieved(order[done.index], done.quantity, done.gain, done.long_term)
    n, k = sold.shape
    start = first_lots(lots, (n, k))
    slot = np.flatnonzero(sold > 0)
    return relieve_sales(
        lots, eligible, slot, sold.ravel().take(slot), price, method, as_of, first_lot=start
    )


def relieve_sales(
    lots: LotArrays,
    eligible: npt.NDArray[np.bool_],
    slot: Indices,
    shares: npt.NDArray[np.float64],
    price: npt.NDArray[np.float64],
    method: npt.NDArray[np.int8],
    as_of: date,
    *,
    first_lot: Indices,
    first_offset: int = 0,
) -> Relieved:
    """:func:`relieve_lots` of the sales of ``shares`` (> 0) at the flat slots ``slot``
    (``row * K + slot``, ascending), for lots :func:`in_relief_order` whose
    :func:`first_lots` are ``first_lot`` less ``first_offset``.

    Only the lots of the positions sold are visited, one lot rank at a time, and only as far
    as each sale needs. After the first rank, the sales still needing shares step only
    through the lots that can give some (eligible, with shares): a sale behind many lots it
    may not sell (gain-locked, say) takes one step per lot it sells from, not per lot.
    """
    at = first_lot.take(slot) - first_offset  # places in the relief sequence
    end = first_lot[1:].take(slot) - first_offset
    has = at < end
    left = shares
    if not has.all():
        slot, at, end, left = slot[has], at[has], end[has], left[has]
    cutoff = long_term_cutoff(as_of)
    sequence = _minimum_tax_sequence(lots, slot, at, end, price, method, cutoff)
    # Each sale takes its position's lots in relief order, one lot rank at a time: a lot
    # gives what the sale still needs, at most all its shares (nothing if it may not be
    # sold), as one position on its own would. Only the sales still needing shares go on.
    # Most sales end at their first lot, so each rank's gains are worked out as it goes.
    each = price.ravel().take(slot)  # dollars per share of each sale
    last = end - 1  # each sale's last place
    ranks: list[tuple[Indices, Indices, npt.NDArray[np.float64], npt.NDArray[np.float64]]] = []
    way: Indices | None = None  # after the first rank: the places that can give, sale by sale
    step = stop = np.zeros(0, dtype=np.int64)  # each sale's place in ``way``, and its end there
    while at.size:
        lot = at if sequence is None else sequence.take(at)
        in_lot = lots.quantity.take(lot)
        give = np.minimum(in_lot, left)
        give *= eligible.take(lot)
        left = left - give
        given = give > SHARE_TOLERANCE
        place, took, got, whole = at, give, lot, in_lot
        sale_price = each
        if not given.all():
            i = np.flatnonzero(given)
            place, took, got = at.take(i), give.take(i), lot.take(i)
            whole, sale_price = in_lot.take(i), each.take(i)
        # The basis relieved is the lot's basis pro rata (NaN when missing, and so the gain).
        gain = took * (sale_price - lots.basis.take(got) / whole)
        ranks.append((place, got, took, gain))
        if way is None:
            more = np.flatnonzero((left > SHARE_TOLERANCE) & (at < last))
            left, each = left.take(more), each.take(more)
            way, step, stop = _giving_places(
                at.take(more) + 1, last.take(more), lots, eligible, sequence
            )
            # a sale with no such place left gets nothing more: it stops here
            going = np.flatnonzero(step < stop)
            step, stop, left, each = step[going], stop[going], left[going], each[going]
        else:
            more = np.flatnonzero((left > SHARE_TOLERANCE) & (step + 1 < stop))
            step, stop = step.take(more) + 1, stop.take(more)
            left, each = left.take(more), each.take(more)
        at = way.take(step)
    if not ranks:
        none = np.zeros(0, dtype=np.int64)
        return Relieved(none, np.zeros(0), np.zeros(0), np.zeros(0, dtype=bool))
    place, idx, took, gain = (np.concatenate(part) for part in zip(*ranks, strict=True))
    if len(ranks) > 1:
        # Back into relief order: each lot rank gave an ascending run of places.
        order = np.argsort(place, kind="stable")
        idx, took, gain = idx.take(order), took.take(order), gain.take(order)
    long_term = lots.acquired.take(idx) <= cutoff
    return Relieved(index=idx, quantity=took, gain=gain, long_term=long_term)


def _giving_places(
    begin: Indices,
    last: Indices,
    lots: LotArrays,
    eligible: npt.NDArray[np.bool_],
    sequence: Indices | None,
) -> tuple[Indices, Indices, Indices]:
    """The places ``begin[i]..last[i]`` of each sale whose lot can give shares (eligible,
    with shares), in order, one sale after the other; and each sale's first and end index
    among them. The lots skipped would give nothing: a sale stepping over them takes the
    same shares from the same lots."""
    count = np.maximum(last - begin + 1, 0)
    end = np.cumsum(count)
    place = np.repeat(begin - end + count, count) + np.arange(int(end[-1]) if end.size else 0)
    lot = place if sequence is None else sequence.take(place)
    gives = eligible.take(lot) & (lots.quantity.take(lot) > 0)
    before = np.zeros(place.size + 1, dtype=np.int64)  # giving places before each place
    np.cumsum(gives, out=before[1:])
    return place[gives], before.take(end - count), before.take(end)


def _minimum_tax_sequence(
    lots: LotArrays,
    slot: Indices,
    at: Indices,
    end: Indices,
    price: npt.NDArray[np.float64],
    method: npt.NDArray[np.int8],
    cutoff: int,
) -> Indices | None:
    """The lot at each place of the relief sequence when minimum tax reorders the lots of
    the positions sold (``slot``, lots ``at:end``) by price: losses first, long term first,
    then by gain per share; ``None`` when the sequence is the lots' own order."""
    k = price.shape[1]
    tax = method.take(slot // k) == METHOD_CODE[LotMethod.MINIMUM_TAX] if method.any() else None
    if tax is None or not tax.any():
        return None
    first, count = at[tax], end[tax] - at[tax]
    # Every lot of those positions, position by position.
    lot = np.repeat(first - np.cumsum(count) + count, count) + np.arange(int(count.sum()))
    position = np.repeat(slot[tax], count)
    each = price.ravel().take(position) - _cost_per_share(lots.quantity[lot], lots.basis[lot])
    short_term = lots.acquired[lot] > cutoff
    sequence = np.arange(lots.size)
    sequence[lot] = lot[np.lexsort((lot, each, short_term, each > 0, position))]
    return sequence


def slot_gains(
    done: Relieved, lots: LotArrays, shape: tuple[int, int]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Short- and long-term gains realised per slot in dollars, (N, K) each, from the lots
    a batch's sales relieved; lots without a cost basis are left out (as in :class:`Sale`)."""
    n, k = shape
    flat = lot_positions(lots.row[done.index], lots.slot[done.index], k)
    gain = np.nan_to_num(done.gain, nan=0.0)
    short = np.bincount(flat, weights=np.where(done.long_term, 0.0, gain), minlength=n * k)
    long = np.bincount(flat, weights=np.where(done.long_term, gain, 0.0), minlength=n * k)
    return short.astype(np.float64).reshape(n, k), long.astype(np.float64).reshape(n, k)


def lots_on_slots(
    width: int,
    *,
    account: npt.NDArray[np.int32],
    slot: npt.NDArray[np.int32],
    quantity: npt.NDArray[np.float64],
    basis: npt.NDArray[np.float64],
    acquired: npt.NDArray[np.int64] | npt.NDArray[np.int32],
    rank: npt.NDArray[np.float64] | None = None,
    method: npt.NDArray[np.int8] | None = None,
) -> LotArrays:
    """Flat lots of a book (account row, slot in a layout of ``width`` slots per account
    or -1 for none, shares, total basis in dollars or NaN, acquisition ordinal, int32 or
    int64) as :class:`LotArrays` sorted by row (``BookArrays.slots_of`` finds the slots).

    ``rank`` is each lot's place in its position's specific-lot order (``inf`` where not
    named); the result's ``source`` is each lot's index in the given arrays. Lots without a
    slot are dropped. Without ``method`` the lots of a row keep their order, and lots
    already sorted by row, each with a slot, are used as they are (no copy); with
    ``method`` (the relief method code of each account, (N,)) they come
    :func:`in_relief_order`, by one sort (ties keep their order).
    """
    found = slot >= 0
    n_found = int(np.count_nonzero(found))
    if method is None and n_found == account.size and _ascending(account):
        return LotArrays(
            row=account.astype(np.int32, copy=False),
            slot=slot.astype(np.int32, copy=False),
            quantity=quantity.astype(np.float64, copy=False),
            basis=basis.astype(np.float64, copy=False),
            acquired=acquired.astype(np.int32, copy=False),
            rank=None if rank is None else rank.astype(np.float64, copy=False),
            source=np.arange(account.size, dtype=np.int64),
        )
    if method is None:  # by row, those without a slot last
        order = np.argsort(np.where(found, account, np.iinfo(np.int32).max), kind="stable")
    else:  # by position, those without a slot last, then in relief order
        position = lot_positions(account, slot, width)
        position[~found] = (int(account.max(initial=-1)) + 1) * width  # past every position
        codes = method.take(np.maximum(account, 0)) if method.any() else None
        order = relief_order(position, codes, acquired, quantity, basis, rank)
    keep = order[:n_found]
    return LotArrays(
        row=account.take(keep).astype(np.int32, copy=False),
        slot=slot.take(keep).astype(np.int32, copy=False),
        quantity=quantity.take(keep).astype(np.float64, copy=False),
        basis=basis.take(keep).astype(np.float64, copy=False),
        acquired=acquired.take(keep).astype(np.int32, copy=False),
        rank=None if rank is None else rank.take(keep).astype(np.float64, copy=False),
        source=keep.astype(np.int64, copy=False),
        ordered=method is not None,
    )


def _ascending(values: npt.NDArray[np.int32]) -> bool:
    """``values`` never decrease."""
    return values.size < 2 or bool((values[1:] >= values[:-1]).all())
