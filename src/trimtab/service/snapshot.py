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
from trimtab.store.among import among
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
        has_target = or_(has_target, among(t.account_days.c.account_id, sorted(sleeved)))
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
        q = q.where(among(t.account_days.c.account_id, account_ids))
    return q


@dataclass(frozen=True, slots=True)
class SnapshotTables:
    """What a :class:`Snapshot` is laid out from, as read from the store.

    Attributes:
        prices: ``symbol``, ``price`` and ``sub_asset_class`` of every security priced on
            the date, by symbol (:data:`PRICES`).
        accounts: the accounts' ``account_id``, ``model_id``, ``model_version``, ``cash``
            and ``rebalancing`` on the date, by account id.
        model_lines: the lines of the (model, version) pairs the accounts follow
            (:data:`MODEL_LINES`), by model, version and line.
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
    prices = read_prices(uow, as_of)
    # sorted here, not by the database: its collation need not be code-point order
    accounts = read_table(
        uow.conn, _accounts_query(uow, as_of, account_ids, sleeved), _ACCOUNTS
    ).sort_by("account_id")
    ids = accounts["account_id"].to_pylist()
    pairs = zip(
        accounts["model_id"].to_pylist(), accounts["model_version"].to_pylist(), strict=True
    )
    if account_ids is None:
        held = holdings.read(uow, as_of=as_of, kind="positions")
    else:
        held = holdings.of_accounts(uow, as_of=as_of, kind="positions", account_ids=ids)
    return SnapshotTables(
        prices=prices,
        accounts=accounts,
        model_lines=read_model_lines(uow, set(pairs)),
        positions=held,
    )


def snapshot_of(as_of: date, tables: SnapshotTables) -> Snapshot:
    """The snapshot of ``as_of`` laid out from ``tables`` (no database involved)."""
    securities = securities_of(tables.prices)
    symbols = securities.symbols
    accounts = tables.accounts
    ids = accounts["account_id"].to_pylist()
    model_ids = accounts["model_id"].to_pylist()
    model_versions = accounts["model_version"].to_pylist()
    pairs = list(zip(model_ids, model_versions, strict=True))
    models = models_of(pairs, tables.model_lines, symbols)
    key_code = {k: i for i, k in enumerate(models.keys)}
    pos_account, pos_symbol, pos_qty = _positions(tables.positions, ids, symbols)
    arrays = models.assemble(
        securities.price,
        np.array([key_code[p] for p in pairs], dtype=np.int32),
        np.asarray(accounts["cash"].to_numpy(), dtype=np.float64),
        pos_account,
        pos_symbol,
        pos_qty,
    )
    return Snapshot(
        as_of=as_of,
        arrays=arrays,
        account_ids=ids,
        symbols=symbols,
        sub_asset_class=securities.sub_asset_class,
        sub_asset_classes=securities.classes,
        model_ids=model_ids,
        model_versions=model_versions,
        rebalancing=np.asarray(accounts["rebalancing"].to_numpy(zero_copy_only=False), dtype=bool),
    )


@dataclass(frozen=True, slots=True)
class Securities:
    """The priced securities of a date, by symbol code (symbols sorted): price, and the
    code of the sub-asset class (-1 when unknown) among ``classes`` (sorted)."""

    symbols: list[str]
    price: npt.NDArray[np.float64]
    sub_asset_class: npt.NDArray[np.int32]
    classes: list[str]


def load_securities(uow: UnitOfWork, as_of: date) -> Securities:
    """The securities priced on ``as_of``. Raises :class:`NotFoundError` when there are none
    (no book imported for that date)."""
    return securities_of(read_prices(uow, as_of))


def read_prices(uow: UnitOfWork, as_of: date) -> pa.Table:
    """The securities priced on ``as_of`` (:data:`PRICES`), by symbol. Raises
    :class:`NotFoundError` when there are none (no book imported for that date)."""
    price_rows = uow.conn.execute(
        select(t.prices.c.symbol, t.prices.c.price, t.securities.c.sub_asset_class)
        .join(
            t.securities,
            (t.securities.c.firm_id == t.prices.c.firm_id)
            & (t.securities.c.symbol == t.prices.c.symbol),
        )
        .where(t.prices.c.firm_id == uow.firm_id, t.prices.c.as_of == as_of)
    ).all()
    price_rows = sorted(price_rows, key=lambda r: r.symbol)
    if not price_rows:
        raise NotFoundError(f"no book imported for {as_of}")
    return pa.table(
        [
            pa.array([r.symbol for r in price_rows], pa.string()),
            pa.array([float(r.price) for r in price_rows], pa.float64()),
            pa.array([r.sub_asset_class for r in price_rows], pa.string()),
        ],
        schema=PRICES,
    )


def securities_of(prices: pa.Table) -> Securities:
    """:class:`Securities` of a :data:`PRICES` table (no database involved)."""
    class_of = prices["sub_asset_class"].to_pylist()
    classes = sorted({c for c in class_of if c})
    class_code = {c: i for i, c in enumerate(classes)}
    return Securities(
        symbols=prices["symbol"].to_pylist(),
        price=np.asarray(prices["price"].to_numpy(), dtype=np.float64),
        sub_asset_class=np.array([class_code.get(c, -1) for c in class_of], dtype=np.int32),
        classes=classes,
    )


@dataclass(frozen=True, slots=True)
class ModelTables:
    """The engine's tables of some (model, version) targets: ``keys[m]`` is target code m
    (the empty model ``(None, None)`` last, when wanted); lines as fractions, (M, L)."""

    keys: list[tuple[str | None, int | None]]
    symbol: npt.NDArray[np.int32]
    target: npt.NDArray[np.float64]
    lower: npt.NDArray[np.float64]
    upper: npt.NDArray[np.float64]
    cash: npt.NDArray[np.float64]

    def assemble(
        self,
        price: npt.NDArray[np.float64],
        account_model: npt.NDArray[np.int32],
        cash: npt.NDArray[np.float64],
        position_account: npt.NDArray[np.int32],
        position_symbol: npt.NDArray[np.int32],
        position_quantity: npt.NDArray[np.float64],
    ) -> BookArrays:
        """Accounts on these targets (``account_model``: codes into :attr:`keys`) laid out
        for the engine (:func:`~trimtab.core.book.assemble_book`)."""
        return assemble_book(
            price=price,
            model_symbol=self.symbol,
            model_target=self.target,
            model_lower=self.lower,
            model_upper=self.upper,
            model_cash=self.cash,
            account_model=account_model,
            cash=cash,
            position_account=position_account,
            position_symbol=position_symbol,
            position_quantity=position_quantity,
        )


def load_models(
    uow: UnitOfWork,
    pairs: Collection[tuple[str | None, int | None]],
    symbols: Sequence[str],
) -> ModelTables:
    """The model tables of the (model, version) ``pairs`` (sorted; the empty model last
    when a pair has no model), lines in their order, symbols coded by their place in
    ``symbols`` (the date's, :attr:`Securities.symbols`)."""
    return models_of(pairs, read_model_lines(uow, pairs), symbols)


def read_model_lines(uow: UnitOfWork, pairs: Collection[tuple[str | None, int | None]]) -> pa.Table:
    """The lines of the (model, version) ``pairs`` (:data:`MODEL_LINES`), by model, version
    and line."""
    named = sorted({m for m, _ in pairs if m is not None})
    rows = []
    if named:
        wanted = set(pairs)
        rows = [
            r
            for r in uow.conn.execute(
                select(t.model_lines)
                .where(t.model_lines.c.firm_id == uow.firm_id, t.model_lines.c.model_id.in_(named))
                .order_by(t.model_lines.c.model_id, t.model_lines.c.version, t.model_lines.c.line)
            )
            if (r.model_id, r.version) in wanted
        ]
    return pa.table(
        [
            pa.array([r.model_id for r in rows], pa.string()),
            pa.array([r.version for r in rows], pa.int64()),
            pa.array([r.symbol for r in rows], pa.string()),
            *(
                pa.array([float(getattr(r, c)) for r in rows], pa.float64())
                for c in ("target_pct", "min_pct", "max_pct")
            ),
        ],
        schema=MODEL_LINES,
    )


def models_of(
    pairs: Collection[tuple[str | None, int | None]], lines: pa.Table, symbols: Sequence[str]
) -> ModelTables:
    """:func:`load_models` from the lines ``lines`` (:data:`MODEL_LINES`; no database
    involved)."""
    keys: list[tuple[str | None, int | None]] = sorted({p for p in pairs if p[0] is not None})
    if any(p[0] is None for p in pairs):
        keys.append((None, None))  # the empty model, last
    found: dict[tuple[str | None, int | None], list[tuple[int, float, float, float]]] = {
        k: [] for k in keys
    }
    code = {s: i for i, s in enumerate(symbols)}
    for r in lines.to_pylist():
        key = (r["model_id"], r["version"])
        if key in found:
            found[key].append((code[r["symbol"]], r["target_pct"], r["min_pct"], r["max_pct"]))
    width = max([len(v) for v in found.values()] + [1])
    m = len(keys)
    model_symbol = np.full((m, width), -1, dtype=np.int32)
    target, lower, upper = (np.zeros((m, width)) for _ in range(3))
    for k, key in enumerate(keys):
        for j, (s, tg, lo, hi) in enumerate(found[key]):
            model_symbol[k, j] = s
            target[k, j], lower[k, j], upper[k, j] = tg / 100.0, lo / 100.0, hi / 100.0
    return ModelTables(
        keys=keys,
        symbol=model_symbol,
        target=target,
        lower=lower,
        upper=upper,
        cash=np.clip(1.0 - target.sum(axis=1), 0.0, 1.0),
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
