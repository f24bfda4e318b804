"""Locks, holds, tax lots, wash sales, short-term limits, minimum trade size and approvals
through ``trimtab propose``.

Unless a test says otherwise: A, B, C at $100; model A 50% (45-55), B 30% (27-33),
C 20% (18-22); the account holds 600 A, 300 B, 100 C ($100,000), so rebalance to target
sells 100 A and buys 100 C. Expected figures are worked out by hand in the docstrings.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import account_doc, run_doc, scenario_doc

AS_OF = "2026-11-23"
PRICES = {"A": 100.0, "B": 100.0, "C": 100.0}
MODEL = [("A", 50, 45, 55), ("B", 30, 27, 33), ("C", 20, 18, 22)]
DRIFTED = {"A": 600, "B": 300, "C": 100}


def lot(quantity: float, basis: float | None, acquired: str, lot_id: str | None = None) -> dict:
    return {"quantity": quantity, "cost_basis": basis, "acquired": acquired, "lot_id": lot_id}


def run(
    holdings: dict[str, Any] | None = None,
    *,
    method: str = "rebalance_to_target",
    registration: str = "non_qualified",
    prices: dict[str, float] | None = None,
    model: list[tuple[str, float, float, float]] | None = None,
    options: dict[str, Any] | None = None,
    account: dict[str, Any] | None = None,
    **rules: Any,
) -> dict[str, Any]:
    """``holdings``: shares, or a list of lots, by symbol."""
    doc = scenario_doc(
        method=method,
        as_of=AS_OF,
        options=options or {},
        prices=prices or PRICES,
        model=model or MODEL,
        account=account_doc(holdings or DRIFTED, registration=registration, **(account or {})),
        **rules,
    )
    return run_doc(doc)


def trades(doc: dict[str, Any]) -> dict[str, tuple[str, float]]:
    return {t["symbol"]: (t["action"], t["quantity"]) for t in doc["accounts"][0]["trades"]}


def line(doc: dict[str, Any], symbol: str) -> dict[str, Any]:
    return next(t for t in doc["accounts"][0]["trades"] if t["symbol"] == symbol)


def test_without_rules_sells_100_a_and_buys_100_c() -> None:
    assert trades(run()) == {"A": ("sell", 100), "B": ("none", 0), "C": ("buy", 100)}


def test_elective_lock_never_sells() -> None:
    """A may not be sold: nothing funds C; part success; A's line names the lock."""
    doc = run(locks=[{"type": "elective", "symbol": "A"}])
    assert trades(doc) == {"A": ("none", 0), "B": ("none", 0), "C": ("none", 0)}
    assert doc["status"] == "part_success"
    assert "elective lock" in line(doc, "A")["reason"]
    assert "sale limited by a rule" in line(doc, "A")["reason"]
    assert any("Restrictions, locks or tax rules" in m for m in doc["messages"])


GAIN_AND_LOSS = [
    lot(300, 24000.0, "2024-01-02", "gain"),  # $80/share: $20 gain per share, long term
    lot(300, 36000.0, "2026-06-01", "loss"),  # $120/share: $20 loss per share, short term
]


def test_gain_lock_sells_only_lots_at_a_loss() -> None:
    """FIFO would relieve the gain lot; the gain lock leaves only the loss lot: 100 shares
    at $100 against $120 basis: short-term loss $2,000."""
    doc = run({"A": GAIN_AND_LOSS, "B": 300, "C": 100}, locks=[{"type": "gain"}])
    a = line(doc, "A")
    assert (a["action"], a["quantity"]) == ("sell", 100)
    assert [(r["lot_id"], r["quantity"], r["gain"], r["term"]) for r in a["lots"]] == [
        ("loss", 100, -2000.0, "short")
    ]
    assert a["short_term_gain"] == -2000.0
    assert a["long_term_gain"] == 0.0


def test_gain_lock_ignored_in_qualified_accounts() -> None:
    """FIFO relieves the 2024 lot: 100 x ($100 - $80) = $2,000 long-term gain; no approval
    in a qualified account."""
    doc = run(
        {"A": GAIN_AND_LOSS, "B": 300, "C": 100},
        registration="qualified",
        locks=[{"type": "gain"}],
    )
    a = line(doc, "A")
    assert a["lots"][0]["lot_id"] == "gain"
    assert a["long_term_gain"] == 2000.0
    assert doc["accounts"][0]["approval"] == {"required": False, "realized_gain": 2000.0}


def test_gains_of_1000_or_more_need_an_approver() -> None:
    doc = run({"A": GAIN_AND_LOSS, "B": 300, "C": 100})
    account = doc["accounts"][0]
    assert account["approval"] == {"required": True, "realized_gain": 2000.0}
    assert account["realized_gain"] == {"short_term": 0.0, "long_term": 2000.0, "total": 2000.0}
    assert any("needs an approver" in m for m in doc["messages"])


def test_minimum_tax_relieves_the_loss_lot_and_needs_no_approval() -> None:
    doc = run({"A": GAIN_AND_LOSS, "B": 300, "C": 100}, account={"lot_method": "minimum_tax"})
    assert line(doc, "A")["lots"][0]["lot_id"] == "loss"
    assert doc["accounts"][0]["approval"]["required"] is False


def test_specific_lots() -> None:
    doc = run(
        {"A": GAIN_AND_LOSS, "B": 300, "C": 100},
        account={"lot_method": "specific_lots", "specific_lots": {"A": ["loss"]}},
    )
    assert [r["lot_id"] for r in line(doc, "A")["lots"]] == ["loss"]


def test_missing_cost_basis_lots_are_not_sold_until_unlocked() -> None:
    """A 650 shares (550 without basis), C 50: the logic wants to sell 150 A; only the 100
    with a basis may go, so C gets 100 of its 150. Unlocked, all 150 are sold."""
    holdings = {
        "A": [lot(550, None, "2020-01-02"), lot(100, 8000.0, "2020-01-02")],
        "B": 300,
        "C": 50,
    }
    doc = run(holdings, locks=[])
    assert trades(doc)["A"] == ("sell", 100)
    assert trades(doc)["C"] == ("buy", 100)
    assert "missing cost basis" in line(doc, "A")["reason"]
    assert doc["status"] == "part_success"
    unlocked = run(holdings, locks=[{"type": "cost_basis_unlock", "symbol": "A"}])
    assert trades(unlocked)["A"] == ("sell", 150)
    assert line(unlocked, "A")["gain_unknown"] is True


@pytest.mark.parametrize(
    ("hold", "on_hold"),
    [({}, True), ({"until": AS_OF}, True), ({"until": "2026-11-22"}, False)],
)
def test_trade_hold(hold: dict[str, str], on_hold: bool) -> None:
    doc = run(trade_hold=hold)
    if on_hold:
        assert doc["status"] == "failed"
        assert all(action == "none" for action, _ in trades(doc).values())
        assert "trade hold" in doc["messages"][0]
        assert "trade hold" in line(doc, "A")["reason"]
    else:
        assert trades(doc)["A"] == ("sell", 100)


LOSS_LOTS = [lot(600, 72000.0, "2025-01-02")]  # $120/share: every share at a loss


def buy_of(symbol: str, when: str, account: str = "ACC-2") -> dict[str, Any]:
    return {"account": account, "symbol": symbol, "action": "buy", "date": when, "quantity": 1}


def sale_of(symbol: str, when: str, gain: float, account: str = "ACC-2") -> dict[str, Any]:
    return {
        "account": account,
        "symbol": symbol,
        "action": "sell",
        "date": when,
        "quantity": 1,
        "realized_gain": gain,
    }


def test_wash_sale_no_loss_sale_after_a_household_buy() -> None:
    """A bought 30 days ago in another household account: its loss lots stay."""
    holdings = {"A": LOSS_LOTS, "B": 300, "C": 100}
    doc = run(holdings, transactions=[buy_of("A", "2026-10-24")])
    assert trades(doc)["A"] == ("none", 0)
    assert "wash sale" in line(doc, "A")["reason"]
    doc = run(holdings, transactions=[buy_of("A", "2026-10-23")])  # 31 days: window closed
    assert trades(doc)["A"] == ("sell", 100)


def test_wash_sale_no_buy_after_a_household_loss_sale() -> None:
    doc = run(transactions=[sale_of("C", "2026-11-03", -500.0)])
    assert trades(doc)["C"] == ("none", 0)
    assert "wash sale" in line(doc, "C")["reason"]
    assert "buy blocked by a rule" in line(doc, "C")["reason"]
    assert trades(run(transactions=[sale_of("C", "2026-11-03", 500.0)]))["C"] == ("buy", 100)
    assert trades(run(transactions=[sale_of("C", "2026-10-20", -500.0)]))["C"] == ("buy", 100)


def test_short_term_trading_limit_same_account_only() -> None:
    windows = {"C": 30}
    recent = sale_of("C", "2026-11-13", 10.0, account="ACC-1")
    doc = run(transactions=[recent], short_term_windows=windows)
    assert trades(doc)["C"] == ("none", 0)
    assert "short-term trading limit" in line(doc, "C")["reason"]
    other = sale_of("C", "2026-11-13", 10.0, account="ACC-2")
    assert trades(run(transactions=[other], short_term_windows=windows))["C"] == ("buy", 100)
    old = sale_of("C", "2026-10-13", 10.0, account="ACC-1")
    assert trades(run(transactions=[old], short_term_windows=windows))["C"] == ("buy", 100)


def test_generate_cash_raises_elsewhere_what_a_lock_keeps() -> None:
    """$10,000 from an account at target, A locked: B and C raise it all, A untouched."""
    doc = run(
        {"A": 500, "B": 300, "C": 200},
        method="generate_cash",
        options={"cash_to_generate": 10000},
        locks=[{"type": "elective", "symbol": "A"}],
    )
    got = trades(doc)
    assert got["A"] == ("none", 0)
    assert doc["status"] == "success"
    assert doc["accounts"][0]["cash_after"] >= 10000.0
    assert got["B"][0] == "sell"
    assert got["C"][0] == "sell"
    assert "elective lock" in line(doc, "A")["reason"]
    assert "sale limited by a rule" in line(doc, "A")["reason"]
    assert any("the logic sold others instead" in m for m in doc["messages"])


SMALL_PRICES = {"A": 10.0, "B": 10.0, "C": 10.0}
SMALL_DRIFT = {"A": 5005, "B": 2995, "C": 2000}  # A +$50, B -$50 from target


def test_min_trade_raised_where_bands_allow() -> None:
    """$50 trades raised to $100 (10 shares at $10): A to $49,950 (>= 45%), B to $30,050
    (<= 33%), paid by A's sale."""
    doc = run(SMALL_DRIFT, prices=SMALL_PRICES, options={"min_trade_value": 100})
    assert trades(doc) == {"A": ("sell", 10), "B": ("buy", 10), "C": ("none", 0)}
    assert "raised to the minimum trade size" in line(doc, "A")["reason"]
    assert doc["accounts"][0]["cash_after"] == 0.0


def test_min_trade_dropped_where_bands_do_not_allow() -> None:
    exact = [(s, t, t, t) for s, t, _, _ in MODEL]
    doc = run(SMALL_DRIFT, prices=SMALL_PRICES, model=exact, options={"min_trade_value": 100})
    assert trades(doc) == {"A": ("none", 0), "B": ("none", 0), "C": ("none", 0)}
    assert "below the minimum trade size: dropped" in line(doc, "A")["reason"]


def test_protected_sleeve_shares_are_never_traded() -> None:
    """600 A of which 100 protected ($10,000 = 10%): the model sleeve manages the other 90%,
    so A's target is 50% x 0.9 + 10% = 55%, B's 27%, C's 18%. A sells $5,000 (50 shares),
    C buys $8,000 (80 shares); B at 30% sells $3,000 (30 shares)."""
    sleeves = [{"type": "protected", "positions": [{"symbol": "A", "quantity": 100}]}]
    doc = run(sleeves=sleeves)
    assert trades(doc) == {"A": ("sell", 50), "B": ("sell", 30), "C": ("buy", 80)}
    assert line(doc, "A")["rule_target_pct"] == 55.0
    assert "protected sleeve" in line(doc, "A")["reason"]


def test_protected_shares_survive_a_liquidating_exclusion() -> None:
    """A excluded, liquidate immediately: only the 500 unprotected shares are sold."""
    sleeves = [{"type": "protected", "positions": [{"symbol": "A", "quantity": 100}]}]
    exclusion = {
        "type": "exclusion",
        "symbol": "A",
        "behaviour": "liquidate_immediately",
        "start_date": "2026-11-01",
    }
    doc = run(sleeves=sleeves, restrictions=[exclusion])
    assert trades(doc)["A"] == ("sell", 500)


def test_protected_non_model_holding_is_kept() -> None:
    """D (outside the model) wholly protected: not sold as a non-model holding."""
    holdings = {"A": 500, "B": 300, "C": 100, "D": 100}
    sleeves = [{"type": "protected", "positions": [{"symbol": "D", "quantity": 100}]}]
    doc = run(holdings, prices={**PRICES, "D": 100.0}, sleeves=sleeves)
    assert trades(doc)["D"] == ("none", 0)
    assert doc["status"] == "success"


def test_protected_more_than_held_is_refused() -> None:
    from trimtab.errors import ScenarioError

    sleeves = [{"type": "protected", "positions": [{"symbol": "C", "quantity": 101}]}]
    with pytest.raises(ScenarioError) as err:
        run(sleeves=sleeves)
    assert (
        str(err.value) == "sleeves[0].positions[0].quantity: more than the 100 shares of 'C' held"
    )
