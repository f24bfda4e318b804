"""Two accounts on which HiGHS ended in "Solve error" although its search had finished.

HiGHS accepts a point whose rows hold to within its feasibility tolerance (1e-6). When a
program minimises a continuous helper column (a band violation, a deviation, a turnover)
that a row ties to a fractional amount, the search may leave that column exactly one
tolerance short of its row; HiGHS's final check then recomputes the row in the original
model, finds 1e-6 plus rounding, and reports a solve error instead of the optimum. The
programs now have integer columns only, so no helper can rest on the tolerance. Both
accounts come from the hard-shape benchmark (``bench/bench_optimize.py --hard``).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.unit.test_optimize import _grid, _lexicographic_best, _score_one, _scores
from trimtab.core.batch import AccountBatch, make_batch
from trimtab.optimize import SolveStatus, best_fit, minimum_transaction
from trimtab.optimize._highs import Outcome, solve_lexicographic
from trimtab.optimize.problem import account_problem
from trimtab.optimize.programs import best_fit_program, minimum_transaction_program
from trimtab.optimize.solve import _best_fit_sides

TOL = 0.01 + 1e-6


def _one(
    price: list[float],
    quantity: list[float],
    target: list[float],
    lower: list[float],
    upper: list[float],
    cash: float,
    cash_target: float,
) -> AccountBatch:
    k = len(price)
    return make_batch(
        price=np.array([price]),
        quantity=np.array([quantity]),
        target=np.array([target]),
        lower=np.array([lower]),
        upper=np.array([upper]),
        in_model=np.ones((1, k), dtype=bool),
        valid=np.ones((1, k), dtype=bool),
        cash=np.array([cash]),
        cash_target=np.array([cash_target]),
    )


def bands_out_of_reach() -> AccountBatch:
    """Hard account 205 of seed 16: bands too narrow for four dear lines (Minimum
    Transaction's soft-band program)."""
    return _one(
        [313.38, 112.37, 161.65, 312.98],
        [4.0, 1.0, 1.0, 6.0],
        [0.05938049849241604, 0.028291018043576605, 0.6358111384288747, 0.2565173450351327],
        [0.0577578805072687, 0.028243035030170525, 0.6352809773583675, 0.25151999382370477],
        [0.06100311647756339, 0.028339001056982685, 0.6363412994993819, 0.2615146962465606],
        111.26,
        0.02,
    )


def six_lines_little_cash() -> AccountBatch:
    """Hard account 3061 of seed 17: six lines, $12.62 of cash (Best Fit's program)."""
    return _one(
        [111.12, 167.0, 55.66, 126.18, 323.63, 253.54],
        [7.0, 0.0, 2.0, 3.0, 4.0, 2.0],
        [
            0.22821746135393306,
            0.17738406039970775,
            0.1559785641607684,
            0.08760228943253913,
            0.273872358815774,
            0.06694526583727747,
        ],
        [
            0.2192469955284846,
            0.17084191955520042,
            0.15391920332392048,
            0.08682007083434408,
            0.27176177064352985,
            0.06441852781517231,
        ],
        [
            0.23718792717938153,
            0.18392620124421508,
            0.15803792499761635,
            0.08838450803073418,
            0.2759829469880181,
            0.06947200385938264,
        ],
        12.62,
        0.01,
    )


def test_soft_band_program_is_solved_to_optimality() -> None:
    p = account_problem(bands_out_of_reach(), 0, 1.0)
    program, objectives = minimum_transaction_program(p, bands_hard=False)
    solution = solve_lexicographic(program, objectives, 0.01, time_limit=2.0)
    assert solution.outcome is Outcome.OPTIMAL


def test_best_fit_programs_are_solved_to_optimality() -> None:
    p = account_problem(six_lines_little_cash(), 0, 1.0)
    built = best_fit_program(p)
    assert built is not None
    assert solve_lexicographic(*built, 0.01, time_limit=2.0).outcome is Outcome.OPTIMAL
    assert _best_fit_sides(p, 2.0).outcome is Outcome.OPTIMAL


def test_minimum_transaction_is_proven_and_matches_exhaustive_search() -> None:
    batch = bands_out_of_reach()
    result = minimum_transaction(batch, 0)
    assert result.status is SolveStatus.OPTIMAL
    trades, _ = _grid(batch)
    s = _scores(batch, trades)
    value = float(batch.cash[0] + batch.quantity[0] @ batch.price[0])
    floor = max(0.0, min(float(batch.cash[0]), float(batch.cash_target[0]) * value))
    want = _lexicographic_best(s["violation"], s["turnover"], s["cash_after"] >= floor - 1e-9)
    got = _score_one(batch, result.quantity)
    assert got["cash_after"] >= floor - 1e-6
    assert got["violation"] == pytest.approx(want[0], abs=TOL)
    assert got["turnover"] <= want[1] + TOL


def test_best_fit_is_proven_and_no_worse_than_any_trade_near_target() -> None:
    """Six lines are too many to enumerate every trade; every trade within three units of
    each line's target is enumerated instead (the optimum can only be better)."""
    batch = six_lines_little_cash()
    result = best_fit(batch, 0)
    assert result.status is SolveStatus.OPTIMAL
    price, held = batch.price[0], batch.quantity[0]
    value = float(batch.cash[0] + held @ price)
    near = np.floor(batch.target[0] * value / price) - held
    axes = [np.arange(max(n - 3, -h), n + 4) for n, h in zip(near, held, strict=True)]
    trades = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, price.size)
    s = _scores(batch, trades)
    ok = s["cash_after"] >= 0.0
    got = _score_one(batch, result.quantity)
    assert got["cash_after"] >= -1e-9
    assert got["deviation"] <= float(s["deviation"][ok].min()) + TOL


def _small(seed: int, decimals: int) -> AccountBatch:
    rng = np.random.default_rng(9_000 + seed)
    k = 2
    price = np.round(rng.uniform(3.0, 12.0, k), decimals)
    target = rng.dirichlet(np.ones(k)) * 0.98
    return _one(
        price.tolist(),
        rng.integers(0, 4, k).astype(np.float64).tolist(),
        target.tolist(),
        (target * 0.9).tolist(),
        (target * 1.1).tolist(),
        float(np.round(rng.uniform(0.0, 15.0), 2)),
        0.02,
    )


@pytest.mark.parametrize("unit", [1.0, 0.1])
@pytest.mark.parametrize("decimals", [2, 10])
@pytest.mark.parametrize("seed", range(6))
def test_programs_solve_to_the_exhaustive_optimum(seed: int, decimals: int, unit: float) -> None:
    """The programs on their own (no proof first), whole shares or tenths, prices in cents
    (Best Fit's cash deviation in whole units of 1/S dollars) or with ten decimals (Best
    Fit's two programs, one on each side of the cash target), against every trade in share
    units."""
    batch = _small(seed, decimals)
    p = account_problem(batch, 0, unit)
    axes = [np.arange(-s, b + 1) for s, b in zip(p.max_sell, p.max_buy, strict=True)]
    units = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, p.size)
    s = _scores(batch, units * unit)
    value = float(batch.cash[0] + batch.quantity[0] @ batch.price[0])
    floor = max(0.0, min(float(batch.cash[0]), float(batch.cash_target[0]) * value))
    program, objectives = minimum_transaction_program(p, bands_hard=False)
    built = best_fit_program(p)
    assert (built is None) == (decimals == 10)
    cases = (
        (_best_fit_sides(p, 2.0), "deviation", 0.0),
        (
            _best_fit_sides(p, 2.0)
            if built is None
            else solve_lexicographic(*built, 0.01, time_limit=2.0),
            "deviation",
            0.0,
        ),
        (solve_lexicographic(program, objectives, 0.01, time_limit=2.0), "violation", floor),
    )
    for solution, first, keep in cases:
        want = _lexicographic_best(s[first], s["turnover"], s["cash_after"] >= keep - 1e-9)
        assert solution.outcome is Outcome.OPTIMAL
        assert solution.x is not None
        got = _score_one(batch, np.round(solution.x[: p.size]) * unit)
        assert got["cash_after"] >= keep - 1e-6
        assert got[first] == pytest.approx(want[0], abs=TOL)
        assert got["turnover"] <= want[1] + TOL
