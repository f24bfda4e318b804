"""Bad input on the command line: exit 2, one line naming the record and field, no traceback,
nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
from copy import deepcopy
from pathlib import Path
from typing import Any

import pytest

from trimtab.cli import main

GOOD: dict[str, Any] = {
    "method": "rebalance_to_target",
    "prices": {"FB": 26.18, "ORCL": 38.46, "MSFT": 37.60},
    "model": {
        "securities": [
            {"symbol": "FB", "target_pct": 40, "min_pct": 35, "max_pct": 45},
            {"symbol": "ORCL", "target_pct": 30, "min_pct": 25, "max_pct": 35},
            {"symbol": "MSFT", "target_pct": 30, "min_pct": 25, "max_pct": 35},
        ]
    },
    "account": {
        "id": "A-1",
        "cash": 100,
        "positions": [{"symbol": "FB", "quantity": 10}, {"symbol": "ORCL", "quantity": 5}],
    },
}


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    out, err = capsys.readouterr()
    return int(exit_.value.code or 0), out, err


def set_path(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    doc = deepcopy(doc)
    keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split("/")]
    target = doc
    for k in keys[:-1]:
        target = target[k]
    if value is DELETE:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return doc


DELETE = object()

SCENARIO_CASES = [
    (
        "model/securities/2/target_pct",
        120,
        "model.securities[2].target_pct: must be between 0 and 100, got 120",
    ),
    (
        "model/securities/0/min_pct",
        41,
        "model.securities[0].min_pct: must be at most target_pct 40, got 41",
    ),
    (
        "model/securities/0/max_pct",
        39,
        "model.securities[0].max_pct: must be at least target_pct 40, got 39",
    ),
    (
        "model/securities/0/target_pct",
        35,
        "model.securities: targets plus cash_pct must sum to 100, got 95",
    ),
    (
        "model/securities/1/symbol",
        "FB",
        "model.securities[1].symbol: duplicate symbol 'FB' (also securities[0])",
    ),
    ("model/cash_pct", -1, "model.cash_pct: must be between 0 and 100, got -1"),
    ("prices/FB", 0, "prices.FB: must be greater than 0, got 0"),
    ("prices/FB", "cheap", "prices.FB: must be a valid number"),
    ("prices/MSFT", DELETE, "model.securities: no price for 'MSFT' in prices"),
    (
        "account/positions/1/quantity",
        -5,
        "account.positions[1].quantity: must be at least 0, got -5",
    ),
    (
        "account/positions/0/market_value",
        100,
        "account.positions[0]: give exactly one of quantity, market_value, lots"
        " (got quantity, market_value)",
    ),
    (
        "account/positions/1/symbol",
        "FB",
        "account.positions[1].symbol: duplicate symbol 'FB' (also positions[0])",
    ),
    (
        "account/positions/1/symbol",
        "XYZ",
        "account.positions[1].symbol: no price for 'XYZ' in prices",
    ),
    ("account/cash", "lots", "account.cash: must be a valid number"),
    ("account/nickname", "x", "account.nickname: unknown field"),
    ("account/id", DELETE, "account.id: required field is missing"),
    ("method", "magic", "method: must be one of rebalance_to_target"),
    (
        "options",
        {"cash_to_invest": 5},
        "options.cash_to_invest: not used by method 'rebalance_to_target'",
    ),
    ("options", {"rounding": "half"}, "options.rounding: must be 'whole_shares' or 'fractional'"),
    ("options", {"share_decimals": 12}, "options.share_decimals: must be at most 9, got 12"),
]


@pytest.mark.parametrize(("path", "value", "message"), SCENARIO_CASES)
def test_bad_scenario_field_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], path: str, value: Any, message: str
) -> None:
    file = tmp_path / "scenario.json"
    file.write_text(json.dumps(set_path(GOOD, path, value)))
    code, out, err = run(["propose", str(file)], capsys)
    assert code == 2
    assert out == ""
    assert err.startswith(f"trimtab: {message}"), err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_generate_cash_needs_an_amount(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "s.json"
    file.write_text(json.dumps(set_path(GOOD, "method", "generate_cash")))
    code, _, err = run(["propose", str(file)], capsys)
    assert code == 2
    assert err == "trimtab: options.cash_to_generate: required by method 'generate_cash'\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [("{", "scenario: not valid JSON"), ("[1, 2]", "scenario: must be a JSON object")],
)
def test_unreadable_scenario(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    file = tmp_path / "s.json"
    file.write_text(text)
    code, _, err = run(["propose", str(file)], capsys)
    assert code == 2 and err.startswith(f"trimtab: {message}")


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["propose", str(tmp_path / "nope.json")], capsys)
    assert code == 2 and err.endswith("nope.json: no such file\n")


def test_scenario_from_standard_input_in_a_real_process() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "trimtab.cli", "propose", "-"],
        input=json.dumps(set_path(GOOD, "prices/FB", -2)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == "trimtab: prices.FB: must be greater than 0, got -2\n"


BOOK = {
    "prices.csv": "symbol,price\nFB,26.18\nORCL,38.46\nMSFT,37.60\n",
    "models.csv": "model_id,symbol,target_pct,min_pct,max_pct\nM1,FB,50,45,55\nM1,ORCL,50,45,55\n",
    "accounts.csv": "account_id,model_id,cash\nA-1,M1,100\nA-2,M1,0\n",
    "positions.csv": "account_id,symbol,quantity\nA-1,FB,10\nA-1,ORCL,5\nA-2,MSFT,3\n",
}

BOOK_CASES = [
    (
        "accounts.csv",
        "account_id,model_id,cash\nA-1,M1,100\nA-2,M9,0\n",
        "accounts.csv row 2 column model_id: unknown model 'M9'",
    ),
    (
        "positions.csv",
        "account_id,symbol,quantity\nA-1,FB,10\nA-1,XYZ,5\n",
        "positions.csv row 2 column symbol: no price for symbol 'XYZ'",
    ),
    (
        "positions.csv",
        "account_id,symbol,quantity\nA-1,FB,10\nA-1,ORCL,-5\n",
        "positions.csv row 2 column quantity: must be at least 0, got -5",
    ),
    (
        "positions.csv",
        "account_id,symbol,quantity\nA-1,FB,10\nA-1,FB,5\n",
        "positions.csv row 2 column symbol: duplicate key (account_id=A-1, symbol=FB)",
    ),
    (
        "positions.csv",
        "account_id,symbol,quantity\nA-1,MSFT,10\nA-1,MSFT,5\n",
        "positions.csv row 2 column symbol: duplicate key (account_id=A-1, symbol=MSFT)",
    ),
    (
        "positions.csv",
        "account_id,symbol,quantity\nA-1,FB,ten\n",
        "positions.csv row 1 column quantity: not a valid number: 'ten'",
    ),
    (
        "positions.csv",
        "account_id,symbol,quantity\nA-7,FB,1\n",
        "positions.csv row 1 column account_id: unknown account 'A-7'",
    ),
    (
        "positions.csv",
        "account_id,symbol\nA-1,FB\n",
        "positions.csv: missing required column quantity",
    ),
    (
        "positions.csv",
        "account_id,symbol,quantity,qty2\nA-1,FB,1,2\n",
        "positions.csv column qty2: unknown column",
    ),
    (
        "accounts.csv",
        "account_id,model_id,cash\nA-1,M1,100\nA-1,M1,0\n",
        "accounts.csv row 2 column account_id: duplicate key (account_id=A-1)",
    ),
    (
        "accounts.csv",
        "account_id,model_id,cash\nA-1,M1,\n",
        "accounts.csv row 1 column cash: value is missing",
    ),
    (
        "prices.csv",
        "symbol,price\nFB,26.18\nORCL,0\nMSFT,3\n",
        "prices.csv row 2 column price: must be greater than 0, got 0",
    ),
    (
        "prices.csv",
        "symbol,price\nFB,26.18\nFB,2\nORCL,1\n",
        "prices.csv row 2 column symbol: duplicate key (symbol=FB)",
    ),
    (
        "models.csv",
        "model_id,symbol,target_pct,min_pct,max_pct\nM1,FB,60,45,65\nM1,ORCL,50,45,55\n",
        "models.csv row 1 column target_pct: targets of model 'M1' sum to 110, more than 100",
    ),
    (
        "models.csv",
        "model_id,symbol,target_pct,min_pct,max_pct\nM1,FB,50,55,60\nM1,ORCL,50,45,55\n",
        "models.csv row 1 column min_pct: must be at most target_pct 50, got 55",
    ),
    (
        "accounts.csv",
        "account_id,model_id,cash,registration\nA-1,M1,1,ira\nA-2,M1,0,qualified\n",
        "accounts.csv row 1 column registration:"
        " must be one of qualified, non_qualified, got 'ira'",
    ),
]


@pytest.mark.parametrize(("table", "text", "message"), BOOK_CASES)
@pytest.mark.parametrize("command", ["drift", "propose-book"])
def test_bad_book_row_is_named_and_nothing_is_written(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    table: str,
    text: str,
    message: str,
    command: str,
) -> None:
    book = tmp_path / "book"
    book.mkdir()
    for name, content in {**BOOK, table: text}.items():
        (book / name).write_text(content)
    out_file = tmp_path / "out.csv"
    argv = [command, str(book), "--out", str(out_file)]
    if command == "propose-book":
        argv += ["--logic", "rebalance_to_target"]
    code, out, err = run(argv, capsys)
    assert code == 2
    assert err.startswith(f"trimtab: {message}"), err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert out == ""
    assert not out_file.exists()
    assert list(tmp_path.iterdir()) == [book]


def test_missing_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name, content in BOOK.items():
        if name != "models.csv":
            (tmp_path / name).write_text(content)
    code, _, err = run(["drift", str(tmp_path)], capsys)
    assert code == 2 and "missing table models.csv or models.parquet" in err


def test_propose_book_option_not_used_by_the_method(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, content in BOOK.items():
        (tmp_path / name).write_text(content)
    code, _, err = run(
        ["propose-book", str(tmp_path), "--logic", "rebalance_to_target", "--cash-to-invest", "5"],
        capsys,
    )
    assert code == 2
    assert err == "trimtab: --cash-to-invest: not used by method 'rebalance_to_target'\n"
