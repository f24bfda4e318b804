"""The audit trail through HTTP (admin): entries and the hash chain's check."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import database_fixture
from tests.integration.api_setup import API, Api, two_firms

engine = database_fixture()


@pytest.fixture
def api(engine: sa.Engine, tmp_path: Path) -> Api:
    return two_firms(engine, tmp_path)


def test_verify_the_chain(api: Api, engine: sa.Engine) -> None:
    got = api.admin.get(f"{API}/audit/verify")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["intact"] is True and body["problems"] == [] and body["unchained"] == 0
    with engine.connect() as conn:
        entries = conn.execute(
            sa.text("SELECT count(*) FROM audit_log WHERE firm_id = 'acme'")
        ).scalar_one()
    assert body["entries"] == entries
    assert api.other.get(f"{API}/audit/verify").json()["entries"] < entries


def test_only_an_admin_verifies(api: Api) -> None:
    for role in ("viewer", "operator", "approver"):
        assert getattr(api, role).get(f"{API}/audit/verify").status_code == 403
