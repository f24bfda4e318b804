"""The rule tables of a book folder: their schemas (:data:`RULE_SCHEMAS`), how one is
found (:func:`rule_table`), and :func:`read_book_rules`, which reads them one row and one
account at a time through the scenario models into one :class:`AccountRules` per account:
slow, but its errors name ``table.ext row N column C``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
from pydantic import ValidationError

from trimtab.core.lots import Lot
from trimtab.core.rules import AccountRules
from trimtab.errors import BookError, ScenarioError
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
