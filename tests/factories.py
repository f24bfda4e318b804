"""Builders shared by the tests: scenario documents, book folders, databases and seeded firms.

Scenario section (``docs/formats.md``): :func:`scenario_doc`, :func:`household_doc`,
:func:`account_doc`, :func:`model_doc`, :func:`positions_doc`, and :func:`run_doc` to propose
on a document.

Service section: :func:`write_book`, :func:`tiny_book`, :func:`database_fixture`,
:func:`seed_firm`.
"""

from __future__ import annotations

import atexit
import csv
import functools
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from trimtab.io.propose import run_scenario
from trimtab.store import tables
from trimtab.store.migrate import make_engine, upgrade
from trimtab.store.tables import metadata, users
from trimtab.store.uow import UnitOfWork

POSTGRES_URL = os.environ.get("TRIMTAB_TEST_POSTGRES_URL")
T0 = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
"""A fixed moment for tests: Friday 20 November 2026, 08:00 in Chicago."""


LOGICS_1_TO_6 = [
    "rebalance_to_target",
    "rebalance_to_tolerance",
    "rebalance_to_tolerance_oot_only",
    "invest_cash_proportional",
    "invest_cash_min_trades",
    "generate_cash",
]
"""The six trade logics of the rebalancing document (seed 003), logics 1 to 6 in its order."""

ModelLine = tuple[str, float] | tuple[str, float, float, float]
"""A model line: ``(symbol, target_pct)`` or ``(symbol, target_pct, min_pct, max_pct)``."""


def model_doc(lines: Iterable[ModelLine], **fields: Any) -> dict[str, Any]:
    """A scenario's ``model``: one security per line, percent points; a line without a band
    leaves ``min_pct`` and ``max_pct`` out. ``fields`` (``name``, ``cash_pct``) as given."""
    securities: list[dict[str, Any]] = []
    for line in lines:
        security: dict[str, Any] = {"symbol": line[0], "target_pct": line[1]}
        if len(line) == 4:
            security.update(min_pct=line[2], max_pct=line[3])
        securities.append(security)
    return {**fields, "securities": securities}


def positions_doc(holdings: Mapping[str, Any], *, by: str = "quantity") -> list[dict[str, Any]]:
    """An account's ``positions``, in the order given: shares by symbol (``by``
    ``"market_value"`` for dollars); a list is that position's ``lots`` as it stands."""
    return [
        {"symbol": s, "lots": h} if isinstance(h, list) else {"symbol": s, by: h}
        for s, h in holdings.items()
    ]


def account_doc(
    holdings: Mapping[str, Any], *, id: str = "ACC-1", cash: float = 0.0, **fields: Any
) -> dict[str, Any]:
    """A scenario's ``account``: ``id``, ``cash`` in dollars, :func:`positions_doc` of
    ``holdings`` (shares by symbol), then ``fields`` (``registration``, ``lot_method``, ...)."""
    return {"id": id, "cash": cash, "positions": positions_doc(holdings), **fields}


def scenario_doc(
    *,
    prices: Mapping[str, float],
    method: str = "rebalance_to_target",
    model: dict[str, Any] | Iterable[ModelLine] | None = None,
    account: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A scenario document as ``trimtab propose`` reads it (``docs/formats.md``).

    Only what is given is written: ``prices`` in dollars per share; ``model`` a document or
    lines for :func:`model_doc`; ``account`` (see :func:`account_doc`); then ``fields`` in
    the order given (``as_of``, ``options``, ``household``, ``sleeves``, ``restrictions``,
    ``locks``, ...). Rules apply only with an ``as_of``, as in the format.
    """
    doc: dict[str, Any] = {"method": method}
    for name in ("as_of", "options"):
        if name in fields:
            doc[name] = fields.pop(name)
    doc["prices"] = dict(prices)
    if model is not None:
        doc["model"] = model if isinstance(model, dict) else model_doc(model)
    if account is not None:
        doc["account"] = account
    doc.update(fields)
    return doc


def household_doc(
    accounts: Sequence[dict[str, Any]],
    *,
    prices: Mapping[str, float],
    id: str = "H-1",
    **fields: Any,
) -> dict[str, Any]:
    """A ``household_rebalance`` scenario: the household ``id`` with ``accounts`` (each as
    :func:`account_doc` makes, plus rule fields); the rest as :func:`scenario_doc`."""
    return scenario_doc(
        prices=prices,
        method="household_rebalance",
        household={"id": id, "accounts": list(accounts)},
        **fields,
    )


def run_doc(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The proposal document ``trimtab propose`` writes for the scenario ``doc``."""
    return run_scenario(json.dumps(doc))


def write_table(folder: Path, name: str, rows: Sequence[dict[str, Any]]) -> None:
    """``rows`` as ``folder/name.csv`` (columns from the first row)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def write_book(folder: Path, **tables: Sequence[dict[str, Any]]) -> Path:
    """A book folder with one CSV per keyword (``prices=[...]``, ``cash_activity=[...]``)."""
    for name, rows in tables.items():
        if rows:
            write_table(folder, name, rows)
    return folder


def tiny_book(folder: Path, *, cash: float = 1000.0, price_a: float = 50.0, **extra: Any) -> Path:
    """Two accounts on one model: A 60% [55, 65], B 40% [35, 45], no cash target.

    Account ``ACC1`` holds 12 A and 10 B plus ``cash`` dollars; ``ACC2`` (qualified, household
    H1 with ACC1) holds only 20 B and 100 dollars. Prices A ``price_a``, B 40.
    """
    tables: dict[str, Sequence[dict[str, Any]]] = {
        "prices": [
            {
                "symbol": "A",
                "price": price_a,
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
        "models": [
            {"model_id": "M1", "symbol": "A", "target_pct": 60, "min_pct": 55, "max_pct": 65},
            {"model_id": "M1", "symbol": "B", "target_pct": 40, "min_pct": 35, "max_pct": 45},
        ],
        "accounts": [
            {
                "account_id": "ACC1",
                "model_id": "M1",
                "cash": cash,
                "household_id": "H1",
                "registration": "non_qualified",
                "rebalancing": "true",
            },
            {
                "account_id": "ACC2",
                "model_id": "M1",
                "cash": 100.0,
                "household_id": "H1",
                "registration": "qualified",
                "rebalancing": "true",
            },
        ],
        "positions": [
            {"account_id": "ACC1", "symbol": "A", "quantity": 12},
            {"account_id": "ACC1", "symbol": "B", "quantity": 10},
            {"account_id": "ACC2", "symbol": "B", "quantity": 20},
        ],
    }
    tables.update(extra)
    return write_book(folder, **tables)


_CACHE: dict[str, Any] = {}


def _sqlite_template(tmp_root: Path) -> Path:
    """A migrated SQLite file, built once per test run and copied for each test."""
    if "sqlite" not in _CACHE:
        path = tmp_root / "template.db"
        eng = make_engine(f"sqlite:///{path}")
        upgrade(eng)
        eng.dispose()
        _CACHE["sqlite"] = path
    path: Path = _CACHE["sqlite"]
    return path


def _postgres_shared() -> sa.Engine:
    """One migrated schema per test run; tests empty its tables instead of migrating again."""
    if "postgres" not in _CACHE:
        gen = postgres_engine()
        _CACHE["postgres"] = next(gen)
        atexit.register(gen.close)
    eng: sa.Engine = _CACHE["postgres"]
    return eng


def _truncate(eng: sa.Engine) -> None:
    names = ", ".join(f'"{t}"' for t in metadata.tables)
    with eng.begin() as conn:
        # the superuser's replica mode skips audit_log's trigger refusing TRUNCATE
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


def cluster_fixture() -> Any:
    """A module-scoped pytest fixture ``cluster``: the scheduler address of a LocalCluster of
    two worker processes on loopback, its workers up. Assign it in a test module:
    ``cluster = cluster_fixture()``."""

    @pytest.fixture(scope="module", name="cluster")
    def cluster() -> Iterator[str]:
        from distributed import Client

        from trimtab.cluster.run import local_cluster

        with local_cluster(2) as local:
            with Client(local) as client:
                client.wait_for_workers(2)
            yield local.scheduler_address

    return cluster


def database_fixture() -> Any:
    """A pytest fixture ``engine``: a migrated SQLite file, then (when reachable) PostgreSQL.

    PostgreSQL runs in a schema of its own (dropped at the end of the run) whose tables are
    emptied before each test, so parallel runs never meet. Assign it in a test module:
    ``engine = database_fixture()``.
    """

    @pytest.fixture(
        params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], name="engine"
    )
    def engine(
        request: pytest.FixtureRequest, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[sa.Engine]:
        if request.param == "sqlite":
            path = tmp_path / "trimtab.db"
            shutil.copyfile(_sqlite_template(tmp_path_factory.getbasetemp()), path)
            eng = make_engine(f"sqlite:///{path}", durable=False)
            yield eng
            eng.dispose()
            return
        if not POSTGRES_URL:
            pytest.skip("TRIMTAB_TEST_POSTGRES_URL is not set")
        shared = _postgres_shared()
        _truncate(shared)
        yield shared
        shared.dispose()

    return engine


def postgres_engine(*, migrate: bool = True) -> Iterator[sa.Engine]:
    """A PostgreSQL engine in a fresh schema, migrated unless ``migrate`` is false.

    Skips the test when no server is configured.
    """
    if not POSTGRES_URL:
        pytest.skip("TRIMTAB_TEST_POSTGRES_URL is not set")
    schema = f"tt_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    eng = make_engine(POSTGRES_URL, schema=schema, durable=False)
    try:
        if migrate:
            upgrade(eng)
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def seed_firm(engine: sa.Engine, firm: str = "acme") -> None:
    """Firm ``firm`` with users alice (admin), olga (operator), amy and bob (approvers)."""
    from trimtab.service.access import add_firm, add_user

    with UnitOfWork(engine, firm) as uow:
        add_firm(uow, name=firm.title(), admin_id="alice", now=T0)
    for user, role in (("olga", "operator"), ("amy", "approver"), ("bob", "approver")):
        with UnitOfWork(engine, firm) as uow:
            add_user(uow, actor="alice", user_id=user, role=role, now=T0)


def count(engine: sa.Engine, table: str, firm: str | None = None) -> int:
    """Rows of ``table`` (of one firm when given)."""
    sql = f'SELECT count(*) FROM "{table}"' + (" WHERE firm_id = :f" if firm else "")
    with engine.connect() as conn:
        return int(conn.execute(sa.text(sql), {"f": firm}).scalar_one())


def held(engine: sa.Engine, firm: str, kind: str = "positions") -> list[dict[str, Any]]:
    """The stored ``kind`` (positions or lots) of every imported date of ``firm``, as rows
    with their ``as_of``."""
    from trimtab.store import holdings

    with UnitOfWork(engine, firm) as uow:
        days = uow.conn.execute(
            sa.select(tables.holding_parts.c.as_of)
            .where(tables.holding_parts.c.firm_id == firm)
            .distinct()
            .order_by(tables.holding_parts.c.as_of)
        ).scalars()
        return [
            {"as_of": day, **row}
            for day in list(days)
            for row in holdings.read(uow, as_of=day, kind=kind).to_pylist()
        ]


PASSWORD = "correct horse battery"
"""The password :func:`web_firm` gives every user."""


@functools.cache
def _password_hash() -> str:
    from pwdlib import PasswordHash

    return PasswordHash.recommended().hash(PASSWORD)


def web_firm(engine: sa.Engine, firm: str = "acme") -> dict[str, str]:
    """:func:`seed_firm` with a password (:data:`PASSWORD`) for every user and an API key
    per role; returns each role's key token (``viewer``, ``operator``, ``approver``,
    ``admin``)."""
    from trimtab.service.credentials import add_api_key

    seed_firm(engine, firm)
    with UnitOfWork(engine, firm) as uow:
        # One argon2 hash per test run, shared (hashing is slow on purpose).
        uow.conn.execute(
            sa.update(users).where(users.c.firm_id == firm).values(password_hash=_password_hash())
        )
        uow.commit()
        return {
            role: add_api_key(uow, actor="alice", name=role, role=role, now=T0)
            for role in ("viewer", "operator", "approver", "admin")
        }


def api_client(engine: sa.Engine, token: str | None = None) -> Any:
    """An HTTP client of the web app on ``engine`` (requests proposed inline), sending
    ``token`` as its bearer API key when given."""
    from fastapi.testclient import TestClient

    from trimtab.web import create_app

    client = TestClient(create_app(engine=engine, background=False), base_url="http://localhost")
    if token is not None:
        client.headers["Authorization"] = f"Bearer {token}"
    return client


BOOK_DAY = datetime(2026, 11, 19, tzinfo=UTC).date()
"""The book date of :func:`queued_book`: Thursday 19 November 2026 (evaluated on the 20th)."""


def queued_book(engine: sa.Engine, folder: Path, firm: str = "acme", **extra: Any) -> None:
    """:func:`tiny_book` (with ``extra``) imported as of :data:`BOOK_DAY` and evaluated the
    next market day, so its accounts (both outside their bands) wait in the queue."""
    from trimtab.service.evaluate import evaluate
    from trimtab.service.imports import import_book, read_book_folder

    book = read_book_folder(tiny_book(folder, **extra))
    with UnitOfWork(engine, firm) as uow:
        import_book(uow, actor="olga", as_of=BOOK_DAY, folder=book, now=T0)
    with UnitOfWork(engine, firm) as uow:
        evaluate(uow, actor="olga", day=T0.date(), now=T0)


def sign_in(client: Any, user: str = "olga", firm: str = "acme") -> Any:
    """Sign ``client`` in through the /signin form as ``user`` (password :data:`PASSWORD`);
    returns the client."""
    done = client.post(
        "/signin",
        data={"firm": firm, "user": user, "password": PASSWORD, "next": "/"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    return client
