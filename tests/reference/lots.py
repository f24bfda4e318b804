"""Lot relief one position at a time: the plain reference for :mod:`trimtab.core.lots`.

The product relieves the lots of a whole batch at once (``relieve_lots``, ``relieve_sales``,
``lot_eligibility``); these functions do it lot by lot, the way the rules read, so that tests
can hold the vectorised kernels against them. Nothing in ``src/`` uses them. Quantities are
shares, cost bases and gains dollars; a lot is long term when held more than one year (sold
after the first anniversary of its acquisition).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from trimtab.core.lots import SHARE_TOLERANCE, Lot, LotMethod, Relief, Sale, anniversary
from trimtab.core.reasons import RuleReason
from trimtab.core.rules import AccountRules


def lot_gain(lot: Lot, price: float) -> float | None:
    """Unrealised gain in dollars at ``price`` (dollars per share); ``None`` without basis."""
    if lot.cost_basis is None:
        return None
    return lot.quantity * price - lot.cost_basis


def per_share_cost(lot: Lot) -> float:
    """Cost basis per share in dollars (infinite when the basis is missing)."""
    if lot.cost_basis is None or lot.quantity <= 0:
        return math.inf
    return lot.cost_basis / lot.quantity


def is_long_term(acquired: date, sold: date) -> bool:
    """Held more than one year: sold after the first anniversary of the acquisition."""
    return sold > anniversary(acquired)


class LotOrder(Protocol):
    """Ranks the lots of one position for relief, first relieved first (indices)."""

    def __call__(self, lots: Sequence[Lot], price: float, as_of: date) -> list[int]: ...


def fifo(lots: Sequence[Lot], price: float, as_of: date) -> list[int]:
    """First in, first out: oldest acquisition first."""
    return sorted(range(len(lots)), key=lambda i: (lots[i].acquired, i))


def lifo(lots: Sequence[Lot], price: float, as_of: date) -> list[int]:
    """Last in, first out: newest acquisition first."""
    return sorted(range(len(lots)), key=lambda i: (-lots[i].acquired.toordinal(), i))


def hifo(lots: Sequence[Lot], price: float, as_of: date) -> list[int]:
    """Highest cost per share first."""
    return sorted(range(len(lots)), key=lambda i: (-per_share_cost(lots[i]), i))


def minimum_tax(lots: Sequence[Lot], price: float, as_of: date) -> list[int]:
    """Losses before gains, long term before short term, then largest loss or smallest gain
    per share first."""

    def key(i: int) -> tuple[bool, bool, float, int]:
        per_share = price - per_share_cost(lots[i])
        return (per_share > 0, not is_long_term(lots[i].acquired, as_of), per_share, i)

    return sorted(range(len(lots)), key=key)


def in_given_order(lots: Sequence[Lot], price: float, as_of: date) -> list[int]:
    """Specific lots: the order in which the lots are given."""
    return list(range(len(lots)))


ORDERS: dict[LotMethod, Callable[[Sequence[Lot], float, date], list[int]]] = {
    LotMethod.FIFO: fifo,
    LotMethod.LIFO: lifo,
    LotMethod.HIFO: hifo,
    LotMethod.MINIMUM_TAX: minimum_tax,
    LotMethod.SPECIFIC: in_given_order,
}


@dataclass(frozen=True, slots=True)
class LotLocks:
    """What stops lots of one position from being sold.

    Attributes:
        gain_lock: lots with an unrealised gain (or an unknown one) are not sold.
        elective: the security is never sold.
        basis_unlocked: lots with a missing cost basis may be sold.
        wash_window: the security was bought in the household within 30 days: lots at a
            loss are not sold.
        specific: with specific lots, the lot ids that may be sold (``None``: any).
    """

    gain_lock: bool = False
    elective: bool = False
    basis_unlocked: bool = False
    wash_window: bool = False
    specific: frozenset[str] | None = None


def lot_locks(rules: AccountRules, symbol: int, as_of: date) -> LotLocks:
    """The locks an account's ``rules`` put on the lots of ``symbol`` (a symbol code)."""
    specific = rules.specific_lots.get(symbol)
    return LotLocks(
        gain_lock=not rules.qualified and (rules.gain_lock or symbol in rules.gain_lock_symbols),
        elective=symbol in rules.elective_locks,
        basis_unlocked=symbol in rules.basis_unlocked,
        wash_window=symbol in rules.bought_recently(as_of),
        specific=frozenset(specific)
        if rules.lot_method == LotMethod.SPECIFIC and specific is not None
        else (frozenset() if rules.lot_method == LotMethod.SPECIFIC else None),
    )


def eligible_lots(
    lots: Sequence[Lot], price: float, locks: LotLocks
) -> tuple[list[bool], RuleReason]:
    """Which lots may be sold, and the rules that held some back (flags)."""
    out: list[bool] = []
    why = RuleReason(0)
    for lot in lots:
        gain = lot_gain(lot, price)
        ok = True
        if locks.elective:
            ok, why = False, why | RuleReason.ELECTIVE_LOCK
        if lot.cost_basis is None and not locks.basis_unlocked:
            ok, why = False, why | RuleReason.MISSING_BASIS
        if locks.gain_lock and (gain is None or gain > 0):
            ok, why = False, why | RuleReason.GAIN_LOCK
        if locks.wash_window and gain is not None and gain < 0:
            ok, why = False, why | RuleReason.WASH_SALE_SELL
        if locks.specific is not None and lot.lot_id not in locks.specific:
            ok, why = False, why | RuleReason.SPECIFIC_LOTS
        out.append(ok and lot.quantity > 0)
    return out, why


def relieve(
    lots: Sequence[Lot],
    eligible: Sequence[bool],
    quantity: float,
    price: float,
    as_of: date,
    order: Callable[[Sequence[Lot], float, date], list[int]],
) -> Sale:
    """Relieve ``quantity`` shares sold at ``price`` from the eligible lots in ``order``."""
    left = quantity
    reliefs: list[Relief] = []
    short = long = 0.0
    unknown = False
    for i in order(lots, price, as_of):
        if left <= SHARE_TOLERANCE:
            break
        lot = lots[i]
        if not eligible[i] or lot.quantity <= 0:
            continue
        q = min(left, lot.quantity)
        left -= q
        basis = None if lot.cost_basis is None else lot.cost_basis * q / lot.quantity
        proceeds = q * price
        gain = None if basis is None else proceeds - basis
        term = is_long_term(lot.acquired, as_of)
        if gain is None:
            unknown = True
        elif term:
            long += gain
        else:
            short += gain
        reliefs.append(Relief(i, lot.lot_id, lot.acquired, q, basis, proceeds, gain, term))
    return Sale(tuple(reliefs), short, long, unknown)
