"""Migrations from an empty database, exact decimals, and the append-only audit log."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tests.factories import T0, count, database_fixture, postgres_engine, seed_firm
from trimtab.store.migrate import (
    current_revision,
    downgrade,
    ensure_schema,
    head_revision,
    make_engine,
    upgrade,
)
from trimtab.store.tables import (
    evaluation_runs,
    evaluations,
    metadata,
    open_accounts,
    prices,
    requests,
    securities,
)
from trimtab.store.uow import UnitOfWork

engine = database_fixture()

HEAD = "0015"
"""The newest migration."""


def _tables(eng: sa.Engine) -> set[str]:
    return set(sa.inspect(eng).get_table_names()) - {"alembic_version"}


def test_upgrade_from_empty_creates_every_table(engine: sa.Engine) -> None:
    assert current_revision(engine) == head_revision(engine) == HEAD
    assert _tables(engine) == set(metadata.tables)


def test_migrations_match_the_tables(engine: sa.Engine) -> None:
    """The migrated schema is exactly the one ``tables.py`` declares (columns, keys, indexes)."""
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_downgrade_step_by_step(engine: sa.Engine) -> None:
    def columns(table: str) -> set[str]:
        return {c["name"] for c in sa.inspect(engine).get_columns(table)}

    downgrade(engine, "0012")
    assert not {"holding_parts", "holding_blobs"} & _tables(engine)
    assert {"positions", "lots"} <= _tables(engine)
    assert "part" not in columns("account_days")
    downgrade(engine, "0011")
    assert "web_sessions" not in _tables(engine)
    assert "password_hash" not in columns("users")
    downgrade(engine, "0010")
    assert not {"lease_owner", "lease_until"} & columns("requests")
    assert "proposing" not in str(sa.inspect(engine).get_check_constraints("requests"))
    downgrade(engine, "0009")
    assert "evaluated" not in columns("evaluation_runs")
    assert "ix_accounts_model" not in {
        i["name"] for i in sa.inspect(engine).get_indexes("accounts")
    }
    downgrade(engine, "0008")
    assert "account_sleeves" not in _tables(engine)
    assert "sleeve" not in columns("proposal_lines")
    downgrade(engine, "0007")
    assert "viewer" not in str(sa.inspect(engine).get_check_constraints("users"))
    downgrade(engine, "0006")
    assert "realized_gain" not in columns("proposals")
    assert "realised_gain" in columns("proposal_lines")
    downgrade(engine, "0005")
    assert "account_restrictions" not in _tables(engine)
    assert "short_term_days" not in columns("securities")
    assert "restrictions" in _tables(engine)
    downgrade(engine, "0004")
    assert "hash" not in columns("audit_log")
    assert "open_accounts" not in _tables(engine)
    downgrade(engine, "0003")
    assert "lot_id" not in columns("lots")
    downgrade(engine, "0002")
    assert "behaviour" not in columns("restrictions")
    downgrade(engine, "0001")
    assert "options" not in columns("requests")
    upgrade(engine)
    assert current_revision(engine) == HEAD
    assert {"evaluated", "flagged", "skipped"} <= columns("evaluation_runs")
    assert {"type", "behaviour", "replacement", "substitute"} <= columns("account_restrictions")
    assert "sleeve" in columns("proposal_lines")
    assert {"lease_owner", "lease_until"} <= columns("requests")
    assert "proposing" in str(sa.inspect(engine).get_check_constraints("requests"))
    assert "restrictions" not in _tables(engine)
    assert not {"positions", "lots"} & _tables(engine)
    assert "part" in columns("account_days")
    assert "hash" in columns("audit_log")
    assert "realized_gain" in columns("proposal_lines")


def test_migration_0010_counts_the_runs_already_complete(engine: sa.Engine) -> None:
    """Runs completed before 0010 get their counts from their stored evaluations; a run
    still running keeps none (it counts them when it completes)."""
    seed_firm(engine)
    downgrade(engine, "0009")
    day, running_day = date(2026, 11, 20), date(2026, 11, 23)
    run = {"firm_id": "acme", "started_at": T0, "started_by": "olga"}
    row = {
        "firm_id": "acme",
        "data_date": date(2026, 11, 19),
        "value": "1000",
        "cash": "10",
        "max_drift_pct": "1",
        "out_of_band": 0,
        "cash_low": False,
        "flagged": False,
    }
    # three accounts on the complete day: flagged, flagged and skipped, neither
    evaluated = [
        {**row, "as_of": day, "account_id": "A1", "reasons": "out_of_band", "skipped": False},
        {**row, "as_of": day, "account_id": "A2", "reasons": "no_trade", "skipped": True},
        {**row, "as_of": day, "account_id": "A3", "reasons": "", "skipped": False},
        {**row, "as_of": running_day, "account_id": "A1", "reasons": "", "skipped": False},
    ]
    with engine.begin() as conn:
        conn.execute(
            sa.insert(evaluation_runs),
            [
                {**run, "as_of": day, "data_date": date(2026, 11, 19), "status": "complete"},
                {**run, "as_of": running_day, "data_date": day, "status": "running"},
            ],
        )
        conn.execute(sa.insert(evaluations), evaluated)
    upgrade(engine)
    with engine.connect() as conn:
        counts = conn.execute(
            sa.select(
                evaluation_runs.c.as_of,
                evaluation_runs.c.evaluated,
                evaluation_runs.c.flagged,
                evaluation_runs.c.skipped,
            ).order_by(evaluation_runs.c.as_of)
        ).all()
    assert [tuple(c) for c in counts] == [(day, 3, 2, 1), (running_day, None, None, None)]


def test_downgrade_to_base_then_upgrade_again(engine: sa.Engine) -> None:
    downgrade(engine, "base")
    assert _tables(engine) == set()
    upgrade(engine)
    assert _tables(engine) == set(metadata.tables)


def test_sqlite_file_from_empty(tmp_path: Path) -> None:
    eng = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert current_revision(eng) is None
    upgrade(eng)
    assert current_revision(eng) == HEAD
    eng.dispose()


def test_0011_keeps_requests_and_what_refers_to_them(engine: sa.Engine) -> None:
    """SQLite rebuilds ``requests`` for 0011 while proposals and open accounts refer to it:
    the rows survive, a proposing request is refused by the downgrade, and foreign keys are
    enforced again afterwards."""
    seed_firm(engine)
    downgrade(engine, "0010")
    request = {
        "firm_id": "acme",
        "logic": "rebalance_to_target",
        "status": "pending",
        "submitted_by": "olga",
        "submitted_at": T0,
        "expires_at": T0,
        "needs_second_approver": False,
        "price_date": T0.date(),
    }
    old = sa.table("requests", *(sa.column(c) for c in ("request_id", *request)))
    with engine.begin() as conn:
        conn.execute(sa.insert(old).values(request_id=7, **request))
        conn.execute(
            sa.insert(open_accounts).values(firm_id="acme", account_id="ACC1", request_id=7)
        )
    upgrade(engine)
    with engine.begin() as conn:
        assert conn.execute(sa.select(requests.c.request_id, requests.c.status)).all() == [
            (7, "pending")
        ]
        conn.execute(sa.update(requests).values(status="proposing", lease_owner="host:1:x"))
    assert count(engine, "open_accounts") == 1
    with pytest.raises(RuntimeError, match="requests are still proposing"):
        downgrade(engine, "0010")
    assert current_revision(engine) == HEAD  # the refused downgrade changed nothing
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(
            sa.insert(open_accounts).values(firm_id="acme", account_id="ACC2", request_id=99)
        )


def test_money_and_quantities_round_trip_exactly(engine: sa.Engine) -> None:
    seed_firm(engine)
    with UnitOfWork(engine, "acme") as uow:
        uow.bulk_insert(securities, ("firm_id", "symbol"), [("acme", "X")])
        uow.bulk_insert(
            prices,
            ("firm_id", "as_of", "symbol", "price"),
            [("acme", T0.date(), "X", Decimal("0.10000001"))],
        )
        uow.commit()
    with engine.connect() as conn:
        stored = conn.execute(sa.select(prices.c.price)).scalar_one()
    assert stored == Decimal("0.10000001")
    assert isinstance(stored, Decimal)


def test_audit_log_refuses_update_and_delete(engine: sa.Engine) -> None:
    seed_firm(engine)
    for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"), engine.begin() as conn:
            conn.execute(sa.text(statement))
    with engine.connect() as conn:
        actors = set(conn.execute(sa.text("SELECT actor FROM audit_log")).scalars())
    assert actors == {"alice"}


def test_postgres_schema_is_isolated() -> None:
    gen = postgres_engine()
    eng = next(gen)
    try:
        with eng.connect() as conn:
            schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
        assert schema.startswith("tt_")
        assert _tables(eng) == set(metadata.tables)
    finally:
        gen.close()


def test_bulk_insert_reports_duplicate_keys_as_integrity_errors(engine: sa.Engine) -> None:
    seed_firm(engine)
    with UnitOfWork(engine, "acme") as uow:
        with pytest.raises(sa.exc.IntegrityError, match="bulk insert into securities"):
            uow.bulk_insert(securities, ("firm_id", "symbol"), [("acme", "X"), ("acme", "X")])
        uow.rollback()
        assert uow.bulk_insert(securities, ("firm_id", "symbol"), [("acme", "X")]) == 1


@pytest.mark.postgres
def test_concurrent_first_runs_migrate_once() -> None:
    gen = postgres_engine(migrate=False)
    eng = next(gen)
    try:
        errors: list[BaseException] = []

        def first_run() -> None:
            try:
                ensure_schema(eng)
            except BaseException as err:  # collected for the assertion below
                errors.append(err)

        threads = [threading.Thread(target=first_run) for _ in range(3)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert errors == []
        assert current_revision(eng) == HEAD
    finally:
        gen.close()


def test_0013_carries_positions_lots_and_the_queue_over_both_ways(engine: sa.Engine) -> None:
    """Rows of ``positions`` and ``lots`` become Parquet parts (households kept together),
    exactly, and come back as rows on the way down; the queue keeps each account's newest
    open entry."""
    from trimtab.store import holdings

    seed_firm(engine)
    downgrade(engine, "0012")
    day = date(2026, 11, 19)

    def rows(name: str, *values: dict[str, object]) -> None:
        table = sa.table(name, *(sa.column(c) for c in values[0]))
        with engine.begin() as conn:
            conn.execute(sa.insert(table), list(values))

    rows(
        "accounts",
        *(
            {"firm_id": "acme", "account_id": a, "household_id": h, "first_seen": day}
            for a, h in (("A1", "H"), ("A2", None), ("A3", "H"))
        ),
    )
    rows(
        "account_days",
        *(
            {"firm_id": "acme", "as_of": day, "account_id": a, "cash": "10.5", "rebalancing": True}
            for a in ("A1", "A2", "A3")
        ),
    )
    positions = [("A1", "X", "10.5"), ("A1", "Y", "0.12345678"), ("A3", "X", "3")]
    rows(
        "positions",
        *(
            {"firm_id": "acme", "as_of": day, "account_id": a, "symbol": s, "quantity": q}
            for a, s, q in positions
        ),
    )
    rows(
        "lots",
        {
            "firm_id": "acme",
            "as_of": day,
            "row": 1,
            "account_id": "A1",
            "symbol": "X",
            "quantity": "10.5",
            "cost_basis": "99.123456",
            "acquired": date(2024, 1, 2),
            "lot_id": None,
        },
    )
    rows(
        "queue_entries",
        *(
            {"firm_id": "acme", "account_id": "A1", "as_of": d, "reasons": "cash_high", "status": s}
            for d, s in ((date(2026, 11, 18), "open"), (day, "open"), (date(2026, 11, 17), "open"))
        ),
    )
    upgrade(engine)
    with UnitOfWork(engine, "acme") as uow:
        held = holdings.read(uow, as_of=day, kind="positions").sort_by("account_id")
        lots = holdings.read(uow, as_of=day, kind="lots")
        parts = dict(
            uow.conn.execute(
                sa.text("SELECT account_id, part FROM account_days ORDER BY account_id")
            ).all()
        )
        queued = uow.conn.execute(sa.text("SELECT as_of FROM queue_entries")).scalars().all()
    assert [(r["account_id"], r["symbol"], r["quantity"]) for r in held.to_pylist()] == [
        (a, s, Decimal(q)) for a, s, q in positions
    ]
    assert lots.to_pylist() == [
        {
            "row": 1,
            "account_id": "A1",
            "symbol": "X",
            "quantity": Decimal("10.5"),
            "cost_basis": Decimal("99.123456"),
            "acquired": date(2024, 1, 2),
            "lot_id": None,
        }
    ]
    assert parts["A1"] == parts["A3"]  # one household, one part
    assert [str(d) for d in queued] == [str(day)]
    downgrade(engine, "0012")
    with engine.connect() as conn:
        back = conn.execute(
            sa.text(
                "SELECT account_id, symbol, quantity FROM positions ORDER BY account_id, symbol"
            )
        ).all()
    assert [(a, s, Decimal(str(q))) for a, s, q in back] == [
        (a, s, Decimal(q)) for a, s, q in positions
    ]
    upgrade(engine)
