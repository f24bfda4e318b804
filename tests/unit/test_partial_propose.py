"""``trimtab propose`` with deposit and withdrawal, and the sub-asset-class drift field."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import positions_doc, run_doc, scenario_doc

MODEL = {
    "securities": [
        {"symbol": "A", "target_pct": 50, "sub_asset_class": "Large Growth"},
        {"symbol": "B", "target_pct": 50, "sub_asset_class": "Core Bonds"},
    ]
}


def _run(method: str, account: dict[str, Any], **options: float) -> dict[str, Any]:
    return run_doc(
        scenario_doc(
            method=method,
            options=options,
            prices={"A": 100.0, "B": 50.0},
            model=MODEL,
            account={"id": "X", **account},
        )
    )


def test_withdrawal_turns_into_a_full_rebalance() -> None:
    # A $80,000, B $20,000. Selling $10,000 of A would leave A 27.8 points over on the
    # $90,000 left, so: full rebalance to $45,000 each, sell 350 A, buy 500 B.
    doc = _run(
        "withdrawal",
        {"positions": [{"symbol": "A", "quantity": 800}, {"symbol": "B", "quantity": 400}]},
        cash_to_generate=10_000,
    )
    account = doc["accounts"][0]
    trades = {t["symbol"]: (t["action"], t["quantity"]) for t in account["trades"]}
    assert trades == {"A": ("sell", 350), "B": ("buy", 500)}
    assert account["cash_after"] == 10_000.0
    assert account["sub_asset_class_drift_before_pct"] == {
        "Core Bonds": -30.0,
        "Large Growth": 30.0,
    }
    assert account["sub_asset_class_drift_pct"] == pytest.approx(
        {"Core Bonds": 0.0, "Large Growth": 0.0}
    )


def test_deposit_invests_above_the_sweep() -> None:
    # V = $100,000: A $50,000, B $40,000, cash $10,000. Sweep $700: $9,300 buys 186 B at $50.
    doc = _run(
        "deposit",
        {
            "cash": 10_000,
            "positions": [{"symbol": "A", "quantity": 500}, {"symbol": "B", "quantity": 800}],
        },
    )
    account = doc["accounts"][0]
    trades = {t["symbol"]: (t["action"], t["quantity"]) for t in account["trades"]}
    assert trades == {"A": ("none", 0), "B": ("buy", 186)}
    assert account["cash_after"] == 700.0


@pytest.mark.parametrize(("held_class", "bonds_drift"), [("Core Bonds", 0.0), (None, -20.0)])
def test_a_holding_outside_the_model_counts_in_the_class_its_position_gives(
    held_class: str | None, bonds_drift: float
) -> None:
    # V = $100,000: A $50,000 (Large Growth, target 50%), B $30,000 (Core Bonds, target 50%)
    # and C $20,000, not in the model. Given as Core Bonds, C fills the class's 20-point gap.
    position: dict[str, Any] = {"symbol": "C", "quantity": 200}
    if held_class is not None:
        position["sub_asset_class"] = held_class
    doc = run_doc(
        scenario_doc(
            method="withdrawal",
            options={"cash_to_generate": 1_000},
            prices={"A": 100.0, "B": 50.0, "C": 100.0},
            model=MODEL,
            account={"id": "X", "positions": [*positions_doc({"A": 500, "B": 600}), position]},
        )
    )
    assert doc["accounts"][0]["sub_asset_class_drift_before_pct"] == {
        "Core Bonds": bonds_drift,
        "Large Growth": 0.0,
    }
