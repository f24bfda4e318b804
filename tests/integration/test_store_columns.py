"""``write_table`` then ``read_table`` give back the same columns, awkward values included."""

from __future__ import annotations

from datetime import date

import pyarrow as pa
import sqlalchemy as sa

from tests.factories import database_fixture, seed_firm
from trimtab.store import tables as t
from trimtab.store.columns import MONEY, decimals, read_table, write_table
from trimtab.store.uow import UnitOfWork

engine = database_fixture()

DAYS = pa.schema(
    [
        ("account_id", pa.string()),
        ("as_of", pa.date32()),
        ("model_id", pa.string()),
        ("model_version", pa.int64()),
        ("cash", MONEY),
        ("rebalancing", pa.bool_()),
        ("part", pa.int32()),
    ]
)


def test_columns_round_trip(engine: sa.Engine) -> None:
    seed_firm(engine)
    ids = ["plain", "with,comma", 'with "quotes"', "", "é ü", "back\\slash", "'single'"]
    n = len(ids)
    rows = pa.table(
        {
            "account_id": pa.array(ids),
            "as_of": pa.array([date(2026, 11, 19 + i % 2) for i in range(n)], pa.date32()),
            "model_id": pa.array(["M1", None, "", "M,2", None, '"', "M3"]),
            "model_version": pa.array([1, None, 3, 4, 5, None, 7], pa.int64()),
            "cash": decimals([0.0, -1.5, 123456789.123456, 0.000001, 2.0, 3.25, -0.1], MONEY),
            "rebalancing": pa.array([True, False, True, False, True, True, False]),
            "part": pa.array(range(n), pa.int32()),
        }
    )
    d = t.account_days.c
    with UnitOfWork(engine, "acme") as uow:
        write_table(
            uow.conn,
            t.account_days,
            rows.add_column(0, "firm_id", pa.array(["acme"] * n)),
        )
        query = sa.select(
            d.account_id, d.as_of, d.model_id, d.model_version, d.cash, d.rebalancing, d.part
        ).where(d.firm_id == "acme")
        back = read_table(uow.conn, query, DAYS)
        none = read_table(uow.conn, query.where(d.part < 0), DAYS)
        switches = read_table(
            uow.conn,
            sa.select(d.account_id, sa.null().label("x")).where(d.firm_id == "acme"),
            pa.schema([("account_id", pa.string()), ("x", pa.bool_())]),
        )
    assert back.sort_by("part").equals(rows)
    assert none.schema == DAYS and len(none) == 0
    assert switches.column("x").null_count == n
