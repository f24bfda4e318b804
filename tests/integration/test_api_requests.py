"""Rebalance requests through HTTP: submit, proposals, approve, cancel, resubmit, list."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import count, database_fixture
from tests.integration.api_setup import API, Api, errors, run_evaluation, two_firms, walk

engine = database_fixture()
REQUESTS = f"{API}/requests"
ACC1 = {"accounts": ["ACC1"], "logic": "rebalance_to_target"}
BOTH = {"accounts": ["ACC1", "ACC2"], "logic": "rebalance_to_target"}


@pytest.fixture
def api(engine: sa.Engine, tmp_path: Path) -> Api:
    return two_firms(engine, tmp_path)


def submitted(api: Api, body: dict[str, object]) -> int:
    done = api.operator.post(REQUESTS, json=body)
    assert done.status_code == 202, done.text
    request_id: int = done.json()["request_id"]
    return request_id


def test_submit_and_view_the_proposals(api: Api) -> None:
    done = api.operator.post(REQUESTS, json=ACC1)
    assert done.status_code == 202, done.text
    body = done.json()
    assert done.headers["location"] == f"{REQUESTS}/{body['request_id']}"
    assert (body["status"], body["submitted_by"], body["accounts"]) == (
        "pending",
        "key:operator",
        1,
    )
    assert api.viewer.get(done.headers["location"]).json() == body
    [proposal] = api.viewer.get(f"{done.headers['location']}/proposals").json()["items"]
    # ACC1 is worth 2000: A to 1200 (+12 shares at 50), B to 800 (+10 at 40), no cash left
    assert [(x["symbol"], x["action"], Decimal(x["quantity"])) for x in proposal["trades"]] == [
        ("A", "buy", 12),
        ("B", "buy", 10),
    ]
    assert (proposal["status"], Decimal(proposal["cash_after"])) == ("success", 0)


def test_submit_the_queue_matching_a_filter(api: Api, engine: sa.Engine) -> None:
    run_evaluation(engine)
    body = {"match": {"reason": "out_of_band"}, "logic": "rebalance_to_target"}
    request_id = submitted(api, body)
    proposals = api.viewer.get(f"{REQUESTS}/{request_id}/proposals").json()["items"]
    assert [p["account_id"] for p in proposals] == ["ACC1", "ACC2"]
    assert api.viewer.get(f"{API}/queue").json()["items"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**ACC1, "logic": "guess"}, "logic"),
        ({**ACC1, "amounts": {"cash_to_invest": -5}}, "amounts.cash_to_invest"),
        ({**ACC1, "accounts": []}, "accounts"),
        ({**ACC1, "colour": "red"}, "colour"),
    ],
)
def test_a_bad_request_names_its_field(
    api: Api, engine: sa.Engine, body: dict[str, object], field: str
) -> None:
    refused = api.operator.post(REQUESTS, json=body)
    assert refused.status_code == 422, refused.text
    assert any(f == field or f.endswith(f".{field}") for _, f in errors(refused)), errors(refused)
    assert count(engine, "requests") == 0


def test_roles_and_firms(api: Api, engine: sa.Engine) -> None:
    assert api.viewer.post(REQUESTS, json=ACC1).status_code == 403
    request_id = submitted(api, ACC1)
    assert api.operator.post(f"{REQUESTS}/{request_id}/approve").status_code == 403
    assert api.viewer.post(f"{REQUESTS}/{request_id}/cancel").status_code == 403
    assert api.viewer.post(f"{REQUESTS}/{request_id}/resubmit").status_code == 403
    for method, path in [
        ("GET", f"{REQUESTS}/{request_id}"),
        ("GET", f"{REQUESTS}/{request_id}/proposals"),
        ("POST", f"{REQUESTS}/{request_id}/approve"),
        ("POST", f"{REQUESTS}/{request_id}/cancel"),
        ("POST", f"{REQUESTS}/{request_id}/resubmit"),
        ("GET", f"{REQUESTS}/{request_id}/replay"),
        ("GET", f"{REQUESTS}/{request_id}/record"),
        ("GET", f"{REQUESTS}/{request_id}/memorandum"),
    ]:
        assert api.other.request(method, path).status_code == 404, (method, path)
    assert api.other.post(REQUESTS, json=ACC1).status_code == 404  # no account ACC1 there
    assert api.viewer.get(f"{REQUESTS}/{request_id}").json()["status"] == "pending"
    assert api.other.get(REQUESTS).json()["items"] == []


def test_approve_once(api: Api, engine: sa.Engine) -> None:
    request_id = submitted(api, BOTH)
    done = api.approver.post(f"{REQUESTS}/{request_id}/approve")
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["orders"]) == ("complete", 4)
    again = api.approver.post(f"{REQUESTS}/{request_id}/approve")
    assert again.status_code == 409 and "no longer pending" in again.json()["detail"]
    assert count(engine, "orders") == 4


def test_a_replayed_approval_answers_as_the_first(api: Api, engine: sa.Engine) -> None:
    request_id = submitted(api, BOTH)
    key = {"Idempotency-Key": f"approve-{request_id}"}
    first = api.approver.post(f"{REQUESTS}/{request_id}/approve", headers=key)
    again = api.approver.post(f"{REQUESTS}/{request_id}/approve", headers=key)
    assert (again.status_code, again.json()) == (200, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count(engine, "orders") == 4
    elsewhere = api.approver.post(f"{REQUESTS}/{request_id}/cancel", headers=key)
    assert elsewhere.status_code == 422 and errors(elsewhere) == [("header", "Idempotency-Key")]


def test_a_replayed_submit_makes_one_request(api: Api, engine: sa.Engine) -> None:
    key = {"Idempotency-Key": "monday-acc1"}
    first = api.operator.post(REQUESTS, json=ACC1, headers=key)
    again = api.operator.post(REQUESTS, json=ACC1, headers=key)
    assert (again.status_code, again.json()) == (202, first.json())
    assert again.headers["location"] == first.headers["location"]
    assert count(engine, "requests") == 1
    other = api.operator.post(REQUESTS, json=BOTH, headers=key)
    assert other.status_code == 422 and count(engine, "requests") == 1


def test_cancel(api: Api) -> None:
    request_id = submitted(api, ACC1)
    done = api.operator.post(f"{REQUESTS}/{request_id}/cancel")
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "canceled"
    again = api.operator.post(f"{REQUESTS}/{request_id}/cancel")
    assert again.status_code == 409
    assert api.approver.post(f"{REQUESTS}/{request_id}/approve").status_code == 409


def test_resubmit_the_failed_accounts(api: Api) -> None:
    api.operator.patch(f"{API}/accounts/ACC2", json={"trade_hold": True})
    first = submitted(api, BOTH)
    approved = api.approver.post(f"{REQUESTS}/{first}/approve").json()
    assert approved["status"] == "complete_with_errors"
    api.operator.patch(f"{API}/accounts/ACC2", json={"trade_hold": False})
    done = api.operator.post(f"{REQUESTS}/{first}/resubmit")
    assert done.status_code == 202, done.text
    assert done.headers["location"] == f"{REQUESTS}/{done.json()['request_id']}"
    proposals = api.viewer.get(f"{done.headers['location']}/proposals").json()["items"]
    assert [(p["account_id"], p["status"]) for p in proposals] == [("ACC2", "success")]
    pending = submitted(api, ACC1)
    assert api.operator.post(f"{REQUESTS}/{pending}/resubmit").status_code == 409


def test_requests_and_proposals_page_by_page(api: Api) -> None:
    made = [submitted(api, ACC1)]
    api.operator.post(f"{REQUESTS}/{made[0]}/cancel")
    made.append(submitted(api, BOTH))
    pages = walk(api.viewer, REQUESTS, 1)
    assert [[r["request_id"] for r in p] for p in pages] == [[made[1]], [made[0]]]
    assert pages[0][0]["accounts"] == 2
    pending = api.viewer.get(REQUESTS, params={"status": "pending"}).json()["items"]
    assert [r["request_id"] for r in pending] == [made[1]]
    proposals = walk(api.viewer, f"{REQUESTS}/{made[1]}/proposals", 1)
    assert [[p["account_id"] for p in page] for page in proposals] == [["ACC1"], ["ACC2"]]
    bad = api.viewer.get(REQUESTS, params={"status": "lost"})
    assert bad.status_code == 422 and ("query", "status[0]") in errors(bad)


def test_proposal_page_tokens_are_checked(api: Api) -> None:
    first, second = submitted(api, BOTH), None
    page = api.viewer.get(f"{REQUESTS}/{first}/proposals", params={"limit": 1}).json()
    token = page["next_page_token"]
    assert token and "ACC1" not in token  # opaque, not the account id
    api.operator.post(f"{REQUESTS}/{first}/cancel")
    second = submitted(api, BOTH)
    for where, value in ((second, token), (first, token[:-2]), (first, "ACC1")):
        bad = api.viewer.get(
            f"{REQUESTS}/{where}/proposals", params={"limit": 1, "page_token": value}
        )
        assert bad.status_code == 422 and ("query", "page_token") in errors(bad)
    rest = api.viewer.get(
        f"{REQUESTS}/{first}/proposals", params={"limit": 1, "page_token": token}
    ).json()
    assert [p["account_id"] for p in rest["items"]] == ["ACC2"] and rest["next_page_token"] is None


def test_replay_record_and_memorandum(api: Api) -> None:
    request_id = submitted(api, BOTH)
    again = api.viewer.get(f"{REQUESTS}/{request_id}/replay")
    assert again.status_code == 200, again.text
    body = again.json()
    assert (body["identical"], body["accounts"], body["differences"]) == (True, 2, [])
    record = api.viewer.get(f"{REQUESTS}/{request_id}/record")
    assert record.status_code == 200
    assert record.headers["content-type"] == "application/zip"
    assert record.headers["etag"] == f'"{body["record_sha256"]}"'
    assert hashlib.sha256(record.content).hexdigest() == body["record_sha256"]
    assert api.approver.post(f"{REQUESTS}/{request_id}/approve").status_code == 200
    memo = api.viewer.get(f"{REQUESTS}/{request_id}/memorandum").json()
    assert memo["holds"] is True
    assert [c["name"] for c in memo["checks"]] == ["record", "approval", "orders", "audit chain"]
    assert len(memo["orders"]) == 4 and memo["approval"]["by"] == "key:approver"
    assert api.viewer.get(f"{REQUESTS}/999/replay").status_code == 404
