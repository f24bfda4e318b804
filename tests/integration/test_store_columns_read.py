"""``read_table`` reads what ``read_table`` reads, on SQLite and PostgreSQL: texts with
commas, quotes and line breaks, empty and missing texts, booleans, dates, numbers; a failing
query raises and leaves the transaction to be rolled back as usual."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import pytest
import sqlalchemy as sa

from tests.factories import database_fixture
from trimtab.store.columns import read_table
from trimtab.store.uow import UnitOfWork

engine = database_fixture()

SCHEMA = pa.schema(
    [("text", pa.string()), ("flag", pa.bool_()), ("day", pa.date32()), ("x", pa.float64())]
)
ROWS = [
    ('a,"b"\nc', True, date(2026, 11, 20), 0.1),
    ("", False, None, -2.5e-7),
    (None, None, date(1999, 12, 31), None),
]


def query() -> sa.Select:  # type: ignore[type-arg]
    types = (sa.String(), sa.Boolean(), sa.Date(), sa.Float())

    def value(v: object, type_: sa.types.TypeEngine, name: str) -> sa.ColumnElement:  # type: ignore[type-arg]
        return (sa.cast(sa.null(), type_) if v is None else sa.literal(v, type_)).label(name)

    rows = [
        sa.select(*(value(v, ty, n) for v, ty, n in zip(row, types, SCHEMA.names, strict=True)))
        for row in ROWS
    ]
    union = sa.union_all(*rows).subquery()
    return sa.select(*union.c)


def test_texts_flags_dates_and_numbers_as_written(engine: sa.Engine) -> None:
    expected = [dict(zip(SCHEMA.names, row, strict=True)) for row in ROWS]
    with UnitOfWork(engine, "acme") as uow:
        by_column = read_table(uow.conn, query(), SCHEMA)
        ordered = query().order_by(sa.literal_column("day").desc().nulls_last())
        by_row = read_table(uow.conn, ordered, SCHEMA)
        empty = read_table(uow.conn, query().where(sa.false()), SCHEMA)
    assert by_column.schema == SCHEMA == by_row.schema
    assert sorted(by_column.to_pylist(), key=repr) == sorted(expected, key=repr)
    assert by_row.to_pylist() == [expected[0], expected[2], expected[1]]
    assert empty.num_rows == 0 and empty.schema == SCHEMA


def test_a_failing_query_raises_and_the_transaction_rolls_back(engine: sa.Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite gives no error on a division by zero")
    with UnitOfWork(engine, "acme") as uow:
        with pytest.raises(Exception, match="division by zero"):
            read_table(
                uow.conn, sa.select(sa.literal_column("1/0")), pa.schema([("x", pa.int64())])
            )
        uow.rollback()
        assert uow.conn.execute(sa.text("SELECT 42")).scalar() == 42


DOUBLES = [0.1, 1 / 3, 1.7976931348623157e308, 5e-324, -2.5e-10, 12345678901234.568, 0.0]


def test_floats_come_back_to_the_bit(engine: sa.Engine) -> None:
    """Doubles that need 17 significant digits, the largest and the smallest, read by
    column and, with an ORDER BY, by row: each the same double as written."""
    schema = pa.schema([("i", pa.int64()), ("x", pa.float64())])
    rows = [
        sa.select(sa.literal(i, sa.Integer()).label("i"), sa.literal(x, sa.Float()).label("x"))
        for i, x in enumerate(DOUBLES)
    ]
    union = sa.union_all(*rows).subquery()
    with UnitOfWork(engine, "acme") as uow:
        by_column = read_table(uow.conn, sa.select(*union.c), schema)
        by_row = read_table(uow.conn, sa.select(*union.c).order_by(union.c.i), schema)
    for table in (by_column.sort_by("i"), by_row):
        assert table["x"].to_pylist() == DOUBLES
