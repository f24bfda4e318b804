"""The daily evaluation on a Dask cluster (``trimtab evaluate --cluster``): docs/cluster.md.

The date's holdings are stored in parts of whole households (:mod:`trimtab.store.holdings`);
the client cuts the parts, in order, into partitions of about ``partition_size`` accounts
(it reads only how many accounts each part has) and sends each worker a partition's first
and last part. The worker connects to the database itself, reads its accounts' inputs and
holdings, evaluates them with the very function the single-process run uses
(:func:`~trimtab.service.evaluate_parts.evaluate_parts`, which lays each part out alone, so
the results are the same row for row) and writes their evaluations in committed chunks. The
client then queues the flagged accounts and completes the run as on one machine.

A worker that dies has its partitions run again by the scheduler on another worker; the new
attempt writes only the evaluations the dead one had not committed (the stored ones are
read first), so nothing is lost or written twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url

from trimtab.cluster.plan import PARTITION_ACCOUNTS
from trimtab.errors import InputError
from trimtab.service.evaluate_parts import (
    PartsDone,
    Progress,
    RunDay,
    evaluate_parts,
    renew,
)
from trimtab.service.sleeve_targets import measured_on_sleeves
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class ClusterRun:
    """Where an evaluation runs: the scheduler at ``address`` (``local:N`` for N worker
    processes here), the database its workers connect to (``database`` URL, PostgreSQL
    ``schema`` if any: as the client's) and about how many accounts a partition has."""

    address: str
    database: str
    schema: str | None = None
    partition_size: int = PARTITION_ACCOUNTS


def worker_database(url: str) -> str:
    """``url`` as a worker reaches it: a SQLite file by its absolute path (a worker's
    working folder need not be the client's); an in-memory database is refused."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        return url
    if parsed.database in (None, "", ":memory:"):
        raise InputError("--cluster", "an in-memory SQLite database cannot be shared by workers")
    path = Path(parsed.database)
    return url if path.is_absolute() else str(parsed.set(database=str(path.resolve())))


@dataclass(frozen=True, slots=True)
class EvaluationPartition:
    """What a worker is sent: the partition's number and its parts, ``first`` to ``last``."""

    number: int
    first: int
    last: int
    accounts: int


def plan_evaluation(uow: UnitOfWork, run: RunDay, size: int) -> list[EvaluationPartition]:
    """The date's parts, in order, cut into partitions of at least ``size`` accounts with a
    target (the last may have fewer); a part is never split (it is whole households)."""
    d = t.account_days.c
    counts = uow.conn.execute(
        select(d.part, func.count())
        .where(
            d.firm_id == uow.firm_id,
            d.as_of == run.data_date,
            d.model_id.is_not(None) | measured_on_sleeves(uow.firm_id),
        )
        .group_by(d.part)
        .order_by(d.part)
    ).all()
    out: list[EvaluationPartition] = []
    first, accounts = None, 0
    for part, n in counts:
        first = part if first is None else first
        accounts += n
        if accounts >= size:
            out.append(EvaluationPartition(len(out), first, part, accounts))
            first, accounts = None, 0
    if first is not None:
        out.append(EvaluationPartition(len(out), first, counts[-1][0], accounts))
    return out


_FLAGGED = pa.schema([("account_id", pa.string()), ("reasons", pa.string())])

_ENGINES: dict[tuple[str, str | None], Engine] = {}
"""A worker's engines, one per database: its partitions share the connection pool."""


def worker_engine(database: str, schema: str | None) -> Engine:
    """On a worker: the engine of ``database`` (and PostgreSQL ``schema``), made once."""
    from trimtab.runtime import keep_freed_memory
    from trimtab.store.migrate import make_engine

    keep_freed_memory()  # as the command line does at start: speed only
    key = (database, schema)
    if key not in _ENGINES:
        _ENGINES[key] = make_engine(database, schema=schema) if schema else make_engine(database)
    return _ENGINES[key]


def evaluate_partition(
    spec: EvaluationPartition, run: RunDay, database: str, schema: str | None
) -> PartsDone:
    """On a worker: evaluate the partition's parts, reading from and writing to the store."""
    # read-only: on SQLite its reads wait for no writer and take the lock only to write
    with UnitOfWork(worker_engine(database, schema), run.firm_id, read_only=True) as uow:
        return evaluate_parts(uow, run, (spec.first, spec.last))


def evaluate_on_cluster(
    uow: UnitOfWork, run: RunDay, cluster: ClusterRun, *, progress: Progress | None = None
) -> PartsDone:
    """Every partition of the date evaluated on the cluster; the flagged accounts of all.

    ``progress`` is called as partitions finish, with the accounts (with a target) of the
    partitions done and of the whole date. The client renews the run's lease as they do.
    """
    from distributed import as_completed

    from trimtab.cluster.run import connect

    database = worker_database(cluster.database)
    specs = plan_evaluation(uow, run, cluster.partition_size)
    uow.commit()
    total = sum(s.accounts for s in specs)
    evaluated, done_accounts = 0, 0
    flagged: list[pa.Table] = []
    if progress:
        progress(0, total)
    if not specs:
        return PartsDone(0, _FLAGGED.empty_table())
    run_key = uuid.uuid4().hex[:8]
    keys = [f"trimtab-evaluation-{run_key}-{s.number}" for s in specs]
    accounts = {k: s.accounts for s, k in zip(specs, keys, strict=True)}
    with connect(cluster.address) as client:
        futures: list[Any] = client.map(
            evaluate_partition, specs, run=run, database=database, schema=cluster.schema, key=keys
        )
        try:
            for future, result in as_completed(futures, with_results=True):  # type: ignore[no-untyped-call]
                done: PartsDone = result
                evaluated += done.evaluated
                flagged.append(done.flagged)
                done_accounts += accounts[future.key]
                renew(uow, run)
                uow.commit()
                if progress:
                    progress(done_accounts, total)
        finally:
            client.cancel(futures)
    return PartsDone(evaluated, pa.concat_tables(flagged))
