"""One day's trading in a backtest: proposals through the one pipeline, then fills.

The accounts to rebalance are proposed for as one :class:`~trimtab.pipeline.Partition` at
the previous close (the data the service proposes from), with every rule: the book's locks
and restrictions, the replay's lots (relieved by each account's lot method) and wash-sale
windows (buys and loss sales in the household within 30 days), the minimum trade size.
The proposed shares fill at the trade day's close: each trade's dollars are rounded to the
cent, costs (per trade, and basis points of the dollars, rounded to the cent per account)
come out of cash, buys open lots at their dollars, sales relieve the lots the pipeline
chose, realising the fill's proceeds less the lots' basis.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from trimtab.backtest.lotstore import LotStore, Relief
from trimtab.backtest.setup import Setup
from trimtab.core.engine import Method, TradeOptions
from trimtab.core.lots import SHARE_TOLERANCE
from trimtab.core.restrictions import SlotRestrictions
from trimtab.core.rules import WASH_SALE_DAYS, SlotRules
from trimtab.core.triggers import NO_DAY
from trimtab.pipeline import Partition, Proposed, propose_partition

Indices = npt.NDArray[np.int64]
Dollars = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Costs:
    """Trading costs: dollars per trade and basis points of each trade's dollars."""

    per_trade: float = 0.0
    bps: float = 0.0


@dataclass(frozen=True, slots=True)
class Fills:
    """A day's fills, (F,) each: account, slot, signed shares, signed dollars (rounded to
    the cent, + bought), and the lots the sales relieved; ``cost`` per account, (N,)."""

    account: Indices
    slot: Indices
    quantity: npt.NDArray[np.float64]
    amount: Dollars
    relief: Relief
    cost: Dollars


@dataclass(slots=True)
class WashState:
    """Day numbers of the latest buy and loss sale per (household, symbol code)."""

    bought: npt.NDArray[np.int64]
    lost: npt.NDArray[np.int64]

    @staticmethod
    def empty(households: int, symbols: int) -> WashState:
        shape = (households, symbols + 1)
        return WashState(np.full(shape, NO_DAY, np.int64), np.full(shape, NO_DAY, np.int64))

    def within(self, which: npt.NDArray[np.int64], day: int) -> npt.NDArray[np.bool_]:
        """Where ``which`` (gathered day numbers) falls in the 30 days up to ``day``."""
        out: npt.NDArray[np.bool_] = (day - which >= 0) & (day - which <= WASH_SALE_DAYS)
        return out


def _restrictions(r: SlotRestrictions, accounts: Indices) -> SlotRestrictions:
    return SlotRestrictions(
        behaviour=r.behaviour[accounts],
        replacement=r.replacement[accounts],
        substitute=r.substitute[accounts],
        lead=r.lead[accounts],
        member=r.member[accounts],
        several=r.several[accounts],
    )


def day_rules(
    setup: Setup, accounts: Indices, lots: LotStore, wash: WashState, day: int
) -> SlotRules:
    """The rules of ``accounts`` (ascending) on day number ``day``: the book's, with the
    replay's lots and wash-sale windows."""
    r = setup.rules
    house = setup.household[accounts][:, None]
    symbol = setup.slot_symbol[accounts]
    valid = symbol >= 0
    return SlotRules(
        restrictions=_restrictions(r.restrictions, accounts),
        elective=r.elective[accounts],
        gain_lock=r.gain_lock[accounts],
        basis_unlocked=r.basis_unlocked[accounts],
        wash_window=wash.within(wash.bought[house, symbol], day) & valid,
        wash_buy=wash.within(wash.lost[house, symbol], day) & valid,
        short_term=np.zeros(symbol.shape, dtype=bool),
        hold=r.hold[accounts],
        ruled=np.ones(accounts.size, dtype=bool),
        method=r.method[accounts],
        lots=lots.of(accounts, r.method[accounts]),
    )


def trade(
    setup: Setup,
    accounts: Indices,
    method: Method,
    options: TradeOptions,
    *,
    t: int,
    quantity: npt.NDArray[np.float64],
    cash: Dollars,
    lots: LotStore,
    wash: WashState,
    costs: Costs,
) -> Fills:
    """Propose for ``accounts`` on day ``t`` at the close of ``t - 1`` and fill at the close
    of ``t``: ``quantity``, ``cash``, ``lots`` and ``wash`` are updated in place."""
    history = setup.history
    day = int(history.days[t].astype(np.int64))
    when = history.days[t].astype(object)
    symbol = setup.slot_symbol[accounts]
    batch = replace(
        setup.base.take(accounts),
        price=history.close[t - 1][symbol],
        quantity=quantity[accounts],
        cash=cash[accounts],
        sell_limit=quantity[accounts],
    )
    part = Partition(
        batch=batch,
        symbol=symbol,
        household=setup.household[accounts].astype(np.int32),
        rules=day_rules(setup, accounts, lots, wash, day),
        qualified=setup.qualified[accounts],
        as_of=when,
        owned=True,
    )
    done = propose_partition(part, method, options.take(accounts))
    q = done.proposal.quantity
    rows, cols = np.nonzero(q)
    shares = q[rows, cols]
    account = accounts[rows]
    price = history.close[t][symbol[rows, cols]]
    amount = np.round(shares * price, 2)
    n = setup.size
    spent = np.bincount(account, weights=amount, minlength=n)
    fee = costs.per_trade + np.abs(amount) * (costs.bps / 10_000.0)
    cost: Dollars = np.round(np.bincount(account, weights=fee, minlength=n), 2).astype(np.float64)
    cash -= spent + cost
    np.add.at(quantity, (account, cols), shares)
    quantity[np.abs(quantity) < SHARE_TOLERANCE] = 0.0
    relief = _relieve(setup, done, t, lots)
    sold = np.flatnonzero(shares < 0)
    _check_relief(relief, account[sold], cols[sold], -shares[sold])
    bought = np.flatnonzero(shares > 0)
    lots.open(account[bought], cols[bought], shares[bought], amount[bought], when.toordinal())
    house = setup.household
    wash.bought[house[account[bought]], symbol[rows[bought], cols[bought]]] = day
    loss = relief.gain < 0
    wash.lost[
        house[relief.account[loss]], setup.slot_symbol[relief.account[loss], relief.slot[loss]]
    ] = day
    return Fills(account, cols.astype(np.int64), shares, amount, relief, cost)


def _relieve(setup: Setup, done: Proposed, t: int, lots: LotStore) -> Relief:
    """The lots the pipeline relieved, taken from the store at the fill price."""
    if done.relieved is None or done.ruled is None or done.relieved.index.size == 0:
        none = np.zeros(0, dtype=np.int64)
        return Relief(
            none, none, none, np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, bool)
        )
    ruled_lots = done.ruled.rules.lots
    assert ruled_lots.source is not None
    lot = ruled_lots.source[done.relieved.index]
    took = done.relieved.quantity
    account, slot = lots.where(lot)
    proceeds = took * setup.history.close[t][setup.slot_symbol[account, slot]]
    basis = lots.relieve(lot, took)
    return Relief(
        lot, account, slot, took, proceeds, basis, proceeds - basis, done.relieved.long_term
    )


def _check_relief(relief: Relief, account: Indices, slot: Indices, shares: Dollars) -> None:
    """Every share sold was relieved from a lot (the pipeline sells only lots it may)."""
    k = int(max(slot.max(initial=0), relief.slot.max(initial=0))) + 1
    sold_key, got_key = account * k + slot, relief.account * k + relief.slot
    keys = np.unique(np.r_[sold_key, got_key])
    sold = np.bincount(np.searchsorted(keys, sold_key), weights=shares, minlength=keys.size)
    got = np.bincount(np.searchsorted(keys, got_key), weights=relief.quantity, minlength=keys.size)
    if keys.size and np.abs(sold - got).max() > 1e-6:
        raise RuntimeError("a sale relieved a different number of shares of lots")
