"""Writing the service tables of a book: cash activity, and the rule tables it shares with
``propose-book`` (transactions, restrictions, locks, short-term windows)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa

from trimtab.io.book_rules import RuleTables
from trimtab.service.book_extras import ExtraTable
from trimtab.service.exact import to_decimals
from trimtab.service.rule_store import import_locks, import_restrictions, import_windows
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork


def _col(table: Any, name: str) -> list[Any]:
    if name not in table.column_names:
        return [None] * len(table)
    return list(table.column(name).to_pylist())


def write_extra(uow: UnitOfWork, as_of: date, name: str, extra: ExtraTable) -> int:
    """Store service table ``name`` of the book of ``as_of``; returns the rows written."""
    tb, label, firm = extra.table, extra.label, uow.firm_id
    rows: list[tuple[Any, ...]]
    if name == "cash_activity":
        amount = to_decimals(_col(tb, "amount"), label=label, column="amount", scale=6)
        rows = [
            (firm, as_of, i + 1, a, d or as_of, k, m)
            for i, (a, d, k, m) in enumerate(
                zip(_col(tb, "account_id"), _col(tb, "date"), _col(tb, "kind"), amount, strict=True)
            )
        ]
        cols: tuple[str, ...] = (
            "firm_id",
            "as_of",
            "row",
            "account_id",
            "activity_date",
            "kind",
            "amount",
        )
        return uow.bulk_insert(t.cash_activity, cols, rows)
    raise ValueError(f"not a service table: {name}")  # pragma: no cover - EXTRA_SCHEMAS


STORED_RULES = ("restrictions", "locks", "transactions", "short_term_windows")
"""The book's rule tables the service stores (docs/rules.md), read as ``propose-book``
reads them."""


def import_rules(uow: UnitOfWork, as_of: date, rules: RuleTables) -> dict[str, int]:
    """Store the book's rule tables (checked already): the date's transactions, and the
    accounts' standing restrictions, locks and short-term windows (upserted,
    :mod:`trimtab.service.rule_store`). Returns the rows written per table."""
    out: dict[str, int] = {}
    if "transactions" in rules:
        label, table = rules["transactions"]
        out["transactions"] = _transactions(uow, as_of, table, label)
    if "restrictions" in rules:
        label, table = rules["restrictions"]
        out["restrictions"] = import_restrictions(uow, table, label)
    if "locks" in rules:
        out["locks"] = import_locks(uow, rules["locks"][1])
    if "short_term_windows" in rules:
        out["short_term_windows"] = import_windows(uow, rules["short_term_windows"][1])
    return out


def _transactions(uow: UnitOfWork, as_of: date, tb: pa.Table, label: str) -> int:
    qty = to_decimals(_col(tb, "quantity"), label=label, column="quantity", scale=8)
    gain = to_decimals(_col(tb, "realized_gain"), label=label, column="realized_gain", scale=6)
    px = to_decimals(_col(tb, "price"), label=label, column="price", scale=8)
    rows = [
        (uow.firm_id, as_of, i + 1, *values)
        for i, values in enumerate(
            zip(
                _col(tb, "account_id"),
                _col(tb, "date"),
                _col(tb, "symbol"),
                _col(tb, "action"),
                qty,
                px,
                gain,
                strict=True,
            )
        )
    ]
    cols = (
        "firm_id",
        "as_of",
        "row",
        "account_id",
        "trade_date",
        "symbol",
        "side",
        "quantity",
        "price",
        "realized_gain",
    )
    return uow.bulk_insert(t.transactions, cols, rows)
