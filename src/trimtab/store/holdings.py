"""Positions and tax lots of each imported date, kept as immutable Parquet parts.

A date's holdings are millions of rows that are written once, by its import, and read
whole by the daily evaluation or a few accounts at a time by the pages. They are kept in
the database (so a backup, a transaction and every server see them as they see the rest)
but not as rows: each date's positions and lots are cut into *parts* of about
:data:`PART_ROWS` rows, whole households to a part, and each part is one Parquet
document in ``holding_blobs``, addressed by its SHA-256. ``holding_parts`` maps
(date, kind, part) to its document, and ``account_days.part`` gives each account's part.

- Writing a part stores its document only when that content is not stored yet, so a
  re-import of unchanged data writes no document again, and documents committed by an
  interrupted import are found, not rewritten, by the next one.
- A document no part refers to is collected by :func:`collect`, which an import runs.
- Quantities and amounts are exact decimals (``decimal128``), read into the engine's
  float64 as the nearest double, as PostgreSQL's ``CAST(numeric AS float8)`` reads them.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from datetime import date
from typing import Protocol

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import Connection, delete, exists, insert, select

from trimtab.store import tables as t
from trimtab.store.columns import MONEY, QUANTITY


class Scope(Protocol):
    """A firm's connection: a :class:`~trimtab.store.uow.UnitOfWork`, or a migration's."""

    @property
    def conn(self) -> Connection: ...

    @property
    def firm_id(self) -> str: ...


PART_ROWS = 50_000
"""Rows of a part, about: a part is whole households, so it may hold more."""

POSITIONS = pa.schema(
    [("account_id", pa.string()), ("symbol", pa.string()), ("quantity", QUANTITY)]
)
LOTS = pa.schema(
    [
        ("row", pa.int64()),
        ("account_id", pa.string()),
        ("symbol", pa.string()),
        ("quantity", QUANTITY),
        ("cost_basis", MONEY),
        ("acquired", pa.date32()),
        ("lot_id", pa.string()),
    ]
)
SCHEMAS = {"positions": POSITIONS, "lots": LOTS}


def assign_parts(
    accounts: pa.Array | pa.ChunkedArray,
    households: pa.Array | pa.ChunkedArray,
    rows: npt.NDArray[np.int64],
) -> npt.NDArray[np.int32]:
    """A part number per account: households (an account without one is its own) in
    order of their key, cut into parts of about :data:`PART_ROWS` rows (``rows`` per
    account), never across a household."""
    keys = pc.coalesce(households, pc.binary_join_element_wise("\x00", accounts, ""))
    order = np.asarray(
        pc.sort_indices(
            pa.table({"k": keys, "a": accounts}), [("k", "ascending"), ("a", "ascending")]
        )
    )
    sorted_keys = keys.take(pa.array(order))
    first = np.ones(len(order), dtype=bool)
    if len(order) > 1:
        first[1:] = np.asarray(
            pc.not_equal(sorted_keys.slice(1), sorted_keys.slice(0, len(order) - 1))
        )
    before = np.concatenate([[0], np.cumsum(rows[order])[:-1]]) if len(order) else np.zeros(0)
    group_start = np.maximum.accumulate(np.where(first, before, 0))
    part = np.empty(len(order), dtype=np.int32)
    part[order] = (group_start // PART_ROWS).astype(np.int32)
    return part


def _document(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd", write_statistics=False)
    return sink.getvalue()


def write(
    uow: Scope, *, as_of: date, kind: str, table: pa.Table, part: npt.NDArray[np.int32]
) -> int:
    """Store ``table`` (rows of :data:`SCHEMAS` ``[kind]``) as the ``kind`` of ``as_of``,
    row ``i`` in part ``part[i]``; returns the rows stored. The date must hold no
    ``kind`` yet (:func:`clear` it first)."""
    table = table.cast(SCHEMAS[kind])
    order = np.argsort(part, kind="stable")
    parts = part[order]
    table = table.take(pa.array(order))
    cuts = np.flatnonzero(np.diff(parts)) + 1
    starts = np.r_[0, cuts] if len(parts) else np.zeros(0, dtype=np.int64)
    stops = np.r_[cuts, len(parts)] if len(parts) else np.zeros(0, dtype=np.int64)
    firm = uow.firm_id
    refs = []
    for start, stop in zip(starts.tolist(), stops.tolist(), strict=True):
        data = _document(table.slice(start, stop - start))
        digest = hashlib.sha256(data).hexdigest()
        stored = uow.conn.execute(
            select(
                exists().where(
                    t.holding_blobs.c.firm_id == firm, t.holding_blobs.c.sha256 == digest
                )
            )
        ).scalar()
        if not stored:
            uow.conn.execute(insert(t.holding_blobs).values(firm_id=firm, sha256=digest, data=data))
        refs.append(
            {
                "firm_id": firm,
                "as_of": as_of,
                "kind": kind,
                "part": int(parts[start]),
                "sha256": digest,
                "rows": stop - start,
            }
        )
    if refs:
        uow.conn.execute(insert(t.holding_parts), refs)
    return len(table)


def clear(uow: Scope, as_of: date) -> None:
    """Forget the holdings of ``as_of`` (their documents stay until :func:`collect`)."""
    hp = t.holding_parts.c
    uow.conn.execute(delete(t.holding_parts).where(hp.firm_id == uow.firm_id, hp.as_of == as_of))


def collect(uow: Scope) -> int:
    """Delete the firm's documents that no part refers to; returns how many."""
    hb, hp = t.holding_blobs.c, t.holding_parts.c
    used = select(hp.sha256).where(hp.firm_id == uow.firm_id)
    return uow.conn.execute(
        delete(t.holding_blobs).where(hb.firm_id == uow.firm_id, hb.sha256.not_in(used))
    ).rowcount


def read(uow: Scope, *, as_of: date, kind: str, parts: Sequence[int] | None = None) -> pa.Table:
    """The ``kind`` rows of ``as_of`` (of ``parts`` only, when given), part by part."""
    hp, hb = t.holding_parts.c, t.holding_blobs.c
    q = (
        select(hb.data)
        .join(t.holding_parts, (hp.firm_id == hb.firm_id) & (hp.sha256 == hb.sha256))
        .where(hp.firm_id == uow.firm_id, hp.as_of == as_of, hp.kind == kind)
        .order_by(hp.part)
    )
    if parts is not None:
        q = q.where(hp.part.in_(sorted(set(parts))))
    tables = [pq.read_table(pa.BufferReader(data)) for data in uow.conn.execute(q).scalars()]
    if not tables:
        return SCHEMAS[kind].empty_table()
    return pa.concat_tables(tables)


def of_accounts(uow: Scope, *, as_of: date, kind: str, account_ids: Sequence[str]) -> pa.Table:
    """The ``kind`` rows of ``as_of`` of ``account_ids``: only their parts are read."""
    d = t.account_days.c
    parts: set[int] = set()
    wanted = sorted(set(account_ids))
    for start in range(0, len(wanted), 1000):
        parts.update(
            p
            for p in uow.conn.execute(
                select(d.part)
                .where(
                    d.firm_id == uow.firm_id,
                    d.as_of == as_of,
                    d.account_id.in_(wanted[start : start + 1000]),
                )
                .distinct()
            ).scalars()
            if p is not None
        )
    table = read(uow, as_of=as_of, kind=kind, parts=sorted(parts))
    return table.filter(
        pc.is_in(table.column("account_id"), value_set=pa.array(wanted, pa.string()))
    )
