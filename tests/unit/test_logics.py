"""Logic-level cases the seed documents state but do not work through."""

from __future__ import annotations

import numpy as np

from trimtab.core.batch import AccountBatch, make_batch
from trimtab.core.engine import Method, TradeOptions, propose
from trimtab.core.reasons import Message, Reason, Status


def tech_batch(cash: float = 5000.0) -> AccountBatch:
    """The seed's Technology Stocks account with $5,000 cash ($105,000 in all)."""
    price = np.array([[26.18, 38.46, 37.60, 24.31, 22.30]])
    value = np.array([[27000.0, 28000.0, 17000.0, 12500.0, 15500.0]])
    target = np.array([[0.25, 0.25, 0.20, 0.15, 0.15]])
    ones = np.ones((1, 5), dtype=bool)
    return make_batch(
        price=price,
        quantity=value / price,
        target=target,
        lower=target * 0.9,
        upper=target * 1.1,
        in_model=ones,
        valid=ones,
        cash=np.array([cash]),
        cash_target=np.array([0.0]),
    )


def test_excess_cash_left_over_when_a_rule_blocks_buys() -> None:
    batch = tech_batch()
    blocked = batch.buy_allowed.copy()
    blocked[0, 2] = False  # MSFT may not be bought: its $4,000 shortfall stays in cash
    batch = batch.with_rules(sell_limit=batch.quantity, buy_allowed=blocked)
    result = propose(batch, Method.INVEST_CASH_MIN_TRADES)
    assert result.status[0] == Status.PART_SUCCESS
    assert result.message[0] == Message.EXCESS_CASH
    # INTC $3,250 and CSCO $250 reach their targets; $1,500 is left.
    assert result.trade_value[0].round(2).tolist() == [0.0, 0.0, 0.0, 3250.0, 250.0]
    assert result.reason[0, 2] & Reason.BUY_BLOCKED


def test_cash_to_invest_caps_the_amount() -> None:
    result = propose(tech_batch(), Method.INVEST_CASH_MIN_TRADES, TradeOptions(cash_to_invest=1000))
    assert result.trade_value[0].round(2).tolist() == [0.0, 0.0, 1000.0, 0.0, 0.0]


def test_a_locked_overweight_security_leaves_the_buys_short() -> None:
    # Rebalance to target with ORCL ($3,000 over target) not sellable and no cash: the buys
    # get only what FB and CSCO raise, shared in proportion, and the status says so.
    batch = tech_batch(cash=0.0)
    limit = batch.quantity.copy()
    limit[0, 1] = 0.0
    batch = batch.with_rules(sell_limit=limit, buy_allowed=batch.buy_allowed)
    result = propose(batch, Method.REBALANCE_TO_TARGET)
    # Sells: FB 2,000 + CSCO 500 (ORCL held); buys want 3,000 + 2,500 = 5,500 of 2,500.
    assert result.trade_value[0, 1] == 0.0
    assert result.reason[0, 1] & Reason.SELL_LIMITED
    assert result.status[0] == Status.PART_SUCCESS
    assert result.trade_value[0, 2] + result.trade_value[0, 3] == 2500.0
    assert result.cash_after[0] >= 0


def test_an_account_that_starts_overdrawn_buys_nothing_and_is_not_made_worse() -> None:
    batch = tech_batch(cash=-2000.0)
    for method in (Method.INVEST_CASH_PROPORTIONAL, Method.INVEST_CASH_MIN_TRADES):
        result = propose(batch, method)
        assert (result.quantity == 0).all()
        assert result.cash_after[0] == -2000.0
    # Rebalance to target sells the overweight and buys only with what the sales raise.
    result = propose(batch, Method.REBALANCE_TO_TARGET)
    assert result.cash_after[0] >= -2000.0
