"""The Best Fit and Minimum Transaction integer programs of one account, as plain arrays.

Every column is an integer: the first ``n`` are ``x``, the signed share units traded per
model line (+ buy); the others count units too. An objective is a sum of dollars per unit
over them. ``a_j`` is dollars per unit of line ``j``.

Why integers only: HiGHS accepts a point whose rows hold to within its feasibility
tolerance (1e-6). A continuous helper that an objective minimises (``d_j >= |e_j|`` and the
like) can be left exactly one tolerance short of its row, and HiGHS's final check, which
recomputes the rows in the original model, then finds the tolerance plus rounding and
reports a solve error instead of the optimum (1 hard account in about 6,000). With
integer columns nothing rests on the tolerance. Each line's cost is convex over whole
units, so it is written exactly as a base unit plus counts of units moved from it, each
count priced at its slope; a first unit whose slope differs is a count of its own (0 or 1).
Counts taken out of order (a dearer one before a cheaper one) only overstate the cost, so
the least cost, and any bound on it, is exact.

Best Fit (logic 7), ``x_j = f_j − dn_j + up1_j + up2_j`` with ``f_j`` the unit at or just
below target and ``u_j`` the line's shortfall there; the cash deviation ``|spare − a @ x|``
(``spare`` = cash − cash target) in whole units of ``1/S`` dollars, ``S`` the power of ten
that makes every ``A_j = a_j S`` whole (100 for prices in cents and whole shares), with
``Y0 + φ = spare S``::

    minimise   Σ a_j dn_j + (a_j − 2 u_j) up1_j + a_j up2_j      deviation of the lines
               + (ym + (1 − 2 φ) yp1 + yp2) / S                  cash against its target
    then       Σ a_j (p_j + q_j)                                 turnover, x = p − q
    Σ A_j x_j + ym >= Y0,  Σ A_j x_j − yp1 − yp2 <= Y0
    a @ x <= cash                        never overdraw
    -max_sell <= x <= max_buy            rules: sell limits, buy permissions

Where there is no such ``S`` (unit values with many decimals), the cash deviation is linear
on each side of the cash target, and Best Fit is two programs, one per side
(:func:`best_fit_side_program`). The single program is preferred: a side whose cash lies in
a narrow window (a cash target just below the cash) is a subset-sum that HiGHS can take
thousands of nodes to settle.

Minimum Transaction (logic 8), ``x_j = lo_j + m_j − d1_j − d2_j + u1_j + u2_j`` with
``[lo_j, hi_j]`` the units that leave the line least far outside its band
(:func:`least_violation_units`), ``0 <= m_j <= hi_j − lo_j``::

    minimise   Σ (a_j − s_j) d1_j + a_j d2_j + (a_j − t_j) u1_j + a_j u2_j   dollars outside
    then       Σ a_j (p_j + q_j)                                             turnover
    a @ x <= cash − cash_floor          cash_floor = max(0, min(cash, cash_target))

``s_j`` / ``t_j`` are what the first unit below ``lo_j`` / above ``hi_j`` saves of a full
unit's violation (the room left inside the band). Most accounts can put every line on its
interval, so Minimum Transaction is first tried with the moves ``d, u`` fixed at 0 (one
stage, turnover only); only when that is infeasible are both stages solved.
"""

from __future__ import annotations

import numpy as np

from trimtab.optimize._highs import INF, Program, Vector, columnwise
from trimtab.optimize.problem import AccountProblem

UNIT_EPSILON = 1e-9
"""Share units within this of a whole unit count as that unit when a band edge or a target
is divided by the unit value (floating-point noise)."""
MAX_SCALE_DIGITS = 8
"""Most decimal places of dollars per unit for which the cash deviation is counted in whole
units of ``10**-digits`` dollars."""
MAX_SCALED = 2.0**40
"""Largest cash deviation, in those units, counted so (row activities stay far inside the
53 bits of a double)."""


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
        col_lower: Vector,
        col_upper: Vector,
        row_lower: Vector,
        row_upper: Vector,
        n_integer: int,
    ) -> Program:
        n_cols = int(col_lower.shape[0])
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


def _turnover_split(t: _Triplets, row: int, x: np.ndarray, p: np.ndarray, q: np.ndarray) -> None:
    """Rows ``x_j − p_j + q_j = 0`` from ``row`` on (``|x_j| <= p_j + q_j``)."""
    t.add(row + np.arange(x.shape[0]), x, 1.0)
    t.add(row + np.arange(x.shape[0]), p, -1.0)
    t.add(row + np.arange(x.shape[0]), q, 1.0)


def _scale(a: Vector) -> float | None:
    """The least power of ten ``S`` (up to :data:`MAX_SCALE_DIGITS` digits) that makes every
    ``a_j S`` whole, or ``None``."""
    for digits in range(MAX_SCALE_DIGITS + 1):
        scaled = a * 10.0**digits
        if np.allclose(scaled, np.round(scaled), rtol=0.0, atol=1e-6):
            return float(10.0**digits)
    return None


def best_fit_program(p: AccountProblem) -> tuple[Program, list[Vector]] | None:
    """The Best Fit program of ``p`` and its two objectives (deviation, then turnover), the
    cash deviation counted in whole units of ``1/S`` dollars; ``None`` when no power of ten
    ``S`` makes every unit value whole (then :func:`best_fit_side_program`)."""
    n = p.size
    a = p.unit_value
    j = np.arange(n)
    x, dn, up1, up2, pos, neg = (k * n + j for k in range(6))
    gap = p.held - p.target
    f = np.floor(-gap / a + UNIT_EPSILON)
    short = np.clip(-(gap + a * f), 0.0, a)
    t = _Triplets()
    t.add(j, x, 1.0)  # x + dn − up1 − up2 = f
    t.add(j, dn, 1.0)
    t.add(j, up1, -1.0)
    t.add(j, up2, -1.0)
    _turnover_split(t, n, x, pos, neg)
    cash_row = 2 * n
    t.add(np.full(n, cash_row), x, a)
    row_lower: list[Vector] = [f, np.zeros(n), np.array([-INF])]
    row_upper: list[Vector] = [f, np.zeros(n), np.array([p.cash])]
    # No lexicographic optimum buys past the unit above target: one unit less would leave
    # the line still above target (deviation down a_j, cash deviation up at most a_j), trade
    # less and keep more cash. Capping buys there removes no optimum and shrinks the search.
    buy_cap = np.minimum(p.max_buy, np.maximum(f + 1.0, 0.0))
    col_lower = [-p.max_sell, np.zeros(5 * n)]
    col_upper = [buy_cap, np.full(n, INF), np.ones(n), np.full(3 * n, INF)]
    dev = [np.zeros(n), a, a - 2.0 * short, a, np.zeros(2 * n)]
    turn = [np.zeros(3 * n), np.zeros(n), a, a]
    spare = p.cash - p.cash_target
    scale = _scale(a)
    if scale is None or abs(spare * scale) > MAX_SCALED:
        return None
    # ym >= Y0 − Σ A x and yp1 + yp2 >= Σ A x − Y0: the cash deviation in whole units of
    # 1/S dollars, Y0 + φ = spare S, yp1 (0 or 1) the first unit above Y0 (1 − 2φ).
    whole = np.floor(spare * scale + UNIT_EPSILON)
    frac = min(max(spare * scale - whole, 0.0), 1.0)
    scaled = np.round(a * scale)
    y = 6 * n + np.arange(3)
    t.add(np.full(n, cash_row + 1), x, scaled)
    t.add(np.array([cash_row + 1]), y[:1], 1.0)
    t.add(np.full(n, cash_row + 2), x, scaled)
    t.add(np.full(2, cash_row + 2), y[1:], -1.0)
    row_lower.append(np.array([whole, -INF]))
    row_upper.append(np.array([INF, whole]))
    col_lower.append(np.zeros(3))
    col_upper.append(np.array([INF, 1.0, INF]))
    dev.append(np.array([1.0, 1.0 - 2.0 * frac, 1.0]) / scale)
    turn.append(np.zeros(3))
    program = t.program(
        np.concatenate(col_lower),
        np.concatenate(col_upper),
        np.concatenate(row_lower),
        np.concatenate(row_upper),
        6 * n + 3,
    )
    return program, [np.concatenate(dev), np.concatenate(turn)]


def best_fit_side_program(
    p: AccountProblem, *, cash_above: bool, deviation_at_most: float | None = None
) -> tuple[Program, list[Vector]]:
    """The Best Fit program of ``p`` on one side of the cash target (``cash_above``: cash
    after at or above it, else at or below it) and its two objectives (deviation, then
    turnover). With ``deviation_at_most`` (dollars, the whole deviation) the deviation is
    bounded by a row, for a turnover stage whose bound comes from the other side's
    program too."""
    n = p.size
    a = p.unit_value
    j = np.arange(n)
    x, dn, up1, up2, pos, neg = (k * n + j for k in range(6))
    gap = p.held - p.target
    f = np.floor(-gap / a + UNIT_EPSILON)
    short = np.clip(-(gap + a * f), 0.0, a)
    spare = p.cash - p.cash_target
    sign = -1.0 if cash_above else 1.0  # cash deviation = sign (a @ x − spare)
    dev = np.concatenate([sign * a, a, a - 2.0 * short, a, np.zeros(2 * n)])
    t = _Triplets()
    t.add(j, x, 1.0)  # x + dn − up1 − up2 = f
    t.add(j, dn, 1.0)
    t.add(j, up1, -1.0)
    t.add(j, up2, -1.0)
    _turnover_split(t, n, x, pos, neg)
    t.add(np.full(n, 2 * n), x, a)  # never overdraw
    t.add(np.full(n, 2 * n + 1), x, a)  # the side of the cash target
    row_lower = [f, np.zeros(n), np.array([-INF, -INF if cash_above else spare])]
    row_upper = [f, np.zeros(n), np.array([p.cash, spare if cash_above else INF])]
    if deviation_at_most is not None:
        constant = float(short.sum()) - sign * spare + p.kept_non_model
        used = np.flatnonzero(dev)
        t.add(np.full(used.size, 2 * n + 2), used, dev[used])
        row_lower.append(np.array([-INF]))
        row_upper.append(np.array([deviation_at_most - constant]))
    # No lexicographic optimum buys past the unit above target: one unit less would leave
    # the line still above target (deviation down a_j, cash deviation up at most a_j), trade
    # less and keep more cash. Capping buys there removes no optimum and shrinks the search.
    buy_cap = np.minimum(p.max_buy, np.maximum(f + 1.0, 0.0))
    program = t.program(
        np.concatenate([-p.max_sell, np.zeros(5 * n)]),
        np.concatenate([buy_cap, np.full(n, INF), np.ones(n), np.full(3 * n, INF)]),
        np.concatenate(row_lower),
        np.concatenate(row_upper),
        6 * n,
    )
    turn = np.concatenate([np.zeros(4 * n), a, a])
    return program, [dev, turn]


def cash_floor(p: AccountProblem) -> float:
    """Dollars Minimum Transaction leaves in cash at least: buys never dig into the cash
    target, and an account below its cash target is not made to raise it."""
    return max(0.0, min(p.cash, p.cash_target))


def outside(p: AccountProblem, units: Vector) -> Vector:
    """Dollars by which each line ends outside its band after trading ``units``."""
    after = p.held + units * p.unit_value
    out: Vector = np.maximum(p.lower - after, 0.0) + np.maximum(after - p.upper, 0.0)
    return out


def least_violation_units(p: AccountProblem) -> tuple[Vector, Vector]:
    """Per line, the interval of whole units (within the rule limits) that leave it least
    far outside its band: the units inside the band when any are, else the nearest unit
    below and/or above it, whichever is closer (both on a tie)."""
    a = p.unit_value
    low = np.ceil((p.lower - p.held) / a - UNIT_EPSILON)
    high = np.floor((p.upper - p.held) / a + UNIT_EPSILON)
    first = np.clip(low, -p.max_sell, p.max_buy)
    last = np.clip(high, -p.max_sell, p.max_buy)
    inside = np.maximum(low, -p.max_sell) <= np.minimum(high, p.max_buy)
    near_low, near_high = outside(p, first), outside(p, last)
    best = np.minimum(near_low, near_high)
    take_first = near_low <= best + UNIT_EPSILON
    take_last = near_high <= best + UNIT_EPSILON
    lo = np.where(inside, first, np.where(take_last, last, first))
    hi = np.where(inside, last, np.where(take_first, first, last))
    return np.minimum(lo, hi), np.maximum(lo, hi)


def minimum_transaction_program(
    p: AccountProblem, *, bands_hard: bool
) -> tuple[Program, list[Vector]]:
    """The Minimum Transaction program of ``p`` and its objectives.

    With ``bands_hard`` every line stays on its least-violation interval (inside its band
    whenever it can be) and the only objective is turnover; otherwise the dollars outside
    the bands are minimised first, then turnover.
    """
    n = p.size
    a = p.unit_value
    j = np.arange(n)
    x, m, d1, d2, u1, u2, pos, neg = (k * n + j for k in range(8))
    lo, hi = least_violation_units(p)
    base_lo, base_hi = outside(p, lo), outside(p, hi)
    after_lo, after_hi = p.held + a * lo, p.held + a * hi
    # The first unit below lo (above hi) costs its full dollars less the room inside the
    # band it leaves; every further unit costs its full dollars.
    room_below = np.clip(after_lo - p.lower + base_lo, 0.0, a)
    room_above = np.clip(p.upper - after_hi + base_hi, 0.0, a)
    t = _Triplets()
    t.add(j, x, 1.0)  # x − m + d1 + d2 − u1 − u2 = lo
    t.add(j, m, -1.0)
    t.add(j, d1, 1.0)
    t.add(j, d2, 1.0)
    t.add(j, u1, -1.0)
    t.add(j, u2, -1.0)
    _turnover_split(t, n, x, pos, neg)
    t.add(np.full(n, 2 * n), x, a)
    row_lower = np.concatenate([lo, np.zeros(n), [-INF]])
    row_upper = np.concatenate([lo, np.zeros(n), [p.cash - cash_floor(p)]])
    move = 0.0 if bands_hard else INF
    col_lower = np.concatenate([-p.max_sell, np.zeros(7 * n)])
    col_upper = np.concatenate(
        [
            p.max_buy,
            hi - lo,
            np.full(n, min(move, 1.0)),
            np.full(n, move),
            np.full(n, min(move, 1.0)),
            np.full(n, move),
            np.full(2 * n, INF),
        ]
    )
    program = t.program(col_lower, col_upper, row_lower, row_upper, 8 * n)
    zeros = np.zeros(n)
    violation = np.concatenate([zeros, zeros, a - room_below, a, a - room_above, a, zeros, zeros])
    turn = np.concatenate([np.zeros(6 * n), a, a])
    return program, [turn] if bands_hard else [violation, turn]
