"""Sleeves in the service: a book's sleeve tables imported (SQLite and PostgreSQL) give
every account the trades ``propose-book`` gives it on the same folder, by every logic that
takes sleeves: blended model sleeves, an APM sleeve on lines of its own, protected shares,
with the book's rule tables. Bad sleeve tables are refused at import as ``propose-book``
refuses them, and nothing is written."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.factories import database_fixture, seed_firm
from tests.integration.test_book_sleeves_equals_propose import ACCOUNTS, write_book
from trimtab.cli import main
from trimtab.core.engine import Method
from trimtab.errors import BookError, InputError
from trimtab.service.account_view import show_account
from trimtab.service.imports import import_book, read_book_folder
from trimtab.service.requests import (
    approve_request,
    cancel_request,
    show_request,
    submit_request,
)
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork

engine = database_fixture()

DAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)  # 09:00 in Chicago: trade day = DAY
AMOUNTS: dict[str, dict[str, float]] = {
    "generate_cash": {"cash_to_generate": 15000.0},
    "withdrawal": {"cash_to_generate": 15000.0},
    "invest_cash_proportional": {"cash_to_invest": 1500.0},
    "invest_cash_min_trades": {"cash_to_invest": 1500.0},
}
FLAGS = {"cash_to_generate": "--cash-to-generate", "cash_to_invest": "--cash-to-invest"}


def _import(engine: sa.Engine, folder: Path) -> None:
    with UnitOfWork(engine, "acme") as uow:
        import_book(uow, actor="olga", as_of=DAY, folder=read_book_folder(folder, DAY), now=NOW)


def book_trades(
    folder: Path, out: Path, method: str, capsys: pytest.CaptureFixture[str]
) -> dict[str, list[tuple[Any, ...]]]:
    flags = [x for k, v in AMOUNTS.get(method, {}).items() for x in (FLAGS[k], str(v))]
    with pytest.raises(SystemExit) as done:
        main(
            [
                "propose-book",
                str(folder),
                "--logic",
                method,
                "--out",
                str(out),
                "--as-of",
                DAY.isoformat(),
                "--min-trade-value",
                "0",
                *flags,
            ]
        )
    assert done.value.code in (0, None), capsys.readouterr().err
    out_trades: dict[str, list[tuple[Any, ...]]] = {a: [] for a in ACCOUNTS}
    with out.open() as f:
        for r in csv.DictReader(f):
            out_trades[r["account_id"]].append(
                (
                    r["symbol"],
                    r["sleeve"],
                    r["action"],
                    float(r["quantity"]),
                    float(r["order_value"]),
                )
            )
    return {a: sorted(v) for a, v in out_trades.items()}


def service_trades(engine: sa.Engine, method: str) -> dict[str, list[tuple[Any, ...]]]:
    amounts = {**AMOUNTS.get(method, {}), "min_trade_value": 0.0}
    with UnitOfWork(engine, "acme") as uow:
        done = submit_request(
            uow, actor="olga", account_ids=list(ACCOUNTS), logic=method, now=NOW, amounts=amounts
        )
    with UnitOfWork(engine, "acme") as uow:
        shown = show_request(uow, actor="olga", request_id=done.request_id)
    if done.status == "pending":
        with UnitOfWork(engine, "acme") as uow:
            cancel_request(uow, actor="olga", request_id=done.request_id, now=NOW)
    out: dict[str, list[tuple[Any, ...]]] = {a: [] for a in ACCOUNTS}
    for p in shown.proposals:
        out[p.account_id] = sorted(
            (
                x.symbol,
                x.sleeve,
                x.action,
                float(x.quantity),
                float(x.order_value),
            )
            for x in p.trades
        )
    return out


def test_every_logic_gives_propose_book_trades(
    engine: sa.Engine, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "book"
    write_book(folder, rules=True, protected=True)
    seed_firm(engine)
    _import(engine, folder)
    apm_lines = 0
    for method in Method:
        if method is Method.HOUSEHOLD_REBALANCE:
            continue
        by_book = book_trades(folder, tmp_path / f"{method.value}.csv", method.value, capsys)
        by_service = service_trades(engine, method.value)
        assert by_service == by_book, method
        apm_lines += sum(1 for lines in by_service.values() for x in lines if x[1] == "apm")
    assert apm_lines > 0  # the APM sleeves traded on lines of their own


def test_household_rebalance_refuses_apm_sleeves_as_propose_book(
    engine: sa.Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "book"
    write_book(folder, rules=True, protected=True)
    seed_firm(engine)
    _import(engine, folder)
    with UnitOfWork(engine, "acme") as uow, pytest.raises(InputError, match="no apm sleeves"):
        submit_request(uow, actor="olga", account_ids=["S-2"], logic="household_rebalance", now=NOW)


def test_sleeves_are_stored_shown_and_ordered(engine: sa.Engine, tmp_path: Path) -> None:
    folder = tmp_path / "book"
    write_book(folder, rules=True, protected=True)
    seed_firm(engine)
    _import(engine, folder)
    with UnitOfWork(engine, "acme") as uow:
        view = show_account(uow, actor="olga", account_id="S-4")
    assert view.model_id is None
    assert [(s["sleeve"], s["weight_pct"], s.get("model_id")) for s in view.sleeves] == [
        ("model", Decimal(50), "TECH"),
        ("apm", Decimal(20), None),
        ("model", Decimal(30), "CORE"),
    ]
    assert {(s["symbol"], s["target_pct"]) for s in view.apm_targets} == {
        ("INTC", Decimal(50)),
        ("CSCO", Decimal(50)),
    }
    assert {(p["sleeve"], p["symbol"], p["quantity"]) for p in view.sleeve_positions} == {
        ("apm", "INTC", Decimal(100)),
        ("protected", "ORCL", Decimal(100)),
    }
    # an approved request nets an account's model and APM lines of a security to one order
    with UnitOfWork(engine, "acme") as uow:
        done = submit_request(
            uow, actor="olga", account_ids=["S-2", "S-4"], logic="rebalance_to_target", now=NOW
        )
    with UnitOfWork(engine, "acme") as uow:
        shown = show_request(uow, actor="olga", request_id=done.request_id)
    net: dict[tuple[str, str], Decimal] = {}
    for p in shown.proposals:
        for x in p.trades:
            sign = 1 if x.action == "buy" else -1
            key = (p.account_id, x.symbol)
            net[key] = net.get(key, Decimal(0)) + sign * x.quantity
    with UnitOfWork(engine, "acme") as uow:
        approve_request(uow, actor="amy", request_id=done.request_id, now=NOW)
    with engine.connect() as conn:
        orders = conn.execute(
            sa.select(
                t.orders.c.account_id, t.orders.c.symbol, t.orders.c.side, t.orders.c.quantity
            )
        ).all()
    assert {
        (o.account_id, o.symbol): (1 if o.side == "buy" else -1) * o.quantity for o in orders
    } == {k: v for k, v in net.items() if v != 0}
    # a book that no longer names sleeves for S-2 (a model again) replaces them
    (folder / "accounts.csv").write_text(
        (folder / "accounts.csv").read_text().replace("S-2,,", "S-2,TECH,")
    )
    for name in ("sleeves", "apm_targets", "sleeve_positions"):
        path = folder / f"{name}.csv"
        path.write_text(
            "".join(x for x in path.read_text().splitlines(True) if not x.startswith("S-2,"))
        )
    _import(engine, folder)
    with UnitOfWork(engine, "acme") as uow:
        view = show_account(uow, actor="olga", account_id="S-2")
    assert (view.model_id, view.sleeves, view.apm_targets, view.sleeve_positions) == (
        "TECH",
        [],
        [],
        [],
    )


def _counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
            for name, table in t.metadata.tables.items()
            if name != "audit_log"
        }


BAD = [
    (
        "sleeves",
        lambda s: s.replace("S-1,model,60,TECH,", "S-1,model,60,NOPE,"),
        "sleeves.csv row 1 column model_id: unknown model 'NOPE'",
    ),
    (
        "sleeves",
        lambda s: s.replace("S-2,apm,20,,4.0", "S-2,protected,20,,4.0"),
        "sleeves.csv row 4 column sleeve: must be one of model, apm, got 'protected'",
    ),
    (
        "apm_targets",
        lambda s: s.replace("S-2,FB,40", "S-2,FB,90"),
        "apm_targets.csv row 1 column target_pct",
    ),
    (
        "sleeve_positions",
        lambda s: s.replace("S-2,apm,FB,300", "S-2,apm,FB,3000"),
        "sleeve_positions.csv row 1 column quantity: more than the 2000 shares of 'FB' held",
    ),
    (
        "accounts",
        lambda s: s.replace("S-1,,", "S-1,TECH,"),
        "accounts.csv row 2 column model_id: must be empty",
    ),
]


@pytest.mark.parametrize(("table", "edit", "message"), BAD, ids=[m[:24] for _, _, m in BAD])
def test_bad_sleeve_tables_are_refused_at_import(
    engine: sa.Engine,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    table: str,
    edit: Any,
    message: str,
) -> None:
    folder = tmp_path / "book"
    write_book(folder, rules=True, protected=True)
    path = folder / f"{table}.csv"
    path.write_text(edit(path.read_text()))
    # propose-book says the same
    with pytest.raises(SystemExit) as done:
        main(
            ["propose-book", str(folder), "--logic", "rebalance_to_target", "--as-of", "2026-11-20"]
        )
    assert done.value.code == 2
    assert message in capsys.readouterr().err
    seed_firm(engine)
    before = _counts(engine)
    with pytest.raises(BookError) as err:
        read_book_folder(folder, DAY)
    assert message in str(err.value)
    assert _counts(engine) == before


def test_cli_shows_sleeves_and_apm_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "book"
    write_book(folder, rules=True, protected=True)
    monkeypatch.setenv("TRIMTAB_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("TRIMTAB_FIRM", "acme")

    def run(*args: str) -> str:
        with pytest.raises(SystemExit) as done:
            main(list(args))
        captured = capsys.readouterr()
        assert done.value.code in (0, None), captured.err
        return captured.out

    run("db", "upgrade")
    run("firm", "add", "--admin", "alice")
    run("user", "add", "olga", "--role", "operator", "--user", "alice")
    run("import", str(folder), "--date", DAY.isoformat(), "--user", "olga")
    shown = run("account", "show", "S-4", "--user", "olga")
    assert "target sleeves" in shown
    for title in ("sleeves", "apm targets", "sleeve positions"):
        assert title in shown
    assert "protected" in shown and "CORE" in shown
    run(
        "request", "submit", "--accounts", "S-2", "--logic", "rebalance_to_target", "--user", "olga"
    )
    assert "(APM)" in run("request", "show", "1", "--user", "olga")
