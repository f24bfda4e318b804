"""Model, APM and protected sleeves through ``trimtab propose`` (docs/rules.md, "Sleeves").

Unless a test says otherwise every price is $100 and the account is worth $100,000, so a
percent point is $1,000 and 10 shares. Expected trades are worked out by hand in the
docstrings.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from typing import Any

import pytest

from tests.factories import LOGICS_1_TO_6, ModelLine, account_doc, model_doc, run_doc, scenario_doc
from trimtab.errors import ScenarioError
from trimtab.io.scenario import parse_scenario

AS_OF = "2026-11-23"
PRICES = {s: 100.0 for s in "ABCD"}


def model(*lines: ModelLine) -> dict[str, Any]:
    return model_doc(lines)


def model_sleeve(weight: float, *lines: ModelLine) -> Any:
    return {"type": "model", "weight_pct": weight, "model": model(*lines)}


def apm_sleeve(weight: float, targets: dict[str, float], positions: dict[str, float]) -> Any:
    return {
        "type": "apm",
        "weight_pct": weight,
        "targets": [{"symbol": s, "target_pct": t} for s, t in targets.items()],
        "positions": [{"symbol": s, "quantity": q} for s, q in positions.items()],
    }


def scenario(holdings: dict[str, float], cash: float = 0.0, **more: Any) -> dict[str, Any]:
    return scenario_doc(prices=PRICES, account=account_doc(holdings, cash=cash), **more)


def lines(doc: dict[str, Any]) -> list[tuple[str, str, float, str]]:
    """(symbol, sleeve, action, quantity) of every line; sleeve "" outside the APM sleeve."""
    return [
        (t["symbol"], t.get("sleeve", ""), t["action"], t["quantity"])
        for t in doc["accounts"][0]["trades"]
    ]


def refused(doc: dict[str, Any]) -> str:
    with pytest.raises(ScenarioError) as err:
        parse_scenario(json.dumps(doc))
    return str(err.value)


def test_two_model_sleeves_blend_by_weight() -> None:
    """60% follows A 50 / B 50, 40% follows A 25 / C 75: A 40%, B 30%, C 30%. The account
    holds A $50,000 and B $50,000: sell 100 A and 200 B, buy 300 C."""
    doc = run_doc(
        scenario(
            {"A": 500, "B": 500},
            sleeves=[
                model_sleeve(60, ("A", 50), ("B", 50)),
                model_sleeve(40, ("A", 25), ("C", 75)),
            ],
        )
    )
    assert lines(doc) == [("A", "", "sell", 100), ("B", "", "sell", 200), ("C", "", "buy", 300)]
    targets = [t["target_pct"] for t in doc["accounts"][0]["trades"]]
    assert targets == [40.0, 30.0, 30.0]


def test_blended_sleeves_equal_the_blended_model() -> None:
    """Bands blend like targets: A [45, 55] at 60% and [20, 30] at 40% is [35, 45]; the
    proposal is the one of the single model with the blended lines."""
    holdings = {"A": 520, "B": 260, "C": 150}
    sleeves = [
        model_sleeve(60, ("A", 50, 45, 55), ("B", 50, 45, 55)),
        model_sleeve(40, ("A", 25, 20, 30), ("C", 75, 70, 80)),
    ]
    blended = model(("A", 40, 35, 45), ("B", 30, 27, 33), ("C", 30, 28, 32))
    for method in ("rebalance_to_target", "rebalance_to_tolerance", "invest_cash_proportional"):
        base = scenario(holdings, cash=7000.0, method=method)
        assert run_doc({**base, "sleeves": sleeves}) == run_doc({**base, "model": blended}), method


def test_one_model_sleeve_at_100_is_the_plain_model() -> None:
    base = scenario({"A": 700, "B": 300})
    plain = run_doc({**base, "model": model(("A", 50), ("B", 50))})
    assert plain == run_doc({**base, "sleeves": [model_sleeve(100, ("A", 50), ("B", 50))]})
    assert lines(plain) == [("A", "", "sell", 200), ("B", "", "buy", 200)]


def test_apm_line_is_not_netted_with_the_opposite_model_line() -> None:
    """Model sleeve 50% (A 40, B 60) gives A 20%, B 30%; APM sleeve 50% (A 60, C 40) gives
    APM A 30%, C 20%. The account's 500 A are 300 model + 200 APM: the model sells 100 A
    ($30,000 -> $20,000) while the APM sleeve buys 100 A ($20,000 -> $30,000)."""
    doc = run_doc(
        scenario(
            {"A": 500, "B": 300, "C": 200},
            sleeves=[
                model_sleeve(50, ("A", 40), ("B", 60)),
                apm_sleeve(50, {"A": 60, "C": 40}, {"A": 200, "C": 200}),
            ],
        )
    )
    assert lines(doc) == [
        ("A", "", "sell", 100),
        ("B", "", "none", 0),
        ("A", "apm", "buy", 100),
        ("C", "apm", "none", 0),
    ]
    account = doc["accounts"][0]
    assert account["cash_after"] == 0.0
    assert [t["target_pct"] for t in account["trades"]] == [20.0, 30.0, 30.0, 20.0]
    assert "sleeve" not in account["trades"][0]


def test_apm_holding_outside_its_targets_is_sold_model_shares_kept() -> None:
    """The APM sleeve (50%, C 100) holds 100 of the account's 600 B; the model sleeve (50%,
    A 50 / B 50) owns the other 500 B ($50,000 against a $25,000 target). The APM B are
    sold in full, the model sells 250 B; A buys 250 and APM C buys 400 (to $50,000)."""
    doc = run_doc(
        scenario(
            {"A": 0, "B": 600, "C": 100},
            cash=30000.0,
            sleeves=[
                model_sleeve(50, ("A", 50), ("B", 50)),
                apm_sleeve(50, {"C": 100}, {"B": 100, "C": 100}),
            ],
        )
    )
    assert lines(doc) == [
        ("A", "", "buy", 250),
        ("B", "", "sell", 250),
        ("C", "apm", "buy", 400),
        ("B", "apm", "sell", 100),
    ]
    assert "not in the model" in doc["accounts"][0]["trades"][3]["reason"]


def test_apm_lines_ignore_an_equivalents_group() -> None:
    """A and D are equivalents (D do not buy). Model sleeve 50% (A 40, B 60): A 20%, B 30%;
    APM sleeve 50% (D 60, C 40): D 30%, C 20%. Held: A $30,000, B $30,000, APM D $10,000,
    APM C $20,000, cash $10,000. The model sells 100 A; the APM sleeve buys 200 D although
    the group would neither buy D nor sell A to buy it."""
    group = {
        "type": "equivalents",
        "members": [{"symbol": "A"}, {"symbol": "D", "behaviour": "do_not_buy"}],
        "start_date": "2026-11-01",
    }
    sleeves = [
        model_sleeve(50, ("A", 40), ("B", 60)),
        apm_sleeve(50, {"D": 60, "C": 40}, {"D": 100, "C": 200}),
    ]
    doc = run_doc(
        scenario(
            {"A": 300, "B": 300, "C": 200, "D": 100},
            cash=10000.0,
            as_of=AS_OF,
            restrictions=[group],
            sleeves=sleeves,
        )
    )
    got = {(s, sleeve): (a, q) for s, sleeve, a, q in lines(doc)}
    assert got[("A", "")] == ("sell", 100)
    assert got[("D", "apm")] == ("buy", 200)
    assert got[("C", "apm")] == ("none", 0)
    apm_d = next(t for t in doc["accounts"][0]["trades"] if t.get("sleeve") and t["symbol"] == "D")
    assert "equivalent" not in apm_d["reason"]
    assert doc["accounts"][0]["cash_after"] == 0.0
    # Without sleeves the group trades as one: its $10,000 below target buys nothing (D may
    # not be bought, A is its only other member and is not sold to buy D).
    plain = run_doc(
        scenario(
            {"A": 300, "B": 300, "C": 200, "D": 100},
            cash=10000.0,
            as_of=AS_OF,
            restrictions=[group],
            model=model(("A", 20), ("B", 30), ("D", 30), ("C", 20)),
        )
    )
    assert ("A", "", "sell", 100) not in lines(plain)


def test_exclusion_still_acts_on_an_apm_line() -> None:
    """C excluded (liquidate immediately): the APM sleeve's 200 C are sold and not bought
    back, as the model sleeve's would be."""
    exclusion = {
        "type": "exclusion",
        "symbol": "C",
        "behaviour": "liquidate_immediately",
        "start_date": "2026-11-01",
    }
    doc = run_doc(
        scenario(
            {"A": 500, "B": 300, "C": 200},
            as_of=AS_OF,
            restrictions=[exclusion],
            sleeves=[
                model_sleeve(50, ("A", 40), ("B", 60)),
                apm_sleeve(50, {"A": 60, "C": 40}, {"A": 200, "C": 200}),
            ],
        )
    )
    got = {(s, sleeve): (a, q) for s, sleeve, a, q in lines(doc)}
    assert got[("C", "apm")] == ("sell", 200)


def test_locks_and_trading_limits_reach_apm_lines() -> None:
    """The APM sleeve of test_apm_line_is_not_netted_with_the_opposite_model_line holds 100
    B outside its targets (the account 400 B). An elective lock on B keeps those 100 B
    unsold; C sold in this account 10 days ago (30-day window) is not bought: APM C stays
    at 100 shares."""
    sleeves = [
        model_sleeve(50, ("A", 40), ("B", 60)),
        apm_sleeve(50, {"A": 60, "C": 40}, {"A": 200, "B": 100, "C": 100}),
    ]
    sold_c = {
        "account": "ACC-1",
        "symbol": "C",
        "action": "sell",
        "date": "2026-11-13",
        "quantity": 5,
    }
    doc = run_doc(
        scenario(
            {"A": 500, "B": 400, "C": 100},
            as_of=AS_OF,
            sleeves=sleeves,
            locks=[{"type": "elective", "symbol": "B"}],
            transactions=[sold_c],
            short_term_windows={"C": 30},
        )
    )
    got = {(s, sleeve): (a, q) for s, sleeve, a, q in lines(doc)}
    assert got[("B", "apm")] == ("none", 0)
    assert got[("C", "apm")] == ("none", 0)
    apm = {t["symbol"]: t["reason"] for t in doc["accounts"][0]["trades"] if t.get("sleeve")}
    assert "elective" in apm["B"]
    assert "short-term" in apm["C"]
    assert doc["status"] == "part_success"


def test_reallocated_exclusion_leaves_apm_targets_as_entered() -> None:
    """B excluded with reallocate: its 30% go pro rata to the other model line A (20% ->
    50%), not to the APM lines, which keep 30% (A) and 20% (C)."""
    exclusion = {
        "type": "exclusion",
        "symbol": "B",
        "replacement": "reallocate",
        "behaviour": "liquidate_immediately",
        "start_date": "2026-11-01",
    }
    doc = run_doc(
        scenario(
            {"A": 500, "B": 300, "C": 200},
            as_of=AS_OF,
            restrictions=[exclusion],
            sleeves=[
                model_sleeve(50, ("A", 40), ("B", 60)),
                apm_sleeve(50, {"A": 60, "C": 40}, {"A": 200, "C": 200}),
            ],
        )
    )
    rule_targets = {
        (t["symbol"], t.get("sleeve", "")): t["rule_target_pct"]
        for t in doc["accounts"][0]["trades"]
    }
    assert rule_targets == {("A", ""): 50.0, ("B", ""): 0.0, ("A", "apm"): 30.0, ("C", "apm"): 20.0}
    assert lines(doc) == [
        ("A", "", "buy", 200),
        ("B", "", "sell", 300),
        ("A", "apm", "buy", 100),
        ("C", "apm", "none", 0),
    ]


def test_sleeve_weights_share_the_unprotected_value() -> None:
    """100 of 600 A protected ($10,000, P = 10%). Model sleeve 50% (A 50, B 50) and APM
    sleeve 50% (C 100) share the other $90,000: A 50% x 50% x 0.9 + 10% = 32.5%, B 22.5%,
    APM C 45%. Sell 275 A ($60,000 -> $32,500) and 75 B; the APM sleeve buys 350 C."""
    doc = run_doc(
        scenario(
            {"A": 600, "B": 300, "C": 100},
            as_of=AS_OF,
            sleeves=[
                {"type": "protected", "positions": [{"symbol": "A", "quantity": 100}]},
                model_sleeve(50, ("A", 50), ("B", 50)),
                apm_sleeve(50, {"C": 100}, {"C": 100}),
            ],
        )
    )
    assert lines(doc) == [("A", "", "sell", 275), ("B", "", "sell", 75), ("C", "apm", "buy", 350)]
    trades = doc["accounts"][0]["trades"]
    assert [t["rule_target_pct"] for t in trades] == [32.5, 22.5, 45.0]
    assert "protected sleeve" in trades[0]["reason"]


def test_protected_sleeve_alone_is_unchanged() -> None:
    """The protected-only scenario of tests/unit/test_rules.py: A 55%, B 27%, C 18%."""
    doc = run_doc(
        scenario(
            {"A": 600, "B": 300, "C": 100},
            as_of=AS_OF,
            model=model(("A", 50, 45, 55), ("B", 30, 27, 33), ("C", 20, 18, 22)),
            sleeves=[{"type": "protected", "positions": [{"symbol": "A", "quantity": 100}]}],
        )
    )
    assert lines(doc) == [("A", "", "sell", 50), ("B", "", "sell", 30), ("C", "", "buy", 80)]


@pytest.mark.parametrize(
    "method",
    LOGICS_1_TO_6,
)
def test_value_is_conserved_to_the_cent(method: str) -> None:
    """Odd prices, cash, two model sleeves and an APM sleeve: the ledger balances to the cent,
    cash never goes below zero and the weights after add up to the account."""
    prices = {"A": 37.61, "B": 24.31, "C": 112.07, "D": 8.93}
    doc = scenario(
        {"A": 713, "B": 1200, "C": 160, "D": 2100},
        cash=4321.17,
        method=method,
        sleeves=[
            model_sleeve(45, ("A", 50, 45, 55), ("B", 50, 45, 55)),
            model_sleeve(25, ("B", 30, 25, 35), ("C", 70, 65, 75)),
            apm_sleeve(30, {"D": 40, "A": 50, "C": 10}, {"D": 900, "A": 113}),
        ],
    )
    doc["prices"] = prices
    if method == "generate_cash":
        doc["options"] = {"cash_to_generate": 15000}
    account = run_doc(doc)["accounts"][0]
    value = 4321.17 + 713 * 37.61 + 1200 * 24.31 + 160 * 112.07 + 2100 * 8.93
    assert account["value"] == round(value, 2)
    signed = sum((-1 if t["action"] == "buy" else 1) * t["order_value"] for t in account["trades"])
    assert account["cash_after"] == round(4321.17 + signed, 2)
    assert account["cash_after"] >= 0
    after = sum(t["weight_after_pct"] for t in account["trades"])
    assert math.isclose(after + 100 * account["cash_after"] / value, 100.0, abs_tol=1e-2)
    assert any(t.get("sleeve") == "apm" for t in account["trades"])


def test_cli_writes_two_lines_for_one_symbol(tmp_path: Any) -> None:
    path = tmp_path / "s.json"
    path.write_text(
        json.dumps(
            scenario(
                {"A": 500, "B": 300, "C": 200},
                sleeves=[
                    model_sleeve(50, ("A", 40), ("B", 60)),
                    apm_sleeve(50, {"A": 60, "C": 40}, {"A": 200, "C": 200}),
                ],
            )
        )
    )
    done = subprocess.run(
        [sys.executable, "-c", "from trimtab.cli import main; main()", "propose", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    trades = json.loads(done.stdout)["accounts"][0]["trades"]
    assert [(t["symbol"], t["action"], t.get("sleeve")) for t in trades if t["symbol"] == "A"] == [
        ("A", "sell", None),
        ("A", "buy", "apm"),
    ]


def test_table_marks_the_apm_lines() -> None:
    import io

    from rich.console import Console

    from trimtab.tables import print_proposal

    out = io.StringIO()
    doc = run_doc(scenario(HELD, sleeves=SLEEVES_OK))
    print_proposal(doc, Console(file=out, width=160))
    rows = [r for r in out.getvalue().splitlines() if " A " in r or "A (APM)" in r]
    assert len(rows) == 2
    assert "Sell" in rows[0] and "(APM)" not in rows[0]
    assert "A (APM)" in rows[1] and "Buy" in rows[1]


# Bad input: exit 2 naming the field.

SLEEVES_OK = [
    model_sleeve(50, ("A", 40), ("B", 60)),
    apm_sleeve(50, {"A": 60, "C": 40}, {"A": 200, "C": 200}),
]
HELD = {"A": 500, "B": 300, "C": 200}


def test_weights_not_adding_to_100_are_refused() -> None:
    sleeves = [SLEEVES_OK[0], {**SLEEVES_OK[1], "weight_pct": 40}]
    assert refused(scenario(HELD, sleeves=sleeves)) == (
        "sleeves: weight_pct of the model and apm sleeves must sum to 100, got 90"
    )


def test_apm_quantity_above_the_shares_held_is_refused() -> None:
    sleeves = [SLEEVES_OK[0], apm_sleeve(50, {"C": 100}, {"C": 201})]
    assert refused(scenario(HELD, sleeves=sleeves)) == (
        "sleeves[1].positions[0].quantity: more than the 200 shares of 'C' held"
    )


def test_shares_across_sleeves_above_the_position_are_refused() -> None:
    protected = {"type": "protected", "positions": [{"symbol": "C", "quantity": 50}]}
    sleeves = [protected, *SLEEVES_OK]
    assert refused(scenario(HELD, as_of=AS_OF, sleeves=sleeves)) == (
        "sleeves[2].positions[1].quantity: more than the 200 shares of 'C' held"
    )


def test_apm_shares_of_a_security_not_held_are_refused() -> None:
    sleeves = [SLEEVES_OK[0], apm_sleeve(50, {"C": 100}, {"D": 1})]
    assert refused(scenario(HELD, sleeves=sleeves)) == (
        "sleeves[1].positions[0].quantity: more than the 0 shares of 'D' held"
    )


def test_unknown_sleeve_type_is_refused() -> None:
    sleeves = [{**SLEEVES_OK[0], "type": "index"}, SLEEVES_OK[1]]
    assert refused(scenario(HELD, sleeves=sleeves)) == (
        "sleeves[0].type: must be one of model, apm, protected, got 'index'"
    )
    untyped = {k: v for k, v in SLEEVES_OK[0].items() if k != "type"}
    assert refused(scenario(HELD, sleeves=[untyped, SLEEVES_OK[1]])) == (
        "sleeves[0].type: required field is missing"
    )


def test_negative_weight_is_refused() -> None:
    sleeves = [{**SLEEVES_OK[0], "weight_pct": -10}, SLEEVES_OK[1]]
    assert refused(scenario(HELD, sleeves=sleeves)) == (
        "sleeves[0].weight_pct: must be between 0 and 100, got -10"
    )
    apm = {**SLEEVES_OK[1], "weight_pct": -50}
    assert refused(scenario(HELD, sleeves=[SLEEVES_OK[0], apm])) == (
        "sleeves[1].weight_pct: must be between 0 and 100, got -50"
    )


def test_duplicate_symbol_in_one_sleeve_is_refused() -> None:
    model_dup = model_sleeve(50, ("A", 40), ("A", 60))
    assert refused(scenario(HELD, sleeves=[model_dup, SLEEVES_OK[1]])) == (
        "sleeves[0].model.securities[1].symbol: duplicate symbol 'A' (also securities[0])"
    )
    apm_targets = {
        **SLEEVES_OK[1],
        "targets": [{"symbol": "C", "target_pct": 50}, {"symbol": "C", "target_pct": 50}],
    }
    assert refused(scenario(HELD, sleeves=[SLEEVES_OK[0], apm_targets])) == (
        "sleeves[1].targets[1].symbol: duplicate symbol 'C' in the sleeve (also targets[0])"
    )
    apm_positions = {
        **SLEEVES_OK[1],
        "positions": [{"symbol": "C", "quantity": 1}, {"symbol": "C", "quantity": 2}],
    }
    assert refused(scenario(HELD, sleeves=[SLEEVES_OK[0], apm_positions])) == (
        "sleeves[1].positions[1].symbol: duplicate symbol 'C' in the sleeve (also positions[0])"
    )
    protected = {
        "type": "protected",
        "positions": [{"symbol": "A", "quantity": 1}, {"symbol": "A", "quantity": 2}],
    }
    assert refused(scenario(HELD, as_of=AS_OF, model=model(("A", 100)), sleeves=[protected])) == (
        "sleeves[0].positions[1].symbol: duplicate symbol 'A' in the sleeve (also positions[0])"
    )


def test_other_malformed_sleeves_are_refused() -> None:
    both = scenario(HELD, model=model(("A", 100)), sleeves=SLEEVES_OK)
    assert refused(both) == (
        "model: not with model or apm sleeves (sleeves[0]): give the model as a model sleeve"
    )
    assert refused(scenario(HELD)) == "model: required field is missing"
    two_apm = [apm_sleeve(50, {"C": 100}, {}), apm_sleeve(50, {"A": 100}, {})]
    assert refused(scenario(HELD, sleeves=two_apm)) == (
        "sleeves[1].type: at most one apm sleeve per account"
    )
    short = [SLEEVES_OK[0], apm_sleeve(50, {"C": 90}, {})]
    assert refused(scenario(HELD, sleeves=short)) == (
        "sleeves[1].targets: target_pct plus cash_pct must sum to 100, got 90"
    )
    unpriced = [SLEEVES_OK[0], apm_sleeve(50, {"C": 50, "Z": 50}, {})]
    assert refused(scenario(HELD, sleeves=unpriced)) == (
        "sleeves[1].targets[1].symbol: no price for 'Z' in prices"
    )
    unpriced_model = [model_sleeve(50, ("Z", 100)), SLEEVES_OK[1]]
    assert refused(scenario(HELD, sleeves=unpriced_model)) == (
        "sleeves[0].model.securities[0].symbol: no price for 'Z' in prices"
    )
    stray = [{**SLEEVES_OK[0], "nickname": "core"}, SLEEVES_OK[1]]
    assert refused(scenario(HELD, sleeves=stray)) == "sleeves[0].nickname: unknown field"
    bad_line = [model_sleeve(50, ("A", 140)), SLEEVES_OK[1]]
    assert refused(scenario(HELD, sleeves=bad_line)) == (
        "sleeves[0].model.securities[0].target_pct: must be between 0 and 100, got 140"
    )


def test_bad_sleeve_exits_2_naming_the_field(tmp_path: Any) -> None:
    path = tmp_path / "s.json"
    sleeves = [SLEEVES_OK[0], {**SLEEVES_OK[1], "weight_pct": 40}]
    path.write_text(json.dumps(scenario(HELD, sleeves=sleeves)))
    done = subprocess.run(
        [sys.executable, "-c", "from trimtab.cli import main; main()", "propose", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "trimtab: sleeves: weight_pct of the model and apm sleeves must sum to 100, got 90"
    )


def test_apm_shares_of_a_security_without_a_price_are_refused() -> None:
    """An APM position in a security neither held nor priced is refused like any other
    sleeve position above the shares held (not a crash)."""
    sleeves = [SLEEVES_OK[0], apm_sleeve(50, {"C": 100}, {"C": 200, "Z": 1})]
    assert refused(scenario(HELD, sleeves=sleeves)) == (
        "sleeves[1].positions[1].quantity: more than the 0 shares of 'Z' held"
    )


def test_apm_shares_of_a_position_with_lots_are_refused() -> None:
    """Which lots are the APM sleeve's is not known: its sales would escape lot locks and
    gains, so an APM sleeve may not hold shares of a position given by lots."""
    doc = scenario({"B": 300, "C": 200}, sleeves=SLEEVES_OK, as_of=AS_OF)
    doc["account"]["positions"].append(
        {"symbol": "A", "lots": [{"quantity": 500, "cost_basis": 75_000, "acquired": "2026-06-01"}]}
    )
    assert refused(doc) == (
        "sleeves[1].positions[0].symbol: the position in 'A' is given by tax lots: an APM "
        "sleeve cannot hold shares of it (which lots are the sleeve's is not known)"
    )


def test_a_loss_sale_is_not_bought_back_on_the_apm_twin() -> None:
    """A held as one lot of 500 at $150 a share (price $100). The model sleeve (50%) wants A
    at 40% of it: $20,000 of the $50,000 held, so it sells 300 A at a $15,000 loss. The APM
    sleeve (50%, holding C only) wants A at 60% of it: $30,000, 300 A. Buying them back in
    the same proposal would be a wash sale: the APM buy is refused and says so."""
    doc = scenario(
        {"B": 300, "C": 200},
        sleeves=[SLEEVES_OK[0], apm_sleeve(50, {"A": 60, "C": 40}, {"C": 200})],
        as_of=AS_OF,
    )
    doc["account"]["positions"].insert(
        0,
        {
            "symbol": "A",
            "lots": [{"quantity": 500, "cost_basis": 75_000, "acquired": "2026-06-01"}],
        },
    )
    out = run_doc(doc)
    got = lines(out)
    assert ("A", "", "sell", 300) in got
    assert ("A", "apm", "none", 0) in got
    apm_a = next(
        t for t in out["accounts"][0]["trades"] if t["symbol"] == "A" and t.get("sleeve") == "apm"
    )
    assert "wash sale" in apm_a["reason"]
    assert out["accounts"][0]["status"] == "part_success"


@pytest.mark.parametrize(("weight_at_end", "in_force"), [(20.0, True), (25.0, False)])
def test_a_waiting_exclusion_lapses_on_the_apm_line_with_the_model_line(
    weight_at_end: float, in_force: bool
) -> None:
    """An exclusion of A (liquidate immediately) ended on 2026-06-01, waiting for A's next
    weight change. A's account target from the model sleeve is 50% x 40% = 20%; the APM
    line's own target is 50% x 60% = 30%. Whether the restriction is still in force is
    decided once, from the model line's weight: at 20 both A lines are liquidated (300 model
    shares and the APM sleeve's 200); at 25 it has lapsed on both (A to 20% and 30%)."""
    restriction = {
        "type": "exclusion",
        "symbol": "A",
        "behaviour": "liquidate_immediately",
        "start_date": "2026-01-01",
        "end_date": "2026-06-01",
        "end_action": "wait_for_weight_change",
        "weight_at_end_pct": weight_at_end,
    }
    doc = scenario(HELD, sleeves=SLEEVES_OK, restrictions=[restriction], as_of=AS_OF)
    got = {(sym, sleeve): (action, qty) for sym, sleeve, action, qty in lines(run_doc(doc))}
    if in_force:
        assert got[("A", "")] == ("sell", 300)
        assert got[("A", "apm")] == ("sell", 200)
    else:
        assert got[("A", "")] == ("sell", 100)  # 300 held outside the APM sleeve -> 200
        assert got[("A", "apm")] == ("buy", 100)  # 200 -> 300
