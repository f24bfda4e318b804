"""The worked examples of the Fidelity rebalancing document (seed 003), typed from its tables.

Each expected number below is copied from the document: dollar trades, rounded shares,
statuses and messages. End weights after rounding are worked out by hand from the
document's share counts and prices (e.g. FB: 27,000 − 76 x 26.18 = 25,010.32 → 25.01032%).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import model_doc, positions_doc, run_doc, scenario_doc

PRICES = {"FB": 26.18, "ORCL": 38.46, "MSFT": 37.60, "INTC": 24.31, "CSCO": 22.30}
TECH = [  # symbol, target, min, max: "The model contains the following securities"
    ("FB", 25, 22.5, 27.5),
    ("ORCL", 25, 22.5, 27.5),
    ("MSFT", 20, 18, 22),
    ("INTC", 15, 13.5, 16.5),
    ("CSCO", 15, 13.5, 16.5),
]
TECH_NARROW = [  # the tolerance examples' model: MSFT 19–21, INTC 14–16
    ("FB", 25, 22.5, 27.5),
    ("ORCL", 25, 22.5, 27.5),
    ("MSFT", 20, 19, 21),
    ("INTC", 15, 14, 16),
    ("CSCO", 15, 13.5, 16.5),
]
HOLDINGS = {"FB": 27000, "ORCL": 28000, "MSFT": 17000, "INTC": 12500, "CSCO": 15500}


def scenario(
    method: str,
    model: list[tuple[str, float, float, float]],
    holdings: dict[str, float],
    cash: float = 0.0,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The account holds ``holdings`` as dollars (market values) by symbol."""
    return scenario_doc(
        method=method,
        options=options or {},
        prices=PRICES,
        model=model_doc(model, name="Technology Stocks"),
        account={
            "id": "A-1",
            "cash": cash,
            "positions": positions_doc(holdings, by="market_value"),
        },
    )


def lines(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["symbol"]: t for t in doc["accounts"][0]["trades"]}


def check(doc: dict[str, Any], expected: dict[str, tuple[str, float, int]]) -> None:
    got = lines(doc)
    assert list(got) == ["FB", "ORCL", "MSFT", "INTC", "CSCO"]  # model order
    for symbol, (action, dollars, shares) in expected.items():
        line = got[symbol]
        assert line["action"] == action, symbol
        if action != "none":
            assert line["trade_value"] == pytest.approx(dollars, abs=0.005), symbol
            assert line["quantity"] == shares, symbol
            assert line["order_value"] == pytest.approx(shares * PRICES[symbol], abs=0.005)


def test_rebalance_to_target() -> None:
    doc = run_doc(scenario("rebalance_to_target", TECH, HOLDINGS))
    check(
        doc,
        {
            "FB": ("sell", 2000, 76),
            "ORCL": ("sell", 3000, 78),
            "MSFT": ("buy", 3000, 79),
            "INTC": ("buy", 2500, 102),
            "CSCO": ("sell", 500, 22),
        },
    )
    assert doc["status"] == "success"
    got = lines(doc)
    # Hand-worked: proceeds 1,989.68 + 2,999.88 + 490.60; buys 2,970.40 + 2,479.62.
    assert doc["accounts"][0]["cash_after"] == pytest.approx(30.14, abs=0.001)
    assert got["FB"]["weight_after_pct"] == pytest.approx(25.0103, abs=1e-4)
    assert got["MSFT"]["weight_after_pct"] == pytest.approx(19.9704, abs=1e-4)


def test_rebalance_to_tolerance_standard() -> None:
    doc = run_doc(scenario("rebalance_to_tolerance", TECH_NARROW, HOLDINGS))
    check(
        doc,
        {
            "FB": ("sell", 500, 19),
            "ORCL": ("sell", 3000, 78),
            "MSFT": ("buy", 2000, 53),
            "INTC": ("buy", 1500, 61),
            "CSCO": ("none", 0, 0),
        },
    )
    assert doc["status"] == "success"
    got = lines(doc)
    # The document's end table is in dollars before rounding: FB 26.5%, ORCL 25%, MSFT 19%,
    # INTC 14%, CSCO 15.5%; after rounding FB = 27,000 − 19 x 26.18 = 26,502.58.
    assert got["FB"]["weight_after_pct"] == pytest.approx(26.50258, abs=1e-4)
    assert got["CSCO"]["weight_after_pct"] == pytest.approx(15.5, abs=1e-9)
    assert "rising tide" in got["FB"]["reason"]


def test_rebalance_to_tolerance_out_of_tolerance_only() -> None:
    doc = run_doc(scenario("rebalance_to_tolerance_oot_only", TECH_NARROW, HOLDINGS))
    check(
        doc,
        {
            "FB": ("none", 0, 0),
            "ORCL": ("sell", 3500, 91),
            "MSFT": ("buy", 2000, 53),
            "INTC": ("buy", 1500, 61),
            "CSCO": ("none", 0, 0),
        },
    )
    got = lines(doc)
    # ORCL ends at 24.5% before rounding; 28,000 − 91 x 38.46 = 24,500.14 after.
    assert got["ORCL"]["weight_after_pct"] == pytest.approx(24.50014, abs=1e-4)
    assert got["FB"]["weight_after_pct"] == pytest.approx(27.0, abs=1e-9)


def test_invest_cash_buy_proportional() -> None:
    doc = run_doc(scenario("invest_cash_proportional", TECH, HOLDINGS, cash=5000))
    got = lines(doc)
    assert got["FB"]["action"] == got["ORCL"]["action"] == "none"
    assert got["MSFT"]["trade_value"] == pytest.approx(2666.67, abs=0.005)
    assert got["INTC"]["trade_value"] == pytest.approx(2166.67, abs=0.005)
    assert got["CSCO"]["trade_value"] == pytest.approx(166.67, abs=0.005)
    assert doc["accounts"][0]["value"] == 105000
    assert doc["status"] == "part_success"
    assert doc["messages"] == [
        "There is not enough cash available to buy all securities up to their targets. "
        "Partial results are available."
    ]
    # End % before rounding per the document: MSFT 18.73%, INTC 13.97%, CSCO 14.92%;
    # rounded shares floor(2,666.67 / 37.60) = 70, floor(2,166.67 / 24.31) = 89, 7.
    assert [got[s]["quantity"] for s in ("MSFT", "INTC", "CSCO")] == [70, 89, 7]
    assert got["MSFT"]["weight_after_pct"] == pytest.approx(
        100 * (17000 + 70 * 37.6) / 105000, abs=1e-4
    )


def test_invest_cash_minimize_trades() -> None:
    doc = run_doc(scenario("invest_cash_min_trades", TECH, HOLDINGS, cash=5000))
    got = lines(doc)
    assert got["MSFT"]["trade_value"] == pytest.approx(4000, abs=0.005)
    assert got["INTC"]["trade_value"] == pytest.approx(1000, abs=0.005)
    assert [got[s]["action"] for s in ("FB", "ORCL", "CSCO")] == ["none"] * 3
    assert doc["status"] == "part_success"
    assert "not enough cash" in doc["messages"][0]


def test_generate_cash_rising_tide() -> None:
    holdings = {"FB": 27000, "ORCL": 31000, "MSFT": 17000, "INTC": 12000, "CSCO": 13000}
    doc = run_doc(scenario("generate_cash", TECH, holdings, options={"cash_to_generate": 10000}))
    check(
        doc,
        {
            "FB": ("sell", 3000, 115),  # 3,000 / 26.18 = 114.59, rounded up
            "ORCL": ("sell", 7000, 183),  # 7,000 / 38.46 = 182.01, rounded up
            "MSFT": ("none", 0, 0),
            "INTC": ("none", 0, 0),
            "CSCO": ("none", 0, 0),
        },
    )
    assert doc["status"] == "success"
    # 115 x 26.18 + 183 x 38.46 = 3,010.70 + 7,038.18: at least the amount is raised.
    assert doc["accounts"][0]["cash_after"] == pytest.approx(10048.88, abs=0.001)


def test_generate_cash_fails_when_the_account_cannot_cover() -> None:
    doc = run_doc(scenario("generate_cash", TECH, HOLDINGS, options={"cash_to_generate": 150000}))
    assert doc["status"] == "failed"
    assert all(t["action"] == "none" for t in doc["accounts"][0]["trades"])
    assert doc["messages"] == ["The account cannot cover the cash to generate."]
