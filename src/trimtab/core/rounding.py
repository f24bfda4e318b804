"""From dollar plans to share quantities, order values and cash, the same for every logic.

Rules (product brief): quantities round toward zero to the share unit (generate-cash sells
round up, never past the position); full sales (a sale of everything that may be sold)
sell exactly what may be sold, a fractional holding's fraction included; order
values round to the cent; a proposal never overdraws cash: buys are trimmed one unit at a
time, starting with the security whose weight after the trade is farthest above its target
(see :func:`_trim_overdraft` for the exact order).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trimtab.core.batch import AccountBatch, Dollars, Mask, Shares
from trimtab.core.logics import Plan
from trimtab.core.min_trade import enforce_min_trade
from trimtab.core.money import HALF_CENT, cents, shares_down, shares_up
from trimtab.core.reasons import Reason

TIE_DECIMALS = 6
"""Buys whose excess over target differs by less than a micro-dollar are tied (first slot
first), so that floating-point noise does not decide which buy is trimmed."""

Ints = npt.NDArray[np.int64]

OVERDRAFT_TOLERANCE = 1e-6
"""Cash above minus this many dollars is not an overdraft (cents are exact to ~1e-9)."""


@dataclass(frozen=True, slots=True)
class Rounded:
    """Signed shares (+ buy, − sell), signed cent order values and cash after, per account."""

    quantity: Shares
    order_value: Dollars
    cash_after: Dollars


def round_plan(batch: AccountBatch, plan: Plan, *, unit: float, min_trade_value: float) -> Rounded:
    """Shares for each planned dollar amount; updates ``plan.reason`` with rounding reasons."""
    dollars = plan.dollars
    price = batch.price
    buying = dollars > HALF_CENT
    # a full sale sells what is held however little it is worth
    selling = (dollars < -HALF_CENT) | (plan.full_sell & (dollars < 0))
    want = np.abs(dollars)
    down = shares_down(want, price, unit)
    sell_q = shares_up(want, price, unit) if plan.round_sells_up else down.copy()
    np.minimum(sell_q, batch.sell_limit, out=sell_q)
    # A sale of everything that may be sold is a full sale, whichever logic asked for it
    # (a holding whose target is 0, a withdrawal of the whole account): it sells exactly the
    # shares held, fractions included, whatever the rounding option.
    full = plan.full_sell | (
        selling & (batch.sell_limit > 0) & (want >= batch.sell_limit * price - HALF_CENT)
    )
    if full.any():
        sell_q[full] = batch.sell_limit[full]
    qty = down * buying
    qty -= sell_q * selling

    zero = (buying | selling) & (qty == 0)
    np.bitwise_or(plan.reason, zero * np.uint32(Reason.ROUNDED_TO_ZERO), out=plan.reason)
    order_value = cents(qty * price)
    if min_trade_value > 0:
        enforce_min_trade(batch, plan, qty, order_value, min_trade_value=min_trade_value, unit=unit)
    cash_after = batch.cash - order_value.sum(axis=1)
    _trim_overdraft(batch, qty, order_value, cash_after, plan, unit)
    return Rounded(quantity=qty, order_value=order_value, cash_after=cents(cash_after))


def _trim_overdraft(
    batch: AccountBatch,
    qty: Shares,
    order_value: Dollars,
    cash_after: Dollars,
    plan: Plan,
    unit: float,
) -> None:
    """Trim buys until no account's cash is below zero (in place).

    The rule, as the brief words it: one unit at a time, each from the buy whose weight
    after the trade is then farthest above its target (dollars above target rank the same
    within one account; ties to a micro-dollar go to the first slot), choosing again after
    every unit, until cash is no longer below zero. Trimming a unit lowers its buy's excess
    by the unit's dollars, so the units taken are those whose excess, when taken, is above
    a *level*: all units above it, then the tied units at it in slot order. The level is
    found by bisection over whole micro-dollars, for every overdrawn account at once; a few
    single units then settle the cents of rounded order values (each order rounds to the
    cent, the level counts exact dollars).

    A buy the minimum-trade step raised is trimmed whole or not at all: when the rule picks
    it, it goes whole (its reason then says it was dropped), and the choice is made again.
    """
    rows = _overdrawn_with_buys(qty, cash_after, unit)
    if rows.size == 0:
        return
    q = qty[rows]
    price = batch.price[rows]
    buys = q >= unit - 1e-12
    units = np.where(buys, np.floor(q / unit + 1e-9), 0.0)
    value = batch.cash[rows] + np.einsum("ij,ij->i", batch.quantity[rows], price)
    excess = (batch.quantity[rows] + q) * price - batch.target[rows] * value[:, None]
    raised = buys & ((plan.reason[rows] & np.uint32(Reason.MIN_TRADE_RAISED)) != 0)
    # Trim steps per line: one per unit, or one step of every unit for a raised buy.
    steps = np.where(raised, 1.0, units).astype(np.int64)
    step_dollars = np.where(raised, units, 1.0) * price * unit
    top = np.round(excess * 1e6).astype(np.int64)  # excess before the first step, micro-$
    drop = np.maximum(np.round(step_dollars * 1e6), 1.0).astype(np.int64)
    need = -cash_after[rows]
    taken = _steps_above_level(top, drop, steps, step_dollars, need)
    taken = _settle_cents(
        taken, top, drop, steps, q, price, unit, raised, order_value[rows], cash_after[rows]
    )
    cut = np.where(raised, units * (taken > 0), taken.astype(np.float64))
    dropped = raised & (taken > 0)
    if dropped.any():
        reason = plan.reason[rows]
        reason[dropped] &= ~np.uint32(Reason.MIN_TRADE_RAISED)
        reason[dropped] |= np.uint32(Reason.BELOW_MIN_TRADE)
        plan.reason[rows] = reason
    q -= cut * unit
    qty[rows] = q
    new_value = cents(q * price)
    cash_after[rows] += (order_value[rows] - new_value).sum(axis=1)
    order_value[rows] = new_value
    plan.reason[rows] = np.where(
        cut > 0, plan.reason[rows] | np.uint32(Reason.TRIMMED_OVERDRAFT), plan.reason[rows]
    )
    if _overdrawn_with_buys(qty, cash_after, unit).size:
        raise ArithmeticError("overdraft left after trimming")  # pragma: no cover


def _count_at_least(top: Ints, drop: Ints, steps: Ints, level: Ints) -> Ints:
    """Steps per line whose excess when taken (``top − k·drop``, k = 0, 1, ...) is at least
    ``level`` (per account, (M,)), at most ``steps``."""
    counted: Ints = np.clip((top - level[:, None]) // drop + 1, 0, steps)
    return counted


def _steps_above_level(
    top: Ints, drop: Ints, steps: Ints, step_dollars: Dollars, need: Dollars
) -> Ints:
    """Steps per line the rule takes to raise ``need`` dollars per account, counting each
    step at its exact dollars: every step above the level, then tied steps in slot order."""
    have = steps > 0
    lo = np.where(have, top - (steps - 1) * drop, np.iinfo(np.int64).max).min(axis=1) - 1
    hi = np.where(have, top, np.iinfo(np.int64).min).max(axis=1) + 1
    # Invariant: the steps at or above ``lo`` raise at least ``need`` (or are every step);
    # those at or above ``hi`` raise less.
    while True:
        open_ = hi - lo > 1
        if not open_.any():
            break
        mid = lo + (hi - lo) // 2
        enough = (_count_at_least(top, drop, steps, mid) * step_dollars).sum(
            axis=1
        ) >= need - OVERDRAFT_TOLERANCE
        lo = np.where(open_ & enough, mid, lo)
        hi = np.where(open_ & ~enough, mid, hi)
    above = _count_at_least(top, drop, steps, hi)
    at_level = _count_at_least(top, drop, steps, lo) - above  # 0 or 1 per line
    short = need - (above * step_dollars).sum(axis=1)
    tied = at_level * step_dollars
    before = np.cumsum(tied, axis=1) - tied
    take_tied = (at_level > 0) & (before < short[:, None] - OVERDRAFT_TOLERANCE)
    out: Ints = above + take_tied
    return out


def _settle_cents(
    taken: Ints,
    top: Ints,
    drop: Ints,
    steps: Ints,
    q: Shares,
    price: Dollars,
    unit: float,
    raised: Mask,
    order_value: Dollars,
    cash: Dollars,
) -> Ints:
    """The least number of steps, in the rule's order, after which cash with order values
    rounded to the cent is not below zero: from the level's count, steps are added while
    cash is short and the last one given back while cash stays covered without it."""
    units = np.where(raised, np.floor(q / unit + 1e-9), 0.0)

    def cash_with(t: Ints) -> Dollars:
        cut = np.where(raised, units * (t > 0), t)
        left: Dollars = cash + (order_value - cents((q - cut * unit) * price)).sum(axis=1)
        return left

    k = top.shape[1]
    slot = np.arange(k)[None, :]
    # Each loop moves at least one account by one step, and steps are finite: both end.
    # The level is within a cent per line of the answer, so they run a few times at most.
    while True:
        left = cash_with(taken)
        short = left < -OVERDRAFT_TOLERANCE
        can = taken < steps
        short &= can.any(axis=1)
        if not short.any():
            break
        nxt = np.where(can, top - taken * drop, np.iinfo(np.int64).min)
        first = np.argmax(nxt, axis=1)  # the highest next excess, first slot on ties
        taken = taken + ((slot == first[:, None]) & short[:, None])
    while True:
        had = taken > 0
        some: Mask = np.any(had, axis=1)
        last_value = np.where(had, top - (taken - 1) * drop, np.iinfo(np.int64).max)
        low = last_value.min(axis=1)
        # The last step taken: the lowest excess, the last slot among ties.
        is_low: Mask = had & (last_value == low[:, None])
        last = k - 1 - np.argmax(is_low[:, ::-1], axis=1)
        back = taken - ((slot == last[:, None]) & some[:, None])
        ok = some & (cash_with(back) >= -OVERDRAFT_TOLERANCE)
        if not ok.any():
            break
        taken = np.where(ok[:, None], back, taken)
    return taken


def _overdrawn_with_buys(qty: Shares, cash_after: Dollars, unit: float) -> npt.NDArray[np.intp]:
    """Accounts whose cash is below zero and that still have a buy to trim. An account that
    starts with negative cash and buys nothing keeps its cash: no proposal makes it worse."""
    over = cash_after < -OVERDRAFT_TOLERANCE
    return np.flatnonzero(over & (qty >= unit - 1e-12).any(axis=1))
