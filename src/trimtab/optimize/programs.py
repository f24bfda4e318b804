"""The Best Fit and Minimum Transaction integer programs of one account, as plain arrays.

Columns (``n`` model lines): ``x`` — signed share units traded per line (integer, + buy);
then continuous helpers, all >= 0. Every row is linear in dollars.

Best Fit (logic 7)::

    minimise   sum(d) + dc                 total absolute dollar deviation from target
    then       sum(tau)                    turnover, dollars
    d_j   >= |held_j + a_j x_j - target_j|  (two rows each, and a chord cut, below)
    dc    >= |cash - a @ x - cash_target|
    tau_j >= |a_j x_j|
    a @ x <= cash                          never overdraw
    -max_sell <= x <= max_buy              rules: sell limits, buy permissions

Minimum Transaction (logic 8)::

    minimise   sum(v)                      dollars outside the bands
    then       sum(tau)                    turnover, dollars
    lower_j - v_j <= held_j + a_j x_j <= upper_j + v_j
    a @ x <= cash - cash_floor             cash_floor = max(0, min(cash, cash_target))

``a_j`` is dollars per unit. Most accounts can reach every band, so Minimum Transaction is
first tried with ``v`` fixed at 0 (then the first stage's optimum is 0 and one solve is
enough); only when that is infeasible are both stages solved.
"""

from __future__ import annotations

import numpy as np

from trimtab.optimize._highs import INF, Program, Vector, columnwise
from trimtab.optimize.problem import AccountProblem


class _Triplets:
    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []

    def add(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray | float) -> None:
        rows, cols = np.broadcast_arrays(rows, cols)
        self.rows.append(rows.ravel())
        self.cols.append(cols.ravel())
        self.vals.append(np.broadcast_to(np.asarray(vals, dtype=np.float64), rows.shape).ravel())

    def program(
        self,
        n_cols: int,
        col_lower: Vector,
        col_upper: Vector,
        row_lower: Vector,
        row_upper: Vector,
        n_integer: int,
    ) -> Program:
        start, index, value = columnwise(
            np.concatenate(self.rows).astype(np.int32),
            np.concatenate(self.cols).astype(np.int32),
            np.concatenate(self.vals),
            n_cols,
        )
        integer = np.zeros(n_cols, dtype=bool)
        integer[:n_integer] = True
        return Program(
            col_lower=col_lower,
            col_upper=col_upper,
            row_lower=row_lower,
            row_upper=row_upper,
            start=start,
            index=index,
            value=value,
            integer=integer,
        )


def _abs_rows(t: _Triplets, first_row: int, helper: np.ndarray, x: np.ndarray, a: Vector) -> None:
    """Rows ``helper - a x >= lo`` then ``helper + a x >= -lo`` (``|a x + c| <= helper``)."""
    n = x.shape[0]
    j = np.arange(n)
    t.add(first_row + j, helper, 1.0)
    t.add(first_row + j, x, -a)
    t.add(first_row + n + j, helper, 1.0)
    t.add(first_row + n + j, x, a)


def best_fit_program(p: AccountProblem) -> tuple[Program, list[Vector]]:
    """The Best Fit program of ``p`` and its two objectives (deviation, then turnover)."""
    n = p.size
    a = p.unit_value
    x = np.arange(n)
    d, tau, dc = n + x, 2 * n + x, 3 * n
    t = _Triplets()
    _abs_rows(t, 0, d, x, a)
    _abs_rows(t, 2 * n, tau, x, a)
    # Chord cuts: |gap_j + a_j x_j| is convex in x_j, so over whole units it lies above the
    # chord through its values at the two units around its kink. The cut removes no integer
    # point and makes each line's relaxation exact, which keeps branch and bound small.
    gap = p.held - p.target
    lo = np.floor(-gap / a)
    under = gap + a * lo
    slope = a + 2.0 * under
    chord_row = 4 * n
    t.add(chord_row + x, d, 1.0)
    t.add(chord_row + x, x, -slope)
    cash_row = 5 * n
    t.add(np.full(n, cash_row), x, a)
    t.add(np.array([cash_row + 1]), np.array([dc]), 1.0)
    t.add(np.full(n, cash_row + 1), x, a)
    t.add(np.array([cash_row + 2]), np.array([dc]), 1.0)
    t.add(np.full(n, cash_row + 2), x, -a)
    spare = p.cash - p.cash_target
    chord = -under - slope * lo
    row_lower = np.concatenate([gap, -gap, np.zeros(2 * n), chord, [-INF, spare, -spare]])
    row_upper = np.concatenate([np.full(5 * n, INF), [p.cash, INF, INF]])
    n_cols = 3 * n + 1
    # No lexicographic optimum buys past the unit above target: one unit less would leave
    # the line still above target (deviation down a_j, cash deviation up at most a_j), trade
    # less and keep more cash. Capping buys there removes no optimum and shrinks the search.
    buy_cap = np.minimum(p.max_buy, np.maximum(lo + 1.0, 0.0))
    col_lower = np.concatenate([-p.max_sell, np.zeros(2 * n + 1)])
    col_upper = np.concatenate([buy_cap, np.full(2 * n + 1, INF)])
    program = t.program(n_cols, col_lower, col_upper, row_lower, row_upper, n)
    dev = np.zeros(n_cols)
    dev[n : 2 * n] = 1.0
    dev[dc] = 1.0
    turn = np.zeros(n_cols)
    turn[2 * n : 3 * n] = 1.0
    return program, [dev, turn]


def cash_floor(p: AccountProblem) -> float:
    """Dollars Minimum Transaction leaves in cash at least: buys never dig into the cash
    target, and an account below its cash target is not made to raise it."""
    return max(0.0, min(p.cash, p.cash_target))


def minimum_transaction_program(
    p: AccountProblem, *, bands_hard: bool
) -> tuple[Program, list[Vector]]:
    """The Minimum Transaction program of ``p`` and its objectives.

    With ``bands_hard`` every band is a constraint (violations fixed at 0) and the only
    objective is turnover; otherwise violations are minimised first, then turnover.
    """
    n = p.size
    a = p.unit_value
    x = np.arange(n)
    v, tau = n + x, 2 * n + x
    t = _Triplets()
    j = np.arange(n)
    t.add(j, x, a)
    t.add(j, v, 1.0)
    t.add(n + j, x, a)
    t.add(n + j, v, -1.0)
    _abs_rows(t, 2 * n, tau, x, a)
    t.add(np.full(n, 4 * n), x, a)
    row_lower = np.concatenate([p.lower - p.held, np.full(n, -INF), np.zeros(2 * n), [-INF]])
    row_upper = np.concatenate(
        [np.full(n, INF), p.upper - p.held, np.full(2 * n, INF), [p.cash - cash_floor(p)]]
    )
    n_cols = 3 * n
    col_lower = np.concatenate([-p.max_sell, np.zeros(2 * n)])
    col_upper = np.concatenate(
        [p.max_buy, np.zeros(n) if bands_hard else np.full(n, INF), np.full(n, INF)]
    )
    program = t.program(n_cols, col_lower, col_upper, row_lower, row_upper, n)
    violation = np.zeros(n_cols)
    violation[n : 2 * n] = 1.0
    turn = np.zeros(n_cols)
    turn[2 * n :] = 1.0
    return program, [turn] if bands_hard else [violation, turn]
