"""Deposit and withdrawal (partial rebalances) and sub-asset-class drift, worked by hand."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from trimtab.core.batch import AccountBatch, make_batch
from trimtab.core.logics import Amounts
from trimtab.core.partial import cash_kept, class_drift, deposit, sweep_target, withdrawal
from trimtab.core.rounding import round_plan


def _account(
    price: list[float], quantity: list[float], target: list[float], cash: float
) -> AccountBatch:
    k = len(price)
    t = np.array([target])
    return make_batch(
        price=np.array([price]),
        quantity=np.array([quantity], dtype=np.float64),
        target=t,
        lower=t * 0.9,
        upper=t * 1.1,
        in_model=np.ones((1, k), dtype=bool),
        valid=np.ones((1, k), dtype=bool),
        cash=np.array([cash]),
        cash_target=np.zeros(1),
    )


def _amounts(generate: float = 0.0, invest: float = np.nan) -> Amounts:
    return Amounts(
        cash_to_generate=np.array([generate]),
        mccar=np.zeros(1),
        cash_to_invest=np.array([invest]),
    )


def test_sweep_target_is_a_share_of_value_with_a_minimum() -> None:
    np.testing.assert_allclose(sweep_target(np.array([100_000.0, 5_000.0])), [700.0, 80.0])


def test_cash_kept_is_the_sweep_target_or_the_models_cash_if_larger() -> None:
    # $100,000: sweep $700; 5% model cash is $5,000 (kept), 0.5% is $500 (the sweep wins).
    # $5,000: sweep $80 (the minimum); 1% model cash is $50 (the sweep wins); none: $80.
    value = np.array([100_000.0, 100_000.0, 5_000.0, 5_000.0])
    kept = cash_kept(value, np.array([0.05, 0.005, 0.01, 0.0]))
    np.testing.assert_allclose(kept, [5_000.0, 700.0, 80.0, 80.0])


def test_deposit_keeps_the_models_cash_when_above_the_sweep() -> None:
    # A $50,000 (at its 50% target), B $40,000 (5 points under its 45%), cash $10,000:
    # V = $100,000; the model holds 5% cash ($5,000, above the $700 sweep), so only $5,000
    # is invested, all in B: 500 at $10.
    batch = replace(
        _account([100.0, 10.0], [500, 4000], [0.5, 0.45], 10_000.0), cash_target=np.array([0.05])
    )
    rounded = round_plan(batch, deposit(batch, _amounts()), unit=1.0, min_trade_value=0.0)
    np.testing.assert_array_equal(rounded.quantity[0], [0, 500])
    assert rounded.cash_after[0] == pytest.approx(5_000.0)


def test_deposit_invests_above_the_sweep_most_underweight_first() -> None:
    # V = $100,000; sweep $700; $9,300 to invest. A is at its $50,000 target, B is $10,000
    # under its $45,000 target, C at its $5,000 target: all $9,300 buys B (930 at $10).
    batch = _account([100.0, 10.0, 20.0], [500, 3500, 250], [0.5, 0.45, 0.05], 10_000.0)
    plan = deposit(batch, _amounts())
    rounded = round_plan(batch, plan, unit=1.0, min_trade_value=0.0)
    np.testing.assert_array_equal(rounded.quantity[0], [0, 930, 0])
    assert rounded.cash_after[0] == pytest.approx(700.0)


def test_deposit_keeps_the_minimum_sweep_on_a_small_account() -> None:
    # V = $5,000: the sweep is $80, not 0.7% ($35): $920 of the $1,000 is invested.
    batch = _account([10.0], [400], [1.0], 1_000.0)
    rounded = round_plan(batch, deposit(batch, _amounts()), unit=1.0, min_trade_value=0.0)
    assert rounded.quantity[0, 0] == 92
    assert rounded.cash_after[0] == pytest.approx(80.0)


CLASSES = np.array([[0, 1]], dtype=np.int32)


def test_withdrawal_sells_most_overweight_first() -> None:
    # A $52,000, B $48,000, both 50%: $4,000 comes from A alone (40 shares at $100).
    batch = _account([100.0, 50.0], [520, 960], [0.5, 0.5], 0.0)
    plan = withdrawal(batch, _amounts(generate=4_000.0), CLASSES, unit=1.0)
    rounded = round_plan(batch, plan, unit=1.0, min_trade_value=0.0)
    np.testing.assert_array_equal(rounded.quantity[0], [-40, 0])
    assert rounded.cash_after[0] == pytest.approx(4_000.0)


def test_withdrawal_turns_into_a_full_rebalance_when_a_class_drifts() -> None:
    # A $80,000, B $20,000, both 50%. Raising $10,000 from A leaves A at 70/90 = 77.8% of the
    # value left (27.8 points over): full rebalance to 45,000 each instead, cash $10,000:
    # sell 350 A at $100, buy 500 B at $50.
    batch = _account([100.0, 50.0], [800, 400], [0.5, 0.5], 0.0)
    plan = withdrawal(batch, _amounts(generate=10_000.0), CLASSES, unit=1.0)
    rounded = round_plan(batch, plan, unit=1.0, min_trade_value=0.0)
    np.testing.assert_array_equal(rounded.quantity[0], [-350, 500])
    assert rounded.cash_after[0] == pytest.approx(10_000.0)


def test_class_drift_by_hand() -> None:
    # Two classes: X = slots 0 and 1 (targets 30% + 20%), Y = slot 2 (40%); slot 3 unclassed.
    dollars = np.array([[35.0, 25.0, 30.0, 10.0]])
    target = np.array([[0.3, 0.2, 0.4, 0.0]])
    classes = np.array([[0, 0, 1, -1]], dtype=np.int32)
    drift = class_drift(dollars, np.array([100.0]), target, classes, 2)
    np.testing.assert_allclose(drift, [[0.10, -0.10]])
