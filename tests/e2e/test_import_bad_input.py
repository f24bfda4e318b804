"""Malformed books: ``trimtab import`` exits 2 with a message naming file, row and column, and
the database (dumped table by table) is exactly as before, on SQLite and PostgreSQL.

The good book is the tiny book with lots: ACC1 holds 12 A (lots of 6 and 6) and 10 B with
$1,000; ACC2 holds 20 B with $100. It is imported for 18 November; each bad variant is then
imported for 19 November.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.factories import POSTGRES_URL
from trimtab import cli
from trimtab.store.tables import metadata

if not any(c.name == "import" for c in cli.app.registered_commands):
    cli._register_more()

GOOD = {
    "prices": "symbol,price,sub_asset_class,asset_class\n"
    "A,50,Large Value,Equity\nB,40,Core Bond,Fixed Income\n",
    "models": "model_id,symbol,target_pct,min_pct,max_pct\nM1,A,60,55,65\nM1,B,40,35,45\n",
    "accounts": "account_id,model_id,cash,household_id,registration,rebalancing\n"
    "ACC1,M1,1000,H1,non_qualified,true\nACC2,M1,100,H1,qualified,true\n",
    "positions": "account_id,symbol,quantity\nACC1,A,12\nACC1,B,10\nACC2,B,20\n",
    "lots": "account_id,symbol,quantity,cost_basis,acquired\n"
    "ACC1,A,6,60,2020-01-02\nACC1,A,6,330,2025-01-02\n",
}
LONG_ID = "X" * 300

CASES: dict[str, tuple[dict[str, str], str]] = {
    "truncated line": (
        {"positions": "account_id,symbol,quantity\nACC1,A,12\nACC1,B,10\nACC2,B"},
        "positions.csv row 3: has 2 cells, the header has 3",
    ),
    "too many cells": (
        {"positions": "account_id,symbol,quantity\nACC1,A,12\nACC1,B,10\nACC2,B,20,7\n"},
        "positions.csv row 3: has 4 cells, the header has 3",
    ),
    "too few cells": (
        {"accounts": "account_id,model_id,cash\nACC1,M1\nACC2,M1,100\n"},
        "accounts.csv row 1: has 2 cells, the header has 3",
    ),
    "duplicate header": (
        {"accounts": "account_id,model_id,cash,cash\nACC1,M1,1000,1\nACC2,M1,100,1\n"},
        "accounts.csv column cash: the header names this column twice",
    ),
    "unbalanced quote": (
        {"positions": 'account_id,symbol,quantity\nACC1,A,12\nACC1,"B,10\nACC2,B,20\n'},
        "positions.csv row 2: a quoted value is never closed",
    ),
    "prices header only": ({"prices": "symbol,price\n"}, "prices.csv: no rows"),
    "models header only": (
        {"models": "model_id,symbol,target_pct,min_pct,max_pct\n"},
        "models.csv: no rows",
    ),
    "accounts header only": ({"accounts": "account_id,model_id,cash\n"}, "accounts.csv: no rows"),
    "positions header only": (
        {"positions": "account_id,symbol,quantity\n", "lots": ""},
        "positions.csv: no rows: the table has a header only",
    ),
    "blank account id": (
        {"accounts": "account_id,model_id,cash\n,M1,5\nACC1,M1,1000\nACC2,M1,100\n"},
        "accounts.csv row 1 column account_id: value is missing",
    ),
    "lots disagree with the position": (
        {
            "lots": "account_id,symbol,quantity,cost_basis,acquired\n"
            "ACC1,A,6,60,2020-01-02\nACC1,A,5,330,2025-01-02\n"
        },
        "positions.csv row 1 column quantity: 12 shares but its lots in lots.csv sum to 11",
    ),
    "duplicate position": (
        {"positions": "account_id,symbol,quantity\nACC1,A,12\nACC1,B,10\nACC2,B,20\nACC1,A,12\n"},
        "positions.csv row 4 column symbol: duplicate key (account_id=ACC1, symbol=A)",
    ),
    "lot with no position": (
        {
            "lots": "account_id,symbol,quantity,cost_basis,acquired\n"
            "ACC1,A,6,60,2020-01-02\nACC1,A,6,330,2025-01-02\nACC2,A,3,40,2024-01-02\n"
        },
        "lots.csv row 3 column symbol: no position for this lot (account_id=ACC2, symbol=A)",
    ),
    "negative cost basis": (
        {
            "lots": "account_id,symbol,quantity,cost_basis,acquired\n"
            "ACC1,A,6,-60,2020-01-02\nACC1,A,6,330,2025-01-02\n"
        },
        "lots.csv row 1 column cost_basis: must be at least 0, got -60",
    ),
    "negative cash": (
        {"accounts": "account_id,model_id,cash\nACC1,M1,-1000\nACC2,M1,100\n"},
        "accounts.csv row 1 column cash: must be at least 0, got -1000",
    ),
    "lot acquired in the future": (
        {
            "lots": "account_id,symbol,quantity,cost_basis,acquired\n"
            "ACC1,A,6,60,2026-12-01\nACC1,A,6,330,2025-01-02\n"
        },
        "lots.csv row 1 column acquired: 2026-12-01 is after the book's date 2026-11-19",
    ),
    "17-digit cash": (
        {"accounts": "account_id,model_id,cash\nACC1,M1,12345678901234567\nACC2,M1,100\n"},
        "accounts.csv row 1 column cash: too large: at most 14 digits before the decimal point",
    ),
    "cash rounded by a float": (
        {"accounts": "account_id,model_id,cash\nACC1,M1,12345678901234.123456\nACC2,M1,100\n"},
        "accounts.csv row 1 column cash: 12345678901234.123456 has more than 15 significant "
        "digits: refused rather than rounded",
    ),
    "more decimals than kept": (
        {"accounts": "account_id,model_id,cash\nACC1,M1,1000.1234567\nACC2,M1,100\n"},
        "accounts.csv row 1 column cash: more than 6 decimals would be rounded",
    ),
    "quantity too large": (
        {
            "positions": "account_id,symbol,quantity\n"
            "ACC1,A,12\nACC1,B,10\nACC2,B,100000000000000000\n"
        },
        "positions.csv row 3 column quantity: too large: at most 16 digits",
    ),
    "price too large": (
        {"prices": "symbol,price\nA,50\nB,10000000000000\n"},
        "prices.csv row 2 column price: too large: at most 12 digits",
    ),
    "300-character account id": (
        {
            "accounts": f"account_id,model_id,cash\n{LONG_ID},M1,5\nACC1,M1,1000\nACC2,M1,100\n",
        },
        "accounts.csv row 1 column account_id: longer than the 64 characters kept (300)",
    ),
    "33-character symbol": (
        {"prices": f"symbol,price\nA,50\nB,40\n{'S' * 33},1\n"},
        "prices.csv row 3 column symbol: longer than the 32 characters kept (33)",
    ),
    "cash activity too large": (
        {"cash_activity": "account_id,kind,amount\nACC1,deposit,100000000000000\n"},
        "cash_activity.csv row 1 column amount: too large: at most 14 digits",
    ),
    "trade after the book date": (
        {
            "transactions": "account_id,date,symbol,action,quantity,price\n"
            "ACC1,2026-11-20,A,buy,1,50\n"
        },
        "transactions.csv row 1 column date: 2026-11-20 is after the book's date",
    ),
}


def invoke(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(cli.app, list(args))
    assert result.exit_code == code, (args, result.output, result.stderr)
    return result.output + (result.stderr if code else "")


def write(folder: Path, tables: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        path = folder / f"{name}.csv"
        if text:
            path.write_text(text)
        elif path.exists():
            path.unlink()
    return folder


def dump(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, sorted."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                name: sorted(
                    (tuple(r) for r in conn.execute(sa.select(table))), key=lambda r: repr(r)
                )
                for name, table in metadata.tables.items()
            }
    finally:
        engine.dispose()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path]]:
    """A database holding the good book of 18 November, and a folder for the bad ones."""
    folder = tmp_path_factory.mktemp("bad_input")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'bad.db'}"
        schema = None
    else:
        if not POSTGRES_URL:
            pytest.skip("TRIMTAB_TEST_POSTGRES_URL is not set")
        schema = f"tt_bad_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        admin.dispose()
        sep = "&" if "?" in POSTGRES_URL else "?"
        url = f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    invoke("db", "upgrade", "--db", url)
    invoke("firm", "add", "--firm", "acme", "--admin", "alice", "--db", url)
    good = write(folder / "good", GOOD)
    invoke(
        "import",
        str(good),
        "--date",
        "2026-11-18",
        "--firm",
        "acme",
        "--user",
        "alice",
        "--db",
        url,
    )
    try:
        yield url, folder
    finally:
        if schema is not None:
            admin = sa.create_engine(str(POSTGRES_URL))
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


@pytest.mark.parametrize("case", list(CASES))
def test_bad_book_is_refused_and_nothing_changes(database: tuple[str, Path], case: str) -> None:
    url, folder = database
    change, expected = CASES[case]
    bad = folder / case.replace(" ", "_")
    shutil.rmtree(bad, ignore_errors=True)
    write(bad, {**GOOD, **change})
    before = dump(url)
    message = invoke(
        "import", str(bad), "--date", "2026-11-19", "--firm", "acme", "--user", "alice",
        "--db", url, code=2,
    )  # fmt: skip
    assert expected in message
    assert "Traceback" not in message
    assert dump(url) == before
