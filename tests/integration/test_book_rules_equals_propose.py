"""``propose-book`` with rule tables gives each account what ``propose`` gives it alone with the
same rules written into its scenario (restrictions, locks, lots with every relief method and
lot ids, household transactions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trimtab.cli import main
from trimtab.io.propose import run_scenario

AS_OF = "2026-11-20"
PRICES = {
    "FB": 26.18,
    "ORCL": 38.46,
    "MSFT": 37.60,
    "INTC": 24.31,
    "CSCO": 22.30,
    "AAPL": 180.0,
    "AMD": 110.0,
}
MODEL = [
    ("FB", 25, 22.5, 27.5),
    ("ORCL", 25, 22.5, 27.5),
    ("MSFT", 20, 18, 22),
    ("INTC", 15, 13.5, 16.5),
    ("CSCO", 15, 13.5, 16.5),
]
ACCOUNTS: dict[str, dict[str, Any]] = {
    "A-1": {
        "household": "H1",
        "registration": "non_qualified",
        "cash": 1000.0,
        "positions": {"FB": 1200, "ORCL": 500, "MSFT": 300, "INTC": 400, "CSCO": 900},
    },
    "A-2": {
        "household": "H2",
        "registration": "qualified",
        "cash": 0.0,
        "positions": {"FB": 800, "ORCL": 700, "MSFT": 600, "INTC": 500, "CSCO": 300},
    },
    "A-3": {
        "household": "H3",
        "registration": "non_qualified",
        "cash": 5000.0,
        "positions": {"FB": 900, "ORCL": 600, "MSFT": 500, "INTC": 200, "AMD": 40},
    },
    "A-4": {
        "household": "H1",
        "registration": "non_qualified",
        "cash": 20000.0,
        "positions": {"FB": 500, "ORCL": 500, "MSFT": 500, "INTC": 500, "CSCO": 500},
    },
    "A-5": {
        "household": "H5",
        "registration": "non_qualified",
        "cash": 0.0,
        "positions": {"FB": 2000, "ORCL": 400, "MSFT": 300, "INTC": 300, "CSCO": 300},
    },
    "A-6": {
        "household": "H6",
        "registration": "non_qualified",
        "cash": 0.0,
        "positions": {"FB": 2000, "ORCL": 400, "MSFT": 300, "INTC": 300, "CSCO": 300},
    },
}
LOT_METHODS = {"A-2": "lifo", "A-3": "hifo", "A-5": "minimum_tax", "A-6": "specific_lots"}
SPECIFIC_LOTS = {"A-6": {"FB": ["S3", "S1"]}}  # S2 is not sold
LOTS = {  # shares, total cost basis, acquired, lot id ("" for none)
    # A-1 (fifo) holds FB in two lots: one at a gain, one at a loss
    ("A-1", "FB"): [(700, 14000.0, "2024-01-15", "L1"), (500, 16000.0, "2026-06-01", "L2")],
    ("A-1", "ORCL"): [(500, 25000.0, "2025-12-01", "")],
    ("A-2", "ORCL"): [(300, 9000.0, "2022-05-01", "O1"), (400, 16000.0, "2026-01-15", "O2")],
    ("A-3", "FB"): [
        (400, 8000.0, "2024-03-01", "H1"),
        (300, 10500.0, "2025-03-01", "H2"),
        (200, 5000.0, "2023-03-01", "H3"),
    ],
    ("A-5", "FB"): [  # minimum tax: M3 (long loss), M1 (short loss), row 10 (long gain), M4
        (600, 18000.0, "2026-09-01", "M1"),
        (500, 5000.0, "2023-03-01", ""),
        (400, 11200.0, "2025-01-10", "M3"),
        (500, 10000.0, "2026-05-01", "M4"),
    ],
    ("A-6", "FB"): [
        (800, 16000.0, "2024-01-01", "S1"),
        (700, 21000.0, "2025-06-01", "S2"),
        (500, 12000.0, "2026-02-01", "S3"),
    ],
}
LOT_ROW = {  # (account, symbol, index within the position) -> row in lots.csv
    (a, s, i): n
    for n, (a, s, i) in enumerate(
        ((a, s, i) for (a, s), lots in LOTS.items() for i in range(len(lots))), start=1
    )
}
RESTRICTIONS = [  # account, scenario entry, book rows
    (
        "A-1",
        {
            "type": "exclusion",
            "symbol": "CSCO",
            "replacement": "reallocate",
            "behaviour": "liquidate_immediately",
            "start_date": "2026-11-01",
        },
    ),
    (
        "A-2",
        {
            "type": "substitution",
            "symbol": "MSFT",
            "substitute": "AAPL",
            "behaviour": "liquidate_as_needed",
            "start_date": "2026-11-01",
        },
    ),
    (
        "A-3",
        {
            "type": "equivalents",
            "start_date": "2026-11-01",
            "members": [
                {"symbol": "INTC", "behaviour": "none"},
                {"symbol": "AMD", "behaviour": "do_not_buy"},
            ],
        },
    ),
]
LOCKS = [
    ("A-1", {"type": "gain", "symbol": "ORCL"}),
    ("A-2", {"type": "elective", "symbol": "CSCO"}),
]
TRANSACTIONS = [  # A-1 sold INTC at a loss 10 days ago: no INTC buy anywhere in household H1
    {
        "account": "A-1",
        "symbol": "INTC",
        "action": "sell",
        "date": "2026-11-10",
        "quantity": 100,
        "realized_gain": -500.0,
    },
]


def write_book(folder: Path) -> None:
    folder.mkdir()
    (folder / "prices.csv").write_text(
        "symbol,price\n" + "".join(f"{s},{p}\n" for s, p in PRICES.items())
    )
    (folder / "models.csv").write_text(
        "model_id,symbol,target_pct,min_pct,max_pct\n"
        + "".join(f"TECH,{s},{t},{lo},{hi}\n" for s, t, lo, hi in MODEL)
    )
    (folder / "accounts.csv").write_text(
        "account_id,model_id,cash,household_id,registration,lot_method\n"
        + "".join(
            f"{a},TECH,{d['cash']},{d['household']},{d['registration']},{LOT_METHODS.get(a, '')}\n"
            for a, d in ACCOUNTS.items()
        )
    )
    (folder / "positions.csv").write_text(
        "account_id,symbol,quantity\n"
        + "".join(
            f"{a},{s},{q}\n"
            for a, d in ACCOUNTS.items()
            for s, q in d["positions"].items()
            if (a, s) not in LOTS
        )
    )
    (folder / "lots.csv").write_text(
        "account_id,symbol,quantity,cost_basis,acquired,lot_id\n"
        + "".join(
            f"{a},{s},{q},{b},{d},{i}\n" for (a, s), lots in LOTS.items() for q, b, d, i in lots
        )
    )
    (folder / "specific_lots.csv").write_text(
        "account_id,symbol,lot_id\n"
        + "".join(
            f"{a},{s},{i}\n"
            for a, named in SPECIFIC_LOTS.items()
            for s, ids in named.items()
            for i in ids
        )
    )
    rows = []
    for n, (a, r) in enumerate(RESTRICTIONS):
        if r["type"] == "equivalents":
            rows += [
                f"{a},equivalents,{m['symbol']},{r['start_date']},g{n},,,{m['behaviour']}\n"
                for m in r["members"]
            ]
        else:
            rows.append(
                f"{a},{r['type']},{r['symbol']},{r['start_date']},,{r.get('substitute', '')},"
                f"{r.get('replacement', '')},{r['behaviour']}\n"
            )
    (folder / "restrictions.csv").write_text(
        "account_id,type,symbol,start_date,restriction_id,substitute,replacement,behaviour\n"
        + "".join(rows)
    )
    (folder / "locks.csv").write_text(
        "account_id,type,symbol\n" + "".join(f"{a},{r['type']},{r['symbol']}\n" for a, r in LOCKS)
    )
    (folder / "transactions.csv").write_text(
        "account_id,symbol,action,date,quantity,realized_gain\n"
        + "".join(
            f"{t['account']},{t['symbol']},{t['action']},{t['date']},{t['quantity']},"
            f"{t['realized_gain']}\n"
            for t in TRANSACTIONS
        )
    )


def scenario(account: str, method: str, options: dict[str, Any]) -> str:
    d = ACCOUNTS[account]
    positions = []
    for s, q in d["positions"].items():
        if (account, s) in LOTS:
            lots = [
                {"quantity": q, "cost_basis": b, "acquired": a, "lot_id": i or None}
                for q, b, a, i in LOTS[(account, s)]
            ]
            positions.append({"symbol": s, "lots": lots})
        else:
            positions.append({"symbol": s, "quantity": q})
    house = {a for a, x in ACCOUNTS.items() if x["household"] == d["household"]}
    doc: dict[str, Any] = {
        "method": method,
        "as_of": AS_OF,
        "options": options,
        "prices": PRICES,
        "model": {
            "securities": [
                {"symbol": s, "target_pct": t, "min_pct": lo, "max_pct": hi}
                for s, t, lo, hi in MODEL
            ]
        },
        "account": {
            "id": account,
            "registration": d["registration"],
            "cash": d["cash"],
            "positions": positions,
            "lot_method": LOT_METHODS.get(account, "fifo"),
            "specific_lots": SPECIFIC_LOTS.get(account, {}),
        },
        "restrictions": [r for a, r in RESTRICTIONS if a == account],
        "locks": [r for a, r in LOCKS if a == account],
        "transactions": [t for t in TRANSACTIONS if t["account"] in house],
    }
    return json.dumps(doc)


@pytest.mark.parametrize(
    ("method", "options", "flags"),
    [
        ("rebalance_to_target", {}, []),
        ("rebalance_to_tolerance", {}, []),
        ("invest_cash_proportional", {}, []),
        ("generate_cash", {"cash_to_generate": 15000.0}, ["--cash-to-generate", "15000"]),
    ],
)
def test_book_with_rules_matches_each_account_alone(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    method: str,
    options: dict[str, Any],
    flags: list[str],
) -> None:
    book = tmp_path / "book"
    write_book(book)
    out = tmp_path / "trades.csv"
    with pytest.raises(SystemExit) as done:
        main(
            [
                "propose-book",
                str(book),
                "--logic",
                method,
                "--as-of",
                AS_OF,
                "--out",
                str(out),
                *flags,
            ]
        )
    assert done.value.code in (0, None), capsys.readouterr().err
    import csv

    with out.open() as f:
        batch = [r for r in csv.DictReader(f)]
    with (tmp_path / "trades.status.csv").open() as f:
        statuses = {r["account_id"]: r for r in csv.DictReader(f)}
    for account in ACCOUNTS:
        alone = run_scenario(scenario(account, method, options))["accounts"][0]
        single = sorted(
            (
                t["symbol"],
                t["action"],
                float(t["quantity"]),
                t["order_value"],
                round(t.get("short_term_gain", 0.0), 2),
                round(t.get("long_term_gain", 0.0), 2),
                relief_text(account, t),
            )
            for t in alone["trades"]
            if t["action"] != "none"
        )
        mine = sorted(
            (
                r["symbol"],
                r["action"],
                float(r["quantity"]),
                float(r["order_value"]),
                float(r["short_term_gain"]),
                float(r["long_term_gain"]),
                r["lots"],
            )
            for r in batch
            if r["account_id"] == account
        )
        assert mine == single, account
        assert statuses[account]["status"] == alone["status"], account
        approval = alone.get("approval", {"required": False})["required"]
        assert (statuses[account]["needs_approval"] == "true") == approval, account


def relief_text(account: str, line: dict[str, Any]) -> str:
    """A scenario line's relieved lots as propose-book writes them: ``id:shares;...``, a lot
    without an id named by its row in lots.csv (``#N``)."""
    parts = []
    for relief in line.get("lots", []):
        lots = LOTS[(account, line["symbol"])]
        i = next(
            j
            for j, (_, _, acquired, lot_id) in enumerate(lots)
            if (lot_id or None) == relief["lot_id"] and acquired == relief["acquired"]
        )
        q = relief["quantity"]
        shares = str(int(q)) if q == int(q) else repr(q)
        parts.append(
            f"{relief['lot_id'] or '#' + str(LOT_ROW[(account, line['symbol'], i)])}:{shares}"
        )
    return ";".join(parts)


def test_rules_need_a_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = tmp_path / "book"
    write_book(book)
    with pytest.raises(SystemExit) as done:
        main(["propose-book", str(book), "--logic", "rebalance_to_target"])
    assert done.value.code == 2
    assert capsys.readouterr().err == (
        "trimtab: --as-of: required: the book has rule tables or tax lots\n"
    )


def run_book(book: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as done:
        main(
            [
                "propose-book",
                str(book),
                "--logic",
                "rebalance_to_target",
                "--as-of",
                AS_OF,
                "--out",
                str(out),
            ]
        )
    return int(done.value.code or 0), capsys.readouterr().err


def test_each_lot_method_relieves_its_lots_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first lots relieved, worked out by hand from LOTS (price of FB 26.18)."""
    book = tmp_path / "book"
    write_book(book)
    out = tmp_path / "trades.csv"
    code, err = run_book(book, out, capsys)
    assert code == 0, err
    import csv

    with out.open() as f:
        sells = {
            (r["account_id"], r["symbol"]): r["lots"]
            for r in csv.DictReader(f)
            if r["action"] == "sell"
        }
    assert sells[("A-1", "FB")].startswith("L1:")  # fifo: oldest
    assert sells[("A-2", "ORCL")].startswith("O2:")  # lifo: newest
    assert sells[("A-3", "FB")].startswith("H2:")  # hifo: $35 a share
    # minimum tax: the long-term loss, then the short-term loss, then the long-term gain
    # (the lot without an id, named by its row in lots.csv)
    assert sells[("A-5", "FB")].startswith("M3:400;M1:600;#10:")
    assert sells[("A-6", "FB")].startswith("S3:500;S1:")  # specific lots, in the named order
    assert "S2" not in sells[("A-6", "FB")]
    assert sells[("A-1", "CSCO")] == ""  # no lots


@pytest.mark.parametrize(
    ("table", "edit", "message"),
    [
        (
            "accounts.csv",
            lambda text: text.replace(",lifo\n", ",lifo2\n"),
            "accounts.csv row 2 column lot_method: must be one of fifo, lifo, hifo, "
            "minimum_tax, specific_lots, got 'lifo2'",
        ),
        (
            "lots.csv",
            lambda text: text.replace(",L2\n", ",L1\n"),
            "lots.csv row 2 column lot_id: duplicate key (account_id=A-1, symbol=FB, "
            "lot_id=L1): lot ids are unique per account and symbol",
        ),
        (
            "specific_lots.csv",
            lambda text: text.replace("S1", "S9"),
            "specific_lots.csv row 2 column lot_id: no lot 'S9' of 'FB' in account 'A-6' in lots",
        ),
        (
            "specific_lots.csv",
            lambda text: text + "A-1,FB,L1\n",
            "specific_lots.csv row 3 column account_id: account 'A-1' relieves lots by fifo: "
            "give it lot_method specific_lots in accounts",
        ),
        (
            "specific_lots.csv",
            lambda text: text + "A-6,FB,S3\n",
            "specific_lots.csv row 3 column lot_id: lot 'S3' is named twice",
        ),
        (
            "specific_lots.csv",
            lambda text: text + "A-6,FB,\n",
            "specific_lots.csv row 3 column lot_id: value is missing",
        ),
    ],
)
def test_bad_lot_method_or_lot_ids_name_row_and_column(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    table: str,
    edit: Any,
    message: str,
) -> None:
    book = tmp_path / "book"
    write_book(book)
    path = book / table
    path.write_text(edit(path.read_text()))
    out = tmp_path / "trades.csv"
    assert run_book(book, out, capsys) == (2, f"trimtab: {message}\n")
    assert not out.exists()


def test_parquet_trades_equal_csv_and_lots_are_written_without_a_dictionary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The trades file says the same in Parquet as in CSV; its ``lots`` texts, which
    rarely repeat, are written plain (no dictionary page)."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    book = tmp_path / "book"
    write_book(book)
    for name in ("trades.csv", "trades.parquet"):
        assert run_book(book, tmp_path / name, capsys) == (0, "")
    parquet = pq.read_table(tmp_path / "trades.parquet")
    csv_lots = pacsv.read_csv(tmp_path / "trades.csv").column("lots").to_pylist()
    assert parquet.column("lots").to_pylist() == [v if v else None for v in csv_lots]
    assert any(v for v in csv_lots)
    meta = pq.ParquetFile(tmp_path / "trades.parquet").metadata
    lots = parquet.schema.get_field_index("lots")
    symbol = parquet.schema.get_field_index("symbol")
    assert "PLAIN_DICTIONARY" not in meta.row_group(0).column(lots).encodings
    assert "RLE_DICTIONARY" not in meta.row_group(0).column(lots).encodings
    assert "RLE_DICTIONARY" in meta.row_group(0).column(symbol).encodings
