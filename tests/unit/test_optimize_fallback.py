"""When the time limit is hit the solvers still return a valid proposal."""

from __future__ import annotations

import numpy as np
import pytest

from trimtab.core.batch import AccountBatch, make_batch
from trimtab.core.engine import Method, TradeOptions, propose
from trimtab.optimize import SolveStatus, best_fit, minimum_transaction
from trimtab.optimize import solve as solve_module


def _account(seed: int, k: int = 30) -> AccountBatch:
    rng = np.random.default_rng(seed)
    price = np.round(rng.uniform(10.0, 300.0, k), 2)
    target = rng.dirichlet(np.ones(k)) * 0.99
    quantity = np.floor(target * rng.uniform(0.5, 1.5, k) * 500_000 / price)
    return make_batch(
        price=price[None],
        quantity=quantity[None],
        target=target[None],
        lower=target[None] * 0.8,
        upper=target[None] * 1.2,
        in_model=np.ones((1, k), dtype=bool),
        valid=np.ones((1, k), dtype=bool),
        cash=np.array([2_000.0]),
        cash_target=np.array([0.01]),
    )


def test_no_time_falls_back_to_the_core_logics(monkeypatch: pytest.MonkeyPatch) -> None:
    """An account neither shortcut proves, with no solver time, gets the fallback."""
    monkeypatch.setattr(solve_module, "best_fit_bracket", lambda p: None)
    monkeypatch.setattr(solve_module, "minimum_transaction_shortcut", lambda p, floor: None)
    batch = _account(3)
    sell_limit = batch.sell_limit.copy()
    sell_limit[0, :5] = 0.0
    allowed = batch.buy_allowed.copy()
    allowed[0, 5:10] = False
    ruled = batch.with_rules(sell_limit=sell_limit, buy_allowed=allowed)
    cases = (
        (best_fit, Method.REBALANCE_TO_TARGET),
        (minimum_transaction, Method.REBALANCE_TO_TOLERANCE),
    )
    for solve, logic in cases:
        result = solve(ruled, 0, time_limit=0.0)
        assert result.status is SolveStatus.FALLBACK
        expected = propose(ruled, logic, TradeOptions()).quantity[0]
        np.testing.assert_array_equal(result.quantity, expected)
        q = result.quantity
        assert np.all(q[:5] >= 0.0)
        assert np.all(q[5:10] <= 0.0)
        assert float(ruled.cash[0] - q @ ruled.price[0]) >= 0.0


def _deviation(batch: AccountBatch, q: np.ndarray) -> float:
    value = float(batch.cash[0] + batch.quantity[0] @ batch.price[0])
    after = (batch.quantity[0] + q) * batch.price[0]
    cash = float(batch.cash[0] - q @ batch.price[0])
    lines = float(np.abs(after - batch.target[0] * value).sum())
    return lines + abs(cash - float(batch.cash_target[0]) * value)


def test_short_time_limit_is_valid_and_no_worse_than_its_fallback() -> None:
    for seed in range(6):
        batch = _account(100 + seed)
        result = best_fit(batch, 0, time_limit=0.01)
        q = result.quantity
        assert float(batch.cash[0] - q @ batch.price[0]) >= -1e-6
        assert np.all(-q <= batch.sell_limit[0])
        fallback = propose(batch, Method.REBALANCE_TO_TARGET, TradeOptions()).quantity[0]
        assert _deviation(batch, q) <= _deviation(batch, fallback) + 1e-6
