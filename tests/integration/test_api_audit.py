"""The audit trail through HTTP (admin): entries and the hash chain's check."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import database_fixture
from tests.integration.api_setup import API, Api, errors, two_firms, walk

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


def test_the_audit_log_page_by_page(api: Api, engine: sa.Engine) -> None:
    with engine.connect() as conn:
        every = (
            conn.execute(
                sa.text(
                    "SELECT audit_id FROM audit_log WHERE firm_id = 'acme' ORDER BY audit_id DESC"
                )
            )
            .scalars()
            .all()
        )
    pages = walk(api.admin, f"{API}/audit", 5)
    assert [x["audit_id"] for p in pages for x in p] == list(every)
    assert all(len(p) == 5 for p in pages[:-1])


def test_filters_show_one_change(api: Api) -> None:
    api.operator.patch(f"{API}/accounts/ACC1", json={"lot_method": "hifo"})
    got = api.admin.get(f"{API}/audit", params={"user": "key:operator", "entity_id": "ACC1"})
    assert got.status_code == 200, got.text
    [entry] = got.json()["items"]
    assert (entry["action"], entry["entity"]) == ("update", "account")
    assert (entry["before"], entry["after"]) == ({"lot_method": "fifo"}, {"lot_method": "hifo"})
    later = api.admin.get(f"{API}/audit", params={"user": "key:operator", "since": "2040-12-31"})
    assert later.json()["items"] == []
    assert api.other.get(f"{API}/audit", params={"entity_id": "ACC1"}).json()["items"] == []


def test_only_an_admin_reads_the_log(api: Api) -> None:
    for role in ("viewer", "operator", "approver"):
        assert getattr(api, role).get(f"{API}/audit").status_code == 403


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "1999-01-01"}, "until"),
        ({"limit": -1}, "limit"),
    ],
)
def test_bad_audit_parameters(api: Api, params: dict[str, object], field: str) -> None:
    got = api.admin.get(f"{API}/audit", params=params)
    assert got.status_code == 422 and ("query", field) in errors(got)
