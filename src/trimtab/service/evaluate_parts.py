"""The evaluation of some holdings parts: read their accounts, run the triggers, write.

A date's holdings are stored in parts of whole households (:mod:`trimtab.store.holdings`,
``account_days.part`` names each account's). :func:`evaluate_parts` evaluates the accounts
of a range of parts (or of all of them): it reads every per-account input of those accounts
with a few set-based queries, then lays the accounts out for the engine *part by part*
(dense accounts x slots arrays one part at a time, so memory is bounded by a part, not by
the book), runs the pure trigger functions (:mod:`trimtab.core.triggers`) on each part and
writes the evaluations not stored yet in committed chunks.

An account's results depend only on its own inputs and on its part's layout (the engine's
sums run over the part's slots), never on which other parts were evaluated with it: the
single-process run (all parts at once) and a cluster's workers (a range of parts each,
:mod:`trimtab.cluster.evaluate`) store the same rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import ColumnElement, Float, Select, case, cast, func, select, update
from sqlalchemy.exc import IntegrityError

from trimtab.core.batch import AccountBatch
from trimtab.core.book import DRIFT_CHUNK, BookArrays
from trimtab.core.drift import DriftResult, drift
from trimtab.core.partial import class_drift
from trimtab.core.triggers import (
    NO_DAY,
    REASONS,
    SwitchChanges,
    TriggerInputs,
    TriggerParams,
    TriggerState,
    evaluate_triggers,
)
from trimtab.errors import ConflictError
from trimtab.service.lease import LEASE, wall_clock
from trimtab.service.sleeve_store import sleeve_target_keys
from trimtab.service.sleeve_targets import lay_out_sleeved, measured_on_sleeves, on_sleeves
from trimtab.service.snapshot import ModelTables, Securities, load_models, load_securities
from trimtab.store import holdings
from trimtab.store import tables as t
from trimtab.store.columns import MONEY, PERCENT, decimals, floats, read_table, write_table
from trimtab.store.uow import UnitOfWork

Progress = Callable[[int, int], None]
"""Called after each committed chunk with (accounts written so far, accounts in the run)."""

Parts = tuple[int, int] | None
"""Parts ``first`` to ``last`` (inclusive) of the date's holdings; ``None`` for all."""


@dataclass(frozen=True, slots=True)
class RunDay:
    """What every part of one evaluation run shares (sent as is to a cluster's workers).

    Attributes:
        firm_id: the firm.
        day: the market day evaluated; ``data_date`` its book (the market day before).
        prev_day: the previous evaluation run's day, ``None`` before the first.
        window_start: events dated after it (and up to ``data_date``) are new.
        owner: the lease owner of the run (:mod:`trimtab.service.lease`): chunks are
            written only while it holds the run.
        chunk: accounts written per commit, at most.
    """

    firm_id: str
    day: date
    data_date: date
    prev_day: date | None
    window_start: date
    owner: str
    chunk: int


@dataclass(frozen=True, slots=True)
class PartsDone:
    """What :func:`evaluate_parts` did: the accounts it evaluated (rebalancing on; written
    now or by an earlier, interrupted attempt) and, of those, the flagged ones with their
    reasons as stored (``account_id``, ``reasons``)."""

    evaluated: int
    flagged: pa.Table


def day_number(value: date | str) -> int:
    """A date (or ISO text) as its day number, days since 1970-01-01."""
    return int(np.datetime64(value, "D").astype(np.int64))


NUMERIC_SETTINGS = (
    "sac_soft_pct",
    "sac_soft_days",
    "sac_hard_pct",
    "cash_high_usd",
    "cash_low_pct",
    "sweep_pct",
    "sweep_min_usd",
    "no_trade_days",
)


def _setting_defaults() -> dict[str, str]:
    """Each trigger setting's default, as the database's default text."""
    a = t.accounts.c
    return {name: str(a[name].server_default.arg) for name in NUMERIC_SETTINGS}  # type: ignore[union-attr]


_DAYS = pa.schema(
    [
        ("account_id", pa.string()),
        ("part", pa.int32()),
        ("model_id", pa.string()),
        ("model_version", pa.int64()),
        ("cash", pa.float64()),
    ]
)
_FLAGS = pa.schema(
    [
        ("account_id", pa.string()),
        ("managed", pa.bool_()),
        ("trade_hold", pa.bool_()),
        ("trade_hold_until", pa.date32()),
        ("first_seen", pa.date32()),
        *((name, pa.float64()) for name in NUMERIC_SETTINGS),  # null: the default
    ]
)
_ACCOUNTS = pa.schema([*_DAYS, *list(_FLAGS)[1:]])
_DATED = pa.schema([("account_id", pa.string()), ("day", pa.date32())])
_IDS = pa.schema([("account_id", pa.string())])
_CLASSES = pa.schema(
    [
        ("account_id", pa.string()),
        ("sub_asset_class", pa.string()),
        ("diff_pct", pa.float64()),
        ("soft_since", pa.date32()),
    ]
)
_PREVIOUS = pa.schema(
    [
        ("account_id", pa.string()),
        ("model_id", pa.string()),
        ("model_version", pa.int64()),
        ("cash_low", pa.bool_()),
    ]
)


@dataclass(frozen=True, slots=True)
class _Classes:
    """Per-class values of some accounts, sparse: row (account), column (class), value."""

    row: npt.NDArray[np.int64]
    col: npt.NDArray[np.int64]
    diff: npt.NDArray[np.float64]
    since: npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class _Accounts:
    """The accounts of some parts and every per-account input, (N,) each, in order of
    part then account id (so each part is a slice).

    ``model`` is each account's target code (into :attr:`ModelTables.keys`, or into
    :attr:`target_keys` for accounts measured against sleeves); ``prev_target`` the
    previous evaluation's, in the same codes (-1: not evaluated).
    """

    ids: pa.Array
    part: npt.NDArray[np.int32]
    model: npt.NDArray[np.int64]
    cash: npt.NDArray[np.float64]
    managed: npt.NDArray[np.bool_]
    params: TriggerParams
    held: npt.NDArray[np.bool_]
    first_seen: npt.NDArray[np.int64]
    last_trade: npt.NDArray[np.int64]
    last_deposit: npt.NDArray[np.int64]
    last_withdrawal: npt.NDArray[np.int64]
    last_restriction_end: npt.NDArray[np.int64]
    done: npt.NDArray[np.bool_]
    prev_target: npt.NDArray[np.int64]
    prev_cash_low: npt.NDArray[np.bool_]
    prev_classes: _Classes
    switches: SwitchChanges
    target_keys: tuple[tuple[str | None, int | None], ...] = ()
    """For accounts measured against sleeves, the target of each code of :attr:`model`, as
    stored: (model, version) for a model with protected shares, and for model or APM
    sleeves (:func:`~trimtab.service.sleeve_store.sleeve_target_keys`, no version)."""

    @property
    def size(self) -> int:
        return len(self.part)


class _Reader:
    """The set-based reads of one evaluation for the accounts of ``parts``."""

    def __init__(self, uow: UnitOfWork, run: RunDay, parts: Parts, sleeved: bool = False) -> None:
        self.uow, self.run, self.parts, self.sleeved = uow, run, parts, sleeved
        self.firm = uow.firm_id

    def mine(self, column: ColumnElement[Any]) -> ColumnElement[bool]:
        """``column`` (an account id) is of an account of these parts (always true for all
        parts: the whole table is read then, which costs less than the test); of those
        whose target is in sleeves when the reader is :attr:`sleeved`."""
        with_sleeves = column.in_(on_sleeves(self.firm))
        if self.parts is None:
            return with_sleeves if self.sleeved else column.is_not(None)
        d = t.account_days.c
        first, last = self.parts
        in_parts = column.in_(
            select(d.account_id).where(
                d.firm_id == self.firm,
                d.as_of == self.run.data_date,
                d.part >= first,
                d.part <= last,
            )
        )
        return in_parts & with_sleeves if self.sleeved else in_parts

    def accounts(self) -> pa.Table:
        """The accounts with a target of the date (in these parts), in order of part then
        account id: their day's row, their flags, and their trigger settings, each null
        where it is the default (:meth:`settings`). Most accounts keep the defaults, and
        turning a million rows of eight exact decimals into floats costs the database
        seconds: only the others are turned.

        On SQLite one read, each account's row looked up by its key. On PostgreSQL two plain
        reads joined here: the database would hash-join a million rows of each, spilling to
        disk with its default working memory."""
        d, a = t.account_days.c, t.accounts.c
        on_day = [d.firm_id == self.firm, d.as_of == self.run.data_date]
        if self.sleeved:
            on_day.append(measured_on_sleeves(self.firm))
        else:
            on_day.append(d.model_id.is_not(None))
        if self.parts is not None:
            on_day += [d.part >= self.parts[0], d.part <= self.parts[1]]
        days = (d.account_id, d.part, d.model_id, d.model_version, cast(d.cash, Float))
        flags = (
            (a.rebalancing & ~a.held_away).label("managed"),  # held away: never evaluated
            a.trade_hold,
            a.trade_hold_until,
            a.first_seen,
            *(
                case((self._equals(a[name], value), None), else_=cast(a[name], Float)).label(name)
                for name, value in _setting_defaults().items()
            ),
        )
        conn = self.uow.conn
        if self.uow.dialect == "sqlite":
            same_account = (a.firm_id == d.firm_id) & (a.account_id == d.account_id)
            table = read_table(
                conn,
                select(*days, *flags)
                .select_from(t.account_days.join(t.accounts, same_account))
                .where(*on_day),
                _ACCOUNTS,
            )
        else:
            table = read_table(conn, select(*days).where(*on_day), _DAYS).join(
                read_table(
                    conn,
                    select(a.account_id, *flags).where(
                        a.firm_id == self.firm, self.mine(a.account_id)
                    ),
                    _FLAGS,
                ),
                "account_id",
                join_type="inner",
            )
        if not self.sleeved:  # a model's account with protected shares is a sleeved one
            sleeved = read_table(conn, select(on_sleeves(self.firm).subquery()), _IDS)
            if sleeved.num_rows:
                drop = pc.is_in(table["account_id"], value_set=sleeved["account_id"])
                table = table.filter(pc.invert(drop))
        # sorted here, not by the database: its collation need not be code-point order
        return table.sort_by([("part", "ascending"), ("account_id", "ascending")])

    @staticmethod
    def settings(table: pa.Table) -> TriggerParams:
        """The trigger settings of the accounts of :meth:`accounts`' ``table``."""
        values: dict[str, npt.NDArray[Any]] = {}
        for name, value in _setting_defaults().items():
            column = np.asarray(pc.fill_null(table[name], float(value)), dtype=np.float64)
            values[name] = column.astype(np.int64) if name.endswith("_days") else column
        return TriggerParams(**values)

    def _equals(self, column: ColumnElement[Any], value: str) -> ColumnElement[bool]:
        """``column`` equals the decimal ``value``: compared as numbers on PostgreSQL (no
        conversion per row); as floats on SQLite, where exact decimals are kept as text
        that need not be written as ``value`` is."""
        same: ColumnElement[bool] = (
            cast(column, Float) == float(value)
            if self.uow.dialect == "sqlite"
            else column == (int(value) if value.isdigit() else Decimal(value))
        )
        return same

    def latest(self, ids: pa.Array, *queries: Select[Any]) -> npt.NDArray[np.int64]:
        """The latest day number per account of ``ids`` in the ``(account_id, date)`` rows
        of ``queries``; NO_DAY for none."""
        out = np.full(len(ids), NO_DAY, dtype=np.int64)
        for query in queries:
            rows = read_table(self.uow.conn, query, _DATED)
            at = pc.index_in(rows["account_id"], value_set=ids)
            found = np.asarray(pc.and_(at.is_valid(), rows["day"].is_valid()))
            np.maximum.at(
                out, np.asarray(pc.fill_null(at, 0))[found], _day_numbers(rows["day"])[found]
            )
        return out

    def done(self, ids: pa.Array) -> npt.NDArray[np.bool_]:
        """Which accounts have their evaluation of the day stored already."""
        e = t.evaluations.c
        stored = read_table(
            self.uow.conn,
            select(e.account_id).where(
                e.firm_id == self.firm, e.as_of == self.run.day, self.mine(e.account_id)
            ),
            _IDS,
        )
        return np.asarray(pc.is_in(ids, value_set=stored["account_id"]))

    def previous(
        self, ids: pa.Array, targets: dict[tuple[str | None, int | None], int], classes: list[str]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], _Classes]:
        """The state the previous evaluation stored: target codes (new codes added to
        ``targets``), cash low, and the classes kept (columns: ``classes``)."""
        n = len(ids)
        target = np.full(n, -1, dtype=np.int64)
        cash_low = np.zeros(n, dtype=bool)
        none = np.zeros(0, dtype=np.int64)
        kept = _Classes(none, none, np.zeros(0), none)
        prev_day = self.run.prev_day
        if prev_day is None:
            return target, cash_low, kept
        ec, ev = t.evaluation_classes.c, t.evaluations.c
        rows = read_table(
            self.uow.conn,
            select(
                ec.account_id, ec.sub_asset_class, cast(ec.diff_pct, Float), ec.soft_since
            ).where(ec.firm_id == self.firm, ec.as_of == prev_day, self.mine(ec.account_id)),
            _CLASSES,
        )
        i = pc.index_in(rows["account_id"], value_set=ids)
        k = pc.index_in(rows["sub_asset_class"], value_set=pa.array(classes, pa.string()))
        found = np.asarray(pc.and_(i.is_valid(), k.is_valid()))
        kept = _Classes(
            row=np.asarray(pc.fill_null(i, 0), dtype=np.int64)[found],
            col=np.asarray(pc.fill_null(k, 0), dtype=np.int64)[found],
            diff=np.asarray(rows["diff_pct"].to_numpy(), dtype=np.float64)[found],
            since=_day_numbers(rows["soft_since"])[found],
        )
        previous = read_table(
            self.uow.conn,
            select(ev.account_id, ev.model_id, ev.model_version, ev.cash_low).where(
                ev.firm_id == self.firm, ev.as_of == prev_day, self.mine(ev.account_id)
            ),
            _PREVIOUS,
        )
        i = pc.index_in(previous["account_id"], value_set=ids)
        found = np.asarray(i.is_valid())
        row = np.asarray(pc.fill_null(i, 0))[found]
        cash_low[row] = _flags(previous["cash_low"])[found]
        keys = zip(
            previous["model_id"].to_pylist(), previous["model_version"].to_pylist(), strict=True
        )
        code = np.array([targets.setdefault(key, len(targets)) for key in keys], dtype=np.int64)
        target[row] = code[found] if code.size else code
        return target, cash_low, kept

    def switches(self, ids: pa.Array) -> SwitchChanges:
        """The switch histories up to the book date of the accounts that may have toggled.

        One aggregate finds the candidates (three or more changes, one of them an "on" in
        the window); only their histories are read, in the order the changes were made.
        """
        c = t.rebalancing_changes.c
        start, data_date = self.run.window_start, self.run.data_date
        in_window_on = case(
            (c.rebalancing.is_(True) & (c.effective > start) & (c.effective <= data_date), 1),
            else_=0,
        )
        switched_on = select(c.account_id).where(
            c.firm_id == self.firm,
            c.rebalancing.is_(True),
            c.effective > start,
            c.effective <= data_date,
        )
        candidates = read_table(
            self.uow.conn,
            select(c.account_id)
            .where(
                c.firm_id == self.firm,
                c.effective <= data_date,
                self.mine(c.account_id),
                c.account_id.in_(switched_on),  # only these can fire: few histories counted
            )
            .group_by(c.account_id)
            .having((func.count() >= 3) & (func.max(in_window_on) == 1)),
            _IDS,
        )["account_id"]
        wanted = candidates.filter(pc.is_in(candidates, value_set=ids)).to_pylist()
        code = np.asarray(pc.index_in(pa.array(wanted, pa.string()), value_set=ids))
        where = dict(zip(wanted, code.tolist(), strict=True))
        account: list[int] = []
        effective: list[int] = []
        on: list[bool] = []
        for first in range(0, len(wanted), 1000):
            for r in self.uow.conn.execute(
                select(c.account_id, c.effective, c.rebalancing)
                .where(
                    c.firm_id == self.firm,
                    c.account_id.in_(wanted[first : first + 1000]),
                    c.effective <= data_date,
                )
                .order_by(c.change_id)
            ):
                account.append(where[r.account_id])
                effective.append(day_number(r.effective))
                on.append(bool(r.rebalancing))
        return SwitchChanges(
            account=np.array(account, dtype=np.int64),
            effective=np.array(effective, dtype=np.int64),
            on=np.array(on, dtype=bool),
        )


def _read_accounts(
    uow: UnitOfWork,
    run: RunDay,
    parts: Parts,
    models: ModelTables,
    classes: list[str],
    *,
    sleeved: bool = False,
) -> _Accounts:
    """Every per-account input of the accounts of ``parts`` that follow a model, or of those
    whose target is in their sleeves (``sleeved``): reads only, no trigger."""
    reader = _Reader(uow, run, parts, sleeved)
    table = reader.accounts()
    ids = table["account_id"].combine_chunks()
    targets: dict[tuple[str | None, int | None], int]
    if sleeved:
        # a model with protected shares: the model is the target (as stored for any model);
        # model or APM sleeves: a key of the sleeves
        keys = list(
            zip(table["model_id"].to_pylist(), table["model_version"].to_pylist(), strict=True)
        )
        blends = [i for i, (m, _) in enumerate(keys) if m is None]
        digests = sleeve_target_keys(uow, [ids[i].as_py() for i in blends], run.data_date)
        for i, key in zip(blends, digests, strict=True):
            keys[i] = (key, None)
        targets = {}
        model = np.array([targets.setdefault(k, len(targets)) for k in keys], dtype=np.int64)
        target_keys = tuple(targets)
    else:
        target_keys = ()
        targets = {k: i for i, k in enumerate(models.keys)}
        known = _target_keys(
            pa.array([k[0] for k in models.keys], pa.string()),
            pa.array([k[1] for k in models.keys], pa.int64()),
        )
        model = np.asarray(
            pc.index_in(_target_keys(table["model_id"], table["model_version"]), value_set=known),
            dtype=np.int64,
        )
    prev_target, prev_cash_low, prev_classes = reader.previous(ids, targets, classes)

    until = _day_numbers(table["trade_hold_until"])
    firm, data_date, start = uow.firm_id, run.data_date, run.window_start
    x, o, ca, r = t.transactions.c, t.orders.c, t.cash_activity.c, t.account_restrictions.c
    # events on or before the window start cannot fire: only the window is read
    activity = {
        kind: reader.latest(
            ids,
            select(ca.account_id, func.max(ca.activity_date))
            .where(
                ca.firm_id == firm,
                ca.kind == kind,
                ca.activity_date > start,
                ca.activity_date <= data_date,
                reader.mine(ca.account_id),
            )
            .group_by(ca.account_id),
        )
        for kind in ("deposit", "withdrawal")
    }
    return _Accounts(
        ids=ids,
        part=np.asarray(table["part"].to_numpy(), dtype=np.int32),
        model=model,
        cash=np.asarray(table["cash"].to_numpy(), dtype=np.float64),
        managed=_flags(table["managed"]),
        params=reader.settings(table),
        held=_flags(table["trade_hold"]) & ((until == NO_DAY) | (until >= day_number(run.day))),
        first_seen=_day_numbers(table["first_seen"]),
        last_trade=reader.latest(
            ids,
            select(x.account_id, func.max(x.trade_date))
            .where(x.firm_id == firm, x.as_of <= data_date, reader.mine(x.account_id))
            .group_by(x.account_id),
            select(o.account_id, func.max(o.trade_date))
            .where(o.firm_id == firm, o.trade_date <= data_date, reader.mine(o.account_id))
            .group_by(o.account_id),
        ),
        last_deposit=activity["deposit"],
        last_withdrawal=activity["withdrawal"],
        last_restriction_end=reader.latest(
            ids,
            select(r.account_id, func.max(r.end_date))
            .where(
                r.firm_id == firm,
                r.end_action == "rebalance_immediately",
                r.end_date > start,
                r.end_date <= data_date,
                reader.mine(r.account_id),
            )
            .group_by(r.account_id),
        ),
        done=reader.done(ids),
        prev_target=prev_target,
        prev_cash_low=prev_cash_low,
        prev_classes=prev_classes,
        switches=reader.switches(ids),
        target_keys=target_keys,
    )


def _target_keys(
    model_id: pa.Array | pa.ChunkedArray, version: pa.Array | pa.ChunkedArray
) -> pa.ChunkedArray:
    """Each (model, version) as one text, to look targets up by column."""
    joined = pc.binary_join_element_wise(model_id, pc.cast(version, pa.string()), "\x00")
    return pa.chunked_array([joined]) if isinstance(joined, pa.Array) else joined


def _flags(column: pa.ChunkedArray) -> npt.NDArray[np.bool_]:
    return np.asarray(pc.fill_null(column, False).to_numpy(zero_copy_only=False), dtype=bool)


def _day_numbers(column: pa.ChunkedArray) -> npt.NDArray[np.int64]:
    """Dates as day numbers; missing dates as :data:`~trimtab.core.triggers.NO_DAY`."""
    days = pc.fill_null(column.cast(pa.int32()), NO_DAY)
    return np.asarray(days.to_numpy(), dtype=np.int64)


def class_drift_of(
    arrays: BookArrays, sub_asset_class: npt.NDArray[np.int32], classes: int
) -> npt.NDArray[np.float64]:
    """Weight minus target of each of ``classes`` sub-asset classes, percent points, (N, C):
    the core's :func:`~trimtab.core.partial.class_drift` chunk by chunk
    (``sub_asset_class``: class code per symbol code, -1 for none).

    Held non-model securities count with target 0; securities of no known class are left out.
    """
    out = np.zeros((arrays.size, classes))
    class_of = np.r_[sub_asset_class, -1]
    for start, stop in arrays.chunks():
        out[start:stop] = _classes_of(arrays, arrays.batch(start, stop), start, class_of, classes)
    return out


def _classes_of(
    arrays: BookArrays,
    batch: AccountBatch,
    start: int,
    class_of: npt.NDArray[np.int32],
    classes: int,
) -> npt.NDArray[np.float64]:
    """:func:`class_drift_of` of one batch, accounts ``start`` on (``class_of``: the class
    codes with -1 appended, for padding)."""
    market = batch.quantity * batch.price
    value = batch.cash + market.sum(axis=1)
    slot_classes = class_of[arrays.slot_symbol[start : start + len(value)]]
    out: npt.NDArray[np.float64] = (
        class_drift(market, value, batch.target, slot_classes, classes) * 100.0
    )
    return out


def _drift_and_classes(
    arrays: BookArrays, sub_asset_class: npt.NDArray[np.int32], classes: int
) -> tuple[DriftResult, npt.NDArray[np.float64]]:
    """:func:`~trimtab.core.book.drift_book` and :func:`class_drift_of` in one pass: each
    chunk of accounts is gathered once for both."""
    n = arrays.size
    value, max_drift = np.empty(n), np.empty(n)
    out_of_band = np.empty(n, dtype=np.int32)
    diff = np.zeros((n, classes))
    class_of = np.r_[sub_asset_class, -1]
    for start, stop in arrays.chunks(DRIFT_CHUNK):
        batch = arrays.batch(start, stop)
        found = drift(batch)
        value[start:stop], max_drift[start:stop] = found.value, found.max_drift
        out_of_band[start:stop] = found.out_of_band
        diff[start:stop] = _classes_of(arrays, batch, start, class_of, classes)
    return DriftResult(value=value, max_drift=max_drift, out_of_band=out_of_band), diff


def reason_texts(matrix: npt.NDArray[np.bool_]) -> list[str]:
    """Comma-joined reason codes of each row of a (rows, len(REASONS)) flag matrix.

    Rows are encoded as bit masks; each distinct mask (a handful per run) is spelled once.
    """
    if matrix.size == 0:
        return [""] * matrix.shape[0]
    masks = matrix.astype(np.int64) @ (1 << np.arange(len(REASONS), dtype=np.int64))
    distinct, inverse = np.unique(masks, return_inverse=True)
    spelled = [
        ",".join(r for bit, r in enumerate(REASONS) if int(m) >> bit & 1) for m in distinct.tolist()
    ]
    return [spelled[i] for i in inverse.tolist()]


def _codes(column: pa.ChunkedArray, values: pa.Array) -> npt.NDArray[np.int32]:
    """The place of each text of ``column`` in ``values``, -1 where it is not there; a
    dictionary-encoded column is looked up by its dictionary (a few distinct texts)."""
    if not pa.types.is_dictionary(column.type):
        found = pc.index_in(column, value_set=values)
        return np.asarray(pc.fill_null(found, -1), dtype=np.int32)
    out = [np.zeros(0, dtype=np.int32)]
    for chunk in column.chunks:
        found = pc.index_in(chunk.dictionary, value_set=values)
        table = np.asarray(pc.fill_null(found, -1), dtype=np.int32)
        codes = table[np.asarray(pc.fill_null(chunk.indices, 0), dtype=np.int64)]
        if chunk.null_count:
            codes[~np.asarray(chunk.is_valid())] = -1
        out.append(codes)
    return np.concatenate(out)


def _params(params: TriggerParams, rows: slice) -> TriggerParams:
    return TriggerParams(**{f.name: getattr(params, f.name)[rows] for f in fields(params)})


@dataclass(frozen=True, slots=True)
class _Rows:
    """One part's results: rows to store (evaluations, their classes) and the flagged."""

    evaluations: pa.Table
    classes: pa.Table
    flagged: pa.Table


class _Book:
    """What every part of the date shares: securities and the targets of its accounts."""

    def __init__(self, uow: UnitOfWork, data_date: date) -> None:
        self.securities: Securities = load_securities(uow, data_date)
        d = t.account_days.c
        pairs = uow.conn.execute(
            select(d.model_id, d.model_version)
            .where(d.firm_id == uow.firm_id, d.as_of == data_date, d.model_id.is_not(None))
            .distinct()
        ).all()
        self.models: ModelTables = load_models(
            uow, [(m, v) for m, v in pairs], self.securities.symbols
        )
        self.symbols = pa.array(self.securities.symbols, pa.string())
        self.model_ids = pa.array([k[0] for k in self.models.keys], pa.string())
        self.model_versions = pa.array([k[1] for k in self.models.keys], pa.int64())


@dataclass(frozen=True, slots=True)
class _Laid:
    """Some accounts laid out against their targets, (N,) each in their order in
    :class:`_Accounts`: drift, class drift (N, C), cash, the cash target (percent) and the
    target as stored (``model_id``, ``model_version``)."""

    drift: DriftResult
    class_diff: npt.NDArray[np.float64]
    cash: npt.NDArray[np.float64]
    model_cash: npt.NDArray[np.float64]
    model_id: pa.Array
    model_version: pa.Array


def _evaluate_part(book: _Book, run: RunDay, acc: _Accounts, rows: slice, held: pa.Table) -> _Rows:
    """The triggers of the accounts ``rows`` (one part) and the rows to store of those
    with rebalancing on: the part laid out alone, its positions ``held``."""
    sec = book.securities
    account = _codes(held.column("account_id"), acc.ids[rows])
    symbol = _codes(held.column("symbol"), book.symbols)
    keep = (account >= 0) & (symbol >= 0)
    arrays = book.models.assemble(
        sec.price,
        acc.model[rows].astype(np.int32),
        acc.cash[rows],
        account[keep],
        symbol[keep],
        floats(held.column("quantity"))[keep],
    )
    drift, class_diff = _drift_and_classes(arrays, sec.sub_asset_class, len(sec.classes))
    codes = pa.array(acc.model[rows])
    laid = _Laid(
        drift=drift,
        class_diff=class_diff,
        cash=arrays.cash,
        model_cash=arrays.model_cash[arrays.account_model] * 100.0,
        model_id=book.model_ids.take(codes),
        model_version=book.model_versions.take(codes),
    )
    return _triggered(run, acc, rows, laid, sec.classes)


def _triggered(run: RunDay, acc: _Accounts, rows: slice, laid: _Laid, classes: list[str]) -> _Rows:
    """The triggers of the accounts ``rows`` laid out as ``laid`` (their own order) and the
    rows to store of those with rebalancing on."""
    ids = acc.ids[rows]
    drift, class_diff = laid.drift, laid.class_diff
    n, c = len(ids), len(classes)
    first = rows.start
    assert first is not None
    previous = TriggerState.empty(n, c)
    previous.target[:] = acc.prev_target[rows]
    previous.cash_low[:] = acc.prev_cash_low[rows]
    kept = acc.prev_classes
    mine = (kept.row >= first) & (kept.row < rows.stop)
    previous.class_diff[kept.row[mine] - first, kept.col[mine]] = kept.diff[mine]
    previous.class_since[kept.row[mine] - first, kept.col[mine]] = kept.since[mine]
    sw = acc.switches
    in_part = (sw.account >= first) & (sw.account < rows.stop)
    inputs = TriggerInputs(
        day=day_number(run.day),
        data_day=day_number(run.data_date),
        window_start=day_number(run.window_start),
        value=drift.value,
        cash=laid.cash,
        model_cash=laid.model_cash,
        out_of_band=drift.out_of_band,
        class_diff=class_diff,
        target=acc.model[rows],
        held=acc.held[rows],
        first_seen=acc.first_seen[rows],
        last_trade=acc.last_trade[rows],
        last_deposit=acc.last_deposit[rows],
        last_withdrawal=acc.last_withdrawal[rows],
        last_restriction_end=acc.last_restriction_end[rows],
        switches=SwitchChanges(sw.account[in_part] - first, sw.effective[in_part], sw.on[in_part]),
    )
    flags, state = evaluate_triggers(inputs, previous, _params(acc.params, rows))
    matrix = flags.matrix()
    managed = acc.managed[rows]
    flagged = np.flatnonzero(managed & matrix.any(axis=1))
    out = np.flatnonzero(managed & ~acc.done[rows])
    take = pa.array(out)
    reasons = pa.array(reason_texts(matrix[out]), pa.string())
    count = len(out)
    evaluations = pa.table(
        {
            "firm_id": pa.array([run.firm_id] * count, pa.string()),
            "as_of": pa.array([run.day] * count, pa.date32()),
            "account_id": ids.take(take),
            "data_date": pa.array([run.data_date] * count, pa.date32()),
            "model_id": laid.model_id.take(take),
            "model_version": laid.model_version.take(take),
            "value": decimals(np.round(drift.value[out], 2), MONEY),
            "cash": decimals(np.round(laid.cash[out], 2), MONEY),
            "max_drift_pct": decimals(np.round(drift.max_drift[out] * 100.0, 6), PERCENT),
            "out_of_band": pa.array(drift.out_of_band[out], pa.int64()),
            "cash_low": pa.array(state.cash_low[out]),
            "skipped": pa.array(flags.skipped[out]),
            "flagged": pa.array(matrix[out].any(axis=1)),
            "reasons": reasons,
        }
    )
    since = state.class_since[out]
    row, k = np.nonzero(since > NO_DAY)
    class_rows = pa.table(
        {
            "firm_id": pa.array([run.firm_id] * row.size, pa.string()),
            "as_of": pa.array([run.day] * row.size, pa.date32()),
            "account_id": ids.take(take).take(pa.array(row)),
            "sub_asset_class": pa.array(classes, pa.string()).take(pa.array(k)),
            "diff_pct": decimals(np.round(state.class_diff[out][row, k], 6), PERCENT),
            "soft_since": pa.array(since[row, k].astype(np.int32), pa.int32()).cast(pa.date32()),
        }
    )
    return _Rows(
        evaluations,
        class_rows,
        pa.table(
            {
                "account_id": ids.take(pa.array(flagged)),
                "reasons": pa.array(reason_texts(matrix[flagged]), pa.string()),
            }
        ),
    )


SLEEVED_CHUNK = 10_000
"""Accounts whose target is in sleeves laid out at a time (memory: one chunk's arrays)."""


def _evaluate_sleeved(book: _Book, run: RunDay, acc: _Accounts, uow: UnitOfWork) -> Iterator[_Rows]:
    """The triggers and rows to store of the accounts whose target is in their sleeves
    (``acc``), :data:`SLEEVED_CHUNK` at a time."""
    for start in range(0, acc.size, SLEEVED_CHUNK):
        rows = slice(start, min(start + SLEEVED_CHUNK, acc.size))
        if acc.managed[rows].any():
            laid = _lay_out_sleeved(uow, run, acc, rows, book.securities.classes)
            yield _triggered(run, acc, rows, laid, book.securities.classes)


def _lay_out_sleeved(
    uow: UnitOfWork, run: RunDay, acc: _Accounts, rows: slice, classes: list[str]
) -> _Laid:
    """The accounts ``rows`` laid out against the targets of their sleeves
    (:func:`~trimtab.service.sleeve_targets.lay_out_sleeved`)."""
    ids = acc.ids[rows].to_pylist()
    book = lay_out_sleeved(uow, as_of=run.data_date, account_ids=ids, trade_day=run.day)
    assert book.snapshot.sub_asset_classes == classes  # both the date's priced securities
    code = {a: i for i, a in enumerate(book.snapshot.account_ids)}
    order = np.array([code[a] for a in ids], dtype=np.int64)
    batch = book.batch
    found = drift(batch)
    diff = _classes_of(book.arrays, batch, 0, book.class_of(), len(classes))
    codes = pa.array(acc.model[rows])
    return _Laid(
        drift=DriftResult(
            value=found.value[order],
            max_drift=found.max_drift[order],
            out_of_band=found.out_of_band[order],
        ),
        class_diff=diff[order],
        cash=batch.cash[order],
        model_cash=(batch.cash_target * 100.0)[order],
        model_id=pa.array([k[0] for k in acc.target_keys], pa.string()).take(codes),
        model_version=pa.array([k[1] for k in acc.target_keys], pa.int64()).take(codes),
    )


def renew(uow: UnitOfWork, run: RunDay, **done: Any) -> None:
    """Extend the run's lease (in the current transaction); raises :class:`ConflictError`
    when another process has taken the run over (its owner is no longer ``run.owner``)."""
    runs = t.evaluation_runs.c
    kept = uow.conn.execute(
        update(t.evaluation_runs)
        .where(runs.firm_id == uow.firm_id, runs.as_of == run.day, runs.lease_owner == run.owner)
        .values(**{"lease_until": wall_clock() + LEASE, **done})
    )
    if kept.rowcount != 1:
        uow.rollback()
        raise ConflictError(
            f"the evaluation of {run.day} was taken over by another process after this one "
            "stalled; its results stand"
        )


def busy(day: date) -> ConflictError:
    """Two processes wrote the same evaluation at once."""
    return ConflictError(
        f"another process is evaluating {day} at the same time; run again later to resume"
    )


class _Writer:
    """Rows waiting to be stored, written in committed chunks of ``run.chunk`` accounts.

    On PostgreSQL the chunks are written by a thread of their own, on a connection of their
    own, while the next parts are read and triggered (the server takes in one chunk while
    the client computes the next; one chunk at most is in flight, so memory stays bounded).
    On SQLite, whose writers take turns on the file anyway, they are written in line.
    Use it as a context manager: leaving it waits for the chunk in flight.
    """

    def __init__(
        self, uow: UnitOfWork, run: RunDay, written: int, total: int, progress: Progress | None
    ) -> None:
        self.uow, self.run, self.progress = uow, run, progress
        self.written, self.total = written, total
        self.evaluations: list[pa.Table] = []
        self.classes: list[pa.Table] = []
        self.waiting = 0
        self.pool: ThreadPoolExecutor | None = None
        self.in_flight: Future[None] | None = None
        self.out = uow
        if uow.dialect == "postgresql":
            self.pool = ThreadPoolExecutor(1, thread_name_prefix="trimtab-evaluation-writer")
            self.out = UnitOfWork(uow.engine, uow.firm_id).__enter__()

    def __enter__(self) -> _Writer:
        return self

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        try:
            self._wait()
        except BaseException:
            if kind is None:  # else the error already on its way is the one to tell
                raise
        finally:
            if self.pool is not None:
                self.pool.shutdown()
                self.out.__exit__(None, None, None)

    def add(self, rows: _Rows) -> None:
        self.evaluations.append(rows.evaluations)
        self.classes.append(rows.classes)
        self.waiting += rows.evaluations.num_rows
        if self.waiting >= self.run.chunk:
            self.flush(whole_chunks=True)

    def flush(self, *, whole_chunks: bool = False) -> None:
        """Write the waiting rows, ``run.chunk`` accounts per commit (the last, shorter
        chunk too unless ``whole_chunks``)."""
        if not self.evaluations:
            return
        evaluations = pa.concat_tables(self.evaluations)
        classes = pa.concat_tables(self.classes)
        size, start = self.run.chunk, 0
        while evaluations.num_rows - start >= (size if whole_chunks else 1):
            chunk = evaluations.slice(start, size)
            ids = chunk["account_id"]
            self._submit(chunk, classes.filter(pc.is_in(classes["account_id"], value_set=ids)))
            start += chunk.num_rows
        rest = evaluations.slice(start)
        self.evaluations = [rest] if rest.num_rows else []
        self.classes = (
            [classes.filter(pc.is_in(classes["account_id"], value_set=rest["account_id"]))]
            if rest.num_rows
            else []
        )
        self.waiting = rest.num_rows

    def _submit(self, evaluations: pa.Table, classes: pa.Table) -> None:
        """Write a chunk: after the one in flight (whose error, if any, is raised here)."""
        self._wait()
        if self.pool is None:
            self._commit(evaluations, classes)
        else:
            self.in_flight = self.pool.submit(self._commit, evaluations, classes)

    def _wait(self) -> None:
        if self.in_flight is not None:
            in_flight, self.in_flight = self.in_flight, None
            in_flight.result()

    def _commit(self, evaluations: pa.Table, classes: pa.Table) -> None:
        uow = self.out
        try:
            write_table(uow.conn, t.evaluations, evaluations)
            write_table(uow.conn, t.evaluation_classes, classes)
            renew(uow, self.run)
            uow.commit()
        except IntegrityError:
            uow.rollback()
            raise busy(self.run.day) from None
        except BaseException:
            uow.rollback()
            raise
        self.written += evaluations.num_rows
        if self.progress:
            self.progress(self.written, self.total)


def evaluate_parts(
    uow: UnitOfWork,
    run: RunDay,
    parts: Parts = None,
    *,
    progress: Progress | None = None,
) -> PartsDone:
    """Evaluate the accounts with a target of ``parts`` (all when ``None``) and store the
    evaluations not stored yet (by an interrupted attempt) in committed chunks, renewing
    the run's lease with each. Idempotent: run again, it writes only what is missing.

    Every read happens before the first write of each part, and no transaction is left
    open across the two: on SQLite a reader does not hold the write lock while computing.
    """
    book = _Book(uow, run.data_date)
    acc = _read_accounts(uow, run, parts, book.models, book.securities.classes)
    sleeved = None  # most books have none: their reads are skipped
    if uow.conn.execute(select(on_sleeves(uow.firm_id).exists())).scalar():
        sleeved = _read_accounts(
            uow, run, parts, book.models, book.securities.classes, sleeved=True
        )
    uow.commit()  # reads only: ends the transaction
    total = int(acc.managed.sum())
    done = int((acc.managed & acc.done).sum())
    if sleeved is not None:
        total += int(sleeved.managed.sum())
        done += int((sleeved.managed & sleeved.done).sum())
    if progress:
        progress(done, total)
    cuts = np.flatnonzero(np.diff(acc.part)) + 1
    starts = np.r_[0, cuts] if acc.size else np.zeros(0, dtype=np.int64)
    stops = np.r_[cuts, acc.size] if acc.size else np.zeros(0, dtype=np.int64)
    numbers = acc.part[starts].tolist()
    bounds = dict(zip(numbers, zip(starts.tolist(), stops.tolist(), strict=True), strict=True))
    flagged = []
    todo = [p for p in numbers if acc.managed[slice(*bounds[p])].any()]
    with _Writer(uow, run, done, total, progress) as writer:
        for part, held in holdings.parts_of(uow, as_of=run.data_date, kind="positions", parts=todo):
            rows = _evaluate_part(book, run, acc, slice(*bounds[part]), held)
            flagged.append(rows.flagged)
            if rows.evaluations.num_rows:
                uow.commit()  # the documents read: end the transaction before writing
                writer.add(rows)
        if sleeved is not None:
            for rows in _evaluate_sleeved(book, run, sleeved, uow):
                flagged.append(rows.flagged)
                if rows.evaluations.num_rows:
                    uow.commit()
                    writer.add(rows)
        writer.flush()
    uow.commit()
    empty = pa.schema([("account_id", pa.string()), ("reasons", pa.string())]).empty_table()
    return PartsDone(total, pa.concat_tables(flagged) if flagged else empty)
