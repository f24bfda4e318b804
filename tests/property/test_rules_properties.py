"""Invariants of every trade logic under random restrictions, locks, lots and history.

- nothing is bought that a rule forbids (exclusions, do-not-buy, wash sales, short term);
- nothing locked or protected is sold, and no sale relieves a locked lot or a loss lot in a
  wash window;
- an equivalents group never sells one member while buying another;
- value is conserved to the cent and cash never goes below zero.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import LOGICS_1_TO_6
from tests.reference.lots import eligible_lots, lot_locks
from trimtab.core.engine import SOLVER_METHODS, propose
from trimtab.core.rules import apply_rules, apply_slot_rules, realize, settle, slot_rules
from trimtab.io.scenario import parse_scenario
from trimtab.optimize import propose as solve

AS_OF = date(2026, 11, 23)
SYMBOLS = [f"S{i}" for i in range(7)]
METHODS = [
    *LOGICS_1_TO_6,
    "deposit",
    "withdrawal",
    "best_fit",
    "minimum_transaction",
]
BEHAVIOURS = ["hold", "liquidate_immediately", "liquidate_as_needed"]
MEMBER = ["none", "buy_first", "do_not_sell", "do_not_buy", "do_not_trade"]


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    order = draw(st.permutations(SYMBOLS))
    prices = {s: draw(st.floats(1.0, 400.0)).__round__(2) for s in SYMBOLS}
    n_model = draw(st.integers(2, 4))
    weights = [draw(st.integers(1, 10)) for _ in range(n_model)]
    cash_pct = draw(st.sampled_from([0, 0, 5]))
    scale = (100 - cash_pct) / sum(weights)
    targets = [w * scale for w in weights]
    targets[-1] = 100 - cash_pct - sum(targets[:-1])
    securities = []
    for s, t in zip(order[:n_model], targets, strict=True):
        slack = draw(st.floats(0.0, 3.0))
        securities.append(
            {
                "symbol": s,
                "target_pct": t,
                "min_pct": max(t - slack, 0),
                "max_pct": min(t + slack, 100),
            }
        )
    positions = []
    for s in draw(st.lists(st.sampled_from(SYMBOLS), unique=True, max_size=6)):
        if draw(st.booleans()):
            positions.append({"symbol": s, "quantity": draw(st.integers(0, 500))})
            continue
        lots = []
        for i in range(draw(st.integers(1, 3))):
            q = draw(st.integers(1, 200))
            basis = draw(st.one_of(st.none(), st.floats(0.5, 500.0).map(lambda p, q=q: p * q)))
            days = draw(st.integers(1, 900))
            lots.append(
                {
                    "lot_id": f"{s}-{i}",
                    "quantity": q,
                    "cost_basis": basis,
                    "acquired": str(AS_OF - timedelta(days=days)),
                }
            )
        positions.append({"symbol": s, "lots": lots})
    free = list(order)
    restrictions: list[dict[str, Any]] = []
    if draw(st.booleans()):
        restrictions.append(
            {
                "type": "exclusion",
                "symbol": free.pop(),
                "behaviour": draw(st.sampled_from(BEHAVIOURS)),
                "replacement": draw(st.sampled_from(["hold_cash", "reallocate"])),
                "start_date": "2026-01-01",
            }
        )
    substitute = None
    if draw(st.booleans()):
        substitute = free.pop()
        restrictions.append(
            {
                "type": "substitution",
                "symbol": free.pop(),
                "substitute": substitute,
                "behaviour": draw(st.sampled_from(BEHAVIOURS)),
                "start_date": "2026-01-01",
            }
        )
    if draw(st.booleans()):
        size = draw(st.integers(1, 3))
        members = [free.pop() for _ in range(size)]
        if substitute is not None and draw(st.booleans()):
            members.append(substitute)
        restrictions.append(
            {
                "type": "equivalents",
                "members": [
                    {"symbol": m, "behaviour": draw(st.sampled_from(MEMBER))} for m in members
                ],
            }
        )
    locks: list[dict[str, Any]] = []
    if draw(st.booleans()):
        locks.append({"type": "gain"})
    for s in draw(st.lists(st.sampled_from(SYMBOLS), unique=True, max_size=2)):
        locks.append(
            {"type": draw(st.sampled_from(["elective", "cost_basis_unlock"])), "symbol": s}
        )
    transactions = [
        {
            "account": draw(st.sampled_from(["A-1", "A-2"])),
            "symbol": draw(st.sampled_from(SYMBOLS)),
            "action": draw(st.sampled_from(["buy", "sell"])),
            "date": str(AS_OF - timedelta(days=draw(st.integers(0, 45)))),
            "quantity": 1,
            "realized_gain": draw(st.sampled_from([None, -100.0, 100.0])),
        }
        for _ in range(draw(st.integers(0, 4)))
    ]
    sleeves: list[dict[str, Any]] = []
    protect = []
    for pos in positions:
        held = pos.get("quantity") or sum(lot["quantity"] for lot in pos.get("lots") or [])
        if held > 0 and draw(st.integers(0, 3)) == 0:
            protect.append({"symbol": pos["symbol"], "quantity": draw(st.integers(1, held))})
    if protect:
        sleeves.append({"type": "protected", "positions": protect})
    method = draw(st.sampled_from(METHODS))
    options: dict[str, Any] = {
        "min_trade_value": draw(st.sampled_from([0, 100])),
        "rounding": draw(st.sampled_from(["whole_shares", "fractional"])),
    }
    if method in ("generate_cash", "withdrawal"):
        options["cash_to_generate"] = draw(st.floats(0, 20000))
    return {
        "method": method,
        "as_of": str(AS_OF),
        "options": options,
        "prices": prices,
        "model": {"cash_pct": cash_pct, "securities": securities},
        "account": {
            "id": "A-1",
            "registration": draw(st.sampled_from(["qualified", "non_qualified"])),
            "cash": draw(st.sampled_from([0.0, 500.0, 25000.0])),
            "positions": positions,
            "lot_method": draw(st.sampled_from(["fifo", "lifo", "hifo", "minimum_tax"])),
        },
        "restrictions": restrictions,
        "locks": locks,
        "transactions": transactions,
        "short_term_windows": {s: 30 for s in SYMBOLS[:3]},
        "sleeves": sleeves,
    }


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_rules_hold_in_every_logic(doc: dict[str, Any]) -> None:
    scenario = parse_scenario(json.dumps(doc))
    rules = scenario.rules
    assert rules is not None
    book = scenario.book
    batch = book.batch(0, 1)
    slots = book.slot_symbol[0:1]
    ruled = apply_rules(batch, slots, [rules], AS_OF)
    cached = apply_slot_rules(
        batch, slot_rules(slots, [rules], AS_OF, batch.target).prepared().rows(0, 1)
    )
    np.testing.assert_array_equal(cached.batch.sell_limit, ruled.batch.sell_limit)
    np.testing.assert_array_equal(cached.rule_reason, ruled.rule_reason)
    source = cached.rules.lots.source  # prepared lots are in relief order
    assert source is not None
    np.testing.assert_array_equal(cached.lot_eligible, ruled.lot_eligible[source])
    engine = solve if scenario.method in SOLVER_METHODS else propose
    result = engine(ruled.batch, scenario.method, scenario.options, groups=ruled.groups)
    result, _ = settle(result, ruled)
    q = result.quantity[0]
    rb = ruled.batch

    # Nothing bought that a rule forbids; nothing sold beyond what rules leave sellable.
    assert not (q[~rb.buy_allowed[0]] > 0).any()
    assert (-q <= rb.sell_limit[0] + 1e-9).all()
    for code in rules.elective_locks:
        assert not (q[slots[0] == code] < 0).any()
    for code, shares in rules.protected.items():
        k = int(np.flatnonzero(slots[0] == code)[0])
        assert -q[k] <= batch.quantity[0, k] - shares + 1e-9
    for code in rules.wash_buy_blocked(AS_OF) | rules.short_term_blocked(AS_OF):
        assert not (q[slots[0] == code] > 0).any()

    # Lots relieved are eligible ones: no gain-locked, missing-basis or wash-window lot.
    for (_, k), sale in realize(result, ruled, AS_OF).items():
        code = int(slots[0, k])
        lots = rules.lots[code]
        ok, _ = eligible_lots(lots, float(rb.price[0, k]), lot_locks(rules, code, AS_OF))
        allowed = {lot.lot_id for lot, e in zip(lots, ok, strict=True) if e}
        assert all(r.lot_id in allowed for r in sale.reliefs)
        assert abs(sum(r.quantity for r in sale.reliefs) + q[k]) < 1e-6

    # An equivalents group never sells one member to buy another.
    if ruled.groups is not None:
        lead = ruled.groups.lead[0]
        for g in set(lead[lead >= 0].tolist()):
            members = q[lead == g]
            assert not ((members > 0).any() and (members < 0).any())

    # Value conserved to the cent: each order value is its shares x price to the cent.
    value = float(batch.cash[0] + (batch.quantity[0] * batch.price[0]).sum())
    after = float(result.cash_after[0] + ((batch.quantity[0] + q) * batch.price[0]).sum())
    assert abs(after - value) <= 0.005 * np.count_nonzero(q) + 1e-9 * max(value, 1.0)
    assert result.cash_after[0] >= -1e-6
    assert np.all(batch.quantity[0] + q >= -1e-9)
