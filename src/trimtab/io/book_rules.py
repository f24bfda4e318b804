"""Rule tables of a book folder (docs/rules.md), read into one :class:`AccountRules` per account.

Optional tables, CSV or Parquet like the rest of the book:

- ``restrictions``: ``account_id``, ``type`` (exclusion, substitution, equivalents),
  ``symbol``, ``start_date``; optional ``restriction_id`` (the rows of one equivalents group
  share it), ``substitute``, ``replacement``, ``behaviour`` (the exclusion behaviour, or the
  member behaviour), ``end_date``, ``end_action``, ``weight_at_end_pct``.
- ``locks``: ``account_id``, ``type`` (gain, elective, cost_basis_unlock, trade_hold);
  optional ``symbol``, ``until``.
- ``transactions``: ``account_id``, ``symbol``, ``action`` (buy, sell), ``date``,
  ``quantity``; optional ``realized_gain``.
- ``short_term_windows``: ``symbol``, ``days``.
- ``specific_lots``: ``account_id``, ``symbol``, ``lot_id``: for accounts whose
  ``lot_method`` is ``specific_lots``, the lots to relieve, in order (read by
  :func:`book_slot_rules` with the ``lots`` table).

The caller (the book reader) passes the account and symbol code maps, the households, the
registrations and the lots; :func:`read_book_rules` returns the rules per account code and
the ``(account, symbol)`` slots that restrictions need (substitutes and group members the
account neither holds nor has in its model: lay them out as zero-quantity positions).
Errors name ``table.ext row N column C``.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, get_args

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError

from trimtab.core.lots import METHOD_CODE, Lot, LotMethod, lots_on_slots
from trimtab.core.restrictions import (
    EndAction,
    EquivalentGroup,
    Exclusion,
    MemberBehaviour,
    Replacement,
)
from trimtab.core.rules import AccountRules, Side, SlotRules, Transaction, slot_rules
from trimtab.errors import BookError, ScenarioError
from trimtab.io.arrow import as_numpy, strings
from trimtab.io.book import LoadedBook
from trimtab.io.errors import first_error
from trimtab.io.rules import (
    BEHAVIOUR,
    END_ACTION,
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
_lot_method = cache(LotMethod)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many objects that all stay alive
    (its full collections would walk them over and over); as it was afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _table(folder: Path, name: str) -> tuple[str, pa.Table | None]:
    """The label (file name) and the rule table ``name`` of ``folder`` (``None``: absent)."""
    path = table_path(folder, name)
    if path is None:
        return f"{name}.csv", None
    return path.name, read_table(path, RULE_SCHEMAS[name])


def _rows(folder: Path, name: str) -> tuple[str, list[dict[str, Any]]]:
    """The label and the rows of the rule table ``name`` (none when absent)."""
    label, table = _table(folder, name)
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


def _column(table: pa.Table, name: str) -> list[Any]:
    """Column ``name`` as Python values, each distinct text or date made once (rows share
    it); all ``None`` when the table lacks the column."""
    if name not in table.column_names:
        return [None] * table.num_rows
    column = table.column(name)
    if pa.types.is_floating(column.type):  # as they are: 0.0 and -0.0 would be one value
        numbers: list[Any] = column.to_pylist()
        return numbers
    encoded = column.combine_chunks().dictionary_encode()
    distinct = np.array([*encoded.dictionary.to_pylist(), None], dtype=object)
    at = as_numpy(pc.fill_null(encoded.indices, len(encoded.dictionary)))
    values: list[Any] = distinct[at].tolist()
    return values


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


@dataclass(slots=True)
class _Restrictions:
    """Restrictions by account id, as core objects, and the slots they need."""

    exclusions: dict[str, list[Exclusion]] = field(default_factory=lambda: defaultdict(list))
    groups: dict[str, list[EquivalentGroup]] = field(default_factory=lambda: defaultdict(list))
    extra: list[tuple[int, int]] = field(default_factory=list)


def _restrictions(
    table: pa.Table | None, account_code: Mapping[str, int], symbol_code: Mapping[str, int]
) -> _Restrictions | None:
    """The restrictions of rows that passed :func:`_restrictions_read`, in row order (a
    group where its first row is, with that row's end date); ``None`` when a group has
    more than :data:`MAX_GROUP` members."""
    out = _Restrictions()
    if table is None:
        return out
    symbol = _codes(table, "symbol", symbol_code)
    substitute = _codes(table, "substitute", symbol_code)
    out.extra = _slots(table, _codes(table, "account_id", account_code), symbol, substitute)
    columns = (
        "account_id",
        "type",
        "replacement",
        "behaviour",
        "start_date",
        "end_date",
        "end_action",
        "weight_at_end_pct",
        "restriction_id",
    )
    rows = zip(
        *(_column(table, c) for c in columns),
        symbol.tolist(),
        substitute.tolist(),
        strict=True,
    )
    members: dict[tuple[str, str], tuple[list[int], list[MemberBehaviour], date | None]] = {}
    order: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for i, (acc, kind, repl, beh, start, end, action, weight, rid, sym, sub) in enumerate(
        rows, start=1
    ):
        if kind == "equivalents":
            key = (acc, rid or f"row {i}")
            if key not in members:
                members[key] = ([], [], end)
                order[acc].append(key)
            members[key][0].append(sym)
            members[key][1].append(MEMBER_BEHAVIOUR[beh or "none"])
            continue
        out.exclusions[acc].append(
            Exclusion(
                symbol=sym,
                behaviour=BEHAVIOUR[beh],
                start=start,
                replacement=Replacement.REALLOCATE
                if repl == "reallocate"
                else Replacement.HOLD_CASH,
                substitute=sub if kind == "substitution" else -1,
                end=end,
                end_action=END_ACTION[action] if action else EndAction.REBALANCE,
                weight_at_end=None if weight is None else weight / 100,
            )
        )
    if any(len(codes) > MAX_GROUP for codes, _, _ in members.values()):
        return None
    for acc, keys in order.items():
        out.groups[acc] = [
            EquivalentGroup(members=tuple(codes), behaviours=tuple(kinds), end=end)
            for codes, kinds, end in (members[k] for k in keys)
        ]
    return out


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


_LockSymbols = tuple[frozenset[int], frozenset[int], frozenset[int]]
_LOCK_TYPES = get_args(LockTypeName)  # gain, elective, cost_basis_unlock: as _LockSymbols
_NO_LOCKS: _LockSymbols = (frozenset(), frozenset(), frozenset())


@dataclass(slots=True)
class _Locks:
    """Locks by account id: the symbol codes of its locks of each of :data:`_LOCK_TYPES`,
    its whole-account gain lock, the ``until`` of its first trade hold."""

    symbols: dict[str, _LockSymbols] = field(default_factory=dict)
    whole: set[str] = field(default_factory=set)
    hold: dict[str, date | None] = field(default_factory=dict)
    accounts: set[str] = field(default_factory=set)


def _locks(table: pa.Table | None, symbol_code: Mapping[str, int]) -> _Locks:
    """The locks of rows that passed :func:`_locks_read`."""
    out = _Locks()
    if table is None:
        return out
    found: dict[str, dict[str, set[int]]] = defaultdict(lambda: defaultdict(set))
    columns = ("account_id", "type", "symbol", "until")
    for acc, kind, sym, until in zip(*(_column(table, c) for c in columns), strict=True):
        out.accounts.add(acc)
        if kind == "trade_hold":
            out.hold.setdefault(acc, until)
        elif sym:
            found[acc][kind].add(symbol_code[sym])
        elif kind == "gain":
            out.whole.add(acc)
    for acc, kinds in found.items():
        gain, elective, unlocked = (frozenset(kinds.get(k, ())) for k in _LOCK_TYPES)
        out.symbols[acc] = (gain, elective, unlocked)
    return out


def _history(
    table: pa.Table | None, symbol_code: Mapping[str, int], house: Mapping[str, str]
) -> dict[str, tuple[Transaction, ...]]:
    """Past trades of rows that passed :func:`_transactions_read`, per household, in row
    order."""
    if table is None:
        return {}
    by_house: dict[str, list[Transaction]] = defaultdict(list)
    columns = ("account_id", "symbol", "action", "date", "quantity", "realized_gain")
    for acc, sym, action, when, quantity, gain in zip(
        *(_column(table, c) for c in columns), strict=True
    ):
        by_house[house.get(acc, acc)].append(
            Transaction(
                account=acc,
                symbol=symbol_code[sym],
                side=Side.BUY if action == "buy" else Side.SELL,
                when=when,
                quantity=quantity,
                realized_gain=gain,
            )
        )
    return {h: tuple(trades) for h, trades in by_house.items()}


def _windows(table: pa.Table | None, symbol_code: Mapping[str, int]) -> dict[int, int] | None:
    """Short-term windows in days by symbol code (the last row of a symbol counts; unknown
    symbols are left out); ``None`` when a window is missing or negative."""
    if table is None:
        return {}
    days = _column(table, "days")
    if any(d is None or d < 0 for d in days):
        return None
    windows = dict(zip(_column(table, "symbol"), days, strict=True))
    return {symbol_code[s]: d for s, d in windows.items() if s in symbol_code}


def read_book_rules(
    folder: Path | str,
    *,
    account_code: Mapping[str, int],
    symbol_code: Mapping[str, int],
    as_of: date,
    household: Mapping[str, str] | None = None,
    qualified: Sequence[bool] | None = None,
    lots: Mapping[int, Mapping[int, Sequence[Lot]]] | None = None,
    lot_method: Sequence[str] | None = None,
) -> BookRules:
    """The rules of every account of the book in ``folder`` on ``as_of``.

    ``household`` maps account id to household id (wash sales look across a household;
    without it each account is its own household); ``qualified`` and ``lot_method`` (a
    :class:`LotMethod` value, fifo by default) are per account code; ``lots`` are per
    account code, then symbol code.

    Whole columns are checked at once and the rules built without per-row models; tables
    that fail a check are read again row by row (:func:`_read_by_rows`), which names the
    first bad table, row and column.
    """
    folder = Path(folder)

    def by_rows() -> BookRules:
        return _read_by_rows(
            folder,
            account_code=account_code,
            symbol_code=symbol_code,
            as_of=as_of,
            household=household,
            qualified=qualified,
            lots=lots,
            lot_method=lot_method,
        )

    names = _Names(account_code, symbol_code)
    tables: dict[str, pa.Table | None] = {}
    checks = {
        "restrictions": _restrictions_read,
        "locks": _locks_read,
        "transactions": _transactions_read,
        "short_term_windows": None,
    }
    for name, check in checks.items():
        _, tables[name] = _table(folder, name)
        table = tables[name]
        if table is not None and check is not None and not check(table, names):
            return by_rows()
    with _collector_paused():  # tens of thousands of objects that all live on
        found = _built(
            tables,
            account_code=account_code,
            symbol_code=symbol_code,
            as_of=as_of,
            household=household,
            qualified=qualified,
            lots=lots,
            lot_method=lot_method,
        )
    return by_rows() if found is None else found


def _built(
    tables: Mapping[str, pa.Table | None],
    *,
    account_code: Mapping[str, int],
    symbol_code: Mapping[str, int],
    as_of: date,
    household: Mapping[str, str] | None,
    qualified: Sequence[bool] | None,
    lots: Mapping[int, Mapping[int, Sequence[Lot]]] | None,
    lot_method: Sequence[str] | None,
) -> BookRules | None:
    """The rules of tables whose rows passed their checks (see :func:`read_book_rules`),
    equal to what :func:`_read_by_rows` makes of them; ``None`` when a group has too many
    members or a short-term window is missing or negative."""
    house = household or {}
    restrictions = _restrictions(tables["restrictions"], account_code, symbol_code)
    windows = _windows(tables["short_term_windows"], symbol_code)
    if restrictions is None or windows is None:
        return None
    locks = _locks(tables["locks"], symbol_code)
    history = _history(tables["transactions"], symbol_code, house)

    out: list[AccountRules | None] = [None] * len(account_code)
    # Wash sales look across the household: every account of a household with history.
    wanted = set(restrictions.exclusions) | set(restrictions.groups) | locks.accounts
    if history:
        wanted |= {acc for acc in account_code if house.get(acc, acc) in history}
    if lots:
        wanted |= {acc for acc, code in account_code.items() if code in lots}
    symbols = {code: sym for sym, code in symbol_code.items()}
    for acc in sorted(wanted):
        code = account_code[acc]
        hold = locks.hold.get(acc, as_of)
        gain, elective, unlocked = locks.symbols.get(acc, _NO_LOCKS)
        out[code] = AccountRules(
            account=acc,
            qualified=bool(qualified[code]) if qualified is not None else False,
            exclusions=tuple(restrictions.exclusions.get(acc, ())),
            groups=tuple(restrictions.groups.get(acc, ())),
            lots={symbol_code[symbols[s]]: tuple(v) for s, v in lots.get(code, {}).items()}
            if lots
            else {},
            lot_method=_lot_method(lot_method[code] if lot_method is not None else "fifo"),
            specific_lots={},
            gain_lock=acc in locks.whole,
            gain_lock_symbols=gain,
            elective_locks=elective,
            basis_unlocked=unlocked,
            on_hold=acc in locks.hold and (hold is None or as_of <= hold),
            transactions=history.get(house.get(acc, acc), ()),
            short_term_days=dict(windows),
            protected={},
        )
    return BookRules(rules=out, extra_slots=restrictions.extra)


def _read_by_rows(
    folder: Path,
    *,
    account_code: Mapping[str, int],
    symbol_code: Mapping[str, int],
    as_of: date,
    household: Mapping[str, str] | None,
    qualified: Sequence[bool] | None,
    lots: Mapping[int, Mapping[int, Sequence[Lot]]] | None,
    lot_method: Sequence[str] | None,
) -> BookRules:
    """:func:`read_book_rules` one row and one account at a time, through the scenario
    models: slow, but its errors name the first bad table, row and column."""
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
        data = _clean(row, ("account_id",))
        data["account"] = acc
        history.append((acc, _validate(label_t, i, TransactionIn, data)))

    _, rows = _rows(folder, "short_term_windows")
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

    Reads the rule tables of ``folder`` (see :func:`read_book_rules`); households,
    registrations and lot methods come from the ``accounts`` table, tax lots from the
    ``lots`` table (in relief order) and the specific-lot order from ``specific_lots`` (laid
    on slots without per-lot Python objects; the lots' ``source`` is their row in ``lots``).
    Returns the slot
    rules of all accounts (cut them with ``SlotRules.rows`` per chunk) and the ``(account,
    symbol)`` slots that restrictions need but the book does not lay out (substitutes and
    group members neither held nor in the model): until the book gives them zero-quantity
    positions, such a substitution's target stays in cash and such a member is not bought.
    """
    folder = Path(folder)
    arrays = loaded.arrays
    ids = loaded.account_ids.to_pylist()
    account_code = {a: i for i, a in enumerate(ids)}
    symbol_code = {s: i for i, s in enumerate(loaded.symbols)}
    accounts = loaded.tables["accounts"]
    household = None
    if "household_id" in accounts.column_names:
        household = {
            a: h
            for a, h in zip(ids, accounts.column("household_id").to_pylist(), strict=True)
            if h is not None
        }
    qualified = None
    if "registration" in accounts.column_names:
        qualified = [r == "qualified" for r in accounts.column("registration").to_pylist()]
    method = _method_codes(accounts)
    names = [m.value for m in METHOD_CODE]
    found = read_book_rules(
        folder,
        account_code=account_code,
        symbol_code=symbol_code,
        as_of=as_of,
        household=household,
        qualified=qualified,
        lot_method=[names[c] for c in method.tolist()] if method.any() else None,
    )
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
            acquired=acquired.astype(np.int64) + _EPOCH_ORDINAL,
            rank=_specific_rank(folder, loaded, method),
            method=method,
        )
    elif table_path(folder, "specific_lots") is not None:
        raise BookError("specific_lots.csv", "needs the lots table (with lot_id) it names lots of")
    target = np.zeros(arrays.slot_symbol.shape)
    target[:, : arrays.model_width] = arrays.model_target[arrays.account_model]
    rules = slot_rules(arrays.slot_symbol, found.rules, as_of, target, lots=lots)
    return replace(rules, method=method), found.extra_slots


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


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
