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
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import bindparam, delete, func, insert, select, update

from trimtab.errors import BookError, ConflictError
from trimtab.io.book import read_book
from trimtab.io.book_rules import RULE_SCHEMAS, RuleTables, book_slot_rules, rule_table
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
from trimtab.service.exact import exact_floats, number_texts, to_decimals
from trimtab.service.import_extras import STORED_RULES, import_rules, write_extra
from trimtab.service.sleeve_store import import_sleeves
from trimtab.store import holdings
from trimtab.store import tables as t
from trimtab.store.columns import MONEY, QUANTITY, decimals, read_table, write_table
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
    """A book folder read and validated: the core book's tables, its service tables, its rule
    tables (``restrictions``, ``locks``, ``transactions``, ``short_term_windows``, read as
    ``propose-book`` reads them), file names, and its sleeve tables (``sleeves``,
    ``apm_targets``, ``sleeve_positions``, checked as ``propose-book`` checks them)."""

    tables: dict[str, pa.Table]
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
    if "lots" in book.tables or any(table_path(folder, name) for name in RULE_SCHEMAS):
        # names the first bad row (without rule tables or lots there is nothing to check,
        # and laying out the slots' rules costs seconds and slot-sized masks at scale)
        book_slot_rules(folder, book, as_of=as_of or date.today())
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
    # the tables only: the engine's arrays served the checks, and a store import needs
    # none of them (at a million accounts they are a gigabyte and more)
    return BookFolder(
        tables=book.tables, extras=extras, labels=labels, rules=rules, sleeves=sleeves
    )


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
    """Write the book ``folder`` as the firm's data at ``as_of``: all or nothing.

    The holdings' documents are staged and committed first (:func:`holdings.stage`), so an
    interrupted import run again does not write them twice; everything else, the documents'
    record included, is one transaction. ``progress`` is told each stage (``"holdings"``,
    ``"securities and prices"``, ...) as it starts.

    Raises
    :class:`~trimtab.errors.BookError` for a value the store cannot hold exactly and
    :class:`~trimtab.errors.ConflictError` when a later date was imported already.
    """
    require_role(uow, user_id=actor, role="operator")
    every = {**folder.tables, **{n: e.table for n, e in folder.extras.items()}}
    every |= {n: table for n, (_, table) in folder.rules.items()}
    labels = {**folder.labels, **{n: e.label for n, e in folder.extras.items()}}
    check_dates(every, labels | {n: label for n, (label, _) in folder.rules.items()}, as_of)
    latest = uow.conn.execute(
        select(func.max(t.imports.c.as_of)).where(t.imports.c.firm_id == uow.firm_id)
    ).scalar()
    if latest is not None and latest > as_of:
        raise ConflictError(
            f"--date {as_of}: the book of {latest} is imported already; import dates in order"
        )
    tables, labels = folder.tables, folder.labels
    say = progress or (lambda stage: None)
    # the holdings' documents first, committed on their own: the slow part of an import,
    # not written again when an interrupted import is run again
    say("holdings")
    accounts = tables["accounts"].column("account_id").cast(pa.string()).combine_chunks()
    rows = {"positions": _positions(tables, labels)}
    if "lots" in tables:
        rows["lots"] = _lots(tables["lots"], labels["lots"])
    codes = {kind: _codes(accounts, table) for kind, table in rows.items()}
    part = _parts(tables, accounts, list(codes.values()))
    staged = []
    for kind in list(rows):
        table = _keyed(rows.pop(kind), accounts, codes[kind])
        staged.append(
            holdings.stage(uow, kind=kind, table=table, part=part[codes.pop(kind)], now=now)
        )
        del table
    try:
        summary = _write_date(
            uow, actor, as_of, folder, part, staged, now, say, replaced=latest == as_of
        )
        holdings.collect(uow, now)
        uow.commit()
    except Exception:
        uow.rollback()
        holdings.forget(uow, staged)
        raise
    return summary


def _write_date(
    uow: UnitOfWork,
    actor: str,
    as_of: date,
    folder: BookFolder,
    part: npt.NDArray[np.int32],
    staged: list[holdings.Staged],
    now: datetime,
    say: Callable[[str], None],
    *,
    replaced: bool,
) -> ImportSummary:
    """Everything of an import but its documents, in the import's transaction (not
    committed here): the date cleared, then written table by table, audited."""
    tables, extras, labels = folder.tables, folder.extras, folder.labels
    rows: dict[str, int] = {}
    _clear_date(uow, as_of)
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
    rows["accounts"] = _accounts(
        uow, actor, as_of, tables["accounts"], labels, versions, part, now, replaced=replaced
    )
    new["accounts"] = _count(uow, t.accounts) - known
    _lot_methods(uow, actor, tables["accounts"], labels["accounts"], now)
    for kind in staged:
        rows[kind.kind] = holdings.record(uow, as_of=as_of, staged=kind)
    for name, extra in extras.items():
        say(name)
        rows[name] = write_extra(uow, as_of, name, extra)
    rows.update(import_rules(uow, as_of, folder.rules))
    say("sleeves")
    rows.update(import_sleeves(uow, _col(tables["accounts"], "account_id"), folder.sleeves))
    uow.conn.execute(
        insert(t.imports).values(
            firm_id=uow.firm_id,
            as_of=as_of,
            imported_at=now,
            imported_by=actor,
            row_counts=json.dumps(rows, sort_keys=True),
        )
    )
    if uow.dialect == "postgresql":
        # fresh statistics, so that the planner sees the bulk-loaded rows
        for name in ("accounts", "account_days", "rebalancing_changes"):
            uow.conn.exec_driver_sql(f'ANALYZE "{name}"')
    uow.audit(
        actor=actor,
        action="reimport" if replaced else "import",
        entity="book",
        entity_id=as_of.isoformat(),
        at=now,
        after={"rows": rows, "new": new, "changed": changed, "new_model_versions": new_versions},
    )
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
    holdings.clear(uow, as_of)
    for name in t.DATED_TABLES:
        if name == "account_days":  # replaced row by row where it changed: _account_days
            continue
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


_EXISTING = pa.schema(
    [
        ("account_id", pa.string()),
        ("household_id", pa.string()),
        ("registration", pa.string()),
        ("model_id", pa.string()),
    ]
)
_SWITCHES = pa.schema([("account_id", pa.string()), ("rebalancing", pa.bool_())])
_CHANGES = pa.schema(
    [("account_id", pa.string()), ("change_id", pa.int64()), ("rebalancing", pa.bool_())]
)
_DAYS = pa.schema(
    [
        ("account_id", pa.string()),
        ("model_id", pa.string()),
        ("model_version", pa.int64()),
        ("cash", MONEY),
        ("rebalancing", pa.bool_()),
        ("part", pa.int32()),
    ]
)


def _texts(accounts: pa.Table, name: str, default: str | None = None) -> pa.Array:
    """A text column of the book's accounts, an empty value as none (or ``default``)."""
    n = len(accounts)
    if name not in accounts.column_names:
        col = pa.nulls(n, pa.string())
    else:
        col = accounts.column(name).cast(pa.string()).combine_chunks()
        col = pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)
    return pc.fill_null(col, default) if default is not None else col


def _switch_codes(table: pa.Table, ids: pa.Array) -> npt.NDArray[np.int8]:
    """The ``rebalancing`` of each of ``ids`` in ``table``: 1 on, 0 off, -1 none."""
    at = pc.index_in(ids, value_set=table.column("account_id"))
    on = table.column("rebalancing").cast(pa.int8()).combine_chunks().take(at)
    return np.asarray(pc.fill_null(on, -1).to_numpy(zero_copy_only=False), dtype=np.int8)


def _latest_switches(uow: UnitOfWork) -> pa.Table:
    """Each account's latest switch change (its greatest ``change_id``) as
    :data:`_SWITCHES`: every change read as it lies, the latest picked here (a query that
    groups by account and joins back costs the database seconds at a million accounts)."""
    c = t.rebalancing_changes.c
    changes = read_table(
        uow.conn,
        select(c.account_id, c.change_id, c.rebalancing).where(c.firm_id == uow.firm_id),
        _CHANGES,
    )
    newest_first = np.argsort(changes.column("change_id").to_numpy())[::-1]
    account = pc.dictionary_encode(changes.column("account_id")).combine_chunks().indices
    _, first = np.unique(np.asarray(account)[newest_first], return_index=True)
    return changes.take(pa.array(newest_first[first])).select(["account_id", "rebalancing"])


def _differs(a: pa.Array, b: pa.Array) -> npt.NDArray[np.bool_]:
    """Where two text columns differ, a missing value being a value of its own."""
    return np.asarray(pc.not_equal(pc.fill_null(a, "\x00"), pc.fill_null(b, "\x00")))


def _accounts(
    uow: UnitOfWork,
    actor: str,
    as_of: date,
    accounts: pa.Table,
    labels: dict[str, str],
    versions: dict[str, int],
    part: npt.NDArray[np.int32],
    now: datetime,
    *,
    replaced: bool,
) -> int:
    """Create and update the book's accounts, switch rebalancing as the book says
    (:func:`_switch`), and store each account's day (cash, target, part:
    :func:`_account_days`); column by column, with a Python turn only for the accounts that
    changed."""
    conn, firm = uow.conn, uow.firm_id
    a, d = t.accounts.c, t.account_days.c
    n = len(accounts)
    ids = accounts.column("account_id").cast(pa.string()).combine_chunks()
    cash = exact_floats(accounts, "cash", label=labels["accounts"], scale=6)
    model, household = _texts(accounts, "model_id"), _texts(accounts, "household_id")
    registration = _texts(accounts, "registration", "non_qualified")
    book = (
        np.asarray(
            pc.fill_null(accounts.column("rebalancing").cast(pa.int8()), -1).to_numpy(
                zero_copy_only=False
            ),
            dtype=np.int8,
        )
        if "rebalancing" in accounts.column_names
        else np.full(n, -1, dtype=np.int8)
    )
    query = select(a.account_id, a.household_id, a.registration, a.model_id).where(
        a.firm_id == firm
    )
    if uow.dialect == "sqlite":  # its primary key, not the model index it picks without
        query = query.order_by(a.account_id)  # statistics (a table lookup per row)
    existing = read_table(conn, query, _EXISTING)
    at = pc.index_in(ids, value_set=existing.column("account_id"))
    old = np.asarray(at.is_valid())
    current = _switch_codes(_latest_switches(uow), ids)
    previous_date = conn.execute(
        select(func.max(t.imports.c.as_of)).where(
            t.imports.c.firm_id == firm, t.imports.c.as_of < as_of
        )
    ).scalar()
    said = _switch_codes(
        read_table(
            conn,
            select(d.account_id, d.rebalancing).where(d.firm_id == firm, d.as_of == previous_date),
            _SWITCHES,
        ),
        ids,
    )
    # _switch, column by column
    keeps = (book == -1) | (book == said)
    on = np.where(current == -1, book != 0, np.where(keeps, current == 1, book == 1))
    switched = (current == -1) | (current != on)
    before = {
        name: existing.column(name).combine_chunks().take(at)
        for name in ("household_id", "registration", "model_id")
    }
    moved = old & (
        _differs(before["household_id"], household)
        | _differs(before["registration"], registration)
        | _differs(before["model_id"], model)
    )
    toggled = old & (current != -1) & switched

    stored_households = pa.array(
        conn.execute(select(t.households.c.household_id).where(t.households.c.firm_id == firm))
        .scalars()
        .all(),
        pa.string(),
    )
    named = pc.unique(household.drop_null())
    new_households = named.filter(pc.invert(pc.is_in(named, value_set=stored_households)))
    write_table(
        conn,
        t.households,
        pa.table(
            {
                "firm_id": pa.array([firm] * len(new_households), pa.string()),
                "household_id": new_households,
            }
        ),
    )
    fresh = pa.array(~old)
    write_table(
        conn,
        t.accounts,
        pa.table(
            {
                "account_id": ids,
                "household_id": household,
                "registration": registration,
                "rebalancing": pa.array(on),
                "model_id": model,
            }
        )
        .filter(fresh)
        .add_column(0, "firm_id", pa.array([firm] * int((~old).sum()), pa.string()))
        .append_column("first_seen", pa.array([as_of] * int((~old).sum()), pa.date32())),
    )
    changed = np.flatnonzero(moved | toggled)
    if changed.size:
        conn.execute(
            update(t.accounts)
            .where(a.firm_id == firm, a.account_id == bindparam("b_account"))
            .values(
                household_id=bindparam("household_id"),
                registration=bindparam("registration"),
                model_id=bindparam("model_id"),
                rebalancing=bindparam("rebalancing"),
            ),
            [
                {
                    "b_account": ids[i].as_py(),
                    "household_id": household[i].as_py(),
                    "registration": registration[i].as_py(),
                    "model_id": model[i].as_py(),
                    "rebalancing": bool(on[i]),
                }
                for i in changed.tolist()
            ],
        )
    for i in changed.tolist():
        if moved[i]:
            uow.audit(
                actor=actor,
                action="import_update",
                entity="account",
                entity_id=ids[i].as_py(),
                at=now,
                before={k: v[i].as_py() for k, v in before.items()},
                after={
                    "household_id": household[i].as_py(),
                    "registration": registration[i].as_py(),
                    "model_id": model[i].as_py(),
                },
            )
        if toggled[i]:
            uow.audit(
                actor=actor,
                action="import_update",
                entity="account",
                entity_id=ids[i].as_py(),
                at=now,
                before={"rebalancing": bool(current[i])},
                after={"rebalancing": bool(on[i])},
            )
    k = int(switched.sum())
    write_table(
        conn,
        t.rebalancing_changes,
        pa.table(
            {
                "firm_id": pa.array([firm] * k, pa.string()),
                "account_id": ids.filter(pa.array(switched)),
                "effective": pa.array([as_of] * k, pa.date32()),
                "changed_at": pa.array([now] * k, pa.timestamp("us", tz="UTC")),
                "rebalancing": pa.array(on[switched]),
                "changed_by": pa.array([actor] * k, pa.string()),
                "import_date": pa.array([as_of] * k, pa.date32()),
            }
        ),
    )
    names = pa.array(sorted(versions), pa.string())
    version = pa.array([versions[m] for m in names.to_pylist()], pa.int64()).take(
        pc.index_in(model, value_set=names)
    )
    days = pa.table(
        {
            "firm_id": pa.array([firm] * n, pa.string()),
            "as_of": pa.array([as_of] * n, pa.date32()),
            "account_id": ids,
            "model_id": model,
            "model_version": version,
            "cash": decimals(cash, MONEY),
            "rebalancing": pa.array(np.where(book == -1, on, book == 1)),
            "part": pa.array(part, pa.int32()),
        }
    )
    _account_days(uow, as_of, days, replaced=replaced)
    return n


def _account_days(uow: UnitOfWork, as_of: date, days: pa.Table, *, replaced: bool) -> None:
    """Make ``days`` the rows of ``as_of`` in ``account_days``. A date imported again
    (``replaced``) keeps the rows it holds that are the same, and writes only the others:
    the same accounts' days write nothing, where deleting and writing again a million rows
    would cost each of them its index entry twice."""
    d = t.account_days.c
    stored = (
        read_table(
            uow.conn,
            select(d.account_id, d.model_id, d.model_version, d.cash, d.rebalancing, d.part).where(
                d.firm_id == uow.firm_id, d.as_of == as_of
            ),
            _DAYS,
        )
        if replaced
        else _DAYS.empty_table()
    )
    if not len(stored):
        write_table(uow.conn, t.account_days, days)
        return
    at = pc.index_in(days.column("account_id"), value_set=stored.column("account_id"))
    same = at.is_valid()
    for name in _DAYS.names[1:]:
        mine, theirs = days.column(name), stored.column(name).take(at)
        # equal values, or none on both sides
        equal = pc.fill_null(pc.equal(mine, theirs), pc.and_(mine.is_null(), theirs.is_null()))
        same = pc.and_(same, equal)
    # the rows that are not the same any more: changed, or of an account not in this book
    kept = pc.is_in(stored.column("account_id"), value_set=days.column("account_id").filter(same))
    stale = stored.column("account_id").filter(pc.invert(kept))
    for start in range(0, len(stale), 1000):
        uow.conn.execute(
            delete(t.account_days).where(
                d.firm_id == uow.firm_id,
                d.as_of == as_of,
                d.account_id.in_(stale.slice(start, 1000).to_pylist()),
            )
        )
    write_table(uow.conn, t.account_days, days.filter(pc.invert(same)))


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


def _positions(tables: dict[str, pa.Table], labels: dict[str, str]) -> pa.Table:
    """Positions as given, except that the sum of the lots replaces the keys lots cover;
    quantities as exact decimals (symbols as the book gives them, texts or a dictionary of
    them, when no lot replaces a position)."""
    keys = ["account_id", "symbol"]
    positions = tables["positions"].select([*keys, "quantity"])
    exact_floats(positions, "quantity", label=labels["positions"], scale=8)
    positions = pa.table(
        {
            "account_id": positions.column("account_id").cast(pa.string()),
            "symbol": positions.column("symbol"),
            "quantity": positions.column("quantity").cast(pa.float64()),
        }
    )
    if "lots" in tables:
        plain = pa.schema(
            [("account_id", pa.string()), ("symbol", pa.string()), ("quantity", pa.float64())]
        )
        positions = positions.cast(plain)
        lots = tables["lots"].select([*keys, "quantity"])
        exact_floats(lots, "quantity", label=labels["lots"], scale=8)
        summed = lots.cast(plain).group_by(keys).aggregate([("quantity", "sum")])
        # each lot has at most 8 decimals, so the exact sum does too: round away float noise
        summed = pa.table(
            {
                "account_id": summed.column("account_id"),
                "symbol": summed.column("symbol"),
                "quantity": np.round(summed.column("quantity_sum").to_numpy(), 8),
            }
        )
        kept = positions.join(summed.select(keys), keys=keys, join_type="left anti")
        positions = pa.concat_tables([kept.select([*keys, "quantity"]), summed])
    return positions.set_column(2, "quantity", decimals(positions.column("quantity"), QUANTITY))


def _lots(lots: pa.Table, label: str) -> pa.Table:
    """The book's lots in its order (``row`` from 1), amounts as exact decimals."""
    quantity = exact_floats(lots, "quantity", label=label, scale=8)
    basis = exact_floats(lots, "cost_basis", label=label, scale=6)
    lot_id = lots.column("lot_id").cast(pa.string()) if "lot_id" in lots.column_names else None
    return pa.table(
        {
            "row": pa.array(np.arange(1, len(lots) + 1), pa.int64()),
            "account_id": lots.column("account_id").cast(pa.string()),
            "symbol": lots.column("symbol").cast(pa.string()),
            "quantity": decimals(quantity, QUANTITY),
            "cost_basis": decimals(basis.fill_null(0.0), MONEY, null=np.asarray(basis.is_null())),
            "acquired": lots.column("acquired").cast(pa.date32()),
            # an empty CSV field is no id
            "lot_id": pa.nulls(len(lots), pa.string())
            if lot_id is None
            else pc.if_else(pc.equal(lot_id, ""), pa.scalar(None, pa.string()), lot_id),
        }
    )


def _codes(accounts: pa.Array, rows: pa.Table) -> npt.NDArray[np.int32]:
    """The book account of each of ``rows``: its index in ``accounts`` (the book's checks
    made sure every holding's account is one of them)."""
    code = pc.index_in(rows.column("account_id").cast(pa.string()), value_set=accounts)
    found: npt.NDArray[np.int32] = np.asarray(code.to_numpy(zero_copy_only=False), np.int32)
    return found


def _parts(
    tables: dict[str, pa.Table], accounts: pa.Array, codes: list[npt.NDArray[np.int32]]
) -> npt.NDArray[np.int32]:
    """Each book account's part of the date's holdings (:func:`holdings.assign_parts`),
    sized by its positions and lots (their accounts' ``codes``)."""
    rows = np.zeros(len(accounts), dtype=np.int64)
    for code in codes:
        rows += np.bincount(code, minlength=len(accounts)).astype(np.int64)
    households = (
        tables["accounts"].column("household_id").cast(pa.string())
        if "household_id" in tables["accounts"].column_names
        else pa.nulls(len(accounts), pa.string())
    )
    households = pc.if_else(pc.equal(households, ""), pa.scalar(None, pa.string()), households)
    return holdings.assign_parts(accounts, households, rows)


def _keyed(rows: pa.Table, accounts: pa.Array, code: npt.NDArray[np.int32]) -> pa.Table:
    """``rows`` with their accounts and symbols as dictionaries and every column in one
    piece: a part's rows are then taken as integers, and sorted by ranks of a few
    distinct values (:func:`holdings.staging_order`); its document holds the texts."""
    symbols = rows.column("symbol")
    if pa.types.is_dictionary(symbols.type):
        symbols = symbols.unify_dictionaries()
    else:
        symbols = pc.dictionary_encode(symbols.cast(pa.string()))
    rows = rows.set_column(
        rows.schema.get_field_index("account_id"),
        "account_id",
        pa.DictionaryArray.from_arrays(pa.array(code, pa.int32()), accounts),
    )
    rows = rows.set_column(
        rows.schema.get_field_index("symbol"), "symbol", symbols.combine_chunks()
    )
    return rows.combine_chunks()
