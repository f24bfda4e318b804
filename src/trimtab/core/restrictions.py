"""Trade restrictions (seed 001) as transforms of one account's targets, and equivalents groups.

- An **exclusion** takes a security's target away: to cash (*hold cash*) or pro rata to the
  other model securities (*reallocate*, cash target unchanged). Its behaviour says what
  happens to the shares held: *hold* (neither bought nor sold: the position is frozen at its
  weight, the part of the target it does not fill is replaced, and when it is above target
  the other targets and cash shrink pro rata), *liquidate immediately* (sold in full),
  *liquidate as needed* (never bought; its target becomes the lesser of the model target and
  its weight, so it is sold only as the target requires).
- A **substitution** X -> Y is an exclusion of X whose target goes to Y.
- An **equivalents group** is traded as one security: :func:`collapse` merges the members
  into their lead slot before a logic runs, :func:`expand` shares the group's trade out to
  the members afterwards by preference, so one member is never sold to buy another.

All weights are fractions of account value, cash included; symbols are codes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from enum import IntEnum
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from trimtab.core.batch import AccountBatch, Fractions, Mask
from trimtab.core.logics import Plan
from trimtab.core.money import HALF_CENT
from trimtab.core.reasons import Reason, RuleReason

Codes = npt.NDArray[np.int32]
Flags = npt.NDArray[np.uint32]
Ranks = npt.NDArray[np.int8]
Index = npt.NDArray[np.intp]
G = TypeVar("G", bound=np.generic)

WEIGHT_TOLERANCE = 1e-9
"""Fractions closer than this count as the same model weight (end action "wait")."""


class Replacement(IntEnum):
    """Where an excluded security's target goes."""

    HOLD_CASH = 1
    REALLOCATE = 2


class Behaviour(IntEnum):
    """What happens to the shares of an excluded or substituted security."""

    HOLD = 1
    LIQUIDATE_NOW = 2
    LIQUIDATE_AS_NEEDED = 3


class EndAction(IntEnum):
    """What happens at the end date of an exclusion or substitution."""

    REBALANCE = 1
    WAIT_FOR_WEIGHT_CHANGE = 2


class MemberBehaviour(IntEnum):
    """Behaviour of one member of an equivalents group."""

    NONE = 0
    BUY_FIRST = 1
    DO_NOT_SELL = 2
    DO_NOT_BUY = 3
    DO_NOT_TRADE = 4


@dataclass(frozen=True, slots=True)
class Exclusion:
    """An exclusion of ``symbol``, or a substitution by ``substitute`` when that is >= 0.

    Active from ``start`` to the day before ``end``. After ``end``, with
    :attr:`EndAction.WAIT_FOR_WEIGHT_CHANGE`, it stays active until the security's model
    weight differs from ``weight_at_end`` (a fraction; ``None``: no change known yet). The
    weight is that of ``weight_symbol`` when >= 0 (an APM line follows its security's model
    line, so the restriction lapses on both together), else of ``symbol``.
    """

    symbol: int
    behaviour: Behaviour
    start: date
    replacement: Replacement = Replacement.HOLD_CASH
    substitute: int = -1
    end: date | None = None
    end_action: EndAction = EndAction.REBALANCE
    weight_at_end: float | None = None
    weight_symbol: int = -1

    def active(self, as_of: date, model_weight: float) -> bool:
        """In force on ``as_of`` given the security's current model weight (a fraction)."""
        if as_of < self.start:
            return False
        if self.end is None or as_of < self.end:
            return True
        if self.end_action == EndAction.REBALANCE:
            return False
        if self.weight_at_end is None:
            return True
        return abs(model_weight - self.weight_at_end) <= WEIGHT_TOLERANCE


def rebalance_due(exclusions: tuple[Exclusion, ...], since: date, until: date) -> bool:
    """Whether an exclusion or substitution ended with "rebalance immediately" after
    ``since`` and on or before ``until`` (a daily-evaluation trigger of the account)."""
    return any(
        ex.end is not None and ex.end_action == EndAction.REBALANCE and since < ex.end <= until
        for ex in exclusions
    )


@dataclass(frozen=True, slots=True)
class EquivalentGroup:
    """1 to 20 securities traded as one group weight, in force through ``end``."""

    members: tuple[int, ...]
    behaviours: tuple[MemberBehaviour, ...]
    end: date | None = None

    def active(self, as_of: date) -> bool:
        """In force on ``as_of`` (the end date itself included)."""
        return self.end is None or as_of <= self.end


Codes8 = npt.NDArray[np.int8]


@dataclass(frozen=True, slots=True)
class SlotRestrictions:
    """Restrictions in force, laid out on a batch's slots, (N, K) each.

    Attributes:
        behaviour: :class:`Behaviour` of an exclusion or substitution of the slot, 0 for none.
        replacement: :class:`Replacement` of an exclusion (ignored with a substitute).
        substitute: slot of the substitute of a substitution, -1 for none.
        lead: slot of the group lead of an equivalents member, -1 outside groups.
        member: :class:`MemberBehaviour` of an equivalents member.
        several: the member's group has two members or more.
        excluded, members: when :meth:`indexed`, the slots (``row * K + slot``, ascending)
            with an exclusion or substitution and those in an equivalents group; ``None``
            means they are found when needed. The arrays above must not change afterwards.
    """

    behaviour: Codes8
    replacement: Codes8
    substitute: Codes
    lead: Codes
    member: Codes8
    several: Mask
    excluded: Index | None = None
    members: Index | None = None

    @classmethod
    def none(cls, n: int, k: int) -> SlotRestrictions:
        """No restriction on any of ``n`` x ``k`` slots."""
        return cls(
            behaviour=np.zeros((n, k), dtype=np.int8),
            replacement=np.zeros((n, k), dtype=np.int8),
            substitute=np.full((n, k), -1, dtype=np.int32),
            lead=np.full((n, k), -1, dtype=np.int32),
            member=np.zeros((n, k), dtype=np.int8),
            several=np.zeros((n, k), dtype=bool),
        )

    def indexed(self) -> SlotRestrictions:
        """These restrictions with their ``excluded`` and ``members`` slots found once."""
        return replace(self, excluded=self.excluded_at(), members=self.members_at())

    def excluded_at(self) -> Index:
        """The slots with an exclusion or substitution in force, flat, ascending."""
        return np.flatnonzero(self.behaviour > 0) if self.excluded is None else self.excluded

    def members_at(self) -> Index:
        """The slots in an equivalents group, flat, ascending."""
        return np.flatnonzero(self.lead >= 0) if self.members is None else self.members

    def rows(self, start: int, stop: int) -> SlotRestrictions:
        """Accounts ``start:stop``."""
        k = self.behaviour.shape[1]

        def cut(at: Index | None) -> Index | None:
            if at is None:
                return None
            i, j = np.searchsorted(at, (start * k, stop * k))
            out: Index = at[i:j] - start * k
            return out

        return SlotRestrictions(
            behaviour=self.behaviour[start:stop],
            replacement=self.replacement[start:stop],
            substitute=self.substitute[start:stop],
            lead=self.lead[start:stop],
            member=self.member[start:stop],
            several=self.several[start:stop],
            excluded=cut(self.excluded),
            members=cut(self.members),
        )


@dataclass(frozen=True, slots=True)
class Restricted:
    """A batch's arrays after its restrictions: (N, K) per slot, (N,) per account.

    Weights are fractions of account value; ``groups`` is ``None`` without equivalents.
    """

    target: Fractions
    lower: Fractions
    upper: Fractions
    in_model: Mask
    cash_target: Fractions
    no_sell: Mask
    no_buy: Mask
    flags: Flags
    groups: GroupArrays | None


def set_flag(flags: Flags, where: Mask, reason: RuleReason) -> None:
    """Add ``reason`` to the flags of the slots ``where`` is true (in place)."""
    np.bitwise_or(flags, np.uint32(reason), out=flags, where=where)


def restrict_batch(
    *,
    weight: Fractions,
    target: Fractions,
    lower: Fractions,
    upper: Fractions,
    in_model: Mask,
    cash_target: Fractions,
    slots: SlotRestrictions,
    overwrite: bool = False,
) -> Restricted:
    """Apply the restrictions in force to a batch's targets, bands and cash targets.

    ``weight`` is each slot's current weight; all are fractions of account value, (N, K),
    and ``cash_target`` (N,). ``in_model`` marks the model lines (valid slots only). The work
    is done on the restricted slots, and row by row only on the accounts whose other targets
    are rescaled (reallocation, held positions); the inputs are returned as they are (not
    copied) when no slot is excluded or substituted. With ``overwrite`` the results are
    written into ``target``, ``lower`` and ``upper`` themselves (three distinct arrays the
    caller no longer needs) instead of copies.
    """
    n, k = target.shape
    no_sell = np.zeros((n, k), dtype=bool)
    no_buy = np.zeros((n, k), dtype=bool)
    flags = np.zeros((n, k), dtype=np.uint32)
    at = slots.excluded_at()
    t, lo, hi, im, cash = target, lower, upper, in_model, cash_target
    if at.size:
        t, lo, hi, im, cash = _exclude(
            weight, target, lower, upper, in_model, cash_target, slots, at, flags, overwrite
        )
        _flat(no_buy)[at] = True
        _flat(no_sell)[at[slots.behaviour.ravel()[at] == Behaviour.HOLD.value]] = True
    groups = _equivalents(in_model, slots, no_sell, no_buy, flags)
    return Restricted(
        target=t,
        lower=lo,
        upper=hi,
        in_model=im,
        cash_target=cash,
        no_sell=no_sell,
        no_buy=no_buy,
        flags=flags,
        groups=groups,
    )


# Sparse slots are addressed by flat index ``row * K + slot`` (``np.flatnonzero`` of an (N, K)
# mask): several times faster than (rows, slots) pairs. Values are read with ``a.ravel()[at]``
# and written through ``_flat(a)``, a view (never a copy) of an array made here.


def _flat(a: npt.NDArray[G]) -> npt.NDArray[G]:
    """``a`` as a one-dimensional view: writes through it land in ``a`` (raises if ``a`` is not
    C-contiguous)."""
    return a.reshape(-1, copy=False)


def _row_sums(shape: tuple[int, int], at: Index, values: Fractions) -> Fractions:
    """Per-account sums, (N,), of ``values`` at the (distinct) flat slots ``at``.

    Bit for bit the row sums of the dense (N, K) array holding ``values`` there and zeros
    elsewhere: two terms or fewer add up the same in any order, so ``np.bincount`` sums those
    accounts; the accounts with more are summed densely, in numpy's own (pairwise) order.
    """
    n, k = shape
    rows = at // k
    out = np.bincount(rows, weights=values, minlength=n).astype(np.float64, copy=False)
    count = np.bincount(rows, minlength=n)
    many = count[rows] > 2
    if many.any():
        accounts = np.flatnonzero(count > 2)
        dense = np.zeros((accounts.size, k))
        dense[np.searchsorted(accounts, rows[many]), at[many] % k] = values[many]
        out[accounts] = dense.sum(axis=1)
    return out


def _exclude(
    weight: Fractions,
    target: Fractions,
    lower: Fractions,
    upper: Fractions,
    in_model: Mask,
    cash_target: Fractions,
    slots: SlotRestrictions,
    at: Index,
    flags: Flags,
    overwrite: bool,
) -> tuple[Fractions, Fractions, Fractions, Mask, Fractions]:
    """Targets, bands, model lines and cash targets after the exclusions and substitutions
    of the flat slots ``at``; adds their reasons to ``flags`` (in place). With ``overwrite``
    the targets and bands are changed in place."""
    n, k = target.shape
    rows = at // k
    beh = slots.behaviour.ravel()[at]
    # ``.value``: numpy compares plain ints several times faster than IntEnum members.
    hold = beh == Behaviour.HOLD.value
    now = beh == Behaviour.LIQUIDATE_NOW.value
    need = beh == Behaviour.LIQUIDATE_AS_NEEDED.value
    w, tg, low, up = (a.ravel()[at] for a in (weight, target, lower, upper))
    # The restricted slots' own target and band.
    kt = np.where(now, 0.0, np.minimum(tg, w))
    shift = tg - kt
    klo = np.where(
        hold,
        np.minimum(low, w),
        np.where(now, 0.0, np.where(need, np.maximum(low - shift, 0.0), low)),
    )
    khi = np.where(
        hold,
        np.minimum(up, w),
        np.where(now, 0.0, np.where(need, np.maximum(up - shift, kt), up)),
    )
    released = (tg - kt, low - klo, up - khi)
    t, lo, hi = target, lower, upper
    if not overwrite:
        t, lo, hi = target.copy(), lower.copy(), upper.copy()
    im = in_model.copy()  # the given model lines are read below
    flat_t, flat_lo, flat_hi, flat_im = _flat(t), _flat(lo), _flat(hi), _flat(im)
    flat_t[at], flat_lo[at], flat_hi[at] = kt, klo, khi
    flat_im[at[now]] = False

    # A substitute receives what its restricted slot released (in slot order).
    sub = slots.substitute.ravel()[at]
    has_sub = sub >= 0
    if has_sub.any():
        to = rows[has_sub] * k + sub[has_sub]
        for arr, rel in zip((flat_t, flat_lo, flat_hi), released, strict=True):
            np.add.at(arr, to, rel[has_sub])
        flat_im[to] = True
        _flat(flags)[to] |= np.uint32(RuleReason.SUBSTITUTE)
    spread = ~has_sub & (slots.replacement.ravel()[at] == Replacement.REALLOCATE.value)
    to_cash = ~has_sub & ~spread
    reasons = np.full(at.size, RuleReason.EXCLUDED, dtype=np.uint32)
    for where, reason in (
        (hold, RuleReason.EXCLUDED_HOLD),
        (now, RuleReason.EXCLUDED_LIQUIDATE),
        (need, RuleReason.EXCLUDED_AS_NEEDED),
        (has_sub, RuleReason.SUBSTITUTED),
        (spread, RuleReason.EXCLUDED_REALLOCATE),
        (to_cash, RuleReason.EXCLUDED_HOLD_CASH),
    ):
        set_flag(reasons, where, reason)
    _flat(flags)[at] |= reasons

    # Released targets go to cash, or pro rata to the account's other model lines.
    cash = cash_target + _row_sums((n, k), at[to_cash], released[0][to_cash])
    amount = _row_sums((n, k), at[spread], released[0][spread])
    acc = np.flatnonzero(amount > 0)
    if acc.size:
        ta = t[acc]
        takers = in_model[acc] & im[acc] & (slots.behaviour[acc] <= 0) & (ta > 0)
        base = (ta * takers).sum(axis=1)
        share = base > 0
        f = np.where(share, 1.0 + amount[acc] / np.where(share, base, 1.0), 1.0)[:, None]
        scaled = takers & share[:, None]
        t[acc] = np.where(scaled, ta * f, ta)
        lo[acc] = np.where(scaled, lo[acc] * f, lo[acc])
        hi[acc] = np.where(scaled, np.minimum(hi[acc] * f, 1.0), hi[acc])
        flags[acc] |= scaled * np.uint32(RuleReason.REALLOCATED)
        cash[acc[~share]] += amount[acc[~share]]

    # Held positions are frozen at their weight; the rest of the account is rescaled to fit.
    if hold.any():
        held_at, wh = at[hold], w[hold]
        flat_t[held_at], flat_lo[held_at], flat_hi[held_at] = wh, wh, wh
        flat_im[held_at] = True
        held = _row_sums((n, k), held_at, wh)
        acc = np.flatnonzero(np.bincount(held_at // k, minlength=n))
        ta = t[acc]
        rest = slots.behaviour[acc] != Behaviour.HOLD.value
        others = (ta * rest).sum(axis=1) + cash[acc]
        h = held[acc]
        fix = (others > 0) & (np.abs(h + others - 1.0) > WEIGHT_TOLERANCE)
        g = np.where(fix, np.maximum(1.0 - h, 0.0) / np.where(others > 0, others, 1.0), 1.0)
        acc, g, rest = acc[fix], g[fix, None], rest[fix]
        t[acc] = np.where(rest, t[acc] * g, t[acc])
        lo[acc] = np.where(rest, lo[acc] * g, lo[acc])
        hi[acc] = np.where(rest, hi[acc] * g, hi[acc])
        cash[acc] = cash[acc] * g[:, 0]
    return t, lo, hi, im, cash


def _equivalents(
    in_model: Mask, slots: SlotRestrictions, no_sell: Mask, no_buy: Mask, flags: Flags
) -> GroupArrays | None:
    """The equivalents groups' ranks (set on member slots only, 0 elsewhere); marks the
    members' trade limits in ``no_sell``, ``no_buy`` and their reasons in ``flags`` (in place)."""
    at = slots.members_at()
    if at.size == 0:
        return None
    behaviour = slots.member.ravel()[at]
    several = slots.several.ravel()[at]
    first = several & (behaviour == MemberBehaviour.BUY_FIRST.value)
    model = in_model.ravel()[at]
    untraded = behaviour == MemberBehaviour.DO_NOT_TRADE.value
    keep = untraded | (behaviour == MemberBehaviour.DO_NOT_SELL.value)
    stay = untraded | (behaviour == MemberBehaviour.DO_NOT_BUY.value)
    _flat(no_sell)[at[keep]] = True
    _flat(no_buy)[at[stay]] = True
    reasons = np.zeros(at.size, dtype=np.uint32)
    for where, reason in (
        (several, RuleReason.EQUIVALENT),
        (first, RuleReason.EQUIVALENT_BUY_FIRST),
        (keep, RuleReason.EQUIVALENT_NO_SELL),
        (stay, RuleReason.EQUIVALENT_NO_BUY),
    ):
        set_flag(reasons, where, reason)
    _flat(flags)[at] |= reasons
    buy_rank = np.zeros(slots.lead.shape, dtype=np.int8)
    sell_rank = np.zeros(slots.lead.shape, dtype=np.int8)
    _flat(buy_rank)[at] = np.where(first, 0, np.where(model, 1, 2))
    _flat(sell_rank)[at] = np.where(first, 2, np.where(model, 1, 0))
    return GroupArrays(slots.lead, buy_rank, sell_rank, at)


@dataclass(frozen=True, slots=True)
class GroupArrays:
    """Equivalents groups of a batch, (N, K) each.

    Attributes:
        lead: slot index of the member's group lead, -1 outside any group.
        buy_rank: lower is bought first (buy first 0, in the model 1, outside it 2).
        sell_rank: lower is sold first (outside the model 0, in it 1, buy first 2).
        members: the member slots, flat (``row * K + slot``), ascending.
    """

    lead: Codes
    buy_rank: Ranks
    sell_rank: Ranks
    members: Index

    def take(self, accounts: npt.NDArray[np.intp]) -> GroupArrays:
        """The groups of the accounts at the indices ``accounts``."""
        lead = self.lead[accounts]
        return GroupArrays(
            lead=lead,
            buy_rank=self.buy_rank[accounts],
            sell_rank=self.sell_rank[accounts],
            members=np.flatnonzero(lead >= 0),
        )


Patch = tuple[str, Index, npt.NDArray[np.generic]]
"""A change to one field of a batch: its flat slots and their new values."""


def collapse(batch: AccountBatch, groups: GroupArrays) -> AccountBatch:
    """The batch with each group merged into its lead slot, priced at $1 per dollar held.

    The lead slot holds the group's market value as quantity, its summed targets and
    bands, and as sell limit the dollars the members may sell; it may be bought when any
    member may. The other member slots become padding. Accounts without groups are kept;
    on those with groups only valid slots stay model lines or buyable. The fields changed
    are copies; see :func:`collapsed` for a collapse without copies.
    """
    patches = _collapse_patches(batch, groups)
    copies: dict[str, Any] = {}
    for name, at, values in patches:
        if name not in copies:
            copies[name] = getattr(batch, name).copy()
        _flat(copies[name])[at] = values
    return replace(batch, **copies) if copies else batch


@contextmanager
def collapsed(batch: AccountBatch, groups: GroupArrays) -> Iterator[AccountBatch]:
    """:func:`collapse` for the length of a ``with`` block, without copying the batch.

    The batch's own arrays are changed at the group members' slots (and at invalid slots
    of their accounts) and put back when the block ends, however it ends. Where an array
    is read-only or not C-contiguous a collapsed copy is made instead. Nothing else may
    read the batch meanwhile (another thread, say).
    """
    patches = _collapse_patches(batch, groups)
    arrays = [getattr(batch, name) for name, _, _ in patches]
    if not all(a.flags.writeable and a.flags.c_contiguous for a in arrays):
        yield collapse(batch, groups)
        return
    saved = []
    try:
        for a, (_, at, values) in zip(arrays, patches, strict=True):
            # Saved patch by patch: fields sharing one array are put back in reverse.
            saved.append((a, at, _flat(a)[at]))
            _flat(a)[at] = values
        yield batch
    finally:
        for a, at, old in reversed(saved):
            _flat(a)[at] = old


def _collapse_patches(batch: AccountBatch, groups: GroupArrays) -> list[Patch]:
    """The changes :func:`collapse` makes, each worked out from the batch as given."""
    at = groups.members
    if at.size == 0:
        return []
    n, k = groups.lead.shape
    rows = at // k
    to = rows * k + groups.lead.ravel()[at]
    lead = np.searchsorted(at, to)  # each member's lead, as a place in ``at``
    grouped = np.flatnonzero(np.bincount(rows, minlength=n))
    valid = batch.valid

    def summed(name: str, scale: Fractions | None = None) -> Patch:
        """Members' values (times ``scale``) added into their lead slot, in slot order."""
        into = getattr(batch, name).ravel()[at]
        if scale is not None:
            into = into * scale.ravel()[at]
        out = np.zeros(at.size)
        np.add.at(out, lead, into)
        return name, at, out

    def anyof(name: str) -> list[Patch]:
        """Valid values only in the grouped accounts; a lead set when any valid member is."""
        values = getattr(batch, name)
        some = values.ravel()[at] & valid.ravel()[at]
        invalid = np.flatnonzero(values[grouped] & ~valid[grouped])
        off = grouped[invalid // k] * k + invalid % k
        set_lead = np.zeros(at.size, dtype=bool)
        set_lead[lead[some]] = True
        return [(name, off, np.zeros(off.size, dtype=bool)), (name, at, set_lead)]

    valid_after = np.zeros(at.size, dtype=bool)
    valid_after[lead] = True
    return [
        ("price", at, np.ones(at.size)),
        summed("quantity", batch.price),
        summed("target"),
        summed("lower"),
        summed("upper"),
        *anyof("in_model"),
        ("valid", at, valid_after),
        summed("sell_limit", batch.price),
        *anyof("buy_allowed"),
    ]


_KEEP = np.uint32(Reason.SELL_LIMITED | Reason.BUY_BLOCKED)
_ALL = np.uint32(0xFFFFFFFF)


def expand(plan: Plan, batch: AccountBatch, groups: GroupArrays) -> Plan:
    """Share each group's planned dollars out to its members (``batch`` is the uncollapsed one).

    A buy goes to the first member that may be bought (by ``buy_rank``, then slot); a sale
    comes from members by ``sell_rank``, each up to what it may sell. Members that trade
    carry the group line's reasons; when the group trades, the others keep only the rule
    reasons (sale limited, buy blocked). The plan's arrays are reused: ``plan`` is changed
    in place (unless an array is not C-contiguous) and must not be used afterwards.
    """
    at = groups.members
    if at.size == 0:
        return plan
    k = groups.lead.shape[1]
    # The group line of each member, as a flat slot: it also identifies the group.
    gid = at // k * k + groups.lead.ravel()[at]
    dollars = np.ascontiguousarray(plan.dollars)
    full = np.ascontiguousarray(plan.full_sell)
    reason = np.ascontiguousarray(plan.reason)
    flat_dollars, flat_full, flat_reason = _flat(dollars), _flat(full), _flat(reason)
    d = flat_dollars[gid]
    whole = flat_full[gid]
    why = flat_reason[gid]
    trades = np.abs(d) > HALF_CENT
    flat_dollars[at] = 0.0
    flat_full[at] = False
    flat_reason[at] = why & np.where(trades, _KEEP, _ALL)

    # Within a group (one account), slot order is flat order: ``at`` breaks rank ties.
    buys = np.flatnonzero((d > HALF_CENT) & batch.buy_allowed.ravel()[at])
    if buys.size:
        order = buys[np.lexsort((at[buys], groups.buy_rank.ravel()[at[buys]], gid[buys]))]
        first = order[np.r_[True, gid[order][1:] != gid[order][:-1]]]
        flat_dollars[at[first]] = d[first]
        flat_reason[at[first]] = why[first]

    sells = np.flatnonzero(d < -HALF_CENT)
    if sells.size:
        order = sells[np.lexsort((at[sells], groups.sell_rank.ravel()[at[sells]], gid[sells]))]
        slot = at[order]
        cap = batch.sell_limit.ravel()[slot] * batch.price.ravel()[slot]
        g = gid[order]
        cum = np.cumsum(cap)
        starts = np.r_[True, g[1:] != g[:-1]]
        base = np.maximum.accumulate(np.where(starts, cum - cap, 0.0))
        take = np.clip(-d[order] - (cum - cap - base), 0.0, cap)
        sold = take > 0
        slot, take, cap = slot[sold], take[sold], cap[sold]
        flat_dollars[slot] = -take
        flat_full[slot] = whole[order][sold] | (take >= cap - HALF_CENT)
        flat_reason[slot] = why[order][sold]
    return Plan(
        dollars=dollars,
        full_sell=full,
        reason=reason,
        status=plan.status,
        message=plan.message,
        round_sells_up=plan.round_sells_up,
    )
