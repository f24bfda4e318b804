"""An account's standing rules in the store, in the book format of ``propose-book``.

Restrictions and locks are kept per account until removed (``account_restrictions``,
``account_locks``); trade holds are the account's own columns; short-term windows are kept
per security. An import upserts what its book's rule tables give (docs/rules.md): a
restriction replaces the stored one of the same account and ``restriction_id`` (a row
without an id is keyed by its symbol), a lock the one of the same account, type and
symbol; nothing that the book does not name is removed. :func:`rule_tables` reads them
back as those same tables, so that a request lays rules on exactly as ``propose-book``
does (:func:`trimtab.io.book_rules.lay_out_rules`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import pyarrow as pa
from sqlalchemy import delete, select, tuple_, update

from trimtab.core.rules import WASH_SALE_DAYS
from trimtab.io.book_rules import RULE_SCHEMAS, RuleTables
from trimtab.service.exact import to_decimals
from trimtab.store import tables as t
from trimtab.store.among import among
from trimtab.store.uow import UnitOfWork

RESTRICTION_COLUMNS = (
    "type",
    "start_date",
    "end_date",
    "end_action",
    "behaviour",
    "replacement",
    "substitute",
    "weight_at_end_pct",
)
"""Columns of a stored restriction row besides its key (account, restriction_id, symbol)."""


def column_values(table: pa.Table, name: str) -> list[Any]:
    """A column as Python values, an empty text as ``None`` (every row ``None`` when the
    table has no such column)."""
    if name not in table.column_names:
        return [None] * table.num_rows
    col = table.column(name)
    if pa.types.is_dictionary(col.type):
        col = col.cast(col.type.value_type)
    return [None if v == "" else v for v in col.to_pylist()]


def restriction_ids(table: pa.Table) -> list[str]:
    """Each row's ``restriction_id``, its symbol where it has none."""
    ids = column_values(table, "restriction_id")
    symbols = column_values(table, "symbol")
    return [i if i is not None else s for i, s in zip(ids, symbols, strict=True)]


def import_restrictions(uow: UnitOfWork, table: pa.Table, label: str) -> int:
    """Upsert the book's ``restrictions`` rows (checked already); returns the rows written."""
    firm = uow.firm_id
    accounts = column_values(table, "account_id")
    ids = restriction_ids(table)
    keys = sorted(set(zip(accounts, ids, strict=True)))
    r = t.account_restrictions
    for chunk in _chunks(keys):
        uow.conn.execute(
            delete(r).where(
                r.c.firm_id == firm, tuple_(r.c.account_id, r.c.restriction_id).in_(chunk)
            )
        )
    weight = to_decimals(
        column_values(table, "weight_at_end_pct"), label=label, column="weight_at_end_pct", scale=8
    )
    values = [column_values(table, c) for c in RESTRICTION_COLUMNS[:-1]]
    rows = [
        (firm, a, i, s, *rest, w)
        for a, i, s, *rest, w in zip(
            accounts, ids, column_values(table, "symbol"), *values, weight, strict=True
        )
    ]
    return uow.bulk_insert(
        r, ("firm_id", "account_id", "restriction_id", "symbol", *RESTRICTION_COLUMNS), rows
    )


def import_locks(uow: UnitOfWork, table: pa.Table) -> int:
    """Upsert the book's ``locks`` rows (checked already); a ``trade_hold`` row puts its
    account on hold (until ``until``, or until lifted). Returns the rows written."""
    firm = uow.firm_id
    rows = list(
        zip(
            column_values(table, "account_id"),
            column_values(table, "type"),
            [s or "" for s in column_values(table, "symbol")],
            column_values(table, "until"),
            strict=True,
        )
    )
    a = t.accounts
    for account, kind, _, until in rows:
        if kind == "trade_hold":
            uow.conn.execute(
                update(a)
                .where(a.c.firm_id == firm, a.c.account_id == account)
                .values(trade_hold=True, trade_hold_until=until)
            )
    locks = {(acc, kind, sym): until for acc, kind, sym, until in rows if kind != "trade_hold"}
    lk = t.account_locks
    for chunk in _chunks(sorted(locks)):
        uow.conn.execute(
            delete(lk).where(
                lk.c.firm_id == firm, tuple_(lk.c.account_id, lk.c.type, lk.c.symbol).in_(chunk)
            )
        )
    uow.bulk_insert(
        lk,
        ("firm_id", "account_id", "type", "symbol", "until"),
        [(firm, *key, until) for key, until in locks.items()],
    )
    return len(rows)


def import_windows(uow: UnitOfWork, table: pa.Table) -> int:
    """Store the book's ``short_term_windows`` on its securities (the last row of a symbol
    counts); returns the rows read."""
    s = t.securities
    days = dict(zip(column_values(table, "symbol"), column_values(table, "days"), strict=True))
    for symbol, window in days.items():
        uow.conn.execute(
            update(s)
            .where(s.c.firm_id == uow.firm_id, s.c.symbol == symbol)
            .values(short_term_days=window)
        )
    return int(table.num_rows)


def _chunks(keys: Sequence[Any], size: int = 500) -> list[Sequence[Any]]:
    return [keys[i : i + size] for i in range(0, len(keys), size)]


def _table(name: str, columns: dict[str, list[Any]]) -> tuple[str, pa.Table]:
    """Stored values as the book format's table ``name`` (its column types)."""
    schema = {c.name: c.type for c in RULE_SCHEMAS[name]}
    data = {c: pa.array(values, schema[c]) for c, values in columns.items()}
    return f"stored {name}", pa.table(data)


def _columns(rows: Sequence[Any], names: Sequence[str]) -> dict[str, list[Any]]:
    return {n: [r[i] for r in rows] for i, n in enumerate(names)}


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def rule_tables(
    uow: UnitOfWork,
    *,
    account_ids: Sequence[str],
    history_ids: Sequence[str],
    trade_day: date,
) -> RuleTables:
    """The stored rules of ``account_ids`` as the book format's rule tables: restrictions,
    locks and trade holds in force on ``trade_day``, short-term windows, and the
    transactions of ``history_ids`` (the accounts and their household mates) within the
    wash-sale and short-term windows."""
    conn, firm, ids = uow.conn, uow.firm_id, list(account_ids)
    out: dict[str, tuple[str, pa.Table]] = {}
    r = t.account_restrictions
    key = ("account_id", "restriction_id", "symbol")
    rows = [
        (*x[:-1], _float(x[-1]))
        for x in conn.execute(
            select(*(r.c[c] for c in (*key, *RESTRICTION_COLUMNS)))
            .where(r.c.firm_id == firm, among(r.c.account_id, ids))
            .order_by(r.c.account_id, r.c.restriction_id, r.c.symbol)
        )
    ]
    if rows:
        out["restrictions"] = _table("restrictions", _columns(rows, (*key, *RESTRICTION_COLUMNS)))
    lk, a = t.account_locks, t.accounts
    locks = [
        (x.account_id, x.type, x.symbol or None, x.until)
        for x in conn.execute(select(lk).where(lk.c.firm_id == firm, among(lk.c.account_id, ids)))
    ]
    locks += [
        (x.account_id, "trade_hold", None, x.trade_hold_until)
        for x in conn.execute(
            select(a.c.account_id, a.c.trade_hold_until).where(
                a.c.firm_id == firm, among(a.c.account_id, ids), a.c.trade_hold
            )
        )
        if x.trade_hold_until is None or x.trade_hold_until >= trade_day
    ]
    if locks:
        out["locks"] = _table("locks", _columns(locks, ("account_id", "type", "symbol", "until")))
    s = t.securities
    windows = conn.execute(
        select(s.c.symbol, s.c.short_term_days).where(
            s.c.firm_id == firm, s.c.short_term_days.is_not(None)
        )
    ).all()
    if windows:
        out["short_term_windows"] = _table(
            "short_term_windows", _columns(windows, ("symbol", "days"))
        )
    longest = max([WASH_SALE_DAYS, *(w.short_term_days for w in windows)])
    tx = t.transactions
    seen: set[tuple[Any, ...]] = set()
    history = []
    for x in conn.execute(
        select(tx)
        .where(
            tx.c.firm_id == firm,
            among(tx.c.account_id, history_ids),
            tx.c.trade_date >= trade_day - timedelta(days=longest),
        )
        .order_by(tx.c.as_of, tx.c.row)
    ):
        trade = (x.account_id, x.symbol, x.side, x.trade_date, float(x.quantity))
        if trade in seen:  # a trade in the custodian files of several dates counts once
            continue
        seen.add(trade)
        history.append((*trade, _float(x.realized_gain)))
    if history:
        names = ("account_id", "symbol", "action", "date", "quantity", "realized_gain")
        out["transactions"] = _table("transactions", _columns(history, names))
    return out
