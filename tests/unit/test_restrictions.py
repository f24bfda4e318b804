"""Exclusions, substitutions and equivalents groups through ``trimtab propose``.

Every security is priced $100 so that dollars and shares read off each other; the account
is worth $100,000. Expected trades are worked out by hand in each test's docstring.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import account_doc, run_doc, scenario_doc

PRICES = {"A": 100.0, "B": 100.0, "C": 100.0, "D": 100.0}
MODEL = [("A", 50, 45, 55), ("B", 30, 27, 33), ("C", 20, 18, 22)]
AS_OF = "2026-11-23"


def run(
    holdings: dict[str, float],
    restrictions: list[dict[str, Any]] | None = None,
    *,
    method: str = "rebalance_to_target",
    cash: float = 0.0,
    model: list[tuple[str, float, float, float]] | None = None,
    **more: Any,
) -> dict[str, Any]:
    """Run one scenario: ``holdings`` are shares by symbol."""
    doc = scenario_doc(
        method=method,
        prices=PRICES,
        model=model or MODEL,
        account=account_doc(holdings, id="A-1", cash=cash),
        **{"as_of": AS_OF, "restrictions": restrictions or [], **more},
    )
    return run_doc(doc)


def trades(doc: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """Action and shares by symbol."""
    return {t["symbol"]: (t["action"], t["quantity"]) for t in doc["accounts"][0]["trades"]}


def line(doc: dict[str, Any], symbol: str) -> dict[str, Any]:
    return next(t for t in doc["accounts"][0]["trades"] if t["symbol"] == symbol)


def exclusion(symbol: str, behaviour: str, replacement: str = "hold_cash", **more: Any) -> dict:
    return {
        "type": "exclusion",
        "symbol": symbol,
        "behaviour": behaviour,
        "replacement": replacement,
        "start_date": "2026-11-01",
        **more,
    }


def substitution(symbol: str, substitute: str, behaviour: str, **more: Any) -> dict:
    return {
        "type": "substitution",
        "symbol": symbol,
        "substitute": substitute,
        "behaviour": behaviour,
        "start_date": "2026-11-01",
        **more,
    }


def group(*members: tuple[str, str], **more: Any) -> dict:
    return {
        "type": "equivalents",
        "members": [{"symbol": s, "behaviour": b} for s, b in members],
        **more,
    }


AT_TARGET = {"A": 500, "B": 300, "C": 200}


def test_no_restrictions_at_target_trades_nothing() -> None:
    assert trades(run(AT_TARGET)) == {"A": ("none", 0), "B": ("none", 0), "C": ("none", 0)}


def test_exclusion_hold_cash_liquidate_immediately() -> None:
    """C's 20% goes to cash: sell all 200 C; cash after $20,000; A and B stay at target."""
    doc = run(AT_TARGET, [exclusion("C", "liquidate_immediately")])
    assert trades(doc) == {"A": ("none", 0), "B": ("none", 0), "C": ("sell", 200)}
    assert doc["accounts"][0]["cash_after"] == 20000.0
    assert "liquidate immediately" in line(doc, "C")["reason"]
    assert "hold cash" in line(doc, "C")["reason"]


def test_liquidated_by_an_exclusion_reads_as_the_exclusion_not_as_a_non_model_sale() -> None:
    """C is sold in full by the "sell non-model" step because the exclusion liquidates it;
    its reason names the exclusion only. D, outside the model and unrestricted, is still
    "not in the model"."""
    doc = run({**AT_TARGET, "D": 10}, [exclusion("C", "liquidate_immediately")])
    assert trades(doc)["C"] == ("sell", 200)
    assert trades(doc)["D"] == ("sell", 10)
    assert line(doc, "C")["reason"] == (
        "excluded, liquidate immediately: sold in full; "
        "excluded, hold cash: its target weight goes to cash"
    )
    assert line(doc, "D")["reason"] == "not in the model: sold in full"


def test_liquidated_by_a_substitution_reads_as_the_substitution() -> None:
    doc = run(AT_TARGET, [substitution("C", "D", "liquidate_immediately")])
    assert line(doc, "C")["reason"] == (
        "excluded, liquidate immediately: sold in full; "
        "replaced by its substitute (substitution restriction)"
    )


def test_exclusion_reallocate_pro_rata_cash_target_unchanged() -> None:
    """C's 20 points go to A and B pro rata 50:30: A 62.5%, B 37.5%; sell 200 C, buy 125 A
    and 75 B; cash stays 0."""
    doc = run(AT_TARGET, [exclusion("C", "liquidate_immediately", "reallocate")])
    assert trades(doc) == {"A": ("buy", 125), "B": ("buy", 75), "C": ("sell", 200)}
    assert line(doc, "A")["rule_target_pct"] == 62.5
    assert line(doc, "B")["rule_target_pct"] == 37.5
    assert doc["accounts"][0]["cash_after"] == 0.0


def test_exclusion_hold_existing_at_target_trades_nothing() -> None:
    doc = run(AT_TARGET, [exclusion("C", "hold")])
    assert trades(doc) == {"A": ("none", 0), "B": ("none", 0), "C": ("none", 0)}
    assert "hold existing shares" in line(doc, "C")["reason"]


def test_exclusion_hold_existing_above_target_shrinks_the_others() -> None:
    """C frozen at 30%; A and B (50 + 30) scale by 70/80: A 43.75%, B 26.25%. A $40,000 ->
    buy $3,750 = 37 shares; B $30,000 -> sell $3,750 = 37 shares; C not sold."""
    doc = run({"A": 400, "B": 300, "C": 300}, [exclusion("C", "hold")])
    assert trades(doc) == {"A": ("buy", 37), "B": ("sell", 37), "C": ("none", 0)}
    assert line(doc, "A")["rule_target_pct"] == 43.75


def test_exclusion_hold_existing_below_target_is_not_bought() -> None:
    """C at 10% frozen, the other 10 points to cash: A 55% -> 50% sell 50; B 35% -> 30%
    sell 50; cash after $10,000; C not bought."""
    doc = run({"A": 550, "B": 350, "C": 100}, [exclusion("C", "hold")])
    assert trades(doc) == {"A": ("sell", 50), "B": ("sell", 50), "C": ("none", 0)}
    assert doc["accounts"][0]["cash_after"] == 10000.0


def test_exclusion_liquidate_as_needed_sells_down_to_target() -> None:
    """C at 30% is sold to its 20% target (100 shares); the proceeds buy 100 A."""
    doc = run({"A": 400, "B": 300, "C": 300}, [exclusion("C", "liquidate_as_needed")])
    assert trades(doc) == {"A": ("buy", 100), "B": ("none", 0), "C": ("sell", 100)}
    assert "liquidate as needed" in line(doc, "C")["reason"]


def test_exclusion_liquidate_as_needed_is_never_bought() -> None:
    """C at 10% keeps a 10% target; its other 10 points go to cash: sell 50 A and 50 B."""
    doc = run({"A": 550, "B": 350, "C": 100}, [exclusion("C", "liquidate_as_needed")])
    assert trades(doc) == {"A": ("sell", 50), "B": ("sell", 50), "C": ("none", 0)}


def test_exclusion_blocks_buys_in_invest_cash() -> None:
    """$20,000 cash, C empty and excluded: A and B at target, C not bought, cash left over."""
    doc = run(
        {"A": 500, "B": 300},
        [exclusion("C", "liquidate_as_needed")],
        method="invest_cash_proportional",
        cash=20000,
    )
    assert trades(doc)["C"] == ("none", 0)
    assert doc["accounts"][0]["cash_after"] == 20000.0


def test_substitution_liquidate_immediately_buys_the_substitute() -> None:
    doc = run(AT_TARGET, [substitution("C", "D", "liquidate_immediately")])
    assert trades(doc) == {
        "A": ("none", 0),
        "B": ("none", 0),
        "C": ("sell", 200),
        "D": ("buy", 200),
    }
    assert "substitute" in line(doc, "D")["reason"]


def test_substitution_hold_existing_buys_the_rest_in_the_substitute() -> None:
    """C at 10% frozen; D gets the other 10 points: sell 50 A, 50 B; buy 100 D."""
    doc = run({"A": 550, "B": 350, "C": 100}, [substitution("C", "D", "hold")])
    assert trades(doc) == {
        "A": ("sell", 50),
        "B": ("sell", 50),
        "C": ("none", 0),
        "D": ("buy", 100),
    }


def test_substitution_liquidate_as_needed() -> None:
    """C at 10% keeps 10%; D gets 10 points: sell 50 A, 50 B, buy 100 D; C not bought."""
    doc = run({"A": 550, "B": 350, "C": 100}, [substitution("C", "D", "liquidate_as_needed")])
    assert trades(doc)["C"] == ("none", 0)
    assert trades(doc)["D"] == ("buy", 100)


def test_restriction_not_yet_started_has_no_effect() -> None:
    doc = run(AT_TARGET, [exclusion("C", "liquidate_immediately", start_date="2026-12-01")])
    assert trades(doc)["C"] == ("none", 0)


def test_end_action_rebalance_immediately_ends_on_the_end_date() -> None:
    ended = exclusion(
        "C", "liquidate_immediately", end_date=AS_OF, end_action="rebalance_immediately"
    )
    assert trades(run(AT_TARGET, [ended]))["C"] == ("none", 0)
    running = {**ended, "end_date": "2026-11-24"}
    assert trades(run(AT_TARGET, [running]))["C"] == ("sell", 200)


def test_end_action_wait_holds_until_the_model_weight_changes() -> None:
    """Ended on 2026-11-20 with C's weight then 20%: still 20% today, so still in force;
    with 15% recorded at the end, the model has changed since, so it has lapsed."""
    waiting = exclusion(
        "C",
        "liquidate_immediately",
        end_date="2026-11-20",
        end_action="wait_for_weight_change",
        weight_at_end_pct=20,
    )
    assert trades(run(AT_TARGET, [waiting]))["C"] == ("sell", 200)
    changed = {**waiting, "weight_at_end_pct": 15}
    assert trades(run(AT_TARGET, [changed]))["C"] == ("none", 0)
    unknown = {k: v for k, v in waiting.items() if k != "weight_at_end_pct"}
    assert trades(run(AT_TARGET, [unknown]))["C"] == ("sell", 200)


def test_equivalents_buy_first_member_is_bought() -> None:
    """Group B (30%) + D: B holds 20%, $10,000 cash: the group buys $10,000 of D."""
    doc = run(
        {"A": 500, "B": 200, "C": 200},
        [group(("B", "none"), ("D", "buy_first"))],
        cash=10000,
    )
    assert trades(doc) == {"A": ("none", 0), "B": ("none", 0), "C": ("none", 0), "D": ("buy", 100)}
    assert "buy first" in line(doc, "D")["reason"]


def test_equivalents_model_member_bought_first_without_behaviours() -> None:
    doc = run({"A": 500, "B": 200, "C": 200}, [group(("B", "none"), ("D", "none"))], cash=10000)
    assert trades(doc)["B"] == ("buy", 100)
    assert trades(doc)["D"] == ("none", 0)


def test_equivalents_non_model_member_sold_first() -> None:
    """Group at 40% vs 30%: the $10,000 comes from D (outside the model), A buys 100."""
    doc = run({"A": 400, "B": 300, "C": 200, "D": 100}, [group(("B", "none"), ("D", "none"))])
    assert trades(doc) == {
        "A": ("buy", 100),
        "B": ("none", 0),
        "C": ("none", 0),
        "D": ("sell", 100),
    }


def test_equivalents_buy_first_member_sold_last() -> None:
    """D (buy first) would go first as a non-model holding; buy first sends B first."""
    doc = run({"A": 400, "B": 200, "C": 200, "D": 200}, [group(("B", "none"), ("D", "buy_first"))])
    assert trades(doc)["B"] == ("sell", 100)
    assert trades(doc)["D"] == ("none", 0)


def test_equivalents_do_not_sell() -> None:
    doc = run(
        {"A": 400, "B": 200, "C": 200, "D": 200}, [group(("B", "none"), ("D", "do_not_sell"))]
    )
    assert trades(doc)["B"] == ("sell", 100)
    assert trades(doc)["D"] == ("none", 0)


def test_equivalents_do_not_buy() -> None:
    doc = run(
        {"A": 500, "B": 200, "C": 200}, [group(("B", "do_not_buy"), ("D", "none"))], cash=10000
    )
    assert trades(doc)["B"] == ("none", 0)
    assert trades(doc)["D"] == ("buy", 100)


def test_equivalents_do_not_trade_in_a_group_of_one() -> None:
    """C at 30% may not be sold: nothing funds A's shortfall; part success, rule named."""
    doc = run({"A": 400, "B": 300, "C": 300}, [group(("C", "do_not_trade"))])
    assert trades(doc) == {"A": ("none", 0), "B": ("none", 0), "C": ("none", 0)}
    assert doc["status"] == "part_success"
    assert "do not sell" in line(doc, "C")["reason"]
    assert any("Restrictions, locks or tax rules" in m for m in doc["messages"])


def test_group_of_one_ignores_buy_first() -> None:
    doc = run({"A": 400, "B": 300, "C": 300}, [group(("C", "buy_first"))])
    assert trades(doc) == {"A": ("buy", 100), "B": ("none", 0), "C": ("sell", 100)}
    assert "buy first" not in line(doc, "C")["reason"]


def test_equivalents_never_sell_one_member_to_buy_another() -> None:
    """B (30% target) is empty, D (outside the model) holds 30%: as a group it is at target."""
    holdings = {"A": 500, "C": 200, "D": 300}
    plain = trades(run(holdings))
    assert plain["D"] == ("sell", 300)
    assert plain["B"] == ("buy", 300)
    grouped = trades(run(holdings, [group(("B", "none"), ("D", "none"))]))
    assert all(action == "none" for action, _ in grouped.values())


def test_equivalents_in_force_through_the_end_date_only() -> None:
    holdings = {"A": 500, "C": 200, "D": 300}
    on_end = group(("B", "none"), ("D", "none"), end_date=AS_OF)
    assert trades(run(holdings, [on_end]))["D"] == ("none", 0)
    expired = group(("B", "none"), ("D", "none"), end_date="2026-11-22")
    assert trades(run(holdings, [expired]))["D"] == ("sell", 300)


@pytest.mark.parametrize("method", ["rebalance_to_tolerance", "rebalance_to_tolerance_oot_only"])
def test_equivalents_group_band_in_tolerance_logics(method: str) -> None:
    """Group B + D: band 27-33%. B 20% + D 10% = 30%: in band, no trade at all."""
    doc = run(
        {"A": 500, "B": 200, "C": 200, "D": 100},
        [group(("B", "none"), ("D", "none"))],
        method=method,
    )
    assert all(action == "none" for action, _ in trades(doc).values())


def test_rebalance_due_when_a_restriction_ends_with_rebalance_immediately() -> None:
    from datetime import date

    from trimtab.core.restrictions import Behaviour, EndAction, Exclusion, rebalance_due

    ends = Exclusion(
        symbol=0,
        behaviour=Behaviour.HOLD,
        start=date(2026, 1, 1),
        end=date(2026, 11, 23),
        end_action=EndAction.REBALANCE,
    )
    waits = Exclusion(
        symbol=1,
        behaviour=Behaviour.HOLD,
        start=date(2026, 1, 1),
        end=date(2026, 11, 23),
        end_action=EndAction.WAIT_FOR_WEIGHT_CHANGE,
    )
    assert rebalance_due((ends,), date(2026, 11, 20), date(2026, 11, 23))
    assert not rebalance_due((ends,), date(2026, 11, 23), date(2026, 11, 24))
    assert not rebalance_due((waits,), date(2026, 11, 20), date(2026, 11, 23))


def test_generate_cash_takes_a_groups_share_from_its_non_model_member_first() -> None:
    """$10,000 from an account at target: adjusted targets A 45%, group B+D 27%, C 18%;
    the tide sells each excess exactly: A $5,000, group $3,000 (from D, outside the model,
    before B), C $2,000."""
    doc = run(
        {"A": 500, "B": 200, "C": 200, "D": 100},
        [group(("B", "none"), ("D", "none"))],
        method="generate_cash",
        options={"cash_to_generate": 10000},
    )
    assert trades(doc) == {
        "A": ("sell", 50),
        "B": ("none", 0),
        "C": ("sell", 20),
        "D": ("sell", 30),
    }
    assert doc["accounts"][0]["cash_after"] == 10000.0


def test_substitution_moves_the_band_in_tolerance_logics() -> None:
    """B -> D, liquidate immediately: B (300 shares) is sold; D takes B's 27-33% band and,
    empty, is bought up to its minimum: $27,000 = 270 shares; $3,000 stays in cash."""
    doc = run(
        AT_TARGET,
        [substitution("B", "D", "liquidate_immediately")],
        method="rebalance_to_tolerance",
    )
    assert trades(doc) == {
        "A": ("none", 0),
        "B": ("sell", 300),
        "C": ("none", 0),
        "D": ("buy", 270),
    }
    assert doc["accounts"][0]["cash_after"] == 3000.0
