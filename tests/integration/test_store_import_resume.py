"""An import interrupted at any stage, then run again, leaves the store exactly as an
uninterrupted import does, and does not write the holdings' documents twice."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.factories import T0, database_fixture, seed_firm
from trimtab.io.demo import DemoSpec, demo_tables, write_book
from trimtab.service.imports import import_book, read_book_folder
from trimtab.store import tables as t
from trimtab.store.migrate import make_engine, upgrade
from trimtab.store.uow import UnitOfWork

engine = database_fixture()
D1, D2 = date(2026, 11, 19), date(2026, 11, 20)
IGNORED = {"change_id", "audit_id", "hash", "prev_hash", "last_id", "last_hash", "stored_at"}
"""Numbered by the database (a rolled-back attempt may use up numbers), hashes over those
numbers, and when a document was first stored."""


def book(folder: Path, seed: int, accounts: int = 60) -> Path:
    spec = DemoSpec(accounts=accounts, securities=25, models=3, lines=6, seed=seed, lots=True)
    write_book(folder, demo_tables(spec), "csv")
    return folder


def load(engine: sa.Engine, folder: Path, day: date, firm: str = "acme", **kw: Any) -> None:
    with UnitOfWork(engine, firm) as uow:
        import_book(
            uow, actor="olga", as_of=day, folder=read_book_folder(folder, day), now=T0, **kw
        )


def contents(engine: sa.Engine, firm: str = "acme") -> dict[str, list[tuple[str, ...]]]:
    """Every row of ``firm``, table by table, sorted, without the firm and the columns a
    database numbers itself (the firm's own record and its creation's audit entry aside)."""
    out = {}
    with engine.connect() as conn:
        for name, table in t.metadata.tables.items():
            if name in ("firms", "audit_heads"):
                continue
            columns = [c for c in table.columns if c.name not in IGNORED | {"firm_id"}]
            query = sa.select(*columns).where(table.c.firm_id == firm)
            if name == "audit_log":
                query = query.where(table.c.entity != "firm")
            rows = conn.execute(query).all()
            out[name] = sorted(tuple(map(str, r)) for r in rows)
    return out


class Stop(KeyboardInterrupt):
    """Raised at a stage, as an interrupt (Ctrl-C) would be."""


STAGES = ["holdings", "securities and prices", "models", "accounts", "sleeves"]


@pytest.mark.parametrize("stage", STAGES)
def test_interrupted_at_each_stage_then_run_again(
    engine: sa.Engine, tmp_path: Path, stage: str
) -> None:
    seed_firm(engine)
    first, second = book(tmp_path / "1", seed=3), book(tmp_path / "2", seed=4)
    load(engine, first, D1)
    before = contents(engine)

    def stop_at(name: str) -> None:
        if name == stage:
            raise Stop

    with pytest.raises(Stop):
        load(engine, second, D2, progress=stop_at)
    after_stop = contents(engine)
    # nothing of the date is recorded; only staged documents may be there, unreferenced
    assert {k: v for k, v in after_stop.items() if k != "holding_blobs"} == {
        k: v for k, v in before.items() if k != "holding_blobs"
    }
    staged = {r[1] for r in after_stop["holding_blobs"]} - {r[1] for r in before["holding_blobs"]}
    assert bool(staged) == (stage != "holdings")
    load(engine, second, D2)
    resumed = contents(engine)

    seed_firm(engine, "zeta")  # the same imports, uninterrupted, in another firm
    load(engine, first, D1, "zeta")
    load(engine, second, D2, "zeta")
    assert resumed == contents(engine, "zeta")


def test_date_imported_again_from_another_book(engine: sa.Engine, tmp_path: Path) -> None:
    """A date imported again from a different book (other cash, models, households, fewer
    accounts) holds what importing that book alone would have: the accounts' days that
    changed are written again, and those of accounts gone from the book are gone."""
    seed_firm(engine)
    first, second = book(tmp_path / "1", seed=3), book(tmp_path / "2", seed=4)
    other = book(tmp_path / "3", seed=5, accounts=45)
    load(engine, first, D1)
    load(engine, second, D2)
    load(engine, other, D2)
    seed_firm(engine, "zeta")
    load(engine, first, D1, "zeta")
    load(engine, other, D2, "zeta")
    mine, theirs = contents(engine), contents(engine, "zeta")
    # the date's own rows; current state (accounts updated by the first import of the date,
    # its documents until collected) is not taken back by an import
    for name in ("account_days", "holding_parts", "prices", "imports", "rebalancing_changes"):
        assert mine[name] == theirs[name], name
    with engine.connect() as conn:
        days = conn.execute(
            sa.select(sa.func.count()).where(
                t.account_days.c.firm_id == "acme", t.account_days.c.as_of == D2
            )
        ).scalar_one()
    assert days == 45


def test_killed_import_is_run_again_without_writing_its_documents_twice(tmp_path: Path) -> None:
    """``kill -9`` once the documents are committed: the store holds the previous day only;
    the next run finds the documents, writes none, and ends as one uninterrupted run."""
    path = tmp_path / "k.db"
    url = f"sqlite:///{path}"
    eng = make_engine(url)
    upgrade(eng)
    seed_firm(eng)
    spec = DemoSpec(accounts=3000, securities=60, models=5, seed=9, lots=True)
    folder = tmp_path / "big"
    write_book(folder, demo_tables(spec), "parquet")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    child = subprocess.Popen(
        [sys.executable, "-m", "trimtab", "import", str(folder), "--date", "2026-11-19",
         "--user", "olga", "--firm", "acme", "--db", url],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline, staged = time.monotonic() + 120, 0
        while not staged and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.01)
            with sqlite3.connect(path, timeout=30) as conn:
                staged = conn.execute("SELECT count(*) FROM holding_blobs").fetchone()[0]
        assert child.poll() is None, "the import finished before it could be killed"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM imports").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM holding_parts").fetchone()[0] == 0
        documents = set(conn.execute("SELECT sha256, stored_at FROM holding_blobs").fetchall())
    assert documents
    load(eng, folder, D1)  # at T0, long before the killed run's wall-clock time
    with sqlite3.connect(path) as conn:
        after = set(conn.execute("SELECT sha256, stored_at FROM holding_blobs").fetchall())
    assert documents <= after  # found, with the time they were first stored: not rewritten
    seed_firm(eng, "zeta")
    load(eng, folder, D1, "zeta")
    assert contents(eng) == contents(eng, "zeta")
    eng.dispose()
