"""What a newcomer reads: the queue sorted, filtered and limited with value and largest drift;
``account show``; true import counts; stale prices warned about at submission.

Tiny book (tests.factories), evaluated on Friday 20 November 2026 (book of the 19th):
ACC1 = 12 A x $50 + 10 B x $40 + $1,000 = $2,000: A 30% against 60 (30 points off), B 20%
against 40 (20 off), cash $1,000 above the $80 sweep target + $330: out_of_band, cash_high.
ACC2 = 20 B x $40 + $100 = $900: A 0% (60 off), B 88.89% (48.89 off): out_of_band.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import T0, database_fixture, seed_firm, tiny_book
from trimtab.errors import InputError
from trimtab.service.account_view import Holding, show_account
from trimtab.service.evaluate import evaluate
from trimtab.service.imports import import_book, read_book_folder
from trimtab.service.requests import list_queue, submit_request
from trimtab.store.uow import UnitOfWork

engine = database_fixture()
D1 = date(2026, 11, 19)
LOCKS = [{"account_id": "ACC1", "symbol": "A", "type": "gain"}]


def setup(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    folder = read_book_folder(tiny_book(tmp_path / "b", locks=LOCKS))
    with UnitOfWork(engine, "acme") as uow:
        import_book(uow, actor="olga", as_of=D1, folder=folder, now=T0)
    with UnitOfWork(engine, "acme") as uow:
        evaluate(uow, actor="olga", day=date(2026, 11, 20), now=T0)


def test_the_queue_sorts_filters_and_limits(engine: sa.Engine, tmp_path: Path) -> None:
    setup(engine, tmp_path)
    with UnitOfWork(engine, "acme") as uow:
        by_drift = list_queue(uow, actor="olga", sort="drift")
        assert [(q.account_id, q.value, q.max_drift_pct) for q in by_drift] == [
            ("ACC2", Decimal(900), Decimal(60)),
            ("ACC1", Decimal(2000), Decimal(30)),
        ]
        assert [q.account_id for q in list_queue(uow, actor="olga", sort="value")] == [
            "ACC1",
            "ACC2",
        ]
        assert [q.account_id for q in list_queue(uow, actor="olga", reason="cash_high")] == ["ACC1"]
        assert [q.account_id for q in list_queue(uow, actor="olga", sort="drift", limit=1)] == [
            "ACC2"
        ]
        with pytest.raises(InputError, match="sort: must be one of"):
            list_queue(uow, actor="olga", sort="size")


def test_account_show(engine: sa.Engine, tmp_path: Path) -> None:
    setup(engine, tmp_path)
    with UnitOfWork(engine, "acme") as uow:
        request_id = submit_request(
            uow, actor="olga", account_ids=["ACC1"], logic="rebalance_to_target", now=T0
        ).request_id
        view = show_account(uow, actor="olga", account_id="ACC1")
    assert (view.model_id, view.model_version, view.book_date) == ("M1", 1, D1)
    assert [(x["symbol"], x["target_pct"]) for x in view.target] == [
        ("A", Decimal(60)),
        ("B", Decimal(40)),
    ]
    assert view.settings["registration"] == "non_qualified"
    assert view.settings["cash_high_usd"] == Decimal(330)
    assert view.cash == Decimal(1000)
    assert view.holdings == [
        Holding("A", Decimal(12), Decimal(50), Decimal(600), Decimal("30.00")),
        Holding("B", Decimal(10), Decimal(40), Decimal(400), Decimal("20.00")),
    ]
    assert view.locks == [{"symbol": "A", "type": "gain"}]
    assert view.restrictions == []
    assert view.open_request == request_id


def test_import_counts_are_the_book_s(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    folder = read_book_folder(tiny_book(tmp_path / "b"))
    with UnitOfWork(engine, "acme") as uow:
        first = import_book(uow, actor="olga", as_of=D1, folder=folder, now=T0)
    with UnitOfWork(engine, "acme") as uow:
        again = import_book(uow, actor="olga", as_of=D1, folder=folder, now=T0)
    assert first.new == {"securities": 2, "accounts": 2}
    # before: "securities 0" on the re-import, although the book holds two
    assert again.rows["securities"] == 2
    assert (again.new, again.changed) == ({"securities": 0, "accounts": 0}, {"securities": 0})


def test_stale_prices_are_warned_about(engine: sa.Engine, tmp_path: Path) -> None:
    setup(engine, tmp_path)
    with UnitOfWork(engine, "acme") as uow:
        fresh = submit_request(
            uow, actor="olga", account_ids=["ACC1"], logic="rebalance_to_target", now=T0
        )
    assert fresh.warnings == ()  # Friday 20 Nov on the book of Thursday 19 Nov: current
    monday = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    with UnitOfWork(engine, "acme") as uow:
        stale = submit_request(
            uow, actor="olga", account_ids=["ACC2"], logic="rebalance_to_target", now=monday
        )
    assert stale.warnings == (
        "prices are of 2026-11-19, older than the previous market day 2026-11-20: "
        "import the book of 2026-11-20 for current prices",
    )
