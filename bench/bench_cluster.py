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
2. the cost of a partition: the 2-worker cluster (restarted before each, so that each
   worker's peak memory is that run's) on partitions of 50,000, 10,000, 2,000 and 500
   accounts; every task's compute time from the scheduler's task stream, fitted as
   ``fixed + per_account x accounts``, the gap between the run's wall time and its tasks'
   (scheduling and transfers), and each worker's peak RSS.
3. a projection (computed, not measured) for ``--project-accounts`` accounts on
   ``--machines`` machines of ``--workers-per-machine`` workers, from those figures.

    .venv/bin/python bench/bench_cluster.py [--accounts 100000] [--repeats 2] [--json]
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
from trimtab.io.batch import batch_options, write_proposals
from trimtab.io.book_run import proposal_run

AS_OF = date(2026, 11, 20)
SIZES = (50_000, 10_000, 2_000, 500)


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
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    book = lots_book(args.accounts)
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
    results: dict[str, Any] = {"machine": machine(), "accounts": args.accounts}
    try:
        results |= side_by_side(book, method, options, work, args)
        results |= partition_costs(book, method, options, work)
        results["projection"] = projection(results, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["load_after"] = loadavg()
    emit(results, "" if args.json else report(results), args.json)


def side_by_side(book: Path, method: Any, options: Any, work: Path, args: Any) -> dict[str, Any]:
    started = time.perf_counter()
    one, two = local_cluster(1), local_cluster(2)
    log(f"two local clusters started in {time.perf_counter() - started:.1f} s")
    phases: dict[str, list[RunTimes]] = {"cluster, 1 worker": [], "cluster, 2 workers": []}

    def single(threads: int) -> Callable[[], None]:
        def run() -> None:
            done = proposal_run(book, method, options, AS_OF)
            out = work / f"single-{threads}.parquet"
            write_proposals(
                done.loaded,
                done.method,
                done.options,
                out=out,
                status_out=out.with_suffix(".status.parquet"),
                workers=threads,
                rules=done.rules,
            )

        return run

    def spread(name: str, address: str) -> Callable[[], None]:
        def run() -> None:
            out = work / f"{name}.parquet"
            phases[name].append(
                cluster_propose(
                    book,
                    method,
                    options,
                    AS_OF,
                    out=out,
                    status_out=out.with_suffix(".status.parquet"),
                    address=address,
                    partition_size=args.partition_size,
                )
            )

        return run

    load = loadavg()
    with one, two:
        timings = repeat_together(
            {
                "one process, 1 thread": single(1),
                "cluster, 1 worker": spread("cluster, 1 worker", one.scheduler_address),
                "cluster, 2 workers": spread("cluster, 2 workers", two.scheduler_address),
                "one process, 2 threads": single(2),
            },
            args.repeats,
        )
    same = {}
    expected = pq.read_table(work / "single-1.parquet")
    for name in phases:
        same[name] = pq.read_table(work / f"{name}.parquet").equals(expected) and pq.read_table(
            work / f"{name}.status.parquet"
        ).equals(pq.read_table(work / "single-1.status.parquet"))
    if not all(same.values()):
        raise SystemExit(f"cluster output differs from the single-process run: {same}")
    return {
        "partition_size": args.partition_size,
        "load_before": load,
        "timings": {name: t.as_dict() for name, t in timings.items()},
        "phases": {
            name: {
                "plan_s": float(np.median([r.plan for r in runs])),
                "run_s": float(np.median([r.run for r in runs])),
                "assemble_s": float(np.median([r.assemble for r in runs])),
                "partitions": runs[-1].partitions,
                "run_again": runs[-1].again,
            }
            for name, runs in phases.items()
        },
        "outputs_equal": same,
    }


def partition_costs(book: Path, method: Any, options: Any, work: Path) -> dict[str, Any]:
    from distributed import Client, get_task_stream

    rows = []
    durations: list[tuple[int, float]] = []
    for size in SIZES:  # a fresh cluster for each: its workers' peak memory is this run's
        with local_cluster(2) as cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
            client.run(warm_up)
            out = work / f"size-{size}.parquet"
            with get_task_stream(client) as stream:  # type: ignore[no-untyped-call]
                times = cluster_propose(
                    book,
                    method,
                    options,
                    AS_OF,
                    out=out,
                    status_out=out.with_suffix(".status.parquet"),
                    address=cluster.scheduler_address,
                    partition_size=size,
                )
            rss = list(client.run(peak_rss_mb).values())
            tasks = [t for t in stream.data if str(t["key"]).startswith("trimtab-partition-")]
            spent = [
                sum(s["stop"] - s["start"] for s in t["startstops"] if s["action"] == "compute")
                for t in tasks
            ]
            counts = [len(p.account_ids) for p in plan_partitions(book, grouped=True, size=size)]
            accounts = [counts[int(str(t["key"]).split("-")[3])] for t in tasks]
            durations += list(zip(accounts, spent, strict=True))
            rows.append(
                {
                    "partition_size": size,
                    "partitions": times.partitions,
                    "run_again": times.again,
                    "plan_s": times.plan,
                    "run_s": times.run,
                    "assemble_s": times.assemble,
                    "task_s_sum": sum(spent),
                    "task_s_mean": sum(spent) / len(spent),
                    "gap_per_partition_s": (times.run * 2 - sum(spent)) / times.partitions,
                    "worker_peak_rss_mb": max(rss),
                }
            )
            log(f"{size} accounts per partition: {rows[-1]}")
    x = np.array([a for a, _ in durations], dtype=float)
    y = np.array([d for _, d in durations])
    per_account, fixed = np.polyfit(x, y, 1)
    sizes = np.array([r["partition_size"] for r in rows], dtype=float)
    rss = np.array([r["worker_peak_rss_mb"] for r in rows])
    mb_per_account, mb_base = np.polyfit(sizes, rss, 1)
    return {
        "partition_costs": rows,
        "fit": {
            "fixed_s_per_partition": float(fixed),
            "s_per_account": float(per_account),
            "worker_base_mb": float(mb_base),
            "worker_mb_per_account": float(mb_per_account),
        },
    }


def projection(results: dict[str, Any], args: Any) -> dict[str, Any]:
    """Computed from the measured costs; nothing here ran at that size."""
    fit = results["fit"]
    n, size = args.project_accounts, args.project_partition
    workers = args.machines * args.workers_per_machine
    partitions = math.ceil(n / size)
    rounds = math.ceil(partitions / workers)
    task = fit["fixed_s_per_partition"] + fit["s_per_account"] * size
    two = results["phases"]["cluster, 2 workers"]
    many = [r for r in results["partition_costs"] if r["partitions"] >= 8]  # workers all busy
    gap = float(np.median([r["gap_per_partition_s"] for r in many])) if many else 0.0
    per_account_plan = two["plan_s"] / results["accounts"]
    per_account_assemble = two["assemble_s"] / results["accounts"]
    run = rounds * (task + max(gap, 0.0))
    return {
        "accounts": n,
        "machines": args.machines,
        "workers": workers,
        "partition_size": size,
        "partitions": partitions,
        "rounds": rounds,
        "task_s": task,
        "worker_memory_mb": fit["worker_base_mb"] + fit["worker_mb_per_account"] * size,
        "plan_s": per_account_plan * n,
        "run_s": run,
        "assemble_s": per_account_assemble * n,
        "total_s": per_account_plan * n + run + per_account_assemble * n,
    }


def report(results: dict[str, Any]) -> str:
    out: list[str] = []
    t = results["timings"]
    base = t["one process, 1 thread"]["median_s"]
    out.append(
        f"{results['accounts']:,} accounts, rebalance to target with lots, {results['machine']}"
    )
    out.append(f"load before {results['load_before']}, after {results['load_after']}")
    out.append(
        table(
            ["run", "best s", "median s", "x one process"],
            [
                [name, f"{v['best_s']:.2f}", f"{v['median_s']:.2f}", f"{v['median_s'] / base:.2f}"]
                for name, v in t.items()
            ],
        )
    )
    ph = results["phases"]
    out.append(
        table(
            ["cluster", "plan s", "run s", "assemble s", "partitions", "run again"],
            [
                [
                    name,
                    f"{v['plan_s']:.2f}",
                    f"{v['run_s']:.2f}",
                    f"{v['assemble_s']:.2f}",
                    v["partitions"],
                    v["run_again"],
                ]
                for name, v in ph.items()
            ],
        )
    )
    one, two = ph["cluster, 1 worker"]["run_s"], ph["cluster, 2 workers"]["run_s"]
    whole1 = t["cluster, 1 worker"]["median_s"]
    whole2 = t["cluster, 2 workers"]["median_s"]
    out.append(
        f"scaling efficiency, run phase: {one / (2 * two):.0%}; whole command: "
        f"{whole1 / (2 * whole2):.0%}"
    )
    out.append(
        table(
            [
                "accounts/partition",
                "partitions",
                "run s",
                "task s mean",
                "gap s/partition",
                "worker peak MB",
            ],
            [
                [
                    r["partition_size"],
                    r["partitions"],
                    f"{r['run_s']:.2f}",
                    f"{r['task_s_mean']:.3f}",
                    f"{r['gap_per_partition_s']:.3f}",
                    f"{r['worker_peak_rss_mb']:.0f}",
                ]
                for r in results["partition_costs"]
            ],
        )
    )
    f = results["fit"]
    out.append(
        f"task = {f['fixed_s_per_partition']:.3f} s + {f['s_per_account'] * 1e6:.1f} us/account; "
        f"worker memory = {f['worker_base_mb']:.0f} MB + {f['worker_mb_per_account'] * 1e3:.2f} "
        "MB per 1,000 accounts"
    )
    p = results["projection"]
    out.append(
        f"PROJECTION (computed, not run): {p['accounts']:,} accounts on {p['machines']} machines "
        f"x {p['workers'] // p['machines']} workers, {p['partitions']} partitions of "
        f"{p['partition_size']:,} in {p['rounds']} rounds of {p['task_s']:.1f} s; "
        f"~{p['worker_memory_mb']:.0f} MB per worker; plan {p['plan_s']:.0f} s + run "
        f"{p['run_s']:.0f} s + assemble {p['assemble_s']:.0f} s = {p['total_s']:.0f} s"
    )

    return "\n".join(out)


if __name__ == "__main__":
    main()
