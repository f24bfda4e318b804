"""The client of a cluster run: plan, submit, follow, then write the output from the parts.

The client reads only the accounts' ids and households (to plan); the workers read the rest.
Partitions whose worker dies are run again by the scheduler on another worker (Dask's own
recovery); a part is published atomically, so none is lost or written twice.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from trimtab.cluster.plan import PARTITION_ACCOUNTS, PartitionSpec, plan_partitions
from trimtab.cluster.tasks import (
    DRIFT,
    STATUSES,
    TRADES,
    Job,
    check_accounts,
    part_path,
    partition_slots,
    run_partition,
)
from trimtab.core.engine import Method, TradeOptions
from trimtab.errors import BookError, InputError
from trimtab.io.batch import has_rules, write_output, write_table_pairs
from trimtab.io.book import has_sleeve_tables
from trimtab.io.book_run import groups_households

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
        client = Client(address, timeout=30)  # type: ignore[no-untyped-call]
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
        silence_logs=logging.ERROR,
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


def _check_book(folder: Path) -> None:
    if has_sleeve_tables(folder):
        raise InputError(
            "--cluster", "a book with sleeve tables runs on one machine (without --cluster)"
        )


def cluster_drift(
    folder: Path,
    out: Path | None,
    *,
    address: str,
    partition_size: int = PARTITION_ACCOUNTS,
    parts_dir: Path | None = None,
) -> None:
    """``trimtab drift`` on the cluster at ``address``: the same table, row for row."""
    _check_book(folder)
    specs = _plan(folder, grouped=False, size=partition_size)
    with _run_folder(parts_dir, out) as parts, connect(address) as client:
        job = Job(folder=str(folder.resolve()), parts=str(parts))
        _execute(client, job, specs)
        tables = [pq.read_table(part_path(job, s.number) / DRIFT) for s in specs]
        write_output(pa.concat_tables(tables), out)


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
) -> None:
    """``trimtab propose-book`` on the cluster at ``address``: the same files, row for row."""
    _check_book(folder)
    if as_of is None and has_rules(folder):
        raise InputError("--as-of", "required: the book has rule tables or tax lots")
    grouped = groups_households(folder, method)
    specs = _plan(folder, grouped=grouped, size=partition_size)
    with _run_folder(parts_dir, out) as parts, connect(address) as client:
        job = Job(str(folder.resolve()), str(parts), method, options, as_of)
        _execute(client, job, specs)
        pairs = (
            (pq.read_table(d / TRADES), pq.read_table(d / STATUSES))
            for d in (part_path(job, s.number) for s in specs)
        )
        write_table_pairs(pairs, out=out, status_out=status_out)


def _plan(folder: Path, *, grouped: bool, size: int) -> list[PartitionSpec]:
    specs = plan_partitions(folder, grouped=grouped, size=size)
    if not specs:
        raise BookError("accounts", "no rows: the table has a header only")
    return specs


def _execute(client: Any, job: Job, specs: list[PartitionSpec]) -> None:
    """Both passes over the partitions; the first error of a partition is raised here."""
    from distributed import as_completed

    run = uuid.uuid4().hex[:8]
    check = client.submit(check_accounts, job.folder, key=f"trimtab-check-{run}")
    keys = [f"trimtab-slots-{run}-{s.number}" for s in specs]
    widths = client.map(partition_slots, specs, job=job, key=keys)
    futures = [check, *widths]
    try:
        slots = max(client.gather(widths))
        client.gather(check)
        keys = [f"trimtab-partition-{run}-{s.number}" for s in specs]
        done = client.map(run_partition, specs, job=job, slots=slots, key=keys)
        futures += done
        total = sum(len(s.account_ids) for s in specs)
        with _progress(total) as advance:
            for future in as_completed(done):  # type: ignore[no-untyped-call]
                advance(future.result())
    finally:
        client.cancel(futures)


@contextmanager
def _progress(total: int) -> Iterator[Any]:
    """A Rich progress bar of accounts done on standard error (a terminal only)."""
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
        yield lambda n: progress.advance(task, n)
