"""Orders and their exports through HTTP."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import count, database_fixture
from tests.integration.api_setup import API, D2, Api, approved_request, errors, two_firms, walk

engine = database_fixture()
EXPORTS = f"{API}/orders/exports"


@pytest.fixture
def api(engine: sa.Engine, tmp_path: Path) -> Api:
    return two_firms(engine, tmp_path)


def csv_by_hand(request_id: int) -> str:
    # ACC1 (600 A, 400 B, 1000 cash) buys 12 A and 10 B; ACC2 (800 B, 100 cash, 900 in all)
    # buys 10 A (540 wanted) and sells 11 B (360 wanted); approved before the cut-off.
    rows = [
        "client_order_id,trade_date,best_effort,account_id,symbol,side,quantity,price,request_id",
        f"TT{request_id}-0001,2026-11-20,false,ACC1,A,buy,12,50,{request_id}",
        f"TT{request_id}-0002,2026-11-20,false,ACC1,B,buy,10,40,{request_id}",
        f"TT{request_id}-0003,2026-11-20,false,ACC2,A,buy,10,50,{request_id}",
        f"TT{request_id}-0004,2026-11-20,false,ACC2,B,sell,11,40,{request_id}",
    ]
    return "\n".join(rows) + "\n"


def test_export_new_orders_then_download_the_batch(api: Api, engine: sa.Engine) -> None:
    request_id = approved_request(engine)
    made = api.operator.post(EXPORTS, json={"trade_date": D2.isoformat(), "format": "csv"})
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["kind"], body["orders"], body["format"]) == ("new", 4, "csv")
    assert body["content"] == csv_by_hand(request_id)
    assert made.headers["location"] == f"{EXPORTS}/{body['export_id']}?format=csv"
    file = api.operator.get(made.headers["location"])
    assert file.status_code == 200, file.text
    assert file.text == csv_by_hand(request_id)
    assert file.headers["content-type"].startswith("text/csv")
    assert file.headers["content-disposition"] == (
        f'attachment; filename="orders-2026-11-20-{body["export_id"]}.csv"'
    )
    nothing = api.operator.post(EXPORTS, json={"trade_date": D2.isoformat(), "format": "csv"})
    assert nothing.status_code == 200, nothing.text
    assert (
        nothing.json()["export_id"] is None
        and "exported as csv already" in (nothing.json()["note"])
    )
    again = api.operator.post(
        EXPORTS, json={"trade_date": D2.isoformat(), "format": "csv", "again": True}
    )
    assert again.status_code == 201 and again.json()["kind"] == "all"
    assert again.json()["content"] == csv_by_hand(request_id)
    assert "location" not in again.headers


def test_export_as_fix(api: Api, engine: sa.Engine) -> None:
    request_id = approved_request(engine)
    made = api.operator.post(EXPORTS, json={"trade_date": D2.isoformat(), "format": "fix"})
    assert made.status_code == 201, made.text
    lines = made.json()["content"].splitlines()
    assert len(lines) == 4
    assert all("\x0135=D\x01" in line for line in lines)
    assert f"\x0111=TT{request_id}-0004\x01" in lines[3] and "\x0154=2\x01" in lines[3]
    file = api.operator.get(made.headers["location"])
    assert file.headers["content-type"].startswith("text/plain")
    # the same orders again (stamped with the moment of the download)
    assert [_tag(x, "11") for x in file.text.splitlines()] == [_tag(x, "11") for x in lines]
    wrong = api.operator.get(f"{EXPORTS}/{made.json()['export_id']}?format=csv")
    assert wrong.status_code == 422 and ("query", "format") in errors(wrong)


def _tag(message: str, tag: str) -> str:
    return next(f for f in message.split("\x01") if f.startswith(f"{tag}="))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"trade_date": "2026-11-20", "format": "xml"}, "format"),
        ({"trade_date": "1999-12-31", "format": "csv"}, "trade_date"),
        ({"trade_date": "tomorrow", "format": "csv"}, "trade_date"),
        ({"format": "csv"}, "trade_date"),
        ({"trade_date": "2026-11-20", "format": "csv", "all": True}, "all"),
    ],
)
def test_a_bad_export_names_its_field(api: Api, body: dict[str, object], field: str) -> None:
    refused = api.operator.post(EXPORTS, json=body)
    assert refused.status_code == 422, refused.text
    assert ("body", field) in errors(refused)


def test_exports_need_an_operator_and_the_firm(api: Api, engine: sa.Engine) -> None:
    approved_request(engine)
    body = {"trade_date": D2.isoformat(), "format": "csv"}
    assert api.viewer.post(EXPORTS, json=body).status_code == 403
    made = api.operator.post(EXPORTS, json=body)
    assert api.viewer.get(made.headers["location"]).status_code == 403
    assert api.other.get(made.headers["location"]).status_code == 404
    assert api.operator.get(f"{EXPORTS}/999?format=csv").status_code == 404
    assert count(engine, "export_batches") == 1


def test_a_replayed_export_writes_one_batch(api: Api, engine: sa.Engine) -> None:
    approved_request(engine)
    body = {"trade_date": D2.isoformat(), "format": "csv"}
    key = {"Idempotency-Key": "export-2026-11-20"}
    first = api.operator.post(EXPORTS, json=body, headers=key)
    again = api.operator.post(EXPORTS, json=body, headers=key)
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert count(engine, "export_batches") == 1
    other = api.operator.post(EXPORTS, json={**body, "again": True}, headers=key)
    assert other.status_code == 422 and errors(other) == [("header", "Idempotency-Key")]
    assert count(engine, "export_batches") == 1


def test_orders_page_by_page(api: Api, engine: sa.Engine) -> None:
    request_id = approved_request(engine)
    pages = walk(api.viewer, f"{API}/orders", 3)
    assert [len(p) for p in pages] == [3, 1]
    orders = [x for p in pages for x in p]
    assert [x["client_order_id"] for x in orders] == [
        f"TT{request_id}-{n:04d}" for n in range(1, 5)
    ]
    # ACC1 buys 12 A at 50 and 10 B at 40; ACC2 buys 10 A and sells 11 B
    assert [(x["account_id"], x["symbol"], x["side"], Decimal(x["value"])) for x in orders] == [
        ("ACC1", "A", "buy", Decimal("600.00")),
        ("ACC1", "B", "buy", Decimal("400.00")),
        ("ACC2", "A", "buy", Decimal("500.00")),
        ("ACC2", "B", "sell", Decimal("440.00")),
    ]
    assert {(x["trade_date"], x["best_effort"], x["exported"]) for x in orders} == {
        ("2026-11-20", False, False)
    }
    api.operator.post(EXPORTS, json={"trade_date": D2.isoformat(), "format": "csv"})
    exported = api.viewer.get(f"{API}/orders", params={"request_id": request_id}).json()["items"]
    assert all(x["exported"] and x["exported_at"] for x in exported)
    assert api.viewer.get(f"{API}/orders", params={"trade_date": "2026-11-23"}).json() == {
        "items": [],
        "next_page_token": None,
    }
    assert api.viewer.get(f"{API}/orders/dates").json() == ["2026-11-20"]


def test_another_firms_orders_are_not_listed(api: Api, engine: sa.Engine) -> None:
    approved_request(engine)
    assert api.other.get(f"{API}/orders").json()["items"] == []
    assert api.other.get(f"{API}/orders/dates").json() == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"trade_date": "2026-13-01"}, "trade_date"),
        ({"request_id": 0}, "request_id"),
        ({"page_token": "x" * 2001}, "page_token"),
    ],
)
def test_bad_order_parameters(api: Api, params: dict[str, object], field: str) -> None:
    got = api.viewer.get(f"{API}/orders", params=params)
    assert got.status_code == 422 and ("query", field) in errors(got)
