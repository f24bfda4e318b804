"""Writing the service tables of a book (cash activity, transactions, restrictions, locks)."""

from __future__ import annotations

from datetime import date
from typing import Any

from trimtab.errors import BookError
from trimtab.service.book_extras import ExtraTable
from trimtab.service.exact import to_decimals
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
    if name == "transactions":
        qty = to_decimals(_col(tb, "quantity"), label=label, column="quantity", scale=8)
        px = to_decimals(_col(tb, "price"), label=label, column="price", scale=8)
        rows = [
            (firm, as_of, i + 1, a, d, s, side, q, p)
            for i, (a, d, s, side, q, p) in enumerate(
                zip(
                    _col(tb, "account_id"),
                    _col(tb, "trade_date"),
                    _col(tb, "symbol"),
                    _col(tb, "side"),
                    qty,
                    px,
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
        )
        return uow.bulk_insert(t.transactions, cols, rows)
    if name == "restrictions":
        rows = [
            (
                firm,
                as_of,
                a,
                r,
                k,
                s,
                sd,
                ed,
                ea or "wait_for_model_change",
                be or "hold",
                rp or "hold_cash",
                sub or None,
            )
            for a, r, k, s, sd, ed, ea, be, rp, sub in zip(
                _col(tb, "account_id"),
                _col(tb, "restriction_id"),
                _col(tb, "kind"),
                _col(tb, "symbol"),
                _col(tb, "start_date"),
                _col(tb, "end_date"),
                _col(tb, "end_action"),
                _col(tb, "behaviour"),
                _col(tb, "replacement"),
                _col(tb, "substitute"),
                strict=True,
            )
        ]
        cols = (
            "firm_id",
            "as_of",
            "account_id",
            "restriction_id",
            "kind",
            "symbol",
            "start_date",
            "end_date",
            "end_action",
            "behaviour",
            "replacement",
            "substitute",
        )
        _unique_keys(label, [(r[2], r[3]) for r in rows], "restriction_id")
        return uow.bulk_insert(t.restrictions, cols, rows)
    rows = [
        (firm, as_of, a, s, k)
        for a, s, k in zip(
            _col(tb, "account_id"), _col(tb, "symbol"), _col(tb, "kind"), strict=True
        )
    ]
    _unique_keys(label, [(r[2], r[3], r[4]) for r in rows], "kind")
    return uow.bulk_insert(t.locks, ("firm_id", "as_of", "account_id", "symbol", "kind"), rows)


def _unique_keys(label: str, keys: list[tuple[Any, ...]], column: str) -> None:
    seen: set[tuple[Any, ...]] = set()
    for i, key in enumerate(keys):
        if key in seen:
            raise BookError(f"{label} row {i + 1} column {column}", f"duplicate key {key!r}")
        seen.add(key)
