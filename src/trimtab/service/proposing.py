"""A request's accounts as the proposing pipeline's partition, with their stored rules.

The stored rules are read back in the book format (:func:`~trimtab.service.rule_store.rule_tables`)
and laid on the accounts' slots exactly as ``propose-book`` lays a book's rule tables
(:func:`~trimtab.io.book_rules.lay_out_rules`), with the date's tax lots; the stored
sleeves are read back in the book format too (:func:`~trimtab.service.sleeve_store.sleeve_tables`)
and laid on as ``propose-book`` lays a book's sleeve tables
(:func:`~trimtab.io.book_sleeves.lay_out_sleeves`,
:func:`~trimtab.io.book_sleeve_rules.sleeve_rules`). So the same account with the same
rules and sleeves gets the same trades from ``trimtab propose``, ``propose-book`` and a
request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select

from trimtab.core.book import BookArrays, with_extra_slots
from trimtab.core.lots import METHOD_CODE, LotMethod, lots_on_slots
from trimtab.core.rules import SlotRules
from trimtab.errors import ConflictError
from trimtab.io.batch import BookRulesOn
from trimtab.io.book import LoadedBook
from trimtab.io.book_rules import RuleTables, lay_out_rules, read_book_rules
from trimtab.io.book_sleeve_rules import sleeve_rules
from trimtab.io.book_sleeves import BookSleeves, SleeveTables, lay_out_sleeves
from trimtab.pipeline import Partition
from trimtab.service.rule_store import rule_tables
from trimtab.service.sleeve_store import sleeve_models, sleeve_tables, sleeved_accounts
from trimtab.service.snapshot import Snapshot, SnapshotTables, snapshot_of, snapshot_tables
from trimtab.store import tables as t
from trimtab.store.among import among
from trimtab.store.holdings import of_accounts
from trimtab.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class RequestBook:
    """The accounts of a request laid out for the pipeline.

    Attributes:
        arrays: the snapshot's accounts, with zero-quantity slots for the substitutes and
            group members their restrictions may buy.
        partition: what the pipeline proposes from.
        household: household id per account (its own id when it has none), (N,).
        lot_ids: each lot's id (the book's, else ``#row``), by the partition's lot order.
        symbols: symbol per symbol code of ``arrays``: the snapshot's, then the APM twins
            (each named as its security).
        sleeves: the accounts' sleeves as laid out, ``None`` when none has any.
    """

    arrays: BookArrays
    partition: Partition
    household: list[str]
    lot_ids: tuple[str | None, ...]
    symbols: tuple[str, ...] = ()
    sleeves: BookSleeves | None = None

    def sleeve(self, code: int) -> str:
        """The sleeve of a line on symbol code ``code``: ``apm`` for an APM twin, else ``""``."""
        return "apm" if self.sleeves is not None and code >= self.sleeves.first_twin else ""


def _known(tables: RuleTables, symbols: Mapping[str, int]) -> dict[str, tuple[str, pa.Table]]:
    """The tables without rows that name a security the date has no price for (a
    restriction of a security no longer priced cannot act on that date)."""
    names = pa.array(list(symbols), pa.string())
    out = {}
    for name, (label, table) in tables.items():
        symbol = table.column("symbol")
        keep = pc.or_(pc.is_null(symbol), pc.is_in(symbol, value_set=names))  # null: no symbol
        if "substitute" in table.column_names:
            sub = table.column("substitute")
            keep = pc.and_(keep, pc.or_(pc.is_null(sub), pc.is_in(sub, value_set=names)))
        out[name] = (label, table.filter(keep))
    return out


def _lay_out(
    tables: RuleTables,
    arrays: BookArrays,
    *,
    account_code: Mapping[str, int],
    symbol_code: Mapping[str, int],
    trade_day: date,
    house: npt.NDArray[np.int64],
    qualified: npt.NDArray[np.bool_],
) -> tuple[SlotRules, list[tuple[int, int]]]:
    laid = lay_out_rules(
        tables,
        arrays,
        account_code=account_code,
        symbol_code=symbol_code,
        as_of=trade_day,
        house=house,
        qualified=qualified,
    )
    if laid is None:  # stored rules were checked at import: name the row all the same
        read_book_rules(tables, account_code=account_code, symbol_code=symbol_code, as_of=trade_day)
        raise ConflictError("the stored rules of these accounts cannot be laid out")
    return laid


class AccountRow(NamedTuple):
    """What the proposing needs of a stored account."""

    account_id: str
    household_id: str | None
    registration: str
    lot_method: str
    sweep_pct: float
    sweep_min_usd: float


ACCOUNTS = pa.schema(
    [
        ("account_id", pa.string()),
        ("household_id", pa.string()),
        ("registration", pa.string()),
        ("lot_method", pa.string()),
        ("sweep_pct", pa.float64()),
        ("sweep_min_usd", pa.float64()),
    ]
)
MATES = pa.schema([("account_id", pa.string()), ("household_id", pa.string())])


@dataclass(frozen=True, slots=True)
class RequestInputs:
    """Everything a request's proposals are computed from, read from the store once.

    :func:`request_book` lays them out without the database, so the same inputs always give
    the same book: a request keeps them (:mod:`trimtab.service.request_record`) and its
    proposal can be computed again from them alone.

    Attributes:
        as_of: the book date (prices, holdings and lots).
        trade_day: the day the rules are in force on (the request's Chicago date).
        snapshot: prices, the accounts' targets and cash, model lines and positions.
        accounts: the accounts' stored settings (:data:`ACCOUNTS`), by account id.
        mates: the other accounts of their households (:data:`MATES`), whose trades count
            for wash sales.
        rules: the stored rules in the book format (restrictions, locks, holds, windows,
            transactions).
        sleeves: the stored sleeves in the book format (empty when none).
        sleeve_models: the lines of the models the sleeves blend (``None`` without sleeves).
        lots: the accounts' tax lots as stored (:mod:`trimtab.store.holdings`).
    """

    as_of: date
    trade_day: date
    snapshot: SnapshotTables
    accounts: pa.Table
    mates: pa.Table
    rules: RuleTables
    sleeves: SleeveTables
    sleeve_models: pa.Table | None
    lots: pa.Table

    @property
    def account_ids(self) -> list[str]:
        """The accounts laid out (those of the book of :attr:`as_of` with a target)."""
        ids: list[str] = self.snapshot.accounts["account_id"].to_pylist()
        return ids

    def account_rows(self) -> dict[str, AccountRow]:
        """:attr:`accounts` as rows by account id."""
        return {r["account_id"]: AccountRow(**r) for r in self.accounts.to_pylist()}


def request_inputs(
    uow: UnitOfWork, *, as_of: date, account_ids: Sequence[str], trade_day: date
) -> RequestInputs:
    """The inputs of proposing ``account_ids`` on the book of ``as_of`` under the rules in
    force on ``trade_day``; accounts not in that book with a target are left out
    (:attr:`RequestInputs.account_ids` says which are in)."""
    conn, firm = uow.conn, uow.firm_id
    sleeved = sleeved_accounts(uow, account_ids)
    snapshot = snapshot_tables(uow, as_of=as_of, account_ids=account_ids, sleeved=sleeved)
    ids = snapshot.accounts["account_id"].to_pylist()
    a = t.accounts.c
    rows = sorted(
        conn.execute(
            select(
                a.account_id,
                a.household_id,
                a.registration,
                a.lot_method,
                a.sweep_pct,
                a.sweep_min_usd,
            ).where(a.firm_id == firm, among(a.account_id, ids))
        ).all()
    )
    accounts = pa.table(
        [
            pa.array([r[i] for r in rows], f.type)
            if i < 4
            else pa.array([float(r[i]) for r in rows], f.type)
            for i, f in enumerate(ACCOUNTS)
        ],
        schema=ACCOUNTS,
    )
    houses = sorted({r.household_id for r in rows if r.household_id})
    mate_rows = sorted(
        (r.account_id, r.household_id)
        for r in conn.execute(
            select(a.account_id, a.household_id).where(
                a.firm_id == firm, among(a.household_id, houses), ~among(a.account_id, ids)
            )
        )
    )
    mates = pa.table(
        [
            pa.array([m[0] for m in mate_rows], pa.string()),
            pa.array([m[1] for m in mate_rows], pa.string()),
        ],
        schema=MATES,
    )
    stored = sleeve_tables(uow, account_ids=ids)
    return RequestInputs(
        as_of=as_of,
        trade_day=trade_day,
        snapshot=snapshot,
        accounts=accounts,
        mates=mates,
        rules=rule_tables(
            uow,
            account_ids=ids,
            history_ids=[*ids, *(m[0] for m in mate_rows)],
            trade_day=trade_day,
        ),
        sleeves=stored,
        sleeve_models=sleeve_models(uow, stored, as_of) if stored else None,
        lots=of_accounts(uow, as_of=as_of, kind="lots", account_ids=ids),
    )


def lay_out_request(inputs: RequestInputs) -> tuple[Snapshot, RequestBook]:
    """The snapshot and book that ``inputs`` give (no database involved)."""
    snap = snapshot_of(inputs.as_of, inputs.snapshot)
    return snap, request_book(inputs, snap)


def request_book(inputs: RequestInputs, snap: Snapshot) -> RequestBook:
    """The accounts of ``snap`` (laid out from ``inputs``) with every rule of ``inputs``
    (those in force on its trade day) and the tax lots of the book date."""
    accounts = inputs.account_rows()
    trade_day = inputs.trade_day
    ids = snap.account_ids
    household = [accounts[a].household_id or a for a in ids]
    mate_house = dict(
        zip(
            inputs.mates["account_id"].to_pylist(),
            inputs.mates["household_id"].to_pylist(),
            strict=True,
        )
    )
    mates = list(mate_house)
    account_code = {a: i for i, a in enumerate([*ids, *mates])}
    names = sorted(set(household) | set(mate_house.values()))
    house_code = {h: i for i, h in enumerate(names)}
    house = np.array(
        [house_code[h] for h in household] + [house_code[mate_house[m]] for m in mates],
        dtype=np.int64,
    )
    symbol_code = {s: i for i, s in enumerate(snap.symbols)}
    qualified = np.array([accounts[a].registration == "qualified" for a in ids], dtype=bool)
    tables = _known(inputs.rules, symbol_code)
    arrays = snap.arrays
    symbols = tuple(snap.symbols)
    sleeves = None
    if inputs.sleeves:
        assert inputs.sleeve_models is not None
        loaded, sleeves = with_sleeves(inputs, snap, accounts)
        arrays, symbols = loaded.arrays, loaded.symbols
    where = {"account_code": account_code, "symbol_code": symbol_code, "trade_day": trade_day}
    rules, extra = _lay_out(tables, arrays, house=house, qualified=qualified, **where)  # type: ignore[arg-type]
    if extra:
        arrays = with_extra_slots(arrays, extra)
        rules, _ = _lay_out(tables, arrays, house=house, qualified=qualified, **where)  # type: ignore[arg-type]
    rules, lot_ids = _with_lots(inputs.lots, snap, arrays, rules, accounts)
    security = arrays.slot_symbol
    if sleeves is not None:  # protected shares, APM lines and their rules
        on = sleeve_rules(
            tables,
            replace(loaded, arrays=arrays),
            sleeves,
            BookRulesOn(rules=rules, as_of=trade_day, qualified=qualified),
            mates=mate_house,
        )
        rules = on.rules
        security = sleeves.security[arrays.slot_symbol]
    partition = Partition(
        batch=arrays.batch(0, arrays.size),
        symbol=security,
        household=house[: len(ids)].astype(np.int32),
        rules=rules,
        qualified=qualified,
        as_of=trade_day,
        owned=True,
    )
    return RequestBook(
        arrays=arrays,
        partition=partition,
        household=household,
        lot_ids=lot_ids,
        symbols=symbols,
        sleeves=sleeves,
    )


class _Lot(NamedTuple):
    row: int
    account_id: str
    symbol: str
    quantity: Decimal
    cost_basis: Decimal | None
    acquired: date | None
    lot_id: str | None


def with_sleeves(
    inputs: RequestInputs, snap: Snapshot, accounts: Mapping[str, AccountRow]
) -> tuple[LoadedBook, BookSleeves]:
    """The snapshot's accounts with their sleeves laid out as ``propose-book`` lays a
    book's (:func:`~trimtab.io.book_sleeves.lay_out_sleeves`): blends as extra models, APM
    lines and shares on twin codes."""
    ids = snap.account_ids
    models = inputs.sleeve_models
    assert models is not None
    code = {a: i for i, a in enumerate(ids)}
    symbol = {s: i for i, s in enumerate(snap.symbols)}
    lots = inputs.lots
    held = {
        (a, s)
        for a, s in zip(
            lots.column("account_id").to_pylist(), lots.column("symbol").to_pylist(), strict=True
        )
        if s in symbol
    }
    held_rows = sorted(held)
    loaded = LoadedBook(
        arrays=snap.arrays,
        account_ids=pa.array(ids, pa.string()),
        symbols=tuple(snap.symbols),
        model_ids=tuple(sorted(set(models.column("model_id").to_pylist()))),
        tables={
            "models": models,
            "accounts": pa.table(
                {
                    "account_id": pa.array(ids, pa.string()),
                    "household_id": pa.array([accounts[a].household_id for a in ids], pa.string()),
                    "registration": pa.array([accounts[a].registration for a in ids], pa.string()),
                }
            ),
        },
        lot_codes=(
            np.array([code[a] for a, _ in held_rows], dtype=np.int32),
            np.array([symbol[s] for _, s in held_rows], dtype=np.int32),
        ),
    )
    return lay_out_sleeves(loaded, inputs.sleeves)


def _with_lots(
    lots: pa.Table,
    snap: Snapshot,
    arrays: BookArrays,
    rules: SlotRules,
    accounts: Mapping[str, AccountRow],
) -> tuple[SlotRules, tuple[str | None, ...]]:
    """``rules`` with the tax lots ``lots`` of the snapshot's accounts and their relief
    methods."""
    ids = snap.account_ids
    code = {a: i for i, a in enumerate(ids)}
    symbol = {s: i for i, s in enumerate(snap.symbols)}
    table = lots.filter(pc.is_in(lots.column("symbol"), value_set=pa.array(snap.symbols)))
    found = [_Lot(**r) for r in table.to_pylist()]
    found.sort(key=lambda r: (code[r.account_id], r.row))  # by account, in the book's order
    method = np.array([METHOD_CODE[LotMethod(accounts[a].lot_method)] for a in ids], dtype=np.int8)
    if not found:
        return replace(rules, method=method), ()
    account = np.array([code[r.account_id] for r in found], dtype=np.int32)
    sym = np.array([symbol[r.symbol] for r in found], dtype=np.int32)
    lots = lots_on_slots(
        arrays.slot_symbol.shape[1],
        account=account,
        slot=arrays.slots_of(account, sym),
        quantity=np.array([float(r.quantity) for r in found]),
        basis=np.array([np.nan if r.cost_basis is None else float(r.cost_basis) for r in found]),
        acquired=np.array([(r.acquired or date.min).toordinal() for r in found], dtype=np.int32),
    )
    ids_of = [r.lot_id or f"#{r.row}" for r in found]
    lot_ids = tuple(ids_of[int(i)] for i in lots.source) if lots.source is not None else ()
    ruled = rules.ruled.copy()
    ruled[lots.row] = True
    return replace(rules, lots=replace(lots, lot_id=lot_ids), ruled=ruled, method=method), lot_ids


def slot_classes(snap: Snapshot, slot_symbol: npt.NDArray[np.int32]) -> npt.NDArray[np.int32]:
    """Sub-asset-class code of every slot, -1 for none and on padding, (N, K)."""
    classes = np.r_[snap.sub_asset_class, -1].astype(np.int32)
    out: npt.NDArray[np.int32] = classes[slot_symbol]
    return out


def account_households(uow: UnitOfWork, *, account_ids: Sequence[str]) -> list[str]:
    """``account_ids`` and every account of their households (household rebalance submits
    a household as a unit), held-away accounts left out, in order of first mention."""
    a = t.accounts
    rows = uow.conn.execute(
        select(a.c.account_id, a.c.household_id).where(
            a.c.firm_id == uow.firm_id, among(a.c.account_id, account_ids)
        )
    ).all()
    houses = sorted({r.household_id for r in rows if r.household_id})
    mates: dict[str, list[str]] = {}
    for r in uow.conn.execute(
        select(a.c.account_id, a.c.household_id)
        .where(a.c.firm_id == uow.firm_id, among(a.c.household_id, houses), ~a.c.held_away)
        .order_by(a.c.account_id)
    ):
        mates.setdefault(r.household_id, []).append(r.account_id)
    house = {r.account_id: r.household_id for r in rows}
    out: list[str] = []
    for account_id in account_ids:
        out.extend(mates.get(house.get(account_id) or "", [account_id]))
    return list(dict.fromkeys(out))
