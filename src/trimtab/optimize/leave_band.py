"""Minimum Transaction when the cash cannot be raised inside the bands: solved exactly.

Notation as in :mod:`trimtab.optimize.shortcut`: ``[lo_j, hi_j]`` is the interval of units on
which line ``j`` is least far outside its band, ``x0_j`` its unit closest to zero, and the
buys of ``x0`` need ``shortfall`` dollars more than the cash they may use. The shortcut
covers the shortfall with extra units sold inside the intervals; when those are not enough,
some lines must leave their intervals, and this module finds which, exactly.

**Only moves down.** An optimum never ends above ``x0_j``: inside the interval, moving back
to ``x0_j`` keeps the violation, trades less and frees cash; above ``hi_j``, moving down
lowers the violation and frees cash. So ``x_j = x0_j − k_j`` with ``0 <= k_j <= x0_j +
max_sell_j``, and the cash constraint is ``Σ a_j k_j >= shortfall``. Moving line ``j`` down
by ``k`` units adds to the violation ``φ_j(k) = 0`` while ``k <= r_j = x0_j − lo_j`` (inside
the interval), then ``(k − r_j) a_j − s_j``, ``s_j`` being the room inside the band that the
first unit below ``lo_j`` leaves (``0 <= s_j < a_j``); and to turnover
``τ_j(k) = a_j (|x0_j − k| − |x0_j|)``.

**The dollars freed are less than the shortfall plus one unit.** At an optimum, giving back
any one unit taken (``k_j − 1``) either leaves the shortfall uncovered or is better: a unit
beyond the interval costs violation (``a_j − s_j > 0``), and a unit inside it (only lines
with ``x0_j <= 0`` have room) costs turnover. So the cents freed, ``D = Σ c_j k_j``, satisfy
``shortfall <= D < shortfall + max c_j``.

**Dynamic programme over cents.** For every ``D`` below that limit, the lexicographically
least (violation, turnover) of freeing exactly ``D`` cents, line by line (a multiple-choice
knapsack, one numpy pass per unit count); the answer is the least over ``D >= shortfall``.
Prices must be whole cents per unit and the work small (:data:`CENT_LIMIT`,
:data:`WORK_LIMIT`), and every first unit out must cost violation (``a_j − s_j`` above
:data:`TIE`); otherwise this module gives up and HiGHS solves the program.
"""

from __future__ import annotations

import numpy as np

from trimtab.optimize.problem import AccountProblem, Vector
from trimtab.optimize.programs import outside
from trimtab.optimize.subset import whole_cents

CENT_LIMIT = 400_000
"""Cents ($4,000) of shortfall plus the dearest unit up to which the programme runs."""
WORK_LIMIT = 4_000_000
"""Cells (unit counts x cents) the programme may visit before it gives up."""
TIE = 1e-9
"""Dollars within which two violations or turnovers count as equal."""


def leave_bands(p: AccountProblem, x0: Vector, lo: Vector, shortfall: float) -> Vector | None:
    """Units per line proven optimal for Minimum Transaction when ``x0`` needs
    ``shortfall`` dollars more than the cash it may use, or ``None`` (module docstring)."""
    a = p.unit_value
    cents = whole_cents(a)
    if cents is None or np.any(cents <= 0):
        return None
    need = int(np.ceil(shortfall * 100.0 - 1e-6))
    limit = need + int(cents.max())
    most = (x0 + p.max_sell).astype(np.int64)  # units each line may move down
    counts = np.minimum(most, (limit - 1) // cents)
    if limit > CENT_LIMIT or int(counts.sum()) * limit > WORK_LIMIT:
        return None
    room = x0 - lo
    after_lo = p.held + a * lo
    first_saves = np.clip(after_lo - p.lower + outside(p, lo), 0.0, a)
    if np.any((most > room) & (a - first_saves <= TIE)):
        return None
    violation = np.full(limit, np.inf)
    traded = np.full(limit, np.inf)
    violation[0] = traded[0] = 0.0
    choices = []
    for j in np.flatnonzero(counts > 0):
        new_v, new_t = violation.copy(), traded.copy()
        choice = np.zeros(limit, dtype=np.int64)
        c = int(cents[j])
        for k in range(1, int(counts[j]) + 1):
            phi = 0.0 if k <= room[j] else (k - room[j]) * a[j] - first_saves[j]
            tau = a[j] * (abs(x0[j] - k) - abs(x0[j]))
            shift = k * c
            v = violation[: limit - shift] + phi
            t = traded[: limit - shift] + tau
            old_v, old_t = new_v[shift:], new_t[shift:]
            better = (v < old_v - TIE) | ((v <= old_v + TIE) & (t < old_t - TIE))
            at = np.flatnonzero(better)
            new_v[shift + at] = v[at]
            new_t[shift + at] = t[at]
            choice[shift + at] = k
        violation, traded = new_v, new_t
        choices.append((int(j), c, choice))
    best = _least(violation[need:], traded[need:])
    if best is None:
        return None
    total = need + best
    units = x0.copy()
    for line, c, choice in reversed(choices):
        k = int(choice[total])
        units[line] -= k
        total -= k * c
    return units if total == 0 else None


def _least(violation: Vector, traded: Vector) -> int | None:
    """Index of the least (violation, then turnover) finite entry, or ``None``."""
    if not np.isfinite(violation).any():
        return None
    least_v = float(violation.min())
    tied = np.flatnonzero(violation <= least_v + TIE)
    return int(tied[np.argmin(traded[tied])])
