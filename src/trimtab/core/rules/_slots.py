"""A batch's rules laid out on its slots (:class:`SlotRules`), and the part of lot
eligibility that does not depend on prices, computed once per batch (:class:`LotCache`).

(N, K) arrays per slot, (N,) per account; shares and fractions of account value as stated
per field.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from trimtab.core.batch import Mask
from trimtab.core.lots import (
    METHOD_CODE,
    LotArrays,
    LotMethod,
    first_lots,
    in_relief_order,
    lot_eligibility,
    lot_positions,
)
from trimtab.core.reasons import RuleReason
from trimtab.core.restrictions import SlotRestrictions

Flags = npt.NDArray[np.uint32]
LOT_RULES = (
    RuleReason.ELECTIVE_LOCK,
    RuleReason.MISSING_BASIS,
    RuleReason.GAIN_LOCK,
    RuleReason.WASH_SALE_SELL,
    RuleReason.SPECIFIC_LOTS,
)
"""Rules that hold lots back from a sale."""


@dataclass(frozen=True, slots=True)
class LotCache:
    """What of a batch's lot eligibility does not depend on prices, computed once.

    Attributes:
        first_lot: index of each slot's first lot (:func:`first_lots`) among the lots of the
            book, (N * K + 1,); ``lot_offset`` is the index there of the batch's first lot.
        static_ok: lots no price-independent rule holds back, (L,).
        static_flags: :class:`RuleReason` flags of those rules per lot, (L,).
        watched: indices of the lots (with shares) under a gain lock or in a wash window,
            re-checked at each price, ascending.
        watched_flat, watched_quantity, watched_basis: those lots' ``flat``, shares and
            cost basis, gathered once; ``watched_flat`` is ascending too (lots in relief
            order are sorted by position).
        gain_watch, wash_watch: which of the two watches each: a gain lock (held back at a
            gain), a wash window (held back at a loss), or both.
        watched_ok: the watched lot is in ``static_ok``.
        free: shares of ``static_ok`` lots per slot, infinite where no lots, (N, K).
        free_lots: the number of those lots (with shares) per slot, (N, K).
        has_lots: the slot's position has lots, (N, K).
        flagged: the slots (``row * K + slot``) with lots held back by ``static_flags``,
            ascending, and ``flagged_bits`` those lots' flags, or-ed per slot.
    """

    first_lot: npt.NDArray[np.int64]
    lot_offset: int
    static_ok: Mask
    static_flags: Flags
    watched: npt.NDArray[np.int64]
    watched_flat: npt.NDArray[np.int64]
    watched_quantity: npt.NDArray[np.float64]
    watched_basis: npt.NDArray[np.float64]
    gain_watch: Mask
    wash_watch: Mask
    watched_ok: Mask
    free: npt.NDArray[np.float64]
    free_lots: npt.NDArray[np.int32]
    has_lots: Mask
    flagged: npt.NDArray[np.int64]
    flagged_bits: Flags

    def rows(self, start: int, stop: int, a: int, b: int, width: int) -> LotCache:
        """Accounts ``start:stop`` whose lots are ``a:b``."""
        i, j = np.searchsorted(self.watched, np.array([a, b], dtype=np.int64))
        f, g = np.searchsorted(self.flagged, np.array([start, stop], dtype=np.int64) * width)
        return LotCache(
            self.first_lot[start * width : stop * width + 1],
            self.lot_offset + a,
            self.static_ok[a:b],
            self.static_flags[a:b],
            self.watched[i:j] - a,
            self.watched_flat[i:j] - start * width,
            self.watched_quantity[i:j],
            self.watched_basis[i:j],
            self.gain_watch[i:j],
            self.wash_watch[i:j],
            self.watched_ok[i:j],
            self.free[start:stop],
            self.free_lots[start:stop],
            self.has_lots[start:stop],
            self.flagged[f:g] - start * width,
            self.flagged_bits[f:g],
        )


@dataclass(frozen=True, slots=True)
class SlotRules:
    """A batch's rules laid out on its slots: (N, K) per slot, (N,) per account.

    Attributes:
        restrictions: exclusions, substitutions and equivalents in force.
        elective: the slot's security is never sold.
        gain_lock: lots with unrealised (or unknown) gains are not sold (non-qualified).
        basis_unlocked: lots with a missing cost basis may be sold.
        wash_window: bought in the household within 30 days: lots at a loss are not sold.
        wash_buy: sold at a loss in the household within 30 days: not bought.
        short_term: sold in this account within its short-term window: not bought.
        hold: the account is on trade hold.
        ruled: the account has rules (or lots).
        method: lot relief method code per account (:data:`METHOD_CODE`).
        lots: the tax lots, sorted by row.
        protected: shares held in a protected sleeve, never traded, (N, K).
        apm: the slot is a line of an APM sleeve, (N, K).
    """

    restrictions: SlotRestrictions
    elective: Mask
    gain_lock: Mask
    basis_unlocked: Mask
    wash_window: Mask
    wash_buy: Mask
    short_term: Mask
    hold: Mask
    ruled: Mask
    method: npt.NDArray[np.int8]
    lots: LotArrays
    protected: npt.NDArray[np.float64] | None = None
    cache: LotCache | None = None
    apm: Mask | None = None

    @classmethod
    def none(cls, n: int, k: int) -> SlotRules:
        """No rules for ``n`` accounts of ``k`` slots."""
        off = np.zeros((n, k), dtype=bool)
        return cls(
            restrictions=SlotRestrictions.none(n, k),
            elective=off,
            gain_lock=off,
            basis_unlocked=off,
            wash_window=off,
            wash_buy=off,
            short_term=off,
            hold=np.zeros(n, dtype=bool),
            ruled=np.zeros(n, dtype=bool),
            method=np.zeros(n, dtype=np.int8),
            lots=LotArrays.empty(),
        )

    def rows(self, start: int, stop: int) -> SlotRules:
        """Accounts ``start:stop`` (lots renumbered from 0)."""
        return SlotRules(
            restrictions=self.restrictions.rows(start, stop),
            elective=self.elective[start:stop],
            gain_lock=self.gain_lock[start:stop],
            basis_unlocked=self.basis_unlocked[start:stop],
            wash_window=self.wash_window[start:stop],
            wash_buy=self.wash_buy[start:stop],
            short_term=self.short_term[start:stop],
            hold=self.hold[start:stop],
            ruled=self.ruled[start:stop],
            method=self.method[start:stop],
            lots=self.lots.rows(start, stop),
            protected=None if self.protected is None else self.protected[start:stop],
            cache=None if self.cache is None else self._cache_rows(self.cache, start, stop),
            apm=None if self.apm is None else self.apm[start:stop],
        )

    def prepared_rows(self, start: int, stop: int) -> SlotRules:
        """Accounts ``start:stop``, :meth:`prepared` unless these rules already are: a book's
        lots are then put in relief order and checked chunk by chunk, on the chunks'
        threads, instead of all at once before the first chunk."""
        part = self.rows(start, stop)
        return part if part.cache is not None else part.prepared()

    def _cache_rows(self, cache: LotCache, start: int, stop: int) -> LotCache:
        rows = self.lots.row
        a, b = np.searchsorted(rows, np.array([start, stop], dtype=rows.dtype))
        return cache.rows(start, stop, int(a), int(b), self.elective.shape[1])

    def prepared(self) -> SlotRules:
        """These rules with the price-independent part of lot eligibility computed once
        (:class:`LotCache`): applying them then costs in proportion to the watched lots.
        The lots are put in relief order (:func:`in_relief_order`) and the restricted slots
        indexed (:meth:`SlotRestrictions.indexed`)."""
        n, k = self.elective.shape
        ordered = replace(
            self,
            restrictions=self.restrictions.indexed(),
            lots=in_relief_order(self.lots, self.method, k),
        )
        lots = ordered.lots
        flat = lot_positions(lots.row, lots.slot, k)
        static_ok, static_flags = _lot_rules(ordered, flat, None)
        rule = np.zeros(lots.size, dtype=np.uint32)
        for mask, reason in _WATCHES:
            if getattr(self, mask).any():
                rule |= getattr(self, mask).ravel().take(flat) * np.uint32(reason)
        watched = (rule != 0) & (lots.quantity > 0)
        free = np.bincount(flat, weights=lots.quantity * static_ok, minlength=n * k)
        counts = np.bincount(flat, minlength=n * k)
        has_lots = counts > 0
        watched_idx = np.flatnonzero(watched).astype(np.int64)
        slot_flags = _slot_flags(flat, static_ok, static_flags, lots.quantity, n * k)
        flagged = np.flatnonzero(slot_flags).astype(np.int64)
        watched_rule = rule[watched_idx]
        return replace(
            ordered,
            cache=LotCache(
                first_lot=first_lots(lots, (n, k), counts),
                lot_offset=0,
                static_ok=static_ok,
                static_flags=static_flags,
                watched=watched_idx,
                watched_flat=flat[watched_idx],
                watched_quantity=lots.quantity[watched_idx],
                watched_basis=lots.basis[watched_idx],
                gain_watch=(watched_rule & np.uint32(RuleReason.GAIN_LOCK)) != 0,
                wash_watch=(watched_rule & np.uint32(RuleReason.WASH_SALE_SELL)) != 0,
                watched_ok=static_ok[watched_idx],
                free=np.where(has_lots, free, np.inf).reshape(n, k),
                free_lots=(counts - np.bincount(flat[~static_ok], minlength=n * k))
                .astype(np.int32)
                .reshape(n, k),
                has_lots=has_lots.reshape(n, k),
                flagged=flagged,
                flagged_bits=slot_flags[flagged],
            ),
        )


def _lot_rules(
    rules: SlotRules, flat: npt.NDArray[np.int64], slot_price: npt.NDArray[np.float64] | None
) -> tuple[Mask, Flags]:
    """Lot eligibility under ``rules``; without ``slot_price`` only the rules that do not
    depend on prices (gain-locked lots without a basis count as held back)."""
    lots = rules.lots

    def per_lot(mask: Mask) -> Mask | None:
        if not mask.any():
            return None
        out: Mask = mask.ravel().take(flat)
        return out

    method = rules.method.take(lots.row) if rules.method.any() else None
    specific = None if method is None else method == METHOD_CODE[LotMethod.SPECIFIC]
    if slot_price is not None:
        return lot_eligibility(
            lots,
            slot_price,
            flat,
            elective=per_lot(rules.elective),
            gain_lock=per_lot(rules.gain_lock),
            basis_unlocked=per_lot(rules.basis_unlocked),
            wash_window=per_lot(rules.wash_window),
            specific=specific,
        )
    ok, flags = lot_eligibility(
        lots,
        np.zeros(1),
        flat,
        elective=per_lot(rules.elective),
        basis_unlocked=per_lot(rules.basis_unlocked),
        specific=specific,
    )
    locked = per_lot(rules.gain_lock)
    if locked is not None:
        unknown = locked & np.isnan(lots.basis)
        ok &= ~unknown
        flags |= unknown.astype(np.uint32) * np.uint32(RuleReason.GAIN_LOCK)
    return ok, flags


def _slot_flags(
    flat: npt.NDArray[np.int64],
    ok: Mask,
    flags: Flags,
    quantity: npt.NDArray[np.float64],
    size: int,
) -> Flags:
    """The flags of each slot's held-back lots, or-ed, (size,)."""
    out = np.zeros(size, dtype=np.uint32)
    held_back = np.flatnonzero(~ok & (quantity > 0))
    if held_back.size:
        where = flat[held_back]
        bits = flags[held_back]
        for reason in LOT_RULES:
            hit = np.bincount(where[(bits & np.uint32(reason)) != 0], minlength=size) > 0
            out |= hit.astype(np.uint32) * np.uint32(reason)
    return out


_WATCHES = (("gain_lock", RuleReason.GAIN_LOCK), ("wash_window", RuleReason.WASH_SALE_SELL))
"""The lot rules that depend on prices: a gain lock holds back lots at a gain, a wash
window lots at a loss."""
