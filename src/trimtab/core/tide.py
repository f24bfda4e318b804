"""Water-filling kernels: the rising tide and capped proportional allocation.

All amounts are dollars. Each row (account) is solved independently and exactly: the
piecewise-linear total is evaluated at its breakpoints and interpolated, no iteration to
a tolerance.
"""

from __future__ import annotations

import numpy as np

from trimtab.core.batch import Dollars


def rising_tide(excess: Dollars, capacity: Dollars, amount: Dollars) -> Dollars:
    """Dollars to sell from each security so that ``amount`` is raised by rising tide.

    The security farthest above its level is sold down to the next farthest, then both
    together down to the next, and so on: every seller ends at the same water level ``L``
    above its own level, and no security sells more than its ``capacity``.

    Args:
        excess: dollars each security stands above its level, (N, K); may be negative
            (the security joins only once the tide falls below it).
        capacity: most dollars each may sell, (N, K), >= 0; 0 leaves it out.
        amount: dollars to raise per account, (N,). More than the total capacity sells
            every capacity in full.

    Returns:
        Dollars sold per security, (N, K): ``clip(excess - L, 0, capacity)``.
    """
    _n, _k = excess.shape
    sold = np.zeros_like(excess)
    need = amount > 0
    if not need.any():
        return sold
    rows = np.flatnonzero(need)
    x = excess[rows]
    cap = capacity[rows]
    a = amount[rows]
    total = cap.sum(axis=1)
    # Breakpoints: a security starts selling when the level falls to x, stops at x - cap.
    live = cap > 0
    starts = np.where(live, x, -np.inf)
    stops = np.where(live, x - cap, -np.inf)
    points = np.concatenate([starts, stops], axis=1)
    kinds = np.concatenate([live.astype(np.float64), -live.astype(np.float64)], axis=1)
    order = np.argsort(-points, axis=1, kind="stable")
    points = np.take_along_axis(points, order, axis=1)
    kinds = np.take_along_axis(kinds, order, axis=1)
    sellers = np.cumsum(kinds, axis=1)  # securities selling just below each breakpoint
    finite = np.isfinite(points)
    safe_points = np.where(finite, points, 0.0)
    gaps = np.zeros_like(points)
    gaps[:, :-1] = np.where(finite[:, 1:], safe_points[:, :-1] - safe_points[:, 1:], 0.0)
    raised_at = np.zeros_like(points)  # dollars raised when the level reaches breakpoint j
    raised_at[:, 1:] = np.cumsum(sellers[:, :-1] * gaps[:, :-1], axis=1)
    # The segment that reaches the amount: last breakpoint whose raised total is below it.
    reach = (raised_at < a[:, None]) & finite
    j = np.maximum(reach.sum(axis=1) - 1, 0)
    take = np.arange(rows.size)
    with np.errstate(divide="ignore", invalid="ignore"):
        level = safe_points[take, j] - (a - raised_at[take, j]) / sellers[take, j]
    level = np.where((a >= total) | ~(sellers[take, j] > 0), -np.inf, level)
    sold[rows] = np.clip(x - level[:, None], 0.0, cap)
    sold[rows] = np.where(live, sold[rows], 0.0)
    return sold


def capped_proportional(weight: Dollars, cap: Dollars, funds: Dollars) -> Dollars:
    """Share ``funds`` out in proportion to ``weight``, no entry above its ``cap``.

    What a capped entry cannot take is shared among the others in the same proportion, so
    the result sums to ``min(funds, sum(cap))``. All dollars; (N, K), (N, K), (N,).
    """
    out = np.zeros_like(cap)
    remaining = np.maximum(funds, 0.0).copy()
    open_ = (cap > 0) & (weight > 0)
    for _ in range(cap.shape[1] + 1):
        w = np.where(open_, weight, 0.0)
        wsum = w.sum(axis=1)
        active = (remaining > 1e-9) & (wsum > 0)
        if not active.any():
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(active, remaining / wsum, 0.0)
        offer = w * scale[:, None]
        room = cap - out
        hits = open_ & (offer >= room)
        grant = np.where(hits, room, offer)
        grant = np.where(active[:, None], grant, 0.0)
        out += grant
        remaining -= grant.sum(axis=1)
        if not (hits & active[:, None]).any():
            break
        open_ &= ~hits
    return out
