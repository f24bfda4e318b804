"""Best Fit (logic 7) and Minimum Transaction (logic 8), one account at a time.

An account the proofs do not settle is solved exactly by HiGHS under a node budget and a
time limit: one small integer program for Minimum Transaction, one on each side of the
cash target for Best Fit (:mod:`trimtab.optimize.programs`). When a limit is hit, the best
solution found so far is used if it is feasible and no worse than the fallback; otherwise
the fallback is used: the rounded result of rebalance to target (Best Fit) or rebalance to
tolerance (Minimum Transaction). Both fallbacks come from the core logics, so they never
overdraw cash, never sell more than ``sell_limit`` and never buy where ``buy_allowed`` is
false.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from trimtab.core.batch import AccountBatch, Shares
from trimtab.core.logics import Plan, rebalance_to_target, rebalance_to_tolerance
from trimtab.core.rounding import round_plan
from trimtab.optimize._highs import MIP_ABS_GAP, Outcome, Solution, solve_lexicographic
from trimtab.optimize.bracket import best_fit_bracket
from trimtab.optimize.problem import (
    AccountProblem,
    Vector,
    account_problem,
    band_violation,
    deviation,
    is_feasible,
    quantities,
    turnover,
)
from trimtab.optimize.programs import (
    best_fit_program,
    best_fit_side_program,
    cash_floor,
    minimum_transaction_program,
)
from trimtab.optimize.shortcut import minimum_transaction_shortcut

DEFAULT_TIME_LIMIT = 2.0
"""Seconds of solver time per account (all stages together): a safety net only. The search
is bounded by its node budget (:data:`~trimtab.optimize._highs.NODE_LIMIT`), which gives the
same answer on a busy machine as on an idle one; a time limit that cut in first would not
(a limit of 0.25 s did, with another process busy on both cores)."""

TIE_DOLLARS = MIP_ABS_GAP
"""Dollars within which a first objective counts as tied when the second one decides: the
solver's optimality gap (a cent)."""


class SolveStatus(IntEnum):
    """How an account's quantities were obtained."""

    OPTIMAL = 0
    """Solved to optimality: the lexicographic optimum, each objective to the cent."""
    INCUMBENT = 1
    """Time limit hit: the best solution found, feasible and no worse than the fallback."""
    FALLBACK = 2
    """Time limit hit (or no solution): the rounded result of the fallback logic."""
    SOLVER_ERROR = 3
    """HiGHS failed (an error, not a limit): the rounded result of the fallback logic."""

    @property
    def proven(self) -> bool:
        """The quantities are proven optimal."""
        return self is SolveStatus.OPTIMAL


@dataclass(frozen=True, slots=True)
class AccountResult:
    """Signed shares per slot of one account (+ buy, − sell), (K,), and how they were found."""

    quantity: Shares
    status: SolveStatus


@dataclass(frozen=True, slots=True)
class OptimizedBatch:
    """Signed shares per slot, (N, K), and a :class:`SolveStatus` code per account, (N,)."""

    quantity: Shares
    status: npt.NDArray[np.int8]


Logic = Callable[[AccountBatch], Plan]
Score = Callable[[AccountProblem, Vector], tuple[float, float]]


def _fallback_units(batch: AccountBatch, p: AccountProblem, logic: Logic) -> Vector:
    one = batch.rows(p.row, p.row + 1)
    rounded = round_plan(one, logic(one), unit=p.unit, min_trade_value=0.0)
    units: Vector = np.round(rounded.quantity[0, p.slots] / p.unit)
    return units


def _units(solution: Solution, p: AccountProblem, floor: float) -> Vector | None:
    if solution.x is None:
        return None
    units: Vector = np.round(solution.x[: p.size])
    units = np.clip(units, -p.max_sell, p.max_buy)
    return units if is_feasible(p, units, floor) else None


def _optimise(
    batch: AccountBatch,
    p: AccountProblem,
    solution: Solution,
    *,
    floor: float,
    score: Score,
    logic: Logic,
) -> AccountResult:
    width = batch.width
    units = _units(solution, p, floor)
    if units is not None and solution.outcome is Outcome.OPTIMAL:
        return AccountResult(quantities(p, units, width), SolveStatus.OPTIMAL)
    fallback = _fallback_units(batch, p, logic)
    if solution.outcome is Outcome.ERROR:
        return AccountResult(quantities(p, fallback, width), SolveStatus.SOLVER_ERROR)
    if units is not None and score(p, units) <= score(p, fallback):
        return AccountResult(quantities(p, units, width), SolveStatus.INCUMBENT)
    return AccountResult(quantities(p, fallback, width), SolveStatus.FALLBACK)


def _best_fit_score(p: AccountProblem, units: Vector) -> tuple[float, float]:
    return deviation(p, units), turnover(p, units)


def _min_transaction_score(p: AccountProblem, units: Vector) -> tuple[float, float]:
    return band_violation(p, units), turnover(p, units)


def _best_fit_sides(p: AccountProblem, time_limit: float) -> Solution:
    """Best Fit where unit values have too many decimals for :func:`best_fit_program`: its
    two programs (cash after at or above its target, and at or below it),
    each solved for deviation; then turnover on each side whose least deviation is within a
    cent of the lesser, bounded by that deviation plus a cent. The answer with the least
    turnover, :attr:`Outcome.OPTIMAL` only when every solve ended optimal or infeasible."""
    deadline = time.perf_counter() + time_limit
    sides: list[tuple[bool, Vector]] = []
    unproven: list[Solution] = []
    for above in (True, False):
        program, (dev, _) = best_fit_side_program(p, cash_above=above)
        s = solve_lexicographic(program, [dev], TIE_DOLLARS, time_limit=_left(deadline))
        if s.outcome is Outcome.OPTIMAL and s.x is not None:
            sides.append((above, np.round(s.x[: p.size])))
        elif s.outcome is not Outcome.INFEASIBLE:
            unproven.append(s)
    if unproven or not sides:
        return _unproven(unproven, [units for _, units in sides])
    least = min(deviation(p, units) for _, units in sides)
    answers: list[Vector] = []
    for above, units in sides:
        if deviation(p, units) > least + TIE_DOLLARS:
            continue
        program, (_, turn) = best_fit_side_program(
            p, cash_above=above, deviation_at_most=least + TIE_DOLLARS
        )
        s = solve_lexicographic(program, [turn], TIE_DOLLARS, time_limit=_left(deadline))
        if s.outcome is Outcome.OPTIMAL and s.x is not None:
            answers.append(np.round(s.x[: p.size]))
        else:
            unproven.append(s)
    if unproven or not answers:
        return _unproven(unproven, answers or [units for _, units in sides])
    return Solution(Outcome.OPTIMAL, min(answers, key=lambda units: turnover(p, units)))


def _left(deadline: float) -> float:
    return max(deadline - time.perf_counter(), 0.0)


def _unproven(solutions: list[Solution], found: list[Vector]) -> Solution:
    """A solve that ended neither optimal nor infeasible: :attr:`Outcome.ERROR` if any
    failed, else :attr:`Outcome.LIMIT`, with a point found if there is one."""
    failed = any(s.outcome is Outcome.ERROR for s in solutions) or not (solutions or found)
    points = found + [s.x[:] for s in solutions if s.x is not None]
    return Solution(Outcome.ERROR if failed else Outcome.LIMIT, points[0] if points else None)


def best_fit(
    batch: AccountBatch, row: int, *, unit: float = 1.0, time_limit: float = DEFAULT_TIME_LIMIT
) -> AccountResult:
    """Logic 7 for account ``row``: whole units (``unit`` shares) that minimise the total
    absolute dollar deviation from target (model lines, cash against its target), then the
    dollars traded. Buys only model lines that ``buy_allowed``; never sells more than
    ``sell_limit``; cash after >= 0. Held non-model securities are sold in full. An account
    whose optimum :mod:`trimtab.optimize.bracket` proves directly is not sent to the solver."""
    p = account_problem(batch, row, unit)
    if p.size == 0:
        return AccountResult(quantities(p, np.zeros(0), batch.width), SolveStatus.OPTIMAL)
    proven = best_fit_bracket(p)
    if proven is not None:
        return AccountResult(quantities(p, proven, batch.width), SolveStatus.OPTIMAL)
    built = best_fit_program(p)
    if built is None:
        solution = _best_fit_sides(p, time_limit)
    else:
        solution = solve_lexicographic(*built, TIE_DOLLARS, time_limit=time_limit)
    return _optimise(
        batch, p, solution, floor=0.0, score=_best_fit_score, logic=rebalance_to_target
    )


def minimum_transaction(
    batch: AccountBatch, row: int, *, unit: float = 1.0, time_limit: float = DEFAULT_TIME_LIMIT
) -> AccountResult:
    """Logic 8 for account ``row``: whole units that put every model line inside its band
    at the least dollars traded; where no trade set reaches every band, the least total
    dollars outside the bands first. Buys never take cash below ``min(cash, cash target)``
    (nor below 0); the rules are honoured as in :func:`best_fit`. An account whose optimum
    :mod:`trimtab.optimize.shortcut` proves directly is not sent to the solver."""
    p = account_problem(batch, row, unit)
    if p.size == 0:
        return AccountResult(quantities(p, np.zeros(0), batch.width), SolveStatus.OPTIMAL)
    floor = cash_floor(p)
    proven = minimum_transaction_shortcut(p, floor)
    if proven is not None:
        return AccountResult(quantities(p, proven, batch.width), SolveStatus.OPTIMAL)
    program, objectives = minimum_transaction_program(p, bands_hard=True)
    solution = solve_lexicographic(program, objectives, TIE_DOLLARS, time_limit=time_limit)
    if solution.outcome is Outcome.INFEASIBLE:
        program, objectives = minimum_transaction_program(p, bands_hard=False)
        solution = solve_lexicographic(program, objectives, TIE_DOLLARS, time_limit=time_limit)
    return _optimise(
        batch,
        p,
        solution,
        floor=floor,
        score=_min_transaction_score,
        logic=rebalance_to_tolerance,
    )


def _batch(
    batch: AccountBatch,
    solve_one: Callable[..., AccountResult],
    unit: float,
    time_limit: float,
    workers: int,
) -> OptimizedBatch:
    quantity = np.zeros((batch.size, batch.width))
    status = np.zeros(batch.size, dtype=np.int8)

    def one(row: int) -> AccountResult:
        return solve_one(batch, row, unit=unit, time_limit=time_limit)

    if workers > 1 and batch.size > 1:
        # HiGHS releases the GIL while it solves; each thread keeps its own instance.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(one, range(batch.size)))
    else:
        results = [one(row) for row in range(batch.size)]
    for row, result in enumerate(results):
        quantity[row] = result.quantity
        status[row] = result.status
    return OptimizedBatch(quantity=quantity, status=status)


def best_fit_batch(
    batch: AccountBatch,
    *,
    unit: float = 1.0,
    time_limit: float = DEFAULT_TIME_LIMIT,
    workers: int = 1,
) -> OptimizedBatch:
    """:func:`best_fit` for every account of ``batch``, ``time_limit`` seconds per account,
    on ``workers`` threads."""
    return _batch(batch, best_fit, unit, time_limit, workers)


def minimum_transaction_batch(
    batch: AccountBatch,
    *,
    unit: float = 1.0,
    time_limit: float = DEFAULT_TIME_LIMIT,
    workers: int = 1,
) -> OptimizedBatch:
    """:func:`minimum_transaction` for every account, ``time_limit`` seconds per account,
    on ``workers`` threads."""
    return _batch(batch, minimum_transaction, unit, time_limit, workers)
