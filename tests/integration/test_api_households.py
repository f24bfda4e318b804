"""Households through HTTP."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import database_fixture
from tests.integration.api_setup import API, Api, errors, import_wide_book, two_firms, walk

engine = database_fixture()
HOUSEHOLDS = f"{API}/households"


@pytest.fixture
def api(engine: sa.Engine, tmp_path: Path) -> Api:
    made = two_firms(engine, tmp_path, book=False)
    import_wide_book(engine, tmp_path / "wide")
    return made


def test_households_page_by_page(api: Api) -> None:
    pages = walk(api.viewer, HOUSEHOLDS, 3)
    found = [x for p in pages for x in p]
    assert [x["household_id"] for x in found] == ["HW1", "HW2", "HW3", "HW4"]
    assert [len(p) for p in pages] == [3, 1]
    # HW1: W01 (10 B, 100 cash) and W02 (20 B, 100 cash): 500 + 900; HW4: W07 alone
    assert (found[0]["accounts"], Decimal(found[0]["value"])) == (2, Decimal("1400.00"))
    assert (found[3]["accounts"], Decimal(found[3]["value"])) == (1, Decimal("2900.00"))


def test_a_household_and_its_accounts(api: Api) -> None:
    got = api.viewer.get(f"{HOUSEHOLDS}/HW2")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["household_id"] == "HW2"
    assert [(a["account_id"], Decimal(a["value"])) for a in body["accounts"]] == [
        ("W03", Decimal("1300.00")),
        ("W04", Decimal("1700.00")),
    ]


def test_another_firms_household_is_not_found(api: Api) -> None:
    assert api.other.get(f"{HOUSEHOLDS}/HW2").status_code == 404
    assert api.other.get(HOUSEHOLDS).json()["items"] == []
    assert api.viewer.get(f"{HOUSEHOLDS}/HW9").status_code == 404


def test_bad_parameters(api: Api) -> None:
    assert ("query", "page_token") in errors(api.viewer.get(HOUSEHOLDS, params={"page_token": "x"}))
    assert ("path", "household_id") in errors(api.viewer.get(f"{HOUSEHOLDS}/{'x' * 65}"))
