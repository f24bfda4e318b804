"""Opening the database and bringing its schema to the latest migration.

The database is ``TRIMTAB_DATABASE_URL`` when set, else the SQLite file ``./trimtab.db``
(read through :class:`trimtab.settings.Settings`).
PostgreSQL URLs use psycopg 3: ``postgresql+psycopg://user@host:5432/db``. Alembic is
configured in code so that migrations run from an installed package.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.pool import StaticPool

from trimtab.settings import DEFAULT_DATABASE_URL, Settings
from trimtab.store.uow import READ_ONLY

DEFAULT_URL = DEFAULT_DATABASE_URL
MIGRATIONS = Path(__file__).parent / "migrations"


def database_url(url: str | None = None) -> str:
    """``url``, else ``TRIMTAB_DATABASE_URL``, else the SQLite file ``./trimtab.db``."""
    return url or Settings.from_env().database_url


def make_engine(
    url: str | None = None, *, schema: str | None = None, durable: bool = True
) -> Engine:
    """An engine for ``url`` (see :func:`database_url`).

    ``schema`` (PostgreSQL only) puts every table in that schema via ``search_path``; tests
    use it to stay apart from other runs. SQLite gets foreign keys enforced, WAL mode (a
    file's readers never wait for its writer), and every transaction begins IMMEDIATE (but
    a read-only unit of work's, :class:`~trimtab.store.uow.UnitOfWork`) with a 30-second
    busy timeout, so concurrent writers wait for each other instead of failing.
    ``durable=False`` (tests only) skips waiting for the disk at commit.
    """
    resolved = database_url(url)
    if resolved.startswith("sqlite"):
        memory = resolved in ("sqlite://", "sqlite:///:memory:")
        engine = create_engine(
            resolved,
            connect_args={"timeout": 30, "check_same_thread": False},
            poolclass=StaticPool if memory else None,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            # Transactions are begun below, as IMMEDIATE: a writer takes the database lock
            # before reading, so two writers queue up instead of one failing mid-way.
            dbapi_connection.isolation_level = None
            cur = dbapi_connection.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            if not memory:  # readers see a snapshot and never wait for a writer, nor it for them
                cur.execute("PRAGMA journal_mode=WAL")
            if not durable:
                cur.execute("PRAGMA synchronous=OFF")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn):  # type: ignore[no-untyped-def]
            read_only = conn.get_execution_options().get(READ_ONLY, False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    options = [f"-csearch_path={schema}"] if schema else []
    if not durable:
        options.append("-csynchronous_commit=off")
    connect_args = {"options": " ".join(options)} if options else {}
    return create_engine(resolved, connect_args=connect_args)


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration for ``engine`` that needs no ``alembic.ini``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option(
        "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return cfg


def head_revision(engine: Engine) -> str | None:
    """The newest migration shipped with this package."""
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, ``None`` for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


MIGRATION_LOCK = 7_307_071
"""PostgreSQL advisory lock key held while migrating, so concurrent first runs queue up."""


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction for migrations.

    SQLite's way of changing a table (a batch alter: copy, drop, rename) drops a table that
    others may refer to, which enforced foreign keys forbid; so, as SQLite's documentation
    prescribes, they are off while migrating (the pragma acts only outside a transaction)
    and every key is checked before the commit.
    """
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        if sqlite:
            raw.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            with conn.begin():
                yield conn
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
                    if broken is not None:
                        raise RuntimeError(f"migrating broke a foreign key: {tuple(broken)}")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` in one transaction."""
    cfg = alembic_config(engine)
    with _migrating(engine) as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def ensure_schema(engine: Engine) -> None:
    """Upgrade to the newest migration unless the database is already there."""
    if current_revision(engine) != head_revision(engine):
        upgrade(engine)


def downgrade(engine: Engine, revision: str) -> None:
    """Undo migrations down to ``revision`` (``"base"`` for an empty database)."""
    cfg = alembic_config(engine)
    with _migrating(engine) as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
