"""``trimtab import``: load one book date into the store, all or nothing.

A book is the state of every account at one date. Importing a date replaces whatever an
earlier import of the same date wrote (so re-importing is idempotent); current state
(securities, models, accounts) is updated in place, and model weights that changed become a
new model version effective that date. Dates must be imported in order.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from sqlalchemy import bindparam, delete, func, insert, select, update

from trimtab.errors import BookError, ConflictError
from trimtab.io.book import LoadedBook, read_book
from trimtab.io.book_rules import RuleTables, book_slot_rules, rule_table
from trimtab.io.book_sleeves import (
    SleeveTables,
    lay_out_sleeves,
    read_sleeve_tables,
    read_sleeved_book,
)
from trimtab.io.tables import table_path
from trimtab.service.access import require_role
from trimtab.service.book_checks import check_book, check_dates
from trimtab.service.book_extras import ExtraTable, read_extras
from trimtab.service.exact import number_texts, to_decimals
from trimtab.service.import_extras import STORED_RULES, import_rules, write_extra
from trimtab.service.sleeve_store import import_sleeves
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork

Line = tuple[str, Decimal, Decimal, Decimal]


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """Rows of the date stored per table (as many as the book's), securities and accounts
    created or changed, and how many models got a new version."""

    as_of: date
    rows: dict[str, int]
    new_model_versions: int
    replaced: bool
    new: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BookFolder:
    """A book folder read and validated: the core book, its service tables, its rule
    tables (``restrictions``, ``locks``, ``transactions``, ``short_term_windows``, read as
    ``propose-book`` reads them), file names, and its sleeve tables (``sleeves``,
    ``apm_targets``, ``sleeve_positions``, checked as ``propose-book`` checks them)."""

    book: LoadedBook
    extras: dict[str, ExtraTable]
    labels: dict[str, str]
    rules: RuleTables
    sleeves: SleeveTables = field(default_factory=dict)


def read_book_folder(folder: Path, as_of: date | None = None) -> BookFolder:
    """Read every table of ``folder``; rules are checked as on ``as_of`` (the import date;
    today by default). Raises :class:`~trimtab.errors.BookError`."""
    sleeves = read_sleeve_tables(folder)
    book = read_book(folder) if not sleeves else read_sleeved_book(folder, sleeves)
    if sleeves:
        lay_out_sleeves(book, sleeves)  # names the first bad row, as propose-book does
    extras = read_extras(folder, book.account_ids)
    if table_path(folder, "specific_lots") is not None:
        raise BookError("specific_lots", "the service keeps no specific-lot orders yet")
    book_slot_rules(folder, book, as_of=as_of or date.today())  # names the first bad row
    rules: dict[str, tuple[str, pa.Table]] = {}
    for name in STORED_RULES:
        label, table = rule_table(folder, name)
        if table is not None:
            rules[name] = (label, table)
    labels = {}
    for name in book.tables:
        path = table_path(folder, name)
        labels[name] = path.name if path is not None else name
    check_book(
        folder,
        book,
        {
            **{name: extra.table for name, extra in extras.items()},
            **{name: table for name, (_, table) in rules.items()},
            **{name: table for name, (_, table) in sleeves.items()},
        },
        {
            **labels,
            **{n: e.label for n, e in extras.items()},
            **{n: label for n, (label, _) in rules.items()},
            **{n: label for n, (label, _) in sleeves.items()},
        },
    )
    return BookFolder(book=book, extras=extras, labels=labels, rules=rules, sleeves=sleeves)


def _col(table: pa.Table, name: str) -> list[Any]:
    """A column as Python values (``None`` for nulls); every row ``None`` when absent."""
    if name not in table.column_names:
        return [None] * len(table)
    col = table.column(name)
    if pa.types.is_floating(col.type):
        return list(col.to_pylist())
    return list(col.to_numpy(zero_copy_only=False).tolist())


def import_book(
    uow: UnitOfWork,
    *,
    actor: str,
    as_of: date,
    folder: BookFolder,
    now: datetime,
    progress: Callable[[str], None] | None = None,
) -> ImportSummary:
    """Write the book ``folder`` as the firm's data at ``as_of``, in one transaction.

    ``progress`` is told each stage (``"positions"``, ...) as it starts.

    Raises
    :class:`~trimtab.errors.BookError` for a value the store cannot hold exactly and
    :class:`~trimtab.errors.ConflictError` when a later date was imported already.
    """
    require_role(uow, user_id=actor, role="operator")
    every = {**folder.book.tables, **{n: e.table for n, e in folder.extras.items()}}
    every |= {n: table for n, (_, table) in folder.rules.items()}
    labels = {**folder.labels, **{n: e.label for n, e in folder.extras.items()}}
    check_dates(every, labels | {n: label for n, (label, _) in folder.rules.items()}, as_of)
    conn, firm = uow.conn, uow.firm_id
    latest = conn.execute(
        select(func.max(t.imports.c.as_of)).where(t.imports.c.firm_id == firm)
    ).scalar()
    if latest is not None and latest > as_of:
        raise ConflictError(
            f"--date {as_of}: the book of {latest} is imported already; import dates in order"
        )
    replaced = latest == as_of
    _clear_date(uow, as_of)
    book, extras, labels = folder.book, folder.extras, folder.labels
    tables = book.tables
    rows: dict[str, int] = {}
    say = progress or (lambda stage: None)
    say("securities and prices")
    known = _count(uow, t.securities)
    changed = {"securities": _securities(uow, tables["prices"], actor, now)}
    new = {"securities": _count(uow, t.securities) - known}
    changed["securities"] -= new["securities"]
    rows["securities"] = len(tables["prices"])
    rows["prices"] = _prices(uow, as_of, tables["prices"], labels["prices"])
    say("models")
    versions, new_versions = _models(uow, as_of, tables["models"], labels["models"], actor, now)
    say("accounts")
    known = _count(uow, t.accounts)
    rows["accounts"] = _accounts(uow, actor, as_of, tables["accounts"], labels, versions, now)
    new["accounts"] = _count(uow, t.accounts) - known
    _lot_methods(uow, actor, tables["accounts"], labels["accounts"], now)
    say("positions")
    rows["positions"] = _positions(uow, as_of, tables, labels)
    if "lots" in tables:
        say("lots")
        rows["lots"] = _lots(uow, as_of, tables["lots"], labels["lots"])
    for name, extra in extras.items():
        say(name)
        rows[name] = write_extra(uow, as_of, name, extra)
    rows.update(import_rules(uow, as_of, folder.rules))
    say("sleeves")
    rows.update(import_sleeves(uow, _col(tables["accounts"], "account_id"), folder.sleeves))
    conn.execute(
        insert(t.imports).values(
            firm_id=firm,
            as_of=as_of,
            imported_at=now,
            imported_by=actor,
            row_counts=json.dumps(rows, sort_keys=True),
        )
    )
    if uow.dialect == "postgresql":
        # fresh statistics, so that the planner sees the bulk-loaded rows
        for name in ("accounts", "account_days", "positions", "lots", "rebalancing_changes"):
            uow.conn.exec_driver_sql(f'ANALYZE "{name}"')
    uow.audit(
        actor=actor,
        action="reimport" if replaced else "import",
        entity="book",
        entity_id=as_of.isoformat(),
        at=now,
        after={"rows": rows, "new": new, "changed": changed, "new_model_versions": new_versions},
    )
    uow.commit()
    return ImportSummary(
        as_of=as_of,
        rows=rows,
        new_model_versions=new_versions,
        replaced=replaced,
        new=new,
        changed=changed,
    )


def _count(uow: UnitOfWork, table: Any) -> int:
    return int(
        uow.conn.execute(
            select(func.count()).select_from(table).where(table.c.firm_id == uow.firm_id)
        ).scalar_one()
    )


def _clear_date(uow: UnitOfWork, as_of: date) -> None:
    conn, firm = uow.conn, uow.firm_id
    for name in t.DATED_TABLES:
        table = t.metadata.tables[name]
        conn.execute(delete(table).where(table.c.firm_id == firm, table.c.as_of == as_of))
    conn.execute(delete(t.imports).where(t.imports.c.firm_id == firm, t.imports.c.as_of == as_of))
    conn.execute(
        delete(t.rebalancing_changes).where(
            t.rebalancing_changes.c.firm_id == firm,
            t.rebalancing_changes.c.import_date == as_of,
        )
    )
    stale = select(t.model_versions.c.model_id, t.model_versions.c.version).where(
        t.model_versions.c.firm_id == firm, t.model_versions.c.effective == as_of
    )
    for model_id, version in conn.execute(stale).all():
        for table in (t.model_lines, t.model_versions):
            conn.execute(
                delete(table).where(
                    table.c.firm_id == firm,
                    table.c.model_id == model_id,
                    table.c.version == version,
                )
            )
        previous = conn.execute(
            select(func.max(t.model_versions.c.version)).where(
                t.model_versions.c.firm_id == firm, t.model_versions.c.model_id == model_id
            )
        ).scalar()
        if previous is None:
            conn.execute(
                delete(t.models).where(t.models.c.firm_id == firm, t.models.c.model_id == model_id)
            )
        else:
            conn.execute(
                update(t.models)
                .where(t.models.c.firm_id == firm, t.models.c.model_id == model_id)
                .values(current_version=previous)
            )


def _securities(uow: UnitOfWork, prices: pa.Table, actor: str, now: datetime) -> int:
    conn, firm = uow.conn, uow.firm_id
    existing = {
        row.symbol: (row.asset_class, row.sub_asset_class)
        for row in conn.execute(
            select(
                t.securities.c.symbol, t.securities.c.asset_class, t.securities.c.sub_asset_class
            ).where(t.securities.c.firm_id == firm)
        )
    }
    symbols = _col(prices, "symbol")
    asset = _col(prices, "asset_class")
    sub = _col(prices, "sub_asset_class")
    new = []
    changed = []
    for s, a, c in zip(symbols, asset, sub, strict=True):
        a = a or None
        c = c or None
        if s not in existing:
            new.append((firm, s, a, c))
        elif existing[s] != (a, c):
            changed.append({"b_symbol": s, "asset_class": a, "sub_asset_class": c})
            uow.audit(
                actor=actor,
                action="import_update",
                entity="security",
                entity_id=s,
                at=now,
                before={"asset_class": existing[s][0], "sub_asset_class": existing[s][1]},
                after={"asset_class": a, "sub_asset_class": c},
            )
    uow.bulk_insert(t.securities, ("firm_id", "symbol", "asset_class", "sub_asset_class"), new)
    if changed:
        conn.execute(
            update(t.securities)
            .where(t.securities.c.firm_id == firm, t.securities.c.symbol == bindparam("b_symbol"))
            .values(
                asset_class=bindparam("asset_class"), sub_asset_class=bindparam("sub_asset_class")
            ),
            changed,
        )
    return len(new) + len(changed)


def _prices(uow: UnitOfWork, as_of: date, prices: pa.Table, label: str) -> int:
    values = number_texts(prices, "price", label=label, scale=8)
    n = len(prices)
    columns = ([uow.firm_id] * n, [as_of.isoformat()] * n, _col(prices, "symbol"), values)
    return uow.bulk_insert(
        t.prices, ("firm_id", "as_of", "symbol", "price"), zip(*columns, strict=True), encoded=True
    )


def _models(
    uow: UnitOfWork, as_of: date, models: pa.Table, label: str, actor: str, now: datetime
) -> tuple[dict[str, int], int]:
    """Model id -> version in force at ``as_of``; new versions where the weights changed."""
    conn, firm = uow.conn, uow.firm_id
    target = to_decimals(_col(models, "target_pct"), label=label, column="target_pct", scale=8)
    lower = to_decimals(_col(models, "min_pct"), label=label, column="min_pct", scale=8)
    upper = to_decimals(_col(models, "max_pct"), label=label, column="max_pct", scale=8)
    book_lines: dict[str, list[Line]] = defaultdict(list)
    for m, s, tg, lo, hi in zip(
        _col(models, "model_id"), _col(models, "symbol"), target, lower, upper, strict=True
    ):
        assert tg is not None and lo is not None and hi is not None
        book_lines[m].append((s, tg, lo, hi))
    current = {
        row.model_id: row.current_version
        for row in conn.execute(
            select(t.models.c.model_id, t.models.c.current_version).where(
                t.models.c.firm_id == firm
            )
        )
    }
    stored: dict[str, set[Line]] = defaultdict(set)
    for row in conn.execute(
        select(t.model_lines).where(
            t.model_lines.c.firm_id == firm,
            t.model_lines.c.model_id.in_(list(book_lines)),
        )
    ):
        if current.get(row.model_id) == row.version:
            stored[row.model_id].add((row.symbol, row.target_pct, row.min_pct, row.max_pct))
    versions: dict[str, int] = {}
    version_rows: list[tuple[Any, ...]] = []
    line_rows: list[tuple[Any, ...]] = []
    for model_id, lines in book_lines.items():
        old = current.get(model_id)
        if old is not None and stored[model_id] == set(lines):
            versions[model_id] = old
            continue
        version = (old or 0) + 1
        versions[model_id] = version
        cash = Decimal(100) - sum((line[1] for line in lines), Decimal(0))
        version_rows.append((firm, model_id, version, as_of, max(cash, Decimal(0))))
        if old is not None:
            uow.audit(
                actor=actor,
                action="new_version",
                entity="model",
                entity_id=model_id,
                at=now,
                before={"version": old, "lines": sorted(stored[model_id])},
                after={"version": version, "effective": as_of, "lines": sorted(lines)},
            )
        line_rows.extend(
            (firm, model_id, version, s, i, tg, lo, hi) for i, (s, tg, lo, hi) in enumerate(lines)
        )
        if old is None:
            conn.execute(
                insert(t.models).values(firm_id=firm, model_id=model_id, current_version=1)
            )
        else:
            conn.execute(
                update(t.models)
                .where(t.models.c.firm_id == firm, t.models.c.model_id == model_id)
                .values(current_version=version)
            )
    uow.bulk_insert(
        t.model_versions, ("firm_id", "model_id", "version", "effective", "cash_pct"), version_rows
    )
    uow.bulk_insert(
        t.model_lines,
        ("firm_id", "model_id", "version", "symbol", "line", "target_pct", "min_pct", "max_pct"),
        line_rows,
    )
    first_versions = sum(1 for r in version_rows if r[2] == 1)
    return versions, len(version_rows) - first_versions


def _accounts(
    uow: UnitOfWork,
    actor: str,
    as_of: date,
    accounts: pa.Table,
    labels: dict[str, str],
    versions: dict[str, int],
    now: datetime,
) -> int:
    conn, firm = uow.conn, uow.firm_id
    existing = {
        row.account_id: row
        for row in conn.execute(
            select(
                t.accounts.c.account_id,
                t.accounts.c.household_id,
                t.accounts.c.registration,
                t.accounts.c.model_id,
            ).where(t.accounts.c.firm_id == firm)
        )
    }
    switch: dict[str, bool] = {}
    for row in conn.execute(
        select(t.rebalancing_changes.c.account_id, t.rebalancing_changes.c.rebalancing)
        .where(t.rebalancing_changes.c.firm_id == firm)
        .order_by(t.rebalancing_changes.c.change_id)
    ):
        switch[row.account_id] = bool(row.rebalancing)
    previous_date = conn.execute(
        select(func.max(t.imports.c.as_of)).where(
            t.imports.c.firm_id == firm, t.imports.c.as_of < as_of
        )
    ).scalar()
    book_said: dict[str, bool] = {
        row.account_id: bool(row.rebalancing)
        for row in conn.execute(
            select(t.account_days.c.account_id, t.account_days.c.rebalancing).where(
                t.account_days.c.firm_id == firm, t.account_days.c.as_of == previous_date
            )
        )
    }
    households = set(
        conn.execute(
            select(t.households.c.household_id).where(t.households.c.firm_id == firm)
        ).scalars()
    )
    ids = _col(accounts, "account_id")
    cash = to_decimals(_col(accounts, "cash"), label=labels["accounts"], column="cash", scale=6)
    model = _col(accounts, "model_id")
    household = _col(accounts, "household_id")
    registration = _col(accounts, "registration")
    rebalancing = _col(accounts, "rebalancing")
    new_accounts = []
    new_households = []
    updates = []
    changes = []
    day_rows = []
    audits = []
    for a, c, m, h, r, rb in zip(
        ids, cash, model, household, registration, rebalancing, strict=True
    ):
        m = m or None  # none: the account's target is in its sleeves
        h = h or None
        r = r or "non_qualified"
        if h is not None and h not in households:
            households.add(h)
            new_households.append((firm, h))
        old = existing.get(a)
        before_switch = switch.get(a)
        on = _switch(rb, book_said.get(a), before_switch)
        if old is None:
            new_accounts.append((firm, a, h, r, on, m, as_of))
        elif (old.household_id, old.registration, old.model_id) != (h, r, m):
            updates.append(
                {
                    "b_account": a,
                    "household_id": h,
                    "registration": r,
                    "model_id": m,
                    "rebalancing": on,
                }
            )
            audits.append(
                (
                    a,
                    {
                        "household_id": old.household_id,
                        "registration": old.registration,
                        "model_id": old.model_id,
                    },
                    {"household_id": h, "registration": r, "model_id": m},
                )
            )
        if before_switch is None or before_switch != on:
            changes.append((firm, a, as_of, now, on, actor, as_of))
            if old is not None and before_switch is not None:
                updates.append(
                    {
                        "b_account": a,
                        "household_id": h,
                        "registration": r,
                        "model_id": m,
                        "rebalancing": on,
                    }
                )
                audits.append((a, {"rebalancing": before_switch}, {"rebalancing": on}))
        day_rows.append(
            (firm, as_of, a, m, versions.get(m) if m else None, c, on if rb is None else rb)
        )
    uow.bulk_insert(t.households, ("firm_id", "household_id"), new_households)
    uow.bulk_insert(
        t.accounts,
        (
            "firm_id",
            "account_id",
            "household_id",
            "registration",
            "rebalancing",
            "model_id",
            "first_seen",
        ),
        new_accounts,
    )
    if updates:
        conn.execute(
            update(t.accounts)
            .where(t.accounts.c.firm_id == firm, t.accounts.c.account_id == bindparam("b_account"))
            .values(
                household_id=bindparam("household_id"),
                registration=bindparam("registration"),
                model_id=bindparam("model_id"),
                rebalancing=bindparam("rebalancing"),
            ),
            updates,
        )
    uow.bulk_insert(
        t.rebalancing_changes,
        (
            "firm_id",
            "account_id",
            "effective",
            "changed_at",
            "rebalancing",
            "changed_by",
            "import_date",
        ),
        changes,
    )
    uow.bulk_insert(
        t.account_days,
        ("firm_id", "as_of", "account_id", "model_id", "model_version", "cash", "rebalancing"),
        day_rows,
    )
    for account_id, before, after in audits:
        uow.audit(
            actor=actor,
            action="import_update",
            entity="account",
            entity_id=account_id,
            at=now,
            before=before,
            after=after,
        )
    return len(day_rows)


def _lot_methods(
    uow: UnitOfWork, actor: str, accounts: pa.Table, label: str, now: datetime
) -> None:
    """Set each account's lot relief method where the book gives one (an empty value keeps
    the stored method), with an audit entry per change."""
    if "lot_method" not in accounts.column_names:
        return
    wanted: dict[str, str] = {}
    for i, (a, m) in enumerate(
        zip(_col(accounts, "account_id"), _col(accounts, "lot_method"), strict=True)
    ):
        if m == "specific_lots":
            raise BookError(
                f"{label} row {i + 1} column lot_method",
                "specific_lots is not supported by the service yet: use fifo, lifo, hifo or "
                "minimum_tax",
            )
        if m:
            wanted[a] = m
    if not wanted:
        return
    stored = {
        r.account_id: r.lot_method
        for r in uow.conn.execute(
            select(t.accounts.c.account_id, t.accounts.c.lot_method).where(
                t.accounts.c.firm_id == uow.firm_id
            )
        )
    }
    changed = [(a, stored[a], m) for a, m in wanted.items() if stored.get(a) != m]
    if not changed:
        return
    uow.conn.execute(
        update(t.accounts)
        .where(
            t.accounts.c.firm_id == uow.firm_id, t.accounts.c.account_id == bindparam("b_account")
        )
        .values(lot_method=bindparam("b_method")),
        [{"b_account": a, "b_method": m} for a, _, m in changed],
    )
    for a, before, after in changed:
        uow.audit(
            actor=actor,
            action="import_update",
            entity="account",
            entity_id=a,
            at=now,
            before={"lot_method": before},
            after={"lot_method": after},
        )


def _switch(book: bool | None, book_before: bool | None, current: bool | None) -> bool:
    """The rebalancing switch after an import.

    The book's ``rebalancing`` value applies when the account is new to the books or the
    book changed it since the previous date; otherwise the stored switch, which a user may
    have changed with ``trimtab account set``, stands.
    """
    if current is None:
        return book is not False
    if book is None or book == book_before:
        return current
    return book


def _positions(
    uow: UnitOfWork, as_of: date, tables: dict[str, pa.Table], labels: dict[str, str]
) -> int:
    """Positions as given, except that the sum of the lots replaces the keys lots cover."""
    keys = ["account_id", "symbol"]
    positions = tables["positions"].select([*keys, "quantity"])
    number_texts(positions, "quantity", label=labels["positions"], scale=8)
    if "lots" in tables:
        lots = tables["lots"].select([*keys, "quantity"])
        number_texts(lots, "quantity", label=labels["lots"], scale=8)
        lots = lots.cast(
            pa.schema(
                [("account_id", pa.string()), ("symbol", pa.string()), ("quantity", pa.float64())]
            )
        )
        summed = lots.group_by(keys).aggregate([("quantity", "sum")])
        # each lot has at most 8 decimals, so the exact sum does too: round away float noise
        summed = pa.table(
            {
                "account_id": summed.column("account_id"),
                "symbol": summed.column("symbol"),
                "quantity": np.round(summed.column("quantity_sum").to_numpy(), 8),
            }
        )
        plain = positions.cast(summed.schema)
        kept = plain.join(summed.select(keys), keys=keys, join_type="left anti")
        positions = pa.concat_tables([kept.select([*keys, "quantity"]), summed])
    n = len(positions)
    columns = (
        [uow.firm_id] * n,
        [as_of.isoformat()] * n,
        _col(positions, "account_id"),
        _col(positions, "symbol"),
        number_texts(positions, "quantity", label=labels["positions"], scale=8),
    )
    return uow.bulk_insert(
        t.positions,
        ("firm_id", "as_of", "account_id", "symbol", "quantity"),
        zip(*columns, strict=True),
        encoded=True,
    )


def _lots(uow: UnitOfWork, as_of: date, lots: pa.Table, label: str) -> int:
    n = len(lots)
    columns = (
        [uow.firm_id] * n,
        [as_of.isoformat()] * n,
        range(1, n + 1),
        _col(lots, "account_id"),
        _col(lots, "symbol"),
        number_texts(lots, "quantity", label=label, scale=8),
        number_texts(lots, "cost_basis", label=label, scale=6),
        lots.column("acquired").cast(pa.string()).to_numpy(zero_copy_only=False).tolist(),
        [v or None for v in _col(lots, "lot_id")],  # an empty CSV field is no id
    )
    return uow.bulk_insert(
        t.lots,
        (
            "firm_id",
            "as_of",
            "row",
            "account_id",
            "symbol",
            "quantity",
            "cost_basis",
            "acquired",
            "lot_id",
        ),
        zip(*columns, strict=True),
        encoded=True,
    )
