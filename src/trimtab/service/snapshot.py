"""The stored book of one date laid out for the core engine (:class:`BookArrays`).

Rows are read with a few set-based queries and turned into numpy arrays; all arithmetic on
them happens in :mod:`trimtab.core`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import ColumnElement, Float, Select, cast, or_, select

from trimtab.core.book import BookArrays, assemble_book
from trimtab.errors import NotFoundError
from trimtab.store import holdings
from trimtab.store import tables as t
from trimtab.store.columns import floats, read_table
from trimtab.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Accounts of one date and the names behind the engine's codes.

    Attributes:
        as_of: the book date.
        arrays: the accounts laid out for the engine (account code = index in ``account_ids``).
        account_ids: account id per account code.
        symbols: symbol per symbol code (sorted).
        sub_asset_class: sub-asset class code per symbol code, -1 when unknown.
        sub_asset_classes: name per sub-asset class code.
        model_ids, model_versions: the (model, version) per account, (N,).
        rebalancing: rebalancing switch per account on that date, (N,).
    """

    as_of: date
    arrays: BookArrays
    account_ids: list[str]
    symbols: list[str]
    sub_asset_class: npt.NDArray[np.int32]
    sub_asset_classes: list[str]
    model_ids: list[str | None]
    model_versions: list[int | None]
    rebalancing: npt.NDArray[np.bool_]


_ACCOUNTS = pa.schema(
    [
        ("account_id", pa.string()),
        ("model_id", pa.string()),
        ("model_version", pa.int64()),
        ("cash", pa.float64()),
        ("rebalancing", pa.bool_()),
    ]
)


def _accounts_query(
    uow: UnitOfWork, as_of: date, account_ids: Sequence[str] | None, sleeved: Collection[str]
) -> Select:  # type: ignore[type-arg]
    has_target: ColumnElement[bool] = t.account_days.c.model_id.is_not(None)
    if sleeved:
        has_target = or_(has_target, t.account_days.c.account_id.in_(sorted(sleeved)))
    q = select(
        t.account_days.c.account_id,
        t.account_days.c.model_id,
        t.account_days.c.model_version,
        cast(t.account_days.c.cash, Float).label("cash"),
        t.account_days.c.rebalancing,
    ).where(
        t.account_days.c.firm_id == uow.firm_id,
        t.account_days.c.as_of == as_of,
        has_target,
    )
    if account_ids is not None:
        q = q.where(t.account_days.c.account_id.in_(list(account_ids)))
    return q


@dataclass(frozen=True, slots=True)
class SnapshotTables:
    """What a :class:`Snapshot` is laid out from, as read from the store.

    Attributes:
        prices: ``symbol``, ``price`` and ``sub_asset_class`` of every security priced on
            the date, by symbol.
        accounts: the accounts' ``account_id``, ``model_id``, ``model_version``, ``cash``
            and ``rebalancing`` on the date, by account id.
        model_lines: the lines of the (model, version) pairs the accounts follow
            (``model_id``, ``version``, ``symbol``, ``target_pct``, ``min_pct``,
            ``max_pct``), by model, version and line.
        positions: the accounts' positions as stored (:mod:`trimtab.store.holdings`).
    """

    prices: pa.Table
    accounts: pa.Table
    model_lines: pa.Table
    positions: pa.Table


PRICES = pa.schema(
    [("symbol", pa.string()), ("price", pa.float64()), ("sub_asset_class", pa.string())]
)
MODEL_LINES = pa.schema(
    [
        ("model_id", pa.string()),
        ("version", pa.int64()),
        ("symbol", pa.string()),
        ("target_pct", pa.float64()),
        ("min_pct", pa.float64()),
        ("max_pct", pa.float64()),
    ]
)


def load_snapshot(
    uow: UnitOfWork,
    *,
    as_of: date,
    account_ids: Sequence[str] | None = None,
    sleeved: Collection[str] = (),
) -> Snapshot:
    """The book of ``as_of`` for ``account_ids`` (every account with a target when ``None``).

    ``sleeved`` accounts, whose target is in their sleeves (no model), are laid out with an
    empty model (their holdings only): :func:`trimtab.io.book_sleeves.lay_out_sleeves`
    lays their target on.

    Raises :class:`NotFoundError` when no book was imported for ``as_of``.
    """
    tables = snapshot_tables(uow, as_of=as_of, account_ids=account_ids, sleeved=sleeved)
    return snapshot_of(as_of, tables)


def snapshot_tables(
    uow: UnitOfWork,
    *,
    as_of: date,
    account_ids: Sequence[str] | None = None,
    sleeved: Collection[str] = (),
) -> SnapshotTables:
    """What :func:`load_snapshot` lays out, read from the store (same arguments)."""
    conn, firm = uow.conn, uow.firm_id
    price_rows = conn.execute(
        select(t.prices.c.symbol, t.prices.c.price, t.securities.c.sub_asset_class)
        .join(
            t.securities,
            (t.securities.c.firm_id == t.prices.c.firm_id)
            & (t.securities.c.symbol == t.prices.c.symbol),
        )
        .where(t.prices.c.firm_id == firm, t.prices.c.as_of == as_of)
    ).all()
    price_rows = sorted(price_rows, key=lambda r: r.symbol)
    if not price_rows:
        raise NotFoundError(f"no book imported for {as_of}")
    prices = pa.table(
        [
            pa.array([r.symbol for r in price_rows], pa.string()),
            pa.array([float(r.price) for r in price_rows], pa.float64()),
            pa.array([r.sub_asset_class for r in price_rows], pa.string()),
        ],
        schema=PRICES,
    )
    # sorted here, not by the database: its collation need not be code-point order
    accounts = read_table(
        uow.conn, _accounts_query(uow, as_of, account_ids, sleeved), _ACCOUNTS
    ).sort_by("account_id")
    ids = accounts["account_id"].to_pylist()
    pairs = set(
        zip(accounts["model_id"].to_pylist(), accounts["model_version"].to_pylist(), strict=True)
    )
    wanted = sorted({m for m, _ in pairs if m is not None})
    lines = [
        r
        for r in conn.execute(
            select(t.model_lines)
            .where(t.model_lines.c.firm_id == firm, t.model_lines.c.model_id.in_(wanted))
            .order_by(t.model_lines.c.model_id, t.model_lines.c.version, t.model_lines.c.line)
        )
        if (r.model_id, r.version) in pairs
    ]
    model_lines = pa.table(
        [
            pa.array([r.model_id for r in lines], pa.string()),
            pa.array([r.version for r in lines], pa.int64()),
            pa.array([r.symbol for r in lines], pa.string()),
            *(
                pa.array([float(getattr(r, c)) for r in lines], pa.float64())
                for c in ("target_pct", "min_pct", "max_pct")
            ),
        ],
        schema=MODEL_LINES,
    )
    if account_ids is None:
        held = holdings.read(uow, as_of=as_of, kind="positions")
    else:
        held = holdings.of_accounts(uow, as_of=as_of, kind="positions", account_ids=ids)
    return SnapshotTables(prices=prices, accounts=accounts, model_lines=model_lines, positions=held)


def snapshot_of(as_of: date, tables: SnapshotTables) -> Snapshot:
    """The snapshot of ``as_of`` laid out from ``tables`` (no database involved)."""
    symbols = tables.prices["symbol"].to_pylist()
    code = {s: i for i, s in enumerate(symbols)}
    price = np.asarray(tables.prices["price"].to_numpy(), dtype=np.float64)
    class_of = tables.prices["sub_asset_class"].to_pylist()
    classes = sorted({c for c in class_of if c})
    class_code = {c: i for i, c in enumerate(classes)}
    sub_asset_class = np.array([class_code.get(c, -1) for c in class_of], dtype=np.int32)

    accounts = tables.accounts
    ids = accounts["account_id"].to_pylist()
    model_ids = accounts["model_id"].to_pylist()
    model_versions = accounts["model_version"].to_pylist()
    pairs = list(zip(model_ids, model_versions, strict=True))
    keys = sorted({p for p in pairs if p[0] is not None})
    if any(m is None for m in model_ids):
        keys.append((None, None))  # the empty model, last
    key_code = {k: i for i, k in enumerate(keys)}
    lines: dict[tuple[str, int], list[tuple[int, float, float, float]]] = {k: [] for k in keys}
    for r in tables.model_lines.to_pylist():
        key = (r["model_id"], r["version"])
        if key in lines:
            lines[key].append((code[r["symbol"]], r["target_pct"], r["min_pct"], r["max_pct"]))
    width = max([len(v) for v in lines.values()] + [1])
    m = len(keys)
    model_symbol = np.full((m, width), -1, dtype=np.int32)
    target, lower, upper = (np.zeros((m, width)) for _ in range(3))
    for k, key in enumerate(keys):
        for j, (s, tg, lo, hi) in enumerate(lines[key]):
            model_symbol[k, j] = s
            target[k, j], lower[k, j], upper[k, j] = tg / 100.0, lo / 100.0, hi / 100.0
    model_cash = np.clip(1.0 - target.sum(axis=1), 0.0, 1.0)

    pos_account, pos_symbol, pos_qty = _positions(tables.positions, ids, symbols)
    arrays = assemble_book(
        price=price,
        model_symbol=model_symbol,
        model_target=target,
        model_lower=lower,
        model_upper=upper,
        model_cash=model_cash,
        account_model=np.array([key_code[p] for p in pairs], dtype=np.int32),
        cash=np.asarray(accounts["cash"].to_numpy(), dtype=np.float64),
        position_account=pos_account,
        position_symbol=pos_symbol,
        position_quantity=pos_qty,
    )
    return Snapshot(
        as_of=as_of,
        arrays=arrays,
        account_ids=ids,
        symbols=symbols,
        sub_asset_class=sub_asset_class,
        sub_asset_classes=classes,
        model_ids=model_ids,
        model_versions=model_versions,
        rebalancing=np.asarray(accounts["rebalancing"].to_numpy(zero_copy_only=False), dtype=bool),
    )


def _positions(
    held: pa.Table, account_ids: list[str], symbols: list[str]
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.float64]]:
    """(account code, symbol code, shares) of each position, dropping accounts and symbols
    not in the lists; column by column, without a Python turn per row."""
    acc = pc.index_in(held.column("account_id"), value_set=pa.array(account_ids, pa.string()))
    sym = pc.index_in(held.column("symbol"), value_set=pa.array(symbols, pa.string()))
    keep = np.asarray(pc.and_(acc.is_valid(), sym.is_valid()))
    return (
        np.asarray(pc.fill_null(acc, -1)).astype(np.int32)[keep],
        np.asarray(pc.fill_null(sym, -1)).astype(np.int32)[keep],
        floats(held.column("quantity"))[keep],
    )


def latest_book_date(uow: UnitOfWork) -> date:
    """The newest imported book date. Raises :class:`NotFoundError` when there is none."""
    from sqlalchemy import func

    day = uow.conn.execute(
        select(func.max(t.imports.c.as_of)).where(t.imports.c.firm_id == uow.firm_id)
    ).scalar()
    if day is None:
        raise NotFoundError("no book imported yet: run trimtab import first")
    assert isinstance(day, date)
    return day


def book_account_ids(
    uow: UnitOfWork, *, as_of: date, account_ids: Sequence[str], sleeved: Collection[str] = ()
) -> set[str]:
    """Those of ``account_ids`` that :func:`load_snapshot` lays out from the book of ``as_of``
    (in that book, with a target): the check without reading positions."""
    return {
        r.account_id for r in uow.conn.execute(_accounts_query(uow, as_of, account_ids, sleeved))
    }
