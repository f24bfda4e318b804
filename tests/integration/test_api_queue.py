"""Accounts to Rebalance through HTTP: the queue, its filters, sorts, pages and count."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import T0, database_fixture
from tests.integration.api_setup import (
    API,
    D1,
    Api,
    errors,
    import_wide_book,
    run_evaluation,
    two_firms,
    walk,
)
from trimtab.service.requests import submit_request
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork

engine = database_fixture()
QUEUE = f"{API}/queue"


@pytest.fixture
def api(engine: sa.Engine, tmp_path: Path) -> Api:
    made = two_firms(engine, tmp_path)
    run_evaluation(engine)
    return made


def ids(items: list[dict[str, object]]) -> list[object]:
    return [x["account_id"] for x in items]


def test_the_queue_by_hand(api: Api) -> None:
    got = api.viewer.get(QUEUE)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["next_page_token"] is None
    acc1, acc2 = body["items"]
    # ACC1: 600 A + 400 B + 1000 cash = 2000; A 30% against 60 (drift 30), cash above
    # 80 + 330. ACC2: 800 B + 100 cash = 900; A 0% against 60 (drift 60).
    assert (acc1["account_id"], Decimal(acc1["value"]), acc1["max_drift_pct"]) == ("ACC1", 2000, 30)
    assert (acc2["account_id"], Decimal(acc2["value"]), acc2["max_drift_pct"]) == ("ACC2", 900, 60)
    assert {"out_of_band", "cash_high"} <= set(acc1["reasons"])
    assert "out_of_band" in acc2["reasons"] and "cash_high" not in acc2["reasons"]
    assert acc1["as_of"] == "2026-11-20" and acc1["household_id"] == "H1"
    assert acc1["model_id"] == "M1" and acc1["request_id"] is None


def test_filters_sorts_and_count(api: Api) -> None:
    assert ids(api.viewer.get(QUEUE, params={"reason": "cash_high"}).json()["items"]) == ["ACC1"]
    assert ids(api.viewer.get(QUEUE, params={"household": "H1"}).json()["items"]) == [
        "ACC1",
        "ACC2",
    ]
    assert api.viewer.get(QUEUE, params={"model": "M9"}).json()["items"] == []
    assert ids(api.viewer.get(QUEUE, params={"sort": "drift"}).json()["items"]) == [
        "ACC2",
        "ACC1",
    ]
    assert ids(api.viewer.get(QUEUE, params={"sort": "value"}).json()["items"]) == [
        "ACC1",
        "ACC2",
    ]
    assert api.viewer.get(f"{QUEUE}/count").json() == {"count": 2}
    assert api.viewer.get(f"{QUEUE}/count", params={"reason": "cash_high"}).json() == {"count": 1}


def test_pending_accounts_show_with_their_request(api: Api, engine: sa.Engine) -> None:
    with UnitOfWork(engine, "acme") as uow:
        request_id = submit_request(
            uow, actor="olga", account_ids=["ACC1"], logic="rebalance_to_target", now=T0
        ).request_id
    assert ids(api.viewer.get(QUEUE).json()["items"]) == ["ACC2"]
    both = api.viewer.get(QUEUE, params={"pending": "true"}).json()["items"]
    assert [(x["account_id"], x["request_id"]) for x in both] == [
        ("ACC1", request_id),
        ("ACC2", None),
    ]
    assert api.viewer.get(f"{QUEUE}/count", params={"pending": "true"}).json()["count"] == 2


def test_another_firm_has_its_own_queue(api: Api) -> None:
    assert api.other.get(QUEUE).json() == {"items": [], "next_page_token": None}
    assert api.other.get(f"{QUEUE}/count").json() == {"count": 0}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "colour"}, "sort"),
        ({"reason": "bored"}, "reason"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"page_token": "not-a-token"}, "page_token"),
        ({"household": "x" * 65}, "household"),
    ],
)
def test_bad_parameters_name_the_field(api: Api, params: dict[str, object], field: str) -> None:
    got = api.viewer.get(QUEUE, params=params)
    assert got.status_code == 422, got.text
    assert ("query", field) in errors(got)


def test_an_incomplete_evaluation_is_a_conflict(api: Api, engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.insert(t.evaluation_runs).values(
                firm_id="acme",
                as_of=datetime(2026, 11, 23).date(),
                data_date=D1,
                status="running",
                started_at=datetime(2026, 11, 23, 14, tzinfo=UTC),
                started_by="olga",
            )
        )
    got = api.viewer.get(QUEUE)
    assert got.status_code == 409, got.text
    assert "incomplete" in got.json()["detail"]


def test_pages_hold_every_account_once(engine: sa.Engine, tmp_path: Path) -> None:
    api = two_firms(engine, tmp_path, book=False)
    import_wide_book(engine, tmp_path / "wide")
    run_evaluation(engine)
    pages = walk(api.viewer, QUEUE, 3)
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [x for p in pages for x in ids(p)] == [f"W{n:02d}" for n in range(1, 8)]
    # by value, largest first: W07 holds 70 B (2800) + 100, W01 10 B (400) + 100
    by_value = walk(api.viewer, QUEUE, 2, sort="value")
    assert [x for p in by_value for x in ids(p)] == [f"W{n:02d}" for n in range(7, 0, -1)]
    first = api.viewer.get(QUEUE, params={"limit": 3}).json()["next_page_token"]
    other_sort = api.viewer.get(QUEUE, params={"limit": 3, "sort": "drift", "page_token": first})
    assert other_sort.status_code == 422 and errors(other_sort) == [("query", "page_token")]
