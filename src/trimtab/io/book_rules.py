"""Rule tables of a book folder (docs/rules.md), laid on the book's slots.

Optional tables, CSV or Parquet like the rest of the book:

- ``restrictions``: ``account_id``, ``type`` (exclusion, substitution, equivalents),
  ``symbol``, ``start_date``; optional ``restriction_id`` (the rows of one equivalents group
  share it), ``substitute``, ``replacement``, ``behaviour`` (the exclusion behaviour, or the
  member behaviour), ``end_date``, ``end_action``, ``weight_at_end_pct``.
- ``locks``: ``account_id``, ``type`` (gain, elective, cost_basis_unlock, trade_hold);
  optional ``symbol``, ``until``.
- ``transactions``: ``account_id``, ``symbol``, ``action`` (buy, sell), ``date``,
  ``quantity``; optional ``realized_gain`` and ``price`` (kept by the service).
- ``short_term_windows``: ``symbol``, ``days``.
- ``specific_lots``: ``account_id``, ``symbol``, ``lot_id``: for accounts whose
  ``lot_method`` is ``specific_lots``, the lots to relieve, in order (read by
  :func:`book_slot_rules` with the ``lots`` table).

:func:`book_slot_rules` lays every table of a read book on its slots: the rule tables
column by column (:func:`lay_out_rules`), the lots with the book's codes. A table that fails
a whole-column check is read again by :func:`read_book_rules`, one row and one account at a
time through the scenario models, into one :class:`AccountRules` per account: slow, but its
errors name ``table.ext row N column C``. Both also give the ``(account, symbol)`` slots that
restrictions need (substitutes and group members the account neither holds nor has in its
model: lay them out as zero-quantity positions).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, get_args

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError

from trimtab.core.batch import Fractions
from trimtab.core.book import BookArrays
from trimtab.core.lots import METHOD_CODE, Lot, LotArrays, LotMethod, lots_on_slots
from trimtab.core.restrictions import WEIGHT_TOLERANCE, Replacement, SlotRestrictions
from trimtab.core.rules import WASH_SALE_DAYS, AccountRules, SlotRules, slot_rules
from trimtab.errors import BookError, ScenarioError
from trimtab.io.arrow import as_numpy, strings
from trimtab.io.book import LoadedBook
from trimtab.io.errors import first_error
from trimtab.io.rules import (
    BEHAVIOUR,
    MAX_GROUP,
    MEMBER_BEHAVIOUR,
    ActionName,
    BehaviourName,
    EndActionName,
    EquivalentsIn,
    ExclusionIn,
    LockIn,
    LockTypeName,
    MemberBehaviourName,
    MemberIn,
    ReplacementName,
    RulesIn,
    SubstitutionIn,
    TradeHoldIn,
    TransactionIn,
    account_rules,
    check_rules,
    rule_symbols,
)
from trimtab.io.tables import Column, first_row, read_table, require_values, table_path

RULE_SCHEMAS: dict[str, list[Column]] = {
    "restrictions": [
        Column("account_id", pa.string()),
        Column("type", pa.string()),
        Column("symbol", pa.string()),
        Column("start_date", pa.date32(), nullable=True),
        Column("restriction_id", pa.string(), required=False, nullable=True),
        Column("substitute", pa.string(), required=False, nullable=True),
        Column("replacement", pa.string(), required=False, nullable=True),
        Column("behaviour", pa.string(), required=False, nullable=True),
        Column("end_date", pa.date32(), required=False, nullable=True),
        Column("end_action", pa.string(), required=False, nullable=True),
        Column("weight_at_end_pct", pa.float64(), required=False, nullable=True),
    ],
    "locks": [
        Column("account_id", pa.string()),
        Column("type", pa.string()),
        Column("symbol", pa.string(), required=False, nullable=True),
        Column("until", pa.date32(), required=False, nullable=True),
    ],
    "transactions": [
        Column("account_id", pa.string()),
        Column("symbol", pa.string()),
        Column("action", pa.string()),
        Column("date", pa.date32()),
        Column("quantity", pa.float64()),
        Column("realized_gain", pa.float64(), required=False, nullable=True),
        Column("price", pa.float64(), required=False, nullable=True),
    ],
    "short_term_windows": [
        Column("symbol", pa.string()),
        Column("days", pa.int64()),
    ],
    "specific_lots": [
        Column("account_id", pa.string()),
        Column("symbol", pa.string()),
        Column("lot_id", pa.string()),
    ],
}


@dataclass(frozen=True, slots=True)
class BookRules:
    """Rules of a book's accounts.

    Attributes:
        rules: per account code, ``None`` for accounts without rules or lots.
        extra_slots: ``(account code, symbol code)`` that restrictions may buy and that need a
            slot (a zero-quantity position) when the account neither holds nor models them.
    """

    rules: list[AccountRules | None]
    extra_slots: list[tuple[int, int]]


Mask = npt.NDArray[np.bool_]


RuleTables = Mapping[str, tuple[str, pa.Table]]
"""Rule tables by name, each with the label its errors cite (a file name, or the store's
table): what a book folder holds, or what the service reads back from its store."""

RuleSource = Path | str | RuleTables
"""A book folder, or rule tables already read."""


def rule_table(source: RuleSource, name: str) -> tuple[str, pa.Table | None]:
    """The label (file name) and the rule table ``name`` of ``source`` (``None``: absent)."""
    if not isinstance(source, Path | str):
        found = source.get(name)
        return found if found is not None else (f"{name}.csv", None)
    path = table_path(Path(source), name)
    if path is None:
        return f"{name}.csv", None
    return path.name, read_table(path, RULE_SCHEMAS[name])


def _rows(folder: RuleSource, name: str) -> tuple[str, list[dict[str, Any]]]:
    """The label and the rows of the rule table ``name`` (none when absent)."""
    label, table = rule_table(folder, name)
    return label, [] if table is None else table.to_pylist()


def _clean(row: dict[str, Any], drop: Sequence[str]) -> dict[str, Any]:
    """``row`` without the ``drop`` columns and without empty values."""
    return {k: v for k, v in row.items() if k not in drop and v not in (None, "")}


def _validate(label: str, row_no: int, model: Any, data: dict[str, Any]) -> Any:
    """``data`` as ``model``; an error names the table, row and column."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        path, problem = first_error(err)
        raise BookError(f"{label} row {row_no} column {path}", problem) from None


def _group(label: str, group: tuple[int, list[MemberIn], dict[str, Any]]) -> EquivalentsIn:
    """An equivalents group (first row, members, dates); an error names its first row."""
    row_no, members, dates = group
    try:
        return EquivalentsIn(type="equivalents", members=members, **dates)
    except ValidationError as err:
        path, problem = first_error(err)
        raise BookError(f"{label} row {row_no} column symbol", f"group {path}: {problem}") from None


def _given(table: pa.Table, name: str) -> Mask:
    """Rows with a value in column ``name``: not null and, for text, not empty (a CSV reads
    an empty field as ``""``); no row when the table lacks the column."""
    if name not in table.column_names:
        return np.zeros(table.num_rows, dtype=np.bool_)
    col = table.column(name)
    given = pc.is_valid(col)
    if pa.types.is_string(col.type):
        given = pc.and_kleene(given, pc.not_equal(col, ""))
    out: Mask = as_numpy(pc.fill_null(given, False))
    return out


def _one_of(table: pa.Table, name: str, allowed: Sequence[str]) -> Mask:
    """Rows whose ``name`` is one of ``allowed`` (never null); none without the column."""
    if name not in table.column_names:
        return np.zeros(table.num_rows, dtype=np.bool_)
    out: Mask = as_numpy(pc.is_in(table.column(name), value_set=strings(list(allowed))))
    return out


def _codes(table: pa.Table, name: str, code: Mapping[str, int]) -> npt.NDArray[np.int64]:
    """``code`` of each value of column ``name``, -1 where null, absent or unknown."""
    if name not in table.column_names:
        return np.full(table.num_rows, -1, dtype=np.int64)
    encoded = table.column(name).combine_chunks().dictionary_encode()
    distinct = [code.get(v, -1) for v in encoded.dictionary.to_pylist()]
    lookup = np.array([*distinct, -1], dtype=np.int64)
    out: npt.NDArray[np.int64] = lookup[as_numpy(pc.fill_null(encoded.indices, len(distinct)))]
    return out


def _finite_within(table: pa.Table, name: str, low: float, high: float) -> Mask:
    """Rows whose number ``name`` is finite and in ``[low, high]`` (never null)."""
    if name not in table.column_names:
        return np.zeros(table.num_rows, dtype=np.bool_)
    values = table.column(name).to_numpy(zero_copy_only=False).astype(np.float64)
    with np.errstate(invalid="ignore"):
        out: Mask = np.isfinite(values) & (values >= low) & (values <= high)
    return out


@dataclass(frozen=True, slots=True)
class _Names:
    """The book's account and symbol codes, to look table columns up in."""

    accounts: Mapping[str, int]
    symbols: Mapping[str, int]


def _restrictions_read(table: pa.Table, names: _Names) -> bool:
    """Whether every ``restrictions`` row reads and the rows of each account agree (what
    ``_read_by_rows`` and ``check_rules`` require); may refuse rows they accept.

    Each row: a known account, known symbols, a known type and the fields its model takes
    (``ExclusionIn``, ``SubstitutionIn``, ``MemberIn``), with valid values. Each account: end
    dates after start dates, end actions with end dates only, a security claimed once (or by
    a group member and a substitute), a substitute other than its symbol.
    """
    kind = {k: _one_of(table, "type", [k]) for k in ("exclusion", "substitution", "equivalents")}
    dated = kind["exclusion"] | kind["substitution"]
    group = kind["equivalents"]
    given = {c.name: _given(table, c.name) for c in RULE_SCHEMAS["restrictions"]}
    account = _codes(table, "account_id", names.accounts)
    symbol = _codes(table, "symbol", names.symbols)
    substitute = _codes(table, "substitute", names.symbols)
    end_action = given["end_action"]
    weight = given["weight_at_end_pct"]
    ok = (account >= 0) & (dated | group) & given["symbol"] & (symbol >= 0)
    ok &= ~given["substitute"] | (substitute >= 0)
    ok &= ~group | (
        (~given["behaviour"] | _one_of(table, "behaviour", get_args(MemberBehaviourName)))
        & ~(given["substitute"] | given["replacement"] | end_action | weight)
    )
    ok &= ~dated | (
        _one_of(table, "behaviour", get_args(BehaviourName))
        & given["start_date"]
        & (~end_action | _one_of(table, "end_action", get_args(EndActionName)))
        & (~weight | _finite_within(table, "weight_at_end_pct", 0.0, 100.0))
        & (given["end_date"] == end_action)
        & (~weight | _one_of(table, "end_action", ["wait_for_weight_change"]))
    )
    ok &= ~kind["exclusion"] | (
        ~given["substitute"]
        & (~given["replacement"] | _one_of(table, "replacement", get_args(ReplacementName)))
    )
    ok &= ~kind["substitution"] | (
        given["substitute"] & ~given["replacement"] & (substitute != symbol)
    )
    if not ok.all():
        return False
    if "end_date" in table.column_names:
        early = pc.less_equal(table.column("end_date"), table.column("start_date"))
        if as_numpy(pc.fill_null(early, False)).any():
            return False
    return _claimed_once(account, symbol, substitute, group, kind["substitution"])


def _claimed_once(
    account: npt.NDArray[np.int64],
    symbol: npt.NDArray[np.int64],
    substitute: npt.NDArray[np.int64],
    member: Mask,
    substitution: Mask,
) -> bool:
    """Whether each account's restrictions claim each security once, or twice by a group
    member and a substitute (``check_rules``; a member listed twice is claimed twice)."""
    width = int(max(symbol.max(initial=0), substitute.max(initial=0))) + 1
    keys = np.concatenate([account * width + symbol, (account * width + substitute)[substitution]])
    is_member = np.concatenate([member, np.zeros(int(substitution.sum()), dtype=np.bool_)])
    is_substitute = np.concatenate(
        [np.zeros(member.size, dtype=np.bool_), substitution[substitution]]
    )
    _, at, count = np.unique(keys, return_inverse=True, return_counts=True)
    members = np.bincount(at, weights=is_member, minlength=count.size)
    substitutes = np.bincount(at, weights=is_substitute, minlength=count.size)
    return bool(((count == 1) | ((count == 2) & (members == 1) & (substitutes == 1))).all())


def _locks_read(table: pa.Table, names: _Names) -> bool:
    """Whether every ``locks`` row reads: a known account, a known symbol or none, a known
    type (``until`` counts for trade holds only)."""
    ok = (_codes(table, "account_id", names.accounts) >= 0) & _one_of(
        table, "type", [*get_args(LockTypeName), "trade_hold"]
    )
    ok &= ~_given(table, "symbol") | (_codes(table, "symbol", names.symbols) >= 0)
    return bool(ok.all())


def _transactions_read(table: pa.Table, names: _Names) -> bool:
    """Whether every ``transactions`` row reads as a :class:`TransactionIn`."""
    ok = (_codes(table, "account_id", names.accounts) >= 0) & _given(table, "account_id")
    ok &= _given(table, "symbol") & (_codes(table, "symbol", names.symbols) >= 0)
    ok &= _one_of(table, "action", get_args(ActionName)) & _given(table, "date")
    ok &= _finite_within(table, "quantity", 0.0, np.inf)
    ok &= ~_given(table, "realized_gain") | _finite_within(table, "realized_gain", -np.inf, np.inf)
    return bool(ok.all())


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


def read_book_rules(
    folder: RuleSource,
    *,
    account_code: Mapping[str, int],
    symbol_code: Mapping[str, int],
    as_of: date,
    household: Mapping[str, str] | None = None,
    qualified: Sequence[bool] | None = None,
    lots: Mapping[int, Mapping[int, Sequence[Lot]]] | None = None,
    lot_method: Sequence[str] | None = None,
) -> BookRules:
    """The rules of every account of the book in ``folder`` on ``as_of``, as one
    :class:`AccountRules` per account, read one row and one account at a time through the
    scenario models: slow, but its errors name the first bad table, row and column.
    :func:`lay_out_rules` lays valid tables on slots column by column, equal to
    ``slot_rules`` of these rules.

    ``household`` maps account id to household id (wash sales look across a household;
    without it each account is its own household); ``qualified`` and ``lot_method`` (a
    :class:`LotMethod` value, fifo by default) are per account code; ``lots`` are per
    account code, then symbol code.
    """
    n = len(account_code)
    symbols = {code: sym for sym, code in symbol_code.items()}
    per_account: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    origin: dict[str, list[int]] = defaultdict(list)

    def account_of(label: str, row_no: int, account: str) -> str:
        if account not in account_code:
            raise BookError(
                f"{label} row {row_no} column account_id", f"unknown account {account!r}"
            )
        return account

    def known(label: str, row_no: int, column: str, symbol: str | None) -> None:
        if symbol not in (None, "") and symbol not in symbol_code:
            raise BookError(f"{label} row {row_no} column {column}", f"no price for {symbol!r}")

    label, rows = _rows(folder, "restrictions")
    groups: dict[tuple[str, str], tuple[int, list[MemberIn], dict[str, Any]]] = {}
    for i, row in enumerate(rows, start=1):
        acc = account_of(label, i, row["account_id"])
        known(label, i, "symbol", row["symbol"])
        known(label, i, "substitute", row.get("substitute"))
        data = _clean(row, ("account_id", "restriction_id"))
        if row["type"] == "equivalents":
            key = (acc, row.get("restriction_id") or f"row {i}")
            member = _validate(label, i, MemberIn, _clean(data, ("type", "start_date", "end_date")))
            if key not in groups:
                groups[key] = (i, [], {k: data[k] for k in ("start_date", "end_date") if k in data})
                per_account[acc]["restrictions"].append(key)
                origin[acc].append(i)
            groups[key][1].append(member)
            continue
        kinds: dict[str, type[ExclusionIn] | type[SubstitutionIn]] = {
            "exclusion": ExclusionIn,
            "substitution": SubstitutionIn,
        }
        model = kinds.get(row["type"])
        if model is None:
            raise BookError(
                f"{label} row {i} column type",
                f"must be exclusion, substitution or equivalents, got {row['type']!r}",
            )
        per_account[acc]["restrictions"].append(_validate(label, i, model, data))
        origin[acc].append(i)

    label_l, rows = _rows(folder, "locks")
    for i, row in enumerate(rows, start=1):
        acc = account_of(label_l, i, row["account_id"])
        known(label_l, i, "symbol", row.get("symbol"))
        if row["type"] == "trade_hold":
            per_account[acc]["trade_hold"].append(TradeHoldIn(until=row.get("until") or None))
            continue
        data = _clean(row, ("account_id", "until"))
        per_account[acc]["locks"].append(_validate(label_l, i, LockIn, data))

    label_t, rows = _rows(folder, "transactions")
    history: list[tuple[str, TransactionIn]] = []
    for i, row in enumerate(rows, start=1):
        acc = account_of(label_t, i, row["account_id"])
        known(label_t, i, "symbol", row["symbol"])
        data = _clean(row, ("account_id", "price"))  # the price is the service's record
        data["account"] = acc
        history.append((acc, _validate(label_t, i, TransactionIn, data)))

    label_w, rows = _rows(folder, "short_term_windows")
    for i, row in enumerate(rows, start=1):
        if row["days"] is None or row["days"] < 0:
            got = "nothing" if row["days"] is None else row["days"]
            raise BookError(f"{label_w} row {i} column days", f"must be 0 or more, got {got}")
    windows = {r["symbol"]: int(r["days"]) for r in rows if r["symbol"] in symbol_code}

    house = household or {}
    by_house: dict[str, list[TransactionIn]] = defaultdict(list)
    for acc, t in history:
        by_house[house.get(acc, acc)].append(t)

    out: list[AccountRules | None] = [None] * n
    extra: list[tuple[int, int]] = []
    # Wash sales look across the household: every account of a household with history.
    wanted = set(per_account) | {acc for acc in account_code if house.get(acc, acc) in by_house}
    if lots:
        wanted |= {acc for acc, code in account_code.items() if code in lots}
    for acc in sorted(wanted):
        code = account_code[acc]
        parts = per_account.get(acc, {})
        restrictions = [
            _group(label, groups[r]) if isinstance(r, tuple) else r
            for r in parts.get("restrictions", [])
        ]
        holds = parts.get("trade_hold", [])
        rules = RulesIn(
            restrictions=restrictions,
            locks=parts.get("locks", []),
            trade_hold=holds[0] if holds else None,
            transactions=by_house.get(house.get(acc, acc), []),
            short_term_windows=windows,
        )
        try:
            check_rules(rules)
        except ScenarioError as err:
            index = int(err.where.split("]")[0].split("[")[1])
            column = err.where.split(".")[1].split("[")[0]
            raise BookError(
                f"{label} row {origin[acc][index]} column {column}", err.problem
            ) from None
        account_lots = (lots or {}).get(code, {})
        out[code] = account_rules(
            rules,
            account=acc,
            qualified=bool(qualified[code]) if qualified is not None else False,
            code=symbol_code,
            lots={symbols[s]: list(v) for s, v in account_lots.items()},
            lot_method=lot_method[code] if lot_method is not None else "fifo",
            specific_lots={},
            as_of=as_of,
        )
        extra.extend((code, symbol_code[sym]) for _, sym in rule_symbols(rules))
    return BookRules(rules=out, extra_slots=sorted(set(extra)))


def book_slot_rules(
    folder: Path | str, loaded: LoadedBook, *, as_of: date
) -> tuple[SlotRules, list[tuple[int, int]]]:
    """Every rule of a read book laid on its slots, ready for ``apply_slot_rules``.

    Lays the rule tables of ``folder`` out column by column (:func:`lay_out_rules`; a table
    that fails a check is read row by row, :func:`read_book_rules`, which names the bad
    row); households, registrations and lot methods come from the ``accounts`` table, tax
    lots from the ``lots`` table (sorted by account, not yet in relief order) and the
    specific-lot order from ``specific_lots`` (laid on slots without per-lot Python
    objects; the lots' ``source`` is their row in ``lots``). Returns the slot rules of all
    accounts (cut them per chunk with ``SlotRules.prepared_rows``, which puts the chunk's
    lots in relief order) and the ``(account, symbol)`` slots that restrictions need but
    the book does not lay out (substitutes and group members neither held nor in the
    model): until the book gives them zero-quantity positions, such a substitution's
    target stays in cash and such a member is not bought.
    """
    folder = Path(folder)
    arrays = loaded.arrays
    ids = loaded.account_ids
    account_code = {a: i for i, a in enumerate(ids.to_pylist())}
    symbol_code = {s: i for i, s in enumerate(loaded.symbols)}
    accounts = loaded.tables["accounts"]
    qualified = qualified_accounts(accounts)
    house = None
    if "household_id" in accounts.column_names:  # an account without one is its own
        named = pc.coalesce(accounts.column("household_id"), ids).combine_chunks()
        house = as_numpy(named.dictionary_encode().indices).astype(np.int64)
    method = _method_codes(accounts)
    laid = lay_out_rules(
        folder,
        arrays,
        account_code=account_code,
        symbol_code=symbol_code,
        as_of=as_of,
        house=house,
        qualified=qualified,
    )
    if laid is None:  # a table fails a check: read row by row, which names the bad row
        found = read_book_rules(
            folder,
            account_code=account_code,
            symbol_code=symbol_code,
            as_of=as_of,
            household=None if house is None else _households(accounts, ids),
            qualified=qualified.tolist(),
        )
        target = np.zeros(arrays.slot_symbol.shape)
        target[:, : arrays.model_width] = arrays.model_target[arrays.account_model]
        laid = slot_rules(arrays.slot_symbol, found.rules, as_of, target), found.extra_slots
    rules, extra = laid
    lots = None
    if "lots" in loaded.tables:
        table = loaded.tables["lots"]
        codes = loaded.lot_codes or tuple(
            _codes_in(table.column(column), names_)
            for column, names_ in (("account_id", loaded.account_ids), ("symbol", loaded.symbols))
        )
        basis = (
            table.column("cost_basis").to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        )
        acquired = table.column("acquired").cast(pa.int32()).to_numpy(zero_copy_only=False)
        lots = lots_on_slots(
            arrays.slot_symbol.shape[1],
            account=codes[0],
            slot=arrays.slots_of(*codes),
            quantity=table.column("quantity").to_numpy(zero_copy_only=False),
            basis=basis,
            acquired=acquired + np.int32(_EPOCH_ORDINAL),
            rank=_specific_rank(folder, loaded, method),
        )
    elif table_path(folder, "specific_lots") is not None:
        raise BookError("specific_lots.csv", "needs the lots table (with lot_id) it names lots of")
    if lots is not None:
        ruled = rules.ruled.copy()
        ruled[lots.row] = True
        rules = replace(rules, lots=lots, ruled=ruled)
    return replace(rules, method=method), extra


def qualified_accounts(accounts: pa.Table) -> Mask:
    """Accounts whose ``registration`` is qualified (none without the column)."""
    if "registration" not in accounts.column_names:
        return np.zeros(accounts.num_rows, dtype=bool)
    registration = accounts.column("registration")
    out: Mask = as_numpy(pc.fill_null(pc.equal(registration, "qualified"), False))
    return out


def _households(accounts: pa.Table, ids: pa.Array) -> dict[str, str]:
    """Household id by account id, for accounts that name one."""
    return {
        a: h
        for a, h in zip(ids.to_pylist(), accounts.column("household_id").to_pylist(), strict=True)
        if h is not None
    }


def _codes_in(values: pa.ChunkedArray, names: Sequence[str] | pa.Array) -> npt.NDArray[np.int32]:
    """Index of each value in ``names`` (-1 where absent)."""
    if pa.types.is_dictionary(values.type):
        values = values.cast(pa.string())
    found = pc.index_in(values, value_set=pa.array(list(names), pa.string()))
    out: npt.NDArray[np.int32] = (
        pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int32)
    )
    return out


def _method_codes(accounts: pa.Table) -> npt.NDArray[np.int8]:
    """Lot relief method code of each account (:data:`METHOD_CODE`); missing or empty: fifo.

    The values were checked when the book was read.
    """
    if "lot_method" not in accounts.column_names:
        return np.zeros(accounts.num_rows, dtype=np.int8)
    codes = _codes_in(accounts.column("lot_method"), [m.value for m in METHOD_CODE])
    return np.maximum(codes, 0).astype(np.int8)


def _specific_rank(
    folder: Path, loaded: LoadedBook, method: npt.NDArray[np.int8]
) -> npt.NDArray[np.float64] | None:
    """Each lot's place in its position's specific-lot order, ``inf`` where not named
    (``None`` without a ``specific_lots`` table). Errors name the ``specific_lots`` row."""
    path = table_path(folder, "specific_lots")
    if path is None:
        return None
    label = path.name
    spec = read_table(path, RULE_SCHEMAS["specific_lots"])
    require_values(label, spec, ["account_id", "symbol", "lot_id"])
    empty = pc.equal(spec.column("lot_id"), "").to_numpy(zero_copy_only=False)
    if empty.any():  # CSV reads an empty field as "": a lot without an id cannot be named
        raise BookError(f"{label} row {first_row(empty)} column lot_id", "value is missing")
    lots = loaded.tables["lots"]
    n_lots = lots.num_rows
    rank = np.full(n_lots, np.inf)
    if spec.num_rows == 0:
        return rank
    account = _codes_in(spec.column("account_id"), loaded.account_ids)
    symbol = _codes_in(spec.column("symbol"), loaded.symbols)
    for column, codes, what in (
        ("account_id", account, "unknown account"),
        ("symbol", symbol, "no price for symbol"),
    ):
        if (codes < 0).any():
            r = first_row(codes < 0)
            raise BookError(
                f"{label} row {r} column {column}", f"{what} {spec.column(column)[r - 1].as_py()!r}"
            )
    wrong = method[account] != METHOD_CODE[LotMethod.SPECIFIC]
    if wrong.any():
        r = first_row(wrong)
        used = [m.value for m in METHOD_CODE][int(method[account[r - 1]])]
        raise BookError(
            f"{label} row {r} column account_id",
            f"account {spec.column('account_id')[r - 1].as_py()!r} relieves lots by {used}: "
            "give it lot_method specific_lots in accounts",
        )
    lot_ids = (
        lots.column("lot_id") if "lot_id" in lots.column_names else pa.nulls(n_lots, pa.string())
    )
    keys = [
        pc.binary_join_element_wise(
            *(c.cast(pa.string()) if pa.types.is_dictionary(c.type) else c for c in cols), "\x1f"
        )
        for cols in (
            (lots.column("account_id"), lots.column("symbol"), lot_ids),
            (spec.column("account_id"), spec.column("symbol"), spec.column("lot_id")),
        )
    ]
    at = pc.index_in(keys[1], value_set=keys[0].combine_chunks())
    lot = pc.fill_null(at, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    if (lot < 0).any():
        r = first_row(lot < 0)
        row = spec.slice(r - 1, 1).to_pylist()[0]
        raise BookError(
            f"{label} row {r} column lot_id",
            f"no lot {row['lot_id']!r} of {row['symbol']!r} in account {row['account_id']!r} "
            "in lots",
        )
    _, first = np.unique(lot, return_index=True)
    if first.size < lot.size:
        seen = np.zeros(lot.size, dtype=bool)
        seen[first] = True
        r = first_row(~seen)
        raise BookError(
            f"{label} row {r} column lot_id",
            f"lot {spec.column('lot_id')[r - 1].as_py()!r} is named twice",
        )
    rank[lot] = np.arange(lot.size, dtype=np.float64)
    return rank


_EPOCH = date(1970, 1, 1)
_EPOCH_ORDINAL = _EPOCH.toordinal()
