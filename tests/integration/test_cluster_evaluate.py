"""``trimtab evaluate --cluster``: the evaluation spread over a LocalCluster of two worker
processes on loopback stores what the single-process run stores, row for row (evaluations,
their classes, the queue), on two days in a row (the second reads the first's state), and
when a worker process is killed in the middle of the run.

The demo book is imported with parts of about 2,000 holdings (not 50,000), so that its
1,200 accounts make some twenty parts and several partitions.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
import sqlalchemy as sa
from distributed import Client

from tests.factories import POSTGRES_URL, T0, cluster_fixture, seed_firm
from trimtab.cluster.evaluate import ClusterRun
from trimtab.io.demo import DemoSpec, demo_tables, write_book
from trimtab.service.evaluate import evaluate
from trimtab.service.imports import import_book, read_book_folder
from trimtab.store import holdings
from trimtab.store.migrate import make_engine, upgrade
from trimtab.store.uow import UnitOfWork

D1, D2 = date(2026, 11, 19), date(2026, 11, 20)
EVALUATED = {D1: date(2026, 11, 20), D2: date(2026, 11, 23)}
TABLES = {
    "evaluations": "account_id",
    "evaluation_classes": "account_id, sub_asset_class",
    "queue_entries": "account_id, as_of",
}


cluster = cluster_fixture()


def books(folder: Path) -> dict[date, Path]:
    """Day 1: the demo book. Day 2: the same holdings, one account in seven on another
    model (target changed), one in five with a deposit, one in eleven with its cash gone."""
    tables = demo_tables(DemoSpec(accounts=1200, securities=60, models=6, lines=12))
    write_book(folder / "1", tables)
    accounts = tables["accounts"]
    n = accounts.num_rows
    models = sorted(set(accounts["model_id"].to_pylist()))
    moved = pa.array([i % 7 == 0 for i in range(n)])
    other = pa.array(
        [models[(models.index(m) + 1) % len(models)] for m in accounts["model_id"].to_pylist()]
    )
    accounts = accounts.set_column(
        accounts.column_names.index("model_id"),
        "model_id",
        pc.if_else(moved, other, accounts["model_id"]),
    )
    broke = pa.array([i % 11 == 0 for i in range(n)])
    cash = accounts["cash"]
    accounts = accounts.set_column(
        accounts.column_names.index("cash"),
        "cash",
        pc.if_else(broke, pa.scalar(0.0, cash.type), cash),
    )
    ids = accounts["account_id"].to_pylist()[::5]
    deposits = pa.table(
        {
            "account_id": ids,
            "kind": ["deposit"] * len(ids),
            "amount": [500.0] * len(ids),
            "date": [D2.isoformat()] * len(ids),
        }
    )
    write_book(folder / "2", {**tables, "accounts": accounts, "cash_activity": deposits})
    return {D1: folder / "1", D2: folder / "2"}


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> dict[date, Path]:
    return books(tmp_path_factory.mktemp("cluster-evaluate-books"))


def import_days(engine: sa.Engine, folders: dict[date, Path]) -> None:
    """Both days imported into a migrated, empty database, in parts of 2,000 holdings."""
    seed_firm(engine)
    saved = holdings.PART_ROWS
    holdings.PART_ROWS = 2000
    try:
        for day, book in folders.items():
            with UnitOfWork(engine, "acme") as uow:
                import_book(uow, actor="olga", as_of=day, folder=read_book_folder(book), now=T0)
    finally:
        holdings.PART_ROWS = saved


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory, folders: dict[date, Path]) -> Path:
    """A SQLite file with both days imported."""
    path = tmp_path_factory.mktemp("cluster-evaluate") / "imported.db"
    engine = make_engine(f"sqlite:///{path}", durable=False)
    upgrade(engine)
    import_days(engine, folders)
    engine.dispose()
    return path


def copy_of(imported: Path, path: Path) -> str:
    """A copy of the imported database (through SQLite's backup: the WAL included)."""
    with sqlite3.connect(imported) as source, sqlite3.connect(path) as target:
        source.backup(target)
    return f"sqlite:///{path}"


def stored(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the evaluations wrote, in a fixed order."""
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY as_of, {order}").fetchall()
            for table, order in TABLES.items()
        }


def run_days(url: str, cluster: ClusterRun | None, schema: str | None = None) -> None:
    engine = make_engine(url, schema=schema, durable=False)
    for day in (D1, D2):
        with UnitOfWork(engine, "acme") as uow:
            evaluate(uow, actor="olga", day=EVALUATED[day], now=T0, chunk=100, cluster=cluster)
    engine.dispose()


@pytest.fixture(scope="module")
def single(imported: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Any]]:
    url = copy_of(imported, tmp_path_factory.mktemp("single") / "single.db")
    run_days(url, None)
    rows = stored(url)
    reasons = {r[-1] for r in rows["evaluations"]}
    # the comparison means something: every kind of row, and state carried to day 2
    assert all(rows.values()), {k: len(v) for k, v in rows.items()}
    assert any("target_changed" in r for r in reasons)
    assert any("deposit" in r for r in reasons)
    assert any("class_drift_2d" in r for r in reasons)
    return rows


def test_the_cluster_stores_what_one_process_stores(
    cluster: str, imported: Path, single: dict[str, list[Any]], tmp_path: Path
) -> None:
    url = copy_of(imported, tmp_path / "spread.db")
    run_days(url, ClusterRun(cluster, url, partition_size=150))
    assert stored(url) == single


def test_a_killed_worker_loses_nothing_and_writes_nothing_twice(
    cluster: str, imported: Path, single: dict[str, list[Any]], tmp_path: Path
) -> None:
    """The command line with ``--cluster``, one commit per account; a worker process that
    is evaluating a partition is killed once a hundred evaluations are stored."""
    path = tmp_path / "killed.db"
    url = copy_of(imported, path)
    run_days(url, None)  # the state of day 1; day 2 is evaluated on the cluster
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM queue_entries WHERE as_of = ?", (EVALUATED[D2].isoformat(),))
        for table in ("evaluations", "evaluation_classes", "evaluation_runs"):
            conn.execute(f"DELETE FROM {table} WHERE as_of = ?", (EVALUATED[D2].isoformat(),))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    command = [
        sys.executable, "-m", "trimtab", "evaluate", "--date", EVALUATED[D2].isoformat(),
        "--db", url, "--firm", "acme", "--user", "olga", "--chunk", "1",
        "--cluster", cluster, "--partition-size", "150",
    ]  # fmt: skip
    with Client(cluster) as client:
        before = client.run(os.getpid)
        child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            killed = None
            deadline = time.monotonic() + 120
            while killed is None and time.monotonic() < deadline and child.poll() is None:
                time.sleep(0.05)
                with sqlite3.connect(path, timeout=30) as conn:
                    written = conn.execute(
                        "SELECT count(*) FROM evaluations WHERE as_of = ?",
                        (EVALUATED[D2].isoformat(),),
                    ).fetchone()[0]
                busy = [w for w, keys in client.processing().items() if keys]
                if written >= 100 and busy:
                    killed = before[busy[0]]
                    os.kill(killed, signal.SIGKILL)
            out, err = child.communicate(timeout=180)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        client.wait_for_workers(2, timeout=60)
        after = set(client.run(os.getpid).values())
    assert killed is not None, "the evaluation finished before a worker could be killed"
    assert child.returncode == 0, err.decode()
    assert killed not in after
    assert b"evaluated" in out
    assert stored(url) == single


def rows_of(engine: sa.Engine) -> dict[str, list[Any]]:
    with engine.connect() as conn:
        return {
            table: [
                tuple(r)
                for r in conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY as_of, {order}"))
            ]
            for table, order in TABLES.items()
        }


@pytest.mark.postgres
def test_on_postgresql_too(cluster: str, folders: dict[date, Path]) -> None:
    """The same on PostgreSQL: one schema evaluated by one process, one by the cluster."""
    if not POSTGRES_URL:
        pytest.skip("TRIMTAB_TEST_POSTGRES_URL is not set")
    schemas = [f"tt_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        for schema in schemas:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        got = []
        for schema, spread in zip(schemas, (False, True), strict=True):
            engine = make_engine(POSTGRES_URL, schema=schema, durable=False)
            upgrade(engine)
            import_days(engine, folders)
            where = ClusterRun(cluster, POSTGRES_URL, schema, partition_size=150)
            run_days(POSTGRES_URL, where if spread else None, schema)
            got.append(rows_of(engine))
            engine.dispose()
        assert all(got[0].values())
        assert got[1] == got[0]
    finally:
        with admin.begin() as conn:
            for schema in schemas:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_accounts_with_sleeves_too(cluster: str, tmp_path: Path) -> None:
    """A book with blended sleeves, an APM sleeve and protected shares, stored in parts of
    a household or so: the cluster's workers evaluate each part's sleeved accounts as one
    process evaluates them all."""
    from tests.integration.test_book_sleeves_equals_propose import ACCOUNTS
    from tests.integration.test_book_sleeves_equals_propose import write_book as sleeve_book

    folder = tmp_path / "book"
    sleeve_book(folder, rules=True, protected=True)
    path = tmp_path / "imported.db"
    engine = make_engine(f"sqlite:///{path}", durable=False)
    upgrade(engine)
    seed_firm(engine)
    saved = holdings.PART_ROWS
    holdings.PART_ROWS = 5
    try:
        with UnitOfWork(engine, "acme") as uow:
            import_book(uow, actor="olga", as_of=D1, folder=read_book_folder(folder), now=T0)
    finally:
        holdings.PART_ROWS = saved
    engine.dispose()
    results = []
    for name, where in (("single", None), ("spread", "cluster")):
        url = copy_of(path, tmp_path / f"{name}.db")
        engine = make_engine(url, durable=False)
        run = None if where is None else ClusterRun(cluster, url, partition_size=1)
        with UnitOfWork(engine, "acme") as uow:
            evaluate(uow, actor="olga", day=EVALUATED[D1], now=T0, cluster=run)
        engine.dispose()
        results.append(stored(url))
    single, spread = results
    assert sorted(r[2] for r in single["evaluations"]) == sorted(ACCOUNTS)
    assert spread == single
