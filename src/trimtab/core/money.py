"""Rounding rules for money and shares, stated once.

- Order values are rounded to the cent, half away from zero.
- Share quantities are rounded toward zero to the account's share unit (1 share, or
  10**-decimals with fractional shares); generate-cash sells round up instead.
- Dollar amounts under half a cent are treated as zero when deciding whether to trade.
"""

from __future__ import annotations

import numpy as np

from trimtab.core.batch import Dollars, Shares

HALF_CENT = 0.005
"""Dollar amounts smaller than this are no trade."""

SHARE_EPSILON = 1e-6
"""Share units within this of a whole unit count as that unit (floating-point noise)."""


def cents(amount: Dollars) -> Dollars:
    """Dollars rounded to the cent, half away from zero."""
    out: Dollars = np.trunc(amount * 100.0 + np.copysign(0.5 + 1e-7, amount)) / 100.0
    return out


def shares_down(dollars: Dollars, price: Dollars, unit: float) -> Shares:
    """Shares worth at most ``dollars`` (>= 0), rounded toward zero to ``unit`` shares."""
    if unit == 1.0:
        out: Shares = np.floor(dollars / price + SHARE_EPSILON)
        return out
    out = np.floor(dollars / price / unit + SHARE_EPSILON) * unit
    return out


def shares_up(dollars: Dollars, price: Dollars, unit: float) -> Shares:
    """Shares worth at least ``dollars`` (>= 0), rounded up to ``unit`` shares."""
    out: Shares = np.ceil(dollars / price / unit - SHARE_EPSILON) * unit
    return out
