"""Best Fit solved exactly without a solver, with a proof, for most accounts.

Notation (dollars): line ``j`` trades ``x_j`` whole units of ``a_j`` dollars within its rule
limits ``[L_j, U_j]`` (``L_j <= 0 <= U_j``); its deviation from target is
``e_j = g_j + a_j x_j`` with ``g_j = held_j − target_j``; the cash deviation is
``e_c = s − Σ a_j x_j`` with ``s = cash − cash_target``. Best Fit minimises
``F = Σ|e_j| + |e_c|``, then turnover ``T = Σ a_j |x_j|``, with cash after >= 0.

**Deviation: the bracket.** Let ``f_j = floor(−g_j / a_j)``: at ``f_j`` the line is at or
below target, at ``f_j + 1`` above it. Moving a line one unit toward ``{f_j, f_j + 1}``
(clipped to its limits) from outside lowers ``|e_j|`` by exactly ``a_j`` and changes
``|e_c|`` by at most ``a_j``: it never raises ``F``. So, cash aside, the least ``F`` over all
trades is the least over the *bracket product*, where every line sits at one of its (one or
two) bracket units. With ``b_j = 1`` for lines at the upper unit, ``u_j`` a line's
shortfall at its lower unit and ``s0`` the cash deviation with every line at its lower unit::

    F = C + Σ b_j (a_j − 2 u_j) + |s0 − Σ b_j a_j|

which, split at ``Σ b_j a_j = s0``, is two 0/1 knapsacks: below ``s0``, maximise
``Σ b_j u_j`` within capacity ``s0``; above it, maximise ``Σ (a_j − u_j)`` over the lines
left at their lower unit, within capacity ``Σ a_j − s0``. Each is solved exactly by a
depth-first branch and bound (greedy fractional bound on ratio-sorted items). The proof
needs the best bracket point ``x̂`` to be the only one with the least ``F``; ties give up.

**Turnover: moves between zero and the bracket.** A trade set ``x`` with the least ``F``
and less turnover than ``x̂`` must buy less than the lower unit or sell less than the upper
unit on some lines (moving a line *beyond* the bracket adds turnover), and moving those
lines back to the bracket, one unit at a time, keeps ``F`` at every step. Such a step keeps
``F`` only while the cash deviation stays <= 0 (buys) or >= 0 (sells), so the moves are all
buys taken back or all sells taken back, and they project ``x`` onto ``x̂``. Hence the
optimum is ``x̂`` with buy units taken back whose dollars sum to at most ``−e_c(x̂)``, or
sell units whose dollars sum to at most ``e_c(x̂)``, as many dollars as possible: a bounded
subset-sum, solved exactly over cents. Cash after is then checked (>= 0).

When no proof is found (ties, a knapsack past its node budget, prices not in whole cents
per unit where units could be taken back, or cash below zero) this module gives up and the
integer program is solved by HiGHS.
"""

from __future__ import annotations

import bisect

import numpy as np
import numpy.typing as npt

from trimtab.optimize.problem import AccountProblem, Vector, cash_after
from trimtab.optimize.subset import largest_at_most

Mask = npt.NDArray[np.bool_]

UNIT_EPSILON = 1e-9
"""Share units within this of a whole unit count as that unit (floating-point noise)."""
TIE = 1e-7
"""Dollars within which two deviations count as equal."""
NODE_BUDGET = 20_000
"""Branch-and-bound nodes per knapsack before the search gives up (HiGHS then solves)."""
CENT_BITS = 1_000_000
"""Largest subset-sum capacity in cents ($10,000) searched; beyond it HiGHS solves."""


class _Knapsack:
    """0/1 knapsack: maximise ``Σ p`` within ``Σ w <= capacity``; ``w > 0``, ``p >= 0``.

    Depth-first branch and bound over items sorted by ``p / w``, bounded by the greedy
    fractional fill (found by bisection on prefix sums). Counts the leaves within
    :data:`TIE` of the best, so that a caller can tell a unique optimum from a tie.
    """

    def __init__(self, w: Vector, p: Vector, capacity: float) -> None:
        self.order = np.argsort(-p / w, kind="stable")
        self.w: list[float] = w[self.order].tolist()
        self.p: list[float] = p[self.order].tolist()
        self.n = len(self.w)
        self.cum_w: list[float] = np.concatenate([[0.0], np.cumsum(w[self.order])]).tolist()
        self.cum_p: list[float] = np.concatenate([[0.0], np.cumsum(p[self.order])]).tolist()
        self.capacity = capacity
        self.nodes = 0
        self.best = -1.0
        self.ties = 0
        self.best_take: list[bool] = []

    def _bound(self, i: int, room: float) -> float:
        """Most profit items ``i..`` can add within ``room`` dollars, fractions allowed."""
        cum_w, cum_p = self.cum_w, self.cum_p
        k = bisect.bisect_right(cum_w, cum_w[i] + room, lo=i) - 1  # items i..k-1 fit whole
        extra = cum_p[k] - cum_p[i]
        if k < self.n:
            extra += (cum_w[i] + room - cum_w[k]) * self.p[k] / self.w[k]
        return extra

    def solve(self) -> tuple[float, Mask, bool] | None:
        """Best profit, ``take`` per item (input order) and whether the optimum is unique;
        ``None`` past the node budget."""
        take = [False] * self.n
        if not self._dfs(0, self.capacity + UNIT_EPSILON, 0.0, take):
            return None
        out = np.zeros(self.n, dtype=bool)
        out[self.order] = self.best_take
        return self.best, out, self.ties == 1

    def _dfs(self, i: int, room: float, p: float, take: list[bool]) -> bool:
        self.nodes += 1
        if self.nodes > NODE_BUDGET:
            return False
        if i == self.n:
            if p > self.best + TIE:
                self.best, self.ties, self.best_take = p, 1, take.copy()
            elif p >= self.best - TIE:
                self.ties += 1
                if p > self.best:
                    self.best, self.best_take = p, take.copy()
            return True
        if p + self._bound(i, room) < self.best - TIE:
            return True
        if self.w[i] <= room:
            take[i] = True
            ok = self._dfs(i + 1, room - self.w[i], p + self.p[i], take)
            take[i] = False
            if not ok:
                return False
        return self._dfs(i + 1, room, p, take)


def best_fit_bracket(p: AccountProblem) -> Vector | None:
    """Units per line proven to be the Best Fit optimum (deviation, then turnover), or
    ``None`` when no proof was found and the integer program must be solved."""
    a = p.unit_value
    gap = p.held - p.target
    f = np.floor(-gap / a + UNIT_EPSILON)
    lower = np.clip(f, -p.max_sell, p.max_buy)
    upper = np.clip(f + 1.0, -p.max_sell, p.max_buy)
    idx = np.flatnonzero(upper > lower)  # lines with two bracket units
    w = a[idx]
    u = np.clip(np.abs(gap + a * lower)[idx], 0.0, w)
    s0 = p.cash - p.cash_target - float(lower @ a)
    # Below s0 (b = take, spend <= s0), then above it (b = not take, left <= Σ a − s0).
    found: list[tuple[float, Mask]] = []
    for profit, capacity, flip in ((u, s0, False), (w - u, float(w.sum()) - s0, True)):
        if capacity < -UNIT_EPSILON:
            continue
        solved = _Knapsack(w, profit, capacity).solve()
        if solved is None or not solved[2]:
            return None
        _, take, _ = solved
        up = ~take if flip else take
        spent = float(w[up].sum())
        found.append((float((w - 2.0 * u)[up].sum()) + abs(s0 - spent), up))
    if not found:
        return None
    found.sort(key=lambda item: item[0])
    if len(found) == 2 and found[1][0] <= found[0][0] + TIE and np.any(found[0][1] != found[1][1]):
        return None
    units: Vector = lower.copy()
    units[idx[found[0][1]]] += 1.0
    final = _take_back(p, units, lower, upper)
    if final is None or cash_after(p, final) < 0.0:
        return None
    return final


def _take_back(p: AccountProblem, units: Vector, lower: Vector, upper: Vector) -> Vector | None:
    """``units`` with as many dollars of buys (cash deviation below zero) or sells (above
    zero) taken back as the cash deviation allows, without passing zero; ``None`` when the
    dollars cannot be counted exactly in cents."""
    a = p.unit_value
    e_c = p.cash - p.cash_target - float(units @ a)
    if e_c < 0.0:
        room = np.where((units == lower) & (units >= 1.0), units, 0.0)  # buys at the lower unit
        sign = 1.0  # a buy taken back lowers units
    else:
        room = np.where((units == upper) & (units <= -1.0), -units, 0.0)  # sells at the upper unit
        sign = -1.0  # a sell taken back raises units
    capacity = abs(e_c)
    movable = (room > 0) & (a <= capacity + UNIT_EPSILON)
    if not movable.any():
        return units
    if float(room[movable] @ a[movable]) <= capacity + UNIT_EPSILON:
        return units - sign * np.where(movable, room, 0.0)
    cents = np.round(a * 100.0)
    if not np.allclose(cents, a * 100.0, rtol=0.0, atol=1e-6):
        return None
    limit = int(np.floor(capacity * 100.0 + 1e-6))
    if limit > CENT_BITS:
        return None
    counts = largest_at_most(
        cents.astype(np.int64), np.where(movable, room, 0.0).astype(np.int64), limit
    )
    return units - sign * counts
