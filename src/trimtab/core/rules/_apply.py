"""Rules applied to a batch: :func:`apply_slot_rules` (and :func:`apply_rules`, from
per-account rules) give the batch as the logics must see it, a :class:`RuledBatch` with
adjusted targets, ``sell_limit`` (shares) and ``buy_allowed``, the equivalents groups and a
:class:`RuleReason` flag per slot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from trimtab.core.batch import AccountBatch, Dollars, Fractions, Mask, Shares
from trimtab.core.lots import lot_positions
from trimtab.core.reasons import RuleReason
from trimtab.core.restrictions import Behaviour, GroupArrays, Restricted, restrict_batch, set_flag
from trimtab.core.rules._account import AccountRules, slot_rules
from trimtab.core.rules._slots import Flags, LotCache, SlotRules, _lot_rules, _slot_flags

Index = npt.NDArray[np.intp]


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


def protected_share(
    batch: AccountBatch, protected: Shares
) -> tuple[Fractions, Shares, Fractions, Fractions]:
    """Of ``protected`` shares per slot (N, K): the weights of every slot (fractions of
    account value, cash included), the protected shares held (at most the position), their
    weights (N, K), and the unprotected share of each account ``1 - P`` (N,)."""
    weight, scale = _weights(batch, slice(None))
    kept = np.minimum(protected, batch.quantity)
    share = kept * batch.price * scale[:, None]
    return weight, kept, share, 1.0 - share.sum(axis=1)


_T = TypeVar("_T", AccountBatch, Restricted)


def keep_protected(targets: _T, share: Fractions, rest: Fractions) -> _T:
    """``targets`` (a batch) with protected shares kept at their weight ``share`` (N, K):
    every target, band and the cash target scaled by the unprotected share ``rest`` (N,),
    the protected weight added (docs/rules.md, "Weights")."""
    r = rest[:, None]
    return replace(
        targets,
        target=targets.target * r + share,
        lower=targets.lower * r + share,
        upper=targets.upper * r + share,
        cash_target=targets.cash_target * rest,
    )


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
        weight, kept, share, rest = protected_share(batch, rules.protected)
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
        res = replace(keep_protected(res, share, rest), in_model=res.in_model | (kept > 0))
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
