"""Every route of the OpenAPI document, enumerated: another firm gets 404 for each of the
firm's objects and never sees its rows; each role gets exactly what the role table
(``api_roles.py``) allows."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.factories import T0, api_client, database_fixture, tiny_book, web_firm
from tests.integration.api_roles import ROLE
from trimtab.io.rules import ExclusionIn
from trimtab.service.access import RANK, add_user
from trimtab.service.credentials import add_api_key
from trimtab.service.evaluate import evaluate
from trimtab.service.imports import import_book, read_book_folder
from trimtab.service.orders import export_orders
from trimtab.service.requests import approve_request, submit_request
from trimtab.service.restrictions import add_lock, add_restriction
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork

engine = database_fixture()
BOOK = date(2026, 11, 19)
DAY = date(2026, 11, 20)
ROUTES = sorted(ROLE)
PASSWORD = ("PUT", "/api/v1/users/{user_id}/password")
ORDER = {"GET": 0, "POST": 1, "PUT": 1, "PATCH": 1, "DELETE": 2}
"""Reads first, then changes, deletions last: no call takes away what a later one needs."""


def _world(eng: sa.Engine, folder: Path) -> dict[str, Any]:
    """Firm acme with a book, an evaluation, restrictions, a lock, an approved request with
    orders and their export, a pending request; firm other with nothing but its people."""
    keys = web_firm(eng)
    other = web_firm(eng, "other")
    with UnitOfWork(eng, "acme") as uow:
        import_book(
            uow, actor="olga", as_of=BOOK, folder=read_book_folder(tiny_book(folder)), now=T0
        )
        evaluate(uow, actor="olga", day=DAY, now=T0)
        restriction = {"type": "exclusion", "behaviour": "hold", "start_date": "2026-11-01"}
        kept = add_restriction(
            uow,
            actor="olga",
            account_id="ACC1",
            restriction=ExclusionIn.model_validate({**restriction, "symbol": "A"}),
            now=T0,
        )
        probe = add_restriction(
            uow,
            actor="olga",
            account_id="ACC2",
            restriction=ExclusionIn.model_validate({**restriction, "symbol": "B"}),
            now=T0,
        )
        add_lock(uow, actor="olga", account_id="ACC1", type="elective", symbol="B", now=T0)
        done = submit_request(
            uow, actor="olga", account_ids=["ACC1"], logic="rebalance_to_target", now=T0
        )
        approval = approve_request(uow, actor="amy", request_id=done.request_id, now=T0)
        exported = export_orders(
            uow, actor="olga", day=approval.trade_date, fmt="csv", sink=lambda data: None, now=T0
        )
        pending = submit_request(
            uow, actor="olga", account_ids=["ACC2"], logic="rebalance_to_target", now=T0
        )
        add_user(uow, actor="alice", user_id="carol", role="viewer", now=T0)  # acme's only
        doomed = add_api_key(uow, actor="alice", name="doomed", role="viewer", now=T0)
    return {
        "keys": keys,
        "other": other,
        "params": {
            "request_id": pending.request_id,
            "account_id": "ACC1",
            "restriction_id": kept,
            "lock_id": "elective:B",
            "household_id": "H1",
            "model_id": "M1",
            "as_of": DAY.isoformat(),
            "key_id": doomed.split("_")[1],
            "export_id": exported.export_id,
            "user_id": "carol",
        },
        "probe_restriction": probe,
        "trade_date": approval.trade_date.isoformat(),
    }


def _body(method: str, path: str, world: dict[str, Any]) -> dict[str, Any] | None:
    """A valid body for the route (``None`` for routes that take none)."""
    bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/api/v1/api-keys"): {"name": "probe", "role": "viewer"},
        ("POST", "/api/v1/users"): {"user_id": "probe", "role": "viewer"},
        ("PUT", "/api/v1/users/{user_id}/password"): {"password": "a fine new password"},
        ("POST", "/api/v1/requests"): {"accounts": ["ACC1"], "logic": "rebalance_to_target"},
        ("PATCH", "/api/v1/accounts/{account_id}"): {"lot_method": "hifo"},
        ("POST", "/api/v1/accounts/{account_id}/restrictions"): {
            "type": "exclusion",
            "symbol": "ZZZ",
            "behaviour": "hold",
            "start_date": "2026-11-01",
        },
        ("PATCH", "/api/v1/accounts/{account_id}/restrictions/{restriction_id}"): {
            "end_date": "2027-01-29",
            "end_action": "wait_for_weight_change",
        },
        ("POST", "/api/v1/accounts/{account_id}/locks"): {"type": "gain", "symbol": "A"},
        ("POST", "/api/v1/evaluations"): {"as_of": DAY.isoformat()},
        ("POST", "/api/v1/orders/exports"): {"trade_date": world["trade_date"], "format": "fix"},
    }
    return bodies.get((method, path))


def _url(method: str, path: str, world: dict[str, Any]) -> str:
    params = dict(world["params"])
    if method == "DELETE" and "{restriction_id}" in path:  # delete a probe, keep the rest
        params |= {"account_id": "ACC2", "restriction_id": world["probe_restriction"]}
    url = re.sub(r"\{(\w+)\}", lambda m: str(params[m.group(1)]), path)
    if path == "/api/v1/orders/exports/{export_id}":
        url += "?format=csv"
    return url


def _call(client: TestClient, method: str, path: str, world: dict[str, Any]) -> Any:
    body = _body(method, path, world)
    return client.request(
        method, _url(method, path, world), json=body if body is not None else None
    )


def _acme_rows(eng: sa.Engine) -> dict[str, int]:
    with eng.connect() as conn:
        return {
            name: conn.execute(
                sa.select(sa.func.count()).select_from(table).where(table.c.firm_id == "acme")
            ).scalar_one()
            for name, table in t.metadata.tables.items()
            if "firm_id" in table.c
        }


def test_every_route_has_a_role(engine: sa.Engine) -> None:
    web_firm(engine)
    document = api_client(engine).get("/api/v1/openapi.json").json()
    listed = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    assert listed == set(ROLE)


def test_another_firm_gets_404_and_sees_nothing(engine: sa.Engine, tmp_path: Path) -> None:
    world = _world(engine, tmp_path / "book")
    before = _acme_rows(engine)
    outsider = api_client(engine, world["other"]["admin"])
    checked = 0
    for method, path in sorted(ROUTES, key=lambda r: (ORDER[r[0]], r)):
        answer = _call(outsider, method, path, world)
        assert answer.status_code < 500, (method, path, answer.text)
        if "{" in path:
            assert answer.status_code == 404, (method, path, answer.status_code, answer.text)
            assert answer.headers["content-type"] == "application/problem+json"
        elif method == "GET":
            assert answer.status_code == 200, (method, path, answer.text)
            # acme's accounts; the other firm has none (its users share acme's names)
            assert "ACC1" not in answer.text, (method, path, answer.text)
            assert "ACC2" not in answer.text, (method, path, answer.text)
        checked += 1
    assert checked == len(ROLE) >= 40
    assert _acme_rows(engine) == before  # nothing of acme's was touched


@pytest.mark.parametrize("role", list(RANK))
def test_each_role_gets_what_the_table_allows(engine: sa.Engine, tmp_path: Path, role: str) -> None:
    world = _world(engine, tmp_path / "book")
    client = api_client(engine, world["keys"][role])
    wrong = []
    for method, path in sorted(ROUTES, key=lambda r: (ORDER[r[0]], r)):
        answer = _call(client, method, path, world)
        assert answer.status_code < 500, (method, path, answer.text)
        required = ROLE[method, path]
        if (method, path) == PASSWORD:  # the table's role sets one's own; this is carol's
            required = "admin"
        allowed = RANK[role] >= RANK[required]
        if (answer.status_code == 403) == allowed:
            wrong.append((method, path, answer.status_code, answer.text[:200]))
    assert wrong == []
