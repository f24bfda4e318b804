"""``trimtab compare-book``: every trade logic over a whole book, side by side (docs/whatif.md).

A book folder is read as ``propose-book`` reads it; without one, the firm's current book
is read from the store (``--firm``, ``--db``, ``--user``, as the service commands take them).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from trimtab.cli._flags import flag_error
from trimtab.cli.book import (
    AsOf,
    Dollars,
    PartitionSize,
    PartsDir,
    Percent,
    Rounding,
    ShareDecimals,
    Workers,
)
from trimtab.errors import InputError
from trimtab.settings import ENV

if TYPE_CHECKING:
    from trimtab.core.engine import Method
    from trimtab.whatif.compare import Comparison
    from trimtab.whatif.figures import TaxRates


@dataclass(frozen=True, slots=True)
class Spread:
    """Where a book folder's comparison runs: ``address`` ``None`` is this process."""

    address: str | None
    partition_size: int
    parts_dir: Path | None


def _fail(message: str) -> typer.Exit:
    sys.stderr.write(f"trimtab: {message}\n")
    return typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add ``compare-book`` to ``app``."""

    @app.command("compare-book")
    def compare_book(
        book: Annotated[
            Path | None,
            typer.Argument(help="Book folder (CSV or Parquet); omit for the --firm's book."),
        ] = None,
        logics: Annotated[
            str | None,
            typer.Option(
                "--logics",
                "--methods",
                help="Trade logics separated by commas (default: every logic; generate_cash "
                "and withdrawal only with --cash-to-generate or --mccar-pct).",
            ),
        ] = None,
        out: Annotated[
            Path | None,
            typer.Option(
                help="Folder for summary, accounts, disagreement (CSV, Parquet), report.html."
            ),
        ] = None,
        rounding: Rounding = "whole_shares",
        share_decimals: ShareDecimals = 3,
        cash_to_generate: Dollars = None,
        mccar_pct: Percent = None,
        cash_to_invest: Dollars = None,
        min_trade_value: Annotated[
            float | None,
            typer.Option(min=0, help="Dollars (default: 0 for a book, $100 for --firm)."),
        ] = None,
        short_term_rate: Annotated[
            float, typer.Option(min=0, max=100, help="Percent tax on short-term gains.")
        ] = 37.0,
        long_term_rate: Annotated[
            float, typer.Option(min=0, max=100, help="Percent tax on long-term gains.")
        ] = 20.0,
        as_of: AsOf = None,
        top: Annotated[int, typer.Option(min=1, help="Accounts of most disagreement.")] = 10,
        workers: Workers = 2,
        cluster: Annotated[
            str | None,
            typer.Option(
                "--cluster",
                help="Dask scheduler address, or local:N for N worker processes here "
                "(docs/cluster.md); default TRIMTAB_DASK_SCHEDULER. With --firm, each worker "
                "reads chunks of 5,000 accounts from the store.",
            ),
        ] = None,
        partition_size: PartitionSize = 20_000,
        parts_dir: PartsDir = None,
        firm: Annotated[
            str | None, typer.Option("--firm", envvar=ENV["firm"], help="Firm id (no BOOK).")
        ] = None,
        db: Annotated[
            str | None,
            typer.Option("--db", envvar=ENV["database_url"], help="Database URL (with --firm)."),
        ] = None,
        user: Annotated[
            str | None,
            typer.Option("--user", envvar=ENV["user"], help="Acting user (with --firm)."),
        ] = None,
    ) -> None:
        """Every trade logic over every account: turnover, gains and tax, drift after.

        Each logic proposes for every account through the same pipeline as ``propose-book``
        (or, with ``--firm``, as a request); the table gives each logic's totals and the
        accounts where the logics disagree most. ``--out DIR`` also writes the numbers
        (CSV and Parquet) and ``report.html`` with charts. ``--cluster`` runs the accounts
        on a Dask cluster, with the same result.
        """
        from trimtab.whatif.compare import check_amounts, chosen_logics
        from trimtab.whatif.figures import TaxRates

        if out is not None and out.exists() and not out.is_dir():
            raise _fail(f"--out: {out} is a file, not a folder")
        amounts = {
            "cash_to_generate": cash_to_generate,
            "mccar_pct": mccar_pct,
            "cash_to_invest": cash_to_invest,
            "min_trade_value": min_trade_value,
        }
        rates = TaxRates(short_term=short_term_rate, long_term=long_term_rate)
        try:
            chosen = chosen_logics(logics, amounts)
            check_amounts(chosen, amounts)
        except InputError as err:
            raise _fail(flag_error(err)) from None
        from trimtab.cluster import SCHEDULER_ENV

        spread = Spread(cluster or os.environ.get(SCHEDULER_ENV), partition_size, parts_dir)
        if book is not None:
            compared = _from_book(
                book, chosen, amounts, rates, rounding, share_decimals, as_of, workers, spread, out
            )
            title = str(book)
        else:
            if rounding != "whole_shares" or as_of is not None:
                option = "--as-of" if as_of is not None else "--rounding"
                raise _fail(f"{option}: not taken with --firm (the service's own options apply)")
            compared = _from_firm(firm, db, user, chosen, amounts, rates, spread.address)
            title = f"firm {firm}"
        from trimtab.whatif.report import print_comparison, write_comparison

        print_comparison(compared, top=top)
        if out is not None:
            written = write_comparison(compared, out, top=top, title=title)
            sys.stderr.write(f"wrote {len(written)} files to {out}\n")


def _from_book(
    book: Path,
    chosen: tuple[Method, ...],
    amounts: dict[str, float | None],
    rates: TaxRates,
    rounding: str,
    share_decimals: int,
    as_of: str | None,
    workers: int,
    spread: Spread,
    out: Path | None,
) -> Comparison:
    """The comparison of a book folder: in this process, or on ``spread``'s cluster."""
    from trimtab.io.book_run import load_for_proposing, parse_as_of
    from trimtab.whatif.book import book_runs, compare_book

    try:
        runs = book_runs(chosen, rounding=rounding, share_decimals=share_decimals, amounts=amounts)
        when = parse_as_of(as_of)
        if spread.address:
            from trimtab.cluster import cluster_compare

            compared, _ = cluster_compare(
                book,
                runs,
                when,
                rates,
                out=out,
                address=spread.address,
                partition_size=spread.partition_size,
                parts_dir=spread.parts_dir,
            )
            return compared
        loaded, rules = load_for_proposing(book, chosen, when)
    except InputError as err:
        raise _fail(flag_error(err)) from None
    return compare_book(loaded, runs, rules=rules, rates=rates, workers=workers)


def _from_firm(
    firm: str | None,
    db: str | None,
    user: str | None,
    chosen: tuple[Method, ...],
    amounts: dict[str, float | None],
    rates: TaxRates,
    address: str | None,
) -> Comparison:
    """The comparison of the firm's current book: in this process, or on the cluster at
    ``address``, whose workers read the store at ``db`` themselves."""
    from datetime import UTC, datetime

    from trimtab.cli._common import run_in
    from trimtab.service.whatif import compare_firm_book

    if not firm:
        raise _fail("BOOK: give a book folder, or --firm for the firm's current book")
    if not user:
        raise _fail("--user: required with --firm (or set TRIMTAB_USER)")
    now = datetime.now(UTC)
    spread = None
    if address:
        from trimtab.cluster.evaluate import ClusterRun
        from trimtab.store.migrate import database_url

        try:
            spread = ClusterRun(address, database_url(db))
        except InputError as err:
            raise _fail(flag_error(err)) from None
    return run_in(
        db,
        firm,
        lambda uow: compare_firm_book(
            uow, actor=user, logics=chosen, amounts=amounts, rates=rates, now=now, cluster=spread
        ),
    )
