"""An account's rules on a date, turned into what the trade logics honour.

:func:`apply_rules` gives a batch adjusted targets (restrictions), ``sell_limit`` (shares
that locks, holds and tax rules leave sellable) and ``buy_allowed``, plus the equivalents
groups and a :class:`RuleReason` flag per slot. After the logic, :func:`settle` applies
trade holds and marks accounts whose wanted trades rules blocked, and :func:`realise` says
which lots each sale relieves and the gains realised.

Symbols are codes; shares, dollars and fractions of account value as stated per field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import IntEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from trimtab.core.batch import AccountBatch, Dollars, Fractions, Mask
from trimtab.core.engine import BatchProposal
from trimtab.core.lots import (
    METHOD_CODE,
    Lot,
    LotArrays,
    LotMethod,
    Relief,
    Relieved,
    Sale,
    first_lots,
    in_relief_order,
    lot_eligibility,
    lot_positions,
    relieve_lots,
    relieve_sales,
)
from trimtab.core.reasons import Message, Reason, RuleReason, Status
from trimtab.core.restrictions import (
    Behaviour,
    EquivalentGroup,
    Exclusion,
    GroupArrays,
    SlotRestrictions,
    restrict_batch,
    set_flag,
)

Flags = npt.NDArray[np.uint32]
Index = npt.NDArray[np.intp]
LOT_RULES = (
    RuleReason.ELECTIVE_LOCK,
    RuleReason.MISSING_BASIS,
    RuleReason.GAIN_LOCK,
    RuleReason.WASH_SALE_SELL,
    RuleReason.SPECIFIC_LOTS,
)
"""Rules that hold lots back from a sale."""
WASH_SALE_DAYS = 30
"""Days before trade date in which a buy (or a loss sale) in the household opens a wash sale."""


class Side(IntEnum):
    """Side of a past transaction."""

    BUY = 1
    SELL = 2


@dataclass(frozen=True, slots=True)
class Transaction:
    """A past trade in some account of the household; ``realized_gain`` in dollars if known."""

    account: str
    symbol: int
    side: Side
    when: date
    quantity: float
    realized_gain: float | None = None


@dataclass(frozen=True, slots=True)
class AccountRules:
    """Everything that constrains one account's trades.

    Attributes:
        account: the account's id (matched against ``transactions``).
        qualified: untaxed registration (IRA and the like): no gain lock, no approval.
        exclusions: exclusions and substitutions.
        groups: equivalents groups.
        lots: tax lots by symbol code; positions without lots have no tax information.
        lot_method: the account's lot relief method.
        specific_lots: with specific lots, lot ids to relieve by symbol code, in order.
        gain_lock: the whole account has a gain lock (non-qualified accounts only).
        gain_lock_symbols: securities with their own gain lock.
        elective_locks: securities never sold.
        basis_unlocked: securities whose missing-basis lots may be sold.
        on_hold: a trade hold is in force.
        transactions: past trades in the household, this account's included.
        short_term_days: short-term trading window in days by symbol code.
        protected: shares of a protected sleeve by symbol code (never traded).
        apm: symbol codes of the APM sleeve's own slots (docs/rules.md, "Sleeves"): they
            take no share of a target an exclusion reallocates.
    """

    account: str
    qualified: bool = False
    exclusions: tuple[Exclusion, ...] = ()
    groups: tuple[EquivalentGroup, ...] = ()
    lots: Mapping[int, tuple[Lot, ...]] = field(default_factory=dict)
    lot_method: LotMethod = LotMethod.FIFO
    specific_lots: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    gain_lock: bool = False
    gain_lock_symbols: frozenset[int] = frozenset()
    elective_locks: frozenset[int] = frozenset()
    basis_unlocked: frozenset[int] = frozenset()
    on_hold: bool = False
    transactions: tuple[Transaction, ...] = ()
    short_term_days: Mapping[int, int] = field(default_factory=dict)
    protected: Mapping[int, float] = field(default_factory=dict)
    apm: frozenset[int] = frozenset()

    def bought_recently(self, as_of: date) -> frozenset[int]:
        """Securities bought in any household account within 30 days before ``as_of``."""
        return frozenset(
            t.symbol
            for t in self.transactions
            if t.side == Side.BUY and 0 <= (as_of - t.when).days <= WASH_SALE_DAYS
        )

    def wash_buy_blocked(self, as_of: date) -> frozenset[int]:
        """Securities sold at a loss in any household account within 30 days before ``as_of``."""
        return frozenset(
            t.symbol
            for t in self.transactions
            if t.side == Side.SELL
            and t.realized_gain is not None
            and t.realized_gain < 0
            and 0 <= (as_of - t.when).days <= WASH_SALE_DAYS
        )

    def short_term_blocked(self, as_of: date) -> frozenset[int]:
        """Securities this account sold within their short-term trading window."""
        return frozenset(
            t.symbol
            for t in self.transactions
            if t.side == Side.SELL
            and t.account == self.account
            and t.symbol in self.short_term_days
            and 0 <= (as_of - t.when).days <= self.short_term_days[t.symbol]
        )


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


@dataclass(frozen=True, slots=True)
class RuledBatch:
    """A batch with its rules applied.

    Attributes:
        batch: targets, bands, cash targets, ``sell_limit`` (shares) and ``buy_allowed``
            adjusted by the rules.
        groups: equivalents groups, or ``None`` when no account has one.
        rule_reason: :class:`RuleReason` flags, (N, K).
        hold: accounts on trade hold, (N,).
        ruled: accounts with any rules, (N,).
        rules: the slot rules applied.
        lot_eligible: lots that may be sold, (L,).
    """

    batch: AccountBatch
    groups: GroupArrays | None
    rule_reason: Flags
    hold: npt.NDArray[np.bool_]
    ruled: npt.NDArray[np.bool_]
    rules: SlotRules
    lot_eligible: npt.NDArray[np.bool_]


def slot_rules(
    slot_symbol: npt.NDArray[np.int32],
    rules: Sequence[AccountRules | None],
    as_of: date,
    target: npt.NDArray[np.float64] | None = None,
    lots: LotArrays | None = None,
) -> SlotRules:
    """Lay per-account rules on a batch's slots (``slot_symbol``: symbol codes, (N, K)).

    Restrictions in force on ``as_of`` only (``target``: the model weights, fractions,
    (N, K), for end action "wait for a weight change"); securities without a slot are left
    out. ``lots``, when given (a book's lots laid out by :func:`lots_on_slots`), replace the
    lots of the :class:`AccountRules`.
    """
    n, k = slot_symbol.shape
    out = SlotRules.none(n, k)
    res = out.restrictions
    fields = {
        name: getattr(out, name).copy()
        for name in ("elective", "gain_lock", "basis_unlocked", "wash_window", "wash_buy")
    }
    fields["short_term"] = out.short_term.copy()
    hold = out.hold.copy()
    ruled = out.ruled.copy()
    method = out.method.copy()
    lot_cols: list[list[Any]] = [[], [], [], [], [], [], []]
    protected = np.zeros((n, k))
    apm = np.zeros((n, k), dtype=bool)
    locked: dict[str, list[int]] = {name: [] for name in fields}  # flat slots to set
    whole = []  # accounts with a gain lock on every position
    for r, acc in enumerate(rules):
        if acc is None:
            continue
        ruled[r] = True
        hold[r] = acc.on_hold
        method[r] = METHOD_CODE[acc.lot_method]
        slot_of = {c: j for j, c in enumerate(slot_symbol[r].tolist()) if c >= 0}
        for ex in acc.exclusions:
            j = slot_of.get(ex.symbol)
            if j is None:
                continue
            w = slot_of.get(ex.weight_symbol) if ex.weight_symbol >= 0 else j
            weight = 0.0 if target is None or w is None else float(target[r, w])
            if not ex.active(as_of, weight):
                continue
            res.behaviour[r, j] = ex.behaviour
            res.replacement[r, j] = ex.replacement
            res.substitute[r, j] = slot_of.get(ex.substitute, -1) if ex.substitute >= 0 else -1
        for group in acc.groups:
            if not group.active(as_of):
                continue
            members = [
                (slot_of[s], b)
                for s, b in zip(group.members, group.behaviours, strict=True)
                if s in slot_of
            ]
            if not members:
                continue
            lead = min(j for j, _ in members)
            for j, b in members:
                res.lead[r, j] = lead
                res.member[r, j] = b
                res.several[r, j] = len(group.members) > 1
        for code, shares in acc.protected.items():
            j = slot_of.get(code)
            if j is not None:
                protected[r, j] = shares
        for code in acc.apm:
            j = slot_of.get(code)
            if j is not None:
                apm[r, j] = True
        if acc.gain_lock and not acc.qualified:
            whole.append(r)
        sets = {
            "elective": acc.elective_locks,
            "wash_window": acc.bought_recently(as_of) if acc.transactions else (),
            "wash_buy": acc.wash_buy_blocked(as_of) if acc.transactions else (),
            "short_term": acc.short_term_blocked(as_of) if acc.transactions else (),
            "basis_unlocked": acc.basis_unlocked,
            "gain_lock": () if acc.qualified or acc.gain_lock else acc.gain_lock_symbols,
        }
        for name, symbols in sets.items():
            for code in symbols:
                j = slot_of.get(code)
                if j is not None:
                    locked[name].append(r * k + j)
        for code, position in acc.lots.items() if lots is None else ():
            j = slot_of.get(code)
            if j is None:
                continue
            named = acc.specific_lots.get(code, ())
            rank = {lot_id: i for i, lot_id in enumerate(named)}
            for lot in position:
                lot_cols[0].append(r)
                lot_cols[1].append(j)
                lot_cols[2].append(lot.quantity)
                lot_cols[3].append(np.nan if lot.cost_basis is None else lot.cost_basis)
                lot_cols[4].append(lot.acquired.toordinal())
                lot_cols[5].append(float(rank.get(lot.lot_id or "", np.inf)))
                lot_cols[6].append(lot.lot_id)
    for name, at in locked.items():
        fields[name].reshape(-1)[at] = True
    fields["gain_lock"][whole] |= slot_symbol[whole] >= 0
    lot_arrays = LotArrays(
        row=np.array(lot_cols[0], dtype=np.int32),
        slot=np.array(lot_cols[1], dtype=np.int32),
        quantity=np.array(lot_cols[2], dtype=np.float64),
        basis=np.array(lot_cols[3], dtype=np.float64),
        acquired=np.array(lot_cols[4], dtype=np.int32),
        rank=np.array(lot_cols[5], dtype=np.float64),
        lot_id=tuple(lot_cols[6]),
    )
    if lots is not None:
        lot_arrays = lots
        ruled[lots.row] = True
    return SlotRules(
        restrictions=res,
        hold=hold,
        ruled=ruled,
        method=method,
        lots=lot_arrays,
        protected=protected if protected.any() else None,
        apm=apm if apm.any() else None,
        **fields,
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


FlagPieces = list[tuple[npt.NDArray[np.int64], Flags | np.uint32]]
"""Rule flags to add to slots: flat slots (maybe repeated) and their bits, each piece."""


def _cached_lots(
    cache: LotCache, slot_price: Fractions, quantity: npt.NDArray[np.float64]
) -> tuple[Mask, npt.NDArray[np.float64], FlagPieces]:
    """Eligibility, the shares the lots leave sellable per slot (at most ``quantity``,
    (N, K)) and the lot rules' flags, from the cache and prices (``slot_price``, flat)."""
    eligible = cache.static_ok
    limit = np.minimum(cache.free, quantity)
    pieces: FlagPieces = [(cache.flagged, cache.flagged_bits)]
    where = cache.watched_flat
    gain = cache.watched_quantity * slot_price.take(where) - cache.watched_basis
    at_gain = (gain > 0) & cache.gain_watch
    at_loss = (gain < 0) & cache.wash_watch
    hit = np.flatnonzero(at_gain | at_loss)
    if hit.size:
        held_at, gain_bit = where.take(hit), np.uint32(RuleReason.GAIN_LOCK)
        if cache.wash_watch.any():
            gains = at_gain.take(hit)
            pieces.append((held_at[gains], gain_bit))
            pieces.append((held_at[~gains], np.uint32(RuleReason.WASH_SALE_SELL)))
        else:
            pieces.append((held_at, gain_bit))
        newly = hit[cache.watched_ok.take(hit)]
        eligible = eligible.copy()
        eligible[cache.watched.take(newly)] = False
        # Their positions lose those lots' shares: none are left where no lot is, and
        # never less than none (the subtraction may leave a rounding residue).
        held = where.take(newly)  # ascending
        first = _run_starts(held)
        slots = held[first]
        group = np.cumsum(first) - 1
        lost = np.bincount(group, weights=cache.watched_quantity.take(newly))
        free = np.maximum(cache.free.ravel()[slots] - lost, 0.0)
        free[np.bincount(group) == cache.free_lots.ravel()[slots]] = 0.0
        limit.reshape(-1)[slots] = np.minimum(free, quantity.ravel()[slots])
    return eligible, limit, pieces


def _run_starts(values: npt.NDArray[np.int64]) -> Mask:
    """Where each run of equal ``values`` starts (sorted values: each distinct value)."""
    first = np.ones(values.size, dtype=bool)
    first[1:] = values[1:] != values[:-1]
    return first


def _weights(batch: AccountBatch, rows: Index | slice) -> tuple[Fractions, Fractions]:
    """Weights (fractions of account value, cash included) of the accounts ``rows``, and
    one over their values (0 for an account worth nothing)."""
    market, scale = _scale(batch, rows)
    return market * scale[:, None], scale


def _scale(batch: AccountBatch, rows: Index | slice) -> tuple[Dollars, Fractions]:
    """Market values of the accounts ``rows``, (R, K), and one over their values (with cash;
    0 for an account worth nothing), (R,)."""
    market = batch.quantity[rows] * batch.price[rows]
    value = batch.cash[rows] + market.sum(axis=1)
    return market, np.divide(1.0, value, out=np.zeros_like(value), where=value > 0)


def apply_slot_rules(
    batch: AccountBatch, rules: SlotRules, *, overwrite: bool = False
) -> RuledBatch:
    """The batch as the logics must see it under ``rules`` (laid out on its slots).

    With ``overwrite`` the batch's ``target``, ``lower`` and ``upper`` (distinct arrays,
    e.g. of a batch made for this call by ``BookArrays.batch``) become the restricted ones
    instead of being copied.
    """
    kept = None
    if rules.protected is None:
        # Restrictions read the current weights of the restricted slots only.
        at = rules.restrictions.excluded_at()
        rows = at // batch.width
        first = _run_starts(rows)
        scale = _scale(batch, rows[first])[1]
        weight = np.zeros(batch.price.shape)
        market = batch.quantity.ravel()[at] * batch.price.ravel()[at]
        weight.reshape(-1)[at] = market * scale[np.cumsum(first) - 1]
    else:
        # Restrictions act on the model sleeve: weights of the unprotected value.
        weight, scale = _weights(batch, slice(None))
        kept = np.minimum(rules.protected, batch.quantity)
        share = kept * batch.price * scale[:, None]
        rest = 1.0 - share.sum(axis=1)
        inv = np.divide(1.0, rest, out=np.zeros_like(rest), where=rest > 0)
        weight = (weight - share) * inv[:, None]
    model_lines = batch.in_model & batch.valid
    apm = rules.apm
    res = restrict_batch(
        weight=weight,
        target=batch.target,
        lower=batch.lower,
        upper=batch.upper,
        in_model=model_lines if apm is None else model_lines & ~apm,
        cash_target=batch.cash_target,
        slots=rules.restrictions,
        overwrite=overwrite,
    )
    if apm is not None:
        # APM lines were hidden from the reallocation pool only; they stay target lines
        # unless an exclusion liquidates them.
        liquidated = rules.restrictions.behaviour == Behaviour.LIQUIDATE_NOW
        res = replace(res, in_model=res.in_model | (apm & model_lines & ~liquidated))
    if kept is not None:
        r = rest[:, None]
        res = replace(
            res,
            target=res.target * r + share,
            lower=res.lower * r + share,
            upper=res.upper * r + share,
            in_model=res.in_model | (kept > 0),
            cash_target=res.cash_target * rest,
        )
    flags = res.flags
    n, k = batch.price.shape
    lots = rules.lots
    limit = batch.quantity
    eligible = np.zeros(0, dtype=bool)
    has_lots: Mask = np.zeros((n, k), dtype=bool)
    pieces: FlagPieces = []
    if lots.size and rules.cache is not None:
        eligible, limit, pieces = _cached_lots(rules.cache, batch.price.ravel(), limit)
        has_lots = rules.cache.has_lots
    elif lots.size:
        flat = lot_positions(lots.row, lots.slot, k)
        eligible, lot_flags = _lot_rules(rules, flat, batch.price.ravel())
        has_lots = np.bincount(flat, minlength=n * k).reshape(n, k) > 0
        free_all = np.bincount(flat, weights=lots.quantity * eligible, minlength=n * k)
        limit = np.where(has_lots, np.minimum(free_all.reshape(n, k), limit), limit)
        slot_flags = _slot_flags(flat, eligible, lot_flags, lots.quantity, n * k)
        flagged = np.flatnonzero(slot_flags)
        pieces = [(flagged, slot_flags[flagged])]
    blocked = np.flatnonzero(rules.elective | res.no_sell)
    if blocked.size:
        limit = limit.copy() if limit is batch.quantity else limit  # never the book's own
        limit.reshape(-1)[blocked] = 0.0
    if kept is not None:
        limit = np.minimum(limit, batch.quantity - kept)
        set_flag(flags, kept > 0, RuleReason.PROTECTED)
    for at, bits in pieces:
        # The lot rules' reasons go on the slots whose sale they limit.
        limits = limit.ravel()[at] < batch.quantity.ravel()[at] - 1e-12
        flags.reshape(-1)[at[limits]] |= bits if isinstance(bits, np.uint32) else bits[limits]
    at = np.flatnonzero(rules.elective)  # elective locks on positions without lots
    at = at[~has_lots.ravel()[at] & (batch.quantity.ravel()[at] > 0)]
    flags.reshape(-1)[at] |= np.uint32(RuleReason.ELECTIVE_LOCK)
    valid = batch.valid
    lead = rules.restrictions.lead
    can_buy = res.in_model & valid
    if res.groups is not None:
        can_buy |= (lead >= 0) & valid
    no_buy = res.no_buy
    for mask, reason in (
        (rules.wash_buy, RuleReason.WASH_SALE_BUY),
        (rules.short_term, RuleReason.SHORT_TERM_LIMIT),
    ):
        if mask.any():
            set_flag(flags, mask & valid, reason)
            no_buy = no_buy | mask
    can_buy &= ~no_buy
    adjusted = replace(
        batch,
        target=res.target,
        lower=res.lower,
        upper=res.upper,
        in_model=res.in_model,
        cash_target=res.cash_target,
        sell_limit=limit,
        buy_allowed=can_buy,
    )
    return RuledBatch(adjusted, res.groups, flags, rules.hold, rules.ruled, rules, eligible)


def apply_rules(
    batch: AccountBatch,
    slot_symbol: npt.NDArray[np.int32],
    rules: Sequence[AccountRules | None],
    as_of: date,
) -> RuledBatch:
    """The batch as the logics must see it on ``as_of``; ``rules`` has one entry per account.

    ``slot_symbol`` gives the symbol code of each slot, -1 for padding, (N, K).
    """
    return apply_slot_rules(batch, slot_rules(slot_symbol, rules, as_of, batch.target))


def settle(
    proposal: BatchProposal, ruled: RuledBatch
) -> tuple[BatchProposal, npt.NDArray[np.bool_]]:
    """Apply trade holds and mark accounts whose wanted trades rules blocked or limited.

    Returns the proposal and, per account, whether rules limited it (status at least part
    success). Accounts on hold get no trades, status failed and the trade-hold message.
    Where rules kept shares unsold while the logic sold others (generate cash raising
    elsewhere what a lock keeps), those lines are marked "sale limited by a rule".
    """
    wanted = np.uint32(Reason.SELL_LIMITED | Reason.BUY_BLOCKED)
    limited = ruled.ruled & ((np.bitwise_or.reduce(proposal.reason, axis=1) & wanted) != 0)
    limited &= ~ruled.hold
    b = ruled.batch
    selling = (proposal.quantity < 0).any(axis=1) & ruled.ruled & ~ruled.hold
    if selling.any():
        # Positions rules keep (partly) unsold, not sold in full, in accounts that sell.
        at = np.flatnonzero(b.sell_limit < b.quantity - 1e-9)
        unsold = proposal.quantity.ravel()[at] > 1e-9 - b.quantity.ravel()[at]
        at = at[unsold & selling[at // b.width]]
        if at.size:
            reason = proposal.reason.copy()
            shaped = reason.reshape(-1)
            shaped[at] &= ~np.uint32(Reason.GENERATE_NOT_NEEDED)
            shaped[at] |= np.uint32(Reason.SELL_LIMITED)
            proposal = replace(proposal, reason=reason)
    status = proposal.status.copy()
    status[limited] = np.maximum(status[limited], np.int8(Status.PART_SUCCESS))
    out = replace(proposal, status=status)
    if ruled.hold.any():
        h = ruled.hold
        quantity = proposal.quantity.copy()
        order_value = proposal.order_value.copy()
        trade_value = proposal.trade_value.copy()
        cash_after = proposal.cash_after.copy()
        weight_after = proposal.weight_after.copy()
        reason = proposal.reason.copy()
        message = proposal.message.copy()
        quantity[h] = order_value[h] = trade_value[h] = 0.0
        cash_after[h] = cash_after[h] + proposal.order_value[h].sum(axis=1)
        weight_after[h] = proposal.weight_before[h]
        reason[h] = np.uint32(Reason.TRADE_HOLD)
        status[h] = np.int8(Status.FAILED)
        message[h] = np.int8(Message.TRADE_HOLD)
        out = replace(
            out,
            quantity=quantity,
            order_value=order_value,
            trade_value=trade_value,
            cash_after=np.round(cash_after, 2),
            weight_after=weight_after,
            reason=reason,
            status=status,
            message=message,
        )
    return out, limited


def relieved(proposal: BatchProposal, ruled: RuledBatch, as_of: date) -> Relieved:
    """The lots every sale of ``proposal`` relieves, by the account's method, among the lots
    its locks leave sellable."""
    rules = ruled.rules
    price, method = ruled.batch.price, rules.method
    cache = rules.cache
    if cache is None:
        sold = np.maximum(-proposal.quantity, 0.0)
        return relieve_lots(rules.lots, ruled.lot_eligible, sold, price, method, as_of)
    slot = np.flatnonzero(proposal.quantity < 0)
    return relieve_sales(
        rules.lots,
        ruled.lot_eligible,
        slot,
        -proposal.quantity.ravel().take(slot),
        price,
        method,
        as_of,
        first_lot=cache.first_lot,
        first_offset=cache.lot_offset,
    )


def realise(proposal: BatchProposal, ruled: RuledBatch, as_of: date) -> dict[tuple[int, int], Sale]:
    """The lots relieved by every sale of a position with lots, by ``(account, slot)``.

    Lots are relieved by the account's method among the lots its locks leave sellable.
    """
    return sales_of(relieved(proposal, ruled, as_of), ruled)


def sales_of(done: Relieved, ruled: RuledBatch) -> dict[tuple[int, int], Sale]:
    """The relieved lots ``done`` as one :class:`Sale` per ``(account, slot)``, for reports."""
    lots = ruled.rules.lots
    out: dict[tuple[int, int], list[Relief]] = {}
    ids = lots.lot_id
    for i, q, gain, term in zip(
        done.index.tolist(),
        done.quantity.tolist(),
        done.gain.tolist(),
        done.long_term.tolist(),
        strict=True,
    ):  # in relief order
        r, k = int(lots.row[i]), int(lots.slot[i])
        basis = float(lots.basis[i])
        price = float(ruled.batch.price[r, k])
        out.setdefault((r, k), []).append(
            Relief(
                index=i,
                lot_id=None if ids is None else ids[i],
                acquired=date.fromordinal(int(lots.acquired[i])),
                quantity=q,
                cost_basis=None if np.isnan(basis) else basis * q / float(lots.quantity[i]),
                proceeds=q * price,
                gain=None if math.isnan(gain) else gain,
                long_term=term,
            )
        )
    sales: dict[tuple[int, int], Sale] = {}
    for key, reliefs in out.items():
        ordered = tuple(reliefs)
        short = sum(r.gain for r in ordered if r.gain is not None and not r.long_term)
        long = sum(r.gain for r in ordered if r.gain is not None and r.long_term)
        unknown = any(r.gain is None for r in ordered)
        sales[key] = Sale(ordered, float(short), float(long), unknown)
    return sales
