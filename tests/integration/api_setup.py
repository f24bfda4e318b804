"""What the API tests share: two firms with API keys, a book imported, an evaluation run,
and clients that call the API as each role."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tests.factories import PASSWORD, T0, api_client, tiny_book, web_firm, write_book
from trimtab.service.evaluate import evaluate
from trimtab.service.imports import import_book, read_book_folder
from trimtab.service.requests import approve_request, submit_request
from trimtab.store.uow import UnitOfWork

D1 = date(2026, 11, 19)
"""The book's date: Thursday 19 November 2026."""
D2 = date(2026, 11, 20)
"""The day evaluated on :data:`D1`'s book (T0's day)."""
ROLES = ("viewer", "operator", "approver", "admin")
API = "/api/v1"


def import_tiny_book(
    engine: sa.Engine, folder: Path, firm: str = "acme", as_of: date = D1, **extra: Any
) -> None:
    """:func:`~tests.factories.tiny_book` imported for ``firm`` as of ``as_of``."""
    book = read_book_folder(tiny_book(folder, **extra))
    with UnitOfWork(engine, firm) as uow:
        import_book(uow, actor="olga", as_of=as_of, folder=book, now=T0)


def run_evaluation(engine: sa.Engine, firm: str = "acme") -> None:
    """The evaluation of :data:`D2` (on :data:`D1`'s book)."""
    with UnitOfWork(engine, firm) as uow:
        evaluate(uow, actor="olga", day=D2, now=T0)


class Api:
    """Clients of one firm's API, one per role (``api.viewer.get(...)``), and ``other``: the
    admin of a second firm, for whom the first firm's objects do not exist."""

    def __init__(self, engine: sa.Engine, keys: dict[str, str], other: dict[str, str]) -> None:
        self.engine = engine
        self.keys = keys
        self._clients: dict[str, Any] = {}
        self._other = other

    def __getattr__(self, role: str) -> Any:
        if role == "other":
            token = self._other["admin"]
        elif role in ROLES:
            token = self.keys[role]
        else:
            raise AttributeError(role)
        if role not in self._clients:
            self._clients[role] = api_client(self.engine, token)
        return self._clients[role]


def two_firms(engine: sa.Engine, tmp_path: Path, *, book: bool = True, **extra: Any) -> Api:
    """Firms ``acme`` and ``other``, each with the users and keys of
    :func:`~tests.factories.web_firm`; with ``book``, the tiny book imported for ``acme``:
    what ``acme`` holds, ``other`` must not find."""
    keys, other = web_firm(engine, "acme"), web_firm(engine, "other")
    if book:
        import_tiny_book(engine, tmp_path / "acme", "acme", **extra)
    return Api(engine, keys, other)


def errors(response: Any) -> list[tuple[str, str]]:
    """A problem's ``errors`` as (record, field) pairs, after checking it is one."""
    assert response.headers["content-type"] == "application/problem+json", response.text
    return [(e["record"], e["field"]) for e in response.json().get("errors", [])]


def approved_request(engine: sa.Engine, accounts: tuple[str, ...] = ("ACC1", "ACC2")) -> int:
    """A request of olga's for ``accounts`` (rebalance to target), approved by amy at T0:
    its orders trade on :data:`D2`. Returns its id."""
    with UnitOfWork(engine, "acme") as uow:
        request_id = submit_request(
            uow, actor="olga", account_ids=list(accounts), logic="rebalance_to_target", now=T0
        ).request_id
    with UnitOfWork(engine, "acme") as uow:
        approve_request(uow, actor="amy", request_id=request_id, now=T0)
    return request_id


def signed_in(engine: sa.Engine, user: str, password: str = PASSWORD) -> Any:
    """A client with ``user``'s browser session, sending its CSRF token on every call."""
    client = api_client(engine)
    done = client.post(
        "/signin",
        data={"firm": "acme", "user": user, "password": password, "next": "/"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    client.headers["X-CSRF-Token"] = client.get(f"{API}/me/session").json()["csrf_token"]
    return client


def wide_book(folder: Path, accounts: int = 7) -> Path:
    """``accounts`` accounts ``W01``, ``W02``, ... for paging: each holds ``10 * n`` B at 40
    and 100 dollars, so every one is out of its band; odd ones on M1 (A 60, B 40), even ones
    on M2 (A 50, B 50); households of two (``HW1``: W01 and W02, ...)."""
    ids = [f"W{n:02d}" for n in range(1, accounts + 1)]
    return write_book(
        folder,
        prices=[
            {
                "symbol": "A",
                "price": 50.0,
                "sub_asset_class": "Large Value",
                "asset_class": "Equity",
            },
            {
                "symbol": "B",
                "price": 40.0,
                "sub_asset_class": "Core Bond",
                "asset_class": "Fixed Income",
            },
        ],
        models=[
            {"model_id": "M1", "symbol": "A", "target_pct": 60, "min_pct": 55, "max_pct": 65},
            {"model_id": "M1", "symbol": "B", "target_pct": 40, "min_pct": 35, "max_pct": 45},
            {"model_id": "M2", "symbol": "A", "target_pct": 50, "min_pct": 45, "max_pct": 55},
            {"model_id": "M2", "symbol": "B", "target_pct": 50, "min_pct": 45, "max_pct": 55},
        ],
        accounts=[
            {
                "account_id": a,
                "model_id": "M1" if n % 2 else "M2",
                "cash": 100.0,
                "household_id": f"HW{(n + 1) // 2}",
                "registration": "non_qualified",
                "rebalancing": "true",
            }
            for n, a in enumerate(ids, start=1)
        ],
        positions=[
            {"account_id": a, "symbol": "B", "quantity": 10 * n} for n, a in enumerate(ids, start=1)
        ],
    )


def import_wide_book(engine: sa.Engine, folder: Path, accounts: int = 7) -> None:
    """:func:`wide_book` imported for ``acme`` as of :data:`D1`."""
    book = read_book_folder(wide_book(folder, accounts))
    with UnitOfWork(engine, "acme") as uow:
        import_book(uow, actor="olga", as_of=D1, folder=book, now=T0)


def walk(client: Any, path: str, limit: int, **params: Any) -> list[list[Any]]:
    """Every page of the list at ``path``, ``limit`` items each, following the tokens."""
    pages: list[list[Any]] = []
    token = None
    while True:
        query = {**params, "limit": limit, **({"page_token": token} if token else {})}
        got = client.get(path, params=query)
        assert got.status_code == 200, got.text
        body = got.json()
        pages.append(body["items"])
        token = body["next_page_token"]
        if token is None:
            return pages
        assert len(pages) < 100, "the pages never end"
