"""``propose-book`` on sleeve tables: refused rows name ``table.ext row N column C``, and a
small book worked out by hand (docs/rules.md, "Book tables")."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from trimtab.cli import main

BASE = {
    "prices.csv": "symbol,price\nA,100\nB,100\nC,100\nD,100\n",
    "models.csv": "model_id,symbol,target_pct,min_pct,max_pct\n"
    "M1,A,50,50,50\nM1,B,50,50,50\nM2,C,100,100,100\n",
    "accounts.csv": "account_id,model_id,cash\nX-1,,0\nX-2,M1,0\n",
    "positions.csv": "account_id,symbol,quantity\nX-1,A,500\nX-1,B,500\nX-2,A,1000\n",
    "sleeves.csv": "account_id,sleeve,weight_pct,model_id,cash_pct\n"
    "X-1,model,60,M1,\nX-1,model,20,M2,\nX-1,apm,20,,0\n",
    "apm_targets.csv": "account_id,symbol,target_pct\nX-1,A,50\nX-1,D,50\n",
    "sleeve_positions.csv": "account_id,sleeve,symbol,quantity\n"
    "X-1,apm,A,100\nX-2,protected,A,400\n",
}


def run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], **tables: str
) -> tuple[int, str, list[dict[str, str]]]:
    book = tmp_path / "book"
    book.mkdir()
    for name, text in {**BASE, **tables}.items():
        (book / name).write_text(text)
    out = tmp_path / "trades.csv"
    with pytest.raises(SystemExit) as done:
        main(
            [
                "propose-book",
                str(book),
                "--logic",
                "rebalance_to_target",
                "--as-of",
                "2026-11-20",
                "--out",
                str(out),
            ]
        )
    code = int(done.value.code or 0)
    rows: list[dict[str, str]] = []
    if code == 0:
        with out.open() as f:
            rows = list(csv.DictReader(f))
    return code, capsys.readouterr().err, rows


def test_hand_worked_book(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every price is $100; each account is worth $100,000 (1,000 shares, no cash).

    X-1: 60% of M1 (A 50, B 50), 20% of M2 (C 100), an APM sleeve of 20% (A 50, D 50)
    holding 100 of its 500 A. Model target: A 30%, B 30%, C 20% = 300 / 300 / 200 shares;
    the model sleeve holds 400 A and 500 B: sell 100 A, sell 200 B, buy 200 C. APM target:
    A 10%, D 10% = 100 / 100 shares; it holds 100 A: buy 100 D (line "apm"). Not netted:
    A is sold on the model line only.

    X-2: M1 with 400 of its 1,000 A protected: the other $60,000 follows M1, A 300 and
    B 300 shares: sell 300 A (of the 600 unprotected), buy 300 B.
    """
    code, err, rows = run(tmp_path, capsys)
    assert code == 0, err
    got = [
        (r["account_id"], r["symbol"], r["action"], float(r["quantity"]), r["sleeve"]) for r in rows
    ]
    assert sorted(got) == sorted(
        [
            ("X-1", "A", "sell", 100.0, ""),
            ("X-1", "B", "sell", 200.0, ""),
            ("X-1", "C", "buy", 200.0, ""),
            ("X-1", "D", "buy", 100.0, "apm"),
            ("X-2", "A", "sell", 300.0, ""),
            ("X-2", "B", "buy", 300.0, ""),
        ]
    )


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        (
            {
                "sleeves.csv": "account_id,sleeve,weight_pct,model_id,cash_pct\n"
                "X-1,model,60,M1,\nX-1,model,10,M2,\nX-1,apm,20,,0\n"
            },
            "sleeves.csv row 1 column weight_pct: weight_pct of the model and apm sleeves must "
            "sum to 100, got 90",
        ),
        (
            {
                "sleeves.csv": "account_id,sleeve,weight_pct,model_id\n"
                "X-1,model,60,M1\nX-1,model,40,M9\n"
            },
            "sleeves.csv row 2 column model_id: unknown model 'M9'",
        ),
        (
            {"sleeves.csv": BASE["sleeves.csv"] + "X-9,model,100,M1,\n"},
            "sleeves.csv row 4 column account_id: unknown account 'X-9'",
        ),
        (
            {"sleeves.csv": "account_id,sleeve,weight_pct,model_id\nX-1,model,120,M1\n"},
            "sleeves.csv row 1 column weight_pct: must be between 0 and 100, got 120",
        ),
        (
            {"sleeves.csv": "account_id,sleeve,weight_pct,model_id\nX-1,index,100,M1\n"},
            "sleeves.csv row 1 column sleeve: must be one of model, apm, got 'index'",
        ),
        (
            {
                "sleeves.csv": "account_id,sleeve,weight_pct,model_id,cash_pct\n"
                "X-1,model,60,M1,\nX-1,apm,20,,0\nX-1,apm,20,,0\n"
            },
            "sleeves.csv row 3 column sleeve: at most one apm sleeve per account",
        ),
        (
            {"apm_targets.csv": "account_id,symbol,target_pct\nX-1,A,50\nX-1,D,40\n"},
            "apm_targets.csv row 1 column target_pct: target_pct plus cash_pct must sum to 100, "
            "got 90",
        ),
        (
            {"apm_targets.csv": "account_id,symbol,target_pct\nX-1,A,50\nX-1,Z,50\n"},
            "apm_targets.csv row 2 column symbol: no price for symbol 'Z'",
        ),
        (
            {"apm_targets.csv": "account_id,symbol,target_pct\nX-2,A,100\n"},
            "apm_targets.csv row 1 column account_id: account 'X-2' has no apm sleeve in sleeves",
        ),
        (
            {
                "sleeve_positions.csv": "account_id,sleeve,symbol,quantity\n"
                "X-1,apm,A,100\nX-2,protected,A,1001\n"
            },
            "sleeve_positions.csv row 2 column quantity: more than the 1000 shares of 'A' held",
        ),
        (
            {
                "sleeve_positions.csv": "account_id,sleeve,symbol,quantity\n"
                "X-1,apm,A,100\nX-1,apm,A,5\n"
            },
            "sleeve_positions.csv row 2 column symbol: duplicate key (account_id=X-1, sleeve=apm, "
            "symbol=A)",
        ),
        (
            {"sleeve_positions.csv": "account_id,sleeve,symbol,quantity\nX-1,apm,A,-5\n"},
            "sleeve_positions.csv row 1 column quantity: must be greater than 0, got -5.0",
        ),
        (
            {"accounts.csv": "account_id,model_id,cash\nX-1,M1,0\nX-2,M1,0\n"},
            "accounts.csv row 1 column model_id: must be empty: the target of account 'X-1' is "
            "given in sleeves.csv (row 1)",
        ),
    ],
)
def test_bad_sleeve_rows_name_row_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tables: dict[str, str], message: str
) -> None:
    code, err, _ = run(tmp_path, capsys, **tables)
    assert code == 2
    assert err == f"trimtab: {message}\n"
    assert not (tmp_path / "trades.csv").exists()


def test_protected_shares_need_a_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = tmp_path / "book"
    book.mkdir()
    for name, text in BASE.items():
        (book / name).write_text(text)
    with pytest.raises(SystemExit) as done:
        main(["propose-book", str(book), "--logic", "rebalance_to_target"])
    assert done.value.code == 2
    assert capsys.readouterr().err == (
        "trimtab: --as-of: required: the book has protected shares (sleeve_positions)\n"
    )
