"""Service commands: database, users, import, evaluate, queue, requests, orders, history.

Every command works on the database ``--db`` (default ``TRIMTAB_DATABASE_URL``, else
``./trimtab.db``), for the firm ``--firm`` (``TRIMTAB_FIRM``) as the user ``--user``
(``TRIMTAB_USER``). The schema is migrated to the newest version on first use.
Exit status: 0 success, 2 bad input or a request the stored state refuses.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import ArgumentError, OperationalError

from trimtab.errors import TrimtabError
from trimtab.store.migrate import ensure_schema, make_engine
from trimtab.store.uow import UnitOfWork

T = TypeVar("T")

Db = Annotated[
    str | None,
    typer.Option(
        "--db", envvar="TRIMTAB_DATABASE_URL", help="Database URL (default ./trimtab.db)."
    ),
]
Firm = Annotated[str, typer.Option("--firm", envvar="TRIMTAB_FIRM", help="Firm id.")]
User = Annotated[str, typer.Option("--user", envvar="TRIMTAB_USER", help="Acting user id.")]
At = Annotated[
    str | None,
    typer.Option("--at", hidden=True, help="Act as at this ISO moment (testing and replays)."),
]


def _fail(message: str) -> typer.Exit:
    sys.stderr.write(f"trimtab: {message}\n")
    return typer.Exit(2)


def _now(at: str | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        raise _fail(f"--at: not an ISO date-time: {at!r}") from None
    if moment.tzinfo is None:
        raise _fail(f"--at: give a time zone, e.g. {at}+00:00")
    return moment


def _date(value: str, option: str = "--date") -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise _fail(f"{option}: not a date (YYYY-MM-DD): {value!r}") from None


@contextmanager
def _engine(db: str | None, *, create: bool = False) -> Iterator[Engine]:
    """The database of ``--db``, migrated; an unusable URL or server is exit 2.

    A SQLite file that does not exist is refused (a mistyped path would otherwise start an
    empty database) unless ``create``, which ``trimtab db upgrade`` passes.
    """
    from trimtab.store.migrate import database_url

    missing = _missing_sqlite_file(database_url(db))
    if missing is not None and not create:
        raise _fail(
            f"--db: no database at {missing}: create it with trimtab db upgrade --db "
            f"{database_url(db)}"
        )
    try:
        engine = make_engine(db)
    except (ArgumentError, ImportError, ValueError) as err:
        raise _fail(f"--db: not a usable database URL: {err}") from None
    try:
        try:
            ensure_schema(engine)
        except OperationalError as err:
            reason = " ".join(str(err.orig).split())
            raise _fail(f"--db: cannot open the database: {reason}") from None
        yield engine
    finally:
        engine.dispose()


def _missing_sqlite_file(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL when it does not exist (memory databases excluded)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def _run(
    db: str | None, firm: str, work: Callable[[UnitOfWork], T], flags: set[str] | None = None
) -> T:
    """``work`` in a unit of work; trimtab errors become one line on stderr and exit 2 (an
    input error about a field the command takes as one of ``flags`` names the flag)."""
    from trimtab.cli_book import flag_error
    from trimtab.errors import InputError

    with _engine(db) as engine:
        try:
            with UnitOfWork(engine, firm) as uow:
                return work(uow)
        except InputError as err:
            raise _fail(flag_error(err, flags or set())) from None
        except TrimtabError as err:
            raise _fail(str(err)) from None


def register(app: typer.Typer) -> None:
    """Add the service commands to ``app``."""
    db_app = typer.Typer(help="The database.", no_args_is_help=True)
    firm_app = typer.Typer(help="Firms.", no_args_is_help=True)
    user_app = typer.Typer(help="Users and roles.", no_args_is_help=True)
    app.add_typer(db_app, name="db")
    app.add_typer(firm_app, name="firm")
    app.add_typer(user_app, name="user")

    @db_app.command("upgrade")
    def db_upgrade(db: Db = None) -> None:
        """Create or migrate the database schema to the newest version."""
        from trimtab.store.migrate import current_revision

        with _engine(db, create=True) as engine:
            typer.echo(f"schema at revision {current_revision(engine)}")

    @firm_app.command("add")
    def firm_add(
        firm: Firm,
        admin: Annotated[str, typer.Option(help="Id of the firm's first user (admin).")],
        name: Annotated[str | None, typer.Option(help="Display name.")] = None,
        db: Db = None,
        at: At = None,
    ) -> None:
        """Create a firm and its first admin user."""
        from trimtab.service.access import add_firm

        _run(db, firm, lambda uow: add_firm(uow, name=name or firm, admin_id=admin, now=_now(at)))
        typer.echo(f"firm {firm} created with admin {admin}")

    @user_app.command("add")
    def user_add(
        user_id: Annotated[str, typer.Argument(help="The new user's id.")],
        role: Annotated[str, typer.Option(help="operator, approver or admin.")],
        firm: Firm,
        user: User,
        db: Db = None,
        at: At = None,
    ) -> None:
        """Add a user with a role (needs the admin role)."""
        from trimtab.service.access import add_user

        _run(
            db,
            firm,
            lambda uow: add_user(uow, actor=user, user_id=user_id, role=role, now=_now(at)),
        )
        typer.echo(f"user {user_id} added as {role}")

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

        day = _date(as_of)
        sys.stderr.write(f"reading {book}\n")
        try:
            folder = read_book_folder(book, day)
        except InputError as err:
            raise _fail(str(err)) from None
        from rich.console import Console

        with Console(stderr=True).status(f"importing {day}: checking the book") as status:
            summary = _run(
                db,
                firm,
                lambda uow: import_book(
                    uow,
                    actor=user,
                    as_of=day,
                    folder=folder,
                    now=_now(at),
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

    request_app = typer.Typer(help="Rebalance requests.", no_args_is_help=True)
    orders_app = typer.Typer(help="Orders.", no_args_is_help=True)
    app.add_typer(request_app, name="request")
    app.add_typer(orders_app, name="orders")

    @app.command()
    def queue(
        firm: Firm,
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

        every = _run(
            db, firm, lambda uow: list_queue(uow, pending=pending, reason=reason, sort=sort)
        )
        rows = every[:limit] if limit is not None else every
        table = Table("account", "evaluated", "value", "max drift", "reasons", "status")
        for r in rows:
            table.add_row(
                r.account_id,
                r.as_of.isoformat(),
                "" if r.value is None else f"{r.value:,.2f}",
                "" if r.max_drift_pct is None else f"{r.max_drift_pct:.2f}",
                r.reasons,
                "queued" if r.request_id is None else f"pending in request {r.request_id}",
            )
        waiting = sum(r.request_id is not None for r in every)
        shown = f"showing {len(rows)}: " if len(rows) < len(every) else ""
        _print(
            table,
            f"{shown}{len(every) - waiting} accounts in the queue"
            + (f", {waiting} pending in open requests" if pending else ""),
        )

    @request_app.command("submit")
    def request_submit(
        accounts: Annotated[str, typer.Option(help="Account ids, comma separated.")],
        logic: Annotated[str, typer.Option(help="Trade logic, e.g. rebalance_to_target.")],
        firm: Firm,
        user: User,
        cash_to_generate: Annotated[
            float | None, typer.Option(help="Dollars to raise per account (generate cash).")
        ] = None,
        mccar_pct: Annotated[
            float | None, typer.Option(help="Minimum cash, percent of value (generate cash).")
        ] = None,
        cash_to_invest: Annotated[
            float | None, typer.Option(help="Dollars to invest at most (invest cash).")
        ] = None,
        min_trade_value: Annotated[
            float | None, typer.Option(help="Minimum trade size in dollars (default 100).")
        ] = None,
        replace: Annotated[
            bool,
            typer.Option(help="Cancel the open requests these accounts are in, and submit."),
        ] = False,
        db: Db = None,
        at: At = None,
    ) -> None:
        """Compute proposals for accounts now, by any trade logic under every stored rule,
        and hold them for approval. household_rebalance takes each named account's whole
        household."""
        from trimtab.cli_book import OPTION_FLAGS
        from trimtab.service.requests import submit_request

        ids = [a for a in accounts.split(",") if a.strip()]
        amounts = {
            "cash_to_generate": cash_to_generate,
            "mccar_pct": mccar_pct,
            "cash_to_invest": cash_to_invest,
            "min_trade_value": min_trade_value,
        }
        done = _run(
            db,
            firm,
            lambda uow: submit_request(
                uow,
                actor=user,
                account_ids=ids,
                logic=logic,
                now=_now(at),
                amounts={k: v for k, v in amounts.items() if v is not None},
                replace=replace,
            ),
            flags={*OPTION_FLAGS, "logic", "accounts"},
        )
        for warning in done.warnings:
            sys.stderr.write(f"trimtab: warning: {warning}\n")
        failed = [a for a, s in done.proposals.items() if s == "failed"]
        typer.echo(
            f"request {done.request_id} {done.status}: {len(done.proposals)} accounts"
            + (f", failed: {', '.join(failed)}" if failed else "")
            + ("; needs an approver other than the submitter" if done.needs_second_approver else "")
        )

    @request_app.command("show")
    def request_show(
        request_id: Annotated[int, typer.Argument(help="Request id.")],
        firm: Firm,
        db: Db = None,
        fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    ) -> None:
        """A request with each account's proposal and trades."""
        from trimtab.service.requests import show_request
        from trimtab.store.uow import audit_json

        if fmt not in ("table", "json"):
            raise _fail(f"--format: must be table or json, got {fmt!r}")
        shown = _run(db, firm, lambda uow: show_request(uow, request_id=request_id))
        if fmt == "json":
            typer.echo(audit_json(shown))
            return
        req = shown["request"]
        typer.echo(
            f"request {req['request_id']} {req['status']} logic {req['logic']} "
            f"by {req['submitted_by']} at {req['submitted_at']:%Y-%m-%d %H:%M} UTC, "
            f"prices of {req['price_date']}, expires {req['expires_at']:%Y-%m-%d %H:%M} UTC"
            + (f"\nissue: {req['issue']}" if req["issue"] else "")
        )
        table = Table("account", "status", "symbol", "action", "quantity", "price", "value", "gain")
        for p in shown["proposals"]:
            table.add_row(
                p["account_id"],
                p["status"],
                "",
                "",
                "",
                "",
                f"{p['value']:,.2f}",
                f"{p['realised_gain']:,.2f}",
            )
            if p["message"]:
                table.add_row("", p["message"], "", "", "", "", "", "")
            for x in p["trades"]:
                table.add_row(
                    "",
                    "",
                    f"{x['symbol']} (APM)" if x.get("sleeve") == "apm" else x["symbol"],
                    x["action"],
                    _num(x["quantity"]),
                    _num(x["price"]),
                    f"{x['order_value']:,.2f}",
                    f"{x['realised_gain']:,.2f}",
                )
        _print(table, None)
        for house in json.loads(req["households"]) if req.get("households") else []:
            weights = Table(
                "symbol", "weight before %", "after %", title=f"household {house['id']}"
            )
            for symbol, before in house["weights_before_pct"].items():
                weights.add_row(
                    symbol, f"{before:.2f}", f"{house['weights_after_pct'][symbol]:.2f}"
                )
            weights.add_row(
                "cash", f"{house['cash_before_pct']:.2f}", f"{house['cash_after_pct']:.2f}"
            )
            _print(weights, None)

    def _decision(name: str, work: Callable[..., object]) -> Callable[..., None]:
        def command(
            request_id: Annotated[int, typer.Argument(help="Request id.")],
            firm: Firm,
            user: User,
            db: Db = None,
            at: At = None,
        ) -> None:
            result = _run(
                db, firm, lambda uow: work(uow, actor=user, request_id=request_id, now=_now(at))
            )
            typer.echo(f"request {request_id}: {result if isinstance(result, str) else name}")

        return command

    from trimtab.service import requests as rq

    @request_app.command("approve")
    def request_approve(
        request_id: Annotated[int, typer.Argument(help="Request id.")],
        firm: Firm,
        user: User,
        db: Db = None,
        at: At = None,
    ) -> None:
        """Approve a pending request: creates its orders."""
        done = _run(
            db,
            firm,
            lambda uow: rq.approve_request(uow, actor=user, request_id=request_id, now=_now(at)),
        )
        typer.echo(
            f"request {request_id}: {done.status}; {done.orders} orders trading "
            f"{done.trade_date}" + (" (best effort)" if done.best_effort else "")
        )

    request_app.command("cancel", help="Cancel a pending request.")(
        _decision("canceled", rq.cancel_request)
    )

    @request_app.command("resubmit")
    def request_resubmit(
        request_id: Annotated[int, typer.Argument(help="Request whose failed accounts to retry.")],
        firm: Firm,
        user: User,
        db: Db = None,
        at: At = None,
    ) -> None:
        """Submit again the accounts that failed in a request."""
        done = _run(
            db,
            firm,
            lambda uow: rq.resubmit_failed(uow, actor=user, request_id=request_id, now=_now(at)),
        )
        typer.echo(f"request {done.request_id} {done.status}: {len(done.proposals)} accounts")

    @request_app.command("expire")
    def request_expire(firm: Firm, user: User, db: Db = None, at: At = None) -> None:
        """Expire pending requests not approved by the end of the next business day."""
        ids = _run(db, firm, lambda uow: rq.expire_requests(uow, actor=user, now=_now(at)))
        typer.echo(
            f"expired {len(ids)} requests" + (f": {', '.join(map(str, ids))}" if ids else "")
        )

    @app.command()
    def history(
        firm: Firm,
        db: Db = None,
        pending: Annotated[
            bool, typer.Option("--pending", help="Show pending requests instead.")
        ] = False,
        limit: Annotated[int, typer.Option(min=1)] = 50,
    ) -> None:
        """Decided requests, newest first (or pending ones with --pending)."""
        rows = _run(db, firm, lambda uow: rq.list_requests(uow, pending=pending, limit=limit))
        table = Table(
            "request", "status", "logic", "submitted by", "submitted", "decided by", "issue"
        )
        for r in rows:
            table.add_row(
                str(r.request_id),
                r.status,
                r.logic,
                r.submitted_by,
                f"{r.submitted_at:%Y-%m-%d %H:%M}",
                r.decided_by or "",
                r.issue or "",
            )
        _print(table, f"{len(rows)} requests")

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

        day = _date(as_of) if as_of is not None else None
        if day is None and batch is None:
            day = trade_date(_now(at))[0]  # the orders approved now trade that day
        partial = _output(out, force)

        def sink(data: bytes) -> None:
            if partial is None:
                sys.stdout.buffer.write(data)
                sys.stdout.flush()
            else:
                partial.write_bytes(data)

        try:
            done = _run(
                db,
                firm,
                lambda uow: export_orders(
                    uow,
                    actor=user,
                    day=day,
                    fmt=fmt,
                    sink=sink,
                    now=_now(at),
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

    @app.command()
    def evaluate(
        as_of: Annotated[str, typer.Option("--date", help="Market day to evaluate, YYYY-MM-DD.")],
        firm: Firm,
        user: User,
        db: Db = None,
        at: At = None,
        chunk: Annotated[int, typer.Option(min=1, help="Accounts written per commit.")] = 5000,
    ) -> None:
        """Flag accounts for rebalancing on the book of the previous market day."""
        from rich.progress import Progress

        from trimtab.service.evaluate import evaluate as run_evaluation

        day = _date(as_of)
        written = [0]
        try:
            with Progress(transient=True) as bar:
                task = bar.add_task(f"evaluating {day}", total=None)

                def progress(done: int, total: int) -> None:
                    written[0] = done
                    bar.update(task, completed=done, total=total)

                summary = _run(
                    db,
                    firm,
                    lambda uow: run_evaluation(
                        uow, actor=user, day=day, now=_now(at), progress=progress, chunk=chunk
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

    account_app = typer.Typer(help="Account settings.", no_args_is_help=True)
    app.add_typer(account_app, name="account")

    @account_app.command("set")
    def account_set(
        account_id: Annotated[str, typer.Argument(help="Account id.")],
        firm: Firm,
        user: User,
        rebalancing: Annotated[
            bool | None, typer.Option("--rebalancing/--no-rebalancing", help="The switch.")
        ] = None,
        hold: Annotated[
            bool | None, typer.Option("--hold/--no-hold", help="Trade hold on or off.")
        ] = None,
        hold_until: Annotated[
            str | None, typer.Option(help="With --hold: last day of the hold, YYYY-MM-DD.")
        ] = None,
        lot_method: Annotated[
            str | None, typer.Option(help="fifo, lifo, hifo or minimum_tax.")
        ] = None,
        drift: Annotated[
            list[str] | None,
            typer.Option("--set", help="Drift parameter NAME=VALUE (see docs/service.md)."),
        ] = None,
        held_away: Annotated[
            bool | None,
            typer.Option(
                "--held-away/--managed",
                help="Held away: never traded, its trades count for household wash sales.",
            ),
        ] = None,
        db: Db = None,
        at: At = None,
    ) -> None:
        """Change an account's rebalancing switch, trade hold, lot method, drift parameters
        or held-away flag."""
        from trimtab.errors import InputError
        from trimtab.service.accounts import AccountChange, parse_drift, update_account

        try:
            params = parse_drift(drift or [])
        except InputError as err:
            raise _fail(str(err)) from None
        change = AccountChange(
            rebalancing=rebalancing,
            trade_hold=hold,
            hold_until=_date(hold_until, "--hold-until") if hold_until else None,
            lot_method=lot_method,
            drift=params,
            held_away=held_away,
        )
        after = _run(
            db,
            firm,
            lambda uow: update_account(
                uow, actor=user, account_id=account_id, change=change, now=_now(at)
            ),
        )
        shown = ", ".join(f"{k} {_num(v)}" for k, v in after.items())
        typer.echo(f"account {account_id}: {shown}")

    @account_app.command("history")
    def account_history(
        account_id: Annotated[str, typer.Argument(help="Account id.")],
        firm: Firm,
        db: Db = None,
    ) -> None:
        """The account's rebalancing switch history."""
        from trimtab.service.accounts import switch_history

        rows = _run(db, firm, lambda uow: switch_history(uow, account_id=account_id))
        table = Table("effective", "rebalancing", "changed by", "at (UTC)")
        for r in rows:
            table.add_row(
                r.effective.isoformat(),
                "on" if r.rebalancing else "off",
                r.changed_by,
                f"{r.changed_at:%Y-%m-%d %H:%M}",
            )
        _print(table, None)


def _output(out: Path | None, force: bool) -> Path | None:
    """A temporary file beside ``out`` to write first (``None`` for standard output).

    ``out`` is refused when its folder is missing, or when it exists and ``force`` is not
    given: an export never overwrites a file unasked.
    """
    if out is None:
        return None
    if not out.parent.is_dir():
        raise _fail(f"--out: folder {out.parent} does not exist")
    if out.exists() and not force:
        raise _fail(f"--out: {out} exists; pass --force to overwrite it")
    return out.with_name(f".{out.name}.partial")


def _num(value: object) -> str:
    from decimal import Decimal

    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


def _print(table: Table, footer: str | None) -> None:
    from rich.console import Console

    console = Console(width=160)
    console.print(table)
    if footer:
        console.print(footer)
