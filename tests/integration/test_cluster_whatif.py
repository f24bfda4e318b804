"""``trimtab compare-book --firm --cluster``: the what-if over a firm's current book spread
over a LocalCluster of two worker processes on loopback, each reading its chunks of
households from the store, gives the single-process figures account for account (SQLite
and PostgreSQL), and the command line prints the same."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import POSTGRES_URL, T0, cluster_fixture, postgres_engine, seed_firm
from trimtab.cli import main
from trimtab.cluster.evaluate import ClusterRun
from trimtab.core.engine import Method
from trimtab.io.demo import DemoSpec, demo_tables, write_book
from trimtab.service.imports import import_book, read_book_folder
from trimtab.service.whatif import compare_firm_book
from trimtab.store.migrate import make_engine, upgrade
from trimtab.store.uow import UnitOfWork
from trimtab.whatif.compare import Comparison, comparison_table

BOOK_DAY = date(2026, 11, 19)
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
LOGICS = (Method.REBALANCE_TO_TARGET, Method.HOUSEHOLD_REBALANCE, Method.DEPOSIT)
CHUNK = 40
"""Accounts per chunk: the 300 accounts make eight chunks or so, over both workers."""


cluster = cluster_fixture()


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo book with households and tax lots (so rules and wash sales apply)."""
    folder = tmp_path_factory.mktemp("whatif-book")
    write_book(
        folder, demo_tables(DemoSpec(accounts=300, securities=40, models=4, lines=10, lots=True))
    )
    return folder


def imported(engine: sa.Engine, book: Path) -> None:
    upgrade(engine)
    seed_firm(engine)
    with UnitOfWork(engine, "acme") as uow:
        import_book(uow, actor="olga", as_of=BOOK_DAY, folder=read_book_folder(book), now=T0)


def compared(engine: sa.Engine, cluster: ClusterRun | None) -> Comparison:
    with UnitOfWork(engine, "acme") as uow:
        return compare_firm_book(
            uow, actor="olga", logics=LOGICS, now=NOW, cluster=cluster, chunk_accounts=CHUNK
        )


def same(one: Comparison, spread: Comparison) -> None:
    assert len(one.account_ids) == 300
    assert sum(int(f.trades.sum()) for f in one.figures) > 0  # the logics trade
    assert comparison_table(spread).equals(comparison_table(one))


def test_sqlite(cluster: str, book: Path, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = make_engine(url, durable=False)
    imported(engine, book)
    same(compared(engine, None), compared(engine, ClusterRun(cluster, url)))
    engine.dispose()


@pytest.fixture
def postgres() -> Iterator[sa.Engine]:
    """An empty PostgreSQL schema (skipped when no server is configured)."""
    yield from postgres_engine(migrate=False)


def test_postgresql(cluster: str, book: Path, postgres: sa.Engine) -> None:
    imported(postgres, book)
    with postgres.connect() as conn:
        schema = conn.execute(sa.text("SELECT current_schema()")).scalar_one()
    spread = ClusterRun(cluster, POSTGRES_URL, schema)
    same(compared(postgres, None), compared(postgres, spread))


def test_the_command_line(
    cluster: str, book: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "store.db"
    engine = make_engine(f"sqlite:///{path}", durable=False)
    imported(engine, book)
    engine.dispose()
    args = ["compare-book", "--firm", "acme", "--db", f"sqlite:///{path}", "--user", "olga"]
    args += ["--logics", "rebalance_to_target,deposit"]
    shown = []
    for extra in ([], ["--cluster", cluster]):
        with pytest.raises(SystemExit) as done:
            main([*args, *extra])
        assert done.value.code in (0, None)
        shown.append(capsys.readouterr().out)
    assert "What-if: 300 accounts" in shown[0]
    assert shown[1] == shown[0]
