"""Minimum Transaction solved with a proof of optimality, before any solver is called.

Each line on its own is least far outside its band (not at all, when its band can be
reached in whole units within the rule limits) on an interval of units; the total dollars
outside the bands are least exactly when every line is on its interval. Let ``x0`` be, for
each line, the unit of its interval closest to zero. Any feasible trade set
``x`` then trades at least ``a_j (x0_j − x_j)`` more on line ``j`` than ``x0`` does (a line
moved further from ``x0`` can only add turnover), so with ``shortfall`` = what ``x0`` spends
beyond the cash it may use, among the trade sets with the least dollars outside bands::

    turnover(x) >= turnover(x0) + shortfall          for every feasible x

If ``shortfall <= 0``, ``x0`` is optimal. Otherwise the extra cash must come from selling
more of lines that may go lower in their bands (each extra unit adds its dollars to
turnover and to cash, and nothing else can raise cash without more violation), so the
optimum is ``x0`` plus the extra whole-unit sells with the *least* dollars that still cover
``shortfall``. A fast search first looks for a set that raises between ``shortfall`` and
``shortfall + $0.01`` (the bound, met to the cent): greedy from the largest unit values,
then an exact subset-sum over cents for the last two largest units' worth. When it finds
none, an exact bounded subset-sum over every line (:mod:`trimtab.optimize.subset`) finds
the least covering sum. When prices are not whole cents per unit, or the shortfall is above
:data:`EXACT_LIMIT`, it gives up and HiGHS solves the program.
"""

from __future__ import annotations

import numpy as np

from trimtab.optimize.leave_band import leave_bands
from trimtab.optimize.problem import AccountProblem, Vector
from trimtab.optimize.programs import least_violation_units
from trimtab.optimize.subset import smallest_at_least

CENT = 0.01
EXACT_LIMIT = 2_000_000
"""Cents ($20,000) up to which the least covering sum of extra sells is searched exactly."""


def minimum_transaction_shortcut(p: AccountProblem, cash_floor: float) -> Vector | None:
    """Units per line proven optimal (to the cent) for Minimum Transaction, or ``None``.

    ``cash_floor`` is the dollars that must stay in cash. ``None`` means no proof was found:
    the cash cannot be raised without leaving some line farther outside its band, or no
    cheap enough set of extra sells was found.
    """
    low, high = least_violation_units(p)
    x0: Vector = np.clip(0.0, low, high)
    shortfall = float(x0 @ p.unit_value) - (p.cash - cash_floor)
    if shortfall <= 0.0:
        return x0
    extra = _extra_sells(p.unit_value, x0 - low, shortfall)
    if extra is None:
        # Not enough room inside the intervals (or no exact least sum): some lines must
        # leave them.
        return leave_bands(p, x0, low, shortfall)
    return x0 - extra


def _extra_sells(a: Vector, room: Vector, shortfall: float) -> Vector | None:
    """Whole units per line (at most ``room``) with the least dollars >= ``shortfall``, or
    ``None`` (prices not whole cents per unit, not enough room, or a shortfall too large)."""
    cents = np.round(a * 100.0)
    if not np.allclose(cents / 100.0, a, rtol=0.0, atol=1e-9) or np.any(cents <= 0):
        return None
    c = cents.astype(np.int64)
    lo_target = int(np.ceil(shortfall * 100.0 - 1e-6))
    hi_target = int(np.floor(shortfall * 100.0 + 1.0 + 1e-6))
    if int(room @ c) < lo_target:
        return None
    units = np.zeros_like(a)
    # The greedy stops short by two of the largest units, so that the subset-sum has
    # enough lines with room left to land within a cent.
    reserve = min(2 * int(c.max()), lo_target)
    left = lo_target - reserve
    for j in np.argsort(-c, kind="stable"):
        take = min(float(room[j]), float(left // c[j]))
        units[j] = take
        left -= int(take) * int(c[j])
    left += reserve
    if left == 0:
        return units
    spare = np.minimum(room - units, left // c + 1)
    found = _subset_sum(c, spare.astype(np.int64), left, left + (hi_target - lo_target))
    if found is not None:
        return units + found
    # No set within a cent of the bound: the least covering sum over every line, exactly.
    limit = lo_target + int(c.max())
    if limit > EXACT_LIMIT:
        return None
    return smallest_at_least(c, room.astype(np.int64), lo_target, limit)


def _subset_sum(c: np.ndarray, spare: np.ndarray, low: int, high: int) -> Vector | None:
    """Counts ``k_j <= spare_j`` with ``low <= sum(k_j c_j) <= high`` (cents), or ``None``.

    Exact: a 0/1 subset-sum over cents up to ``high``, each line's count split in powers of
    two (1, 2, 4, ..., rest), with a back-pointer per reached sum.
    """
    reach = np.zeros(high + 1, dtype=bool)
    reach[0] = True
    line = np.full(high + 1, -1, dtype=np.int64)
    count = np.zeros(high + 1, dtype=np.int64)
    for j in np.flatnonzero(spare > 0):
        left, piece = int(spare[j]), 1
        while left > 0:
            k = min(piece, left)
            left -= k
            piece *= 2
            shift = k * int(c[j])
            if shift > high:
                break
            newly = np.zeros_like(reach)
            newly[shift:] = reach[: high + 1 - shift]
            newly &= ~reach
            reach |= newly
            line[newly] = j
            count[newly] = k
        if reach[low:].any():
            break
    hits = np.flatnonzero(reach[low:])
    if hits.size == 0:
        return None
    total = low + int(hits[0])
    out = np.zeros(c.shape[0])
    while total > 0:
        i = int(line[total])
        k = int(count[total])
        out[i] += k
        total -= k * int(c[i])
    return out
