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

from trimtab.core.batch import AccountBatch, Dollars, Shares
from trimtab.core.logics import Plan
from trimtab.core.min_trade import enforce_min_trade
from trimtab.core.money import HALF_CENT, cents, shares_down, shares_up
from trimtab.core.reasons import Reason

VECTOR_PASSES = 4
"""Trim passes: the rule's one pass, then single units should cents still overdraw."""

TIE_DECIMALS = 6
"""Buys whose excess over target differs by less than a micro-dollar are tied (first slot
first), so that floating-point noise does not decide which buy is trimmed."""

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
    selling = dollars < -HALF_CENT
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

    The rule: buys are ranked by how far their weight after the trade stands above target
    (ties: first slot first); the first is trimmed one unit at a time until cash is no longer
    below zero or that buy is gone, then the next. Every buy before the one that cures the
    overdraft is therefore trimmed in full, which makes the rule one vectorised pass; single
    units then settle the cents of rounded order values.

    A buy the minimum-trade step raised is trimmed whole or not at all: it never ends
    between zero and the minimum trade size (its reason then says it was dropped).
    """
    for attempt in range(VECTOR_PASSES):
        rows = _overdrawn_with_buys(qty, cash_after, unit)
        if rows.size == 0:
            return
        q = qty[rows]
        price = batch.price[rows]
        buys = q >= unit - 1e-12
        value = batch.cash[rows] + np.einsum("ij,ij->i", batch.quantity[rows], price)
        excess = (batch.quantity[rows] + q) * price - batch.target[rows] * value[:, None]
        rank = np.where(buys, -np.round(excess, TIE_DECIMALS), np.inf)
        order = np.argsort(rank, axis=1, kind="stable")
        per_unit = np.take_along_axis(price, order, axis=1) * unit
        held = np.take_along_axis(np.where(buys, np.floor(q / unit + 1e-9), 0.0), order, axis=1)
        units = held
        need = -cash_after[rows]
        if attempt:  # cents left over by rounding: one unit from the first buy
            need = np.full_like(need, np.inf)
            units = np.minimum(units, (np.arange(units.shape[1]) == 0)[None, :])
        before = np.cumsum(units * per_unit, axis=1) - units * per_unit
        take = np.clip(np.ceil((need[:, None] - before) / per_unit - 1e-9), 0.0, units)
        raised = (plan.reason[rows] & np.uint32(Reason.MIN_TRADE_RAISED)) != 0
        whole = np.take_along_axis(raised & buys, order, axis=1) & (take > 0)
        if whole.any():  # a raised buy is not cut below the minimum: it goes whole
            take = np.where(whole, held, take)
            dropped = np.zeros_like(buys)
            np.put_along_axis(dropped, order, whole, axis=1)
            reason = plan.reason[rows]
            reason[dropped] &= ~np.uint32(Reason.MIN_TRADE_RAISED)
            reason[dropped] |= np.uint32(Reason.BELOW_MIN_TRADE)
            plan.reason[rows] = reason
        taken = np.zeros_like(q)
        np.put_along_axis(taken, order, take, axis=1)
        q -= taken * unit
        qty[rows] = q
        new_value = cents(q * price)
        cash_after[rows] += (order_value[rows] - new_value).sum(axis=1)
        order_value[rows] = new_value
        plan.reason[rows] = np.where(
            taken > 0, plan.reason[rows] | np.uint32(Reason.TRIMMED_OVERDRAFT), plan.reason[rows]
        )
    if _overdrawn_with_buys(qty, cash_after, unit).size:
        raise ArithmeticError("overdraft left after trimming")  # pragma: no cover


def _overdrawn_with_buys(qty: Shares, cash_after: Dollars, unit: float) -> npt.NDArray[np.intp]:
    """Accounts whose cash is below zero and that still have a buy to trim. An account that
    starts with negative cash and buys nothing keeps its cash: no proposal makes it worse."""
    over = cash_after < -OVERDRAFT_TOLERANCE
    return np.flatnonzero(over & (qty >= unit - 1e-12).any(axis=1))
