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
from typing import Any, NamedTuple

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
from trimtab.service.sleeve_store import sleeve_models, sleeve_tables
from trimtab.service.snapshot import Snapshot
from trimtab.store import tables as t
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


def request_book(
    uow: UnitOfWork,
    *,
    snap: Snapshot,
    accounts: Mapping[str, Any],
    trade_day: date,
) -> RequestBook:
    """The snapshot's accounts (rows of ``accounts``, the stored account rows by id) with
    every stored rule in force on ``trade_day`` and the snapshot date's tax lots."""
    conn, firm = uow.conn, uow.firm_id
    ids = snap.account_ids
    household = [accounts[a].household_id or a for a in ids]
    mates = sorted(
        set(
            conn.execute(
                select(t.accounts.c.account_id).where(
                    t.accounts.c.firm_id == firm,
                    t.accounts.c.household_id.in_(
                        sorted({accounts[a].household_id for a in ids if accounts[a].household_id})
                    ),
                )
            ).scalars()
        )
        - set(ids)
    )
    mate_house = {
        r.account_id: r.household_id
        for r in conn.execute(
            select(t.accounts.c.account_id, t.accounts.c.household_id).where(
                t.accounts.c.firm_id == firm, t.accounts.c.account_id.in_(mates)
            )
        )
    }
    account_code = {a: i for i, a in enumerate([*ids, *mates])}
    names = sorted(set(household) | set(mate_house.values()))
    house_code = {h: i for i, h in enumerate(names)}
    house = np.array(
        [house_code[h] for h in household] + [house_code[mate_house[m]] for m in mates],
        dtype=np.int64,
    )
    symbol_code = {s: i for i, s in enumerate(snap.symbols)}
    qualified = np.array([accounts[a].registration == "qualified" for a in ids], dtype=bool)
    tables = _known(
        rule_tables(uow, account_ids=ids, history_ids=[*ids, *mates], trade_day=trade_day),
        symbol_code,
    )
    arrays = snap.arrays
    symbols = tuple(snap.symbols)
    sleeves = None
    stored = sleeve_tables(uow, account_ids=ids)
    if stored:
        loaded, sleeves = _with_sleeves(uow, snap, accounts, stored)
        arrays, symbols = loaded.arrays, loaded.symbols
    where = {"account_code": account_code, "symbol_code": symbol_code, "trade_day": trade_day}
    rules, extra = _lay_out(tables, arrays, house=house, qualified=qualified, **where)  # type: ignore[arg-type]
    if extra:
        arrays = with_extra_slots(arrays, extra)
        rules, _ = _lay_out(tables, arrays, house=house, qualified=qualified, **where)  # type: ignore[arg-type]
    rules, lot_ids = _with_lots(uow, snap, arrays, rules, accounts)
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


def _with_sleeves(
    uow: UnitOfWork, snap: Snapshot, accounts: Mapping[str, Any], stored: SleeveTables
) -> tuple[LoadedBook, BookSleeves]:
    """The snapshot's accounts with their stored sleeves laid out as ``propose-book`` lays
    a book's (:func:`~trimtab.io.book_sleeves.lay_out_sleeves`): blends as extra models, APM
    lines and shares on twin codes."""
    ids = snap.account_ids
    models = sleeve_models(uow, stored, snap.as_of)
    code = {a: i for i, a in enumerate(ids)}
    symbol = {s: i for i, s in enumerate(snap.symbols)}
    lots = of_accounts(uow, as_of=snap.as_of, kind="lots", account_ids=ids)
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
    return lay_out_sleeves(loaded, stored)


def _with_lots(
    uow: UnitOfWork,
    snap: Snapshot,
    arrays: BookArrays,
    rules: SlotRules,
    accounts: Mapping[str, Any],
) -> tuple[SlotRules, tuple[str | None, ...]]:
    """``rules`` with the snapshot date's tax lots of its accounts and their relief methods."""
    ids = snap.account_ids
    code = {a: i for i, a in enumerate(ids)}
    symbol = {s: i for i, s in enumerate(snap.symbols)}
    table = of_accounts(uow, as_of=snap.as_of, kind="lots", account_ids=ids)
    table = table.filter(pc.is_in(table.column("symbol"), value_set=pa.array(snap.symbols)))
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
            a.c.firm_id == uow.firm_id, a.c.account_id.in_(list(account_ids))
        )
    ).all()
    houses = sorted({r.household_id for r in rows if r.household_id})
    mates: dict[str, list[str]] = {}
    for r in uow.conn.execute(
        select(a.c.account_id, a.c.household_id)
        .where(a.c.firm_id == uow.firm_id, a.c.household_id.in_(houses), ~a.c.held_away)
        .order_by(a.c.account_id)
    ):
        mates.setdefault(r.household_id, []).append(r.account_id)
    house = {r.account_id: r.household_id for r in rows}
    out: list[str] = []
    for account_id in account_ids:
        out.extend(mates.get(house.get(account_id) or "", [account_id]))
    return list(dict.fromkeys(out))
