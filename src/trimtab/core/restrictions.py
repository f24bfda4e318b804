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

from dataclasses import dataclass, replace
from datetime import date
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from trimtab.core.batch import BATCH_FIELDS, AccountBatch, Fractions, Mask
from trimtab.core.logics import Plan
from trimtab.core.money import HALF_CENT
from trimtab.core.reasons import Reason, RuleReason

Codes = npt.NDArray[np.int32]
Flags = npt.NDArray[np.uint32]
Ranks = npt.NDArray[np.float64]

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
    """

    behaviour: Codes8
    replacement: Codes8
    substitute: Codes
    lead: Codes
    member: Codes8
    several: Mask

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

    def rows(self, start: int, stop: int) -> SlotRestrictions:
        """Accounts ``start:stop``."""
        return SlotRestrictions(*(getattr(self, f)[start:stop] for f in self.__dataclass_fields__))


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
) -> Restricted:
    """Apply the restrictions in force to a batch's targets, bands and cash targets.

    ``weight`` is each slot's current weight; all are fractions of account value, (N, K),
    and ``cash_target`` (N,). ``in_model`` marks the model lines (valid slots only). Only
    the accounts with restrictions are computed.
    """
    rows = np.flatnonzero(((slots.behaviour > 0) | (slots.lead >= 0)).any(axis=1))
    n, k = target.shape
    if rows.size == n:
        return _restrict(weight, target, lower, upper, in_model, cash_target, slots)
    if rows.size == 0:
        return Restricted(
            target=target,
            lower=lower,
            upper=upper,
            in_model=in_model,
            cash_target=cash_target,
            no_sell=np.zeros((n, k), dtype=bool),
            no_buy=np.zeros((n, k), dtype=bool),
            flags=np.zeros((n, k), dtype=np.uint32),
            groups=None,
        )
    some = _restrict(
        weight[rows],
        target[rows],
        lower[rows],
        upper[rows],
        in_model[rows],
        cash_target[rows],
        SlotRestrictions(*(getattr(slots, f)[rows] for f in slots.__dataclass_fields__)),
    )
    t, lo, hi, im, cash = (
        target.copy(),
        lower.copy(),
        upper.copy(),
        in_model.copy(),
        cash_target.copy(),
    )
    t[rows], lo[rows], hi[rows] = some.target, some.lower, some.upper
    im[rows], cash[rows] = some.in_model, some.cash_target
    no_sell = np.zeros((n, k), dtype=bool)
    no_buy = np.zeros((n, k), dtype=bool)
    flags = np.zeros((n, k), dtype=np.uint32)
    no_sell[rows], no_buy[rows], flags[rows] = some.no_sell, some.no_buy, some.flags
    groups = None
    if some.groups is not None:
        buy_rank = np.zeros((n, k))
        sell_rank = np.zeros((n, k))
        buy_rank[rows], sell_rank[rows] = some.groups.buy_rank, some.groups.sell_rank
        groups = GroupArrays(slots.lead, buy_rank, sell_rank)
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


def _restrict(
    weight: Fractions,
    target: Fractions,
    lower: Fractions,
    upper: Fractions,
    in_model: Mask,
    cash_target: Fractions,
    slots: SlotRestrictions,
) -> Restricted:
    flags = np.zeros(target.shape, dtype=np.uint32)
    beh = slots.behaviour
    restricted = beh > 0
    hold = beh == Behaviour.HOLD
    now = beh == Behaviour.LIQUIDATE_NOW
    need = beh == Behaviour.LIQUIDATE_AS_NEEDED
    kt = np.where(restricted, np.where(now, 0.0, np.minimum(target, weight)), target)
    shift = target - kt
    klo = np.where(
        hold,
        np.minimum(lower, weight),
        np.where(now, 0.0, np.where(need, np.maximum(lower - shift, 0.0), lower)),
    )
    khi = np.where(
        hold,
        np.minimum(upper, weight),
        np.where(now, 0.0, np.where(need, np.maximum(upper - shift, kt), upper)),
    )
    released = [(target - kt) * restricted, (lower - klo) * restricted, (upper - khi) * restricted]
    t, lo, hi = kt, klo, khi
    im = in_model & ~now
    for where, reason in (
        (restricted, RuleReason.EXCLUDED),
        (hold, RuleReason.EXCLUDED_HOLD),
        (now, RuleReason.EXCLUDED_LIQUIDATE),
        (need, RuleReason.EXCLUDED_AS_NEEDED),
    ):
        set_flag(flags, where, reason)

    has_sub = restricted & (slots.substitute >= 0)
    if has_sub.any():
        rows, cols = np.nonzero(has_sub)
        to = (rows, slots.substitute[rows, cols])
        for arr, rel in zip((t, lo, hi), released, strict=True):
            np.add.at(arr, to, rel[rows, cols])
        im[to] = True
        set_flag(flags, has_sub, RuleReason.SUBSTITUTED)
        flags[to] |= np.uint32(RuleReason.SUBSTITUTE)
    spread = restricted & ~has_sub & (slots.replacement == Replacement.REALLOCATE)
    to_cash = restricted & ~has_sub & ~spread
    set_flag(flags, spread, RuleReason.EXCLUDED_REALLOCATE)
    set_flag(flags, to_cash, RuleReason.EXCLUDED_HOLD_CASH)
    cash = cash_target + (released[0] * to_cash).sum(axis=1)
    amount = (released[0] * spread).sum(axis=1)
    takers = in_model & im & ~restricted & (t > 0)
    base = (t * takers).sum(axis=1)
    share = (amount > 0) & (base > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(share, 1.0 + amount / np.where(base > 0, base, 1.0), 1.0)[:, None]
    scaled = takers & share[:, None]
    t = np.where(scaled, t * f, t)
    lo = np.where(scaled, lo * f, lo)
    hi = np.where(scaled, np.minimum(hi * f, 1.0), hi)
    set_flag(flags, scaled, RuleReason.REALLOCATED)
    cash = cash + np.where((amount > 0) & ~share, amount, 0.0)

    if hold.any():
        t = np.where(hold, weight, t)
        lo = np.where(hold, weight, lo)
        hi = np.where(hold, weight, hi)
        im = im | hold
        held = (weight * hold).sum(axis=1)
        others = (t * ~hold).sum(axis=1) + cash
        fix = hold.any(axis=1) & (others > 0) & (np.abs(held + others - 1.0) > WEIGHT_TOLERANCE)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(fix, np.maximum(1.0 - held, 0.0) / np.where(others > 0, others, 1.0), 1.0)
        rest = ~hold
        t = np.where(rest, t * g[:, None], t)
        lo = np.where(rest, lo * g[:, None], lo)
        hi = np.where(rest, hi * g[:, None], hi)
        cash = cash * g

    no_sell = hold.copy()
    no_buy = restricted.copy()
    member = slots.lead >= 0
    groups = None
    if member.any():
        several = member & slots.several
        first = several & (slots.member == MemberBehaviour.BUY_FIRST)
        buy_rank = np.where(first, 0.0, np.where(in_model, 1.0, 2.0))
        sell_rank = np.where(first, 2.0, np.where(in_model, 1.0, 0.0))
        keep = member & np.isin(
            slots.member, (MemberBehaviour.DO_NOT_SELL, MemberBehaviour.DO_NOT_TRADE)
        )
        stay = member & np.isin(
            slots.member, (MemberBehaviour.DO_NOT_BUY, MemberBehaviour.DO_NOT_TRADE)
        )
        no_sell |= keep
        no_buy |= stay
        set_flag(flags, several, RuleReason.EQUIVALENT)
        set_flag(flags, first, RuleReason.EQUIVALENT_BUY_FIRST)
        set_flag(flags, keep, RuleReason.EQUIVALENT_NO_SELL)
        set_flag(flags, stay, RuleReason.EQUIVALENT_NO_BUY)
        groups = GroupArrays(slots.lead, buy_rank, sell_rank)
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


@dataclass(frozen=True, slots=True)
class GroupArrays:
    """Equivalents groups of a batch, (N, K) each.

    Attributes:
        lead: slot index of the member's group lead, -1 outside any group.
        buy_rank: lower is bought first (buy first 0, in the model 1, outside it 2).
        sell_rank: lower is sold first (outside the model 0, in it 1, buy first 2).
    """

    lead: Codes
    buy_rank: Ranks
    sell_rank: Ranks


def collapse(batch: AccountBatch, groups: GroupArrays) -> AccountBatch:
    """The batch with each group merged into its lead slot, priced at $1 per dollar held.

    The lead slot holds the group's market value as quantity, its summed targets and
    bands, and as sell limit the dollars the members may sell; it may be bought when any
    member may. The other member slots become padding. Accounts without groups are kept.
    """
    member = groups.lead >= 0
    some = np.flatnonzero(member.any(axis=1))
    if some.size == 0:
        return batch
    sub = AccountBatch(*(getattr(batch, f)[some] for f in BATCH_FIELDS))
    merged = _collapse_rows(sub, groups.lead[some])
    out = {}
    for f in BATCH_FIELDS:
        full = getattr(batch, f)
        if full.ndim == 2:
            full = full.copy()
            full[some] = getattr(merged, f)
        out[f] = full
    return AccountBatch(**out)


def _collapse_rows(batch: AccountBatch, lead: Codes) -> AccountBatch:
    member = lead >= 0
    rows, cols = np.nonzero(member)
    leads = lead[rows, cols]
    at = (rows, leads)

    def summed(values: Fractions, scale: Fractions | None = None) -> Fractions:
        """Members' ``values`` (times ``scale``) added into their lead slot."""
        into = values if scale is None else values * scale
        out = np.where(member, 0.0, values)
        np.add.at(out, at, into[rows, cols])
        return out

    def anyof(values: Mask) -> Mask:
        count = np.where(member, 0, values.astype(np.int32))
        np.add.at(count, at, values[rows, cols].astype(np.int32))
        out: Mask = count > 0
        return out

    price = batch.price.copy()
    price[member] = 1.0
    valid = batch.valid & ~member
    valid[at] = True
    return replace(
        batch,
        price=price,
        quantity=summed(batch.quantity, batch.price),
        target=summed(batch.target),
        lower=summed(batch.lower),
        upper=summed(batch.upper),
        in_model=anyof(batch.in_model & batch.valid) & valid,
        valid=valid,
        sell_limit=summed(batch.sell_limit, batch.price),
        buy_allowed=anyof(batch.buy_allowed & batch.valid) & valid,
    )


_KEEP = np.uint32(Reason.SELL_LIMITED | Reason.BUY_BLOCKED)
_ALL = np.uint32(0xFFFFFFFF)


def expand(plan: Plan, batch: AccountBatch, groups: GroupArrays) -> Plan:
    """Share each group's planned dollars out to its members (``batch`` is the uncollapsed one).

    A buy goes to the first member that may be bought (by ``buy_rank``, then slot); a sale
    comes from members by ``sell_rank``, each up to what it may sell. Members that trade
    carry the group line's reasons; when the group trades, the others keep only the rule
    reasons (sale limited, buy blocked).
    """
    member = groups.lead >= 0
    if not member.any():
        return plan
    k = member.shape[1]
    rows, cols = np.nonzero(member)
    lead = groups.lead[rows, cols]
    gid = rows.astype(np.int64) * k + lead
    d = plan.dollars[rows, lead]
    whole = plan.full_sell[rows, lead]
    why = plan.reason[rows, lead]
    dollars = plan.dollars.copy()
    full = plan.full_sell.copy()
    reason = plan.reason.copy()
    trades = np.abs(d) > HALF_CENT
    dollars[rows, cols] = 0.0
    full[rows, cols] = False
    reason[rows, cols] = why & np.where(trades, _KEEP, _ALL)

    buys = np.flatnonzero((d > HALF_CENT) & batch.buy_allowed[rows, cols])
    if buys.size:
        order = buys[np.lexsort((cols[buys], groups.buy_rank[rows[buys], cols[buys]], gid[buys]))]
        first = order[np.r_[True, gid[order][1:] != gid[order][:-1]]]
        dollars[rows[first], cols[first]] = d[first]
        reason[rows[first], cols[first]] = why[first]

    sells = np.flatnonzero(d < -HALF_CENT)
    if sells.size:
        order = sells[
            np.lexsort((cols[sells], groups.sell_rank[rows[sells], cols[sells]], gid[sells]))
        ]
        r, c = rows[order], cols[order]
        cap = batch.sell_limit[r, c] * batch.price[r, c]
        g = gid[order]
        cum = np.cumsum(cap)
        starts = np.r_[True, g[1:] != g[:-1]]
        base = np.maximum.accumulate(np.where(starts, cum - cap, 0.0))
        take = np.clip(-d[order] - (cum - cap - base), 0.0, cap)
        sold = take > 0
        r, c, take, cap = r[sold], c[sold], take[sold], cap[sold]
        dollars[r, c] = -take
        full[r, c] = whole[order][sold] | (take >= cap - HALF_CENT)
        reason[r, c] = why[order][sold]
    return Plan(
        dollars=dollars,
        full_sell=full,
        reason=reason,
        status=plan.status,
        message=plan.message,
        round_sells_up=plan.round_sells_up,
    )
