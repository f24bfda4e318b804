"""Best Fit's bracket proof (``trimtab.optimize.bracket``) against exhaustive search.

Whenever the bracket search returns units, they must be *the* lexicographic optimum found by
enumerating every whole-share trade: the least deviation, and among the trade sets with that
deviation (to a millionth of a dollar) the least turnover. Accounts vary the cash target
(0 or 2%), rule limits (a line that may not be sold, one that may not be bought), many
cheap shares or few dear ones, and a held security outside the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.unit.test_optimize import _account, _grid, _scores
from trimtab.core.batch import AccountBatch, make_batch
from trimtab.optimize import SolveStatus, best_fit
from trimtab.optimize import bracket as bracket_module
from trimtab.optimize.bracket import best_fit_bracket
from trimtab.optimize.problem import account_problem, quantities

EXACT = 1e-6


def _ruled(batch: AccountBatch, rng: np.random.Generator) -> AccountBatch:
    sell_limit = batch.quantity.copy()
    buy_allowed = batch.buy_allowed.copy()
    j = int(rng.integers(batch.width))
    if rng.random() < 0.5:
        sell_limit[0, j] = float(rng.integers(0, 2))
    else:
        buy_allowed[0, j] = False
    return batch.with_rules(sell_limit=sell_limit, buy_allowed=buy_allowed)


def _cheap(rng: np.random.Generator, k: int) -> AccountBatch:
    """``k`` model lines of $3-$12 shares, up to 25 held: many units per line (k = 2 keeps
    the exhaustive grid small)."""
    price = np.round(rng.uniform(3.0, 12.0, k), 2)
    target = rng.dirichlet(np.ones(k)) * 0.98
    return make_batch(
        price=price[None],
        quantity=rng.integers(0, 25, k).astype(np.float64)[None],
        target=target[None],
        lower=target[None] * 0.9,
        upper=target[None] * 1.1,
        in_model=np.ones((1, k), dtype=bool),
        valid=np.ones((1, k), dtype=bool),
        cash=np.array([float(np.round(rng.uniform(0.0, 60.0), 2))]),
        cash_target=np.array([0.02]),
    )


def _case(seed: int) -> AccountBatch:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(2, 5))
    batch = _cheap(rng, 2) if seed % 2 else _account(rng, k, non_model=seed % 4 == 0)
    return _ruled(batch, rng) if seed % 3 == 0 else batch


def _assert_exhaustive_optimum(batch: AccountBatch) -> None:
    """Best Fit on ``batch`` equals the optimum found by enumerating every whole-share trade:
    exactly when the bracket proves it, to the cent when HiGHS decides."""
    p = account_problem(batch, 0, 1.0)
    units = best_fit_bracket(p)
    quantity = best_fit(batch, 0).quantity if units is None else quantities(p, units, batch.width)
    tol = 0.01 + EXACT if units is None else EXACT
    trades, _ = _grid(batch)
    s = _scores(batch, trades)
    ok = s["cash_after"] >= 0.0
    best = s["deviation"][ok].min()
    least_turnover = s["turnover"][ok & (s["deviation"] <= best + EXACT)].min()
    got = {k: float(v[0]) for k, v in _scores(batch, quantity[None]).items()}
    assert got["cash_after"] >= -1e-9
    assert got["deviation"] == pytest.approx(best, abs=tol)
    if units is None:
        assert got["turnover"] <= least_turnover + tol
    else:
        assert got["turnover"] == pytest.approx(least_turnover, abs=EXACT)


@pytest.mark.parametrize("seed", range(120))
def test_best_fit_is_the_exhaustive_optimum(seed: int) -> None:
    """Exact when the bracket proves the optimum; to the cent when HiGHS decides."""
    _assert_exhaustive_optimum(_case(seed))


def test_most_small_accounts_are_proven() -> None:
    """The proof is not vacuous: it settles most of these accounts without the solver."""
    proven = sum(
        best_fit_bracket(account_problem(_case(s), 0, 1.0)) is not None for s in range(120)
    )
    assert proven >= 60


def test_best_fit_reports_a_proven_account_optimal() -> None:
    batch = _case(
        next(
            s for s in range(120) if best_fit_bracket(account_problem(_case(s), 0, 1.0)) is not None
        )
    )
    assert best_fit_bracket(account_problem(batch, 0, 1.0)) is not None
    result = best_fit(batch, 0, time_limit=0.0)  # no solver time: the proof alone decides
    assert result.status is SolveStatus.OPTIMAL


def _no_cash_target(seed: int) -> AccountBatch:
    """Few dear shares, no cash target, little cash: rounding up tends to overdraw."""
    rng = np.random.default_rng(7000 + seed)
    k = int(rng.integers(2, 5))
    price = np.round(rng.uniform(20.0, 160.0, k), 2)
    target = rng.dirichlet(np.ones(k))
    batch = make_batch(
        price=price[None],
        quantity=rng.integers(0, 6, k).astype(np.float64)[None],
        target=target[None],
        lower=target[None] * 0.9,
        upper=target[None] * 1.1,
        in_model=np.ones((1, k), dtype=bool),
        valid=np.ones((1, k), dtype=bool),
        cash=np.array([float(np.round(rng.uniform(0.0, 150.0), 2))]),
        cash_target=np.zeros(1),
    )
    return _ruled(batch, rng) if seed % 4 == 0 else batch


@pytest.mark.parametrize("seed", range(80))
def test_no_cash_target_optimum_is_the_exhaustive_optimum(seed: int) -> None:
    """Where the bracket optimum overdraws, the cash-bound proof (``cash_bound``) decides."""
    _assert_exhaustive_optimum(_no_cash_target(seed))


def test_cash_bound_proof_settles_overdrawing_accounts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cash-bound proof is reached and settles most of the accounts it is asked about."""
    calls: list[bool] = []
    real = bracket_module.best_fit_cash_bound

    def counted(*args: Any) -> Any:
        out = real(*args)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(bracket_module, "best_fit_cash_bound", counted)
    for seed in range(80):
        best_fit_bracket(account_problem(_no_cash_target(seed), 0, 1.0))
    assert len(calls) >= 20
    assert sum(calls) >= len(calls) // 2
