"""Twenty simultaneous approvals of one request over HTTP create one set of orders."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path

import httpx
import sqlalchemy as sa

from tests.factories import T0, count, database_fixture, tiny_book, web_firm
from trimtab.service.imports import import_book, read_book_folder
from trimtab.store.uow import UnitOfWork
from trimtab.web import create_app
from trimtab.web.local import serving

engine = database_fixture()
CALLS = 20


def test_twenty_simultaneous_approvals_make_one_set_of_orders(
    engine: sa.Engine, tmp_path: Path
) -> None:
    keys = web_firm(engine)
    with UnitOfWork(engine, "acme") as uow:
        import_book(
            uow,
            actor="olga",
            as_of=date(2026, 11, 19),
            folder=read_book_folder(tiny_book(tmp_path / "book")),
            now=T0,
        )
    with serving(create_app(engine=engine, background=False)) as url:
        operator = {"Authorization": f"Bearer {keys['operator']}"}
        made = httpx.post(
            f"{url}/api/v1/requests",
            json={"accounts": ["ACC1", "ACC2"], "logic": "rebalance_to_target"},
            headers=operator,
            timeout=60,
        )
        assert made.status_code == 202, made.text
        assert made.json()["status"] == "pending"
        location = made.headers["location"]
        lines = sum(
            len(p["trades"])
            for p in httpx.get(f"{url}{location}/proposals", headers=operator, timeout=60).json()[
                "items"
            ]
        )
        assert lines > 0
        barrier = threading.Barrier(CALLS)
        answers: list[httpx.Response] = []
        lock = threading.Lock()

        def approve() -> None:
            with httpx.Client(
                headers={"Authorization": f"Bearer {keys['approver']}"}, timeout=120
            ) as client:
                barrier.wait()
                answer = client.post(f"{url}{location}/approve")
            with lock:
                answers.append(answer)

        threads = [threading.Thread(target=approve) for _ in range(CALLS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] + [409] * (CALLS - 1), [
        a.text for a in answers if a.status_code >= 500
    ]
    won = next(a for a in answers if a.status_code == 200).json()
    assert won["orders"] == lines
    assert count(engine, "orders", "acme") == lines
    refused = next(a for a in answers if a.status_code == 409)
    assert refused.headers["content-type"] == "application/problem+json"
    assert "pending" in refused.json()["detail"]
