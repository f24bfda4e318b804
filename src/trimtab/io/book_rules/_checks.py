"""Whole-column checks of the rule tables: whether every row of ``restrictions``,
``locks`` and ``transactions`` reads (what the row reader and ``check_rules`` would
accept), and the column helpers that they and the layout share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import get_args

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from trimtab.io.arrow import as_numpy, strings
from trimtab.io.book_rules._tables import RULE_SCHEMAS
from trimtab.io.rules import (
    ActionName,
    BehaviourName,
    EndActionName,
    LockTypeName,
    MemberBehaviourName,
    ReplacementName,
)

Mask = npt.NDArray[np.bool_]


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
