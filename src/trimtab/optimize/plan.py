"""The solver logics as dollar plans, so that they go through the core's rounding path.

An optimiser returns share quantities; the plan carries them as exact dollars (quantity x
price) and marks the non-model holdings sold in full, so :func:`trimtab.core.rounding.
round_plan` gives back the same quantities (rounding toward zero of an exact multiple of
the unit is the identity) and then applies what every logic shares: order values to the
cent, the minimum trade size and the overdraft trim. The trim can only act when cent
rounding of order values takes cash a fraction of a cent below zero (prices with more than
two decimals, or fractional shares).
"""

from __future__ import annotations

from functools import partial

import numpy as np

from trimtab.core import engine
from trimtab.core.batch import AccountBatch
from trimtab.core.engine import BatchProposal, Method, TradeOptions
from trimtab.core.logics import Plan
from trimtab.core.money import HALF_CENT
from trimtab.core.reasons import Message, Reason, Status
from trimtab.core.restrictions import GroupArrays
from trimtab.optimize.solve import (
    DEFAULT_TIME_LIMIT,
    OptimizedBatch,
    SolveStatus,
    best_fit_batch,
    minimum_transaction_batch,
)


def plan_from_quantities(batch: AccountBatch, result: OptimizedBatch, method: Method) -> Plan:
    """Signed dollars (+ buy, − sell) per slot from signed share quantities, with reasons."""
    q = result.quantity
    n, k = q.shape
    model = batch.in_model & batch.valid
    non_model = batch.valid & ~batch.in_model & (batch.quantity > 0)
    # A held security outside the model (target 0, band [0, 0]) is sold in full by every
    # logic that sells, as far as rules allow: the solver's whole units leave a fraction of a
    # share, or a holding worth a cent or less, unsold; the full sale sells it all.
    whole = non_model & (batch.sell_limit > 0)
    q = np.where(whole, -batch.sell_limit, q)
    dollars = q * batch.price
    sold = (dollars < -HALF_CENT) | whole
    bought = dollars > HALF_CENT
    reason = np.zeros((n, k), dtype=np.uint32)

    def flag(where: np.ndarray, r: Reason) -> None:
        reason[where] |= np.uint32(r)

    flag(non_model, Reason.NON_MODEL_SELL)
    flag(non_model & (batch.sell_limit < batch.quantity), Reason.SELL_LIMITED)
    market = batch.quantity * batch.price
    value = batch.cash + market.sum(axis=1)
    if method is Method.BEST_FIT:
        gap = market - batch.target * value[:, None]
        flag(model & sold, Reason.ABOVE_TARGET_SELL)
        flag(model & bought, Reason.BELOW_TARGET_BUY)
        flag(model & ~sold & ~bought & (gap < 0) & ~batch.buy_allowed, Reason.BUY_BLOCKED)
        flag(model & ~sold & ~bought & (reason == 0), Reason.AT_TARGET)
    else:
        above = market > batch.upper * value[:, None] + HALF_CENT
        below = market < batch.lower * value[:, None] - HALF_CENT
        flag(model & sold & above, Reason.ABOVE_MAX_SELL)
        flag(model & sold & ~above, Reason.TIDE_SELL)
        flag(model & bought, Reason.BELOW_MIN_BUY)
        flag(model & below & ~bought & ~batch.buy_allowed, Reason.BUY_BLOCKED)
        flag(model & ~sold & ~bought & (reason == 0), Reason.IN_BAND)
    flag(
        model & sold & (-q >= batch.sell_limit) & (batch.sell_limit < batch.quantity),
        Reason.SELL_LIMITED,
    )
    # An account whose trades are not proven optimal says so: part success and a message
    # naming why (limit reached with a solution, fallback, solver failure).
    message = _MESSAGES[result.status]
    status = np.where(message == Message.NONE, Status.SUCCESS, Status.PART_SUCCESS)
    return Plan(
        dollars=dollars,
        full_sell=non_model & sold,
        reason=reason,
        status=status.astype(np.int8),
        message=message.astype(np.int8),
    )


_SOLVE_MESSAGE = {
    SolveStatus.OPTIMAL: Message.NONE,
    SolveStatus.INCUMBENT: Message.NOT_PROVEN_OPTIMAL,
    SolveStatus.FALLBACK: Message.OPTIMISER_FALLBACK,
    SolveStatus.SOLVER_ERROR: Message.SOLVER_FAILED,
}
_MESSAGES = np.array([_SOLVE_MESSAGE[s] for s in SolveStatus], dtype=np.int8)
"""Account message per :class:`SolveStatus` code."""


def plan_trades(
    batch: AccountBatch,
    method: Method,
    options: TradeOptions,
    rows: slice,
    *,
    time_limit: float = DEFAULT_TIME_LIMIT,
    workers: int = 1,
) -> Plan:
    """:func:`trimtab.core.engine.plan_trades` that also plans the solver logics
    (``time_limit`` seconds per account, accounts on ``workers`` threads)."""
    if method is Method.BEST_FIT:
        result = best_fit_batch(batch, unit=options.unit, time_limit=time_limit, workers=workers)
    elif method is Method.MINIMUM_TRANSACTION:
        result = minimum_transaction_batch(
            batch, unit=options.unit, time_limit=time_limit, workers=workers
        )
    else:
        return engine.plan_trades(batch, method, options, rows)
    return plan_from_quantities(batch, result, method)


def propose(
    batch: AccountBatch,
    method: Method,
    options: TradeOptions | None = None,
    *,
    rows: slice | None = None,
    groups: GroupArrays | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT,
    workers: int = 1,
) -> BatchProposal:
    """:func:`trimtab.core.engine.propose` for every method, the solver logics included;
    ``time_limit`` is seconds of solver time per account, ``workers`` threads solve
    accounts side by side."""
    return engine.propose(
        batch,
        method,
        options,
        rows=rows,
        groups=groups,
        planner=partial(plan_trades, time_limit=time_limit, workers=workers),
    )
