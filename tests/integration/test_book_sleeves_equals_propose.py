"""``propose-book`` with sleeve tables gives each account what ``propose`` gives it alone
with the same sleeves (and rules) in its scenario: blended model sleeves, an APM sleeve
(traded as entered, on lines of its own) and protected shares, with and without rule
tables. The scenario path is the reference."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from trimtab.cli import main
from trimtab.io.propose import run_scenario

AS_OF = "2026-11-20"
PRICES = {"FB": 26.18, "ORCL": 38.46, "MSFT": 37.60, "INTC": 24.31, "CSCO": 22.30, "AAPL": 180.0}
MODELS = {  # lines: symbol, target, min, max (cash: what the targets leave)
    "TECH": [
        ("FB", 25, 22.5, 27.5),
        ("ORCL", 25, 22.5, 27.5),
        ("MSFT", 20, 18, 22),
        ("INTC", 15, 13.5, 16.5),
        ("CSCO", 15, 13.5, 16.5),
    ],
    "CORE": [("MSFT", 40, 36, 44), ("AAPL", 58, 55, 61)],
}
ACCOUNTS: dict[str, dict[str, Any]] = {
    "P-1": {  # plain: its model from accounts
        "household": "H1",
        "model": "TECH",
        "cash": 1000.0,
        "positions": {"FB": 1200, "ORCL": 500, "MSFT": 300, "INTC": 400, "CSCO": 900},
    },
    "S-1": {  # two model sleeves
        "household": "H1",
        "sleeves": [("model", 60, "TECH"), ("model", 40, "CORE")],
        "cash": 5000.0,
        "positions": {"FB": 900, "ORCL": 600, "MSFT": 500, "INTC": 200},
    },
    "S-2": {  # a model sleeve and an APM sleeve holding part of FB
        "household": "H2",
        "sleeves": [("model", 80, "TECH"), ("apm", 20, None, 4.0)],
        "apm_targets": {"FB": 40, "AAPL": 56},
        "apm_positions": {"FB": 300},
        "cash": 0.0,
        "positions": {"FB": 2000, "ORCL": 400, "MSFT": 300, "INTC": 300, "CSCO": 300},
    },
    "S-3": {  # protected shares only: its model from accounts
        "household": "H3",
        "model": "TECH",
        "protected": {"MSFT": 250, "AAPL": 10},
        "cash": 2000.0,
        "positions": {"FB": 800, "ORCL": 700, "MSFT": 600, "INTC": 500, "AAPL": 20},
    },
    "S-4": {  # everything: a blend, an APM sleeve and protected shares
        "household": "H2",
        "sleeves": [("model", 50, "TECH"), ("apm", 20, None, 0.0), ("model", 30, "CORE")],
        "apm_targets": {"INTC": 50, "CSCO": 50},
        "apm_positions": {"INTC": 100},
        "protected": {"ORCL": 100},
        "cash": 20000.0,
        "positions": {"FB": 500, "ORCL": 500, "MSFT": 500, "INTC": 500, "CSCO": 500},
    },
}
RESTRICTIONS = [  # account, scenario entry
    (
        "S-2",
        {  # an APM security: the exclusion reaches its APM line too
            "type": "exclusion",
            "symbol": "AAPL",
            "replacement": "hold_cash",
            "behaviour": "liquidate_immediately",
            "start_date": "2026-11-01",
        },
    ),
    (
        "S-1",
        {
            "type": "exclusion",
            "symbol": "CSCO",
            "replacement": "reallocate",
            "behaviour": "liquidate_immediately",
            "start_date": "2026-11-01",
        },
    ),
]
LOCKS = [("S-4", {"type": "elective", "symbol": "CSCO"})]
TRANSACTIONS = [  # S-4 sold FB at a loss 10 days ago: no FB buy in household H2
    {
        "account": "S-4",
        "symbol": "FB",
        "action": "sell",
        "date": "2026-11-10",
        "quantity": 100,
        "realized_gain": -500.0,
    },
]


def cash_pct(model: str) -> float:
    """The book's cash target: what the lines leave of 100, summed in file order."""
    return min(max(100.0 - sum(float(t) for _, t, _, _ in MODELS[model]), 0.0), 100.0)


def write_book(folder: Path, *, rules: bool, protected: bool) -> None:
    folder.mkdir()
    (folder / "prices.csv").write_text(
        "symbol,price\n" + "".join(f"{s},{p}\n" for s, p in PRICES.items())
    )
    (folder / "models.csv").write_text(
        "model_id,symbol,target_pct,min_pct,max_pct\n"
        + "".join(
            f"{m},{s},{t},{lo},{hi}\n" for m, lines in MODELS.items() for s, t, lo, hi in lines
        )
    )
    (folder / "accounts.csv").write_text(
        "account_id,model_id,cash,household_id\n"
        + "".join(
            f"{a},{d.get('model', '')},{d['cash']},{d['household']}\n" for a, d in ACCOUNTS.items()
        )
    )
    (folder / "positions.csv").write_text(
        "account_id,symbol,quantity\n"
        + "".join(f"{a},{s},{q}\n" for a, d in ACCOUNTS.items() for s, q in d["positions"].items())
    )
    (folder / "sleeves.csv").write_text(
        "account_id,sleeve,weight_pct,model_id,cash_pct\n"
        + "".join(
            f"{a},{s[0]},{s[1]},{s[2] or ''},{s[3] if s[0] == 'apm' else ''}\n"
            for a, d in ACCOUNTS.items()
            for s in d.get("sleeves", [])
        )
    )
    (folder / "apm_targets.csv").write_text(
        "account_id,symbol,target_pct\n"
        + "".join(
            f"{a},{s},{t}\n"
            for a, d in ACCOUNTS.items()
            for s, t in d.get("apm_targets", {}).items()
        )
    )
    rows = [
        f"{a},apm,{s},{q}\n"
        for a, d in ACCOUNTS.items()
        for s, q in d.get("apm_positions", {}).items()
    ]
    if protected:
        rows += [
            f"{a},protected,{s},{q}\n"
            for a, d in ACCOUNTS.items()
            for s, q in d.get("protected", {}).items()
        ]
    (folder / "sleeve_positions.csv").write_text(
        "account_id,sleeve,symbol,quantity\n" + "".join(rows)
    )
    if not rules:
        return
    (folder / "restrictions.csv").write_text(
        "account_id,type,symbol,start_date,replacement,behaviour\n"
        + "".join(
            f"{a},{r['type']},{r['symbol']},{r['start_date']},{r['replacement']},{r['behaviour']}\n"
            for a, r in RESTRICTIONS
        )
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


def model_doc(model: str) -> dict[str, Any]:
    return {
        "cash_pct": cash_pct(model),
        "securities": [
            {"symbol": s, "target_pct": t, "min_pct": lo, "max_pct": hi}
            for s, t, lo, hi in MODELS[model]
        ],
    }


def scenario(
    account: str, method: str, options: dict[str, Any], *, rules: bool, protected: bool
) -> str:
    d = ACCOUNTS[account]
    doc: dict[str, Any] = {
        "method": method,
        "options": options,
        "prices": PRICES,
        "account": {
            "id": account,
            "cash": d["cash"],
            "positions": [{"symbol": s, "quantity": q} for s, q in d["positions"].items()],
        },
    }
    sleeves: list[dict[str, Any]] = []
    for s in d.get("sleeves", []):
        if s[0] == "model":
            sleeves.append({"type": "model", "weight_pct": s[1], "model": model_doc(s[2])})
        else:
            sleeves.append(
                {
                    "type": "apm",
                    "weight_pct": s[1],
                    "cash_pct": s[3],
                    "targets": [
                        {"symbol": x, "target_pct": t} for x, t in d["apm_targets"].items()
                    ],
                    "positions": [
                        {"symbol": x, "quantity": q} for x, q in d["apm_positions"].items()
                    ],
                }
            )
    if "model" in d:
        doc["model"] = model_doc(d["model"])
    if protected and d.get("protected"):
        positions = [{"symbol": x, "quantity": q} for x, q in d["protected"].items()]
        sleeves.append({"type": "protected", "positions": positions})
    if sleeves:
        doc["sleeves"] = sleeves
    if rules or protected:
        doc["as_of"] = AS_OF
    if rules:
        house = {a for a, x in ACCOUNTS.items() if x["household"] == d["household"]}
        doc["restrictions"] = [r for a, r in RESTRICTIONS if a == account]
        doc["locks"] = [r for a, r in LOCKS if a == account]
        doc["transactions"] = [t for t in TRANSACTIONS if t["account"] in house]
    return json.dumps(doc)


def propose_book(
    book: Path, out: Path, method: str, flags: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[list[dict[str, str]], dict[str, dict[str, str]]]:
    with pytest.raises(SystemExit) as done:
        main(["propose-book", str(book), "--logic", method, "--out", str(out), *flags])
    assert done.value.code in (0, None), capsys.readouterr().err
    with out.open() as f:
        trades = list(csv.DictReader(f))
    with out.with_name(f"{out.stem}.status.csv").open() as f:
        statuses = {r["account_id"]: r for r in csv.DictReader(f)}
    return trades, statuses


@pytest.mark.parametrize(
    ("rules", "protected"),
    [(False, False), (False, True), (True, True)],
    ids=["plain", "protected", "rules"],
)
@pytest.mark.parametrize(
    ("method", "options", "flags"),
    [
        ("rebalance_to_target", {}, []),
        ("rebalance_to_tolerance", {}, []),
        ("invest_cash_proportional", {}, []),
        ("generate_cash", {"cash_to_generate": 15000.0}, ["--cash-to-generate", "15000"]),
    ],
)
def test_book_with_sleeves_matches_each_account_alone(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    method: str,
    options: dict[str, Any],
    flags: list[str],
    rules: bool,
    protected: bool,
) -> None:
    book = tmp_path / "book"
    write_book(book, rules=rules, protected=protected)
    dated = ["--as-of", AS_OF] if rules or protected else []
    trades, statuses = propose_book(book, tmp_path / "trades.csv", method, flags + dated, capsys)
    for account in ACCOUNTS:
        text = scenario(account, method, options, rules=rules, protected=protected)
        alone = run_scenario(text)["accounts"][0]
        single = sorted(
            (t["symbol"], t.get("sleeve", ""), t["action"], float(t["quantity"]), t["order_value"])
            for t in alone["trades"]
            if t["action"] != "none"
        )
        mine = sorted(
            (r["symbol"], r["sleeve"], r["action"], float(r["quantity"]), float(r["order_value"]))
            for r in trades
            if r["account_id"] == account
        )
        assert mine == single, account
        assert statuses[account]["status"] == alone["status"], account
        assert float(statuses[account]["value"]) == alone["value"], account
