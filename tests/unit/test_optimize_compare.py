"""The comparison report across logics for one account, worked by hand."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from trimtab.cli import app

# V = $1,200: A 100 x $10, B 10 x $20; targets 50% ($600), bands 40%-60% ($480-$720).
SCENARIO = {
    "method": "rebalance_to_target",
    "prices": {"A": 10.0, "B": 20.0},
    "model": {
        "securities": [
            {"symbol": "A", "target_pct": 50, "min_pct": 40, "max_pct": 60},
            {"symbol": "B", "target_pct": 50, "min_pct": 40, "max_pct": 60},
        ]
    },
    "account": {
        "id": "X",
        "positions": [{"symbol": "A", "quantity": 100}, {"symbol": "B", "quantity": 10}],
    },
}


def test_compare_flag_reports_each_logic(tmp_path: Path) -> None:
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(SCENARIO))
    result = CliRunner().invoke(app, ["propose", "--compare", str(path)])
    assert result.exit_code == 0, result.output
    rows = {r["method"]: r for r in json.loads(result.output)["compare"]}
    # Best Fit and rebalance to target: sell 40 A, buy 20 B ($800), nothing left off target.
    for method in ("best_fit", "rebalance_to_target"):
        assert rows[method]["turnover"] == 800.0
        assert rows[method]["deviation_after"] == 0.0
    # Rebalance to tolerance: A to target (sell $400), B to its minimum (buy 14, $280):
    # $680 traded, B $120 under target and $120 cash over its 0% target.
    assert rows["rebalance_to_tolerance"]["turnover"] == 680.0
    assert rows["rebalance_to_tolerance"]["deviation_after"] == 240.0
    assert rows["rebalance_to_tolerance"]["cash_after"] == 120.0
    # Minimum Transaction: A to its maximum (sell 28, $280), B to its minimum (buy 14, $280).
    mt = rows["minimum_transaction"]
    assert (mt["turnover"], mt["deviation_after"], mt["max_drift_after_pct"]) == (
        560.0,
        240.0,
        10.0,
    )
    assert all(r["realized_gain"] == 0.0 and r["trades"] == 2 for r in rows.values())
    assert all(r["out_of_band_after"] == 0 for r in rows.values())
