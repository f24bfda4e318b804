"""The daily evaluation: which accounts need a rebalance, and why.

``evaluate`` on day D reads the book of the previous NYSE market day (custodian data is one
market day old) and flags into the queue every account with rebalancing on and a target
for which a trigger fires. The triggers are pure functions over arrays
(:mod:`trimtab.core.triggers`); this module only reads their inputs and the previous
evaluation's state from the database with set-based queries, and writes the results in
chunks, each committed, so an interrupted run resumes where it stopped. Re-running a
finished date replaces that date's evaluations and open queue entries, nothing else.

Triggers (codes as stored in ``evaluations.reasons``):

- ``target_changed``: the account's model or model version differs from its previous evaluation.
- ``out_of_band``: a security (held non-model securities included) is outside its band.
- ``class_drift_6m``: a sub-asset class more than ``sac_soft_pct`` points off target
  continuously for more than ``sac_soft_days`` days (182 by default, six months).
- ``class_drift_2d``: a sub-asset class more than ``sac_hard_pct`` points off on this and the
  previous evaluation.
- ``toggled``: rebalancing switched on, off and on again, the last "on" since the previous run.
- ``no_trade``: no trade for ``no_trade_days`` days (550); counted from the first import of
  the account when no trade is known.
- ``cash_high``: cash more than ``cash_high_usd`` ($330) above the sweep target, which is
  ``sweep_pct`` (0.7%) of account value, at least ``sweep_min_usd`` ($80) — or above the
  model's cash target where that is larger, the cash a rebalance to target leaves.
- ``cash_low``: cash below ``cash_low_pct`` (0.3%) of value on this and the previous evaluation.
- ``deposit`` / ``withdrawal``: cash activity of that kind dated since the previous run.
- ``restriction_ended``: a restriction with end action ``rebalance_immediately`` whose end
  date falls since the previous run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import (
    Float,
    Select,
    case,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from trimtab.core.book import drift_book
from trimtab.core.partial import class_drift
from trimtab.core.triggers import (
    NO_DAY,
    REASONS,
    SwitchChanges,
    TriggerFlags,
    TriggerInputs,
    TriggerParams,
    TriggerState,
    evaluate_triggers,
)
from trimtab.errors import ConflictError, NotFoundError
from trimtab.service.access import require_role
from trimtab.service.lease import LEASE, lease_held, lease_owner, wall_clock
from trimtab.service.market import previous_market_day
from trimtab.service.snapshot import Snapshot, load_snapshot
from trimtab.store import tables as t
from trimtab.store.columns import MONEY, PERCENT, decimals, read_table, write_table
from trimtab.store.uow import UnitOfWork

Progress = Callable[[int, int], None]
"""Called after each committed chunk with (accounts written so far, accounts in the run)."""


@dataclass(frozen=True, slots=True)
class EvaluationSummary:
    """What a run did: accounts evaluated, flagged, skipped for trade hold, resumed or not."""

    as_of: date
    data_date: date
    evaluated: int
    flagged: int
    skipped: list[str]
    resumed: bool
    by_reason: dict[str, int]


@dataclass(frozen=True, slots=True)
class AccountSettings:
    """The accounts' settings in snapshot order, (N,) each: the triggers' parameters, trade
    hold today, rebalancing (managed) and the first import's day number."""

    params: TriggerParams
    held: npt.NDArray[np.bool_]
    rebalancing: npt.NDArray[np.bool_]
    first_seen: npt.NDArray[np.int64]


def class_drift_pct(snap: Snapshot) -> npt.NDArray[np.float64]:
    """Weight minus target of each sub-asset class, percent points, (N, C): the core's
    :func:`~trimtab.core.partial.class_drift` chunk by chunk.

    Held non-model securities count with target 0; securities of no known class are left out.
    """
    arrays = snap.arrays
    n, c = arrays.size, len(snap.sub_asset_classes)
    out = np.zeros((n, c))
    class_of = np.r_[snap.sub_asset_class, -1]
    for start, stop in arrays.chunks():
        batch = arrays.batch(start, stop)
        market = batch.quantity * batch.price
        value = batch.cash + market.sum(axis=1)
        classes = class_of[arrays.slot_symbol[start:stop]]
        out[start:stop] = class_drift(market, value, batch.target, classes, c) * 100.0
    return out


def _day(value: date | str) -> int:
    """A date (or ISO text) as its day number, days since 1970-01-01."""
    return int(np.datetime64(value, "D").astype(np.int64))


def _day_number(values: list[date | None]) -> npt.NDArray[np.int64]:
    """Dates as day numbers; missing dates as :data:`~trimtab.core.triggers.NO_DAY`."""
    return np.array([_day(v) if v else NO_DAY for v in values], dtype=np.int64)


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


_SETTINGS = pa.schema(
    [
        ("account_id", pa.string()),
        ("managed", pa.bool_()),
        ("trade_hold", pa.bool_()),
        ("trade_hold_until", pa.date32()),
        ("first_seen", pa.date32()),
        *((name, pa.float64()) for name in NUMERIC_SETTINGS),
    ]
)


def _settings(uow: UnitOfWork, snap: Snapshot, day: date) -> AccountSettings:
    """The accounts' parameters as arrays in snapshot order (one query, read by column)."""
    a = t.accounts.c
    table = read_table(
        uow.conn,
        select(
            a.account_id,
            (a.rebalancing & ~a.held_away).label("managed"),  # held away: never evaluated
            a.trade_hold,
            a.trade_hold_until,
            a.first_seen,
            *(cast(a[name], Float) for name in NUMERIC_SETTINGS),
        ).where(a.firm_id == uow.firm_id),
        _SETTINGS,
    )
    order = pc.index_in(pa.array(snap.account_ids, pa.string()), value_set=table["account_id"])
    table = table.take(order)

    def numbers(name: str) -> npt.NDArray[np.float64]:
        return np.asarray(table[name].to_numpy(), dtype=np.float64)

    until = _day_numbers(table["trade_hold_until"])
    hold = _flags(table["trade_hold"]) & ((until == NO_DAY) | (until >= _day(day)))
    params = TriggerParams(
        sac_soft_pct=numbers("sac_soft_pct"),
        sac_soft_days=numbers("sac_soft_days").astype(np.int64),
        sac_hard_pct=numbers("sac_hard_pct"),
        cash_high_usd=numbers("cash_high_usd"),
        cash_low_pct=numbers("cash_low_pct"),
        sweep_pct=numbers("sweep_pct"),
        sweep_min_usd=numbers("sweep_min_usd"),
        no_trade_days=numbers("no_trade_days").astype(np.int64),
    )
    return AccountSettings(
        params=params,
        held=hold,
        rebalancing=_flags(table["managed"]),
        first_seen=_day_numbers(table["first_seen"]),
    )


def _flags(column: pa.ChunkedArray) -> npt.NDArray[np.bool_]:
    return np.asarray(pc.fill_null(column, False).to_numpy(zero_copy_only=False), dtype=bool)


def _day_numbers(column: pa.ChunkedArray) -> npt.NDArray[np.int64]:
    """Dates as day numbers; missing dates as :data:`~trimtab.core.triggers.NO_DAY`."""
    days = pc.fill_null(column.cast(pa.int32()), NO_DAY)
    return np.asarray(days.to_numpy(), dtype=np.int64)


def _previous_run(uow: UnitOfWork, day: date) -> tuple[date | None, date | None]:
    row = uow.conn.execute(
        select(t.evaluation_runs.c.as_of, t.evaluation_runs.c.data_date)
        .where(t.evaluation_runs.c.firm_id == uow.firm_id, t.evaluation_runs.c.as_of < day)
        .order_by(t.evaluation_runs.c.as_of.desc())
        .limit(1)
    ).first()
    return (row.as_of, row.data_date) if row else (None, None)


def _start_run(
    uow: UnitOfWork, *, actor: str, day: date, data_date: date, now: datetime, owner: str
) -> bool:
    """Claim the run of ``day`` for ``owner``; returns True when an interrupted run is resumed.

    The claim is a lease (:mod:`trimtab.service.lease`), renewed after loading and after each
    chunk: a run whose process died is taken over by the next ``evaluate`` once its lease has
    lapsed, or at once when that process was of this host and is gone. Raises
    :class:`ConflictError` while another live process holds the run's lease.
    """
    conn, firm = uow.conn, uow.firm_id
    runs = t.evaluation_runs.c
    run = conn.execute(
        select(runs.status, runs.lease_owner, runs.lease_until)
        .where(runs.firm_id == firm, runs.as_of == day)
        .with_for_update()
    ).first()
    wall = wall_clock()
    claim = {"lease_owner": owner, "lease_until": wall + LEASE}
    if run is not None and run.status == "running":
        if lease_held(run.lease_owner, run.lease_until):
            raise ConflictError(
                f"another process is evaluating {day} (its lease runs until "
                f"{run.lease_until:%H:%M:%S} UTC); run again after that to resume"
            )
        conn.execute(
            update(t.evaluation_runs).where(runs.firm_id == firm, runs.as_of == day).values(**claim)
        )
        uow.commit()
        return True
    if run is not None:  # complete: evaluated again; what users did with the queue stays
        for table in (t.evaluations, t.evaluation_classes):
            conn.execute(delete(table).where(table.c.firm_id == firm, table.c.as_of == day))
        conn.execute(
            delete(t.queue_entries).where(
                t.queue_entries.c.firm_id == firm,
                t.queue_entries.c.as_of == day,
                t.queue_entries.c.status == "open",
            )
        )
        conn.execute(
            update(t.evaluation_runs)
            .where(runs.firm_id == firm, runs.as_of == day)
            .values(
                status="running",
                started_at=now,
                finished_at=None,
                started_by=actor,
                evaluated=None,
                flagged=None,
                skipped=None,
                **claim,
            )
        )
    else:
        conn.execute(
            insert(t.evaluation_runs).values(
                firm_id=firm,
                as_of=day,
                data_date=data_date,
                status="running",
                started_at=now,
                started_by=actor,
                **claim,
            )
        )
    uow.audit(
        actor=actor,
        action="rerun" if run is not None else "start",
        entity="evaluation",
        entity_id=day.isoformat(),
        at=now,
        after={"data_date": data_date},
    )
    uow.commit()
    return False


def _renew(uow: UnitOfWork, day: date, owner: str, **done: Any) -> None:
    """Extend this process's lease on the run of ``day`` (in the current transaction)."""
    runs = t.evaluation_runs.c
    kept = uow.conn.execute(
        update(t.evaluation_runs)
        .where(runs.firm_id == uow.firm_id, runs.as_of == day, runs.lease_owner == owner)
        .values(**{"lease_until": wall_clock() + LEASE, **done})
    )
    if kept.rowcount != 1:
        uow.rollback()
        raise ConflictError(
            f"the evaluation of {day} was taken over by another process after this one "
            "stalled; its results stand"
        )


def run_state(uow: UnitOfWork) -> tuple[date, str] | None:
    """The newest evaluation run: its day and ``complete``, ``running`` (a live lease) or
    ``interrupted``; ``None`` before the first run."""
    runs = t.evaluation_runs.c
    row = uow.conn.execute(
        select(runs.as_of, runs.status, runs.lease_owner, runs.lease_until)
        .where(runs.firm_id == uow.firm_id)
        .order_by(runs.as_of.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return row.as_of, run_status(row.status, row.lease_owner, row.lease_until)


def run_status(status: str, lease_owner: str | None, lease_until: datetime | None) -> str:
    """A stored run as a user sees it: ``complete``, ``running`` (its process holds a live
    lease) or ``interrupted`` (the lease lapsed, or its process of this host is gone)."""
    if status == "complete":
        return "complete"
    return "running" if lease_held(lease_owner, lease_until) else "interrupted"


def evaluate(
    uow: UnitOfWork,
    *,
    actor: str,
    day: date,
    now: datetime,
    progress: Progress | None = None,
    chunk: int = 100_000,
) -> EvaluationSummary:
    """Evaluate every account with rebalancing on and a target, for market day ``day``.

    Raises :class:`NotFoundError` when the book of the previous market day is not imported.
    """
    require_role(uow, user_id=actor, role="operator")
    conn, firm = uow.conn, uow.firm_id
    data_date = previous_market_day(day)
    imported = conn.execute(
        select(t.imports.c.as_of).where(t.imports.c.firm_id == firm, t.imports.c.as_of == data_date)
    ).first()
    if imported is None:
        raise NotFoundError(
            f"no book imported for {data_date}, the market day before {day}: "
            f"run trimtab import BOOK --date {data_date}"
        )
    owner = lease_owner()
    try:
        resumed = _start_run(uow, actor=actor, day=day, data_date=data_date, now=now, owner=owner)
    except IntegrityError:
        raise _busy(day) from None
    try:
        flagged = _chunks(
            uow, day=day, data_date=data_date, owner=owner, progress=progress, chunk=chunk
        )
    except BaseException:
        _let_go(uow, day, owner)  # interrupted here: the next run need not wait for the lease
        raise
    _queue(uow, day, flagged)
    summary = _summary(uow, day, data_date, resumed)
    _renew(
        uow,
        day,
        owner,
        status="complete",
        finished_at=now,
        lease_owner=None,
        lease_until=None,
        evaluated=summary.evaluated,
        flagged=summary.flagged,
        skipped=len(summary.skipped),
    )
    uow.audit(
        actor=actor,
        action="complete",
        entity="evaluation",
        entity_id=day.isoformat(),
        at=now,
        after={
            "evaluated": summary.evaluated,
            "flagged": summary.flagged,
            "skipped": summary.skipped,
            "by_reason": summary.by_reason,
        },
    )
    uow.commit()
    return summary


def _chunks(
    uow: UnitOfWork,
    *,
    day: date,
    data_date: date,
    owner: str,
    progress: Progress | None,
    chunk: int,
) -> pa.Table:
    """Compute the triggers of every account and store the evaluations not stored yet, one
    committed chunk at a time, renewing the lease with each. Returns the flagged accounts
    and their reasons (as stored: the triggers give the same on a resumed run)."""
    conn, firm = uow.conn, uow.firm_id
    prev_day, prev_data = _previous_run(uow, day)
    window_start = prev_data or previous_market_day(data_date)

    snap = load_snapshot(uow, as_of=data_date)
    accounts = _settings(uow, snap, day)
    inputs, previous, max_drift_pct = _read_inputs(
        uow, snap, accounts, day, data_date, prev_day, window_start
    )
    flags, state = evaluate_triggers(inputs, previous, accounts.params)
    stored = _Stored(inputs, flags, flags.matrix(), state, max_drift_pct)
    _renew(uow, day, owner)
    uow.commit()
    active = accounts.rebalancing
    done = set(
        conn.execute(
            select(t.evaluations.c.account_id).where(
                t.evaluations.c.firm_id == firm, t.evaluations.c.as_of == day
            )
        ).scalars()
    )
    stored_already = pc.is_in(
        pa.array(snap.account_ids, pa.string()), value_set=pa.array(sorted(done), pa.string())
    )
    todo = np.flatnonzero(active & ~np.asarray(stored_already))
    total = int(active.sum())
    written = total - len(todo)
    if progress:
        progress(written, total)
    for start in range(0, len(todo), chunk):
        try:
            _write(uow, snap, stored, todo[start : start + chunk], day, data_date)
            _renew(uow, day, owner)
            uow.commit()
        except IntegrityError:
            raise _busy(day) from None
        written += len(todo[start : start + chunk])
        if progress:
            progress(written, total)
    rows = np.flatnonzero(active & stored.matrix.any(axis=1))
    return pa.table(
        {
            "account_id": pa.array(snap.account_ids, pa.string()).take(pa.array(rows)),
            "reasons": pa.array(reason_texts(stored.matrix[rows]), pa.string()),
        }
    )


def _let_go(uow: UnitOfWork, day: date, owner: str) -> None:
    """Give up this process's lease on a run it stops (best effort: the lease lapses anyway)."""
    try:
        uow.rollback()
        runs = t.evaluation_runs.c
        uow.conn.execute(
            update(t.evaluation_runs)
            .where(runs.firm_id == uow.firm_id, runs.as_of == day, runs.lease_owner == owner)
            .values(lease_until=None)
        )
        uow.commit()
    except Exception:  # the connection itself may be gone; the lease then lapses
        pass


def _busy(day: date) -> ConflictError:
    return ConflictError(
        f"another process is evaluating {day} at the same time; run again later to resume"
    )


def _read_inputs(
    uow: UnitOfWork,
    snap: Snapshot,
    accounts: AccountSettings,
    day: date,
    data_date: date,
    prev_day: date | None,
    window_start: date,
) -> tuple[TriggerInputs, TriggerState, npt.NDArray[np.float64]]:
    """The triggers' inputs for today, the state kept by the previous evaluation (of
    ``prev_day``), and each account's largest security drift in percent points (stored,
    not a trigger); arrays in snapshot order. Reads only: no trigger is decided here."""
    code = {a: i for i, a in enumerate(snap.account_ids)}
    drift = drift_book(snap.arrays)
    diff = class_drift_pct(snap)
    targets: dict[tuple[str | None, int | None], int] = {}
    keys = zip(snap.model_ids, snap.model_versions, strict=True)
    target = np.array([targets.setdefault(k, len(targets)) for k in keys], dtype=np.int64)
    previous = _previous_state(uow, snap, targets, prev_day, diff.shape[1])
    firm = uow.firm_id
    x, o, ca, r = t.transactions.c, t.orders.c, t.cash_activity.c, t.account_restrictions.c
    ids = pa.array(snap.account_ids, pa.string())
    last_trade = _latest(
        uow,
        ids,
        select(x.account_id, func.max(x.trade_date))
        .where(x.firm_id == firm, x.as_of <= data_date)
        .group_by(x.account_id),
        select(o.account_id, func.max(o.trade_date))
        .where(o.firm_id == firm, o.trade_date <= data_date)
        .group_by(o.account_id),
    )
    # events on or before the window start cannot fire: only the window is read
    activity = {
        kind: _latest(
            uow,
            ids,
            select(ca.account_id, func.max(ca.activity_date))
            .where(
                ca.firm_id == firm,
                ca.kind == kind,
                ca.activity_date > window_start,
                ca.activity_date <= data_date,
            )
            .group_by(ca.account_id),
        )
        for kind in ("deposit", "withdrawal")
    }
    ended = _latest(
        uow,
        ids,
        select(r.account_id, func.max(r.end_date))
        .where(
            r.firm_id == firm,
            r.end_action == "rebalance_immediately",
            r.end_date > window_start,
            r.end_date <= data_date,
        )
        .group_by(r.account_id),
    )
    inputs = TriggerInputs(
        day=_day(day),
        data_day=_day(data_date),
        window_start=_day(window_start),
        value=drift.value,
        cash=snap.arrays.cash,
        model_cash=snap.arrays.model_cash[snap.arrays.account_model] * 100.0,
        out_of_band=drift.out_of_band,
        class_diff=diff,
        target=target,
        held=accounts.held,
        first_seen=accounts.first_seen,
        last_trade=last_trade,
        last_deposit=activity["deposit"],
        last_withdrawal=activity["withdrawal"],
        last_restriction_end=ended,
        switches=_switches(uow, code, window_start, data_date),
    )
    return inputs, previous, drift.max_drift * 100.0


_DATED = pa.schema([("account_id", pa.string()), ("day", pa.date32())])


def _latest(uow: UnitOfWork, ids: pa.Array, *queries: Select[Any]) -> npt.NDArray[np.int64]:
    """The latest day number per account of ``ids`` in the ``(account_id, date)`` rows of
    ``queries``; NO_DAY for none."""
    out = np.full(len(ids), NO_DAY, dtype=np.int64)
    for query in queries:
        rows = read_table(uow.conn, query, _DATED)
        at = pc.index_in(rows["account_id"], value_set=ids)
        found = np.asarray(pc.and_(at.is_valid(), rows["day"].is_valid()))
        np.maximum.at(
            out,
            np.asarray(pc.fill_null(at, 0))[found],
            _day_numbers(rows["day"])[found],
        )
    return out


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


def _previous_state(
    uow: UnitOfWork,
    snap: Snapshot,
    targets: dict[tuple[str | None, int | None], int],
    prev_day: date | None,
    c: int,
) -> TriggerState:
    """The state the evaluation of ``prev_day`` stored, in snapshot order; target codes
    from ``targets`` (a target not in it gets a new code)."""
    state = TriggerState.empty(snap.arrays.size, c)
    if prev_day is None:
        return state
    conn, firm = uow.conn, uow.firm_id
    ids = pa.array(snap.account_ids, pa.string())
    ec, ev = t.evaluation_classes.c, t.evaluations.c
    classes = read_table(
        conn,
        select(ec.account_id, ec.sub_asset_class, cast(ec.diff_pct, Float), ec.soft_since).where(
            ec.firm_id == firm, ec.as_of == prev_day
        ),
        _CLASSES,
    )
    i = pc.index_in(classes["account_id"], value_set=ids)
    k = pc.index_in(
        classes["sub_asset_class"], value_set=pa.array(snap.sub_asset_classes, pa.string())
    )
    found = np.asarray(pc.and_(i.is_valid(), k.is_valid()))
    row = np.asarray(pc.fill_null(i, 0))[found]
    col = np.asarray(pc.fill_null(k, 0))[found]
    state.class_diff[row, col] = np.asarray(classes["diff_pct"].to_numpy())[found]
    state.class_since[row, col] = _day_numbers(classes["soft_since"])[found]
    previous = read_table(
        conn,
        select(ev.account_id, ev.model_id, ev.model_version, ev.cash_low).where(
            ev.firm_id == firm, ev.as_of == prev_day
        ),
        _PREVIOUS,
    )
    i = pc.index_in(previous["account_id"], value_set=ids)
    found = np.asarray(i.is_valid())
    row = np.asarray(pc.fill_null(i, 0))[found]
    state.cash_low[row] = _flags(previous["cash_low"])[found]
    keys = zip(previous["model_id"].to_pylist(), previous["model_version"].to_pylist(), strict=True)
    code = np.array([targets.setdefault(key, len(targets)) for key in keys], dtype=np.int64)
    state.target[row] = code[found] if code.size else code
    return state


def _switches(
    uow: UnitOfWork, code: dict[str, int], window_start: date, data_date: date
) -> SwitchChanges:
    """The switch histories up to ``data_date`` of the accounts that may have toggled.

    One aggregate finds the candidates (three or more changes, one of them an "on" in the
    window); only their histories are read, in the order the changes were made.
    """
    c = t.rebalancing_changes.c
    in_window_on = case(
        (c.rebalancing.is_(True) & (c.effective > window_start) & (c.effective <= data_date), 1),
        else_=0,
    )
    candidates = (
        uow.conn.execute(
            select(c.account_id)
            .where(c.firm_id == uow.firm_id, c.effective <= data_date)
            .group_by(c.account_id)
            .having((func.count() >= 3) & (func.max(in_window_on) == 1))
        )
        .scalars()
        .all()
    )
    wanted = [a for a in candidates if a in code]
    account: list[int] = []
    effective: list[int] = []
    on: list[bool] = []
    for start in range(0, len(wanted), 1000):
        for r in uow.conn.execute(
            select(c.account_id, c.effective, c.rebalancing)
            .where(
                c.firm_id == uow.firm_id,
                c.account_id.in_(wanted[start : start + 1000]),
                c.effective <= data_date,
            )
            .order_by(c.change_id)
        ):
            account.append(code[r.account_id])
            effective.append(_day(r.effective))
            on.append(bool(r.rebalancing))
    return SwitchChanges(
        account=np.array(account, dtype=np.int64),
        effective=np.array(effective, dtype=np.int64),
        on=np.array(on, dtype=bool),
    )


def _texts(values: npt.NDArray[np.float64], decimals: int) -> list[str]:
    """Numbers rounded to ``decimals`` as decimal text, for the exact columns."""
    return [repr(v) for v in np.round(values, decimals).tolist()]


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


@dataclass(frozen=True, slots=True)
class _Stored:
    """What the run stores of each account: the triggers' inputs and results."""

    inputs: TriggerInputs
    flags: TriggerFlags
    matrix: npt.NDArray[np.bool_]
    state: TriggerState
    max_drift_pct: npt.NDArray[np.float64]


def _write(
    uow: UnitOfWork,
    snap: Snapshot,
    d: _Stored,
    rows: npt.NDArray[np.int64],
    day: date,
    data_date: date,
) -> None:
    """Store the evaluations of accounts ``rows`` (codes) and their class drifts (the queue
    is written from them when the run ends: :func:`_queue`).

    Built column by column from the arrays and written as columns
    (:func:`~trimtab.store.columns.write_table`); no per-account arithmetic happens here.
    """
    firm, n = uow.firm_id, len(rows)
    idx = np.asarray(rows, dtype=np.int64)
    take = pa.array(idx)
    matrix = d.matrix[idx]
    reasons = pa.array(reason_texts(matrix), pa.string())
    ids = pa.array(snap.account_ids, pa.string()).take(take)
    write_table(
        uow.conn,
        t.evaluations,
        pa.table(
            {
                "firm_id": pa.array([firm] * n, pa.string()),
                "as_of": pa.array([day] * n, pa.date32()),
                "account_id": ids,
                "data_date": pa.array([data_date] * n, pa.date32()),
                "model_id": pa.array(snap.model_ids, pa.string()).take(take),
                "model_version": pa.array(snap.model_versions, pa.int64()).take(take),
                "value": decimals(np.round(d.inputs.value[idx], 2), MONEY),
                "cash": decimals(np.round(d.inputs.cash[idx], 2), MONEY),
                "max_drift_pct": decimals(np.round(d.max_drift_pct[idx], 6), PERCENT),
                "out_of_band": pa.array(d.inputs.out_of_band[idx], pa.int64()),
                "cash_low": pa.array(d.state.cash_low[idx]),
                "skipped": pa.array(d.flags.skipped[idx]),
                "flagged": pa.array(matrix.any(axis=1)),
                "reasons": reasons,
            }
        ),
    )
    class_since = d.state.class_since[idx]
    row, k = np.nonzero(class_since > NO_DAY)
    write_table(
        uow.conn,
        t.evaluation_classes,
        pa.table(
            {
                "firm_id": pa.array([firm] * row.size, pa.string()),
                "as_of": pa.array([day] * row.size, pa.date32()),
                "account_id": ids.take(pa.array(row)),
                "sub_asset_class": pa.array(snap.sub_asset_classes, pa.string()).take(pa.array(k)),
                "diff_pct": decimals(np.round(d.state.class_diff[idx][row, k], 6), PERCENT),
                "soft_since": pa.array(class_since[row, k].astype(np.int32), pa.int32()).cast(
                    pa.date32()
                ),
            }
        ),
    )


_PENDING = pa.schema([("account_id", pa.string()), ("request_id", pa.int64())])


def _queue(uow: UnitOfWork, day: date, flagged: pa.Table) -> None:
    """Queue every account the run of ``day`` flagged (``flagged``: account ids and reasons,
    as its evaluations store them). An account keeps one open entry, its newest: the new
    entry replaces an older open one, and a re-run of an older day does not replace a newer
    one. An entry of ``day`` that a user
    already acted on (a re-run of the day) stays as it is; an account waiting in an open
    request is queued as submitted in it.

    The rows are worked out by column here rather than by an ``INSERT ... SELECT`` that
    reads ``queue_entries`` while writing it: PostgreSQL may plan that as a scan of the
    table per row, of the rows the statement itself is adding."""
    firm, conn = uow.firm_id, uow.conn
    q, e, oa = t.queue_entries.c, t.evaluations.c, t.open_accounts.c
    if uow.dialect == "postgresql":
        # statistics that count the day's evaluations, written in this transaction: planned
        # without them, the statement below scans them once per queue entry
        conn.exec_driver_sql('ANALYZE "evaluations"')
    conn.execute(
        delete(t.queue_entries).where(
            q.firm_id == firm,
            q.status == "open",
            q.as_of < day,
            q.account_id.in_(
                select(e.account_id).where(e.firm_id == firm, e.as_of == day, e.reasons != "")
            ),
        )
    )
    kept = read_table(
        conn,
        select(q.account_id).where(
            q.firm_id == firm,
            or_(q.as_of == day, (q.as_of > day) & (q.status == "open")),
        ),
        pa.schema([("account_id", pa.string())]),
    )
    new = flagged.filter(pc.invert(pc.is_in(flagged["account_id"], value_set=kept["account_id"])))
    pending = read_table(
        conn, select(oa.account_id, oa.request_id).where(oa.firm_id == firm), _PENDING
    )
    request = pending["request_id"].take(
        pc.index_in(new["account_id"], value_set=pending["account_id"])
    )
    n = len(new)
    write_table(
        conn,
        t.queue_entries,
        pa.table(
            {
                "firm_id": pa.array([firm] * n, pa.string()),
                "account_id": new["account_id"],
                "as_of": pa.array([day] * n, pa.date32()),
                "reasons": new["reasons"],
                "status": pc.if_else(request.is_null(), "open", "submitted"),
                "request_id": request,
            }
        ),
    )


def _summary(uow: UnitOfWork, day: date, data_date: date, resumed: bool) -> EvaluationSummary:
    """Counts of the run of ``day`` as stored (resumed chunks included), by SQL aggregation."""
    e = t.evaluations.c
    mine = (e.firm_id == uow.firm_id) & (e.as_of == day)
    by_reason: dict[str, int] = dict.fromkeys(REASONS, 0)
    evaluated = flagged = 0
    for reasons, n in uow.conn.execute(
        select(e.reasons, func.count()).where(mine).group_by(e.reasons)
    ).all():
        evaluated += n
        flagged += n if reasons else 0
        for reason in filter(None, reasons.split(",")):
            by_reason[reason] += n
    skipped = uow.conn.execute(
        select(e.account_id).where(mine, e.skipped.is_(True)).order_by(e.account_id)
    ).scalars()
    return EvaluationSummary(
        as_of=day,
        data_date=data_date,
        evaluated=evaluated,
        flagged=flagged,
        skipped=sorted(skipped),
        resumed=resumed,
        by_reason=by_reason,
    )
