"""``propose-book`` gives every account the same trades as ``propose`` on that account alone.

Each account's scenario is rebuilt here from the book's raw tables with plain Python, not from
the engine's arrays, so the two paths share only the trade logic itself.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trimtab.core.engine import TradeOptions
from trimtab.io.batch import batch_options, drift_table, propose_tables, with_book_classes
from trimtab.io.book import read_book
from trimtab.io.demo import DemoSpec, demo_tables, write_book
from trimtab.io.propose import run_scenario

METHODS = {
    "rebalance_to_target": {},
    "rebalance_to_tolerance": {},
    "rebalance_to_tolerance_oot_only": {},
    "invest_cash_proportional": {},
    "invest_cash_min_trades": {"cash_to_invest": 2500.0},
    "generate_cash": {"cash_to_generate": 20000.0, "mccar_pct": 1.0},
    "deposit": {},
    "withdrawal": {"cash_to_generate": 15000.0},
}


def scenarios_from_tables(folder: Path, method: str, options: dict[str, Any]) -> dict[str, str]:
    """One scenario JSON per account, from the CSV files, in plain Python."""
    import csv

    def rows(name: str) -> list[dict[str, str]]:
        with (folder / f"{name}.csv").open() as f:
            return list(csv.DictReader(f))

    price_rows = rows("prices")
    prices = {r["symbol"]: float(r["price"]) for r in price_rows}
    classes = {r["symbol"]: r["sub_asset_class"] for r in price_rows}
    models: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows("models"):
        models[r["model_id"]].append(
            {
                "symbol": r["symbol"],
                "target_pct": float(r["target_pct"]),
                "min_pct": float(r["min_pct"]),
                "max_pct": float(r["max_pct"]),
                "sub_asset_class": classes[r["symbol"]],
            }
        )
    positions: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows("positions"):
        positions[r["account_id"]].append(
            {
                "symbol": r["symbol"],
                "quantity": float(r["quantity"]),
                "sub_asset_class": classes[r["symbol"]],
            }
        )
    out = {}
    for a in rows("accounts"):
        lines = models[a["model_id"]]
        used = {line["symbol"] for line in lines} | {
            p["symbol"] for p in positions[a["account_id"]]
        }
        out[a["account_id"]] = json.dumps(
            {
                "method": method,
                "options": options,
                "prices": {s: prices[s] for s in used},
                "model": {
                    "cash_pct": max(0.0, 100 - sum(line["target_pct"] for line in lines)),
                    "securities": lines,
                },
                "account": {
                    "id": a["account_id"],
                    "cash": float(a["cash"]),
                    "positions": positions[a["account_id"]],
                },
            }
        )
    return out


@pytest.mark.parametrize("method", sorted(METHODS))
@settings(max_examples=3)
@given(seed=st.integers(0, 10_000))
def test_every_account_gets_the_trades_propose_gives_it_alone(
    tmp_path_factory: pytest.TempPathFactory, seed: int, method: str
) -> None:
    folder = tmp_path_factory.mktemp("book")
    write_book(folder, demo_tables(DemoSpec(accounts=40, securities=60, models=5, seed=seed)))
    options = METHODS[method]
    loaded = read_book(folder)
    chosen, trade_options = batch_options(
        method=method,
        rounding="whole_shares",
        share_decimals=3,
        cash_to_generate=options.get("cash_to_generate"),
        mccar_pct=options.get("mccar_pct"),
        cash_to_invest=options.get("cash_to_invest"),
        min_trade_value=0.0,
    )
    assert isinstance(trade_options, TradeOptions)
    trade_options = with_book_classes(loaded, chosen, trade_options)
    trades, statuses = propose_tables(loaded, chosen, trade_options)
    batch: dict[str, list[tuple[str, str, float, float]]] = defaultdict(list)
    for r in trades.to_pylist():
        batch[r["account_id"]].append((r["symbol"], r["action"], r["quantity"], r["order_value"]))
    status = dict(
        zip(
            statuses.column("account_id").to_pylist(),
            statuses.column("status").to_pylist(),
            strict=True,
        )
    )
    for account_id, text in scenarios_from_tables(folder, method, options).items():
        alone = run_scenario(text)
        acct = alone["accounts"][0]
        single = [
            (t["symbol"], t["action"], t["quantity"], t["order_value"])
            for t in acct["trades"]
            if t["action"] != "none"
        ]
        assert sorted(batch[account_id]) == sorted(single), account_id
        assert status[account_id] == acct["status"]


def test_drift_table_matches_a_hand_worked_account(tmp_path: Path) -> None:
    """Drift of the Fidelity example account, worked by hand: largest drift 3 points (ORCL,
    MSFT), one security out of band (ORCL 28% > 27.5%; MSFT 17% < 18%: two)."""
    folder = tmp_path
    (folder / "prices.csv").write_text(
        "symbol,price\nFB,26.18\nORCL,38.46\nMSFT,37.60\nINTC,24.31\nCSCO,22.30\nAMAT,20\n"
    )
    (folder / "models.csv").write_text(
        "model_id,symbol,target_pct,min_pct,max_pct\n"
        "TECH,FB,25,22.5,27.5\nTECH,ORCL,25,22.5,27.5\nTECH,MSFT,20,18,22\n"
        "TECH,INTC,15,13.5,16.5\nTECH,CSCO,15,13.5,16.5\n"
    )
    (folder / "accounts.csv").write_text("account_id,model_id,cash\nA-1,TECH,0\nA-2,TECH,1000\n")
    (folder / "positions.csv").write_text(
        "account_id,symbol,quantity\n"
        "A-1,FB,1000\nA-1,ORCL,1000\nA-1,MSFT,500\nA-1,INTC,500\nA-1,CSCO,500\n"
        "A-2,AMAT,450\n"
    )
    table = drift_table(read_book(folder)).to_pylist()
    # 26,180 + 38,460 + 18,800 + 12,155 + 11,150 = 106,745.
    a1 = table[0]
    assert a1["value"] == pytest.approx(106745.0)
    # Weights: FB 24.5258, ORCL 36.0298 (+11.0298), MSFT 17.6121, INTC 11.3870, CSCO 10.4455.
    assert a1["max_drift_pct"] == pytest.approx(11.0298, abs=1e-4)
    # Out of band: ORCL above 27.5, MSFT below 18, INTC below 13.5, CSCO below 13.5.
    assert a1["out_of_band"] == 4 and a1["flagged"] is True
    # A-2 holds only AMAT (not in the model), 9,000 of 10,000: AMAT drifts 90 points from its
    # target of 0; it and all 5 unheld model lines are out of band.
    a2 = table[1]
    assert a2["value"] == pytest.approx(10000.0)
    assert a2["max_drift_pct"] == pytest.approx(90.0)
    assert a2["out_of_band"] == 6
