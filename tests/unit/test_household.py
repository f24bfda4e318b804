"""Household rebalance invariants on random households (no money moves between accounts)."""

from __future__ import annotations

import numpy as np
import pytest

from trimtab.core.batch import AccountBatch, make_batch
from trimtab.core.household import household_rebalance, household_weights
from trimtab.core.rounding import round_plan


def _households(
    rng: np.random.Generator, n_households: int, per: int
) -> tuple[AccountBatch, np.ndarray, np.ndarray]:
    """``per`` accounts per household, one shared 5-line model, one extra symbol some hold."""
    n, k = n_households * per, 6
    price = rng.uniform(10.0, 200.0, k)
    target = np.zeros(k)
    target[:5] = rng.dirichlet(np.ones(5)) * 0.99
    in_model = np.zeros((n, k), dtype=bool)
    in_model[:, :5] = True
    quantity = rng.integers(0, 2000, (n, k)).astype(np.float64)
    holds_extra = rng.random(n) < 0.4
    quantity[~holds_extra, 5] = 0.0
    valid = in_model | (quantity > 0)
    batch = make_batch(
        price=np.tile(price, (n, 1)),
        quantity=quantity,
        target=np.tile(target, (n, 1)) * in_model,
        lower=np.tile(target * 0.8, (n, 1)) * in_model,
        upper=np.tile(target * 1.2, (n, 1)) * in_model,
        in_model=in_model,
        valid=valid,
        cash=rng.uniform(0.0, 5000.0, n),
        cash_target=np.full(n, 0.01),
    )
    symbol = np.where(valid, np.arange(k, dtype=np.int32)[None, :], -1).astype(np.int32)
    return batch, symbol, np.repeat(np.arange(n_households, dtype=np.int32), per)


@pytest.mark.parametrize("seed", range(10))
def test_household_invariants(seed: int) -> None:
    batch, symbol, household = _households(np.random.default_rng(seed), 20, 3)
    hp = household_rebalance(batch, symbol, household)
    # Each pair moves equal dollars inside one account: net dollars per account are cash moves.
    np.testing.assert_allclose(
        hp.plan.dollars.sum(axis=1),
        [
            sum(p.dollars for p in hp.pairs if p.row == r and p.sell == -1)
            - sum(p.dollars for p in hp.pairs if p.row == r and p.buy == -1)
            for r in range(batch.size)
        ],
        atol=1e-6,
    )
    rounded = round_plan(batch, hp.plan, unit=1.0, min_trade_value=0.0)
    assert np.all(rounded.cash_after >= 0.0)
    assert np.all(-rounded.quantity <= batch.sell_limit + 1e-9)
    assert np.all(rounded.quantity[~batch.in_model] <= 0.0)
    held_extra = batch.valid & ~batch.in_model
    np.testing.assert_array_equal(rounded.quantity[held_extra], -batch.quantity[held_extra])
    value = batch.cash + (batch.quantity * batch.price).sum(axis=1)
    after = ((batch.quantity + rounded.quantity) * batch.price).sum(axis=1) + rounded.cash_after
    np.testing.assert_allclose(after, value, atol=0.01)
    for h in range(20):
        rows = np.flatnonzero(household == h)
        weights, cash_w = household_weights(
            (batch.quantity + rounded.quantity) * batch.price, rounded.cash_after, symbol, rows
        )
        # Within the rounding of a few shares per account of the household target.
        slack = 3 * float(batch.price[0].max()) / float(value[rows].sum())
        for s in range(5):
            assert weights[s] == pytest.approx(batch.target[rows[0], s], abs=slack)
        assert weights.get(5, 0.0) == 0.0
        assert cash_w == pytest.approx(0.01, abs=slack * 5)


def test_blocked_buy_is_never_bought() -> None:
    batch, symbol, household = _households(np.random.default_rng(7), 5, 3)
    allowed = batch.buy_allowed.copy()
    allowed[:, 0] = False
    ruled = batch.with_rules(sell_limit=batch.sell_limit, buy_allowed=allowed)
    plan = household_rebalance(ruled, symbol, household).plan
    assert np.all(plan.dollars[:, 0] <= 0.0)


def test_accounts_with_different_models_trade_through_a_shared_symbol() -> None:
    """Household H, prices $100. A-1 follows {FB 50, MSFT 50} and holds 1,000 FB; A-2
    follows {MSFT 50, ORCL 50} and holds 1,000 MSFT. Household targets (value-weighted):
    FB 25%, MSFT 50%, ORCL 25%; held: FB 50%, MSFT 50%, ORCL 0%. No account can sell FB for
    ORCL directly, so the trade goes through MSFT: A-1 sells 500 FB for 500 MSFT, A-2 sells
    500 MSFT for 500 ORCL. Household weights end 25 / 50 / 25, each account's value unchanged."""
    # slots: FB, MSFT, ORCL (symbol codes 0, 1, 2)
    in_model = np.array([[True, True, False], [False, True, True]])
    target = np.array([[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]])
    batch = make_batch(
        price=np.full((2, 3), 100.0),
        quantity=np.array([[1000.0, 0.0, 0.0], [0.0, 1000.0, 0.0]]),
        target=target,
        lower=target * 0.9,
        upper=target * 1.1,
        in_model=in_model,
        valid=in_model,
        cash=np.zeros(2),
        cash_target=np.zeros(2),
    )
    symbol = np.where(in_model, np.arange(3, dtype=np.int32)[None, :], -1).astype(np.int32)
    hp = household_rebalance(batch, symbol, np.zeros(2, dtype=np.int32))
    np.testing.assert_allclose(
        hp.plan.dollars, [[-50_000.0, 50_000.0, 0.0], [0.0, -50_000.0, 50_000.0]]
    )
    rounded = round_plan(batch, hp.plan, unit=1.0, min_trade_value=0.0)
    np.testing.assert_array_equal(rounded.quantity, [[-500, 500, 0], [0, -500, 500]])
    np.testing.assert_allclose(rounded.cash_after, [0.0, 0.0])
