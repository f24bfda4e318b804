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

from trimtab.core.batch import AccountBatch, Fractions, Mask
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
    weight differs from ``weight_at_end`` (a fraction; ``None``: no change known yet).
    """

    symbol: int
    behaviour: Behaviour
    start: date
    replacement: Replacement = Replacement.HOLD_CASH
    substitute: int = -1
    end: date | None = None
    end_action: EndAction = EndAction.REBALANCE
    weight_at_end: float | None = None

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


@dataclass(frozen=True, slots=True)
class EquivalentGroup:
    """1 to 20 securities traded as one group weight, in force through ``end``."""

    members: tuple[int, ...]
    behaviours: tuple[MemberBehaviour, ...]
    end: date | None = None

    def active(self, as_of: date) -> bool:
        """In force on ``as_of`` (the end date itself included)."""
        return self.end is None or as_of <= self.end


@dataclass(frozen=True, slots=True)
class RestrictedAccount:
    """One account's arrays after its restrictions, (K,) each; weights are fractions."""

    target: Fractions
    lower: Fractions
    upper: Fractions
    in_model: Mask
    cash_target: float
    no_sell: Mask
    no_buy: Mask
    flags: Flags
    group_lead: Codes
    buy_rank: Ranks
    sell_rank: Ranks


def restrict_account(
    *,
    slot_symbol: Codes,
    weight: Fractions,
    target: Fractions,
    lower: Fractions,
    upper: Fractions,
    in_model: Mask,
    cash_target: float,
    exclusions: tuple[Exclusion, ...],
    groups: tuple[EquivalentGroup, ...],
    as_of: date,
) -> RestrictedAccount:
    """Apply one account's restrictions on ``as_of`` to its slot arrays (K,).

    ``weight`` is each slot's current weight (fraction of account value); ``target``,
    ``lower``, ``upper`` and ``cash_target`` are the model's, fractions.
    """
    slot_of = {int(c): k for k, c in enumerate(slot_symbol) if c >= 0}
    t, lo, hi = target.copy(), lower.copy(), upper.copy()
    im = in_model.copy()
    c = float(cash_target)
    k_slots = slot_symbol.shape[0]
    no_sell = np.zeros(k_slots, dtype=bool)
    no_buy = np.zeros(k_slots, dtype=bool)
    frozen = np.zeros(k_slots, dtype=bool)
    restricted = np.zeros(k_slots, dtype=bool)
    flags = np.zeros(k_slots, dtype=np.uint32)
    realloc = np.zeros(3)

    def flag(k: int, reason: RuleReason) -> None:
        flags[k] |= np.uint32(reason)

    for ex in exclusions:
        k = slot_of.get(ex.symbol)
        if k is None or not ex.active(as_of, float(t[k]) if in_model[k] else 0.0):
            continue
        restricted[k] = True
        no_buy[k] = True
        flag(k, RuleReason.EXCLUDED)
        t0, lo0, hi0 = float(t[k]), float(lo[k]), float(hi[k])
        if ex.behaviour == Behaviour.HOLD:
            w = float(weight[k])
            keep = (min(t0, w), min(lo0, w), min(hi0, w))
            frozen[k] = True
            no_sell[k] = True
            flag(k, RuleReason.EXCLUDED_HOLD)
        elif ex.behaviour == Behaviour.LIQUIDATE_NOW:
            keep = (0.0, 0.0, 0.0)
            im[k] = False
            flag(k, RuleReason.EXCLUDED_LIQUIDATE)
        else:
            kt = min(t0, float(weight[k]))
            shift = t0 - kt
            keep = (kt, max(lo0 - shift, 0.0), max(hi0 - shift, kt))
            flag(k, RuleReason.EXCLUDED_AS_NEEDED)
        t[k], lo[k], hi[k] = keep
        released = np.array([t0 - keep[0], lo0 - keep[1], hi0 - keep[2]])
        j = slot_of.get(ex.substitute, -1) if ex.substitute >= 0 else -1
        if j >= 0:
            t[j] += released[0]
            lo[j] += released[1]
            hi[j] += released[2]
            im[j] = True
            flag(k, RuleReason.SUBSTITUTED)
            flag(j, RuleReason.SUBSTITUTE)
        elif ex.replacement == Replacement.REALLOCATE and ex.substitute < 0:
            realloc += released
            flag(k, RuleReason.EXCLUDED_REALLOCATE)
        else:
            c += float(released[0])
            flag(k, RuleReason.EXCLUDED_HOLD_CASH)

    if realloc[0] > 0:
        takers = in_model & im & ~restricted & (t > 0)
        base = float(t[takers].sum())
        if base > 0:
            f = 1.0 + float(realloc[0]) / base
            t[takers] *= f
            lo[takers] *= f
            hi[takers] = np.minimum(hi[takers] * f, 1.0)
            flags[takers] |= np.uint32(RuleReason.REALLOCATED)
        else:
            c += float(realloc[0])

    if frozen.any():
        t[frozen] = lo[frozen] = hi[frozen] = weight[frozen]
        im[frozen] = True
        held = float(weight[frozen].sum())
        rest = ~frozen
        others = float(t[rest].sum()) + c
        if others > 0 and abs(held + others - 1.0) > WEIGHT_TOLERANCE:
            scale = max(1.0 - held, 0.0) / others
            t[rest] *= scale
            lo[rest] *= scale
            hi[rest] *= scale
            c *= scale

    lead = np.full(k_slots, -1, dtype=np.int32)
    buy_rank = np.zeros(k_slots)
    sell_rank = np.zeros(k_slots)
    for group in groups:
        if not group.active(as_of):
            continue
        members = [
            (slot_of[s], b)
            for s, b in zip(group.members, group.behaviours, strict=True)
            if s in slot_of
        ]
        if not members:
            continue
        first = min(k for k, _ in members)
        several = len(group.members) > 1
        for k, b in members:
            lead[k] = first
            if several:
                flag(k, RuleReason.EQUIVALENT)
            buy_rank[k] = 1.0 if in_model[k] else 2.0
            sell_rank[k] = 1.0 if in_model[k] else 0.0
            if b == MemberBehaviour.BUY_FIRST and several:
                buy_rank[k] = 0.0
                sell_rank[k] = 2.0
                flag(k, RuleReason.EQUIVALENT_BUY_FIRST)
            if b in (MemberBehaviour.DO_NOT_SELL, MemberBehaviour.DO_NOT_TRADE):
                no_sell[k] = True
                flag(k, RuleReason.EQUIVALENT_NO_SELL)
            if b in (MemberBehaviour.DO_NOT_BUY, MemberBehaviour.DO_NOT_TRADE):
                no_buy[k] = True
                flag(k, RuleReason.EQUIVALENT_NO_BUY)
    return RestrictedAccount(
        target=t,
        lower=lo,
        upper=hi,
        in_model=im,
        cash_target=c,
        no_sell=no_sell,
        no_buy=no_buy,
        flags=flags,
        group_lead=lead,
        buy_rank=buy_rank,
        sell_rank=sell_rank,
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
    member may. The other member slots become padding.
    """
    member = groups.lead >= 0
    if not member.any():
        return batch
    rows, cols = np.nonzero(member)
    leads = groups.lead[rows, cols]
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
    dollars = plan.dollars.copy()
    full = plan.full_sell.copy()
    reason = plan.reason.copy()
    sellable = batch.sell_limit * batch.price
    rows, cols = np.nonzero(member)
    pairs = {(int(r), int(g)) for r, g in zip(rows, groups.lead[rows, cols], strict=True)}
    for r, g in sorted(pairs):
        members = np.flatnonzero(groups.lead[r] == g)
        d = float(plan.dollars[r, g])
        whole = bool(plan.full_sell[r, g])
        dollars[r, members] = 0.0
        full[r, members] = False
        trades = abs(d) > HALF_CENT
        reason[r, members] = plan.reason[r, g] & (_KEEP if trades else _ALL)
        if d > HALF_CENT:
            can = members[batch.buy_allowed[r, members]]
            if can.size:
                pick = can[np.lexsort((can, groups.buy_rank[r, can]))[0]]
                dollars[r, pick] = d
                reason[r, pick] = plan.reason[r, g]
        elif d < -HALF_CENT:
            left = -d
            for m in members[np.lexsort((members, groups.sell_rank[r, members]))]:
                s = min(left, float(sellable[r, m]))
                if s <= 0:
                    continue
                dollars[r, m] = -s
                reason[r, m] = plan.reason[r, g]
                full[r, m] = whole or s >= sellable[r, m] - HALF_CENT
                left -= s
    return Plan(
        dollars=dollars,
        full_sell=full,
        reason=reason,
        status=plan.status,
        message=plan.message,
        round_sells_up=plan.round_sells_up,
    )
