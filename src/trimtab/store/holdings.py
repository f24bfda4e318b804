"""Positions and tax lots of each imported date, kept as immutable Parquet parts.

A date's holdings are millions of rows that are written once, by its import, and read
whole by the daily evaluation or a few accounts at a time by the pages. They are kept in
the database (so a backup, a transaction and every server see them as they see the rest)
but not as rows: each date's positions and lots are cut into *parts* of about
:data:`PART_ROWS` rows, whole households to a part, and each part is one Parquet
document in ``holding_blobs``, addressed by its SHA-256. ``holding_parts`` maps
(date, kind, part) to its document, and ``account_days.part`` gives each account's part.

- An import first *stages* its documents (:func:`stage`), each only when that content is
  not stored yet, and commits them; then, in its own transaction, *records* them as the
  date's parts (:func:`record`). A re-import of unchanged data writes no document again,
  and an import interrupted and run again finds the documents it staged.
- A document no part refers to is deleted by :func:`collect`, which an import runs, once
  it is an hour old.
- Quantities and amounts are exact decimals (``decimal128``), read into the engine's
  float64 as the nearest double, as PostgreSQL's ``CAST(numeric AS float8)`` reads them.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
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

    def commit(self) -> None: ...


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
ORDER = {
    "positions": [("account_id", "ascending"), ("symbol", "ascending")],
    "lots": [("row", "ascending")],
}
"""The order of a part's rows, each row's key unique: the same rows always make the same
document (and the same SHA-256), whatever order they were worked out in."""


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


@dataclass(frozen=True, slots=True)
class Staged:
    """A kind's parts stored as documents, ready to be recorded for a date: (part, SHA-256,
    rows) each, in part order."""

    kind: str
    parts: tuple[tuple[int, str, int], ...]

    @property
    def rows(self) -> int:
        return sum(rows for _, _, rows in self.parts)


def stage(
    uow: Scope, *, kind: str, table: pa.Table, part: npt.NDArray[np.int32], now: datetime
) -> Staged:
    """Store ``table`` (rows of :data:`SCHEMAS` ``[kind]``, row ``i`` in part ``part[i]``)
    as documents, each only if its content is not stored yet, and commit them: the slow
    part of an import, done once even when the import is interrupted and run again.
    :func:`record` then makes them a date's ``kind``, in the import's transaction."""
    order = staging_order(kind, table, part)
    parts = part[order]
    cuts = np.flatnonzero(np.diff(parts)) + 1
    starts = np.r_[0, cuts] if len(parts) else np.zeros(0, dtype=np.int64)
    stops = np.r_[cuts, len(parts)] if len(parts) else np.zeros(0, dtype=np.int64)
    firm = uow.firm_id
    hb = t.holding_blobs.c
    staged = []
    # one piece of contiguous columns, so that each part's rows are taken without
    # concatenating every chunk again (a no-op for a table that is one chunk already)
    table = table.combine_chunks()
    for start, stop in zip(starts.tolist(), stops.tolist(), strict=True):
        # one part's rows at a time, already in their document's order
        piece = table.take(pa.array(order[start:stop])).cast(SCHEMAS[kind])
        data = _document(piece)
        digest = hashlib.sha256(data).hexdigest()
        stored = uow.conn.execute(
            select(exists().where(hb.firm_id == firm, hb.sha256 == digest))
        ).scalar()
        if not stored:
            uow.conn.execute(
                insert(t.holding_blobs).values(
                    firm_id=firm, sha256=digest, data=data, stored_at=now
                )
            )
        staged.append((int(parts[start]), digest, stop - start))
    uow.commit()
    return Staged(kind, tuple(staged))


def staging_order(kind: str, table: pa.Table, part: npt.NDArray[np.int32]) -> npt.NDArray[np.int64]:
    """The rows of ``table`` by part, then in :data:`ORDER` ``[kind]``: one sort of
    integers for the whole table (each text key as the rank of its value among the
    column's distinct values), not a sort of texts per part."""
    if not len(part):
        return np.zeros(0, dtype=np.int64)
    ranks = []
    for name, direction in ORDER[kind]:
        assert direction == "ascending"
        ranks.append(_ranks(table.column(name)))
    width = int(part.max()) + 1
    for _, n in ranks:
        width *= max(n, 1)
    if width >= 2**62:  # too many distinct keys for one integer: a sort on each key
        lexed: npt.NDArray[np.int64] = np.lexsort([r for r, _ in reversed(ranks)] + [part])
        return lexed
    # one integer per row, built in place
    combined = part.astype(np.int64)
    while ranks:
        values, n = ranks.pop(0)
        combined *= max(n, 1)
        combined += values
        del values
    # the keys are unique (a book has no duplicate holding), so any sort gives this order
    order: npt.NDArray[np.int64] = np.argsort(combined)
    return order


def _ranks(column: pa.ChunkedArray) -> tuple[npt.NDArray[np.int32] | npt.NDArray[np.int64], int]:
    """Each value's rank among the column's distinct values, and how many there are:
    integers as their distance from the least; texts by their code points, as
    :meth:`pyarrow.Table.sort_by` orders them (a dictionary's values ranked once). The
    column holds no nulls."""
    if pa.types.is_integer(column.type):
        values = np.asarray(column.to_numpy(), dtype=np.int64)
        low, high = int(values.min()), int(values.max())
        return values - low, high - low + 1
    if pa.types.is_dictionary(column.type):
        encoded = column.combine_chunks()  # one dictionary for every chunk
        distinct, codes = encoded.dictionary.cast(pa.string()), encoded.indices
    else:
        texts = column.cast(pa.string())
        distinct = pc.unique(texts)
        codes = pc.index_in(texts, value_set=distinct)
    if not len(distinct):
        return np.zeros(0, dtype=np.int32), 0
    by_value = pc.sort_indices(distinct)
    ordered = distinct.take(by_value)
    # a value that repeats (a dictionary may hold one twice) has one rank
    new = np.ones(len(ordered), dtype=np.int32)
    new[1:] = np.asarray(pc.not_equal(ordered.slice(1), ordered.slice(0, len(ordered) - 1)))
    rank = np.empty(len(distinct), dtype=np.int32)
    rank[np.asarray(by_value)] = np.cumsum(new, dtype=np.int32) - 1
    return rank[np.asarray(codes.to_numpy(zero_copy_only=False))], int(new.sum())


def record(uow: Scope, *, as_of: date, staged: Staged) -> int:
    """Make the staged documents the ``staged.kind`` of ``as_of`` (which must hold none:
    :func:`clear` it first); returns its rows."""
    if staged.parts:
        uow.conn.execute(
            insert(t.holding_parts),
            [
                {
                    "firm_id": uow.firm_id,
                    "as_of": as_of,
                    "kind": staged.kind,
                    "part": part,
                    "sha256": digest,
                    "rows": rows,
                }
                for part, digest, rows in staged.parts
            ],
        )
    return staged.rows


def write(
    uow: Scope,
    *,
    as_of: date,
    kind: str,
    table: pa.Table,
    part: npt.NDArray[np.int32],
    now: datetime,
) -> int:
    """:func:`stage` then :func:`record`: ``table`` as the ``kind`` of ``as_of``."""
    return record(uow, as_of=as_of, staged=stage(uow, kind=kind, table=table, part=part, now=now))


def clear(uow: Scope, as_of: date) -> None:
    """Forget the holdings of ``as_of`` (their documents stay until :func:`collect`)."""
    hp = t.holding_parts.c
    uow.conn.execute(delete(t.holding_parts).where(hp.firm_id == uow.firm_id, hp.as_of == as_of))


def forget(uow: Scope, staged: Sequence[Staged]) -> None:
    """Delete the documents of ``staged`` that no part refers to: an import that failed
    leaves nothing behind (one that was interrupted leaves them, for its next run)."""
    hb, hp = t.holding_blobs.c, t.holding_parts.c
    digests = sorted({digest for kind in staged for _, digest, _ in kind.parts})
    used = select(hp.sha256).where(hp.firm_id == uow.firm_id)
    for start in range(0, len(digests), 500):
        uow.conn.execute(
            delete(t.holding_blobs).where(
                hb.firm_id == uow.firm_id,
                hb.sha256.in_(digests[start : start + 500]),
                hb.sha256.not_in(used),
            )
        )
    uow.commit()


COLLECT_AFTER = timedelta(hours=1)
"""A document no part refers to is kept this long: an import running at the same time
may have staged it and not recorded it yet."""


def collect(uow: Scope, now: datetime) -> int:
    """Delete the firm's documents that no part refers to, stored more than
    :data:`COLLECT_AFTER` before ``now``; returns how many."""
    hb, hp = t.holding_blobs.c, t.holding_parts.c
    used = select(hp.sha256).where(hp.firm_id == uow.firm_id)
    return uow.conn.execute(
        delete(t.holding_blobs).where(
            hb.firm_id == uow.firm_id,
            hb.sha256.not_in(used),
            hb.stored_at < now - COLLECT_AFTER,
        )
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


def parts_of(
    uow: Scope, *, as_of: date, kind: str, parts: Sequence[int], batch: int = 16
) -> Iterator[tuple[int, pa.Table]]:
    """``(part, its kind rows)`` of ``as_of`` for each of ``parts``, in their order, reading
    ``batch`` documents per query: a whole date is never in memory at once. A part without
    a document (its accounts hold nothing) is an empty table. The text columns (account
    and symbol) are read dictionary-encoded, as Parquet keeps them: decoding them into
    plain text would cost several times the rest of the read."""
    texts = [f.name for f in SCHEMAS[kind] if pa.types.is_string(f.type)]
    hp, hb = t.holding_parts.c, t.holding_blobs.c
    # the parts' documents first, then the documents by their key: two plain lookups that
    # need no statistics (a join of the two tables, planned on a fresh date's, may loop)
    digest = dict(
        uow.conn.execute(
            select(hp.part, hp.sha256).where(
                hp.firm_id == uow.firm_id, hp.as_of == as_of, hp.kind == kind
            )
        ).all()
    )
    wanted = list(parts)
    for start in range(0, len(wanted), batch):
        some = wanted[start : start + batch]
        keys = sorted({digest[p] for p in some if p in digest})
        found = dict(
            uow.conn.execute(
                select(hb.sha256, hb.data).where(hb.firm_id == uow.firm_id, hb.sha256.in_(keys))
            ).all()
        )
        data = {p: found[digest[p]] for p in some if p in digest}
        for part in some:
            blob = data.get(part)
            yield (
                part,
                (
                    SCHEMAS[kind].empty_table()
                    if blob is None
                    else pq.read_table(pa.BufferReader(blob), read_dictionary=texts)
                ),
            )
