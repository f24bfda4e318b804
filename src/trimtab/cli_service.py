"""Service commands: database, users, import, evaluate, queue, requests, orders, history.

Every command works on the database ``--db`` (default ``TRIMTAB_DATABASE_URL``, else
``./trimtab.db``), for the firm ``--firm`` (``TRIMTAB_FIRM``) as the user ``--user``
(``TRIMTAB_USER``). The schema is migrated to the newest version on first use.
Exit status: 0 success, 2 bad input or a request the stored state refuses.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from sqlalchemy import Engine

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
def _engine(db: str | None) -> Iterator[Engine]:
    engine = make_engine(db)
    try:
        ensure_schema(engine)
        yield engine
    finally:
        engine.dispose()


def _run(db: str | None, firm: str, work: Callable[[UnitOfWork], T]) -> T:
    """``work`` in a unit of work; trimtab errors become one line on stderr and exit 2."""
    with _engine(db) as engine:
        try:
            with UnitOfWork(engine, firm) as uow:
                return work(uow)
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

        with _engine(db) as engine:
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
        try:
            folder = read_book_folder(book)
        except InputError as err:
            raise _fail(str(err)) from None
        summary = _run(
            db,
            firm,
            lambda uow: import_book(uow, actor=user, as_of=day, folder=folder, now=_now(at)),
        )
        counts = ", ".join(f"{k} {v}" for k, v in sorted(summary.rows.items()))
        verb = "re-imported" if summary.replaced else "imported"
        typer.echo(f"{verb} {day}: {counts}; new model versions {summary.new_model_versions}")
