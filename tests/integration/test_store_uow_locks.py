"""SQLite locking of units of work: readers never wait for a writer, and a unit of work
holds no lock between its commit and its next statement (long computations in between,
such as proposing a request, leave the database free)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa

from tests.factories import T0, seed_firm
from trimtab.service.access import add_user
from trimtab.store.migrate import make_engine, upgrade
from trimtab.store.tables import users
from trimtab.store.uow import UnitOfWork


def _engine(tmp_path: Path) -> sa.Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'locks.db'}")
    upgrade(engine)
    seed_firm(engine)
    return engine


def _people(uow: UnitOfWork) -> set[str]:
    found = uow.conn.execute(sa.select(users.c.user_id).where(users.c.firm_id == "acme"))
    return set(found.scalars())


def test_a_reader_does_not_wait_for_a_writer(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    with UnitOfWork(engine, "acme") as writer:
        writer.conn.execute(
            sa.insert(users).values(firm_id="acme", user_id="zed", role="viewer", created_at=T0)
        )  # the write lock is held from here to the commit
        with UnitOfWork(engine, "acme", read_only=True) as reader:
            assert _people(reader) == {"alice", "olga", "amy", "bob"}  # the snapshot before
        writer.commit()
    with UnitOfWork(engine, "acme", read_only=True) as reader:
        assert "zed" in _people(reader)


def test_no_lock_is_held_between_a_commit_and_the_next_statement(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    with UnitOfWork(engine, "acme") as first:
        assert _people(first)
        first.commit()  # ... then, say, minutes of proposing before its next statement
        other = sqlite3.connect(tmp_path / "locks.db", timeout=0.1)  # waits 0.1 s at most
        other.execute("BEGIN IMMEDIATE")  # would fail with "database is locked" if held
        other.rollback()
        other.close()
        with UnitOfWork(engine, "acme") as second:
            add_user(second, actor="alice", user_id="yan", role="viewer", now=T0)
        assert "yan" in _people(first)
