"""Estimated tax on realised gains, per account and calendar year.

Within a year an account's net short-term and net long-term gains offset each other when
one of them is a loss; what remains is taxed at its rate. Losses are not carried to later
years and qualified (untaxed) accounts owe nothing. The tax is an estimate reported beside
the backtest, not paid out of the accounts' cash.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Dollars = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class TaxRates:
    """Rates on net short-term and long-term gains, fractions (0.37 is 37%)."""

    short_term: float = 0.37
    long_term: float = 0.20


def year_tax(short: Dollars, long: Dollars, rates: TaxRates) -> Dollars:
    """Tax on one year's net short- and long-term gains of each account, dollars."""
    short_net = np.where(long < 0, short + long, short)
    long_net = np.where(short < 0, long + short, long)
    out: Dollars = rates.short_term * np.where(short > 0, np.maximum(short_net, 0.0), 0.0)
    out += rates.long_term * np.where(long > 0, np.maximum(long_net, 0.0), 0.0)
    return out
