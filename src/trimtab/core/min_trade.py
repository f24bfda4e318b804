"""Minimum trade size (seed 002: "trades are executed for at least $100 when possible").

A rounded trade worth less than the minimum is raised to the fewest share units worth at
least the minimum where the account allows it — a sale within the shares that may be sold
and not below the security's band minimum, a buy that rules allow, not above the band
maximum and paid from cash left after the other trades — and dropped otherwise.
"""

from __future__ import annotations

import numpy as np

from trimtab.core.batch import AccountBatch, Dollars, Shares
from trimtab.core.logics import Plan
from trimtab.core.money import HALF_CENT, cents, shares_up
from trimtab.core.reasons import Reason

CASH_TOLERANCE = 1e-6
"""Dollars of cash below zero still counted as zero."""


def enforce_min_trade(
    batch: AccountBatch,
    plan: Plan,
    qty: Shares,
    order_value: Dollars,
    *,
    min_trade_value: float,
    unit: float,
) -> None:
    """Raise or drop trades below ``min_trade_value`` dollars, in place.

    ``qty`` are signed shares (+ buy), ``order_value`` signed cents; ``plan.reason`` gets
    :attr:`Reason.MIN_TRADE_RAISED` or :attr:`Reason.BELOW_MIN_TRADE` per line.
    """
    small = (qty != 0) & (np.abs(order_value) < min_trade_value - HALF_CENT)
    if not small.any():
        return
    price = batch.price
    value = batch.cash + (batch.quantity * price).sum(axis=1)
    v = value[:, None]
    units = shares_up(np.full_like(price, min_trade_value), price, unit)
    raised_value = cents(units * price)
    sell_ok = (
        small
        & (qty < 0)
        & (units <= batch.sell_limit + 1e-9)
        & ((batch.quantity - units) * price >= batch.lower * v - HALF_CENT)
    )
    buy_ok = (
        small
        & (qty > 0)
        & batch.buy_allowed
        & ((batch.quantity + units) * price <= batch.upper * v + HALF_CENT)
    )
    qty[sell_ok] = -units[sell_ok]
    order_value[sell_ok] = -raised_value[sell_ok]
    drop = small & ~sell_ok
    qty[drop] = 0.0
    order_value[drop] = 0.0
    cash = batch.cash - order_value.sum(axis=1)
    for k in range(qty.shape[1]):
        fits = buy_ok[:, k] & (cash - raised_value[:, k] >= -CASH_TOLERANCE)
        qty[fits, k] = units[fits, k]
        order_value[fits, k] = raised_value[fits, k]
        cash[fits] -= raised_value[fits, k]
        drop[fits, k] = False
    raised = small & ~drop
    plan.reason[raised] |= np.uint32(Reason.MIN_TRADE_RAISED)
    plan.reason[drop] |= np.uint32(Reason.BELOW_MIN_TRADE)
