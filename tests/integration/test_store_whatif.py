"""The what-if over a firm's current book: the same figures as for the book folder, only the
firm's own accounts, roles checked, nothing stored."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import T0, count, database_fixture, seed_firm, tiny_book
from tests.whatif_book import hand_book
from trimtab.cli import main
from trimtab.core.engine import Method
from trimtab.errors import NotFoundError
from trimtab.io.book_run import load_for_proposing
from trimtab.service.access import add_user
from trimtab.service.imports import import_book, read_book_folder
from trimtab.service.whatif import compare_firm_book
from trimtab.store.uow import UnitOfWork
from trimtab.whatif.book import book_runs, compare_book
from trimtab.whatif.tables import accounts_table, summary_table

engine = database_fixture()
BOOK_DAY = date(2026, 11, 30)
NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # 2026-12-01 in Chicago: the hand book's date
LOGICS = (Method.REBALANCE_TO_TARGET, Method.REBALANCE_TO_TOLERANCE)


def _firms(engine: sa.Engine, tmp_path: Path) -> Path:
    """acme holds the hand-worked book, globex the tiny book."""
    book = hand_book(tmp_path / "hand")
    for firm, folder in (("acme", book), ("globex", tiny_book(tmp_path / "tiny"))):
        seed_firm(engine, firm)
        with UnitOfWork(engine, firm) as uow:
            import_book(uow, actor="olga", as_of=BOOK_DAY, folder=read_book_folder(folder), now=T0)
    with UnitOfWork(engine, "acme") as uow:
        add_user(uow, actor="alice", user_id="vera", role="viewer", now=T0)
    return book


@pytest.mark.parametrize("chunk", [5000, 1])
def test_the_firm_book_gives_the_hand_worked_figures(
    engine: sa.Engine, tmp_path: Path, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("trimtab.service.whatif.CHUNK_ACCOUNTS", chunk)  # 1: one per chunk
    book = _firms(engine, tmp_path)
    stored = {t: count(engine, t) for t in ("requests", "proposals", "audit_log")}
    with UnitOfWork(engine, "acme") as uow:
        compared = compare_firm_book(
            uow,
            actor="vera",  # a viewer: the what-if changes nothing
            logics=LOGICS,
            amounts={"min_trade_value": 0.0},
            now=NOW,
        )
    assert compared.account_ids.to_pylist() == ["A1", "A2", "A3"]
    summary = {r["logic"]: r for r in summary_table(compared).to_pylist()}
    target = summary["rebalance_to_target"]
    assert (target["trades"], target["turnover"]) == (6, 11200.0)
    assert (target["short_term_gain"], target["long_term_gain"]) == (200.0, 2080.0)
    assert (target["estimated_tax"], target["needs_approval"]) == (314.0, 1)
    tolerance = summary["rebalance_to_tolerance"]
    assert (tolerance["trades"], tolerance["turnover"], tolerance["cash"]) == (5, 8600.0, 2600.0)
    # the same comparison as for the book folder, account by account
    loaded, rules = load_for_proposing(book, LOGICS, date(2026, 12, 1))
    runs = book_runs(LOGICS, rounding="whole_shares", share_decimals=3, amounts={})
    from_folder = accounts_table(compare_book(loaded, runs, rules=rules))
    assert accounts_table(compared).equals(from_folder)
    assert {t: count(engine, t) for t in stored} == stored


def test_the_service_minimum_trade_size_applies(engine: sa.Engine, tmp_path: Path) -> None:
    _firms(engine, tmp_path)
    with UnitOfWork(engine, "acme") as uow:
        compared = compare_firm_book(
            uow,
            actor="olga",
            logics=LOGICS,
            amounts={"min_trade_value": 1500.0},
            now=NOW,
        )
    rows = accounts_table(compared).to_pylist()
    # A3's trades ($600) are under $1,500: it trades nothing under either logic
    assert {r["logic"]: r["trades"] for r in rows if r["account_id"] == "A3"} == {
        "rebalance_to_target": 0,
        "rebalance_to_tolerance": 0,
    }


def test_a_firm_sees_only_its_own_book(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("trimtab.service.whatif.CHUNK_ACCOUNTS", 1)  # households stay whole
    _firms(engine, tmp_path)
    with UnitOfWork(engine, "globex") as uow:
        compared = compare_firm_book(uow, actor="olga", logics=LOGICS, now=NOW)
    assert compared.account_ids.to_pylist() == ["ACC1", "ACC2"]
    with UnitOfWork(engine, "globex") as uow, pytest.raises(NotFoundError):
        compare_firm_book(uow, actor="vera", logics=LOGICS, now=NOW)  # acme's viewer


def test_no_book_imported_is_not_found(engine: sa.Engine) -> None:
    seed_firm(engine, "initech")
    with UnitOfWork(engine, "initech") as uow, pytest.raises(NotFoundError, match="no book"):
        compare_firm_book(uow, actor="olga", logics=LOGICS, now=NOW)


def test_the_command_line_form(
    engine: sa.Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("the command line is run against the SQLite file")
    _firms(engine, tmp_path)
    db = str(engine.url)
    out = tmp_path / "whatif"
    args = ["compare-book", "--firm", "acme", "--db", db]
    with pytest.raises(SystemExit) as done:
        main([*args, "--user", "vera", "--logics", "rebalance_to_target", "--out", str(out)])
    assert done.value.code in (0, None)
    shown = capsys.readouterr().out
    assert "rebalance_to_target" in shown and "What-if: 3 accounts" in shown
    assert (out / "report.html").exists()
    with pytest.raises(SystemExit) as done:
        main([*args, "--user", "nobody"])
    assert done.value.code == 2
    assert "user 'nobody' does not exist in firm 'acme'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as done:
        main([*args, "--user", "vera", "--rounding", "fractional"])
    assert done.value.code == 2
    assert "--rounding: not taken with --firm" in capsys.readouterr().err
