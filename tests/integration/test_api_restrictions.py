"""An account's trade restrictions and locks through HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import count, database_fixture
from tests.integration.api_setup import API, Api, errors, two_firms

engine = database_fixture()
RESTRICTIONS = f"{API}/accounts/ACC1/restrictions"
LOCKS = f"{API}/accounts/ACC1/locks"
EXCLUDE_A = {"type": "exclusion", "symbol": "A", "behaviour": "hold", "start_date": "2026-11-01"}


@pytest.fixture
def api(engine: sa.Engine, tmp_path: Path) -> Api:
    return two_firms(engine, tmp_path)


def test_add_edit_remove_a_restriction(api: Api) -> None:
    assert api.viewer.get(RESTRICTIONS).json() == []
    added = api.operator.post(RESTRICTIONS, json=EXCLUDE_A)
    assert added.status_code == 201, added.text
    assert added.headers["location"] == f"{RESTRICTIONS}/R1"
    assert added.json() == {
        **EXCLUDE_A,
        "restriction_id": "R1",
        "replacement": "hold_cash",
        "end_date": None,
        "end_action": None,
        "weight_at_end_pct": None,
    }
    assert api.viewer.get(RESTRICTIONS).json() == [added.json()]
    edited = api.operator.patch(
        f"{RESTRICTIONS}/R1",
        json={"end_date": "2027-01-04", "end_action": "rebalance_immediately"},
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["end_date"], edited.json()["end_action"]) == (
        "2027-01-04",
        "rebalance_immediately",
    )
    assert api.viewer.get(f"{RESTRICTIONS}/R1").json() == edited.json()
    assert api.operator.delete(f"{RESTRICTIONS}/R1").status_code == 204
    assert api.viewer.get(f"{RESTRICTIONS}/R1").status_code == 404
    assert api.operator.delete(f"{RESTRICTIONS}/R1").status_code == 404


def test_an_equivalents_group(api: Api) -> None:
    group = {"type": "equivalents", "members": [{"symbol": "A"}, {"symbol": "B"}]}
    added = api.operator.post(RESTRICTIONS, json=group)
    assert added.status_code == 201, added.text
    assert [m["symbol"] for m in added.json()["members"]] == ["A", "B"]
    refused = api.operator.patch(
        f"{RESTRICTIONS}/R1", json={"end_date": "2027-01-04", "end_action": "rebalance_immediately"}
    )
    assert refused.status_code == 422 and ("body", "end_action") in errors(refused)


def test_a_security_in_two_restrictions_is_a_conflict(api: Api) -> None:
    assert api.operator.post(RESTRICTIONS, json=EXCLUDE_A).status_code == 201
    again = {**EXCLUDE_A, "type": "substitution", "substitute": "B"}
    refused = api.operator.post(RESTRICTIONS, json=again)
    assert refused.status_code == 409, refused.text
    assert "already in restriction 'R1'" in refused.json()["detail"]
    assert len(api.viewer.get(RESTRICTIONS).json()) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**EXCLUDE_A, "symbol": "ZZZ"}, "symbol"),
        ({**EXCLUDE_A, "behaviour": "sometimes"}, "exclusion.behaviour"),
        ({**EXCLUDE_A, "type": "ban"}, "type"),
        ({**EXCLUDE_A, "colour": "red"}, "exclusion.colour"),
        (
            {**EXCLUDE_A, "end_date": "2026-10-01", "end_action": "rebalance_immediately"},
            "end_date",
        ),
    ],
)
def test_a_bad_restriction_names_its_field(api: Api, body: dict[str, object], field: str) -> None:
    refused = api.operator.post(RESTRICTIONS, json=body)
    assert refused.status_code == 422, refused.text
    assert ("body", field) in errors(refused)


def test_an_end_date_needs_its_action(api: Api) -> None:
    api.operator.post(RESTRICTIONS, json=EXCLUDE_A)
    refused = api.operator.patch(f"{RESTRICTIONS}/R1", json={"end_date": "2027-01-04"})
    assert refused.status_code == 422 and ("body", "end_action") in errors(refused)


def test_roles_and_firms(api: Api) -> None:
    assert api.viewer.post(RESTRICTIONS, json=EXCLUDE_A).status_code == 403
    assert api.viewer.post(LOCKS, json={"type": "gain"}).status_code == 403
    api.operator.post(RESTRICTIONS, json=EXCLUDE_A)
    api.operator.post(LOCKS, json={"type": "gain"})
    assert api.viewer.delete(f"{RESTRICTIONS}/R1").status_code == 403
    assert api.viewer.patch(f"{RESTRICTIONS}/R1", json={}).status_code == 403
    assert api.viewer.delete(f"{LOCKS}/gain").status_code == 403
    for method, path, body in [
        ("GET", RESTRICTIONS, None),
        ("GET", f"{RESTRICTIONS}/R1", None),
        ("POST", RESTRICTIONS, EXCLUDE_A),
        ("PATCH", f"{RESTRICTIONS}/R1", {}),
        ("DELETE", f"{RESTRICTIONS}/R1", None),
        ("GET", LOCKS, None),
        ("POST", LOCKS, {"type": "gain"}),
        ("DELETE", f"{LOCKS}/gain", None),
    ]:
        got = api.other.request(method, path, json=body)
        assert got.status_code == 404, (method, path, got.text)
    assert len(api.viewer.get(RESTRICTIONS).json()) == 1
    assert len(api.viewer.get(LOCKS).json()) == 1


def test_a_replayed_post_adds_one_restriction(api: Api, engine: sa.Engine) -> None:
    key = {"Idempotency-Key": "add-exclusion-A"}
    first = api.operator.post(RESTRICTIONS, json=EXCLUDE_A, headers=key)
    again = api.operator.post(RESTRICTIONS, json=EXCLUDE_A, headers=key)
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert "Idempotent-Replayed" not in first.headers
    assert count(engine, "account_restrictions") == 1
    other = api.operator.post(RESTRICTIONS, json={**EXCLUDE_A, "symbol": "B"}, headers=key)
    assert other.status_code == 422 and errors(other) == [("header", "Idempotency-Key")]
    assert count(engine, "account_restrictions") == 1


def test_locks(api: Api) -> None:
    elective = api.operator.post(LOCKS, json={"type": "elective", "symbol": "A"})
    assert elective.status_code == 201, elective.text
    assert elective.json() == {"lock_id": "elective:A", "type": "elective", "symbol": "A"}
    assert elective.headers["location"] == f"{LOCKS}/elective:A"
    gain = api.operator.post(LOCKS, json={"type": "gain"}).json()
    assert gain == {"lock_id": "gain", "type": "gain", "symbol": None}
    assert [x["lock_id"] for x in api.viewer.get(LOCKS).json()] == ["elective:A", "gain"]
    twice = api.operator.post(LOCKS, json={"type": "elective", "symbol": "A"})
    assert twice.status_code == 409, twice.text
    assert api.operator.delete(f"{LOCKS}/elective:A").status_code == 204
    assert api.operator.delete(f"{LOCKS}/elective:A").status_code == 404
    assert [x["lock_id"] for x in api.viewer.get(LOCKS).json()] == ["gain"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "elective"}, "symbol"),
        ({"type": "elective", "symbol": "ZZZ"}, "symbol"),
        ({"type": "forever", "symbol": "A"}, "type"),
        ({"type": "gain", "until": "2027-01-01"}, "until"),
    ],
)
def test_a_bad_lock_names_its_field(api: Api, body: dict[str, object], field: str) -> None:
    refused = api.operator.post(LOCKS, json=body)
    assert refused.status_code == 422, refused.text
    assert ("body", field) in errors(refused)


def test_a_bad_lock_id_is_refused(api: Api) -> None:
    refused = api.operator.delete(f"{LOCKS}/forever:A")
    assert refused.status_code == 422 and ("path", "lock_id") in errors(refused)
