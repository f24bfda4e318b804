"""Exact 0/1 knapsack by branch and bound, for the optimisers' proofs."""

from __future__ import annotations

import bisect

import numpy as np
import numpy.typing as npt

Vector = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]

UNIT_EPSILON = 1e-9
"""Share units (or dollars of capacity) within this of a bound count as on it."""
TIE = 1e-7
"""Dollars within which two values count as equal."""
NODE_BUDGET = 20_000
"""Branch-and-bound nodes per knapsack before the search gives up (HiGHS then solves)."""
LEAF_BUDGET = 2_000
"""Choices within the slack that :meth:`Knapsack.near` lists at most."""


class Knapsack:
    """0/1 knapsack: maximise ``Σ p`` within ``Σ w <= capacity``; ``w > 0``, ``p >= 0``.

    Depth-first branch and bound over items sorted by ``p / w``, bounded by the greedy
    fractional fill (found by bisection on prefix sums). Counts the leaves within ``slack``
    (plus :data:`TIE`) of the best, so that a caller can tell an optimum that is unique, or
    better than every other choice by at least ``slack``, from a tie.
    """

    def __init__(self, w: Vector, p: Vector, capacity: float, slack: float = 0.0) -> None:
        self.order = np.argsort(-p / w, kind="stable")
        self.w: list[float] = w[self.order].tolist()
        self.p: list[float] = p[self.order].tolist()
        self.n = len(self.w)
        self.cum_w: list[float] = np.concatenate([[0.0], np.cumsum(w[self.order])]).tolist()
        self.cum_p: list[float] = np.concatenate([[0.0], np.cumsum(p[self.order])]).tolist()
        self.capacity = capacity
        self.slack = slack + TIE
        self.nodes = 0
        self.best = -1.0
        self.ties = 0
        self.best_take: list[bool] = []
        self.leaves: list[tuple[float, list[bool]]] | None = None

    def _bound(self, i: int, room: float) -> float:
        """Most profit items ``i..`` can add within ``room`` dollars, fractions allowed."""
        cum_w, cum_p = self.cum_w, self.cum_p
        k = bisect.bisect_right(cum_w, cum_w[i] + room, lo=i) - 1  # items i..k-1 fit whole
        extra = cum_p[k] - cum_p[i]
        if k < self.n:
            extra += (cum_w[i] + room - cum_w[k]) * self.p[k] / self.w[k]
        return extra

    def solve(self) -> tuple[float, Mask, bool] | None:
        """Best profit, ``take`` per item (input order) and whether the optimum is unique
        (within ``slack``); ``None`` past the node budget."""
        take = [False] * self.n
        if not self._dfs(0, self.capacity + UNIT_EPSILON, 0.0, take):
            return None
        out = np.zeros(self.n, dtype=bool)
        out[self.order] = self.best_take
        return self.best, out, self.ties == 1

    def near(self) -> list[tuple[float, Mask]] | None:
        """Every choice whose profit is within ``slack`` of the best, with its ``take``
        (input order); ``None`` past the node or leaf budget."""
        self.leaves = []
        take = [False] * self.n
        if not self._dfs(0, self.capacity + UNIT_EPSILON, 0.0, take):
            return None
        out = []
        for value, chosen in self.leaves:
            if value >= self.best - self.slack:
                mask = np.zeros(self.n, dtype=bool)
                mask[self.order] = chosen
                out.append((value, mask))
        return out

    def _dfs(self, i: int, room: float, p: float, take: list[bool]) -> bool:
        self.nodes += 1
        if self.nodes > NODE_BUDGET:
            return False
        if i == self.n:
            if self.leaves is not None and p >= self.best - self.slack:
                if len(self.leaves) >= LEAF_BUDGET:
                    return False
                self.leaves.append((p, take.copy()))
            if p > self.best + self.slack:
                self.best, self.ties, self.best_take = p, 1, take.copy()
            elif p >= self.best - self.slack:
                self.ties += 1
                if p > self.best:
                    self.best, self.best_take = p, take.copy()
            return True
        if p + self._bound(i, room) < self.best - self.slack:
            return True
        if self.w[i] <= room:
            take[i] = True
            ok = self._dfs(i + 1, room - self.w[i], p + self.p[i], take)
            take[i] = False
            if not ok:
                return False
        return self._dfs(i + 1, room, p, take)
