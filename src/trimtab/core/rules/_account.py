"""One account's rules (:class:`AccountRules`, with the household's past trades as
:class:`Transaction` values), and :func:`slot_rules`, which lays them on a batch's slots.

Symbols are codes; shares and dollars as stated per field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import IntEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from trimtab.core.lots import METHOD_CODE, Lot, LotArrays, LotMethod
from trimtab.core.restrictions import EquivalentGroup, Exclusion
from trimtab.core.rules._slots import SlotRules

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
        protected: shares of a protected sleeve by symbol code (never traded).
        apm: symbol codes of the APM sleeve's own slots (docs/rules.md, "Sleeves"): they
            take no share of a target an exclusion reallocates.
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
    protected: Mapping[int, float] = field(default_factory=dict)
    apm: frozenset[int] = frozenset()

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


def slot_rules(
    slot_symbol: npt.NDArray[np.int32],
    rules: Sequence[AccountRules | None],
    as_of: date,
    target: npt.NDArray[np.float64] | None = None,
    lots: LotArrays | None = None,
) -> SlotRules:
    """Lay per-account rules on a batch's slots (``slot_symbol``: symbol codes, (N, K)).

    Restrictions in force on ``as_of`` only (``target``: the model weights, fractions,
    (N, K), for end action "wait for a weight change"); securities without a slot are left
    out. ``lots``, when given (a book's lots laid out by :func:`lots_on_slots`), replace the
    lots of the :class:`AccountRules`.
    """
    n, k = slot_symbol.shape
    out = SlotRules.none(n, k)
    res = out.restrictions
    fields = {
        name: getattr(out, name).copy()
        for name in ("elective", "gain_lock", "basis_unlocked", "wash_window", "wash_buy")
    }
    fields["short_term"] = out.short_term.copy()
    hold = out.hold.copy()
    ruled = out.ruled.copy()
    method = out.method.copy()
    lot_cols: list[list[Any]] = [[], [], [], [], [], [], []]
    protected = np.zeros((n, k))
    apm = np.zeros((n, k), dtype=bool)
    locked: dict[str, list[int]] = {name: [] for name in fields}  # flat slots to set
    whole = []  # accounts with a gain lock on every position
    for r, acc in enumerate(rules):
        if acc is None:
            continue
        ruled[r] = True
        hold[r] = acc.on_hold
        method[r] = METHOD_CODE[acc.lot_method]
        slot_of = {c: j for j, c in enumerate(slot_symbol[r].tolist()) if c >= 0}
        for ex in acc.exclusions:
            j = slot_of.get(ex.symbol)
            if j is None:
                continue
            w = slot_of.get(ex.weight_symbol) if ex.weight_symbol >= 0 else j
            weight = 0.0 if target is None or w is None else float(target[r, w])
            if not ex.active(as_of, weight):
                continue
            res.behaviour[r, j] = ex.behaviour
            res.replacement[r, j] = ex.replacement
            res.substitute[r, j] = slot_of.get(ex.substitute, -1) if ex.substitute >= 0 else -1
        for group in acc.groups:
            if not group.active(as_of):
                continue
            members = [
                (slot_of[s], b)
                for s, b in zip(group.members, group.behaviours, strict=True)
                if s in slot_of
            ]
            if not members:
                continue
            lead = min(j for j, _ in members)
            for j, b in members:
                res.lead[r, j] = lead
                res.member[r, j] = b
                res.several[r, j] = len(group.members) > 1
        for code, shares in acc.protected.items():
            j = slot_of.get(code)
            if j is not None:
                protected[r, j] = shares
        for code in acc.apm:
            j = slot_of.get(code)
            if j is not None:
                apm[r, j] = True
        if acc.gain_lock and not acc.qualified:
            whole.append(r)
        sets = {
            "elective": acc.elective_locks,
            "wash_window": acc.bought_recently(as_of) if acc.transactions else (),
            "wash_buy": acc.wash_buy_blocked(as_of) if acc.transactions else (),
            "short_term": acc.short_term_blocked(as_of) if acc.transactions else (),
            "basis_unlocked": acc.basis_unlocked,
            "gain_lock": () if acc.qualified or acc.gain_lock else acc.gain_lock_symbols,
        }
        for name, symbols in sets.items():
            for code in symbols:
                j = slot_of.get(code)
                if j is not None:
                    locked[name].append(r * k + j)
        for code, position in acc.lots.items() if lots is None else ():
            j = slot_of.get(code)
            if j is None:
                continue
            named = acc.specific_lots.get(code, ())
            rank = {lot_id: i for i, lot_id in enumerate(named)}
            for lot in position:
                lot_cols[0].append(r)
                lot_cols[1].append(j)
                lot_cols[2].append(lot.quantity)
                lot_cols[3].append(np.nan if lot.cost_basis is None else lot.cost_basis)
                lot_cols[4].append(lot.acquired.toordinal())
                lot_cols[5].append(float(rank.get(lot.lot_id or "", np.inf)))
                lot_cols[6].append(lot.lot_id)
    for name, at in locked.items():
        fields[name].reshape(-1)[at] = True
    fields["gain_lock"][whole] |= slot_symbol[whole] >= 0
    lot_arrays = LotArrays(
        row=np.array(lot_cols[0], dtype=np.int32),
        slot=np.array(lot_cols[1], dtype=np.int32),
        quantity=np.array(lot_cols[2], dtype=np.float64),
        basis=np.array(lot_cols[3], dtype=np.float64),
        acquired=np.array(lot_cols[4], dtype=np.int32),
        rank=np.array(lot_cols[5], dtype=np.float64),
        lot_id=tuple(lot_cols[6]),
    )
    if lots is not None:
        lot_arrays = lots
        ruled[lots.row] = True
    return SlotRules(
        restrictions=res,
        hold=hold,
        ruled=ruled,
        method=method,
        lots=lot_arrays,
        protected=protected if protected.any() else None,
        apm=apm if apm.any() else None,
        **fields,
    )
