"""``POST /api/v1/what-if``: the service's what-if over the caller's firm's book."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from tests.factories import T0, api_client, count, database_fixture, tiny_book, web_firm
from tests.integration.test_store_whatif import BOOK_DAY
from tests.whatif_book import hand_book
from trimtab.service.imports import import_book, read_book_folder
from trimtab.store.uow import UnitOfWork

engine = database_fixture()


def test_a_viewer_compares_the_firm_book(engine: sa.Engine, tmp_path: Path) -> None:
    keys = web_firm(engine)
    other = web_firm(engine, "other")
    for firm, folder in (("acme", hand_book(tmp_path / "h")), ("other", tiny_book(tmp_path / "t"))):
        with UnitOfWork(engine, firm) as uow:
            import_book(uow, actor="olga", as_of=BOOK_DAY, folder=read_book_folder(folder), now=T0)
    requests = count(engine, "requests")
    body = {"logics": ["rebalance_to_target"], "amounts": {"min_trade_value": 0}, "top": 2}
    answer = api_client(engine, keys["viewer"]).post("/api/v1/what-if", json=body)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["accounts"] == 3
    assert [r["logic"] for r in found["logics"]] == ["(before)", "rebalance_to_target"]
    target = found["logics"][1]
    assert (target["trades"], target["turnover"]) == (6, 11200.0)
    assert [r["account_id"] for r in found["disagreement"]] == []  # one logic: no spread
    theirs = api_client(engine, other["viewer"]).post("/api/v1/what-if", json=body).json()
    assert theirs["accounts"] == 2 and "A1" not in str(theirs)
    bad = api_client(engine, keys["viewer"]).post("/api/v1/what-if", json={"logics": ["nope"]})
    assert bad.status_code == 422 and "logics" in bad.text
    assert count(engine, "requests") == requests
