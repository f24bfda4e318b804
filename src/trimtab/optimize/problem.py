"""One account of a batch as the data of an optimisation: dollars per model line, share units.

The optimisers decide an integer number of share *units* per model line (1 share, or
``10**-decimals`` shares with fractional shares). Held securities outside the model have
target 0 and band [0, 0]; as in every logic that sells, they are sold in full, as far as
the rules allow (``sell_limit``), before anything is decided: that never moves an account
farther from its target or band (the proceeds move the same dollars into cash at most).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trimtab.core.batch import AccountBatch, Shares
from trimtab.core.money import SHARE_EPSILON

Vector = npt.NDArray[np.float64]
Index = npt.NDArray[np.intp]

CASH_TOLERANCE = 1e-6
"""Dollars by which cash after may fall short of its floor (solver feasibility noise)."""


@dataclass(frozen=True, slots=True)
class AccountProblem:
    """One account, ``n`` model lines that may trade.

    Attributes:
        row: the account's row in its batch.
        slots: batch slots of the model lines, (n,).
        unit: shares per share unit.
        unit_value: dollars per unit (price x unit), (n,).
        held: dollars held, (n,).
        target, lower, upper: target and band in dollars of account value, (n,).
        max_sell: units the rules allow to be sold, (n,), >= 0.
        max_buy: units that may be bought, (n,), >= 0; 0 where rules forbid buying.
        cash: cash in dollars once the non-model holdings are sold.
        cash_target: the model's cash target in dollars.
        value: account value in dollars, cash included.
        liquidate: batch slots of the non-model holdings sold in full.
        liquidate_shares: shares sold in each of those slots (their ``sell_limit``).
        proceeds: dollars raised by selling those non-model holdings.
        kept_non_model: dollars of non-model holdings the rules keep (deviation from 0).
    """

    row: int
    slots: Index
    unit: float
    unit_value: Vector
    held: Vector
    target: Vector
    lower: Vector
    upper: Vector
    max_sell: Vector
    max_buy: Vector
    cash: float
    cash_target: float
    value: float
    liquidate: Index
    liquidate_shares: Vector
    proceeds: float
    kept_non_model: float

    @property
    def size(self) -> int:
        """Number of model lines."""
        return int(self.slots.shape[0])


def account_problem(batch: AccountBatch, row: int, unit: float) -> AccountProblem:
    """The optimisation data of account ``row`` of ``batch`` with share unit ``unit``."""
    price = batch.price[row]
    qty = batch.quantity[row]
    valid = batch.valid[row]
    model = valid & batch.in_model[row]
    non_model = valid & ~batch.in_model[row] & (qty > 0)
    value = float(batch.cash[row] + qty @ price)
    slots = np.flatnonzero(model)
    liquidate = np.flatnonzero(non_model & (batch.sell_limit[row] > 0))
    liquidate_shares = batch.sell_limit[row, liquidate].astype(np.float64)
    proceeds = float(liquidate_shares @ price[liquidate])
    kept = float(((qty - batch.sell_limit[row]) * price)[non_model].sum())
    cash = float(batch.cash[row]) + proceeds
    unit_value = price[slots] * unit
    max_sell = np.floor(batch.sell_limit[row, slots] / unit + SHARE_EPSILON)
    sellable = float(max_sell @ unit_value)
    room = max(cash + sellable, 0.0)
    max_buy = np.where(
        batch.buy_allowed[row, slots], np.floor(room / unit_value + SHARE_EPSILON), 0.0
    )
    return AccountProblem(
        row=row,
        slots=slots,
        unit=unit,
        unit_value=unit_value,
        held=qty[slots] * price[slots],
        target=batch.target[row, slots] * value,
        lower=batch.lower[row, slots] * value,
        upper=batch.upper[row, slots] * value,
        max_sell=np.maximum(max_sell, 0.0),
        max_buy=np.maximum(max_buy, 0.0),
        cash=cash,
        cash_target=float(batch.cash_target[row]) * value,
        value=value,
        liquidate=liquidate,
        liquidate_shares=liquidate_shares,
        proceeds=proceeds,
        kept_non_model=max(kept, 0.0),
    )


def cash_after(problem: AccountProblem, units: Vector) -> float:
    """Cash in dollars after buying ``units`` (negative: selling), at full precision."""
    return problem.cash - float(units @ problem.unit_value)


def deviation(problem: AccountProblem, units: Vector) -> float:
    """Total absolute deviation from target after the trades, dollars, cash included.

    Model lines, cash against the cash target, and non-model holdings the rules keep.
    """
    after = problem.held + units * problem.unit_value
    lines = float(np.abs(after - problem.target).sum())
    return lines + abs(cash_after(problem, units) - problem.cash_target) + problem.kept_non_model


def band_violation(problem: AccountProblem, units: Vector) -> float:
    """Dollars by which model lines end outside their bands, plus kept non-model dollars."""
    after = problem.held + units * problem.unit_value
    below = np.maximum(problem.lower - after, 0.0)
    above = np.maximum(after - problem.upper, 0.0)
    return float(below.sum() + above.sum()) + problem.kept_non_model


def turnover(problem: AccountProblem, units: Vector) -> float:
    """Dollars traded: model lines bought or sold plus the non-model holdings sold."""
    return float(np.abs(units) @ problem.unit_value) + problem.proceeds


def is_feasible(problem: AccountProblem, units: Vector, cash_floor: float) -> bool:
    """Whole units within the rule limits, and cash after at least ``cash_floor`` dollars."""
    whole = bool(np.all(units == np.round(units)))
    bounded = bool(np.all(units >= -problem.max_sell) and np.all(units <= problem.max_buy))
    return whole and bounded and cash_after(problem, units) >= cash_floor - CASH_TOLERANCE


def quantities(problem: AccountProblem, units: Vector, width: int) -> Shares:
    """Signed shares per batch slot (+ buy, − sell), (width,), non-model sales included."""
    out = np.zeros(width)
    out[problem.slots] = units * problem.unit
    out[problem.liquidate] = -problem.liquidate_shares
    return out
