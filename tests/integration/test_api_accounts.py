"""The account routes through HTTP: details, lots, settings, switch history, the list."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import database_fixture
from tests.integration.api_setup import API, D1, Api, errors, import_wide_book, two_firms, walk

engine = database_fixture()
LOTS = [
    {
        "account_id": "ACC1",
        "symbol": "A",
        "quantity": 6,
        "cost_basis": 60.0,
        "acquired": "2020-01-02",
    },
    {
        "account_id": "ACC1",
        "symbol": "A",
        "quantity": 6,
        "cost_basis": 330.0,
        "acquired": "2025-01-02",
    },
]


@pytest.fixture
def api(engine: sa.Engine, tmp_path: Path) -> Api:
    return two_firms(engine, tmp_path, lots=LOTS)


def test_account_details_by_hand(api: Api) -> None:
    got = api.viewer.get(f"{API}/accounts/ACC1")
    assert got.status_code == 200, got.text
    body = got.json()
    # 12 A x 50 = 600 and 10 B x 40 = 400 with 1000 cash: 2000, so A 30% and B 20%
    assert Decimal(body["cash"]) == 1000
    assert body["book_date"] == D1.isoformat()
    held = {h["symbol"]: h for h in body["holdings"]}
    assert Decimal(held["A"]["value"]) == 600 and Decimal(held["A"]["weight_pct"]) == 30
    assert Decimal(held["B"]["quantity"]) == 10 and Decimal(held["B"]["weight_pct"]) == 20
    assert (body["model_id"], body["model_version"]) == ("M1", 1)
    assert [(x["symbol"], Decimal(x["target_pct"])) for x in body["target"]] == [
        ("A", 60),
        ("B", 40),
    ]
    settings = body["settings"]
    assert settings["household_id"] == "H1" and settings["rebalancing"] is True
    assert settings["lot_method"] == "fifo" and Decimal(settings["cash_high_usd"]) == 330
    assert body["open_request"] is None


def test_lots_of_the_newest_book(api: Api) -> None:
    got = api.viewer.get(f"{API}/accounts/ACC1/lots")
    assert got.status_code == 200, got.text
    assert [
        (x["symbol"], Decimal(x["quantity"]), Decimal(x["cost_basis"]), x["acquired"])
        for x in got.json()
    ] == [("A", 6, 60, "2020-01-02"), ("A", 6, 330, "2025-01-02")]
    assert api.viewer.get(f"{API}/accounts/ACC2/lots").json() == []


@pytest.mark.parametrize(
    "path", ["/accounts/ACC1", "/accounts/ACC1/lots", "/accounts/ACC1/rebalancing-history"]
)
def test_another_firms_account_is_not_found(api: Api, path: str) -> None:
    got = api.other.get(API + path)
    assert got.status_code == 404, got.text
    assert got.headers["content-type"] == "application/problem+json"
    assert api.viewer.get(API + path).status_code == 200


def test_change_settings_and_switch_history(api: Api) -> None:
    changed = api.operator.patch(
        f"{API}/accounts/ACC1",
        json={
            "rebalancing": False,
            "trade_hold": True,
            "hold_until": "2026-12-31",
            "lot_method": "hifo",
            "cash_high_usd": "500.25",
            "no_trade_days": 400,
        },
    )
    assert changed.status_code == 200, changed.text
    settings = changed.json()["settings"]
    assert settings["rebalancing"] is False and settings["trade_hold"] is True
    assert settings["trade_hold_until"] == "2026-12-31" and settings["lot_method"] == "hifo"
    assert Decimal(settings["cash_high_usd"]) == Decimal("500.25")
    assert settings["no_trade_days"] == 400
    assert api.viewer.get(f"{API}/accounts/ACC1").json()["settings"] == settings
    history = api.viewer.get(f"{API}/accounts/ACC1/rebalancing-history").json()
    assert [(h["rebalancing"], h["changed_by"]) for h in history][-1] == (False, "key:operator")


def test_change_settings_needs_an_operator(api: Api) -> None:
    got = api.viewer.patch(f"{API}/accounts/ACC1", json={"rebalancing": False})
    assert got.status_code == 403, got.text
    assert api.viewer.get(f"{API}/accounts/ACC1").json()["settings"]["rebalancing"] is True
    assert api.other.patch(f"{API}/accounts/ACC1", json={"rebalancing": False}).status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lot_method": "random"}, "lot_method"),
        ({"sweep_pct": 101}, "sweep_pct"),
        ({"sac_soft_days": -1}, "sac_soft_days"),
        ({"cash_high_usd": "1.1234567"}, "cash_high_usd"),
        ({"colour": "red"}, "colour"),
        ({"hold_until": "2026-12-31"}, "hold_until"),
    ],
)
def test_bad_settings_name_the_field(api: Api, change: dict[str, object], field: str) -> None:
    got = api.operator.patch(f"{API}/accounts/ACC1", json=change)
    assert got.status_code == 422, got.text
    assert ("body", field) in errors(got)


def test_the_account_list_by_hand(api: Api) -> None:
    got = api.viewer.get(f"{API}/accounts")
    assert got.status_code == 200, got.text
    items = got.json()["items"]
    assert [(x["account_id"], Decimal(x["value"]), Decimal(x["cash"])) for x in items] == [
        ("ACC1", Decimal("2000.00"), 1000),
        ("ACC2", Decimal("900.00"), 100),
    ]
    assert items[1]["registration"] == "qualified" and items[1]["book_date"] == D1.isoformat()
    assert api.other.get(f"{API}/accounts").json()["items"] == []


def test_account_filters_and_pages(engine: sa.Engine, tmp_path: Path) -> None:
    api = two_firms(engine, tmp_path, book=False)
    import_wide_book(engine, tmp_path / "wide")
    pages = walk(api.viewer, f"{API}/accounts", 3)
    assert [[x["account_id"] for x in p] for p in pages] == [
        ["W01", "W02", "W03"],
        ["W04", "W05", "W06"],
        ["W07"],
    ]
    # W03 holds 30 B at 40 and 100 dollars
    assert Decimal(pages[0][2]["value"]) == Decimal("1300.00")

    def listed(**params: object) -> list[str]:
        return [
            x["account_id"] for p in walk(api.viewer, f"{API}/accounts", 2, **params) for x in p
        ]

    assert listed(household="HW2") == ["W03", "W04"]
    assert listed(model="M2") == ["W02", "W04", "W06"]
    api.operator.patch(f"{API}/accounts/W05", json={"rebalancing": False})
    assert listed(rebalancing="false") == ["W05"]
    assert listed(search="W0", model="M1", rebalancing="true") == ["W01", "W03", "W07"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"rebalancing": "maybe"}, "rebalancing"),
        ({"search": ""}, "search"),
        ({"limit": 0}, "limit"),
    ],
)
def test_bad_list_parameters(api: Api, params: dict[str, object], field: str) -> None:
    got = api.viewer.get(f"{API}/accounts", params=params)
    assert got.status_code == 422 and ("query", field) in errors(got)
