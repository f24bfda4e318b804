"""The client of a cluster run: plan, submit, follow, then write the output from the parts
(or, for ``compare-book``, put the comparison together from them).

The client reads only the accounts' ids and households (to plan); the workers read the rest.
Partitions whose worker dies are run again by the scheduler on another worker (Dask's own
recovery); a part is published atomically, so none is lost or written twice.
"""

from __future__ import annotations

import functools
import logging
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa

from trimtab.cluster.plan import PARTITION_ACCOUNTS, PartitionSpec, plan_partitions
from trimtab.cluster.tasks import (
    COMPARISON,
    DRIFT,
    STATUSES,
    TRADES,
    Compare,
    Drift,
    Job,
    PartDone,
    Propose,
    part_path,
    read_part,
    run_partition,
    unknown_account,
)
from trimtab.core.engine import Method, TradeOptions
from trimtab.errors import BookError, InputError
from trimtab.io.batch import has_rules, write_output, write_table_pairs
from trimtab.io.book_run import Layout, groups_households
from trimtab.whatif.compare import Comparison, Run, joined
from trimtab.whatif.figures import TaxRates

SCHEDULER_ENV = "TRIMTAB_DASK_SCHEDULER"
"""The variable ``--cluster`` reads when not given."""


@contextmanager
def connect(address: str) -> Iterator[Any]:
    """A client of the scheduler at ``address``; ``local:N`` starts a cluster of N worker
    processes on this machine (loopback only, no dashboard) for the run's length."""
    from distributed import Client

    if address.startswith("local:"):
        count = address.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise InputError("--cluster", f"local:N takes a number of workers, got {address!r}")
        with local_cluster(int(count)) as cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
            yield client
        return
    try:
        client = Client(address, timeout=10)  # type: ignore[no-untyped-call]
    except (OSError, TimeoutError, ValueError) as err:
        raise InputError("--cluster", f"cannot reach the scheduler at {address!r}: {err}") from None
    with client:
        yield client


def local_cluster(workers: int) -> Any:
    """A cluster of ``workers`` single-threaded worker processes on this machine: loopback
    only, no dashboard, and its HTTP endpoint on a free port (not the default 8787, which
    another cluster may hold)."""
    from distributed import LocalCluster

    return LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        silence_logs=logging.CRITICAL,  # a worker closing after its scheduler logs an error
    )


@contextmanager
def _run_folder(parts_dir: Path | None, out: Path | None) -> Iterator[Path]:
    """A fresh folder for this run's parts, removed at the end. It must be reachable by
    every worker at the same path (``--parts-dir`` on shared storage for a remote cluster)."""
    base = parts_dir or (out.parent if out is not None else Path(tempfile.gettempdir()))
    folder = base / f".trimtab-parts-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class RunTimes:
    """Where a cluster run's time went (seconds), for the benchmarks."""

    plan: float
    """The client reading the accounts' ids and households and cutting partitions."""
    run: float
    """Connecting, then every partition run (reading, proposing, writing its part)."""
    assemble: float
    """The client writing the output from the parts."""
    partitions: int
    again: int
    """Partitions run a second time, as wide as the whole book."""


def cluster_drift(
    folder: Path,
    out: Path | None,
    *,
    address: str,
    partition_size: int = PARTITION_ACCOUNTS,
    parts_dir: Path | None = None,
) -> RunTimes:
    """``trimtab drift`` on the cluster at ``address``: the same table, row for row."""

    def assemble(parts: list[Path]) -> None:
        write_output(pa.concat_tables([read_part(p / DRIFT) for p in parts]), out)

    job = Job(str(folder.resolve()), "", Drift())
    return _run(
        job,
        grouped=False,
        size=partition_size,
        parts_dir=parts_dir,
        out=out,
        address=address,
        assemble=assemble,
    )


def cluster_propose(
    folder: Path,
    method: Method,
    options: TradeOptions,
    as_of: date | None,
    *,
    out: Path | None,
    status_out: Path | None,
    address: str,
    partition_size: int = PARTITION_ACCOUNTS,
    parts_dir: Path | None = None,
) -> RunTimes:
    """``trimtab propose-book`` on the cluster at ``address``: the same files, row for row."""
    _as_of_given(folder, as_of)

    def assemble(parts: list[Path]) -> None:
        pairs = ((read_part(p / TRADES), read_part(p / STATUSES)) for p in parts)
        write_table_pairs(pairs, out=out, status_out=status_out)

    job = Job(str(folder.resolve()), "", Propose(method, options, as_of))
    grouped = groups_households(folder, [method])
    return _run(
        job,
        grouped=grouped,
        size=partition_size,
        parts_dir=parts_dir,
        out=out,
        address=address,
        assemble=assemble,
    )


def cluster_compare(
    folder: Path,
    runs: Sequence[Run],
    as_of: date | None,
    rates: TaxRates,
    *,
    out: Path | None,
    address: str,
    partition_size: int = PARTITION_ACCOUNTS,
    parts_dir: Path | None = None,
) -> tuple[Comparison, RunTimes]:
    """``trimtab compare-book`` on the cluster at ``address``: each partition compares the
    runs over its accounts and hands back their figures; the client puts them together in
    the single-process run's account order, into the same :class:`Comparison`. The parts
    go to ``parts_dir``, else beside ``out`` (the report's folder), else the system's
    temporary folder."""
    _as_of_given(folder, as_of)
    logics = [r.method for r in runs]
    joined_parts: list[Comparison] = []

    def assemble(parts: list[Path]) -> None:
        joined_parts.append(joined([read_part(p / COMPARISON) for p in parts], logics, rates))

    job = Job(str(folder.resolve()), "", Compare(tuple(runs), as_of, rates))
    times = _run(
        job,
        grouped=groups_households(folder, logics),
        size=partition_size,
        parts_dir=parts_dir,
        out=out,
        address=address,
        assemble=assemble,
    )
    return joined_parts[0], times


def _as_of_given(folder: Path, as_of: date | None) -> None:
    """Refuse a book with rules without ``--as-of`` before any partition runs."""
    if as_of is None and has_rules(folder):
        raise InputError("--as-of", "required: the book has rule tables or tax lots")


def _run(
    job: Job,
    *,
    grouped: bool,
    size: int,
    parts_dir: Path | None,
    out: Path | None,
    address: str,
    assemble: Callable[[list[Path]], None],
) -> RunTimes:
    """Plan, run every partition on the cluster, then ``assemble`` the parts in order."""
    start = time.perf_counter()
    specs = plan_partitions(Path(job.folder), grouped=grouped, size=size)
    if not specs:
        raise BookError("accounts", "no rows: the table has a header only")
    planned = time.perf_counter()
    with _run_folder(parts_dir, out) as parts, connect(address) as client:
        job = replace(job, parts=str(parts))
        layout, again = _execute(client, job, specs)
        ran = time.perf_counter()
        assemble([part_path(job, s.number, layout) for s in specs])
    return RunTimes(planned - start, ran - planned, time.perf_counter() - ran, len(specs), again)


def _execute(client: Any, job: Job, specs: list[PartitionSpec]) -> tuple[Layout, int]:
    """Run every partition; return the book's layout (its parts are named by it) and how
    many partition runs were run again. The first error of a partition is raised here.

    The book's layout is the widest of the partitions' (:meth:`Layout.widest`); the
    partitions laid out otherwise run again with it. A partition run again may need more
    slots than any had (a wider model leaves its other holdings further right): the book's
    layout then widens and those laid out narrower run again, until every part is laid out
    as the book is."""
    from distributed import as_completed

    run = uuid.uuid4().hex[:8]
    keys = [f"trimtab-partition-{run}-{s.number}" for s in specs]
    futures = client.map(run_partition, specs, job=job, key=keys)
    laid: dict[int, Layout] = {}
    again = 0
    try:
        with _progress(sum(len(s.account_ids) for s in specs)) as advance:
            pending = dict(zip(futures, specs, strict=True))
            round_ = 0
            while True:  # each round returns, or runs the partitions laid out otherwise again
                for future in as_completed(list(pending)):  # type: ignore[no-untyped-call]
                    done: PartDone = future.result()
                    laid[pending[future].number] = done.layout
                    advance(done.accounts)
                if round_ == 0:
                    _every_row_read(client, job, [f.result() for f in futures])
                book = functools.reduce(Layout.widest, laid.values(), Layout())
                otherwise = [s for s in specs if laid[s.number] != book]
                round_ += 1
                if not otherwise:
                    return book, again
                again += len(otherwise)
                advance(0, more=sum(len(s.account_ids) for s in otherwise))
                keys = [f"trimtab-partition-{run}-{s.number}-{round_}" for s in otherwise]
                more = client.map(run_partition, otherwise, job=job, layout=book, key=keys)
                futures += more
                pending = dict(zip(more, otherwise, strict=True))
    finally:
        client.cancel(futures)


def _every_row_read(client: Any, job: Job, done: list[PartDone]) -> None:
    """Every row of every file keyed by account was read by some partition; else a row
    names an account the book does not have, and a worker finds the first such row."""
    short = [
        name
        for name, (_, size) in done[0].rows.items()
        if sum(d.rows.get(name, (0, 0))[0] for d in done) != size
    ]
    if short:
        raise client.submit(unknown_account, job.folder, short).result()


@contextmanager
def _progress(total: int) -> Iterator[Any]:
    """A Rich progress bar of accounts done on standard error (a terminal only): call
    ``advance(done)``, or ``advance(0, more=n)`` when n more accounts are to be run."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    console = Console(stderr=True)
    with Progress(
        "accounts",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not sys.stderr.isatty(),
    ) as progress:
        task = progress.add_task("accounts", total=total)
        added = 0

        def advance(done: int, more: int = 0) -> None:
            nonlocal added
            added += more
            progress.update(task, advance=done, total=total + added)

        yield advance
