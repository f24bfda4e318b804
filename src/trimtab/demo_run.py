"""The main job of ``make run``: a demo book, its drift, the proposals that fix it, a day
of the service, and the web app serving it.

Writes a seeded synthetic book to ``./demo-book`` (once), evaluates drift for every account,
proposes rebalance-to-tolerance trades for the whole book, then loads the book into an SQLite
database (``demo-book/trimtab-demo.db``) and runs the next market day's evaluation, printing
readable tables. Last, it gives the demo firm a user of each role with a new password,
prints them, and serves the web app and API on http://127.0.0.1:8000/ (the port of
``TRIMTAB_DEMO_PORT``; ``0`` skips serving) until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
from rich.console import Console
from rich.table import Table

from trimtab.core.book import drift_book
from trimtab.core.engine import Method, TradeOptions
from trimtab.io.batch import propose_tables
from trimtab.io.book import LoadedBook, read_book
from trimtab.io.demo import DemoSpec, demo_tables, write_book

DEMO_FOLDER = Path("demo-book")
DEMO_ACCOUNTS = 2_000


def main() -> None:
    """Run the demo end to end on embedded defaults."""
    console = Console(width=max(Console().width, 110))
    if not (DEMO_FOLDER / "accounts.csv").is_file():
        write_book(DEMO_FOLDER, demo_tables(DemoSpec(accounts=DEMO_ACCOUNTS)), "csv")
        console.print(f"Wrote a demo book of {DEMO_ACCOUNTS:,} accounts to ./{DEMO_FOLDER}/")
    started = time.perf_counter()
    loaded = read_book(DEMO_FOLDER)
    result = drift_book(loaded.arrays)
    flagged = result.out_of_band > 0
    console.print(
        f"\n[bold]Drift[/bold]: {loaded.arrays.size:,} accounts, "
        f"${result.value.sum():,.0f} under management, {int(flagged.sum()):,} outside their bands"
    )
    worst = np.argsort(-result.max_drift)[:10]
    table = Table(title="Most drifted accounts")
    for name in ("Account", "Value $", "Largest drift (points)", "Out of band"):
        table.add_column(name, justify="left" if name == "Account" else "right")
    for i in worst:
        table.add_row(
            str(loaded.account_ids[int(i)]),
            f"{result.value[i]:,.2f}",
            f"{result.max_drift[i] * 100:.2f}",
            str(int(result.out_of_band[i])),
        )
    console.print(table)

    method = Method.REBALANCE_TO_TOLERANCE
    trades, statuses = propose_tables(loaded, method, TradeOptions(min_trade_value=0.0))
    elapsed = time.perf_counter() - started
    buys = trades.filter(pc.equal(trades.column("action"), "buy"))
    sells = trades.filter(pc.equal(trades.column("action"), "sell"))
    console.print(
        f"\n[bold]Proposals[/bold] ({method.value}): {trades.num_rows:,} trades — "
        f"{buys.num_rows:,} buys for ${sum(buys.column('order_value').to_pylist()):,.2f}, "
        f"{sells.num_rows:,} sells for ${sum(sells.column('order_value').to_pylist()):,.2f}"
    )
    status = statuses.column("status").to_pylist()
    for label in ("success", "part_success", "failed"):
        console.print(f"  {label}: {status.count(label):,} accounts")
    first = str(loaded.account_ids[int(worst[0])])
    detail = Table(title=f"Trades for {first}, the most drifted account")
    for name in ("Symbol", "Action", "Shares", "$ Price", "$ Order"):
        detail.add_column(name, justify="left" if name in ("Symbol", "Action") else "right")
    mine = trades.filter(pc.equal(trades.column("account_id"), first))
    for row in mine.to_pylist():
        detail.add_row(
            row["symbol"],
            row["action"],
            f"{row['quantity']:,.6f}".rstrip("0").rstrip("."),
            f"{row['price']:,.2f}",
            f"{row['order_value']:,.2f}",
        )
    console.print(detail)
    console.print(f"\nBatch work done in {elapsed:.2f} s.")
    what_if(console, loaded)
    service_day(console)
    console.print(
        f"\nTry: trimtab propose-book {DEMO_FOLDER} --logic rebalance_to_target --out trades.csv"
    )
    serve_demo(console, int(os.environ.get("TRIMTAB_DEMO_PORT") or 8000))


WHAT_IF = (
    Method.REBALANCE_TO_TARGET,
    Method.REBALANCE_TO_TOLERANCE,
    Method.REBALANCE_TO_TOLERANCE_OOT_ONLY,
    Method.BEST_FIT,
    Method.MINIMUM_TRANSACTION,
)


def what_if(console: Console, loaded: LoadedBook) -> None:
    """The full-rebalance logics over the whole demo book, side by side (docs/whatif.md)."""
    from trimtab.whatif.book import book_runs, compare_book
    from trimtab.whatif.report import print_comparison

    started = time.perf_counter()
    runs = book_runs(WHAT_IF, rounding="whole_shares", share_decimals=3, amounts={})
    compared = compare_book(loaded, runs)
    console.print()
    print_comparison(compared, top=5)
    console.print(
        f"What-if done in {time.perf_counter() - started:.1f} s; "
        f"try: trimtab compare-book {DEMO_FOLDER} --out whatif (report.html)"
    )


BOOK_DATE = date(2026, 11, 20)
"""The demo book's custodian date (a Friday); the service evaluates it on Monday."""


def service_day(console: Console) -> None:
    """Import the demo book into SQLite and run the next market day's evaluation."""
    from trimtab.errors import ConflictError
    from trimtab.service.access import add_firm
    from trimtab.service.evaluate import evaluate
    from trimtab.service.imports import import_book, read_book_folder
    from trimtab.service.market import previous_market_day
    from trimtab.store.migrate import make_engine, upgrade
    from trimtab.store.uow import UnitOfWork

    url = f"sqlite:///{DEMO_FOLDER / 'trimtab-demo.db'}"
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    with UnitOfWork(engine, "demo") as uow, contextlib.suppress(ConflictError):
        add_firm(uow, name="Demo Advisers", admin_id="ops", now=now)
    started = time.perf_counter()
    book = read_book_folder(DEMO_FOLDER)
    with UnitOfWork(engine, "demo") as uow:
        imported = import_book(uow, actor="ops", as_of=BOOK_DATE, folder=book, now=now)
    day = date(2026, 11, 23)
    assert previous_market_day(day) == BOOK_DATE
    with UnitOfWork(engine, "demo") as uow:
        summary = evaluate(uow, actor="ops", day=day, now=now)
    console.print(
        f"\n[bold]Service[/bold]: imported {sum(imported.rows.values()):,} rows for "
        f"{BOOK_DATE} into {url}; evaluated {summary.evaluated:,} accounts for {day}: "
        f"{summary.flagged:,} flagged into the queue ({time.perf_counter() - started:.1f} s)"
    )
    reasons = Table(title="Why accounts were flagged")
    reasons.add_column("Reason")
    reasons.add_column("Accounts", justify="right")
    for reason, count in sorted(summary.by_reason.items(), key=lambda kv: -kv[1]):
        if count:
            reasons.add_row(reason, f"{count:,}")
    console.print(reasons)
    engine.dispose()


DEMO_USERS = (
    ("ops", "admin"),
    ("olivia", "operator"),
    ("adam", "approver"),
    ("beth", "approver"),
    ("victor", "viewer"),
)
"""The demo firm's users: ``ops`` (its admin) and one of each other role; two approvers, so
a request that needs a second approver can get one."""


def serve_demo(console: Console, port: int) -> None:
    """Give every demo user a new password, print them, and serve the web app on ``port``
    of 127.0.0.1 (``0``: print the passwords only)."""
    from trimtab.errors import ConflictError
    from trimtab.service.access import add_user
    from trimtab.service.credentials import set_password
    from trimtab.store.migrate import make_engine
    from trimtab.store.uow import UnitOfWork

    engine = make_engine(f"sqlite:///{DEMO_FOLDER / 'trimtab-demo.db'}")
    now = datetime.now(UTC)
    users = Table(title="Sign in to the web app as (firm: demo)")
    for name in ("User", "Role", "Password"):
        users.add_column(name)
    for user_id, role in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        with UnitOfWork(engine, "demo") as uow:
            if role != "admin":
                with contextlib.suppress(ConflictError):
                    add_user(uow, actor="ops", user_id=user_id, role=role, now=now)
            set_password(uow, actor="ops", user_id=user_id, password=password, now=now)
        users.add_row(user_id, role, password)
    console.print(users)
    if port == 0:
        engine.dispose()
        return
    import uvicorn

    from trimtab.web import create_app

    console.print(
        f"\n[bold]Open http://127.0.0.1:{port}/[/bold] and sign in (firm [bold]demo[/bold]); "
        f"the API is at http://127.0.0.1:{port}/api/v1 (docs at /api/v1/docs). Ctrl-C stops."
    )
    uvicorn.run(create_app(engine=engine), host="127.0.0.1", port=port, log_level="warning")
    engine.dispose()


if __name__ == "__main__":
    main()
