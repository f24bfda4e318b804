"""Scale-out on Dask: ``propose-book --cluster`` on 1 and 2 local workers against one process.

The book is the seeded demo book with tax lots (``trimtab demo-book --accounts N --lots``,
Parquet, under ``bench/out/book-N-lots/``): households, registrations and three lots per
holding, so every run keeps households together and relieves lots. The logic is rebalance
to target on 2026-11-20. Measured, in this process (no start-up or imports in any figure):

1. side by side, taken in turn ``--repeats`` times after a warm-up: the single-process run
   (``proposal_run`` + ``write_proposals``, one thread, then two), and the cluster run on a
   LocalCluster of 1 and of 2 single-threaded worker processes started beforehand, with
   ``--partition-size`` accounts per partition; each cluster run split into the client's
   plan, the partitions' run and the client's assembly of the output. Outputs are checked
   equal (``pyarrow.Table.equals``) to the single-process run's.
2. the cost of a partition: the 2-worker cluster (a fresh one for each, so that each
   worker's peak memory is that run's) on partitions of 50,000, 10,000, 2,000 and 500
   accounts: the run's wall time, the CPU time its worker processes used, fitted as
   ``per partition x partitions run + per account x accounts`` (CPU time, because the
   machine is shared: wall time says what the load allowed), and each worker's peak RSS
   (``VmHWM``).
3. a projection (computed, not measured) for ``--project-accounts`` accounts on
   ``--machines`` machines of ``--workers-per-machine`` workers in partitions of
   ``--project-partition`` accounts, from those figures, a worker having a core to itself.

With ``--compare``, ``compare-book`` instead (``--logics``, by default the six that plan
without a solver): side by side only, the one-process comparison
(``load_for_proposing`` + ``compare_book``) against ``compare-book --cluster`` on 1 and 2
workers, the comparisons' per-account numbers checked equal.

    .venv/bin/python bench/bench_cluster.py [--accounts 100000] [--repeats 2] [--row-group N]
        [--compare [--logics L1,L2]] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import math
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from _common import OUT, demo_version, emit, loadavg, log, machine, repeat_together, table
from trimtab.cluster import cluster_propose
from trimtab.cluster.plan import plan_partitions
from trimtab.cluster.run import RunTimes, local_cluster
from trimtab.core.engine import Method
from trimtab.io.batch import batch_options, write_proposals
from trimtab.io.book_run import proposal_run
from trimtab.whatif.compare import chosen_logics

AS_OF = date(2026, 11, 20)
SIZES = (50_000, 10_000, 2_000, 500)
FAST_LOGICS = (
    "rebalance_to_target",
    "rebalance_to_tolerance",
    "rebalance_to_tolerance_oot_only",
    "invest_cash_proportional",
    "invest_cash_min_trades",
    "deposit",
)
"""``--compare``'s logics by default: those that plan without a solver or household pairing
(each of the others costs about a minute of CPU per 100k accounts, ``docs/benchmarks.md``)."""


def lots_book(accounts: int) -> Path:
    """The demo book with tax lots, generated once (a marker holds the generator's version)."""
    folder = OUT / f"book-{accounts}-lots"
    marker = folder / ".complete"
    version = demo_version()
    if marker.exists() and version in marker.read_text():
        return folder
    from trimtab.io.demo import DemoSpec, demo_tables, write_book

    shutil.rmtree(folder, ignore_errors=True)
    write_book(folder, demo_tables(DemoSpec(accounts=accounts, lots=True)), "parquet")
    marker.write_text(f"DemoSpec(lots=True), seed 7, trimtab.io.demo {version}\n")
    return folder


def regrouped(book: Path, rows: int) -> Path:
    """``book`` with its tables keyed by account rewritten in row groups of ``rows`` rows
    (``trimtab demo-book`` writes pyarrow's default, about a million)."""
    folder = book.with_name(f"{book.name}-rg{rows}")
    marker = folder / ".complete"
    if marker.exists() and marker.read_text() == (book / ".complete").read_text():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    for path in book.glob("*.parquet"):
        table = pq.read_table(path)
        if "account_id" in table.column_names:
            pq.write_table(table, folder / path.name, row_group_size=rows)
        else:
            shutil.copy(path, folder / path.name)
    marker.write_text((book / ".complete").read_text())
    return folder


def peak_rss_mb() -> float:
    """This process's peak resident memory (run on each worker): ``VmHWM``, as
    ``ru_maxrss`` would count the parent's memory a spawned worker started from."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def warm_up() -> None:
    """Import what a partition runs (run on each worker before timing: a worker's first task
    would otherwise also pay its imports, once per worker, not per partition)."""
    import trimtab.cluster.tasks
    import trimtab.io.book_rules
    import trimtab.pipeline  # noqa: F401


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--partition-size", type=int, default=10_000)
    parser.add_argument("--project-accounts", type=int, default=10_000_000)
    parser.add_argument("--machines", type=int, default=8)
    parser.add_argument("--workers-per-machine", type=int, default=2)
    parser.add_argument("--project-partition", type=int, default=50_000)
    parser.add_argument(
        "--row-group",
        type=int,
        default=0,
        help="rewrite the book's tables keyed by account in row groups of this many rows",
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="compare-book instead of propose-book (side by side only)",
    )
    parser.add_argument(
        "--logics",
        default=",".join(FAST_LOGICS),
        help="with --compare: the logics compared, separated by commas",
    )
    parser.add_argument("--quick", action="store_true", help="20,000 accounts, one repeat")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.accounts, args.repeats, args.partition_size = 20_000, 1, 4_000

    book = lots_book(args.accounts)
    if args.row_group:
        book = regrouped(book, args.row_group)
    method, options = batch_options(
        method="rebalance_to_target",
        rounding="whole_shares",
        share_decimals=3,
        cash_to_generate=None,
        mccar_pct=None,
        cash_to_invest=None,
        min_trade_value=0.0,
    )
    work = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    results: dict[str, Any] = {
        "machine": machine(),
        "accounts": args.accounts,
        "row_group": args.row_group,
    }
    try:
        if args.compare:
            logics = chosen_logics(args.logics, {})
            results |= side_by_side(CompareBook(book, logics, args.partition_size), work, args)
        else:
            propose = ProposeBook(book, method, options, args.partition_size)
            results |= side_by_side(propose, work, args)
            results |= partition_costs(book, method, options, work, args.accounts)
            results["projection"] = projection(results, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["load_after"] = loadavg()
    emit(results, "" if args.json else report(results), args.json)


def workers_cpu(client: Any) -> float:
    """CPU seconds (user + system) the cluster's worker processes have used so far."""

    def cpu() -> float:
        import psutil

        times = psutil.Process().cpu_times()
        return float(times.user + times.system)

    return sum(client.run(cpu).values())


def propose_on(
    book: Path, method: Any, options: Any, out: Path, address: str, size: int
) -> RunTimes:
    return cluster_propose(
        book,
        method,
        options,
        AS_OF,
        out=out,
        status_out=out.with_suffix(".status.parquet"),
        address=address,
        partition_size=size,
    )


class Subject:
    """What is measured side by side: ``single(threads, out)`` runs it in this process,
    ``spread(address, out)`` on a cluster; ``same(a, b)`` says whether two outputs agree."""

    title: str

    def single(self, threads: int, out: Path) -> None:
        raise NotImplementedError

    def spread(self, address: str, out: Path) -> RunTimes:
        raise NotImplementedError

    def same(self, a: Path, b: Path) -> bool:
        raise NotImplementedError


class ProposeBook(Subject):
    """``propose-book``: trades and statuses written as Parquet, compared as tables."""

    def __init__(self, book: Path, method: Any, options: Any, size: int) -> None:
        self.book, self.method, self.options, self.size = book, method, options, size
        self.title = "propose-book, rebalance to target with lots"

    def single(self, threads: int, out: Path) -> None:
        done = proposal_run(self.book, self.method, self.options, AS_OF)
        write_proposals(
            done.loaded,
            done.method,
            done.options,
            out=out,
            status_out=out.with_suffix(".status.parquet"),
            workers=threads,
            rules=done.rules,
        )

    def spread(self, address: str, out: Path) -> RunTimes:
        return propose_on(self.book, self.method, self.options, out, address, self.size)

    def same(self, a: Path, b: Path) -> bool:
        return bool(
            pq.read_table(a).equals(pq.read_table(b))
            and pq.read_table(a.with_suffix(".status.parquet")).equals(
                pq.read_table(b.with_suffix(".status.parquet"))
            )
        )


class CompareBook(Subject):
    """``compare-book`` over ``logics``: the comparison's per-account numbers kept as a
    Parquet file (:func:`~trimtab.whatif.compare.comparison_table`), compared as tables."""

    def __init__(self, book: Path, logics: tuple[Method, ...], size: int) -> None:
        from trimtab.whatif.book import book_runs

        self.book, self.logics, self.size = book, logics, size
        self.runs = book_runs(logics, rounding="whole_shares", share_decimals=3, amounts={})
        self.title = (
            f"compare-book with lots, {len(logics)} logics ({', '.join(m.value for m in logics)})"
        )

    def single(self, threads: int, out: Path) -> None:
        from trimtab.io.book_run import load_for_proposing
        from trimtab.whatif.book import compare_book
        from trimtab.whatif.compare import comparison_table

        loaded, rules = load_for_proposing(self.book, self.logics, AS_OF)
        compared = compare_book(loaded, self.runs, rules=rules, workers=threads)
        pq.write_table(comparison_table(compared), out)

    def spread(self, address: str, out: Path) -> RunTimes:
        from trimtab.cluster import cluster_compare
        from trimtab.whatif.compare import comparison_table
        from trimtab.whatif.figures import TaxRates

        compared, times = cluster_compare(
            self.book,
            self.runs,
            AS_OF,
            TaxRates(),
            out=out,
            address=address,
            partition_size=self.size,
        )
        pq.write_table(comparison_table(compared), out)
        return times

    def same(self, a: Path, b: Path) -> bool:
        return bool(pq.read_table(a).equals(pq.read_table(b)))


def side_by_side(subject: Subject, work: Path, args: Any) -> dict[str, Any]:
    from distributed import Client

    started = time.perf_counter()
    one, two = local_cluster(1), local_cluster(2)
    log(f"two local clusters started in {time.perf_counter() - started:.1f} s")
    runs: dict[str, list[tuple[RunTimes, float]]] = {
        "cluster, 1 worker": [],
        "cluster, 2 workers": [],
    }

    def single(threads: int) -> Callable[[], None]:
        return lambda: subject.single(threads, work / f"single-{threads}.parquet")

    def spread(name: str, client: Any) -> Callable[[], None]:
        def run() -> None:
            before = workers_cpu(client)
            times = subject.spread(client.scheduler.address, work / f"{name}.parquet")
            runs[name].append((times, workers_cpu(client) - before))

        return run

    load = loadavg()
    with one, two, Client(one) as c1, Client(two) as c2:  # type: ignore[no-untyped-call]
        timings = repeat_together(
            {
                "one process, 1 thread": single(1),
                "cluster, 1 worker": spread("cluster, 1 worker", c1),
                "cluster, 2 workers": spread("cluster, 2 workers", c2),
                "one process, 2 threads": single(2),
            },
            args.repeats,
        )
    runs = {name: done[-args.repeats :] for name, done in runs.items()}  # not the warm-up
    expected = work / "single-1.parquet"
    same = {name: subject.same(expected, work / f"{name}.parquet") for name in runs}
    if not all(same.values()):
        raise SystemExit(f"cluster output differs from the single-process run: {same}")
    return {
        "subject": subject.title,
        "partition_size": args.partition_size,
        "load_before": load,
        "timings": {name: t.as_dict() for name, t in timings.items()},
        "phases": {
            name: {
                "plan_s": float(np.median([t.plan for t, _ in done])),
                "run_s": float(np.median([t.run for t, _ in done])),
                "assemble_s": float(np.median([t.assemble for t, _ in done])),
                "workers_cpu_s": float(np.median([c for _, c in done])),
                "partitions": done[-1][0].partitions,
                "run_again": done[-1][0].again,
            }
            for name, done in runs.items()
        },
        "outputs_equal": same,
    }


def partition_costs(
    book: Path, method: Any, options: Any, work: Path, accounts: int
) -> dict[str, Any]:
    """One run per partition size, each on a fresh 2-worker cluster (so that each worker's
    peak memory is that run's): wall times, the workers' CPU time and peak memory."""
    from distributed import Client

    rows = []
    for size in SIZES:
        with local_cluster(2) as cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
            client.run(warm_up)
            before = workers_cpu(client)
            out = work / f"size-{size}.parquet"
            times = propose_on(book, method, options, out, cluster.scheduler_address, size)
            cpu = workers_cpu(client) - before
            rss = list(client.run(peak_rss_mb).values())
        largest = max(len(p.account_ids) for p in plan_partitions(book, grouped=True, size=size))
        rows.append(
            {
                "partition_size": size,
                "largest_partition": largest,
                "partitions": times.partitions,
                "run_again": times.again,
                "run_s": times.run,
                "assemble_s": times.assemble,
                "workers_cpu_s": cpu,
                "worker_peak_rss_mb": max(rss),
            }
        )
        log(f"{size} accounts per partition: {rows[-1]}")
    # Workers' CPU = fixed x partitions run + per account x accounts (all runs: the book).
    tasks = np.array([r["partitions"] + r["run_again"] for r in rows], dtype=float)
    cpu = np.array([r["workers_cpu_s"] for r in rows])
    fixed, every = np.polyfit(tasks, cpu, 1)
    largest = np.array([r["largest_partition"] for r in rows], dtype=float)
    rss = np.array([r["worker_peak_rss_mb"] for r in rows])
    mb_per_account, mb_base = np.polyfit(largest, rss, 1)
    return {
        "partition_costs": rows,
        "fit": {
            "cpu_s_per_partition": float(fixed),
            "cpu_s_per_account": float(every / accounts),
            "worker_base_mb": float(mb_base),
            "worker_mb_per_account": float(mb_per_account),
        },
    }


def projection(results: dict[str, Any], args: Any) -> dict[str, Any]:
    """Computed from the measured costs; nothing here ran at that size. A worker is taken
    to have a core of its own (its partition's wall time = its CPU time)."""
    fit = results["fit"]
    n, size = args.project_accounts, args.project_partition
    workers = args.machines * args.workers_per_machine
    partitions = math.ceil(n / size)
    rounds = math.ceil(partitions / workers)
    task = fit["cpu_s_per_partition"] + fit["cpu_s_per_account"] * size
    two = results["phases"]["cluster, 2 workers"]
    plan = two["plan_s"] / results["accounts"] * n
    # The client's CPU time (plan, coordination and writing the output), its own core taken
    # as for the workers; the assembly's wall time under today's load, for comparison.
    client = results["timings"]["cluster, 2 workers"]["cpu_median_s"]
    assemble = max(client - two["plan_s"], 0.0) / results["accounts"] * n
    return {
        "accounts": n,
        "machines": args.machines,
        "workers": workers,
        "partition_size": size,
        "partitions": partitions,
        "rounds": rounds,
        "task_s": task,
        "worker_memory_mb": fit["worker_base_mb"] + fit["worker_mb_per_account"] * size,
        "plan_s": plan,
        "run_s": rounds * task,
        "assemble_s": assemble,
        "assemble_wall_today_s": two["assemble_s"] / results["accounts"] * n,
        "total_s": plan + rounds * task + assemble,
    }


def report(results: dict[str, Any]) -> str:
    out: list[str] = []
    t, ph = results["timings"], results["phases"]
    base = t["one process, 1 thread"]
    out.append(
        f"{results['accounts']:,} accounts, {results['subject']}, "
        f"{results['partition_size']:,} accounts per partition, "
        f"row groups {results['row_group'] or 'as demo-book writes them'}, {results['machine']}"
    )
    out.append(f"load before {results['load_before']}, after {results['load_after']}")
    rows = []
    for name, v in t.items():
        workers = ph[name]["workers_cpu_s"] if name in ph else 0.0
        cpu = v["cpu_median_s"] + workers
        rows.append(
            [
                name,
                f"{v['best_s']:.2f}",
                f"{v['median_s']:.2f}",
                f"{v['median_s'] / base['median_s']:.2f}",
                f"{cpu:.1f}",
                f"{cpu / base['cpu_median_s']:.2f}",
            ]
        )
    out.append(table(["run", "best s", "median s", "x one", "CPU s (all)", "CPU x one"], rows))
    out.append(
        table(
            ["cluster", "plan s", "run s", "assemble s", "workers CPU s", "partitions", "again"],
            [
                [
                    name,
                    f"{v['plan_s']:.2f}",
                    f"{v['run_s']:.2f}",
                    f"{v['assemble_s']:.2f}",
                    f"{v['workers_cpu_s']:.1f}",
                    v["partitions"],
                    v["run_again"],
                ]
                for name, v in ph.items()
            ],
        )
    )
    one, two = ph["cluster, 1 worker"], ph["cluster, 2 workers"]
    threads = t["one process, 1 thread"]["median_s"] / (2 * t["one process, 2 threads"]["median_s"])
    wall = one["run_s"] / (2 * two["run_s"])
    out.append(
        f"scaling efficiency of the run phase, 1 -> 2 workers: wall {wall:.0%}, "
        f"CPU {one['workers_cpu_s'] / two['workers_cpu_s']:.0%}; "
        f"one process, 1 -> 2 threads, wall: {threads:.0%}"
    )
    if "partition_costs" not in results:  # --compare: side by side only
        return "\n".join(out)
    out.append(
        table(
            [
                "accounts/partition",
                "partitions",
                "again",
                "run s",
                "workers CPU s",
                "worker peak MB",
            ],
            [
                [
                    r["partition_size"],
                    r["partitions"],
                    r["run_again"],
                    f"{r['run_s']:.2f}",
                    f"{r['workers_cpu_s']:.1f}",
                    f"{r['worker_peak_rss_mb']:.0f}",
                ]
                for r in results["partition_costs"]
            ],
        )
    )
    f = results["fit"]
    out.append(
        f"partition CPU = {f['cpu_s_per_partition']:.3f} s + {f['cpu_s_per_account'] * 1e6:.1f} "
        f"us/account; worker memory = {f['worker_base_mb']:.0f} MB + "
        f"{f['worker_mb_per_account'] * 1e3:.2f} MB per 1,000 accounts"
    )
    p = results["projection"]
    out.append(
        f"PROJECTION (computed, not run): {p['accounts']:,} accounts on {p['machines']} machines "
        f"x {p['workers'] // p['machines']} workers, {p['partitions']} partitions of "
        f"{p['partition_size']:,} in {p['rounds']} rounds of {p['task_s']:.1f} s; "
        f"~{p['worker_memory_mb']:.0f} MB per worker; plan {p['plan_s']:.0f} s + run "
        f"{p['run_s']:.0f} s + assemble {p['assemble_s']:.0f} s = {p['total_s']:.0f} s "
        f"(assembly at today's wall time: {p['assemble_wall_today_s']:.0f} s)"
    )
    return "\n".join(out)


if __name__ == "__main__":
    main()
