""":func:`lay_out_rules`: the rule tables laid on a book's slots column by column
(restrictions, locks and trade holds, past trades), without lots: what ``slot_rules`` makes
of :func:`read_book_rules`, without a Python object per row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, get_args

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from trimtab.core.batch import Fractions
from trimtab.core.book import BookArrays
from trimtab.core.lots import LotArrays
from trimtab.core.restrictions import WEIGHT_TOLERANCE, Replacement, SlotRestrictions
from trimtab.core.rules import WASH_SALE_DAYS, SlotRules
from trimtab.io.arrow import as_numpy
from trimtab.io.book_rules._checks import (
    Mask,
    _codes,
    _given,
    _locks_read,
    _Names,
    _one_of,
    _restrictions_read,
    _transactions_read,
)
from trimtab.io.book_rules._tables import RuleSource, rule_table
from trimtab.io.rules import BEHAVIOUR, MAX_GROUP, MEMBER_BEHAVIOUR, LockTypeName


def _slots(
    table: pa.Table,
    account: npt.NDArray[np.int64],
    symbol: npt.NDArray[np.int64],
    substitute: npt.NDArray[np.int64],
) -> list[tuple[int, int]]:
    """``(account, symbol)`` codes, sorted and once each, of the substitutes and group
    members that the restrictions may buy."""
    member = _one_of(table, "type", ["equivalents"])
    substitution = _one_of(table, "type", ["substitution"])
    width = int(max(symbol.max(initial=0), substitute.max(initial=0))) + 1
    keys = np.unique(
        np.concatenate(
            [
                account[member] * width + symbol[member],
                account[substitution] * width + substitute[substitution],
            ]
        )
    )
    return list(zip((keys // width).tolist(), (keys % width).tolist(), strict=True))


_NO_END = np.iinfo(np.int64).max
"""Days of a missing end date or ``until``: never reached."""


def _days(table: pa.Table, name: str) -> npt.NDArray[np.int64]:
    """Dates of column ``name`` as days since 1970-01-01, :data:`_NO_END` where null or
    absent."""
    if name not in table.column_names:
        return np.full(table.num_rows, _NO_END, dtype=np.int64)
    days = pc.fill_null(table.column(name).cast(pa.int32()).cast(pa.int64()), _NO_END)
    out: npt.NDArray[np.int64] = as_numpy(days)
    return out


def _numbers(table: pa.Table, name: str) -> npt.NDArray[np.float64]:
    """Column ``name`` as floats, NaN where null or absent."""
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan)
    out: npt.NDArray[np.float64] = as_numpy(
        pc.fill_null(table.column(name).cast(pa.float64()), np.nan)
    )
    return out


def _names_coded(table: pa.Table, name: str, code: Mapping[str, Any]) -> npt.NDArray[np.int64]:
    """``int(code[value])`` of each value of column ``name``, -1 where null, absent or not
    in ``code``."""
    return _codes(table, name, {k: int(v) for k, v in code.items()})


@dataclass(frozen=True, slots=True)
class _Layout:
    """What :func:`lay_out_rules` lays out: the book's slots, model weights and households."""

    arrays: BookArrays
    names: _Names
    today: int
    house: npt.NDArray[np.int64]
    qualified: Mask

    def slots(
        self, account: npt.NDArray[np.int64], symbol: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.int32]:
        """Slot of each (account, symbol) pair, -1 where none."""
        return self.arrays.slots_of(account.astype(np.int32), symbol.astype(np.int32))

    def weight(self, account: npt.NDArray[np.int64], slot: npt.NDArray[np.int32]) -> Fractions:
        """Model weight of each slot (0 outside the model lines)."""
        arrays = self.arrays
        line = np.minimum(slot, arrays.model_width - 1)
        weight = arrays.model_target[arrays.account_model[account], line]
        out: Fractions = np.where((slot >= 0) & (slot < arrays.model_width), weight, 0.0)
        return out


def _lay_restrictions(
    table: pa.Table, on: _Layout, res: SlotRestrictions, ruled: Mask
) -> list[tuple[int, int]] | None:
    """Exclusions, substitutions and equivalents groups in force, as ``slot_rules`` lays
    them; returns the slots they may buy (:func:`_slots`), ``None`` when a group has more
    than :data:`MAX_GROUP` members."""
    account = _codes(table, "account_id", on.names.accounts)
    symbol = _codes(table, "symbol", on.names.symbols)
    substitute = _codes(table, "substitute", on.names.symbols)
    extra = _slots(table, account, symbol, substitute)
    ruled[account] = True
    slot = on.slots(account, symbol)
    member = _one_of(table, "type", ["equivalents"])
    end = _days(table, "end_date")
    # Exclusions and substitutions: in force from the start date to before the end date;
    # after it, with "wait for weight change", until the model weight moves off the weight
    # at the end (or for good without one).
    wait = _one_of(table, "end_action", ["wait_for_weight_change"])
    at_end = _numbers(table, "weight_at_end_pct") / 100
    unchanged = np.isnan(at_end) | (np.abs(on.weight(account, slot) - at_end) <= WEIGHT_TOLERANCE)
    started = on.today >= np.where(member, _NO_END, _days(table, "start_date"))
    live = np.flatnonzero(started & (slot >= 0) & ((on.today < end) | (wait & unchanged)))
    r, j = account[live], slot[live]
    res.behaviour[r, j] = _names_coded(table, "behaviour", BEHAVIOUR)[live]
    reallocate = _one_of(table, "replacement", ["reallocate"])[live]
    res.replacement[r, j] = np.where(reallocate, Replacement.REALLOCATE, Replacement.HOLD_CASH)
    substitution = _one_of(table, "type", ["substitution"])[live]
    res.substitute[r, j] = np.where(substitution, on.slots(r, substitute[live]), -1)
    # Equivalents: the rows of a group share account and restriction id (a row without an
    # id is a group of its own); the group ends with its first row's end date (included).
    rows = np.flatnonzero(member)
    if rows.size == 0:
        return extra
    ids = _codes(table, "restriction_id", _distinct(table, "restriction_id"))[rows]
    key = np.where(ids >= 0, account[rows] * (int(ids.max(initial=0)) + 1) + ids, -1 - rows)
    _, first, group, size = np.unique(
        key, return_index=True, return_inverse=True, return_counts=True
    )
    if size.max() > MAX_GROUP:
        return None
    in_force = on.today <= end[rows[first]]
    laid = np.flatnonzero(in_force[group] & (slot[rows] >= 0))
    group, at = group[laid], rows[laid]
    lead = np.full(size.size, np.iinfo(np.int32).max, dtype=np.int32)
    np.minimum.at(lead, group, slot[at])
    r, j = account[at], slot[at]
    res.lead[r, j] = lead[group]
    res.member[r, j] = np.maximum(_names_coded(table, "behaviour", MEMBER_BEHAVIOUR)[at], 0)
    res.several[r, j] = size[group] > 1
    return extra


def _distinct(table: pa.Table, name: str) -> dict[str, int]:
    """A code for each distinct non-empty text of column ``name`` (none when absent)."""
    if name not in table.column_names:
        return {}
    values = pc.unique(table.column(name)).to_pylist()
    return {v: i for i, v in enumerate(sorted(v for v in values if v))}


def _lay_locks(
    table: pa.Table, on: _Layout, masks: dict[str, Mask], hold: Mask, ruled: Mask
) -> None:
    """Locks and trade holds: a gain lock without symbol locks the whole (non-qualified)
    account; an account's first trade hold counts, in force through its ``until``."""
    account = _codes(table, "account_id", on.names.accounts)
    ruled[account] = True
    kind = {t: _one_of(table, "type", [t]) for t in ("trade_hold", *get_args(LockTypeName))}
    holds = np.flatnonzero(kind["trade_hold"])
    first = holds[np.unique(account[holds], return_index=True)[1]]
    hold[account[first]] = on.today <= _days(table, "until")[first]
    symbol = _given(table, "symbol")
    whole = np.zeros(hold.size, dtype=bool)
    whole[account[kind["gain"] & ~symbol]] = True
    whole &= ~on.qualified
    masks["gain_lock"][whole] |= on.arrays.slot_symbol[whole] >= 0
    slot = on.slots(account, _codes(table, "symbol", on.names.symbols))
    gain = kind["gain"] & ~on.qualified[account] & ~whole[account]
    for name, rows in (
        ("gain_lock", gain),
        ("elective", kind["elective"]),
        ("basis_unlocked", kind["cost_basis_unlock"]),
    ):
        at = np.flatnonzero(rows & symbol & (slot >= 0))
        masks[name][account[at], slot[at]] = True


def _windows_of(table: pa.Table | None, names: _Names) -> npt.NDArray[np.int64] | None:
    """Short-term window in days by symbol code, -1 where none (the last row of a symbol
    counts; unknown symbols are left out); ``None`` when a window is missing or negative."""
    out = np.full(len(names.symbols), -1, dtype=np.int64)
    if table is None:
        return out
    days = _numbers(table, "days")
    if not (days >= 0).all():
        return None
    symbol = _codes(table, "symbol", names.symbols)[::-1]
    _, last = np.unique(symbol, return_index=True)  # of each symbol, its last row counts
    last = last[symbol[last] >= 0]
    out[symbol[last]] = days[::-1][last].astype(np.int64)
    return out


def _lay_history(
    table: pa.Table,
    windows: npt.NDArray[np.int64],
    on: _Layout,
    masks: dict[str, Mask],
    ruled: Mask,
) -> None:
    """Past trades: every account of a household with history has rules. A buy within
    :data:`WASH_SALE_DAYS` opens a wash window and a loss sale within them blocks buys, in
    every account of the household; a sale within its security's short-term window blocks
    buys in its own account."""
    account = _codes(table, "account_id", on.names.accounts)
    symbol = _codes(table, "symbol", on.names.symbols)
    n = on.arrays.size  # accounts past it only lend their history to their household
    with_history = np.zeros(int(on.house.max(initial=0)) + 1, dtype=bool)
    with_history[on.house[account]] = True
    ruled |= with_history[on.house[:n]]
    sell = _one_of(table, "action", ["sell"])
    age = on.today - _days(table, "date")
    recent = (age >= 0) & (age <= WASH_SALE_DAYS)
    loss = _numbers(table, "realized_gain") < 0
    # Each household's accounts, together: those of house h are by_house[lo[h]:lo[h + 1]].
    by_house = np.argsort(on.house, kind="stable")
    lo = np.searchsorted(on.house[by_house], np.arange(with_history.size + 1))
    for name, rows in (("wash_window", recent & ~sell), ("wash_buy", recent & sell & loss)):
        at = np.flatnonzero(rows)
        house = on.house[account[at]]
        count = lo[house + 1] - lo[house]
        step = np.arange(int(count.sum())) - np.repeat(np.cumsum(count) - count, count)
        accounts = by_house[np.repeat(lo[house], count) + step]
        symbols = np.repeat(symbol[at], count)
        laid = accounts < n
        accounts, symbols = accounts[laid], symbols[laid]
        slot = on.slots(accounts, symbols)
        masks[name][accounts[slot >= 0], slot[slot >= 0]] = True
    window = windows[symbol]
    at = np.flatnonzero(sell & (window >= 0) & (age >= 0) & (age <= window) & (account < n))
    slot = on.slots(account[at], symbol[at])
    masks["short_term"][account[at][slot >= 0], slot[slot >= 0]] = True


_MASKS = ("elective", "gain_lock", "basis_unlocked", "wash_window", "wash_buy", "short_term")
"""The (N, K) masks of :class:`SlotRules` that the tables set."""


def lay_out_rules(
    folder: RuleSource,
    arrays: BookArrays,
    *,
    account_code: Mapping[str, int],
    symbol_code: Mapping[str, int],
    as_of: date,
    house: npt.NDArray[np.int64] | None = None,
    qualified: Mask | None = None,
) -> tuple[SlotRules, list[tuple[int, int]]] | None:
    """The rule tables of ``folder`` on ``as_of`` laid on the slots of ``arrays``, column by
    column, without lots: what ``slot_rules`` makes of :func:`read_book_rules`. Also the
    ``(account, symbol)`` slots that restrictions may buy (:class:`BookRules`).

    ``house`` is a household code per account code (accounts of a code share a household;
    without it each account is its own); ``qualified`` per account code. ``account_code``
    may name accounts past the rows of ``arrays`` (codes ``N`` and up, ``house`` covering
    them): accounts not proposed for, such as held-away ones, whose transactions still count
    for their household's wash sales. ``None`` when a table fails a whole-column check
    (:func:`read_book_rules` then names the bad row).
    """
    names = _Names(account_code, symbol_code)
    tables: dict[str, pa.Table | None] = {}
    checks = {
        "restrictions": _restrictions_read,
        "locks": _locks_read,
        "transactions": _transactions_read,
    }
    for name, check in checks.items():
        _, table = rule_table(folder, name)
        tables[name] = table
        if table is not None and not check(table, names):
            return None
    windows = _windows_of(rule_table(folder, "short_term_windows")[1], names)
    if windows is None:
        return None
    n, k = arrays.slot_symbol.shape
    on = _Layout(
        arrays=arrays,
        names=names,
        today=(as_of - _EPOCH).days,
        house=np.arange(len(account_code), dtype=np.int64) if house is None else house,
        qualified=np.zeros(n, dtype=bool) if qualified is None else qualified,
    )
    res = SlotRestrictions.none(n, k)
    masks: dict[str, Mask] = {name: np.zeros((n, k), dtype=bool) for name in _MASKS}
    hold = np.zeros(n, dtype=bool)
    ruled = np.zeros(n, dtype=bool)
    extra: list[tuple[int, int]] = []
    if (table := tables["restrictions"]) is not None:
        laid = _lay_restrictions(table, on, res, ruled)
        if laid is None:
            return None
        extra = laid
    if (table := tables["locks"]) is not None:
        _lay_locks(table, on, masks, hold, ruled)
    if (table := tables["transactions"]) is not None:
        _lay_history(table, windows, on, masks, ruled)
    rules = SlotRules(
        restrictions=res,
        elective=masks["elective"],
        gain_lock=masks["gain_lock"],
        basis_unlocked=masks["basis_unlocked"],
        wash_window=masks["wash_window"],
        wash_buy=masks["wash_buy"],
        short_term=masks["short_term"],
        hold=hold,
        ruled=ruled,
        method=np.zeros(n, dtype=np.int8),
        lots=LotArrays.empty(),
    )
    return rules, extra


_EPOCH = date(1970, 1, 1)
