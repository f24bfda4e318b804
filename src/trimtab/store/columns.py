"""Queries read into Arrow tables, and Arrow tables written as rows: column by column.

A million-row query read through SQLAlchemy's rows costs a Python object per value; these
read and write whole columns instead. On PostgreSQL both go through ``COPY`` as CSV, parsed
and printed by Arrow. On SQLite a read is one JSON array per column, and a write one
``executemany``.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlalchemy import Connection, Select, Table, case, func, null, select

QUANTITY = pa.decimal128(24, 8)
"""Shares, as :func:`trimtab.store.tables.quantity`."""
MONEY = pa.decimal128(20, 6)
"""Dollars, as :func:`trimtab.store.tables.money`."""
PERCENT = pa.decimal128(14, 8)
"""Percent points, as :func:`trimtab.store.tables.percent`."""


def decimals(values: npt.ArrayLike, type_: pa.Decimal128Type, null: npt.ArrayLike = ()) -> pa.Array:
    """Float64 values as exact decimals of ``type_``'s scale: the decimal each value is the
    nearest double of, for values checked to have no more decimals than the scale."""
    x = np.asarray(values, dtype=np.float64)
    mask = np.asarray(null, dtype=bool) if np.size(null) else np.zeros(x.size, dtype=bool)
    scaled = x * 10.0**type_.scale  # one temporary of x's size, worked in place
    scaled[mask] = 0.0
    words = np.empty((x.size, 2), dtype=np.int64)
    words[:, 0] = np.rint(scaled, out=scaled)
    del scaled
    words[:, 1] = words[:, 0] >> 63  # the high word of a two's complement 128-bit integer
    validity = pa.array(~mask).buffers()[1] if mask.any() else None
    return pa.Array.from_buffers(
        type_, x.size, [validity, pa.py_buffer(words)], null_count=int(mask.sum())
    )


def floats(column: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.float64]:
    """Exact decimals as the nearest float64 (nulls as NaN), without a Python turn per value."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    assert pa.types.is_decimal128(arr.type)
    n = len(arr)
    words = np.frombuffer(arr.buffers()[1], dtype=np.int64)[2 * arr.offset : 2 * (arr.offset + n)]
    low, high = words[0::2], words[1::2]
    if not np.array_equal(high, low >> 63):  # beyond int64: exact, but the slow way
        slow: npt.NDArray[np.float64] = np.asarray(
            arr.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
        )
        return slow
    scale = int(arr.type.scale)
    out: npt.NDArray[np.float64] = low.astype(np.float64) / float(10**scale)
    if arr.null_count:
        out[~np.asarray(arr.is_valid())] = np.nan
    return out


def read_table(conn: Connection, query: Select[Any], schema: pa.Schema) -> pa.Table:
    """The rows of ``query`` as a table of ``schema`` (its fields in the query's column order;
    booleans, dates, integers, floats, decimals and texts), in the connection's transaction.

    On PostgreSQL, ``COPY (query) TO STDOUT`` as CSV, its rows taken straight from libpq
    and parsed by Arrow. The server sends ``COPY`` output one protocol message per row, and
    psycopg's ``Copy`` hands each through several Python generators: a few microseconds a
    row, seconds for a million. Here each message costs one call into libpq; waiting for the
    server releases the interpreter (``select``), so other threads run meanwhile. (Measured
    against the server joining the rows into one CSV value with ``string_agg``: a third less
    time at 200,000 rows.) On SQLite, :func:`_sqlite_columns`."""
    if conn.dialect.name == "postgresql":
        return _postgresql_read(conn, query, schema)
    if query._order_by_clauses:  # an aggregate need not keep a subquery's order
        rows = conn.execute(query).cursor.fetchall()
        columns: list[Any] = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    else:
        columns = _sqlite_columns(conn, query, schema)
    return pa.table(
        [
            pa.array(list(values)).cast(field.type) if len(values) else pa.array([], field.type)
            for values, field in zip(columns, schema, strict=True)
        ],
        schema=schema,
    )


def _sqlite_columns(conn: Connection, query: Select[Any], schema: pa.Schema) -> list[list[Any]]:
    """The values of each column of ``query`` (on SQLite), as lists.

    SQLite makes each column into one JSON array (``json_group_array``), all in one pass
    over the rows, and Python's JSON parser makes the lists: a third less time than the
    driver's tuple per row turned into columns. JSON writes a float with 15 digits, not
    always enough to give the same double back: floats are sent as text of 21 digits
    (exact), parsed by Arrow."""
    rows = query.subquery()
    arrays = []
    for column, field in zip(rows.c, schema, strict=True):
        if pa.types.is_floating(field.type):
            value: Any = case((column.is_(None), null()), else_=func.printf("%!.20e", column))
        else:
            value = column
        arrays.append(func.json_group_array(value))
    found = conn.execute(select(*arrays)).one()
    return [json.loads(text) for text in found]


def write_table(conn: Connection, table: Table, rows: pa.Table) -> int:
    """Insert ``rows`` (columns named as ``table``'s) into ``table``; returns how many.
    Decimals and dates are written as their text, exactly."""
    if not len(rows):
        return 0
    if not conn.in_transaction():  # the driver's own calls below do not autobegin
        conn.begin()
    names = ", ".join(f'"{c}"' for c in rows.column_names)
    if conn.dialect.name == "postgresql":
        sink = io.BytesIO()
        pacsv.write_csv(
            rows, sink, pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
        )
        driver: Any = conn.connection.driver_connection
        with (
            driver.cursor() as cur,
            cur.copy(f'COPY "{table.name}" ({names}) FROM STDIN (FORMAT CSV)') as copy,
        ):
            copy.write(sink.getvalue())
        return len(rows)
    plain = [_sqlite_column(rows.column(i)) for i in range(rows.num_columns)]
    marks = ", ".join("?" for _ in rows.column_names)
    raw: Any = conn.connection.driver_connection
    raw.executemany(
        f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', zip(*plain, strict=True)
    )
    return len(rows)


def _sqlite_column(col: pa.ChunkedArray) -> list[Any]:
    """A column as SQLite keeps it through the store's types: decimals and dates as text,
    booleans as integers."""
    if pa.types.is_decimal(col.type) or pa.types.is_date(col.type):
        return list(pc.cast(col, pa.string()).to_pylist())
    if pa.types.is_boolean(col.type):
        return list(pc.cast(col, pa.int8()).to_pylist())
    if pa.types.is_timestamp(col.type):  # UTC, as naive text (trimtab.store.types.UtcDateTime)
        naive = pc.cast(col, pa.timestamp("us"))
        return list(pc.strftime(naive, "%Y-%m-%d %H:%M:%S").to_pylist())
    return list(col.to_pylist())


def _postgresql_read(conn: Connection, query: Select[Any], schema: pa.Schema) -> pa.Table:
    from psycopg.pq import TransactionStatus

    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    driver: Any = conn.connection.driver_connection
    if not conn.in_transaction() or driver.info.transaction_status == TransactionStatus.IDLE:
        conn.exec_driver_sql("SELECT 1")  # in the transaction, begun as any statement begins it
    with driver.lock:
        blocks = _copy_out(driver.pgconn, f"COPY ({sql}) TO STDOUT (FORMAT CSV)")
    if not blocks:
        return schema.empty_table()
    return pacsv.read_csv(
        pa.BufferReader(b"".join(blocks)),
        read_options=pacsv.ReadOptions(column_names=schema.names),
        convert_options=pacsv.ConvertOptions(
            column_types=schema,
            true_values=["t"],
            false_values=["f"],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
        ),
    )


def _copy_out(pgconn: Any, sql: str) -> list[bytes]:
    """The data messages of ``COPY ... TO STDOUT`` run on the libpq connection ``pgconn``
    (non-blocking, as psycopg keeps it), in the transaction it is in."""
    import select

    from psycopg import errors
    from psycopg.pq import ExecStatus

    def wait(write: bool = False) -> None:
        if write:
            select.select([], [pgconn.socket], [])
        else:
            select.select([pgconn.socket], [], [])
            pgconn.consume_input()

    def result() -> Any:
        while pgconn.is_busy():
            wait()
        return pgconn.get_result()

    pgconn.send_query(sql.encode())
    while pgconn.flush():
        wait(write=True)
    started = result()
    if started.status != ExecStatus.COPY_OUT:
        while result() is not None:
            pass
        raise errors.error_from_result(started)
    blocks: list[bytes] = []
    while True:
        size, data = pgconn.get_copy_data(1)
        if size > 0:
            blocks.append(bytes(data))
        elif size == 0:
            wait()
        else:
            break
    ended, failed = result(), None
    if ended is not None and ended.status != ExecStatus.COMMAND_OK:
        failed = ended
    while result() is not None:
        pass
    if failed is not None:
        raise errors.error_from_result(failed)
    return blocks
