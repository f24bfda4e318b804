"""``trimtab backtest``: read the inputs, replay every policy with every logic, and write
the summary (terminal table, CSV/Parquet), the daily series and the HTML report."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from trimtab.backtest.policies import Kind, parse_policies
from trimtab.backtest.results import daily_table, summary_table
from trimtab.backtest.run import Run, RunResult, run_policy
from trimtab.backtest.setup import load_setup
from trimtab.backtest.tax import TaxRates
from trimtab.backtest.trading import Costs
from trimtab.core.engine import Method, TradeOptions
from trimtab.errors import InputError
from trimtab.options import parse_method, trade_options

NOT_A_REBALANCE = frozenset({Method.GENERATE_CASH, Method.WITHDRAWAL})
"""Logics that need an amount per account: not a policy's rebalance step."""


@dataclass(frozen=True, slots=True)
class BacktestRequest:
    """What ``trimtab backtest`` was asked; rates in percent."""

    book: Path
    prices: Path
    flows: Path | None
    policies: str
    logics: str
    cost_per_trade: float = 0.0
    cost_bps: float = 0.0
    short_term_rate: float = 37.0
    long_term_rate: float = 20.0
    min_trade_value: float = 0.0
    rounding: str = "whole_shares"


def plan_runs(request: BacktestRequest) -> list[tuple[Run, TradeOptions]]:
    """Each policy with each logic (``hold`` once, without one), with the logic's options."""
    methods = []
    for name in filter(None, (p.strip() for p in request.logics.split(","))):
        method = parse_method(name, field="--logics")
        if method in NOT_A_REBALANCE:
            raise InputError(
                "--logics", f"{name} needs an amount per account: not a rebalance step"
            )
        methods.append(method)
    if not methods:
        raise InputError("--logics", "name at least one trade logic")
    runs: list[tuple[Run, TradeOptions]] = []
    for policy in parse_policies(request.policies):
        if policy.kind is Kind.HOLD:
            runs.append((Run(policy, None), TradeOptions()))
            continue
        for method in methods:
            options = trade_options(
                method, rounding=request.rounding, min_trade_value=request.min_trade_value
            )
            runs.append((Run(policy, method), options))
    return runs


def run_backtest(
    request: BacktestRequest,
    *,
    out: Path | None = None,
    daily_out: Path | None = None,
    report: Path | None = None,
) -> list[RunResult]:
    """Run the request and write what was asked; the summary table goes to the terminal."""
    from trimtab.io.batch import write_output

    runs = plan_runs(request)
    setup = load_setup(request.book, request.prices, request.flows)
    costs = Costs(per_trade=request.cost_per_trade, bps=request.cost_bps)
    rates = TaxRates(request.short_term_rate / 100.0, request.long_term_rate / 100.0)
    results = []
    for run, options in runs:
        sys.stderr.write(f"running {run.name}\n")
        results.append(run_policy(setup, run, options, costs=costs, rates=rates))
    summary = summary_table(setup, results)
    _print(summary)
    if out is not None:
        write_output(summary, out)
    if daily_out is not None:
        write_output(daily_table(setup, results), daily_out)
    if report is not None:
        from trimtab.backtest.report import render_report

        title = f"Backtest of {request.book.name}"
        report.write_text(render_report(setup, results, summary, title), encoding="utf-8")
    return results


def _print(summary: pa.Table) -> None:
    from rich.console import Console
    from rich.table import Table

    shown = {
        "policy": "Policy",
        "logic": "Logic",
        "tracking_error_pct": "TE %",
        "rebalance_events": "Events",
        "trades": "Trades",
        "turnover_pct_per_year": "Turnover %/yr",
        "trading_costs": "Costs $",
        "short_term_gains": "ST gains $",
        "long_term_gains": "LT gains $",
        "estimated_tax": "Tax $",
        "after_tax_value": "After-tax value $",
        "worst_drift_pct": "Worst drift pp",
    }
    table = Table(title="Backtest")
    for name, label in shown.items():
        table.add_column(label, justify="left" if name in ("policy", "logic") else "right")
    for row in summary.to_pylist():
        table.add_row(*(_text(row[name]) for name in shown))
    Console(width=200).print(table)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.3f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
