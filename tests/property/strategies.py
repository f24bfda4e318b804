"""Hypothesis strategies for scenarios: one account, a model, prices in whole cents."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

SYMBOLS = [f"S{i:02d}" for i in range(12)]


@st.composite
def scenarios(
    draw: st.DrawFn,
    method: str = "rebalance_to_target",
    fractional: bool = False,
) -> dict[str, Any]:
    """A valid scenario: 1–8 model lines, some non-model holdings, cash, bands around targets."""
    n_model = draw(st.integers(1, 8))
    symbols = draw(st.permutations(SYMBOLS))
    model_syms = symbols[:n_model]
    extra_syms = symbols[n_model : n_model + draw(st.integers(0, 3))]
    cash_pct = draw(st.sampled_from([0, 0, 1, 2.5]))
    raw = [draw(st.integers(1, 100)) for _ in model_syms]
    total = sum(raw)
    targets = [round(r * (100 - cash_pct) / total, 4) for r in raw]
    targets[0] = round(100 - cash_pct - sum(targets[1:]), 4)
    if targets[0] < 0:
        targets = [round((100 - cash_pct) / n_model, 4)] * n_model
        targets[0] = round(100 - cash_pct - sum(targets[1:]), 4)
    band = draw(st.sampled_from([0.0, 0.1, 0.2]))
    securities = [
        {
            "symbol": s,
            "target_pct": t,
            "min_pct": round(max(0.0, t * (1 - band)), 4),
            "max_pct": round(min(100.0, t * (1 + band)), 4),
        }
        for s, t in zip(model_syms, targets, strict=True)
    ]
    prices = {s: draw(st.integers(100, 50_000)) / 100 for s in model_syms + extra_syms}
    held = model_syms + extra_syms
    qty = (
        st.integers(0, 3000)
        if not fractional
        else st.integers(0, 3_000_000).map(lambda q: q / 1000)
    )
    positions = [
        {"symbol": s, "quantity": draw(qty)} for s in held if draw(st.booleans()) or s in extra_syms
    ]
    cash = draw(st.integers(0, 5_000_000)) / 100
    options: dict[str, Any] = {}
    if fractional:
        options.update(rounding="fractional", share_decimals=3)
    if method == "generate_cash":
        options["cash_to_generate"] = draw(st.integers(0, 20_000_000)) / 100
    return {
        "method": method,
        "options": options,
        "prices": prices,
        "model": {"name": "M", "cash_pct": cash_pct, "securities": securities},
        "account": {"id": "A", "cash": cash, "positions": positions},
    }


def value_of(scenario: dict[str, Any]) -> float:
    """Account value in dollars: cash plus quantity x price."""
    prices = scenario["prices"]
    account = scenario["account"]
    return float(account["cash"]) + sum(
        p["quantity"] * prices[p["symbol"]] for p in account["positions"]
    )
