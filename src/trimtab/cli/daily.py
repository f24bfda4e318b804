"""The morning's work: ``trimtab import`` a book, ``evaluate`` it, see the ``queue``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from trimtab.cli._common import (
    At,
    Db,
    Firm,
    User,
    fail,
    moment,
    parse_date,
    run_in,
    show,
)
from trimtab.cli.book import Cluster, PartitionSize


def register(app: typer.Typer) -> None:
    """Add these commands to ``app``."""

    @app.command("import")
    def import_(
        book: Annotated[
            Path, typer.Argument(help="Book folder (book-format.md + service tables).")
        ],
        as_of: Annotated[str, typer.Option("--date", help="The book's date, YYYY-MM-DD.")],
        firm: Firm,
        user: User,
        db: Db = None,
        at: At = None,
    ) -> None:
        """Load a book folder as the firm's data at a date: all or nothing, idempotent."""
        from trimtab.errors import InputError
        from trimtab.service.imports import import_book, read_book_folder

        day = parse_date(as_of)
        sys.stderr.write(f"reading {book}\n")
        try:
            folder = read_book_folder(book, day)
        except InputError as err:
            raise fail(str(err)) from None
        from rich.console import Console

        with Console(stderr=True).status(f"importing {day}: checking the book") as status:
            summary = run_in(
                db,
                firm,
                lambda uow: import_book(
                    uow,
                    actor=user,
                    as_of=day,
                    folder=folder,
                    now=moment(at),
                    progress=lambda stage: status.update(f"importing {day}: {stage}"),
                ),
            )

        def counted(name: str, n: int) -> str:
            parts = [f"{summary.new[name]} new"] if name in summary.new else []
            if summary.changed.get(name):
                parts.append(f"{summary.changed[name]} changed")
            return f"{name} {n:,}" + (f" ({', '.join(parts)})" if parts else "")

        counts = ", ".join(counted(k, v) for k, v in sorted(summary.rows.items()))
        verb = "re-imported" if summary.replaced else "imported"
        typer.echo(f"{verb} {day}: {counts}; new model versions {summary.new_model_versions}")

    @app.command()
    def queue(
        firm: Firm,
        user: User,
        db: Db = None,
        sort: Annotated[
            str, typer.Option(help="account, drift (largest first), value or evaluated.")
        ] = "account",
        reason: Annotated[str | None, typer.Option(help="Only accounts with this reason.")] = None,
        limit: Annotated[int | None, typer.Option(min=1, help="Show at most this many.")] = None,
        pending: Annotated[
            bool, typer.Option("--pending", help="Also accounts waiting in an open request.")
        ] = False,
    ) -> None:
        """Accounts flagged for rebalancing and not yet submitted, with their reasons."""
        from trimtab.service.requests import list_queue

        every = run_in(
            db,
            firm,
            lambda uow: list_queue(uow, actor=user, pending=pending, reason=reason, sort=sort),
        )
        rows = every[:limit] if limit is not None else every
        table = Table("account", "evaluated", "value", "max drift", "reasons", "status")
        for r in rows:
            table.add_row(
                r.account_id,
                r.as_of.isoformat(),
                "" if r.value is None else f"{r.value:,.2f}",
                "" if r.max_drift_pct is None else f"{r.max_drift_pct:.2f}",
                ",".join(r.reasons),
                "queued" if r.request_id is None else f"pending in request {r.request_id}",
            )
        waiting = sum(r.request_id is not None for r in every)
        shown = f"showing {len(rows)}: " if len(rows) < len(every) else ""
        show(
            table,
            f"{shown}{len(every) - waiting} accounts in the queue"
            + (f", {waiting} pending in open requests" if pending else ""),
        )

    @app.command()
    def evaluate(
        as_of: Annotated[str, typer.Option("--date", help="Market day to evaluate, YYYY-MM-DD.")],
        firm: Firm,
        user: User,
        db: Db = None,
        at: At = None,
        chunk: Annotated[int, typer.Option(min=1, help="Accounts written per commit.")] = 5000,
        cluster: Cluster = None,
        partition_size: PartitionSize = 20_000,
    ) -> None:
        """Flag accounts for rebalancing on the book of the previous market day."""
        from rich.progress import Progress

        from trimtab.service.evaluate import evaluate as run_evaluation

        day = parse_date(as_of)
        spread = None
        if cluster:
            from trimtab.cluster.evaluate import ClusterRun
            from trimtab.store.migrate import database_url

            spread = ClusterRun(cluster, database_url(db), partition_size=partition_size)
        written = [0]
        try:
            with Progress(transient=True) as bar:
                task = bar.add_task(f"evaluating {day}", total=None)

                def progress(done: int, total: int) -> None:
                    written[0] = done
                    bar.update(task, completed=done, total=total)

                summary = run_in(
                    db,
                    firm,
                    lambda uow: run_evaluation(
                        uow,
                        actor=user,
                        day=day,
                        now=moment(at),
                        progress=progress,
                        chunk=chunk,
                        cluster=spread,
                    ),
                )
        except KeyboardInterrupt:
            sys.stderr.write(
                f"trimtab: interrupted with {written[0]} accounts of {day} stored; "
                "run the same command again to resume\n"
            )
            raise typer.Exit(130) from None
        reasons = ", ".join(f"{k} {v}" for k, v in summary.by_reason.items() if v)
        typer.echo(
            f"{'resumed and ' if summary.resumed else ''}evaluated {summary.evaluated} accounts "
            f"on the book of {summary.data_date}: {summary.flagged} flagged"
            + (f" ({reasons})" if reasons else "")
        )
        if summary.skipped:
            shown = ", ".join(summary.skipped[:20]) + (" ..." if len(summary.skipped) > 20 else "")
            typer.echo(f"skipped for trade hold: {len(summary.skipped)} ({shown})")
