"""Models and their versions through HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import database_fixture
from tests.integration.api_setup import API, D1, Api, errors, import_wide_book, two_firms, walk

engine = database_fixture()
MODELS = f"{API}/models"


@pytest.fixture
def api(engine: sa.Engine, tmp_path: Path) -> Api:
    return two_firms(engine, tmp_path)


def test_a_model_with_its_versions(api: Api) -> None:
    listed = api.viewer.get(MODELS).json()
    assert listed == {
        "items": [
            {"model_id": "M1", "current_version": 1, "effective": D1.isoformat(), "accounts": 2}
        ],
        "next_page_token": None,
    }
    got = api.viewer.get(f"{MODELS}/M1")
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["current_version"], body["accounts"]) == (1, 2)
    [version] = body["versions"]
    assert (version["version"], version["effective"], version["cash_pct"]) == (1, "2026-11-19", 0)
    assert [
        (x["symbol"], x["target_pct"], x["min_pct"], x["max_pct"]) for x in version["lines"]
    ] == [("A", 60, 55, 65), ("B", 40, 35, 45)]


def test_another_firms_model_is_not_found(api: Api) -> None:
    assert api.other.get(f"{MODELS}/M1").status_code == 404
    assert api.other.get(MODELS).json()["items"] == []
    assert api.viewer.get(f"{MODELS}/M9").status_code == 404


def test_models_page_by_page(engine: sa.Engine, tmp_path: Path) -> None:
    api = two_firms(engine, tmp_path, book=False)
    import_wide_book(engine, tmp_path / "wide")
    pages = walk(api.viewer, MODELS, 1)
    assert [[(x["model_id"], x["accounts"]) for x in p] for p in pages] == [
        [("M1", 4)],
        [("M2", 3)],
    ]


def test_bad_parameters(api: Api) -> None:
    assert ("query", "limit") in errors(api.viewer.get(MODELS, params={"limit": "many"}))
    assert ("path", "model_id") in errors(api.viewer.get(f"{MODELS}/{'m' * 65}"))
