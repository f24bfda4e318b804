"""The unit of work: one database transaction over one firm's rows.

Services receive a :class:`UnitOfWork`, read and write through ``uow.conn`` with the
statements of :mod:`trimtab.store.tables`, always filtered by ``uow.firm_id``, and call
:meth:`UnitOfWork.commit`. Leaving the ``with`` block without a commit rolls everything back,
so a failed use case leaves the database as it was.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from types import TracebackType
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine, Table, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from trimtab.store.chain import GENESIS, entry_hash
from trimtab.store.tables import audit_heads, audit_log


def _json_default(value: object) -> str:
    if isinstance(value, Decimal | date | datetime):
        return str(value) if isinstance(value, Decimal) else value.isoformat()
    raise TypeError(f"cannot record {type(value).__name__} in the audit log")


def audit_json(value: object) -> str | None:
    """``value`` as JSON for the audit log (decimals and dates as text), ``None`` as is."""
    if value is None:
        return None
    return json.dumps(value, default=_json_default, sort_keys=True)


READ_ONLY = "trimtab_read_only"
"""Execution option of a connection whose transactions mostly read (see :class:`UnitOfWork`)."""


class UnitOfWork:
    """A transaction on ``engine`` scoped to the firm ``firm_id``.

    A transaction begins at the first statement, not before, and again at the first one
    after each :meth:`commit` or :meth:`rollback`: work that computes between statements
    (proposing trades, say) holds no lock meanwhile. On SQLite a transaction begins
    ``IMMEDIATE`` (it takes the write lock at once, so two writers queue instead of one
    failing), except in a ``read_only`` unit of work, which reads a snapshot without
    waiting for writers (the database is in WAL mode) and takes the lock only if it writes
    after all (a refused attempt is still audited).
    """

    def __init__(self, engine: Engine, firm_id: str, *, read_only: bool = False) -> None:
        self.engine = engine
        self.firm_id = firm_id
        self.read_only = read_only
        self._conn: Connection | None = None
        self._pending: list[dict[str, Any]] = []  # audit entries of this transaction

    @property
    def conn(self) -> Connection:
        """The open connection (inside the ``with`` block only)."""
        if self._conn is None:
            raise RuntimeError("unit of work used outside its with block")
        return self._conn

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def __enter__(self) -> UnitOfWork:
        self._conn = self.engine.connect()
        if self.read_only:
            self._conn.execution_options(**{READ_ONLY: True})
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self.conn
        try:
            if conn.in_transaction():
                conn.rollback()
        finally:
            conn.close()
            self._conn = None
            self._pending = []

    def commit(self) -> None:
        """Make everything done so far permanent; the next statement starts a new
        transaction."""
        self._write_audit()
        self.conn.commit()

    def rollback(self) -> None:
        """Undo everything since the last commit."""
        self._pending = []
        self.conn.rollback()

    def audit(
        self,
        *,
        actor: str,
        action: str,
        entity: str,
        entity_id: str,
        at: datetime,
        before: object = None,
        after: object = None,
    ) -> None:
        """Append one entry to the audit log, in this transaction.

        Entries are held until :meth:`commit`, which chains them to the firm's previous
        entry (:mod:`trimtab.store.chain`) and writes them just before committing: the
        firm's row of ``audit_heads`` is locked only that long, so a long import does not
        hold up other users' audit entries, and the chain never forks.
        """
        self._pending.append(
            {
                "firm_id": self.firm_id,
                "actor": actor,
                "action": action,
                "entity": entity,
                "entity_id": entity_id,
                "at": at,
                "before": audit_json(before),
                "after": audit_json(after),
            }
        )

    def _write_audit(self) -> None:
        """Chain and insert the held entries; move the firm's head (row locked to commit)."""
        entries, self._pending = self._pending, []
        if not entries:
            return
        head = self.conn.execute(
            select(audit_heads.c.last_hash, audit_heads.c.entries)
            .where(audit_heads.c.firm_id == self.firm_id)
            .with_for_update()
        ).first()
        previous, count = (head.last_hash, head.entries) if head else (GENESIS, 0)
        for entry in entries:
            previous = entry_hash(previous, **entry)
            entry["hash"] = previous
        self.conn.execute(insert(audit_log), entries)
        last_id = self.conn.execute(
            select(func.max(audit_log.c.audit_id)).where(audit_log.c.firm_id == self.firm_id)
        ).scalar_one()
        moved = {"last_id": last_id, "last_hash": previous, "entries": count + len(entries)}
        if head is None:
            self.conn.execute(insert(audit_heads).values(firm_id=self.firm_id, **moved))
        else:
            self.conn.execute(
                update(audit_heads).where(audit_heads.c.firm_id == self.firm_id).values(**moved)
            )

    def bulk_insert(
        self,
        table: Table,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        *,
        encoded: bool = False,
    ) -> int:
        """Insert ``rows`` (tuples in ``columns`` order): COPY on PostgreSQL, executemany else.

        ``encoded`` promises that every value is already text, a number or ``None`` (decimals
        and dates as text), which skips the per-value conversion. Returns the rows written.
        """
        if not self.conn.in_transaction():  # the driver's own calls below do not autobegin
            self.conn.begin()
        try:
            if self.dialect == "postgresql":
                return _copy(self.conn, table, columns, rows)
            return _executemany(self.conn, table, columns, rows, encoded=encoded)
        except (sqlite3.IntegrityError, psycopg.IntegrityError) as err:
            raise IntegrityError(f"bulk insert into {table.name}", None, err) from err


def _copy(
    conn: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    raw = conn.connection.driver_connection
    assert raw is not None
    names = ", ".join(f'"{c}"' for c in columns)
    count = 0
    with raw.cursor() as cur, cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _sqlite_value(value: Any) -> Any:
    """A Python value as SQLite stores it through the column types of :mod:`tables`."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass a timezone-aware moment")
        return (
            value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        )
    if isinstance(value, date):
        return value.isoformat()
    return value


def _executemany(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    encoded: bool,
) -> int:
    """One ``executemany`` on the driver: values already plain, or converted once here."""
    raw = conn.connection.driver_connection
    assert raw is not None
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    plain = _SIMPLE
    batch = (
        list(rows)
        if encoded
        else [
            row if all(type(v) in plain for v in row) else tuple(_sqlite_value(v) for v in row)
            for row in rows
        ]
    )
    if batch:
        raw.executemany(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', batch)
    return len(batch)


_SIMPLE = frozenset({str, int, float, type(None)})
