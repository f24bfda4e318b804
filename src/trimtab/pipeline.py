"""The one proposing pipeline: accounts as arrays in, proposals with their rules out.

Every entry point proposes through :func:`propose_partition`: one scenario
(``trimtab propose``), each chunk of a book (``propose-book``), a service request, and
whatever runs a partition elsewhere. It alone

1. chooses the planner: the core's logics, the solver (Best Fit, Minimum Transaction) or
   household planning;
2. lays the rules on (:func:`~trimtab.core.rules.apply_slot_rules`);
3. plans and rounds (:func:`~trimtab.core.engine.propose`), applies trade holds and marks
   what rules limited (:func:`~trimtab.core.rules.settle`);
4. relieves the lots of every sale and adds up the realised gains;
5. refuses, within each household, the buy of a security the same proposal sells at a loss
   (a wash sale) and plans again, until no such buy is left;
6. flags the accounts whose proposal needs an approver (:data:`APPROVAL_GAIN`).

A :class:`Partition` holds everything already sliced to its accounts (rows 0..N), so a
partition can run on any thread, process or machine: nothing here indexes a whole book.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date

import numpy as np
import numpy.typing as npt

from trimtab.core.batch import AccountBatch, Dollars, Mask
from trimtab.core.engine import SOLVER_METHODS, BatchProposal, Method, Planner, TradeOptions
from trimtab.core.engine import plan_trades as core_plan_trades
from trimtab.core.engine import propose as engine_propose
from trimtab.core.household import household_rebalance
from trimtab.core.logics import Plan
from trimtab.core.lots import APPROVAL_GAIN, Relieved, slot_gains
from trimtab.core.reasons import Message, RuleReason
from trimtab.core.rules import RuledBatch, SlotRules, apply_slot_rules, relieved, settle

Codes = npt.NDArray[np.int32]

__all__ = ["APPROVAL_GAIN", "Partition", "Proposed", "propose_partition"]


@dataclass(frozen=True, slots=True)
class Partition:
    """Accounts to propose for, with everything that shapes their trades.

    Attributes:
        batch: the accounts, (N, K) slots; its ``target``, ``lower`` and ``upper`` arrays
            are overwritten by the rules when ``owned`` (a batch made for this partition).
        symbol: symbol code of each slot, -1 on padding, (N, K): the same code on two
            slots is the same security (a model line and its APM twin).
        household: household code per account, (N,): accounts sharing a code are one
            household (household rebalance; wash sales look across it). ``None``: each
            account is its own household.
        rules: the accounts' rules laid on these slots (rows 0..N), prepared or not;
            ``None`` for accounts without rules or lots.
        qualified: untaxed registration per account, (N,); ``None``: none qualified.
        as_of: the trade date the rules and lots are evaluated on (required with rules).
        owned: the batch's target and band arrays may be overwritten.
    """

    batch: AccountBatch
    symbol: Codes
    household: Codes | None = None
    rules: SlotRules | None = None
    qualified: Mask | None = None
    as_of: date | None = None
    owned: bool = False

    @property
    def size(self) -> int:
        return self.batch.size


@dataclass(frozen=True, slots=True)
class Proposed:
    """The proposals of a partition.

    Attributes:
        proposal: trades, statuses and messages (trade holds applied), (N, K) / (N,).
        ruled: the batch as planned under the rules (adjusted targets, limits, the wash-sale
            buys refused here), or ``None`` without rules.
        relieved: the lots every sale relieved (indexes into ``ruled.rules.lots``), or
            ``None`` without rules.
        short_term_gain, long_term_gain: realised gains per slot in dollars, (N, K); 0
            without lots or basis.
        limited: accounts whose wanted trades rules blocked or limited, (N,).
        needs_approval: non-qualified accounts realising :data:`APPROVAL_GAIN` dollars or
            more of gains, (N,).
    """

    proposal: BatchProposal
    ruled: RuledBatch | None
    relieved: Relieved | None
    short_term_gain: Dollars
    long_term_gain: Dollars
    limited: Mask
    needs_approval: Mask

    @property
    def realized_gain(self) -> Dollars:
        """Short- plus long-term gains per account in dollars, (N,)."""
        out: Dollars = self.short_term_gain.sum(axis=1) + self.long_term_gain.sum(axis=1)
        return out


def _households(part: Partition) -> Codes:
    if part.household is not None:
        return part.household
    return np.arange(part.size, dtype=np.int32)


def _planner(method: Method, symbol: Codes, house: Codes) -> Planner:
    """The dollar planner of ``method``: the solver package's for the solver logics (imported
    only then: it loads HiGHS), household pairing for household rebalance (of the accounts
    whose slots and households are ``symbol`` and ``house``)."""
    if method in SOLVER_METHODS:
        from trimtab.optimize import plan_trades as solve

        return solve
    if method is Method.HOUSEHOLD_REBALANCE:

        def by_household(b: AccountBatch, m: Method, o: TradeOptions, rows: slice) -> Plan:
            return household_rebalance(b, symbol, house).plan

        return by_household
    return core_plan_trades


def _plan(
    batch: AccountBatch,
    method: Method,
    options: TradeOptions,
    planner: Planner,
    ruled: RuledBatch | None,
) -> BatchProposal:
    return engine_propose(
        batch,
        method,
        options,
        groups=None if ruled is None else ruled.groups,
        planner=planner,
    )


def _replan(
    planned: BatchProposal,
    ruled: RuledBatch,
    accounts: npt.NDArray[np.intp],
    method: Method,
    options: TradeOptions,
    symbol: Codes,
    house: Codes,
) -> BatchProposal:
    """``planned`` with the ``accounts`` (whole households) planned again under ``ruled``:
    every logic plans an account (a household for household rebalance) on its own, so the
    other accounts' plans stand as they are."""
    groups = None if ruled.groups is None else ruled.groups.take(accounts)
    again = engine_propose(
        ruled.batch.take(accounts),
        method,
        options.take(accounts),
        groups=None if groups is None or groups.members.size == 0 else groups,
        planner=_planner(method, symbol[accounts], house[accounts]),
    )
    merged = {}
    for f in fields(BatchProposal):
        whole = getattr(planned, f.name).copy()
        whole[accounts] = getattr(again, f.name)
        merged[f.name] = whole
    return BatchProposal(**merged)


def _approval(part: Partition, gain: Dollars) -> Mask:
    qualified = np.zeros(part.size, bool) if part.qualified is None else part.qualified
    out: Mask = ~qualified & (gain >= APPROVAL_GAIN - 0.005)
    return out


def propose_partition(part: Partition, method: Method, options: TradeOptions) -> Proposed:
    """Proposals for every account of ``part`` by ``method`` under its rules.

    ``options`` hold the partition's own per-account amounts (arrays of N) and sub-asset
    classes ((N, K)), already sliced. Without rules the logic's proposal is returned as
    planned; with them, holds, locks, lots, restrictions and wash sales all apply and sales
    carry their realised gains.
    """
    house = _households(part)
    planner = _planner(method, part.symbol, house)
    n, k = part.batch.price.shape
    if part.rules is None:
        proposal = _plan(part.batch, method, options, planner, None)
        zero = np.zeros((n, k))
        return Proposed(proposal, None, None, zero, zero, np.zeros(n, bool), np.zeros(n, bool))
    if part.as_of is None:
        raise ValueError("a partition with rules needs as_of")
    rules = part.rules if part.rules.cache is not None else part.rules.prepared()
    ruled = apply_slot_rules(part.batch, rules, overwrite=part.owned)
    if method is Method.HOUSEHOLD_REBALANCE:
        ruled = _household_ruled(ruled, house)
    refused = np.zeros((n, k), dtype=bool)
    planned = _plan(ruled.batch, method, options, planner, ruled)
    again: npt.NDArray[np.intp] | None = None  # the accounts planned again
    while True:
        proposal, limited = settle(planned, ruled)
        done = relieved(proposal, ruled, part.as_of)
        wash = _wash_buys(proposal, ruled, done, part.symbol, house, again) & ~refused
        if not wash.any():
            break
        # A security sold at a loss in one account of the household (or on one line of an
        # account: a model line and its APM twin) is not bought in the same proposal: refuse
        # the buy and plan those households again (the others' plans stand).
        refused |= wash
        ruled = _refuse_buys(ruled, part.symbol, house, wash)
        again = np.flatnonzero(_among(house, house[np.nonzero(wash)[0]]))
        planned = _replan(planned, ruled, again, method, options, part.symbol, house)
    short, long = slot_gains(done, ruled.rules.lots, (n, k))
    gain = short.sum(axis=1) + long.sum(axis=1)
    message = proposal.message.copy()
    message[limited & (message == Message.NONE)] = Message.RULES_LIMITED
    return Proposed(
        replace(proposal, message=message),
        ruled,
        done,
        short,
        long,
        limited,
        _approval(part, gain),
    )


def _household_ruled(ruled: RuledBatch, house: Codes) -> RuledBatch:
    """Household planning under rules: accounts on trade hold neither sell nor buy, so the
    others trade around them; every account of a household where any account has rules is
    ruled (a buy refused because another account sold at a loss limits it)."""
    b = ruled.batch
    hold = ruled.hold[:, None]
    if hold.any():
        b = replace(
            b, sell_limit=np.where(hold, 0.0, b.sell_limit), buy_allowed=b.buy_allowed & ~hold
        )
    _, inverse = np.unique(house, return_inverse=True)
    any_ruled = np.bincount(inverse, weights=ruled.ruled.astype(np.float64)) > 0
    return replace(ruled, batch=b, ruled=any_ruled[inverse])


def _among(values: npt.NDArray[np.integer], of: npt.NDArray[np.integer]) -> Mask:
    """``np.isin(values, of)`` for keys >= 0: a table when the keys are few enough (the
    wash-sale checks look up many buys among many sales), else a search in the sorted
    distinct ``of`` (``np.isin`` sorts both)."""
    if of.size == 0:
        return np.zeros(values.shape, dtype=bool)
    space = int(max(values.max(initial=0), of.max(initial=0))) + 1
    if space <= _TABLE_KEYS:
        table = np.zeros(space, dtype=bool)
        table[of] = True
        hit: Mask = table[values]
        return hit
    distinct = np.unique(of)
    at = np.minimum(np.searchsorted(distinct, values), distinct.size - 1)
    out: Mask = distinct[at] == values
    return out


_TABLE_KEYS = 1 << 24
"""Most keys for which :func:`_among` uses a table (16 MB of booleans)."""


def _wash_buys(
    proposal: BatchProposal,
    ruled: RuledBatch,
    done: Relieved,
    symbol: Codes,
    house: Codes,
    accounts: npt.NDArray[np.intp] | None = None,
) -> Mask:
    """Slots that buy a security some lot of which the proposal sells at a loss in the same
    household, (N, K); only among ``accounts`` (whole households) when given. Only the buys
    and the loss lots are looked at."""
    n, k = proposal.quantity.shape
    out: Mask = np.zeros((n, k), dtype=bool)
    loss = done.gain < 0  # NaN (no basis) is not a loss
    if not loss.any():
        return out
    lots = ruled.rules.lots
    index = done.index[loss]
    row = lots.row[index]
    quantity = proposal.quantity
    if accounts is not None:
        mine = np.zeros(n, dtype=bool)
        mine[accounts] = True
        index, row = index[mine[row]], row[mine[row]]
        quantity = np.zeros_like(quantity)
        quantity[accounts] = proposal.quantity[accounts]
    width = np.int64(int(symbol.max(initial=0)) + 1)
    sold = house[row].astype(np.int64) * width + symbol[row, lots.slot[index]]
    rows, cols = np.nonzero(quantity > 0)
    bought = house[rows].astype(np.int64) * width + symbol[rows, cols]
    hit = _among(bought, sold)
    out[rows[hit], cols[hit]] = True
    return out


def _refuse_buys(ruled: RuledBatch, symbol: Codes, house: Codes, wash: Mask) -> RuledBatch:
    """``ruled`` with buys refused on every slot, in the households of ``wash``, of the
    securities it buys there."""
    width = np.int64(int(symbol.max(initial=0)) + 1)
    rows, cols = np.nonzero(wash)
    keys = house[rows].astype(np.int64) * width + symbol[rows, cols]
    near = np.flatnonzero(_among(house, house[rows]))  # the accounts of those households
    b = ruled.batch
    near_keys = house[near].astype(np.int64)[:, None] * width + symbol[near]
    hit = _among(near_keys, keys) & b.valid[near]
    refused = np.zeros(b.valid.shape, dtype=bool)
    refused[near] = hit
    flags = ruled.rule_reason | (refused.astype(np.uint32) * np.uint32(RuleReason.WASH_SALE_BUY))
    return replace(
        ruled,
        batch=replace(b, buy_allowed=b.buy_allowed & ~refused),
        rule_reason=flags,
        ruled=ruled.ruled | refused.any(axis=1),
    )
