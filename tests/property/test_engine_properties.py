"""Invariants of every trade logic, over random accounts (product brief, house style 9)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.factories import LOGICS_1_TO_6, run_doc
from tests.property.strategies import scenarios, value_of

METHODS = [*LOGICS_1_TO_6]


def propose(scenario: dict[str, Any]) -> dict[str, Any]:
    return run_doc(scenario)["accounts"][0]


def held(scenario: dict[str, Any]) -> dict[str, float]:
    return {p["symbol"]: p["quantity"] for p in scenario["account"]["positions"]}


def signed(line: dict[str, Any]) -> float:
    q = float(line["quantity"])
    return q if line["action"] == "buy" else -q if line["action"] == "sell" else 0.0


@pytest.mark.parametrize("method", METHODS)
@given(data=st.data())
def test_value_is_conserved_to_the_cent(method: str, data: st.DataObject) -> None:
    scenario = data.draw(scenarios(method))
    out = propose(scenario)
    before = held(scenario)
    after_value = out["cash_after"] + sum(
        (before.get(t["symbol"], 0.0) + signed(t)) * t["price"] for t in out["trades"]
    )
    # Whole shares at whole-cent prices: every order is exact in cents, so value is too.
    assert after_value == pytest.approx(value_of(scenario), abs=0.005)
    # The ledger: cash moves by exactly the orders' values.
    moved = sum(
        t["order_value"] * (1 if t["action"] == "buy" else -1)
        for t in out["trades"]
        if t["action"] != "none"
    )
    assert out["cash_after"] == pytest.approx(scenario["account"]["cash"] - moved, abs=1e-6)


@pytest.mark.parametrize("method", METHODS)
@given(data=st.data())
def test_no_negative_cash_or_holdings_and_nothing_sold_that_is_not_held(
    method: str, data: st.DataObject
) -> None:
    scenario = data.draw(scenarios(method, fractional=data.draw(st.booleans())))
    out = propose(scenario)
    before = held(scenario)
    assert out["cash_after"] >= 0
    for t in out["trades"]:
        if t["action"] == "sell":
            assert t["quantity"] <= before.get(t["symbol"], 0.0) + 1e-9
        assert before.get(t["symbol"], 0.0) + signed(t) >= -1e-9


@pytest.mark.parametrize("method", ["invest_cash_proportional", "invest_cash_min_trades"])
@given(data=st.data())
def test_invest_cash_never_sells(method: str, data: st.DataObject) -> None:
    out = propose(data.draw(scenarios(method)))
    assert all(t["action"] != "sell" for t in out["trades"])


@given(scenarios("generate_cash"))
def test_generate_cash_raises_at_least_the_amount_whenever_the_account_can(
    scenario: dict[str, Any],
) -> None:
    out = propose(scenario)
    amount = scenario["options"]["cash_to_generate"]
    if out["status"] == "failed":
        assert value_of(scenario) < amount + 0.005
        assert all(t["action"] == "none" for t in out["trades"])
    else:
        assert out["cash_after"] >= amount - 0.005
        assert all(t["action"] != "buy" for t in out["trades"])


@pytest.mark.parametrize("method", ["rebalance_to_tolerance", "rebalance_to_tolerance_oot_only"])
@given(data=st.data())
def test_tolerance_logics_bring_traded_securities_into_their_bands_when_funds_allow(
    method: str, data: st.DataObject
) -> None:
    scenario = data.draw(scenarios(method, fractional=True))
    assume(value_of(scenario) >= 1000)  # below a cent a trade is no trade
    out = propose(scenario)
    if out["status"] != "success" or any("trimmed" in t["reason"] for t in out["trades"]):
        return  # funds did not allow: the logic reports part success or trimmed buys
    value = out["value"]
    bands = {s["symbol"]: (s["min_pct"], s["max_pct"]) for s in scenario["model"]["securities"]}
    for t in out["trades"]:
        if t["action"] == "none":
            continue
        lo, hi = bands.get(t["symbol"], (0.0, 0.0))
        # Slack: one share unit of rounding, and half a cent per order of cents rounding.
        slack = 100 * (0.001 * t["price"] + 0.005 * len(out["trades"])) / value + 1e-4
        assert lo - slack <= t["weight_after_pct"] <= hi + slack, t


@st.composite
def on_target(draw: st.DrawFn, method: str) -> dict[str, Any]:
    """An account whose weights are exactly its model's targets (and cash its cash target)."""
    n = draw(st.integers(1, 6))
    prices = [draw(st.integers(100, 20000)) / 100 for _ in range(n)]
    qty = [draw(st.integers(1, 500)) for _ in range(n)]
    cash = draw(st.integers(0, 100_000)) / 100
    value = cash + sum(p * q for p, q in zip(prices, qty, strict=True))
    weights = [min(100.0, 100 * p * q / value) for p, q in zip(prices, qty, strict=True)]
    syms = [f"S{i}" for i in range(n)]
    options = {"cash_to_generate": 0} if method == "generate_cash" else {}
    return {
        "method": method,
        "options": options,
        "prices": dict(zip(syms, prices, strict=True)),
        "model": {
            "cash_pct": min(100.0, 100 * cash / value),
            "securities": [
                {"symbol": s, "target_pct": w, "min_pct": w, "max_pct": w}
                for s, w in zip(syms, weights, strict=True)
            ],
        },
        "account": {
            "id": "A",
            "cash": cash,
            "positions": [{"symbol": s, "quantity": q} for s, q in zip(syms, qty, strict=True)],
        },
    }


@pytest.mark.parametrize("method", METHODS)
@given(data=st.data())
def test_an_account_on_target_gets_no_trades(method: str, data: st.DataObject) -> None:
    out = propose(data.draw(on_target(method)))
    assert [t["action"] for t in out["trades"]] == ["none"] * len(out["trades"])
    assert out["status"] == "success"
