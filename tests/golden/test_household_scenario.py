"""``trimtab propose`` on the seed's household example (``003_…``), end to end.

Expected weights are typed from the seed's tables (initial and pro-rated weights) and the
final household weights the seed's pairs lead to (every model symbol at 20%, AMAT at 0%).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.factories import household_doc, run_doc
from trimtab.errors import ScenarioError

MODEL = {
    "name": "Seed household model",
    "securities": [
        {"symbol": s, "target_pct": 20, "min_pct": 15, "max_pct": 25}
        for s in ("IBM", "MSFT", "GE", "HD", "GOOG")
    ],
}
PRICES = {"IBM": 125, "MSFT": 40, "GE": 32, "HD": 100, "GOOG": 250, "AMAT": 20}
ACCOUNTS = [
    {"id": "A", "positions": [
        {"symbol": "IBM", "quantity": 6400}, {"symbol": "MSFT", "quantity": 5000},
        {"symbol": "GE", "quantity": 21875}, {"symbol": "HD", "quantity": 23000},
        {"symbol": "GOOG", "quantity": 4000}]},
    {"id": "B", "positions": [
        {"symbol": "IBM", "quantity": 2400}, {"symbol": "MSFT", "quantity": 35000},
        {"symbol": "GE", "quantity": 15625}, {"symbol": "GOOG", "quantity": 3200}]},
    {"id": "C", "positions": [
        {"symbol": "IBM", "quantity": 1200}, {"symbol": "MSFT", "quantity": 27500},
        {"symbol": "GE", "quantity": 3125}, {"symbol": "GOOG", "quantity": 200},
        {"symbol": "AMAT", "quantity": 30000}]},
]  # fmt: skip


def _scenario(**changes: Any) -> dict[str, Any]:
    return {**household_doc(ACCOUNTS, prices=PRICES, model=MODEL), **changes}


def test_household_reaches_the_model_with_values_unchanged() -> None:
    doc = run_doc(_scenario())
    assert doc["status"] == "success"
    hh = doc["household"]
    assert hh["id"] == "H-1"
    assert hh["weights_before_pct"] == pytest.approx(
        {"IBM": 12.5, "MSFT": 27, "GE": 13, "HD": 23, "GOOG": 18.5, "AMAT": 6}
    )
    assert hh["weights_after_pct"] == pytest.approx(
        {"IBM": 20, "MSFT": 20, "GE": 20, "HD": 20, "GOOG": 20, "AMAT": 0}
    )
    accounts = {a["id"]: a for a in doc["accounts"]}
    assert {k: a["value"] for k, a in accounts.items()} == {
        "A": 5_000_000,
        "B": 3_000_000,
        "C": 2_000_000,
    }
    for a in accounts.values():
        after = sum(t["weight_after_pct"] for t in a["trades"])
        assert after == pytest.approx(100.0)
        assert a["cash_after"] == 0.0
    trades = [t for a in accounts.values() for t in a["trades"] if t["action"] != "none"]
    assert len(trades) <= 9
    before = {(k, t["symbol"]): t["weight_before_pct"] for k, a in accounts.items()
              for t in a["trades"]}  # fmt: skip
    assert before[("A", "HD")] == pytest.approx(46)
    assert before[("B", "MSFT")] == pytest.approx(46.667, abs=1e-3)
    assert before[("C", "AMAT")] == pytest.approx(30)


def test_household_only_with_household_rebalance() -> None:
    with pytest.raises(ScenarioError, match="household"):
        run_doc(_scenario(method="rebalance_to_target"))
    single = {"method": "household_rebalance", "prices": PRICES, "model": MODEL,
              "account": ACCOUNTS[0]}  # fmt: skip
    with pytest.raises(ScenarioError, match=r"^account: household_rebalance takes household"):
        run_doc(single)


def test_household_position_errors_name_the_account() -> None:
    bad = copy.deepcopy(_scenario())
    bad["household"]["accounts"][1]["positions"][0] = {"symbol": "IBM"}
    with pytest.raises(ScenarioError, match=r"^household\.accounts\[1\]\.positions\[0\]"):
        run_doc(bad)
