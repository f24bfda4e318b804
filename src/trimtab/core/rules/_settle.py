"""After the logic: :func:`settle` applies trade holds and marks accounts whose wanted
trades rules blocked; :func:`relieved`, :func:`realize` and :func:`sales_of` say which lots
each sale relieves and the gains realised (dollars).
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date

import numpy as np
import numpy.typing as npt

from trimtab.core.engine import BatchProposal
from trimtab.core.lots import Relief, Relieved, Sale, relieve_lots, relieve_sales
from trimtab.core.reasons import Message, Reason, Status
from trimtab.core.rules._apply import RuledBatch


def settle(
    proposal: BatchProposal, ruled: RuledBatch
) -> tuple[BatchProposal, npt.NDArray[np.bool_]]:
    """Apply trade holds and mark accounts whose wanted trades rules blocked or limited.

    Returns the proposal and, per account, whether rules limited it (status at least part
    success). Accounts on hold get no trades, status failed and the trade-hold message.
    Where rules kept shares unsold while the logic sold others (generate cash raising
    elsewhere what a lock keeps), those lines are marked "sale limited by a rule".
    """
    wanted = np.uint32(Reason.SELL_LIMITED | Reason.BUY_BLOCKED)
    limited = ruled.ruled & ((np.bitwise_or.reduce(proposal.reason, axis=1) & wanted) != 0)
    limited &= ~ruled.hold
    b = ruled.batch
    selling = (proposal.quantity < 0).any(axis=1) & ruled.ruled & ~ruled.hold
    if selling.any():
        # Positions rules keep (partly) unsold, not sold in full, in accounts that sell.
        at = np.flatnonzero(b.sell_limit < b.quantity - 1e-9)
        unsold = proposal.quantity.ravel()[at] > 1e-9 - b.quantity.ravel()[at]
        at = at[unsold & selling[at // b.width]]
        if at.size:
            reason = proposal.reason.copy()
            shaped = reason.reshape(-1)
            shaped[at] &= ~np.uint32(Reason.GENERATE_NOT_NEEDED)
            shaped[at] |= np.uint32(Reason.SELL_LIMITED)
            proposal = replace(proposal, reason=reason)
    status = proposal.status.copy()
    status[limited] = np.maximum(status[limited], np.int8(Status.PART_SUCCESS))
    out = replace(proposal, status=status)
    if ruled.hold.any():
        h = ruled.hold
        quantity = proposal.quantity.copy()
        order_value = proposal.order_value.copy()
        trade_value = proposal.trade_value.copy()
        cash_after = proposal.cash_after.copy()
        weight_after = proposal.weight_after.copy()
        reason = proposal.reason.copy()
        message = proposal.message.copy()
        quantity[h] = order_value[h] = trade_value[h] = 0.0
        cash_after[h] = cash_after[h] + proposal.order_value[h].sum(axis=1)
        weight_after[h] = proposal.weight_before[h]
        reason[h] = np.uint32(Reason.TRADE_HOLD)
        status[h] = np.int8(Status.FAILED)
        message[h] = np.int8(Message.TRADE_HOLD)
        out = replace(
            out,
            quantity=quantity,
            order_value=order_value,
            trade_value=trade_value,
            cash_after=np.round(cash_after, 2),
            weight_after=weight_after,
            reason=reason,
            status=status,
            message=message,
        )
    return out, limited


def relieved(proposal: BatchProposal, ruled: RuledBatch, as_of: date) -> Relieved:
    """The lots every sale of ``proposal`` relieves, by the account's method, among the lots
    its locks leave sellable."""
    rules = ruled.rules
    price, method = ruled.batch.price, rules.method
    cache = rules.cache
    if cache is None:
        sold = np.maximum(-proposal.quantity, 0.0)
        return relieve_lots(rules.lots, ruled.lot_eligible, sold, price, method, as_of)
    slot = np.flatnonzero(proposal.quantity < 0)
    return relieve_sales(
        rules.lots,
        ruled.lot_eligible,
        slot,
        -proposal.quantity.ravel().take(slot),
        price,
        method,
        as_of,
        first_lot=cache.first_lot,
        first_offset=cache.lot_offset,
    )


def realize(proposal: BatchProposal, ruled: RuledBatch, as_of: date) -> dict[tuple[int, int], Sale]:
    """The lots relieved by every sale of a position with lots, by ``(account, slot)``.

    Lots are relieved by the account's method among the lots its locks leave sellable.
    """
    return sales_of(relieved(proposal, ruled, as_of), ruled)


def sales_of(done: Relieved, ruled: RuledBatch) -> dict[tuple[int, int], Sale]:
    """The relieved lots ``done`` as one :class:`Sale` per ``(account, slot)``, for reports."""
    lots = ruled.rules.lots
    out: dict[tuple[int, int], list[Relief]] = {}
    ids = lots.lot_id
    for i, q, gain, term in zip(
        done.index.tolist(),
        done.quantity.tolist(),
        done.gain.tolist(),
        done.long_term.tolist(),
        strict=True,
    ):  # in relief order
        r, k = int(lots.row[i]), int(lots.slot[i])
        basis = float(lots.basis[i])
        price = float(ruled.batch.price[r, k])
        out.setdefault((r, k), []).append(
            Relief(
                index=i,
                lot_id=None if ids is None else ids[i],
                acquired=date.fromordinal(int(lots.acquired[i])),
                quantity=q,
                cost_basis=None if np.isnan(basis) else basis * q / float(lots.quantity[i]),
                proceeds=q * price,
                gain=None if math.isnan(gain) else gain,
                long_term=term,
            )
        )
    sales: dict[tuple[int, int], Sale] = {}
    for key, reliefs in out.items():
        ordered = tuple(reliefs)
        short = sum(r.gain for r in ordered if r.gain is not None and not r.long_term)
        long = sum(r.gain for r in ordered if r.gain is not None and r.long_term)
        unknown = any(r.gain is None for r in ordered)
        sales[key] = Sale(ordered, float(short), float(long), unknown)
    return sales
