"""The service from the command line: a demo book over three dates, evaluated, submitted,
approved and exported; a bad import refused with exit 2 and nothing changed."""

from __future__ import annotations

import csv
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.factories import POSTGRES_URL, count
from trimtab import cli
from trimtab.store.migrate import make_engine
from trimtab.store.tables import metadata

if not any(c.name == "import" for c in cli.app.registered_commands):
    cli._register_more()

DATES = ("2026-11-18", "2026-11-19", "2026-11-20")
EVALUATE = {"2026-11-18": "2026-11-19", "2026-11-19": "2026-11-20", "2026-11-20": "2026-11-23"}


def invoke(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli.app, list(args))
    assert result.exit_code == code, (args, result.output, result.stderr)
    return result.output + (result.stderr if code else "")


def rewrite(path: Path, change: dict[str, object], where: tuple[str, str] | None = None) -> None:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        if where is None or row[where[0]] == where[1]:
            row.update({k: str(v) for k, v in change.items()})
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def env(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A database for the commands: a SQLite file, or a schema of its own on PostgreSQL."""
    monkeypatch.setenv("TRIMTAB_FIRM", "acme")
    if request.param == "sqlite":
        monkeypatch.setenv("TRIMTAB_DATABASE_URL", f"sqlite:///{tmp_path / 'e2e.db'}")
        yield tmp_path
        return
    if not POSTGRES_URL:
        pytest.skip("TRIMTAB_TEST_POSTGRES_URL is not set")
    schema = f"tt_e2e_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    monkeypatch.setenv(
        "TRIMTAB_DATABASE_URL", f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    )
    try:
        yield tmp_path
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_import_evaluate_submit_approve_export(env: Path) -> None:
    base = env / "book"
    invoke(
        "demo-book", str(base), "--accounts", "30", "--securities", "40", "--models", "3", "--lots"
    )
    books = []
    for i, day in enumerate(DATES):
        folder = env / day
        shutil.copytree(base, folder)
        if i == 2:  # a deposit lands in the first account on the last day
            with (folder / "cash_activity.csv").open("w") as f:
                f.write(f"account_id,kind,amount,date\nACC0000001,deposit,2500.00,{day}\n")
        books.append(folder)

    invoke("db", "upgrade")
    invoke("firm", "add", "--firm", "acme", "--admin", "alice")
    invoke("user", "add", "amy", "--role", "approver", "--user", "alice")
    invoke("user", "add", "olga", "--role", "operator", "--user", "alice")
    for day, folder in zip(DATES, books, strict=True):
        assert f"imported {day}" in invoke("import", str(folder), "--date", day, "--user", "olga")
        out = invoke("evaluate", "--date", EVALUATE[day], "--user", "olga")
        assert f"on the book of {day}" in out
    assert "deposit 1" in out

    queue = invoke("queue", "--user", "olga")
    assert "ACC0000001" in queue
    submitted = invoke(
        "request",
        "submit",
        "--accounts",
        "ACC0000001,ACC0000002",
        "--logic",
        "rebalance_to_target",
        "--user",
        "olga",
        "--at",
        "2026-11-23T15:00:00+00:00",
    )
    assert submitted.startswith("request 1 pending: 2 accounts")
    assert "ACC0000002" in invoke("request", "show", "1", "--user", "olga")
    # olga is an operator: approving needs the approver role.
    refused = invoke("request", "approve", "1", "--user", "olga", code=2)
    assert "needs the approver role" in refused
    # 14:15 in Chicago on Monday 23 November: best effort that day.
    assert "complete" in invoke(
        "request", "approve", "1", "--user", "amy", "--at", "2026-11-23T20:15:00+00:00"
    )
    invoke("request", "approve", "1", "--user", "amy", code=2)

    out_csv, out_fix = env / "orders.csv", env / "orders.fix"
    invoke("orders", "export", "--date", "2026-11-23", "--user", "olga", "--out", str(out_csv))
    invoke(
        "orders",
        "export",
        "--date",
        "2026-11-23",
        "--format",
        "fix",
        "--user",
        "olga",
        "--out",
        str(out_fix),
    )
    engine = make_engine()
    n_orders = count(engine, "orders")
    with out_csv.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == n_orders > 0
    assert {r["trade_date"] for r in rows} == {"2026-11-23"}
    assert {r["best_effort"] for r in rows} == {"true"}
    assert {r["account_id"] for r in rows} <= {"ACC0000001", "ACC0000002"}
    assert out_fix.read_bytes().count(b"35=D\x01") == n_orders
    shown = json.loads(invoke("request", "show", "1", "--format", "json", "--user", "olga"))
    assert shown["request"]["status"] == "complete"
    assert sum(len(p["trades"]) for p in shown["proposals"]) == n_orders
    first = out_csv.read_text()
    refused = invoke(
        "orders", "export", "--date", "2026-11-23", "--user", "olga", "--out", str(out_csv), code=2
    )
    assert "exists; pass --force to overwrite it" in refused
    assert out_csv.read_text() == first  # the only copy is kept
    again = invoke(
        "orders", "export", "--date", "2026-11-23", "--user", "olga", "--out", str(out_csv),
        "--force", "--all",
    )  # fmt: skip
    assert f"exported {n_orders} orders trading 2026-11-23 as csv (all, again)" in again
    assert out_csv.read_text() == first
    assert "ACC0000001" not in invoke("queue", "--user", "olga")
    assert "complete" in invoke("history", "--user", "olga")
    engine.dispose()


def test_bad_import_exits_2_and_changes_nothing(env: Path) -> None:
    invoke("db", "upgrade")
    invoke("firm", "add", "--firm", "acme", "--admin", "alice")
    good, bad = env / "good", env / "bad"
    invoke("demo-book", str(good), "--accounts", "5", "--securities", "20", "--models", "2")
    invoke("import", str(good), "--date", "2026-11-19", "--user", "alice")
    shutil.copytree(good, bad)
    rewrite(bad / "positions.csv", {"quantity": -3}, where=("account_id", "ACC0000004"))
    engine = make_engine()
    before = {name: count(engine, name) for name in metadata.tables}
    message = invoke("import", str(bad), "--date", "2026-11-19", "--user", "alice", code=2)
    assert "positions.csv row" in message
    assert "column quantity" in message
    with (bad / "cash_activity.csv").open("w") as f:
        f.write("account_id,kind,amount\nACC0000001,deposit,10\nNOPE,deposit,5\n")
    rewrite(bad / "positions.csv", {"quantity": 3}, where=("account_id", "ACC0000004"))
    message = invoke("import", str(bad), "--date", "2026-11-20", "--user", "alice", code=2)
    assert "cash_activity.csv row 2 column account_id: unknown account 'NOPE'" in message
    invoke("import", str(good), "--date", "2026-11-20", "--user", "nobody", code=2)
    invoke("import", str(good), "--date", "2026-02-30", "--user", "alice", code=2)
    after = {name: count(engine, name) for name in metadata.tables}
    # the refused attempt of a user who does not exist is the one entry added to the trail
    assert after == {**before, "audit_log": before["audit_log"] + 1}
    assert "refused" in invoke("audit", "--action", "refused")
    with engine.connect() as conn:
        dates = conn.execute(sa.text("SELECT DISTINCT as_of FROM holding_parts")).scalars().all()
    assert [str(d) for d in dates] == ["2026-11-19"]
    engine.dispose()


def test_unusable_database_is_exit_2(tmp_path: Path) -> None:
    missing = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}"
    message = invoke("queue", "--firm", "acme", "--user", "olga", "--db", missing, code=2)
    assert f"--db: no database at {tmp_path / 'no' / 'such' / 'dir.db'}" in message
    message = invoke("db", "upgrade", "--db", missing, code=2)
    assert "--db: cannot open the database: unable to open database file" in message
    message = invoke("queue", "--firm", "acme", "--user", "olga", "--db", "nosuch://x", code=2)
    assert "--db: not a usable database URL" in message


def test_a_missing_sqlite_file_is_created_by_db_upgrade_only(tmp_path: Path) -> None:
    path = tmp_path / "typo.db"
    url = f"sqlite:///{path}"
    message = invoke("firm", "add", "--firm", "acme", "--admin", "alice", "--db", url, code=2)
    assert f"--db: no database at {path}: create it with trimtab db upgrade --db {url}" in message
    assert not path.exists()  # before: an empty database was created at the mistyped path
    assert "schema at revision 0015" in invoke("db", "upgrade", "--db", url)
    invoke("firm", "add", "--firm", "acme", "--admin", "alice", "--db", url)


LOGIC_AMOUNTS = {
    "generate_cash": ["--cash-to-generate", "5000"],
    "withdrawal": ["--cash-to-generate", "5000"],
    "invest_cash_proportional": ["--cash-to-invest", "1000"],
}


def test_every_logic_end_to_end_with_rules(env: Path) -> None:
    """Import (with tax lots, a restriction and a lock), evaluate, then for every trade logic:
    submit, view, approve and export its orders."""
    book = env / "book"
    invoke(
        "demo-book", str(book), "--accounts", "12", "--securities", "30", "--models", "2", "--lots"
    )
    with (book / "positions.csv").open() as f:
        held = [r for r in csv.DictReader(f) if r["account_id"] == "ACC0000001"]
    if not held:  # positions given as lots only
        with (book / "lots.csv").open() as f:
            held = [r for r in csv.DictReader(f) if r["account_id"] == "ACC0000001"]
    symbol = held[0]["symbol"]
    (book / "restrictions.csv").write_text(
        "account_id,type,symbol,start_date,behaviour,replacement\n"
        f"ACC0000002,exclusion,{symbol},2026-01-05,liquidate_immediately,reallocate\n"
    )
    (book / "locks.csv").write_text(f"account_id,type,symbol\nACC0000001,elective,{symbol}\n")
    invoke("db", "upgrade")
    invoke("firm", "add", "--firm", "acme", "--admin", "alice")
    invoke("user", "add", "amy", "--role", "approver", "--user", "alice")
    invoke("user", "add", "bob", "--role", "approver", "--user", "alice")
    invoke("user", "add", "olga", "--role", "operator", "--user", "alice")
    invoke("import", str(book), "--date", "2026-11-20", "--user", "olga")
    invoke("evaluate", "--date", "2026-11-23", "--user", "olga")
    at = "2026-11-23T15:00:00+00:00"
    for n, logic in enumerate(
        [
            "best_fit",
            "minimum_transaction",
            "rebalance_to_target",
            "rebalance_to_tolerance",
            "rebalance_to_tolerance_oot_only",
            "invest_cash_proportional",
            "invest_cash_min_trades",
            "generate_cash",
            "household_rebalance",
            "deposit",
            "withdrawal",
        ],
        start=1,
    ):
        out = invoke(
            "request",
            "submit",
            "--accounts",
            "ACC0000001,ACC0000002",
            "--logic",
            logic,
            *LOGIC_AMOUNTS.get(logic, []),
            "--user",
            "olga",
            "--at",
            at,
        )
        assert out.startswith(f"request {n} "), (logic, out)
        shown = json.loads(invoke("request", "show", str(n), "--format", "json", "--user", "olga"))
        assert shown["request"]["logic"] == logic
        lines = {(p["account_id"], t["symbol"]) for p in shown["proposals"] for t in p["trades"]}
        # the elective lock: ACC0000001 never sells the locked security
        assert not any(
            t["symbol"] == symbol and t["action"] == "sell"
            for p in shown["proposals"]
            if p["account_id"] == "ACC0000001"
            for t in p["trades"]
        ), logic
        if logic in ("rebalance_to_target", "best_fit"):  # the exclusion is sold in full
            assert ("ACC0000002", symbol) in lines, logic
        if shown["request"]["status"] == "pending":
            invoke("request", "approve", str(n), "--user", "amy", "--at", at)
    exported = env / "orders.csv"
    invoke("orders", "export", "--date", "2026-11-23", "--user", "olga", "--out", str(exported))
    with exported.open() as f:
        assert len(list(csv.DictReader(f))) > 0
