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

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from trimtab.core.triggers import REASONS
from trimtab.errors import ConflictError, NotFoundError
from trimtab.service.access import require_role
from trimtab.service.evaluate_parts import (
    PartsDone,
    Progress,
    RunDay,
    busy,
    class_drift_of,
    evaluate_parts,
    reason_texts,
    renew,
)
from trimtab.service.lease import LEASE, lease_held, lease_owner, wall_clock
from trimtab.service.market import previous_market_day
from trimtab.service.snapshot import Snapshot
from trimtab.store import tables as t
from trimtab.store.columns import read_table, write_table
from trimtab.store.uow import UnitOfWork

if TYPE_CHECKING:
    from trimtab.cluster.evaluate import ClusterRun

__all__ = [
    "REASONS",
    "EvaluationSummary",
    "Progress",
    "class_drift_pct",
    "evaluate",
    "reason_texts",
    "run_state",
    "run_status",
]


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


def class_drift_pct(snap: Snapshot) -> npt.NDArray[np.float64]:
    """Weight minus target of each sub-asset class of a snapshot's accounts, percent
    points, (N, C) (:func:`~trimtab.service.evaluate_parts.class_drift_of`)."""
    return class_drift_of(snap.arrays, snap.sub_asset_class, len(snap.sub_asset_classes))


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
    renew(uow, RunDay(uow.firm_id, day, day, None, day, owner, 1), **done)


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


@dataclass(frozen=True, slots=True)
class Claim:
    """A run of ``day`` claimed by ``owner`` (its lease), on the book of ``data_date``;
    ``resumed`` when an interrupted run was taken over."""

    day: date
    data_date: date
    owner: str
    resumed: bool


def claim_evaluation(uow: UnitOfWork, *, actor: str, day: date, now: datetime) -> Claim:
    """Check that ``actor`` may evaluate and that the book of the market day before ``day``
    is imported, and claim the run of ``day`` (committed): what :func:`evaluate` does first,
    for a caller that evaluates later or elsewhere (the API's ``respond-async``).

    Raises :class:`NotFoundError` when that book is not imported, and
    :class:`ConflictError` while another live process holds the run."""
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
        raise busy(day) from None
    return Claim(day, data_date, owner, resumed)


def evaluate(
    uow: UnitOfWork,
    *,
    actor: str,
    day: date,
    now: datetime,
    progress: Progress | None = None,
    chunk: int = 100_000,
    cluster: ClusterRun | None = None,
    claim: Claim | None = None,
) -> EvaluationSummary:
    """Evaluate every account with rebalancing on and a target, for market day ``day``:
    in this process, or on a Dask cluster (``cluster``, :mod:`trimtab.cluster.evaluate`),
    with the same results row for row. ``claim``: the run as :func:`claim_evaluation`
    claimed it (else it is claimed here).

    Raises :class:`NotFoundError` when the book of the previous market day is not imported.
    """
    if claim is None:
        claim = claim_evaluation(uow, actor=actor, day=day, now=now)
    elif claim.day != day:
        raise ValueError(f"the claim is of {claim.day}, not {day}")
    data_date, owner, resumed = claim.data_date, claim.owner, claim.resumed
    try:
        flagged = _chunks(
            uow,
            day=day,
            data_date=data_date,
            owner=owner,
            progress=progress,
            chunk=chunk,
            cluster=cluster,
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
    cluster: ClusterRun | None,
) -> pa.Table:
    """Compute the triggers of every account and store the evaluations not stored yet, in
    committed chunks (:func:`~trimtab.service.evaluate_parts.evaluate_parts`): here, or on
    ``cluster``'s workers, a range of holdings parts each. Returns the flagged accounts
    and their reasons (as stored: the triggers give the same on a resumed run)."""
    prev_day, prev_data = _previous_run(uow, day)
    run = RunDay(
        firm_id=uow.firm_id,
        day=day,
        data_date=data_date,
        prev_day=prev_day,
        window_start=prev_data or previous_market_day(data_date),
        owner=owner,
        chunk=chunk,
    )
    if cluster is not None:
        from trimtab.cluster.evaluate import evaluate_on_cluster

        done: PartsDone = evaluate_on_cluster(uow, run, cluster, progress=progress)
    else:
        done = evaluate_parts(uow, run, progress=progress)
    return done.flagged


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


_PENDING = pa.schema([("account_id", pa.string()), ("request_id", pa.int64())])


def _queue(uow: UnitOfWork, day: date, flagged: pa.Table) -> None:
    """Queue every account the run of ``day`` flagged (``flagged``: account ids and reasons,
    as its evaluations store them). An account keeps one open entry, its newest: the new
    entry replaces an older open one, and a re-run of an older day does not replace a newer
    one. An entry of ``day`` that a user
    already acted on (a re-run of the day) stays as it is; an account waiting in an open
    request is queued as submitted in it.

    On SQLite the new rows are one ``INSERT ... SELECT`` from the day's evaluations. On
    PostgreSQL they are worked out by column here instead: it may plan a statement that reads
    ``queue_entries`` while writing it as a scan of the table per row, of the rows the
    statement itself is adding."""
    firm, conn = uow.firm_id, uow.conn
    q, e, oa = t.queue_entries.c, t.evaluations.c, t.open_accounts.c
    if uow.dialect == "postgresql":
        # statistics that count the day's evaluations, written in this transaction: planned
        # without them, the statement below scans them once per queue entry
        conn.exec_driver_sql('ANALYZE "evaluations"')
    flags_it = (e.firm_id == firm) & (e.as_of == day) & (e.reasons != "")
    conn.execute(
        delete(t.queue_entries).where(
            q.firm_id == firm,
            q.status == "open",
            q.as_of < day,
            q.account_id.in_(select(e.account_id).where(flags_it)),
        )
    )
    # an entry of the day (acted on or not), or a newer open one, stays as it is
    stays = (q.as_of == day) | ((q.as_of > day) & (q.status == "open"))
    if uow.dialect == "sqlite":
        waiting = oa.request_id.is_(None)
        conn.execute(
            insert(t.queue_entries).from_select(
                ["firm_id", "account_id", "as_of", "reasons", "status", "request_id"],
                select(
                    e.firm_id,
                    e.account_id,
                    e.as_of,
                    e.reasons,
                    case((waiting, "open"), else_="submitted"),
                    oa.request_id,
                )
                .select_from(
                    t.evaluations.outerjoin(
                        t.open_accounts,
                        (oa.firm_id == e.firm_id) & (oa.account_id == e.account_id),
                    )
                )
                .where(
                    flags_it,
                    ~select(q.account_id)
                    .where(q.firm_id == firm, q.account_id == e.account_id, stays)
                    .exists(),
                ),
            )
        )
        return
    kept = read_table(
        conn,
        select(q.account_id).where(q.firm_id == firm, stays),
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
