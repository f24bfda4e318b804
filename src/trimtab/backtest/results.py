"""A backtest's results as tables: one row per run (the summary) and one per run and day.

Definitions (docs/backtest.md):

- ``tracking_error_pct``: per managed account, the annualised standard deviation (x sqrt 252)
  of its daily active return, the account's return (value less the day's cash flows, over
  the previous close's value) minus the return of its target weights rebalanced daily
  (closes and dividends; the cash target earns nothing); the mean over the accounts.
  ``book_tracking_error_pct``: the same for the managed accounts' values added up.
- ``rebalance_events``: account-days with at least one fill; ``trades``: fills.
- ``turnover_pct_per_year``: half the dollars bought and sold, over the mean book value,
  per year of history.
- ``trading_costs``: per-trade and basis-point costs, paid from cash.
- ``short_term_gains``, ``long_term_gains``: realised gains of the lots relieved (lots
  without a basis left out); ``estimated_tax``: :mod:`trimtab.backtest.tax`.
- ``after_tax_value``: ``ending_value`` less ``estimated_tax``.
- ``worst_drift_pct``: the largest security drift of any managed account at any close after
  the first, percent points; ``mean_drift_pct``: the mean over closes after the first of
  the managed accounts' mean largest drift.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from trimtab.backtest.run import RunResult
from trimtab.backtest.setup import Setup

SUMMARY_COLUMNS = (
    "policy",
    "logic",
    "tracking_error_pct",
    "book_tracking_error_pct",
    "rebalance_events",
    "trades",
    "turnover",
    "turnover_pct_per_year",
    "trading_costs",
    "short_term_gains",
    "long_term_gains",
    "estimated_tax",
    "ending_value",
    "after_tax_value",
    "mean_drift_pct",
    "worst_drift_pct",
)


def _years(setup: Setup) -> float:
    days = setup.history.days
    return float((days[-1] - days[0]).astype(np.int64)) / 365.25


def summary_row(setup: Setup, result: RunResult) -> dict[str, object]:
    """One run's numbers, money rounded to the cent."""
    te = result.tracking_error[setup.managed]
    te = te[np.isfinite(te)]
    traded = float(result.traded.sum())
    years = max(_years(setup), 1e-9)
    tax = float(result.tax.sum())
    end = float(result.value[-1])
    return {
        "policy": result.run.policy.name,
        "logic": "" if result.run.method is None else str(result.run.method),
        "tracking_error_pct": round(float(te.mean()), 4) if te.size else None,
        "book_tracking_error_pct": round(result.book_tracking_error, 4),
        "rebalance_events": int(result.events.sum()),
        "trades": int(result.trades.sum()),
        "turnover": round(traded, 2),
        "turnover_pct_per_year": round(traded / 2 / float(result.value.mean()) / years * 100, 4),
        "trading_costs": round(result.cost, 2),
        "short_term_gains": round(float(result.short_term.sum()), 2),
        "long_term_gains": round(float(result.long_term.sum()), 2),
        "estimated_tax": round(tax, 2),
        "ending_value": round(end, 2),
        "after_tax_value": round(end - tax, 2),
        "mean_drift_pct": round(float(result.mean_drift[1:].mean()), 4),
        "worst_drift_pct": round(float(result.worst_drift[1:].max(initial=0.0)), 4),
    }


def summary_table(setup: Setup, results: list[RunResult]) -> pa.Table:
    """One row per run."""
    rows = [summary_row(setup, r) for r in results]
    return pa.table({c: [r[c] for r in rows] for c in SUMMARY_COLUMNS})


def daily_table(setup: Setup, results: list[RunResult]) -> pa.Table:
    """One row per run and day: book value and cash, drift, trades and dollars traded."""
    days = setup.history.days
    parts = []
    for r in results:
        parts.append(
            pa.table(
                {
                    "policy": [r.run.policy.name] * days.size,
                    "logic": ["" if r.run.method is None else str(r.run.method)] * days.size,
                    "date": pa.array(days, pa.date32()),
                    "value": np.round(r.value, 2),
                    "cash": np.round(r.cash, 2),
                    "mean_drift_pct": np.round(r.mean_drift, 4),
                    "worst_drift_pct": np.round(r.worst_drift, 4),
                    "trades": r.trades,
                    "rebalance_events": r.events,
                    "traded": np.round(r.traded, 2),
                }
            )
        )
    return pa.concat_tables(parts)
