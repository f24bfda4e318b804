"""Backtest commands: ``backtest`` (policies replayed over a price history) and
``demo-prices`` (a seeded history for a book, and optionally cash flows)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from trimtab.cli._flags import flag_error
from trimtab.errors import InputError

DEFAULT_POLICIES = "calendar:quarterly,bands,triggers,cash-flow,hold"


def _fail(message: str) -> typer.Exit:
    sys.stderr.write(f"trimtab: {message}\n")
    return typer.Exit(2)


def _table_out(out: Path | None, flag: str) -> None:
    if out is not None and out.suffix not in (".csv", ".parquet"):
        raise InputError(flag, f"must end in .csv or .parquet, got {out.name!r}")


def register(app: typer.Typer) -> None:
    """Add the backtest commands to ``app``."""

    @app.command()
    def backtest(
        book: Annotated[Path, typer.Argument(help="Book folder: the starting state and models.")],
        prices: Annotated[
            Path, typer.Option(help="Price history .csv/.parquet: date, symbol, close, dividend.")
        ],
        flows: Annotated[
            Path | None,
            typer.Option(help="Cash flows .csv/.parquet: date, account_id, amount."),
        ] = None,
        policies: Annotated[
            str,
            typer.Option(
                help="Comma-separated: calendar:monthly|quarterly|annual, bands, triggers, "
                "cash-flow, hold."
            ),
        ] = DEFAULT_POLICIES,
        logics: Annotated[
            str, typer.Option(help="Comma-separated trade logics for the rebalance step.")
        ] = "rebalance_to_target",
        cost_per_trade: Annotated[float, typer.Option(min=0, help="Dollars per trade.")] = 0.0,
        cost_bps: Annotated[
            float, typer.Option(min=0, help="Basis points of each trade's dollars.")
        ] = 0.0,
        short_term_rate: Annotated[
            float, typer.Option(min=0, max=100, help="Tax on short-term gains, percent.")
        ] = 37.0,
        long_term_rate: Annotated[
            float, typer.Option(min=0, max=100, help="Tax on long-term gains, percent.")
        ] = 20.0,
        min_trade_value: Annotated[float, typer.Option(min=0, help="Dollars.")] = 0.0,
        rounding: Annotated[str, typer.Option(help="whole_shares or fractional.")] = "whole_shares",
        out: Annotated[
            Path | None, typer.Option(help="Summary .csv or .parquet (one row per run).")
        ] = None,
        daily_out: Annotated[
            Path | None, typer.Option("--daily-out", help="Per run and day .csv or .parquet.")
        ] = None,
        report: Annotated[
            Path | None, typer.Option(help="HTML report with charts (self-contained).")
        ] = None,
    ) -> None:
        """Replay BOOK day by day over a price history under each policy and trade logic.

        Each market day the service's triggers evaluate the previous close; the policy's
        accounts are proposed for by the one pipeline (lots, locks, wash sales, minimum
        trade size) and filled at the day's close. See docs/backtest.md.
        """
        from trimtab.backtest.app import BacktestRequest, run_backtest

        try:
            for path, flag in ((out, "--out"), (daily_out, "--daily-out")):
                _table_out(path, flag)
            if report is not None and report.suffix != ".html":
                raise InputError("--report", f"must end in .html, got {report.name!r}")
            request = BacktestRequest(
                book=book,
                prices=prices,
                flows=flows,
                policies=policies,
                logics=logics,
                cost_per_trade=cost_per_trade,
                cost_bps=cost_bps,
                short_term_rate=short_term_rate,
                long_term_rate=long_term_rate,
                min_trade_value=min_trade_value,
                rounding=rounding,
            )
            run_backtest(request, out=out, daily_out=daily_out, report=report)
        except InputError as err:
            raise _fail(flag_error(err)) from None

    @app.command("demo-prices")
    def demo_prices(
        book: Annotated[Path, typer.Argument(help="Book folder whose symbols to price.")],
        out: Annotated[Path, typer.Option(help="History .csv or .parquet to write.")],
        years: Annotated[float, typer.Option(min=0.01, max=14, help="Years of market days.")] = 10,
        seed: Annotated[int, typer.Option()] = 1,
        start: Annotated[
            str, typer.Option(help="First market day (YYYY-MM-DD): closes at the book's prices.")
        ] = "2026-11-20",
        dividends: Annotated[bool, typer.Option(help="Pay dividends.")] = True,
        flows_out: Annotated[
            Path | None,
            typer.Option("--flows-out", help="Also write seeded cash flows (.csv or .parquet)."),
        ] = None,
    ) -> None:
        """Write a seeded daily price history for BOOK: correlated random walks over NYSE days."""
        from datetime import date

        from trimtab.backtest.generate import (
            HistorySpec,
            book_values,
            generate_flows,
            generate_history,
        )
        from trimtab.io.batch import write_output
        from trimtab.io.book import read_book

        try:
            _table_out(out, "--out")
            _table_out(flows_out, "--flows-out")
            try:
                first = date.fromisoformat(start)
            except ValueError:
                raise InputError("--start", f"not a date (YYYY-MM-DD): {start!r}") from None
            loaded = read_book(book)
            spec = HistorySpec(years=years, seed=seed, start=first, dividends=dividends)
            try:
                history = generate_history(loaded.tables["prices"], spec)
            except InputError as err:  # the market calendar's bounds
                raise InputError("--start", err.problem) from None
        except InputError as err:
            raise _fail(flag_error(err)) from None
        write_output(history, out)
        if flows_out is not None:
            ids = loaded.account_ids.to_pylist()
            flows = generate_flows(ids, book_values(loaded.arrays), history, seed)
            write_output(flows, flows_out)
        sys.stderr.write(f"wrote {history.num_rows} closes to {out}\n")
