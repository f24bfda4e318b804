"""What every service command shares: its options, the database, errors and printing.

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
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.exc import ArgumentError, OperationalError

from trimtab.cli._flags import flag_error
from trimtab.errors import InputError, TrimtabError
from trimtab.settings import ENV
from trimtab.store.migrate import ensure_schema, make_engine
from trimtab.store.uow import UnitOfWork

T = TypeVar("T")

Db = Annotated[
    str | None,
    typer.Option("--db", envvar=ENV["database_url"], help="Database URL (default ./trimtab.db)."),
]
Firm = Annotated[str, typer.Option("--firm", envvar=ENV["firm"], help="Firm id.")]
User = Annotated[str, typer.Option("--user", envvar=ENV["user"], help="Acting user id.")]
At = Annotated[
    str | None,
    typer.Option("--at", hidden=True, help="Act as at this ISO moment (testing and replays)."),
]


def fail(message: str) -> typer.Exit:
    sys.stderr.write(f"trimtab: {message}\n")
    return typer.Exit(2)


def moment(at: str | None) -> datetime:
    if at is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        raise fail(f"--at: not an ISO date-time: {at!r}") from None
    if moment.tzinfo is None:
        raise fail(f"--at: give a time zone, e.g. {at}+00:00")
    return moment


def parse_date(value: str, option: str = "--date") -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option}: not a date (YYYY-MM-DD): {value!r}") from None


@contextmanager
def database(db: str | None, *, create: bool = False) -> Iterator[Engine]:
    """The database of ``--db``, migrated; an unusable URL or server is exit 2.

    A SQLite file that does not exist is refused (a mistyped path would otherwise start an
    empty database) unless ``create``, which ``trimtab db upgrade`` passes.
    """
    from trimtab.store.migrate import database_url

    missing = missing_sqlite_file(database_url(db))
    if missing is not None and not create:
        raise fail(
            f"--db: no database at {missing}: create it with trimtab db upgrade --db "
            f"{database_url(db)}"
        )
    try:
        engine = make_engine(db)
    except (ArgumentError, ImportError, ValueError) as err:
        raise fail(f"--db: not a usable database URL: {err}") from None
    try:
        try:
            ensure_schema(engine)
        except OperationalError as err:
            reason = " ".join(str(err.orig).split())
            raise fail(f"--db: cannot open the database: {reason}") from None
        yield engine
    finally:
        engine.dispose()


def missing_sqlite_file(url: str) -> Path | None:
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


def run_in(db: str | None, firm: str, work: Callable[[UnitOfWork], T]) -> T:
    """``work`` in a unit of work; trimtab errors become one line on stderr and exit 2 (an
    input error names the flag of its field, :func:`~trimtab.cli._flags.flag_error`)."""
    with database(db) as engine:
        try:
            with UnitOfWork(engine, firm) as uow:
                return work(uow)
        except InputError as err:
            raise fail(flag_error(err)) from None
        except TrimtabError as err:
            raise fail(str(err)) from None


def output_path(out: Path | None, force: bool) -> Path | None:
    """A temporary file beside ``out`` to write first (``None`` for standard output).

    ``out`` is refused when its folder is missing, or when it exists and ``force`` is not
    given: an export never overwrites a file unasked.
    """
    if out is None:
        return None
    if not out.parent.is_dir():
        raise fail(f"--out: folder {out.parent} does not exist")
    if out.exists() and not force:
        raise fail(f"--out: {out} exists; pass --force to overwrite it")
    return out.with_name(f".{out.name}.partial")


def number(value: object) -> str:
    from decimal import Decimal

    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


def show(table: Table, footer: str | None) -> None:
    from rich.console import Console

    console = Console(width=160)
    console.print(table)
    if footer:
        console.print(footer)


def group(app: typer.Typer, name: str, help: str) -> typer.Typer:
    """The command group ``name`` of ``app``, added when it is not there yet (several
    modules add commands to one group)."""
    for found in app.registered_groups:
        if found.name == name and found.typer_instance is not None:
            return found.typer_instance
    made = typer.Typer(help=help, no_args_is_help=True)
    app.add_typer(made, name=name)
    return made
