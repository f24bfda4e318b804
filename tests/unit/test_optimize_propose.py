"""``trimtab propose`` with best_fit and minimum_transaction: small accounts worked by hand."""

from __future__ import annotations

from typing import Any

from tests.factories import account_doc, run_doc, scenario_doc


def _scenario(method: str) -> dict[str, Any]:
    # V = $1,000 of A + $200 of B = $1,200; targets $600 each; bands $480-$720.
    return scenario_doc(
        method=method,
        prices={"A": 10.0, "B": 20.0},
        model=[("A", 50, 40, 60), ("B", 50, 40, 60)],
        account=account_doc({"A": 100, "B": 10}, id="X"),
    )


def _trades(doc: dict[str, Any]) -> dict[str, tuple[str, float]]:
    return {t["symbol"]: (t["action"], t["quantity"]) for t in doc["accounts"][0]["trades"]}


def test_best_fit_reaches_target() -> None:
    # Sell 40 A ($400) and buy 20 B ($400): both at $600, no deviation left.
    doc = run_doc(_scenario("best_fit"))
    assert doc["status"] == "success"
    assert _trades(doc) == {"A": ("sell", 40), "B": ("buy", 20)}
    assert doc["accounts"][0]["cash_after"] == 0.0


def test_minimum_transaction_stops_at_the_band_edges() -> None:
    # A down to its $720 maximum (sell 28), B up to its $480 minimum (buy 14): $560 traded.
    doc = run_doc(_scenario("minimum_transaction"))
    assert doc["status"] == "success"
    assert _trades(doc) == {"A": ("sell", 28), "B": ("buy", 14)}
    weights = {t["symbol"]: t["weight_after_pct"] for t in doc["accounts"][0]["trades"]}
    assert weights == {"A": 60.0, "B": 40.0}
