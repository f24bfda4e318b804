"""Book commands: ``drift``, ``propose-book`` and ``demo-book`` (book-format.md)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from trimtab.cli._flags import flag_error
from trimtab.errors import InputError

Rounding = Annotated[str, typer.Option(help="whole_shares or fractional.")]
ShareDecimals = Annotated[int, typer.Option(min=0, max=9)]
Dollars = Annotated[float | None, typer.Option(min=0)]
Percent = Annotated[float | None, typer.Option(min=0, max=100)]
AsOf = Annotated[
    str | None, typer.Option("--as-of", help="Date rules are evaluated at (YYYY-MM-DD).")
]
Workers = Annotated[int, typer.Option(min=1, help="Threads.")]
"""The options ``propose-book`` and ``compare-book`` share."""


def _fail(message: str) -> typer.Exit:
    sys.stderr.write(f"trimtab: {message}\n")
    return typer.Exit(2)


def _check_out(out: Path | None) -> None:
    if out is not None and out.suffix not in (".csv", ".parquet"):
        raise _fail(f"--out: must end in .csv or .parquet, got {out.name!r}")


Cluster = Annotated[
    str | None,
    typer.Option(
        "--cluster",
        envvar="TRIMTAB_DASK_SCHEDULER",
        help="Dask scheduler address, or local:N for N worker processes here (docs/cluster.md).",
    ),
]
PartitionSize = Annotated[
    int, typer.Option("--partition-size", min=1, help="Accounts per partition with --cluster.")
]
PartsDir = Annotated[
    Path | None,
    typer.Option(
        "--parts-dir",
        help="Folder for the partitions' files with --cluster, shared by every worker "
        "(default: beside --out).",
    ),
]


def register(app: typer.Typer) -> None:
    """Add the book commands to ``app``."""

    @app.command()
    def drift(
        book: Annotated[Path, typer.Argument(help="Book folder (CSV or Parquet tables).")],
        out: Annotated[Path | None, typer.Option(help="Output .csv or .parquet file.")] = None,
        workers: Annotated[int, typer.Option(min=1, help="Threads.")] = 2,
        cluster: Cluster = None,
        partition_size: PartitionSize = 20_000,
        parts_dir: PartsDir = None,
    ) -> None:
        """Drift of every account: value, largest drift, out-of-band count, flagged."""
        from trimtab.io.batch import drift_table, write_output
        from trimtab.io.book_run import drift_book_of

        _check_out(out)
        try:
            if cluster:
                from trimtab.cluster import cluster_drift

                cluster_drift(
                    book,
                    out,
                    address=cluster,
                    partition_size=partition_size,
                    parts_dir=parts_dir,
                )
                return
            loaded = drift_book_of(book)
        except InputError as err:
            raise _fail(flag_error(err)) from None
        write_output(drift_table(loaded, workers=workers), out)

    @app.command("propose-book")
    def propose_book(
        book: Annotated[Path, typer.Argument(help="Book folder (CSV or Parquet tables).")],
        method: Annotated[
            str,
            typer.Option(
                "--logic",
                "--method",
                help="Trade logic (a scenario's method), e.g. best_fit (docs/concepts.md).",
            ),
        ],
        out: Annotated[Path | None, typer.Option(help="Trades .csv or .parquet file.")] = None,
        status_out: Annotated[
            Path | None,
            typer.Option("--status-out", help="Per-account status file (default: beside --out)."),
        ] = None,
        rounding: Rounding = "whole_shares",
        share_decimals: ShareDecimals = 3,
        cash_to_generate: Dollars = None,
        mccar_pct: Percent = None,
        cash_to_invest: Dollars = None,
        min_trade_value: Annotated[float, typer.Option(min=0)] = 0.0,
        as_of: AsOf = None,
        workers: Workers = 2,
        cluster: Cluster = None,
        partition_size: PartitionSize = 20_000,
        parts_dir: PartsDir = None,
    ) -> None:
        """Trades for every account: one row per buy or sell, same numbers as ``propose``.

        A book with rule tables (restrictions, locks, transactions, short_term_windows) or
        tax lots needs ``--as-of``; every logic then honours them (docs/rules.md).
        """
        from trimtab.io.batch import batch_options, write_proposals
        from trimtab.io.book_run import parse_as_of, proposal_run

        _check_out(out)
        _check_out(status_out)
        try:
            chosen, options = batch_options(
                method=method,
                rounding=rounding,
                share_decimals=share_decimals,
                cash_to_generate=cash_to_generate,
                mccar_pct=mccar_pct,
                cash_to_invest=cash_to_invest,
                min_trade_value=min_trade_value,
            )
            when = parse_as_of(as_of)
            if status_out is None and out is not None:
                status_out = out.with_name(f"{out.stem}.status{out.suffix}")
            if cluster:
                from trimtab.cluster import cluster_propose

                cluster_propose(
                    book,
                    chosen,
                    options,
                    when,
                    out=out,
                    status_out=status_out,
                    address=cluster,
                    partition_size=partition_size,
                    parts_dir=parts_dir,
                )
                return
            run = proposal_run(book, chosen, options, when)
        except InputError as err:
            raise _fail(flag_error(err)) from None
        write_proposals(
            run.loaded,
            run.method,
            run.options,
            out=out,
            status_out=status_out,
            workers=workers,
            rules=run.rules,
        )

    @app.command("demo-book")
    def demo_book(
        folder: Annotated[Path, typer.Argument(help="Folder to write the book into.")],
        accounts: Annotated[int, typer.Option(min=1, help="Number of accounts.")] = 1000,
        securities: Annotated[int, typer.Option(min=2)] = 500,
        models: Annotated[int, typer.Option(min=1)] = 200,
        seed: Annotated[int, typer.Option()] = 7,
        fmt: Annotated[str, typer.Option("--format", help="csv or parquet.")] = "csv",
        lots: Annotated[bool, typer.Option(help="Also write tax lots.")] = False,
    ) -> None:
        """Write a realistic synthetic book (seeded)."""
        from trimtab.io.demo import DemoSpec, demo_tables, write_book

        if fmt not in ("csv", "parquet"):
            raise _fail(f"--format: must be csv or parquet, got {fmt!r}")
        spec = DemoSpec(
            accounts=accounts, securities=securities, models=models, seed=seed, lots=lots
        )
        write_book(folder, demo_tables(spec), fmt)
        sys.stderr.write(f"wrote {accounts} accounts to {folder}\n")
