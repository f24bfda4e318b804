"""An account's sleeves in the store, in the book format of ``propose-book``.

The book's ``sleeves``, ``apm_targets`` and ``sleeve_positions`` (docs/rules.md, "Sleeves
in a book") are kept per account (``account_sleeves``, ``account_apm_targets``,
``account_sleeve_positions``), each row with its place in the book (``line``). They are
standing: an import replaces the sleeves of every account its ``accounts`` table names
(none where its sleeve tables give none) and keeps those of the accounts it does not name.
:func:`sleeve_tables` reads them back as those same tables, so that a request lays them on
exactly as ``propose-book`` does (:func:`trimtab.io.book_sleeves.lay_out_sleeves`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import pyarrow as pa
from sqlalchemy import Table, delete, func, select

from trimtab.io.book_sleeves import SLEEVE_SCHEMAS, SleeveTables
from trimtab.service.exact import to_decimals
from trimtab.service.rule_store import column_values
from trimtab.store import tables as t
from trimtab.store.among import among
from trimtab.store.uow import UnitOfWork

STORED: dict[str, tuple[Table, tuple[str, ...]]] = {
    "sleeves": (t.account_sleeves, ("sleeve", "weight_pct", "model_id", "cash_pct")),
    "apm_targets": (t.account_apm_targets, ("symbol", "target_pct")),
    "sleeve_positions": (t.account_sleeve_positions, ("sleeve", "symbol", "quantity")),
}
"""Each book sleeve table's store table and its columns besides ``account_id``."""

_SCALE = {"weight_pct": 8, "cash_pct": 8, "target_pct": 8, "quantity": 8}


def import_sleeves(
    uow: UnitOfWork, account_ids: Sequence[str], tables: SleeveTables
) -> dict[str, int]:
    """Replace the stored sleeves of ``account_ids`` (the book's accounts) by the book's
    sleeve tables ``tables`` (checked already); returns the rows written per table."""
    firm, book = uow.firm_id, set(account_ids)
    out: dict[str, int] = {}
    for name, (store, columns) in STORED.items():
        # only accounts with stored rows: most books' accounts have none
        stored = uow.conn.execute(
            select(store.c.account_id).where(store.c.firm_id == firm).distinct()
        ).scalars()
        ids = sorted(book.intersection(stored))
        for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
            uow.conn.execute(
                delete(store).where(store.c.firm_id == firm, store.c.account_id.in_(chunk))
            )
        if name not in tables:
            continue
        label, table = tables[name]
        values = []
        for c in columns:
            found = column_values(table, c)
            if c in _SCALE:
                found = to_decimals(found, label=label, column=c, scale=_SCALE[c])
            values.append(found)
        line: dict[str, int] = {}
        rows = []
        for account, *rest in zip(column_values(table, "account_id"), *values, strict=True):
            line[account] = line.get(account, 0) + 1
            rows.append((firm, account, line[account], *rest))
        out[name] = uow.bulk_insert(store, ("firm_id", "account_id", "line", *columns), rows)
    return out


def sleeved_accounts(uow: UnitOfWork, account_ids: Sequence[str]) -> set[str]:
    """Those of ``account_ids`` whose target is in their stored sleeves."""
    s = t.account_sleeves
    return set(
        uow.conn.execute(
            select(s.c.account_id)
            .where(s.c.firm_id == uow.firm_id, among(s.c.account_id, account_ids))
            .distinct()
        ).scalars()
    )


def _float(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


def sleeve_tables(uow: UnitOfWork, *, account_ids: Sequence[str]) -> SleeveTables:
    """The stored sleeves of ``account_ids`` as the book format's sleeve tables (labelled
    ``stored <table>``), each account's rows in the book's order; none when they have none."""
    out: SleeveTables = {}
    for name, (store, columns) in STORED.items():
        rows = uow.conn.execute(
            select(store.c.account_id, *(store.c[c] for c in columns))
            .where(store.c.firm_id == uow.firm_id, among(store.c.account_id, account_ids))
            .order_by(store.c.account_id, store.c.line)
        ).all()
        if not rows:
            continue
        schema = {c.name: c.type for c in SLEEVE_SCHEMAS[name]}
        names = ("account_id", *columns)
        data = {n: pa.array([_float(r[i]) for r in rows], schema[n]) for i, n in enumerate(names)}
        out[name] = (f"stored {name}", pa.table(data))
    return out


def sleeve_models(uow: UnitOfWork, tables: SleeveTables, as_of: date) -> pa.Table:
    """The lines of the models that ``tables``' model sleeves blend, as the book format's
    ``models`` table: each model's version in force on ``as_of``, lines in order."""
    wanted: list[str] = []
    if "sleeves" in tables:
        wanted = sorted(
            {m for m in column_values(tables["sleeves"][1], "model_id") if m is not None}
        )
    v, ml = t.model_versions, t.model_lines
    version = dict(
        uow.conn.execute(
            select(v.c.model_id, func.max(v.c.version))
            .where(v.c.firm_id == uow.firm_id, v.c.model_id.in_(wanted), v.c.effective <= as_of)
            .group_by(v.c.model_id)
        ).all()
    )
    lines = [
        r
        for r in uow.conn.execute(
            select(
                ml.c.model_id,
                ml.c.version,
                ml.c.symbol,
                ml.c.target_pct,
                ml.c.min_pct,
                ml.c.max_pct,
            )
            .where(ml.c.firm_id == uow.firm_id, ml.c.model_id.in_(list(version)))
            .order_by(ml.c.model_id, ml.c.line)
        )
        if version.get(r.model_id) == r.version
    ]
    return pa.table(
        {
            "model_id": pa.array([r.model_id for r in lines], pa.string()),
            "symbol": pa.array([r.symbol for r in lines], pa.string()),
            **{
                c: pa.array([float(getattr(r, c)) for r in lines], pa.float64())
                for c in ("target_pct", "min_pct", "max_pct")
            },
        }
    )


KEYS_CHUNK = 10_000
"""Accounts whose sleeves are read at a time, for their target keys."""

SLEEVE_TARGET = "sleeves:"
"""How the target key of an account whose target is in sleeves begins."""


def sleeve_target_keys(uow: UnitOfWork, account_ids: Sequence[str], as_of: date) -> list[str]:
    """The target of each of ``account_ids`` (accounts with model or APM sleeves) as a key
    that changes exactly when the target does: ``sleeves:`` and a digest of its sleeves, APM
    targets, APM and protected shares, and the lines of the models its model sleeves follow
    on ``as_of``. The evaluation stores it as the account's target (where other accounts
    have their model) and compares it with the day before's."""
    found: dict[str, list[Any]] = {a: [] for a in account_ids}
    for first in range(0, len(account_ids), KEYS_CHUNK):
        chunk = list(account_ids[first : first + KEYS_CHUNK])
        stored = sleeve_tables(uow, account_ids=chunk)
        lines: dict[str, list[Any]] = {}
        if stored:
            for line in sleeve_models(uow, stored, as_of).to_pylist():
                lines.setdefault(line.pop("model_id"), []).append(line)
        model_digest = {m: _digest(ls) for m, ls in lines.items()}  # once per model
        for name in sorted(stored):
            for row in stored[name][1].to_pylist():
                account = row.pop("account_id")
                if name == "sleeves" and row["model_id"] is not None:
                    row["lines"] = model_digest.get(row["model_id"])
                found[account].append([name, row])
    return [SLEEVE_TARGET + _digest(found[a])[:24] for a in account_ids]


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()
