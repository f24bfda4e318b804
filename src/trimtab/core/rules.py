"""An account's rules on a date, turned into what the trade logics honour.

:func:`apply_rules` gives a batch adjusted targets (restrictions), ``sell_limit`` (shares
that locks, holds and tax rules leave sellable) and ``buy_allowed``, plus the equivalents
groups and a :class:`RuleReason` flag per slot. After the logic, :func:`settle` applies
trade holds and marks accounts whose wanted trades rules blocked, and :func:`realise` says
which lots each sale relieves and the gains realised.

Symbols are codes; shares, dollars and fractions of account value as stated per field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from enum import IntEnum

import numpy as np
import numpy.typing as npt

from trimtab.core.batch import AccountBatch, Shares
from trimtab.core.engine import BatchProposal
from trimtab.core.lots import (
    ORDERS,
    Lot,
    LotLocks,
    LotMethod,
    Sale,
    eligible_lots,
    relieve,
)
from trimtab.core.reasons import Message, Reason, RuleReason, Status
from trimtab.core.restrictions import (
    EquivalentGroup,
    Exclusion,
    GroupArrays,
    restrict_account,
)

Flags = npt.NDArray[np.uint32]
WASH_SALE_DAYS = 30
"""Days before trade date in which a buy (or a loss sale) in the household opens a wash sale."""


class Side(IntEnum):
    """Side of a past transaction."""

    BUY = 1
    SELL = 2


@dataclass(frozen=True, slots=True)
class Transaction:
    """A past trade in some account of the household; ``realized_gain`` in dollars if known."""

    account: str
    symbol: int
    side: Side
    when: date
    quantity: float
    realized_gain: float | None = None


@dataclass(frozen=True, slots=True)
class AccountRules:
    """Everything that constrains one account's trades.

    Attributes:
        account: the account's id (matched against ``transactions``).
        qualified: untaxed registration (IRA and the like): no gain lock, no approval.
        exclusions: exclusions and substitutions.
        groups: equivalents groups.
        lots: tax lots by symbol code; positions without lots have no tax information.
        lot_method: the account's lot relief method.
        specific_lots: with specific lots, lot ids to relieve by symbol code, in order.
        gain_lock: the whole account has a gain lock (non-qualified accounts only).
        gain_lock_symbols: securities with their own gain lock.
        elective_locks: securities never sold.
        basis_unlocked: securities whose missing-basis lots may be sold.
        on_hold: a trade hold is in force.
        transactions: past trades in the household, this account's included.
        short_term_days: short-term trading window in days by symbol code.
    """

    account: str
    qualified: bool = False
    exclusions: tuple[Exclusion, ...] = ()
    groups: tuple[EquivalentGroup, ...] = ()
    lots: Mapping[int, tuple[Lot, ...]] = field(default_factory=dict)
    lot_method: LotMethod = LotMethod.FIFO
    specific_lots: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    gain_lock: bool = False
    gain_lock_symbols: frozenset[int] = frozenset()
    elective_locks: frozenset[int] = frozenset()
    basis_unlocked: frozenset[int] = frozenset()
    on_hold: bool = False
    transactions: tuple[Transaction, ...] = ()
    short_term_days: Mapping[int, int] = field(default_factory=dict)

    def lot_locks(self, symbol: int, as_of: date) -> LotLocks:
        """The locks on the lots of ``symbol``."""
        specific = self.specific_lots.get(symbol)
        return LotLocks(
            gain_lock=not self.qualified and (self.gain_lock or symbol in self.gain_lock_symbols),
            elective=symbol in self.elective_locks,
            basis_unlocked=symbol in self.basis_unlocked,
            wash_window=symbol in self.bought_recently(as_of),
            specific=frozenset(specific)
            if self.lot_method == LotMethod.SPECIFIC and specific is not None
            else (frozenset() if self.lot_method == LotMethod.SPECIFIC else None),
        )

    def bought_recently(self, as_of: date) -> frozenset[int]:
        """Securities bought in any household account within 30 days before ``as_of``."""
        return frozenset(
            t.symbol
            for t in self.transactions
            if t.side == Side.BUY and 0 <= (as_of - t.when).days <= WASH_SALE_DAYS
        )

    def wash_buy_blocked(self, as_of: date) -> frozenset[int]:
        """Securities sold at a loss in any household account within 30 days before ``as_of``."""
        return frozenset(
            t.symbol
            for t in self.transactions
            if t.side == Side.SELL
            and t.realized_gain is not None
            and t.realized_gain < 0
            and 0 <= (as_of - t.when).days <= WASH_SALE_DAYS
        )

    def short_term_blocked(self, as_of: date) -> frozenset[int]:
        """Securities this account sold within their short-term trading window."""
        return frozenset(
            t.symbol
            for t in self.transactions
            if t.side == Side.SELL
            and t.account == self.account
            and t.symbol in self.short_term_days
            and 0 <= (as_of - t.when).days <= self.short_term_days[t.symbol]
        )


@dataclass(frozen=True, slots=True)
class RuledBatch:
    """A batch with its rules applied.

    Attributes:
        batch: targets, bands, cash targets, ``sell_limit`` (shares) and ``buy_allowed``
            adjusted by the rules.
        groups: equivalents groups, or ``None`` when no account has one.
        rule_reason: :class:`RuleReason` flags, (N, K).
        hold: accounts on trade hold, (N,).
        ruled: accounts with any rules, (N,).
    """

    batch: AccountBatch
    groups: GroupArrays | None
    rule_reason: Flags
    hold: npt.NDArray[np.bool_]
    ruled: npt.NDArray[np.bool_]


def apply_rules(
    batch: AccountBatch,
    slot_symbol: npt.NDArray[np.int32],
    rules: Sequence[AccountRules | None],
    as_of: date,
) -> RuledBatch:
    """The batch as the logics must see it on ``as_of``; ``rules`` has one entry per account.

    ``slot_symbol`` gives the symbol code of each slot, -1 for padding, (N, K).
    """
    n, k = batch.price.shape
    target = batch.target.copy()
    lower = batch.lower.copy()
    upper = batch.upper.copy()
    in_model = batch.in_model.copy()
    cash_target = batch.cash_target.copy()
    sell_limit = batch.sell_limit.copy()
    buy_allowed = batch.buy_allowed.copy()
    flags = np.zeros((n, k), dtype=np.uint32)
    hold = np.zeros(n, dtype=bool)
    ruled = np.zeros(n, dtype=bool)
    lead = np.full((n, k), -1, dtype=np.int32)
    buy_rank = np.zeros((n, k))
    sell_rank = np.zeros((n, k))
    market = batch.quantity * batch.price
    value = batch.cash + market.sum(axis=1)
    for r, acc in enumerate(rules):
        if acc is None:
            continue
        ruled[r] = True
        hold[r] = acc.on_hold
        weight = market[r] / value[r] if value[r] > 0 else np.zeros(k)
        out = restrict_account(
            slot_symbol=slot_symbol[r],
            weight=weight,
            target=target[r],
            lower=lower[r],
            upper=upper[r],
            in_model=in_model[r] & batch.valid[r],
            cash_target=float(cash_target[r]),
            exclusions=acc.exclusions,
            groups=acc.groups,
            as_of=as_of,
        )
        target[r], lower[r], upper[r] = out.target, out.lower, out.upper
        in_model[r] = out.in_model
        cash_target[r] = out.cash_target
        lead[r], buy_rank[r], sell_rank[r] = out.group_lead, out.buy_rank, out.sell_rank
        flags[r] = out.flags
        limit = _sell_limits(
            acc, slot_symbol[r], batch.quantity[r], batch.price[r], as_of, flags[r]
        )
        limit[out.no_sell] = 0.0
        sell_limit[r] = np.minimum(limit, batch.quantity[r])
        can_buy = (out.in_model | (out.group_lead >= 0)) & batch.valid[r] & ~out.no_buy
        for rule, blocked in (
            (RuleReason.WASH_SALE_BUY, acc.wash_buy_blocked(as_of)),
            (RuleReason.SHORT_TERM_LIMIT, acc.short_term_blocked(as_of)),
        ):
            hit = np.isin(slot_symbol[r], list(blocked)) & batch.valid[r]
            flags[r][hit] |= np.uint32(rule)
            can_buy &= ~hit
        buy_allowed[r] = can_buy
    adjusted = replace(
        batch,
        target=target,
        lower=lower,
        upper=upper,
        in_model=in_model,
        cash_target=cash_target,
        sell_limit=sell_limit,
        buy_allowed=buy_allowed,
    )
    groups = GroupArrays(lead, buy_rank, sell_rank) if (lead >= 0).any() else None
    return RuledBatch(adjusted, groups, flags, hold, ruled)


def _sell_limits(
    acc: AccountRules,
    slot_symbol: npt.NDArray[np.int32],
    quantity: Shares,
    price: Shares,
    as_of: date,
    flags: Flags,
) -> Shares:
    """Shares each slot may sell under the account's locks and tax rules (K,)."""
    limit = quantity.copy()
    for k, code in enumerate(slot_symbol):
        c = int(code)
        if c < 0 or quantity[k] <= 0:
            continue
        lots = acc.lots.get(c)
        locks = acc.lot_locks(c, as_of)
        if lots is None:
            if locks.elective:
                limit[k] = 0.0
                flags[k] |= np.uint32(RuleReason.ELECTIVE_LOCK)
            continue
        ok, why = eligible_lots(lots, float(price[k]), locks)
        limit[k] = sum(lot.quantity for lot, e in zip(lots, ok, strict=True) if e)
        if limit[k] < quantity[k]:
            flags[k] |= np.uint32(why)
    return limit


def settle(
    proposal: BatchProposal, ruled: RuledBatch
) -> tuple[BatchProposal, npt.NDArray[np.bool_]]:
    """Apply trade holds and mark accounts whose wanted trades rules blocked or limited.

    Returns the proposal and, per account, whether rules limited it (status at least part
    success). Accounts on hold get no trades, status failed and the trade-hold message.
    """
    wanted = np.uint32(Reason.SELL_LIMITED | Reason.BUY_BLOCKED)
    limited = ruled.ruled & ((proposal.reason & wanted) != 0).any(axis=1) & ~ruled.hold
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


def realise(
    proposal: BatchProposal,
    batch: AccountBatch,
    slot_symbol: npt.NDArray[np.int32],
    rules: Sequence[AccountRules | None],
    as_of: date,
) -> dict[tuple[int, int], Sale]:
    """The lots relieved by every sale of a position with lots, by ``(account, slot)``.

    Lots are relieved by the account's method among the lots its locks leave sellable.
    """
    out: dict[tuple[int, int], Sale] = {}
    rows, cols = np.nonzero(proposal.quantity < 0)
    for r, k in zip(rows.tolist(), cols.tolist(), strict=True):
        acc = rules[r]
        if acc is None:
            continue
        code = int(slot_symbol[r, k])
        lots = acc.lots.get(code)
        if not lots:
            continue
        price = float(batch.price[r, k])
        ok, _ = eligible_lots(lots, price, acc.lot_locks(code, as_of))
        order = ORDERS[acc.lot_method]
        if acc.lot_method == LotMethod.SPECIFIC:
            named = acc.specific_lots.get(code, ())
            rank = {lot_id: i for i, lot_id in enumerate(named)}
            order = _by_rank(rank)
        out[(r, k)] = relieve(lots, ok, -float(proposal.quantity[r, k]), price, as_of, order)
    return out


def _by_rank(rank: Mapping[str, int]) -> Callable[[Sequence[Lot], float, date], list[int]]:
    """Lots in the order of their ids in ``rank`` (unnamed lots last)."""

    def order(lots: Sequence[Lot], price: float, as_of: date) -> list[int]:
        return sorted(
            range(len(lots)), key=lambda i: (rank.get(lots[i].lot_id or "", len(rank)), i)
        )

    return order
