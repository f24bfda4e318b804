"""Best Fit and Minimum Transaction on the shapes that are hard to prove (issue 16).

Few securities, no cash target, little cash and cheap shares (Best Fit rounds up and
overdraws, the subset-sum cores are large), and bands that cannot all be reached (narrow
bands, dear shares). Each account is checked against an exhaustive search over every
whole-share trade (``test_optimize``): an answer labelled optimal is the optimum (exactly
when proven by a proof, to the cent when HiGHS proves it); any other answer is flagged on
the proposal; and the same inputs give the same trades and status every time.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.test_optimize import _grid, _lexicographic_best, _score_one, _scores
from trimtab.core.batch import AccountBatch, make_batch
from trimtab.core.engine import Method
from trimtab.core.reasons import Message, Status
from trimtab.optimize import SolveStatus, best_fit, minimum_transaction, propose

TOL = 0.01 + 1e-6


def hard_account(seed: int) -> AccountBatch:
    """One small account of a hard shape (``seed % 3``): 0 cheap shares with no cash
    target and little cash; 1 narrow bands that dear shares cannot all reach; 2 mixed."""
    rng = np.random.default_rng(16_000 + seed)
    k = int(rng.integers(2, 4))
    shape = seed % 3
    if shape == 0:
        price = np.round(rng.uniform(2.0, 15.0, k), 2)
        qty = rng.integers(0, 12, k).astype(np.float64)
        cash_target, cash = 0.0, float(np.round(rng.uniform(0.0, 30.0), 2))
        target = rng.dirichlet(np.ones(k))
        half = target * 0.1
    elif shape == 1:
        price = np.round(rng.uniform(50.0, 400.0, k), 2)
        qty = rng.integers(0, 6, k).astype(np.float64)
        cash_target = float(rng.choice([0.0, 0.01, 0.02]))
        cash = float(np.round(rng.uniform(0.0, 200.0), 2))
        target = rng.dirichlet(np.ones(k)) * (1.0 - cash_target)
        half = target * rng.uniform(0.0, 0.05, k)
    else:
        price = np.round(rng.uniform(4.0, 60.0, k), 2)
        qty = rng.integers(0, 15, k).astype(np.float64)
        cash_target = float(rng.choice([0.0, 0.005]))
        cash = float(np.round(rng.uniform(0.0, 50.0), 2))
        target = rng.dirichlet(np.ones(k)) * (1.0 - cash_target)
        half = target * rng.uniform(0.01, 0.2, k)
    return make_batch(
        price=price[None],
        quantity=qty[None],
        target=target[None],
        lower=np.maximum(target - half, 0.0)[None],
        upper=(target + half)[None],
        in_model=np.ones((1, k), dtype=bool),
        valid=np.ones((1, k), dtype=bool),
        cash=np.array([cash]),
        cash_target=np.array([cash_target]),
    )


SEEDS = range(90)


@pytest.mark.parametrize("seed", SEEDS)
def test_hard_shapes_are_optimal_or_flagged_and_deterministic(seed: int) -> None:
    batch = hard_account(seed)
    trades, _ = _grid(batch)
    s = _scores(batch, trades)
    ok = s["cash_after"] >= 0.0
    # Minimum Transaction's buys never dig into the cash target (nor below what is held).
    value = float(batch.cash[0] + batch.quantity[0] @ batch.price[0])
    floor = max(0.0, min(float(batch.cash[0]), float(batch.cash_target[0]) * value))
    kept = s["cash_after"] >= floor - 1e-9
    expected = {
        Method.BEST_FIT: _lexicographic_best(s["deviation"], s["turnover"], ok),
        Method.MINIMUM_TRANSACTION: _lexicographic_best(s["violation"], s["turnover"], kept),
    }
    first_key = {Method.BEST_FIT: "deviation", Method.MINIMUM_TRANSACTION: "violation"}
    for method, solve in (
        (Method.BEST_FIT, best_fit),
        (Method.MINIMUM_TRANSACTION, minimum_transaction),
    ):
        result = solve(batch, 0)
        again = solve(batch, 0)
        np.testing.assert_array_equal(result.quantity, again.quantity)
        assert result.status is again.status
        if result.status is SolveStatus.OPTIMAL:
            got = _score_one(batch, result.quantity)
            best_first, least_turnover = expected[method]
            assert got["cash_after"] >= -1e-9
            assert got[first_key[method]] == pytest.approx(best_first, abs=TOL)
            assert got["turnover"] <= least_turnover + TOL
        else:
            proposal = propose(batch, method)
            assert proposal.status[0] == Status.PART_SUCCESS
            assert proposal.message[0] != Message.NONE
