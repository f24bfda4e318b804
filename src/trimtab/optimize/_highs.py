"""A thin call into HiGHS for one small mixed-integer program, built as plain arrays.

No modelling layer: the caller gives the objective, bounds, a column-wise sparse matrix and
row bounds; this module passes them to HiGHS, runs it under a time limit and reads back the
column values. HiGHS is driven through its core binding (``highspy._core._Highs``): the
public ``highspy.Highs`` wrapper prints a banner on standard output on first use, which would
corrupt the JSON that ``trimtab propose`` writes there.

HiGHS keeps one thread scheduler per thread of the process, created by the first solve on
that thread with that solve's ``threads`` option; a later solve on the same thread that asks
for another number of threads fails at once. Another library of the same process (cvxpy,
PyPortfolioOpt, highspy itself) may already have solved on the caller's thread, so every
solve here runs on a thread of trimtab's own (:data:`_POOL`), where only trimtab's
single-thread solves ever run, and nothing of the caller's scheduler is touched.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum

import highspy
import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float64]
Index = npt.NDArray[np.int32]

INF = float("inf")
MIP_ABS_GAP = 0.01
"""Dollars: branch and bound stops when the incumbent is within a cent of the bound, so a
solution reported optimal is optimal to the cent. Money moves in cents; asking for less
turns the programs' subset-sum cores (which whole units sum closest to an amount) into
long proofs about fractions of a cent."""

NODE_LIMIT = 20_000
"""Branch-and-bound nodes per stage: a budget of work, so that a search the budget ends
ends at the same point on every run (the time limit is a safety net above it)."""

_local = threading.local()
_POOL = ThreadPoolExecutor(
    max_workers=max(os.cpu_count() or 1, 1), thread_name_prefix="trimtab-highs"
)


class Outcome(Enum):
    """How a solve ended."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    LIMIT = "limit"
    """The time limit was hit: ``x`` holds the best solution found so far, if any."""
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Solution:
    """Column values (``None`` when HiGHS has no feasible point) and how the solve ended."""

    outcome: Outcome
    x: Vector | None


@dataclass(frozen=True, slots=True)
class Program:
    """Constraints ``row_lower <= A x <= row_upper`` and column bounds; objectives come apart.

    ``A`` is column-wise: column ``j`` holds ``value[start[j]:start[j+1]]`` in rows
    ``index[start[j]:start[j+1]]``. ``integer`` marks the integer columns.
    """

    col_lower: Vector
    col_upper: Vector
    row_lower: Vector
    row_upper: Vector
    start: Index
    index: Index
    value: Vector
    integer: npt.NDArray[np.bool_]


def _solver() -> highspy._core._Highs:
    """One HiGHS instance per thread, reused across solves (clearing the model each time)."""
    h: highspy._core._Highs | None = getattr(_local, "highs", None)
    if h is None:
        h = highspy._core._Highs()
        h.setOptionValue("output_flag", False)
        # One account is one small program: parallel workers only contend for the cores
        # (callers parallelise across accounts), and restarts cost more than they save.
        h.setOptionValue("threads", 1)
        h.setOptionValue("mip_allow_restart", False)
        # Symmetry detection finds nothing in these programs (every line has its own price
        # and target) and was measured to take about half the solve time.
        h.setOptionValue("mip_detect_symmetry", False)
        h.setOptionValue("mip_rel_gap", 0.0)
        h.setOptionValue("mip_abs_gap", MIP_ABS_GAP)
        h.setOptionValue("mip_max_nodes", NODE_LIMIT)
        h.setOptionValue("random_seed", 0)
        _local.highs = h
    return h


def _read(h: highspy._core._Highs) -> Solution:
    model_status = h.getModelStatus()
    feasible = h.getInfo().primal_solution_status == highspy.kSolutionStatusFeasible
    x = np.asarray(h.getSolution().col_value, dtype=np.float64) if feasible else None
    if model_status == highspy.HighsModelStatus.kOptimal:
        return Solution(Outcome.OPTIMAL, x)
    if model_status in (
        highspy.HighsModelStatus.kInfeasible,
        highspy.HighsModelStatus.kUnboundedOrInfeasible,
    ):
        return Solution(Outcome.INFEASIBLE, None)
    if model_status in (
        highspy.HighsModelStatus.kTimeLimit,
        highspy.HighsModelStatus.kInterrupt,
        highspy.HighsModelStatus.kSolutionLimit,
        highspy.HighsModelStatus.kIterationLimit,
    ):
        return Solution(Outcome.LIMIT, x)
    return Solution(Outcome.ERROR, x)


def solve_lexicographic(
    program: Program, objectives: list[Vector], slack: float, *, time_limit: float
) -> Solution:
    """:func:`_solve_lexicographic` on one of trimtab's own solver threads (module docstring);
    the caller's thread waits for it."""
    return _POOL.submit(_solve_lexicographic, program, objectives, slack, time_limit).result()


def _solve_lexicographic(
    program: Program, objectives: list[Vector], slack: float, time_limit: float
) -> Solution:
    """Minimise ``objectives[0] @ x``, then ``objectives[1] @ x`` among the solutions whose
    first objective is within ``slack`` of its optimum, and so on.

    Each later stage adds the row ``objectives[i] @ x <= optimum_i + slack`` and starts from the
    previous stage's solution. All stages share ``time_limit`` seconds; when it runs out the
    best solution of the stage that was running is returned with :attr:`Outcome.LIMIT` (its
    earlier objectives are within ``slack`` of their optima unless it is the first stage).
    """
    h = _solver()
    h.clearModel()
    p = program
    n = int(p.col_lower.shape[0])
    status = h.passModel(
        n,
        int(p.row_lower.shape[0]),
        int(p.value.shape[0]),
        int(highspy.MatrixFormat.kColwise.value),
        int(highspy.ObjSense.kMinimize.value),
        0.0,
        objectives[0],
        p.col_lower,
        p.col_upper,
        p.row_lower,
        p.row_upper,
        p.start,
        p.index,
        p.value,
        p.integer.astype(np.int32),
    )
    if status == highspy.HighsStatus.kError:
        return Solution(Outcome.ERROR, None)
    deadline = time.perf_counter() + time_limit
    every = np.arange(n, dtype=np.int32)
    best = Solution(Outcome.ERROR, None)
    for stage, cost in enumerate(objectives):
        if stage > 0:
            assert best.x is not None
            previous = objectives[stage - 1]
            used = np.flatnonzero(previous).astype(np.int32)
            bound = float(previous @ best.x) + slack
            h.addRow(-INF, bound, int(used.size), used, previous[used])
            h.changeColsCost(n, every, cost)
            h.setSolution(n, every, best.x)
        left = deadline - time.perf_counter()
        if left <= 0:
            return Solution(Outcome.LIMIT, best.x)
        h.setOptionValue("time_limit", left)
        h.run()
        found = _read(h)
        if found.outcome is not Outcome.OPTIMAL:
            if stage > 0 and found.x is None:
                # A later stage that ends without a point keeps the previous stage's solution.
                return Solution(Outcome.LIMIT, best.x)
            return found
        best = found
    return best


def columnwise(rows: Index, cols: Index, vals: Vector, n_cols: int) -> tuple[Index, Index, Vector]:
    """Column-wise ``(start, index, value)`` of a matrix given as coordinate triplets."""
    order = np.lexsort((rows, cols))
    counts = np.bincount(cols, minlength=n_cols)
    start = np.zeros(n_cols + 1, dtype=np.int32)
    np.cumsum(counts, out=start[1:])
    return start, rows[order].astype(np.int32), vals[order].astype(np.float64)
