"""View Details' and Account Details' reads: weights before, target and after from the
stored proposal, and drift against the bands, each worked out by hand."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import T0, UnitOfWork, database_fixture, queued_book, seed_firm
from trimtab.errors import NotFoundError
from trimtab.service.account_details import account_details
from trimtab.service.proposal_weights import CASH, WeightRow, proposal_weights
from trimtab.service.requests import submit_request

engine = database_fixture()
D = Decimal


def setup(engine: sa.Engine, tmp_path: Path, **extra: object) -> None:
    seed_firm(engine)
    queued_book(engine, tmp_path / "book", **extra)  # type: ignore[arg-type]


def test_weights_before_target_after(engine: sa.Engine, tmp_path: Path) -> None:
    setup(engine, tmp_path)
    with UnitOfWork(engine, "acme") as uow:
        request_id = submit_request(
            uow, actor="olga", account_ids=["ACC1", "ACC2"], logic="rebalance_to_target", now=T0
        ).request_id
    with UnitOfWork(engine, "acme") as uow:
        weights = proposal_weights(uow, actor="olga", request_id=request_id)
    # ACC1: 12 A x $50 = $600, 10 B x $40 = $400, $1,000 cash: value $2,000. It buys 12 A
    # and 10 B: A $1,200 (60%), B $800 (40%), no cash.
    assert weights["ACC1"] == (
        WeightRow("A", D("30.00"), D("60"), D("60.00")),
        WeightRow("B", D("20.00"), D("40"), D("40.00")),
        WeightRow(CASH, D("50.00"), D("0"), D("0.00"), cash=True),
    )
    # ACC2: 20 B = $800 and $100 cash: value $900. It buys 10 A ($500, 55.56%) and sells
    # 11 B, leaving 9 ($360, 40.00%) and $40 cash (4.44%).
    assert weights["ACC2"] == (
        WeightRow("A", D("0.00"), D("60"), D("55.56")),
        WeightRow("B", D("88.89"), D("40"), D("40.00")),
        WeightRow(CASH, D("11.11"), D("0"), D("4.44"), cash=True),
    )


def test_failed_proposal_keeps_its_weights(engine: sa.Engine, tmp_path: Path) -> None:
    setup(engine, tmp_path)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE accounts SET trade_hold = true WHERE account_id = 'ACC2'"))
    with UnitOfWork(engine, "acme") as uow:
        request_id = submit_request(
            uow, actor="olga", account_ids=["ACC1", "ACC2"], logic="rebalance_to_target", now=T0
        ).request_id
    with UnitOfWork(engine, "acme") as uow:
        rows = proposal_weights(uow, actor="olga", request_id=request_id)["ACC2"]
    assert [(r.symbol, r.before_pct, r.after_pct) for r in rows] == [
        ("A", D("0.00"), D("0.00")),
        ("B", D("88.89"), D("88.89")),
        (CASH, D("11.11"), D("11.11")),
    ]


def test_other_firms_request_is_not_found(engine: sa.Engine, tmp_path: Path) -> None:
    setup(engine, tmp_path)
    with UnitOfWork(engine, "acme") as uow:
        request_id = submit_request(
            uow, actor="olga", account_ids=["ACC1"], logic="best_fit", now=T0
        ).request_id
    seed_firm(engine, "other")
    with pytest.raises(NotFoundError), UnitOfWork(engine, "other") as uow:
        proposal_weights(uow, actor="olga", request_id=request_id)


def test_account_details_drift_and_lots(engine: sa.Engine, tmp_path: Path) -> None:
    lots = [
        {
            "account_id": "ACC1",
            "symbol": "A",
            "quantity": 5,
            "cost_basis": 200.0,
            "acquired": "2021-03-04",
        },
        {
            "account_id": "ACC1",
            "symbol": "A",
            "quantity": 7,
            "cost_basis": 420.0,
            "acquired": "2024-05-06",
        },
    ]
    setup(engine, tmp_path, lots=lots)
    with UnitOfWork(engine, "acme") as uow:
        details = account_details(uow, actor="olga", account_id="ACC1")
    # A 30% against 60 [55, 65]: 30 points under; B 20% against 40 [35, 45]: 20 under.
    assert [(r.symbol, r.weight_pct, r.drift_pct, r.outside) for r in details.drift] == [
        ("A", D("30.00"), D("-30.00"), True),
        ("B", D("20.00"), D("-20.00"), True),
    ]
    assert [(lot.quantity, lot.cost_basis, str(lot.acquired)) for lot in details.lots] == [
        (D(5), D(200), "2021-03-04"),
        (D(7), D(420), "2024-05-06"),
    ]
    assert [s.rebalancing for s in details.switches] == [True]
    with pytest.raises(NotFoundError), UnitOfWork(engine, "acme") as uow:
        account_details(uow, actor="olga", account_id="NOPE")
