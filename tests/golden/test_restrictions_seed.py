"""The example of seed 001 ("Multiple Trade Restrictions"), with numbers worked out by hand.

"A Substitution Restriction exists on an account, naming GOOG as a substitute for AAPL. The
same account also has an Equivalent Securities group of two securities: GOOG and GOOGL. The
account is invested in a model that holds AAPL." The account may hold GOOG, GOOGL or both,
depending on the group's behaviours and legacy holdings; naming GOOG as the substitute
gives it no preference inside the group.

Figures: AAPL, MSFT, GOOG and GOOGL at $100; model AAPL 40%, MSFT 60%; the account holds
400 AAPL and 600 MSFT ($100,000).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import account_doc, run_doc, scenario_doc

PRICES = {"AAPL": 100.0, "MSFT": 100.0, "GOOG": 100.0, "GOOGL": 100.0}


def seed_example(goog: str, googl: str, holdings: dict[str, float] | None = None) -> dict[str, Any]:
    doc = scenario_doc(
        as_of="2026-11-23",
        prices=PRICES,
        model=[("AAPL", 40), ("MSFT", 60)],
        account=account_doc(holdings or {"AAPL": 400, "MSFT": 600}, id="A-1", cash=0),
        restrictions=[
            {
                "type": "substitution",
                "symbol": "AAPL",
                "substitute": "GOOG",
                "behaviour": "liquidate_immediately",
                "start_date": "2026-11-01",
            },
            {
                "type": "equivalents",
                "members": [
                    {"symbol": "GOOG", "behaviour": goog},
                    {"symbol": "GOOGL", "behaviour": googl},
                ],
            },
        ],
    )
    return run_doc(doc)


def trades(doc: dict[str, Any]) -> dict[str, tuple[str, int]]:
    return {t["symbol"]: (t["action"], t["quantity"]) for t in doc["accounts"][0]["trades"]}


def test_googl_buy_first_takes_the_whole_substitution() -> None:
    """AAPL sold (400 shares, $40,000); the group's 40% is bought as 400 GOOGL, no GOOG."""
    doc = seed_example("none", "buy_first")
    assert trades(doc) == {
        "AAPL": ("sell", 400),
        "MSFT": ("none", 0),
        "GOOG": ("none", 0),
        "GOOGL": ("buy", 400),
    }
    assert doc["status"] == "success"
    assert doc["accounts"][0]["cash_after"] == 0.0


def test_goog_buy_first_takes_the_whole_substitution() -> None:
    doc = seed_example("buy_first", "none")
    assert trades(doc)["GOOG"] == ("buy", 400)
    assert trades(doc)["GOOGL"] == ("none", 0)


def test_the_named_substitute_gets_no_preference() -> None:
    """GOOG may not be bought: the substitution lands in GOOGL although GOOG was named."""
    doc = seed_example("do_not_buy", "none")
    assert trades(doc)["GOOG"] == ("none", 0)
    assert trades(doc)["GOOGL"] == ("buy", 400)


def test_legacy_googl_holding_counts_toward_the_group() -> None:
    """Legacy: 150 GOOGL ($15,000) and 250 AAPL. The group's 40% target less 15% held:
    buy $25,000 = 250 GOOG... or GOOGL by preference: GOOGL is buy first, so 250 GOOGL.
    Nothing of the group is sold."""
    doc = seed_example("none", "buy_first", {"AAPL": 250, "MSFT": 600, "GOOGL": 150})
    assert trades(doc) == {
        "AAPL": ("sell", 250),
        "MSFT": ("none", 0),
        "GOOG": ("none", 0),
        "GOOGL": ("buy", 250),
    }


@pytest.mark.parametrize("goog", ["none", "buy_first", "do_not_sell"])
def test_group_above_its_weight_never_buys_a_member(goog: str) -> None:
    """200 GOOG + 300 GOOGL = 50% against the substituted 40%: the group sells $10,000 and
    buys nothing; AAPL is gone; MSFT stays at 600 minus nothing (it is at 60%... of $150,000
    less; here the account is $110,000: 600 MSFT = 54.5%, below its 60%)."""
    doc = seed_example(goog, "none", {"MSFT": 600, "GOOG": 200, "GOOGL": 300})
    got = trades(doc)
    assert got["GOOG"][0] != "buy"
    assert got["GOOGL"][0] != "buy"
    sold = sum(q for s, (a, q) in got.items() if a == "sell" and s.startswith("GOOG"))
    # Group target 40% of $110,000 = $44,000; held $50,000: sell $6,000 = 60 shares.
    assert sold == 60
