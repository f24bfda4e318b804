"""``import_book`` against SQLite and PostgreSQL: contents, idempotence, all-or-nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.factories import T0, count, database_fixture, held, seed_firm, tiny_book
from trimtab.errors import BookError, ConflictError
from trimtab.service.imports import ImportSummary, import_book, read_book_folder
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork

engine = database_fixture()
D1 = date(2026, 11, 19)
D2 = date(2026, 11, 20)
ALL = sorted(t.metadata.tables)


def load(engine: sa.Engine, folder: Path, day: date, firm: str = "acme") -> ImportSummary:
    book = read_book_folder(folder)
    with UnitOfWork(engine, firm) as uow:
        return import_book(uow, actor="olga", as_of=day, folder=book, now=T0)


def snapshot(engine: sa.Engine) -> dict[str, int]:
    return {name: count(engine, name) for name in ALL}


def test_import_writes_every_table(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    summary = load(
        engine,
        tiny_book(
            tmp_path / "b",
            lots=[
                {
                    "account_id": "ACC1",
                    "symbol": "A",
                    "quantity": 5,
                    "cost_basis": 200.0,
                    "acquired": "2024-01-02",
                },
                {
                    "account_id": "ACC1",
                    "symbol": "A",
                    "quantity": 7,
                    "cost_basis": "",
                    "acquired": "2025-03-04",
                },
            ],
            cash_activity=[{"account_id": "ACC2", "kind": "deposit", "amount": 500.25}],
        ),
        D1,
    )
    assert summary.rows == {
        "accounts": 2,
        "cash_activity": 1,
        "lots": 2,
        "positions": 3,
        "prices": 2,
        "securities": 2,
    }
    with engine.connect() as conn:
        cash = {
            r.account_id: r.cash
            for r in conn.execute(sa.select(t.account_days.c.account_id, t.account_days.c.cash))
        }
        deposit = conn.execute(sa.select(t.cash_activity)).one()
        model = conn.execute(sa.select(t.model_versions)).one()
    positions = {(r["account_id"], r["symbol"]): r["quantity"] for r in held(engine, "acme")}
    basis = [r["cost_basis"] for r in sorted(held(engine, "acme", "lots"), key=lambda r: r["row"])]
    assert cash == {"ACC1": Decimal("1000"), "ACC2": Decimal("100")}
    # lots 5 + 7 = 12 shares of A, as in positions.csv
    assert positions == {("ACC1", "A"): 12, ("ACC1", "B"): 10, ("ACC2", "B"): 20}
    assert basis == [Decimal("200"), None]
    assert (deposit.kind, deposit.amount, deposit.activity_date) == (
        "deposit",
        Decimal("500.25"),
        D1,
    )
    assert (model.version, model.cash_pct) == (1, Decimal("0"))


def test_reimport_of_a_date_is_idempotent(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    folder = tiny_book(tmp_path / "b")
    load(engine, folder, D1)
    first = snapshot(engine)
    again = load(engine, folder, D1)
    assert again.replaced
    after = snapshot(engine)
    assert after.pop("audit_log") == first.pop("audit_log") + 1
    assert after == first


def test_changed_weights_make_a_new_model_version(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    load(engine, tiny_book(tmp_path / "d1"), D1)
    models = [
        {"model_id": "M1", "symbol": "A", "target_pct": 70, "min_pct": 65, "max_pct": 75},
        {"model_id": "M1", "symbol": "B", "target_pct": 28, "min_pct": 25, "max_pct": 31},
    ]
    summary = load(engine, tiny_book(tmp_path / "d2", models=models), D2)
    assert summary.new_model_versions == 1
    with engine.connect() as conn:
        days = conn.execute(
            sa.select(t.account_days.c.as_of, t.account_days.c.model_version)
            .where(t.account_days.c.account_id == "ACC1")
            .order_by(t.account_days.c.as_of)
        ).all()
        cash_pct = conn.execute(
            sa.select(t.model_versions.c.cash_pct).where(t.model_versions.c.version == 2)
        ).scalar_one()
        audit = conn.execute(
            sa.select(t.audit_log.c.before, t.audit_log.c.after).where(
                t.audit_log.c.entity == "model"
            )
        ).one()
    assert [tuple(d) for d in days] == [(D1, 1), (D2, 2)]
    assert cash_pct == Decimal("2")  # 100 - 70 - 28
    assert '"version": 1' in audit.before
    assert '["A", "70.0", "65.0", "75.0"]' in audit.after


def test_bad_value_leaves_database_unchanged(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    load(engine, tiny_book(tmp_path / "good"), D1)
    before = snapshot(engine)
    bad = tiny_book(tmp_path / "bad", price_a=50.123456789)
    with pytest.raises(BookError, match=r"prices.csv row 1 column price: more than 8 decimals"):
        load(engine, bad, D1)
    with pytest.raises(BookError, match=r"prices.csv row 1 column price"):
        load(engine, bad, D2)
    assert snapshot(engine) == before


def test_bad_service_table_row_is_named(tmp_path: Path) -> None:
    folder = tiny_book(
        tmp_path / "b",
        cash_activity=[
            {"account_id": "ACC1", "kind": "deposit", "amount": 10},
            {"account_id": "ACC1", "kind": "gift", "amount": 10},
        ],
    )
    with pytest.raises(BookError) as err:
        read_book_folder(folder)
    assert str(err.value) == (
        "cash_activity.csv row 2 column kind: must be one of deposit, withdrawal, dividend, "
        "got 'gift'"
    )


def test_dates_must_come_in_order(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    folder = tiny_book(tmp_path / "b")
    load(engine, folder, D2)
    with pytest.raises(ConflictError, match="import dates in order"):
        load(engine, folder, D1)


def test_firms_do_not_see_each_other(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine, "acme")
    seed_firm(engine, "zenith")
    load(engine, tiny_book(tmp_path / "a"), D1, "acme")
    load(engine, tiny_book(tmp_path / "z", cash=5.0), D1, "zenith")
    load(engine, tiny_book(tmp_path / "a"), D1, "acme")
    assert len(held(engine, "acme")) == len(held(engine, "zenith")) == 3
    with engine.connect() as conn:
        zenith_cash = conn.execute(
            sa.select(t.account_days.c.cash).where(
                t.account_days.c.firm_id == "zenith", t.account_days.c.account_id == "ACC1"
            )
        ).scalar_one()
    assert zenith_cash == Decimal("5")


def test_rebalancing_toggle_history(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    load(engine, tiny_book(tmp_path / "d1"), D1)
    book = tiny_book(tmp_path / "d2")
    accounts = (
        (book / "accounts.csv")
        .read_text()
        .replace("ACC1,M1,1000.0,H1,non_qualified,true", "ACC1,M1,1000.0,H1,non_qualified,false")
    )
    (book / "accounts.csv").write_text(accounts)
    load(engine, book, D2)
    with engine.connect() as conn:
        history = conn.execute(
            sa.select(t.rebalancing_changes.c.effective, t.rebalancing_changes.c.rebalancing)
            .where(t.rebalancing_changes.c.account_id == "ACC1")
            .order_by(t.rebalancing_changes.c.change_id)
        ).all()
        on = conn.execute(
            sa.select(t.accounts.c.rebalancing).where(t.accounts.c.account_id == "ACC1")
        ).scalar_one()
    assert [tuple(h) for h in history] == [(D1, True), (D2, False)]
    assert on is False


def _accounts_with(methods: dict[str, str]) -> list[dict[str, Any]]:
    base = [
        {
            "account_id": "ACC1",
            "model_id": "M1",
            "cash": 1000.0,
            "household_id": "H1",
            "registration": "non_qualified",
            "rebalancing": "true",
        },
        {
            "account_id": "ACC2",
            "model_id": "M1",
            "cash": 100.0,
            "household_id": "H1",
            "registration": "qualified",
            "rebalancing": "true",
        },
    ]
    return [{**row, "lot_method": methods.get(row["account_id"], "")} for row in base]


LOTS_WITH_IDS = [
    {
        "account_id": "ACC1",
        "symbol": "A",
        "quantity": 5,
        "cost_basis": 200.0,
        "acquired": "2024-01-02",
        "lot_id": "T-1",
    },
    {
        "account_id": "ACC1",
        "symbol": "A",
        "quantity": 7,
        "cost_basis": 300.0,
        "acquired": "2025-03-04",
        "lot_id": "",
    },
]


def test_lot_ids_and_lot_methods_are_imported(engine: sa.Engine, tmp_path: Path) -> None:
    """Lot ids are stored (an empty one as none); an account's lot_method from the book
    replaces the stored one (an empty value keeps it), with an audit entry."""
    seed_firm(engine)
    load(engine, tiny_book(tmp_path / "a", lots=LOTS_WITH_IDS, accounts=_accounts_with({})), D1)
    book = tiny_book(
        tmp_path / "b", lots=LOTS_WITH_IDS, accounts=_accounts_with({"ACC1": "minimum_tax"})
    )
    load(engine, book, D2)
    lots = sorted(
        (r for r in held(engine, "acme", "lots") if r["as_of"] == D2), key=lambda r: r["row"]
    )
    ids = [r["lot_id"] for r in lots]
    with engine.connect() as conn:
        methods = {
            r.account_id: r.lot_method
            for r in conn.execute(sa.select(t.accounts.c.account_id, t.accounts.c.lot_method))
        }
        audited = (
            conn.execute(
                sa.select(t.audit_log.c.entity_id).where(t.audit_log.c.action == "import_update")
            )
            .scalars()
            .all()
        )
    assert ids == ["T-1", None]
    assert methods == {"ACC1": "minimum_tax", "ACC2": "fifo"}
    assert audited == ["ACC1"]


def test_specific_lots_method_is_refused_by_the_service(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    book = tiny_book(tmp_path / "b", accounts=_accounts_with({"ACC2": "specific_lots"}))
    before = snapshot(engine)
    with pytest.raises(BookError) as err:
        load(engine, book, D1)
    assert str(err.value) == (
        "accounts.csv row 2 column lot_method: specific_lots is not supported by the service "
        "yet: use fifo, lifo, hifo or minimum_tax"
    )
    assert snapshot(engine) == before
