"""Orders: ``trimtab orders export`` as CSV or FIX 4.4."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from trimtab.cli._common import (
    At,
    Db,
    Firm,
    User,
    group,
    moment,
    output_path,
    parse_date,
    run_in,
)


def register(app: typer.Typer) -> None:
    """Add these commands to ``app``."""
    orders_app = group(app, "orders", "Orders.")

    @orders_app.command("export")
    def orders_export(
        firm: Firm,
        user: User,
        as_of: Annotated[str | None, typer.Option("--date", help="Trade date, YYYY-MM-DD.")] = None,
        fmt: Annotated[str, typer.Option("--format", help="csv or fix.")] = "csv",
        out: Annotated[Path | None, typer.Option(help="File to write (default stdout).")] = None,
        force: Annotated[
            bool, typer.Option("--force", help="Overwrite --out if it exists.")
        ] = False,
        again: Annotated[
            bool, typer.Option("--all", help="Every order of the date, exported before or not.")
        ] = False,
        batch: Annotated[
            int | None, typer.Option("--batch", help="Write an earlier export (its id) again.")
        ] = None,
        db: Db = None,
        at: At = None,
    ) -> None:
        """Write the orders of a trade date not exported before in this format (or again)."""
        from trimtab.service.market import trade_date
        from trimtab.service.orders import export_orders

        day = parse_date(as_of) if as_of is not None else None
        if day is None and batch is None:
            day = trade_date(moment(at))[0]  # the orders approved now trade that day
        partial = output_path(out, force)

        def sink(data: bytes) -> None:
            if partial is None:
                sys.stdout.buffer.write(data)
                sys.stdout.flush()
            else:
                partial.write_bytes(data)

        try:
            done = run_in(
                db,
                firm,
                lambda uow: export_orders(
                    uow,
                    actor=user,
                    day=day,
                    fmt=fmt,
                    sink=sink,
                    now=moment(at),
                    again=again,
                    batch=batch,
                ),
            )
            if partial is not None and out is not None and done.orders:
                partial.replace(out)  # only once the export is committed
        finally:
            if partial is not None:
                partial.unlink(missing_ok=True)
        if not done.orders:
            sys.stderr.write(f"trimtab: nothing written: {done.note}\n")
            return
        what = {"new": "", "all": " (all, again)", "batch": f" (export {batch} again)"}[done.kind]
        sys.stderr.write(
            f"exported {done.orders} orders trading {done.trade_date} as {done.fmt}{what} "
            f"to {out if out is not None else 'standard output'}: export {done.export_id}\n"
        )
