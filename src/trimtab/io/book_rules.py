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

The caller (the book reader) passes the account and symbol code maps, the households, the
registrations and the lots; :func:`read_book_rules` returns the rules per account code and
the ``(account, symbol)`` slots that restrictions need (substitutes and group members the
account neither holds nor has in its model: lay them out as zero-quantity positions).
Errors name ``table.ext row N column C``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import ValidationError

from trimtab.core.lots import Lot, lots_on_slots
from trimtab.core.rules import AccountRules, SlotRules, slot_rules
from trimtab.errors import BookError, ScenarioError
from trimtab.io.book import LoadedBook
from trimtab.io.errors import first_error
from trimtab.io.rules import (
    EquivalentsIn,
    ExclusionIn,
    LockIn,
    MemberIn,
    RulesIn,
    SubstitutionIn,
    TradeHoldIn,
    TransactionIn,
    account_rules,
    check_rules,
    rule_symbols,
)
from trimtab.io.tables import Column, read_table, table_path

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


def _rows(folder: Path, name: str) -> tuple[str, list[dict[str, Any]]]:
    path = table_path(folder, name)
    if path is None:
        return f"{name}.csv", []
    return path.name, read_table(path, RULE_SCHEMAS[name]).to_pylist()


def _clean(row: dict[str, Any], drop: Sequence[str]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in drop and v not in (None, "")}


def _validate(label: str, row_no: int, model: Any, data: dict[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as err:
        path, problem = first_error(err)
        raise BookError(f"{label} row {row_no} column {path}", problem) from None


def _group(label: str, group: tuple[int, list[MemberIn], dict[str, Any]]) -> EquivalentsIn:
    row_no, members, dates = group
    try:
        return EquivalentsIn(type="equivalents", members=members, **dates)
    except ValidationError as err:
        path, problem = first_error(err)
        raise BookError(f"{label} row {row_no} column symbol", f"group {path}: {problem}") from None


def read_book_rules(
    folder: Path | str,
    *,
    account_code: Mapping[str, int],
    symbol_code: Mapping[str, int],
    as_of: date,
    household: Mapping[str, str] | None = None,
    qualified: Sequence[bool] | None = None,
    lots: Mapping[int, Mapping[int, Sequence[Lot]]] | None = None,
) -> BookRules:
    """The rules of every account of the book in ``folder`` on ``as_of``.

    ``household`` maps account id to household id (wash sales look across a household;
    without it each account is its own household); ``qualified`` is per account code;
    ``lots`` are per account code, then symbol code.
    """
    folder = Path(folder)
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
            lot_method="fifo",
            specific_lots={},
            as_of=as_of,
        )
        extra.extend((code, symbol_code[sym]) for _, sym in rule_symbols(rules))
    return BookRules(rules=out, extra_slots=sorted(set(extra)))


def book_slot_rules(
    folder: Path | str, loaded: LoadedBook, *, as_of: date
) -> tuple[SlotRules, list[tuple[int, int]]]:
    """Every rule of a read book laid on its slots, ready for ``apply_slot_rules``.

    Reads the rule tables of ``folder`` (see :func:`read_book_rules`); households and
    registrations come from the ``accounts`` table, tax lots from the ``lots`` table (laid
    on slots without per-lot Python objects). Returns the slot rules of all accounts (cut
    them with ``SlotRules.rows`` per chunk) and the ``(account, symbol)`` slots that
    restrictions need but the book does not lay out (substitutes and group members neither
    held nor in the model): until the book gives them zero-quantity positions, such a
    substitution's target stays in cash and such a member is not bought.
    """
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
    found = read_book_rules(
        folder,
        account_code=account_code,
        symbol_code=symbol_code,
        as_of=as_of,
        household=household,
        qualified=qualified,
    )
    lots = None
    if "lots" in loaded.tables:
        table = loaded.tables["lots"]
        codes = []
        for column, names in (("account_id", loaded.account_ids), ("symbol", loaded.symbols)):
            values = table.column(column)
            if pa.types.is_dictionary(values.type):
                values = values.cast(pa.string())
            codes.append(
                pc.index_in(values, value_set=pa.array(list(names), pa.string()))
                .to_numpy(zero_copy_only=False)
                .astype(np.int32)
            )
        basis = table.column("cost_basis").to_numpy(zero_copy_only=False).astype(np.float64)
        acquired = table.column("acquired").cast(pa.int32()).to_numpy(zero_copy_only=False)
        lots = lots_on_slots(
            arrays.slot_symbol,
            account=codes[0],
            symbol=codes[1],
            quantity=table.column("quantity").to_numpy(zero_copy_only=False),
            basis=basis,
            acquired=acquired.astype(np.int64) + _EPOCH_ORDINAL,
        )
    target = np.zeros(arrays.slot_symbol.shape)
    target[:, : arrays.model_width] = arrays.model_target[arrays.account_model]
    rules = slot_rules(arrays.slot_symbol, found.rules, as_of, target, lots=lots)
    return rules, found.extra_slots


_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
