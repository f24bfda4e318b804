"""Best Fit and Minimum Transaction against exhaustive search on small accounts.

The expected optimum of each case comes from enumerating every combination of whole-share
trades and scoring it with the definitions of the brief, written out here independently of
the code under test.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from trimtab.core.batch import AccountBatch, make_batch, stack_batches
from trimtab.core.engine import Method, TradeOptions, propose
from trimtab.optimize import (
    SolveStatus,
    best_fit,
    best_fit_batch,
    minimum_transaction,
    minimum_transaction_batch,
)
from trimtab.optimize.problem import account_problem, quantities
from trimtab.optimize.programs import cash_floor
from trimtab.optimize.shortcut import minimum_transaction_shortcut

TOL = 0.01 + 1e-6
"""Dollars: the solvers are optimal to the cent (their documented gap)."""


def _account(
    rng: np.random.Generator, k: int, *, non_model: bool, large: bool = False
) -> AccountBatch:
    """An account of ``k`` model lines with prices in cents: a few shares each, or with
    ``large`` many cheaper shares (then bands can be reached in whole shares)."""
    width = k + 1 if non_model else k
    price = np.round(rng.uniform(5.0, 30.0, width) if large else rng.uniform(40.0, 160.0, width), 2)
    qty = rng.integers(0, 300 if large else 5, width).astype(np.float64)
    in_model = np.ones(width, dtype=bool)
    target = np.zeros(width)
    cash_target = float(rng.choice([0.0, 0.02]))
    target[:k] = rng.dirichlet(np.ones(k)) * (1.0 - cash_target)
    if non_model:
        in_model[k] = False
        qty[k] = 2.0
    half = rng.uniform(0.02, 0.08, width)
    lower = np.where(in_model, np.maximum(target - half, 0.0), 0.0)
    upper = np.where(in_model, target + half, 0.0)
    cash = float(np.round(rng.uniform(0.0, 400.0), 2))
    return make_batch(
        price=price[None],
        quantity=qty[None],
        target=target[None],
        lower=lower[None],
        upper=upper[None],
        in_model=in_model[None],
        valid=np.ones((1, width), dtype=bool),
        cash=np.array([cash]),
        cash_target=np.array([cash_target]),
    )


def _grid(batch: AccountBatch) -> tuple[np.ndarray, np.ndarray]:
    """Every whole-share trade of the model lines within the rules, and the shares sold
    of each non-model holding (all that may be sold), as (M, K) and (K,) arrays."""
    model = batch.in_model[0] & batch.valid[0]
    price = batch.price[0]
    cash = batch.cash[0] + float((batch.sell_limit[0] * price)[~model].sum())
    room = cash + float((np.floor(batch.sell_limit[0]) * price)[model].sum())
    ranges = []
    for j in range(batch.width):
        if not model[j]:
            ranges.append([0])
            continue
        most = int(room // price[j]) if batch.buy_allowed[0, j] else 0
        ranges.append(list(range(-int(np.floor(batch.sell_limit[0, j])), most + 1)))
    trades = np.array(list(itertools.product(*ranges)), dtype=np.float64)
    forced = np.where(model, 0.0, -batch.sell_limit[0])
    return trades + forced, forced


def _scores(batch: AccountBatch, trades: np.ndarray) -> dict[str, np.ndarray]:
    price = batch.price[0]
    held = batch.quantity[0] * price
    value = batch.cash[0] + held.sum()
    after = held + trades * price
    cash_after = batch.cash[0] - trades @ price
    deviation = np.abs(after - batch.target[0] * value).sum(axis=1)
    deviation += np.abs(cash_after - batch.cash_target[0] * value)
    below = np.maximum(batch.lower[0] * value - after, 0.0)
    above = np.maximum(after - batch.upper[0] * value, 0.0)
    return {
        "cash_after": cash_after,
        "deviation": deviation,
        "violation": (below + above).sum(axis=1),
        "turnover": np.abs(trades * price).sum(axis=1),
    }


def _lexicographic_best(
    first: np.ndarray, second: np.ndarray, ok: np.ndarray
) -> tuple[float, float]:
    best_first = first[ok].min()
    ties = ok & (first <= best_first + 1e-9)
    return float(best_first), float(second[ties].min())


def _score_one(batch: AccountBatch, quantity: np.ndarray) -> dict[str, float]:
    return {k: float(v[0]) for k, v in _scores(batch, quantity[None]).items()}


CASES = [(seed, k, seed % 3 == 0) for seed in range(24) for k in (2, 3)] + [
    (100 + seed, 4, seed % 2 == 0) for seed in range(6)
]


@pytest.mark.parametrize(("seed", "k", "non_model"), CASES)
def test_best_fit_matches_exhaustive_search(seed: int, k: int, non_model: bool) -> None:
    batch = _account(np.random.default_rng(seed), k, non_model=non_model)
    trades, _ = _grid(batch)
    s = _scores(batch, trades)
    want = _lexicographic_best(s["deviation"], s["turnover"], s["cash_after"] >= 0)
    result = best_fit(batch, 0)
    got = _score_one(batch, result.quantity)
    assert result.status is SolveStatus.OPTIMAL
    assert got["cash_after"] >= -1e-9
    assert got["deviation"] == pytest.approx(want[0], abs=TOL)
    assert got["turnover"] <= want[1] + TOL


@pytest.mark.parametrize(("seed", "k", "non_model"), CASES)
def test_minimum_transaction_matches_exhaustive_search(seed: int, k: int, non_model: bool) -> None:
    batch = _account(np.random.default_rng(seed), k, non_model=non_model)
    trades, _ = _grid(batch)
    s = _scores(batch, trades)
    value = batch.cash[0] + batch.quantity[0] @ batch.price[0]
    floor = max(
        0.0,
        min(
            batch.cash[0] + float((batch.sell_limit[0] * batch.price[0])[~batch.in_model[0]].sum()),
            batch.cash_target[0] * value,
        ),
    )
    ok = s["cash_after"] >= floor - 1e-9
    want = _lexicographic_best(s["violation"], s["turnover"], ok)
    result = minimum_transaction(batch, 0)
    got = _score_one(batch, result.quantity)
    assert result.status is SolveStatus.OPTIMAL
    assert got["cash_after"] >= floor - 1e-6
    assert got["violation"] == pytest.approx(want[0], abs=TOL)
    assert got["turnover"] <= want[1] + TOL


def test_rules_are_honoured() -> None:
    """A buy-blocked line is never bought; a sell limit is never passed."""
    for seed in range(12):
        batch = _account(np.random.default_rng(seed), 3, non_model=False)
        sell_limit = batch.quantity.copy()
        sell_limit[0, 0] = 0.0
        buy_allowed = batch.buy_allowed.copy()
        buy_allowed[0, 1] = False
        ruled = batch.with_rules(sell_limit=sell_limit, buy_allowed=buy_allowed)
        for solve in (best_fit, minimum_transaction):
            q = solve(ruled, 0).quantity
            assert q[0] >= 0.0
            assert q[1] <= 0.0
            assert np.all(-q <= sell_limit[0] + 1e-12)


def _rounded(batch: AccountBatch, method: Method, *, fractional: bool = False) -> np.ndarray:
    out: np.ndarray = propose(batch, method, TradeOptions(fractional=fractional)).quantity[0]
    return out


@pytest.mark.parametrize("seed", range(30))
def test_best_fit_never_farther_than_rebalance_to_target(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    batch = _account(rng, int(rng.integers(2, 5)), non_model=bool(seed % 2), large=seed >= 15)
    fit = _score_one(batch, best_fit(batch, 0).quantity)
    rtt = _score_one(batch, _rounded(batch, Method.REBALANCE_TO_TARGET))
    assert fit["deviation"] <= rtt["deviation"] + TOL


UNIT = 0.001


def test_minimum_transaction_never_trades_more_than_tolerance() -> None:
    """Where both reach every band, Minimum Transaction trades no more than rebalance to
    tolerance. Rebalance to tolerance buys up to the minimum and then rounds toward zero, so
    "reaches" allows it one share unit per line; Minimum Transaction must reach exactly, so
    the two may differ by one unit per line each way (``slack``)."""
    compared = 0
    for seed in range(40):
        rng = np.random.default_rng(2000 + seed)
        batch = _account(rng, int(rng.integers(2, 5)), non_model=bool(seed % 2), large=True)
        unit_dollars = float(batch.price[0].sum()) * UNIT
        slack = 2.0 * unit_dollars
        mt = _score_one(batch, minimum_transaction(batch, 0, unit=UNIT).quantity)
        rtt = _score_one(batch, _rounded(batch, Method.REBALANCE_TO_TOLERANCE, fractional=True))
        assert mt["violation"] <= rtt["violation"] + TOL
        if mt["violation"] <= TOL and rtt["violation"] <= unit_dollars:
            compared += 1
            assert mt["turnover"] <= rtt["turnover"] + slack
    assert compared >= 20


def test_batch_equals_single_on_threads() -> None:
    rows = [_account(np.random.default_rng(500 + s), 3, non_model=s % 2 == 0) for s in range(6)]
    batch = stack_batches(rows)
    for solve, solve_batch in (
        (best_fit, best_fit_batch),
        (minimum_transaction, minimum_transaction_batch),
    ):
        together = solve_batch(batch, workers=2)
        for i, one in enumerate(rows):
            single = solve(one, 0).quantity
            np.testing.assert_array_equal(together.quantity[i, : single.shape[0]], single)
        assert np.all(together.status == SolveStatus.OPTIMAL)


def _short_of_cash(rng: np.random.Generator, *, exact: bool = True) -> AccountBatch:
    """Three lines, no cash: A sits below its minimum, B and C inside wide bands, so A's buy
    must be funded by extra sells of B and C (the subset-sum case of the shortcut). With
    ``exact`` B costs half of A to the cent, so some extra sells raise exactly what A's buy
    needs; otherwise all three prices are drawn apart and the least covering sum decides."""
    half = float(rng.integers(250, 2000)) / 100.0
    first = 2.0 * half if exact else float(np.round(rng.uniform(20.0, 60.0), 2))
    price = np.array([first, half, float(np.round(rng.uniform(5.0, 40.0), 2))])
    qty = np.array([0.0, rng.integers(10, 16), rng.integers(8, 14)], dtype=np.float64)
    target = np.array([0.2, 0.4, 0.4])
    lower = np.array([float(rng.uniform(0.02, 0.08)), 0.05, 0.05])
    upper = np.array([0.6, 0.9, 0.9])
    return make_batch(
        price=price[None],
        quantity=qty[None],
        target=target[None],
        lower=lower[None],
        upper=upper[None],
        in_model=np.ones((1, 3), dtype=bool),
        valid=np.ones((1, 3), dtype=bool),
        cash=np.zeros(1),
        cash_target=np.zeros(1),
    )


@pytest.mark.parametrize("seed", range(20))
def test_extra_sells_match_exhaustive_search(seed: int) -> None:
    batch = _short_of_cash(np.random.default_rng(3000 + seed))
    p = account_problem(batch, 0, 1.0)
    assert minimum_transaction_shortcut(p, cash_floor(p)) is not None
    trades, _ = _grid(batch)
    s = _scores(batch, trades)
    want = _lexicographic_best(s["violation"], s["turnover"], s["cash_after"] >= 0)
    got = _score_one(batch, minimum_transaction(batch, 0).quantity)
    assert got["cash_after"] >= -1e-9
    assert got["violation"] == pytest.approx(want[0], abs=TOL)
    assert got["turnover"] <= want[1] + TOL


@pytest.mark.parametrize("seed", range(20))
def test_least_covering_sells_match_exhaustive_search(seed: int) -> None:
    """Prices drawn apart: no sells raise the buy's cost to the cent, and the shortcut's
    exact least covering sum still proves the optimum."""
    batch = _short_of_cash(np.random.default_rng(5000 + seed), exact=False)
    p = account_problem(batch, 0, 1.0)
    proven = minimum_transaction_shortcut(p, cash_floor(p))
    assert proven is not None
    trades, _ = _grid(batch)
    s = _scores(batch, trades)
    want = _lexicographic_best(s["violation"], s["turnover"], s["cash_after"] >= 0)
    got = _score_one(batch, quantities(p, proven, batch.width))
    assert got["cash_after"] >= -1e-9
    assert got["violation"] == pytest.approx(want[0], abs=TOL)
    assert got["turnover"] == pytest.approx(want[1], abs=1e-6)
