"""From dollar plans to share quantities, order values and cash, the same for every logic.

Rules (product brief): quantities round toward zero to the share unit (generate-cash sells
round up, never past the position); full liquidations sell exactly what may be sold; order
values round to the cent; a proposal never overdraws cash: buys are trimmed one unit at a
time, starting with the security whose weight after the trade is farthest above its target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trimtab.core.batch import AccountBatch, Dollars, Fractions, Shares
from trimtab.core.logics import Plan
from trimtab.core.money import HALF_CENT, cents, shares_down, shares_up
from trimtab.core.reasons import Reason

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
    sell_q = shares_up(want, price, unit) if plan.round_sells_up else shares_down(want, price, unit)
    sell_q = np.minimum(sell_q, batch.sell_limit)
    sell_q = np.where(plan.full_sell, batch.sell_limit, sell_q)
    buy_q = shares_down(want, price, unit)
    qty = np.where(buying, buy_q, np.where(selling, -sell_q, 0.0))

    traded = buying | selling
    zero = traded & (qty == 0)
    plan.reason[zero] |= np.uint32(Reason.ROUNDED_TO_ZERO)
    order_value = cents(qty * price)
    if min_trade_value > 0:
        small = (qty != 0) & (np.abs(order_value) < min_trade_value - HALF_CENT)
        plan.reason[small] |= np.uint32(Reason.BELOW_MIN_TRADE)
        qty[small] = 0.0
        order_value[small] = 0.0
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
    """Take one unit off a buy at a time until no account's cash is below zero (in place)."""
    value = batch.cash + np.einsum("ij,ij->i", batch.quantity, batch.price)
    while True:
        rows = np.flatnonzero(cash_after < -OVERDRAFT_TOLERANCE)
        if rows.size == 0:
            return
        q = qty[rows]
        candidates = q >= unit - 1e-12
        if not candidates.any(axis=1).all():
            raise ArithmeticError("overdraft with no buy left to trim")  # sells cover buys
        price = batch.price[rows]
        after: Fractions = (batch.quantity[rows] + q) * price / value[rows, None]
        above = np.where(candidates, after - batch.target[rows], -np.inf)
        j = np.argmax(above, axis=1)
        qty[rows, j] -= unit
        new_value = cents(qty[rows, j] * price[np.arange(rows.size), j])
        cash_after[rows] += order_value[rows, j] - new_value
        order_value[rows, j] = new_value
        plan.reason[rows, j] |= np.uint32(Reason.TRIMMED_OVERDRAFT)
