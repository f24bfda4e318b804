"""A body's numbers, whole numbers, booleans and dates are taken as their JSON type only:
``true`` is not one dollar, ``"5"`` not five, ``0`` not 1 January 1970. Each wrong value
is a 422 naming its field, and nothing is changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.factories import count, database_fixture
from tests.integration.api_setup import API, D2, Api, errors, two_firms

engine = database_fixture()

WRONG: dict[str, tuple[Any, ...]] = {
    "number": (True, False, "5", "1e2", [1], {}),
    "whole": (True, "5", 2.5, 2.0),
    "flag": (1, 0, "true", "yes", "1"),
    "date": (0, 1_700_000_000, "20261120", "2026-11-20T00:00:00", True),
}
"""Values of the wrong JSON type (or a date not written YYYY-MM-DD) for each kind."""

TABLES = ("requests", "audit_log", "account_restrictions", "evaluation_runs", "order_exports")
"""Where a call taken would have written."""

CASES = [
    # (role, method, path, a valid body, field path, kind)
    ("operator", "post", "/requests", {"logic": "generate_cash", "accounts": ["ACC1"]},
     "amounts.cash_to_generate", "number"),
    ("operator", "post", "/requests", {"logic": "rebalance_to_target", "accounts": ["ACC1"]},
     "amounts.min_trade_value", "number"),
    ("operator", "post", "/requests", {"logic": "rebalance_to_target", "accounts": ["ACC1"]},
     "replace", "flag"),
    ("viewer", "post", "/what-if", {}, "amounts.min_trade_value", "number"),
    ("viewer", "post", "/what-if", {}, "short_term_rate", "number"),
    ("viewer", "post", "/what-if", {}, "top", "whole"),
    ("admin", "patch", "/accounts/ACC1", {}, "trade_hold", "flag"),
    ("admin", "patch", "/accounts/ACC1", {}, "rebalancing", "flag"),
    ("admin", "patch", "/accounts/ACC1", {"trade_hold": True}, "hold_until", "date"),
    ("admin", "patch", "/accounts/ACC1", {}, "no_trade_days", "whole"),
    ("operator", "post", "/evaluations", {}, "as_of", "date"),
    ("operator", "post", "/orders/exports", {"format": "csv"}, "trade_date", "date"),
    ("operator", "post", "/orders/exports", {"format": "csv", "trade_date": D2.isoformat()},
     "again", "flag"),
    ("operator", "post", "/accounts/ACC1/restrictions",
     {"type": "exclusion", "symbol": "A", "behaviour": "hold", "start_date": "2026-11-01"},
     "weight_at_end_pct", "number"),
    ("operator", "post", "/accounts/ACC1/restrictions",
     {"type": "exclusion", "symbol": "A", "behaviour": "hold"}, "start_date", "date"),
]  # fmt: skip


def _with(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = {**body}
    *outer, last = path.split(".")
    node = out
    for name in outer:
        node[name] = {**node.get(name, {})}
        node = node[name]
    node[last] = value
    return out


@pytest.fixture
def api(engine: sa.Engine, tmp_path: Path) -> Api:
    return two_firms(engine, tmp_path)


@pytest.mark.parametrize(("role", "method", "path", "body", "field", "kind"), CASES)
def test_a_value_of_the_wrong_json_type_is_refused_naming_its_field(
    api: Api,
    engine: sa.Engine,
    role: str,
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
    kind: str,
) -> None:
    before = {name: count(engine, name) for name in TABLES}
    client = getattr(api, role)
    named = f"{body['type']}.{field}" if "type" in body else field  # a tagged body's type first
    for value in WRONG[kind]:
        answer = getattr(client, method)(f"{API}{path}", json=_with(body, field, value))
        assert answer.status_code == 422, (field, value, answer.text)
        assert [f for _, f in errors(answer)] == [named], (value, answer.json())
    assert {name: count(engine, name) for name in before} == before


def test_the_right_types_are_taken(api: Api) -> None:
    """The same fields with values of their type are accepted (so the refusals above are
    of the type, not of something else in the bodies)."""
    answer = api.viewer.post(
        f"{API}/what-if",
        json={"logics": ["rebalance_to_target"], "amounts": {"min_trade_value": 0},
              "short_term_rate": 40, "top": 3},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    changed = api.admin.patch(
        f"{API}/accounts/ACC1",
        json={"trade_hold": True, "hold_until": "2026-12-31", "no_trade_days": 5},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["settings"]["no_trade_days"] == 5
    made = api.operator.post(
        f"{API}/requests",
        json={"logic": "generate_cash", "accounts": ["ACC2"], "amounts": {"cash_to_generate": 50},
              "replace": False},
    )  # fmt: skip
    assert made.status_code in (201, 202), made.text


def test_a_request_names_its_accounts_or_a_match_not_both(api: Api, engine: sa.Engine) -> None:
    requests = count(engine, "requests")
    for body in (
        {"logic": "rebalance_to_target"},
        {"logic": "rebalance_to_target", "accounts": ["ACC1"], "match": {}},
    ):
        answer = api.operator.post(f"{API}/requests", json=body)
        assert answer.status_code == 422, answer.text
        assert errors(answer) == [("body", "accounts")]
    assert count(engine, "requests") == requests
    schema = api.viewer.get(f"{API}/openapi.json").json()["components"]["schemas"]
    assert schema["RequestCreate"]["oneOf"] == [
        {"required": ["accounts"]},
        {"required": ["match"]},
    ]
