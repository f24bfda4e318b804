"""Invariants of every trade logic for accounts of random model, APM and protected sleeves,
with an equivalents group over some of their securities:

- the account's target (lines plus cash) adds up to 100% of its value;
- APM lines are in no equivalents group and keep the target the adviser entered (scaled by
  the sleeve's weight and the unprotected share of the account);
- no slot sells more than it holds or its rules allow, protected shares are never sold,
  nothing a rule forbids is bought;
- value is conserved to the cent and cash never goes below zero.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import LOGICS_1_TO_6, run_doc
from trimtab.core.engine import SOLVER_METHODS, propose
from trimtab.core.rules import apply_rules, settle
from trimtab.io.scenario import Scenario, parse_scenario
from trimtab.optimize import propose as solve

AS_OF = date(2026, 11, 23)
SYMBOLS = [f"S{i}" for i in range(6)]
METHODS = [
    *LOGICS_1_TO_6,
    "best_fit",
    "minimum_transaction",
]


def _split(draw: st.DrawFn, symbols: list[str], total: float) -> list[float]:
    """Percent targets for ``symbols`` adding up to ``total``."""
    weights = [draw(st.integers(1, 10)) for _ in symbols]
    out = [w * total / sum(weights) for w in weights]
    out[-1] = total - sum(out[:-1])
    return out


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    prices = {s: round(draw(st.floats(1.0, 300.0)), 2) for s in SYMBOLS}
    held = {s: draw(st.integers(0, 400)) for s in SYMBOLS}
    n_models = draw(st.integers(1, 3))
    apm = draw(st.booleans())
    weights = _split(draw, list(range(n_models + apm)), 100.0)
    sleeves: list[dict[str, Any]] = []
    for w in weights[:n_models]:
        chosen = draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=4, unique=True))
        cash_pct = draw(st.sampled_from([0, 0, 4]))
        securities = []
        for s, t in zip(chosen, _split(draw, chosen, 100.0 - cash_pct), strict=True):
            slack = draw(st.floats(0.0, 2.0))
            securities.append(
                {
                    "symbol": s,
                    "target_pct": t,
                    "min_pct": max(t - slack, 0.0),
                    "max_pct": min(t + slack, 100.0),
                }
            )
        sleeves.append(
            {
                "type": "model",
                "weight_pct": w,
                "model": {"cash_pct": cash_pct, "securities": securities},
            }
        )
    left = dict(held)
    protect = []
    for s in SYMBOLS:
        if left[s] > 0 and draw(st.integers(0, 4)) == 0:
            q = draw(st.integers(1, left[s]))
            protect.append({"symbol": s, "quantity": q})
            left[s] -= q
    if protect:
        sleeves.append({"type": "protected", "positions": protect})
    if apm:
        chosen = draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=3, unique=True))
        positions = []
        for s in SYMBOLS:
            if left[s] > 0 and draw(st.integers(0, 2)) == 0:
                positions.append({"symbol": s, "quantity": draw(st.integers(1, left[s]))})
        sleeves.append(
            {
                "type": "apm",
                "weight_pct": weights[-1],
                "targets": [
                    {"symbol": s, "target_pct": t}
                    for s, t in zip(chosen, _split(draw, chosen, 100.0), strict=True)
                ],
                "positions": positions,
            }
        )
    members = draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=3, unique=True))
    group = {
        "type": "equivalents",
        "members": [
            {"symbol": s, "behaviour": draw(st.sampled_from(["none", "buy_first", "do_not_buy"]))}
            for s in members
        ],
    }
    method = draw(st.sampled_from(METHODS))
    options: dict[str, Any] = {"rounding": draw(st.sampled_from(["whole_shares", "fractional"]))}
    if method == "generate_cash":
        options["cash_to_generate"] = draw(st.floats(0, 5000))
    return {
        "method": method,
        "as_of": str(AS_OF),
        "options": options,
        "prices": prices,
        "account": {
            "id": "A-1",
            "cash": draw(st.sampled_from([0.0, 800.0, 12000.0])),
            "positions": [{"symbol": s, "quantity": q} for s, q in held.items() if q > 0],
        },
        "restrictions": [group],
        "sleeves": sleeves,
    }


def _protected_share(scenario: Scenario) -> float:
    """The protected sleeves' value as a fraction of the account's."""
    batch = scenario.book.batch(0, 1)
    value = float(batch.cash[0] + batch.quantity[0] @ batch.price[0])
    rules = scenario.rules
    assert rules is not None
    prices = scenario.book.price
    kept = sum(q * float(prices[c]) for c, q in rules.protected.items())
    return kept / value if value > 0 else 0.0


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_sleeves_hold_in_every_logic(doc: dict[str, Any]) -> None:
    scenario = parse_scenario(json.dumps(doc))
    assert isinstance(scenario, Scenario)
    rules = scenario.rules
    assert rules is not None
    book = scenario.book
    batch = book.batch(0, 1)
    slots = book.slot_symbol[0:1]
    assert abs(batch.target[0].sum() + batch.cash_target[0] - 1.0) < 1e-9

    ruled = apply_rules(batch, slots, [rules], AS_OF)
    apm = np.isin(slots[0], list(scenario.apm_codes))
    if ruled.groups is not None:
        assert (ruled.groups.lead[0][apm] == -1).all()
    value = float(batch.cash[0] + (batch.quantity[0] * batch.price[0]).sum())
    if value > 0:
        rest = 1.0 - _protected_share(scenario)
        np.testing.assert_allclose(
            ruled.batch.target[0][apm], batch.target[0][apm] * rest, atol=1e-12
        )

    engine = solve if scenario.method in SOLVER_METHODS else propose
    result = engine(ruled.batch, scenario.method, scenario.options, groups=ruled.groups)
    result, _ = settle(result, ruled)
    q = result.quantity[0]
    assert np.all(batch.quantity[0] + q >= -1e-9)
    assert not np.any((q > 0) & ~ruled.batch.buy_allowed[0])  # nothing a rule forbids is bought
    assert np.all(-q <= ruled.batch.sell_limit[0] + 1e-9)  # nor sold past a rule's limit
    for code, shares in rules.protected.items():
        k = np.flatnonzero(slots[0] == code)
        assert -q[k].sum() <= batch.quantity[0, k].sum() - shares + 1e-9

    after = float(result.cash_after[0] + ((batch.quantity[0] + q) * batch.price[0]).sum())
    assert abs(after - value) <= 0.005 * np.count_nonzero(q) + 1e-9 * max(value, 1.0)
    assert result.cash_after[0] >= -1e-6

    # The proposal document marks exactly the APM lines.
    trades = run_doc(doc)["accounts"][0]["trades"]
    assert sum(t.get("sleeve") == "apm" for t in trades) == int(apm.sum())
