"""Best Fit with no cash target when the bracket optimum overdraws: solved with a proof.

Notation as in :mod:`trimtab.optimize.bracket`. With a cash target of 0 the cash deviation
is the cash left, ``e_c >= 0``, so ``F = s + Σ g_j + 2 Σ short_j`` where ``short_j`` is how
far line ``j`` ends below its target: Best Fit spends at most the cash to leave the least
total shortfall. From the *reference* point (every line at its lower bracket unit), a trade
set is described by the lines moved up one unit (set ``P``, each ending above target:
shortfall ``−u_j`` for ``a_j`` dollars) and whole units taken away from the other lines
below their lower unit (each adds ``a_j`` of shortfall and frees ``a_j``; ``R`` dollars in
all). Cash requires ``R >= A_P − s0`` (``A_P`` the dollars of ``P``, ``s0`` the cash left
at the reference), so for every trade set::

    (F − C) / 2  =  R − U_P  >=  max(0, A_P − s0) − U_P  =:  LB(P)

``LB`` is least at the bracket's optimum ``P*`` (the knapsack above ``s0``, which is why it
overdrew). With ``R(P)`` the least sum of removable units that covers ``A_P − s0`` (an exact
subset-sum over cents, over the units of every line: a unit taken from a line of ``P`` only
describes a better trade set, so the least score is still exact) and ``δ = R(P*) − A_P* + s0``,
every choice whose bound is within ``δ`` of ``LB(P*)`` is listed by the knapsack and scored
exactly (``R(P) − U_P``); the choices within ``s0`` remove nothing and score ``−U_P``, least
at the knapsack below ``s0``. The least score must be unique (else HiGHS decides). Among the
optimal trade sets, turnover is least when the removed units are buys taken back rather than
extra sells (the fewest extra-sell dollars whose complement buys can reach), and when the
cash left over takes back sells of lines already above target (:mod:`bracket`'s take-back).

Prices, cash and units must be whole cents; otherwise, or when a choice ties, this module
gives up and HiGHS solves the program.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from trimtab.optimize.knapsack import TIE, Knapsack
from trimtab.optimize.problem import AccountProblem, Vector, cash_after
from trimtab.optimize.subset import Reach, whole_cents

Mask = npt.NDArray[np.bool_]

CENT_LIMIT = 2_000_000
"""Cents ($20,000) of overdraft up to which the covering sum is searched exactly."""


def best_fit_cash_bound(
    p: AccountProblem,
    lower: Vector,
    idx: npt.NDArray[np.intp],
    shortfall: Vector,
    up: Mask,
) -> Vector | None:
    """Units of the Best Fit optimum of an account with no cash target whose bracket optimum
    (``lower`` plus one unit on the two-unit lines ``idx[up]``, whose shortfalls at the
    lower unit are ``shortfall``) overdraws, before the cash left takes back sells; or
    ``None``."""
    if abs(p.cash_target) > 1e-9:
        return None
    a = p.unit_value
    c = whole_cents(a)
    cash = round(p.cash * 100.0)
    if c is None or abs(cash - p.cash * 100.0) > 1e-6:
        return None
    low = lower.astype(np.int64)
    w, wc, u = a[idx], c[idx], shortfall
    s0 = cash - int(c @ low)
    top = int(c.max())
    # Units that may be taken away below the lower unit: buys taken back (down to 0), then
    # extra sells (down to the sell limit).
    buy_room = np.where(low >= 1, low, 0)
    sell_room = p.max_sell.astype(np.int64) + np.minimum(low, 0)
    first = int(wc[up].sum()) - s0
    if first <= 0 or first + top > CENT_LIMIT:
        return None
    reach = Reach(c, buy_room + sell_room, first + top)
    least = _least_cover(reach.reach, first)
    if least is None:
        return None
    # Every choice whose bound is within the slack of the chosen one, scored exactly.
    slack = (least - first) / 100.0
    near = Knapsack(w, w - u, float(w.sum()) - s0 / 100.0, slack=slack).near()
    if near is None:
        return None
    needs = [int(wc[~take].sum()) - s0 for _, take in near]
    limit = max(needs) + top
    if limit > CENT_LIMIT:
        return None
    if limit > first + top:
        reach = Reach(c, buy_room + sell_room, limit)
    scored = []
    for (_, take), need in zip(near, needs, strict=True):
        removed = 0 if need <= 0 else _least_cover(reach.reach, need)
        if removed is not None:
            scored.append((removed / 100.0 - float(u[~take].sum()), removed, ~take))
    scored.sort(key=lambda item: item[0])
    if not scored or (len(scored) > 1 and scored[1][0] <= scored[0][0] + TIE):
        return None
    best, removed, chosen = scored[0]
    if s0 >= 0:
        # Choices within s0 remove nothing: score −U_P, least at the knapsack below s0.
        below = Knapsack(w, u, s0 / 100.0).solve()
        if below is None or not below[2] or abs(-below[0] - best) <= TIE:
            return None
        if -below[0] < best:
            within: Vector = lower.copy()
            within[idx[below[1]]] += 1.0
            return within
    in_p = np.zeros(p.size, dtype=bool)
    in_p[idx[chosen]] = True
    taken = _least_extra_sells(
        c, np.where(in_p, 0, buy_room), np.where(in_p, 0, sell_room), removed
    )
    if taken is None:
        return None
    units: Vector = lower + in_p - taken
    if cash_after(p, units) < -1e-9:
        return None
    return units


def _least_cover(reach: int, need: int) -> int | None:
    """The least reachable sum >= ``need`` cents, or ``None``."""
    above = reach >> need
    if above == 0:
        return None
    return need + ((above & -above).bit_length() - 1)


def _bits(reach: Reach, size: int) -> npt.NDArray[np.bool_]:
    raw = np.frombuffer(reach.reach.to_bytes(size // 8 + 1, "little"), np.uint8)
    bits: npt.NDArray[np.bool_] = np.unpackbits(raw, bitorder="little")[:size].astype(bool)
    return bits


def _least_extra_sells(
    cents: npt.NDArray[np.int64],
    buy_room: npt.NDArray[np.int64],
    sell_room: npt.NDArray[np.int64],
    total: int,
) -> Vector | None:
    """Units taken away summing to ``total`` cents with the fewest extra-sell dollars, or
    ``None`` when no such units exist."""
    buys = Reach(cents, buy_room, total)
    sells = Reach(cents, sell_room, total)
    both = np.flatnonzero(_bits(sells, total + 1) & _bits(buys, total + 1)[::-1])
    if both.size == 0:
        return None
    r = int(both[0])  # r cents sold extra, total − r of buys taken back
    return buys.counts(total - r, cents.shape[0]) + sells.counts(r, cents.shape[0])
