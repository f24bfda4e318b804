"""The firm's people and passwords through HTTP (admin; anyone sets their own password)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import count, database_fixture
from tests.integration.api_setup import API, Api, errors, signed_in, two_firms

engine = database_fixture()
USERS = f"{API}/users"
VERA = {"user_id": "vera", "role": "viewer", "password": "vera's long password"}


@pytest.fixture
def api(engine: sa.Engine, tmp_path: Path) -> Api:
    return two_firms(engine, tmp_path, book=False)


def test_list_users(api: Api) -> None:
    got = api.admin.get(USERS)
    assert got.status_code == 200, got.text
    assert [(u["user_id"], u["role"], u["can_sign_in"]) for u in got.json()] == [
        ("alice", "admin", True),
        ("amy", "approver", True),
        ("bob", "approver", True),
        ("olga", "operator", True),
    ]


def test_add_a_user_who_signs_in(api: Api, engine: sa.Engine) -> None:
    made = api.admin.post(USERS, json=VERA)
    assert made.status_code == 201, made.text
    assert (made.json()["user_id"], made.json()["can_sign_in"]) == ("vera", True)
    vera = signed_in(engine, "vera", VERA["password"])
    assert vera.get(f"{API}/me").json()["role"] == "viewer"
    plain = api.admin.post(USERS, json={"user_id": "carl", "role": "operator"})
    assert plain.status_code == 201 and plain.json()["can_sign_in"] is False
    assert [u["user_id"] for u in api.admin.get(USERS).json()] == [
        "alice",
        "amy",
        "bob",
        "carl",
        "olga",
        "vera",
    ]


def test_a_user_twice_is_a_conflict(api: Api) -> None:
    assert api.admin.post(USERS, json=VERA).status_code == 201
    again = api.admin.post(USERS, json={**VERA, "role": "admin"})
    assert again.status_code == 409, again.text
    assert "already exists" in again.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**VERA, "role": "boss"}, "role"),
        ({**VERA, "password": "short"}, "password"),
        ({**VERA, "user_id": ""}, "user_id"),
        ({**VERA, "user_id": "has space"}, "user_id"),
        ({**VERA, "user_id": "key:robot"}, "user"),
        ({**VERA, "shoe_size": 9}, "shoe_size"),
    ],
)
def test_bad_users_name_the_field(
    api: Api, engine: sa.Engine, body: dict[str, object], field: str
) -> None:
    refused = api.admin.post(USERS, json=body)
    assert refused.status_code == 422, refused.text
    assert ("body", field) in errors(refused)
    assert count(engine, "users", "acme") == 8  # four people, four keys


def test_only_an_admin_lists_and_adds(api: Api, engine: sa.Engine) -> None:
    for role in ("viewer", "operator", "approver"):
        assert getattr(api, role).get(USERS).status_code == 403
        assert getattr(api, role).post(USERS, json=VERA).status_code == 403
    assert count(engine, "users", "acme") == 8


def test_a_replayed_post_adds_one_user(api: Api, engine: sa.Engine) -> None:
    key = {"Idempotency-Key": "vera"}
    first = api.admin.post(USERS, json=VERA, headers=key)
    again = api.admin.post(USERS, json=VERA, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert count(engine, "users", "acme") == 9
    other = api.admin.post(USERS, json={**VERA, "user_id": "val"}, headers=key)
    assert other.status_code == 422 and errors(other) == [("header", "Idempotency-Key")]
    assert count(engine, "users", "acme") == 9


def test_passwords(api: Api, engine: sa.Engine) -> None:
    olga = signed_in(engine, "olga")
    mine = olga.put(f"{USERS}/olga/password", json={"password": "olga's new password"})
    assert mine.status_code == 204, mine.text
    assert olga.get(f"{API}/me").status_code == 401  # a new password ends the sessions
    signed_in(engine, "olga", "olga's new password")
    refused = api.operator.put(f"{USERS}/amy/password", json={"password": "x" * 12})
    assert refused.status_code == 403
    done = api.admin.put(f"{USERS}/amy/password", json={"password": "amy's new password"})
    assert done.status_code == 204
    signed_in(engine, "amy", "amy's new password")
    short = api.admin.put(f"{USERS}/amy/password", json={"password": "short"})
    assert short.status_code == 422 and errors(short) == [("body", "password")]


def test_another_firms_user_is_not_found(api: Api) -> None:
    api.admin.post(USERS, json=VERA)
    got = api.other.put(f"{USERS}/vera/password", json={"password": "x" * 12})
    assert got.status_code == 404, got.text
    assert "vera" not in [u["user_id"] for u in api.other.get(USERS).json()]


def test_idempotency_keys_are_per_firm(api: Api, engine: sa.Engine) -> None:
    key = {"Idempotency-Key": "add-vera"}
    mine = api.admin.post(USERS, json=VERA, headers=key)
    theirs = api.other.post(USERS, json=VERA, headers=key)
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert "vera" in [u["user_id"] for u in api.other.get(USERS).json()]
