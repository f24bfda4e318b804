"""Household rebalance (logic 9): the household's accounts as one portfolio.

Each account counts by its share of household value, so the household weight of a symbol is
its dollars summed over the accounts divided by the household value (cash included). The
household target of a symbol is the value-weighted average of the accounts' targets (the
model's target when the accounts share a model).

Trades come in sell/buy *pairs inside one account* of equal dollars, so no money moves
between accounts and every account's value is unchanged. The pairing is greedy, as in the
seed's worked example:

1. Sources, in order: held non-model symbols (in full), then the symbols above their
   household target, most overweight first (cash above the household cash target counts
   as a source too, spending it needs no sell leg).
2. Sinks: the symbols below their household target, most underweight first (cash below
   its target is a sink: raising it needs no buy leg).
3. A source is sold account by account, largest account first (ties: input order); each
   slice is paired with the first sink still short that the account may buy, for the
   least of what the source still has to shed, what the account holds of it (within its
   ``sell_limit``) and what the sink still lacks.

Without rules, when every account has a slot for every symbol of the household (one model
for all), every source can be paired in full (an account holds what it sells, and any account
may buy any sink), so the household drift reaches zero before share rounding: the first
objective, household drift, is met exactly. With different models per account, what the
direct pairs leave is routed through a symbol two accounts both trade (:func:`_route`); a
route of more than one intermediate symbol is not searched.
Each pair exhausts a source in an account, a source, or a sink, which bounds the number of
pairs by the number of (account, source) holdings plus the number of sinks; pairs on the same
account and symbol are netted into one trade. That is a bound, not a proven minimum: the
least number of trades is a combinatorial problem the greedy does not solve exactly. Where
rules block buys or sells, pairs skip the blocked combinations; the drift is then as small
as the greedy gets, not necessarily least.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trimtab.core.batch import AccountBatch, Dollars
from trimtab.core.logics import Plan
from trimtab.core.money import HALF_CENT
from trimtab.core.reasons import Reason

Codes = npt.NDArray[np.int32]

CASH = -1
"""Symbol code of cash in :class:`Pair` (symbol codes are >= 0)."""


@dataclass(frozen=True, slots=True)
class Pair:
    """One sell/buy pair inside account ``row``: ``dollars`` of ``sell`` into ``buy``.

    ``sell`` and ``buy`` are symbol codes, or :data:`CASH` for a leg that only moves cash.
    """

    row: int
    sell: int
    buy: int
    dollars: float


@dataclass(frozen=True, slots=True)
class HouseholdPlan:
    """The dollar plan of every account (rows of the batch) and the pairs, in order."""

    plan: Plan
    pairs: tuple[Pair, ...]


def _account_order(value: Dollars, rows: npt.NDArray[np.intp]) -> list[int]:
    return [int(r) for r in sorted(rows, key=lambda r: (-value[r], r))]


def household_rebalance(batch: AccountBatch, symbol: Codes, household: Codes) -> HouseholdPlan:
    """Sell/buy pairs inside accounts that bring each household to its target.

    Args:
        batch: the accounts, (N, K); accounts of one household may sit in any rows.
        symbol: symbol code per slot, (N, K), -1 for padding; equal codes are one security.
        household: household code per account, (N,).

    Returns:
        Signed dollars per slot (+ buy, − sell) in a :class:`Plan`, non-model holdings
        marked as full sales, and the pairs in the order they were made.
    """
    n, k = batch.price.shape
    market = batch.quantity * batch.price
    value = batch.cash + market.sum(axis=1)
    plan = Plan(
        dollars=np.zeros((n, k)),
        full_sell=np.zeros((n, k), dtype=bool),
        reason=np.zeros((n, k), dtype=np.uint32),
        status=np.zeros(n, dtype=np.int8),
        message=np.zeros(n, dtype=np.int8),
    )
    pairs: list[Pair] = []
    for code in np.unique(household):
        rows = np.flatnonzero(household == code)
        pairs.extend(_pair_household(batch, symbol, market, value, rows, plan))
    _reasons(batch, plan)
    return HouseholdPlan(plan=plan, pairs=tuple(pairs))


def _pair_household(
    batch: AccountBatch,
    symbol: Codes,
    market: Dollars,
    value: Dollars,
    rows: npt.NDArray[np.intp],
    plan: Plan,
) -> list[Pair]:
    total = float(value[rows].sum())
    if total <= 0:
        return []
    order = _account_order(value, rows)
    slot_of: dict[tuple[int, int], int] = {}
    excess: dict[int, float] = {}
    # Holdings outside an account's model, by symbol: the accounts that hold it so. Rules
    # make this per account (an exclusion that liquidates in one account only).
    outside: dict[int, list[int]] = {}
    modelled: set[int] = set()
    for r in order:
        for j in np.flatnonzero(batch.valid[r]):
            s = int(symbol[r, j])
            slot_of[(r, s)] = int(j)
            excess[s] = excess.get(s, 0.0) + float(market[r, j] - batch.target[r, j] * value[r])
            if batch.in_model[r, j]:
                modelled.add(s)
            else:
                outside.setdefault(s, []).append(r)
    excess[CASH] = sum(float(batch.cash[r] - batch.cash_target[r] * value[r]) for r in order)
    modelled.add(CASH)
    # Room to sell per (account, symbol), dollars; cash can be spent down to zero.
    room: dict[tuple[int, int], float] = {}
    for (r, s), slot in slot_of.items():
        room[(r, s)] = float(batch.sell_limit[r, slot] * batch.price[r, slot])
    for r in order:
        room[(r, CASH)] = max(float(batch.cash[r]), 0.0)
    # Non-model holdings are sold in full (what may be sold); what is left of each symbol's
    # excess is measured against the accounts that hold it in their model.
    shed = {s: sum(room[(r, s)] for r in held) for s, held in outside.items()}
    rest = {s: excess[s] - shed.get(s, 0.0) for s in excess}
    nm = sorted(outside, key=lambda s: (-excess[s], s))
    over = sorted(
        (s for s in rest if s in modelled and rest[s] > HALF_CENT),
        key=lambda s: (-rest[s], s),
    )
    under = sorted(
        (s for s in rest if s in modelled and rest[s] < -HALF_CENT), key=lambda s: (rest[s], s)
    )
    lacking = {s: -rest[s] for s in under}
    sources = [(s, outside[s], shed[s], True) for s in nm]
    sources += [
        (s, [r for r in order if r not in outside.get(s, ())], rest[s], False) for s in over
    ]
    pairs: list[Pair] = []
    remaining: dict[int, float] = {}
    for s, sellers, left, full in sources:
        # A non-model holding is sold in full; a model symbol down to its household target.
        for r in sellers:
            while left > HALF_CENT and room.get((r, s), 0.0) > HALF_CENT:
                sink = _first_sink(batch, slot_of, r, under, lacking)
                if sink is None:
                    if not full:
                        break
                    sink = CASH  # non-model proceeds stay in cash when nothing can be bought
                    amount = min(left, room[(r, s)])
                else:
                    amount = min(left, room[(r, s)], lacking[sink])
                    lacking[sink] -= amount
                room[(r, s)] -= amount
                left -= amount
                pairs.append(Pair(row=r, sell=s, buy=sink, dollars=amount))
                _apply(plan, slot_of, r, s, sink, amount)
        if not full:
            remaining[s] = left
        if full:
            for r in sellers:
                if batch.sell_limit[r, slot_of[(r, s)]] > 0:
                    plan.full_sell[r, slot_of[(r, s)]] = True
    pairs += _route(batch, slot_of, order, room, remaining, under, lacking, plan)
    for s, left in remaining.items():
        if left > HALF_CENT and s != CASH:
            _mark(batch, plan, slot_of, order, s, Reason.SELL_LIMITED)
    for s in under:
        if lacking[s] > HALF_CENT and s != CASH:
            _mark(batch, plan, slot_of, order, s, Reason.BUY_BLOCKED)
    return pairs


def _route(
    batch: AccountBatch,
    slot_of: dict[tuple[int, int], int],
    order: list[int],
    room: dict[tuple[int, int], float],
    remaining: dict[int, float],
    under: list[int],
    lacking: dict[int, float],
    plan: Plan,
) -> list[Pair]:
    """Pair what the direct pass left through a symbol two accounts both trade: account
    ``r1`` sells the source and buys ``m``, account ``r2`` sells as much ``m`` and buys the
    sink, so ``m``'s household weight is unchanged (accounts with different models).
    Updates ``room``, ``remaining`` and ``lacking`` in place."""
    pairs: list[Pair] = []
    if not any(v > HALF_CENT for v in remaining.values()) or not any(
        lacking[t] > HALF_CENT for t in under if t != CASH
    ):
        return pairs
    held = {r: [s for (rr, s) in slot_of if rr == r] for r in order}
    for s in [s for s in remaining if remaining[s] > HALF_CENT]:
        for t in [t for t in under if t != CASH]:
            for r1 in order:
                for m in held[r1]:
                    if min(remaining[s], lacking[t], room.get((r1, s), 0.0)) <= HALF_CENT:
                        break
                    if m in (s, t) or not batch.buy_allowed[r1, slot_of[(r1, m)]]:
                        continue
                    for r2 in order:
                        j = slot_of.get((r2, t))
                        if r2 == r1 or j is None or not batch.buy_allowed[r2, j]:
                            continue
                        amount = min(
                            remaining[s], lacking[t], room.get((r1, s), 0.0), room.get((r2, m), 0.0)
                        )
                        if amount <= HALF_CENT:
                            continue
                        for row, sell, buy in ((r1, s, m), (r2, m, t)):
                            pairs.append(Pair(row=row, sell=sell, buy=buy, dollars=amount))
                            _apply(plan, slot_of, row, sell, buy, amount)
                        room[(r1, s)] -= amount
                        room[(r2, m)] -= amount
                        remaining[s] -= amount
                        lacking[t] -= amount
    return pairs


def _mark(
    batch: AccountBatch,
    plan: Plan,
    slot_of: dict[tuple[int, int], int],
    order: list[int],
    symbol: int,
    reason: Reason,
) -> None:
    """Mark the slots of ``symbol`` whose rules kept the household from trading it as wanted:
    shares held back from a sale, or a model line that may not be bought."""
    for r in order:
        j = slot_of.get((r, symbol))
        if j is None:
            continue
        if reason is Reason.SELL_LIMITED:
            blocked = batch.sell_limit[r, j] < batch.quantity[r, j] - 1e-9
        else:
            blocked = bool(batch.in_model[r, j]) and not batch.buy_allowed[r, j]
        if blocked:
            plan.reason[r, j] |= np.uint32(reason)


def _first_sink(
    batch: AccountBatch,
    slot_of: dict[tuple[int, int], int],
    row: int,
    under: list[int],
    lacking: dict[int, float],
) -> int | None:
    for s in under:
        if lacking[s] <= HALF_CENT:
            continue
        if s == CASH:
            return s
        j = slot_of.get((row, s))
        if j is not None and batch.buy_allowed[row, j]:
            return s
    return None


def _apply(
    plan: Plan, slot_of: dict[tuple[int, int], int], row: int, sell: int, buy: int, amount: float
) -> None:
    if sell != CASH:
        plan.dollars[row, slot_of[(row, sell)]] -= amount
    if buy != CASH:
        plan.dollars[row, slot_of[(row, buy)]] += amount


def _reasons(batch: AccountBatch, plan: Plan) -> None:
    d = plan.dollars
    model = batch.in_model & batch.valid
    plan.reason[batch.valid & ~batch.in_model & (d < -HALF_CENT)] |= np.uint32(
        Reason.NON_MODEL_SELL
    )
    plan.reason[model & (d < -HALF_CENT)] |= np.uint32(Reason.ABOVE_TARGET_SELL)
    plan.reason[model & (d > HALF_CENT)] |= np.uint32(Reason.BELOW_TARGET_BUY)
    ruled = (plan.reason & np.uint32(Reason.SELL_LIMITED | Reason.BUY_BLOCKED)) != 0
    plan.reason[model & (np.abs(d) <= HALF_CENT) & ~ruled] |= np.uint32(Reason.AT_TARGET)


def household_weights(
    dollars: Dollars, cash: Dollars, symbol: Codes, rows: npt.NDArray[np.intp]
) -> tuple[dict[int, float], float]:
    """Household weights of accounts ``rows``: fraction of household value per symbol code,
    and of cash. ``dollars`` is market value per slot, (N, K); ``cash`` dollars, (N,)."""
    total = float(cash[rows].sum() + dollars[rows].sum())
    if total <= 0:
        return {}, 0.0
    by_symbol: dict[int, float] = {}
    for r in rows:
        for j in np.flatnonzero(symbol[r] >= 0):
            s = int(symbol[r, j])
            by_symbol[s] = by_symbol.get(s, 0.0) + float(dollars[r, j]) / total
    return by_symbol, float(cash[rows].sum()) / total
