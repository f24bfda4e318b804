"""Side-by-side comparison of trade logics for one account: what each would trade and
where it would leave the account.

Realised gains are reported as 0 dollars: this comparison works on share quantities, and
gains need tax lots (the rules path of ``trimtab propose`` computes them per sale).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trimtab.core.batch import AccountBatch
from trimtab.core.engine import Method, TradeOptions
from trimtab.core.reasons import Status
from trimtab.optimize.plan import propose
from trimtab.optimize.solve import DEFAULT_TIME_LIMIT

COMPARED = (
    Method.REBALANCE_TO_TARGET,
    Method.REBALANCE_TO_TOLERANCE,
    Method.REBALANCE_TO_TOLERANCE_OOT_ONLY,
    Method.BEST_FIT,
    Method.MINIMUM_TRANSACTION,
)
"""The full-rebalance logics, which need no amount (cash to invest or to raise)."""

BAND_TOLERANCE = 1e-9
"""Fraction of value within which a weight on its band edge counts as inside."""


@dataclass(frozen=True, slots=True)
class LogicSummary:
    """One logic's proposal for one account.

    Attributes:
        method: the logic.
        status: ``success``, ``part_success`` or ``failed``.
        turnover: dollars traded, buys plus sells (order values).
        realized_gain: dollars of gains realised; 0 (no tax lots here).
        deviation_after: total absolute deviation from target after the trades, dollars,
            cash against its target included.
        max_drift_after: largest absolute difference from target of any line, percent points.
        out_of_band_after: lines outside their band after the trades.
        trades: lines that trade (buy or sell).
        cash_after: dollars.
    """

    method: Method
    status: str
    turnover: float
    realized_gain: float
    deviation_after: float
    max_drift_after: float
    out_of_band_after: int
    trades: int
    cash_after: float


def compare_logics(
    batch: AccountBatch,
    row: int = 0,
    methods: tuple[Method, ...] = COMPARED,
    options: TradeOptions | None = None,
    *,
    time_limit: float = DEFAULT_TIME_LIMIT,
) -> list[LogicSummary]:
    """Every logic of ``methods`` on account ``row`` of ``batch``, in that order."""
    one = batch.rows(row, row + 1)
    value = float(one.cash[0] + one.quantity[0] @ one.price[0])
    out = []
    for method in methods:
        p = propose(one, method, options, time_limit=time_limit)
        after = (one.quantity[0] + p.quantity[0]) * one.price[0]
        cash = float(p.cash_after[0])
        weight = after / value if value > 0 else np.zeros_like(after)
        line = one.valid[0]
        deviation = float(np.abs(after - one.target[0] * value)[line].sum())
        deviation += abs(cash - float(one.cash_target[0]) * value)
        outside = (weight < one.lower[0] - BAND_TOLERANCE) | (
            weight > one.upper[0] + BAND_TOLERANCE
        )
        out.append(
            LogicSummary(
                method=method,
                status=Status(int(p.status[0])).label,
                turnover=float(np.abs(p.order_value[0]).sum()),
                realized_gain=0.0,
                deviation_after=deviation,
                max_drift_after=float(np.abs(weight - one.target[0])[line].max(initial=0.0)) * 100,
                out_of_band_after=int((outside & line).sum()),
                trades=int((p.quantity[0] != 0).sum()),
                cash_after=cash,
            )
        )
    return out
