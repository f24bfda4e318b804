"""Goal 4: peak memory for 1M accounts, at most 2 GB.

A subprocess (this script with ``--worker``) reads the 1M-account Parquet book with
``read_book``, runs ``drift_book`` and then rebalance-to-target over every account, the way
``trimtab propose-book`` does (``write_proposals``: trades and statuses streamed chunk by chunk
to Parquet files under ``bench/out/memory/``). Its peak resident set size is the kernel's
high-water mark (``ru_maxrss``, so no sampling gaps); the worker also reports its RSS after
each phase. Other variants: ``tables`` builds the whole book's trade and status tables in
memory (``propose_tables``); ``iterate`` runs ``propose_book`` without output tables.

    .venv/bin/python bench/bench_memory.py [--accounts 1000000] [--json]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import _common as c

GOAL_MB = 2048.0
"""2 GB, in MiB (the goal read as binary gigabytes; 2e9 bytes is 1907 MiB, reported too)."""


def worker(folder: Path, variant: str) -> None:
    """Run in the child: read, drift, propose; print phase RSS as one JSON line."""
    import psutil

    proc = psutil.Process()
    phases: list[dict[str, Any]] = []

    def mark(name: str, t0: float) -> None:
        phases.append(
            {
                "phase": name,
                "seconds": time.perf_counter() - t0,
                "rss_mb": proc.memory_info().rss / 2**20,
                "peak_so_far_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
            }
        )

    t0 = time.perf_counter()
    from trimtab.core.book import drift_book, propose_book
    from trimtab.core.engine import Method, TradeOptions
    from trimtab.io.batch import propose_tables
    from trimtab.io.book import read_book

    mark("imports", t0)
    import inspect

    # Read as the batch commands do: without keeping the raw positions table once laid out,
    # when this version of read_book offers that.
    lean = "keep_positions" in inspect.signature(read_book).parameters
    t0 = time.perf_counter()
    loaded = read_book(folder, keep_positions=False) if lean else read_book(folder)
    mark("read_book" + (" (keep_positions=False)" if lean else ""), t0)
    t0 = time.perf_counter()
    drift = drift_book(loaded.arrays, workers=2)
    mark("drift_book", t0)
    del drift
    t0 = time.perf_counter()
    if variant == "stream":
        from trimtab.io.batch import write_proposals

        out = c.OUT / "memory"
        out.mkdir(parents=True, exist_ok=True)
        write_proposals(
            loaded,
            Method.REBALANCE_TO_TARGET,
            TradeOptions(),
            out=out / "trades.parquet",
            status_out=out / "trades.status.parquet",
            workers=2,
        )
        import pyarrow.parquet as pq

        rows = pq.ParquetFile(out / "trades.parquet").metadata.num_rows
        mark("write_proposals", t0)
    elif variant == "tables":
        trades, statuses = propose_tables(
            loaded, Method.REBALANCE_TO_TARGET, TradeOptions(), workers=2
        )
        rows = trades.num_rows
        mark("propose_tables", t0)
        del trades, statuses
    else:
        rows = 0
        for _s, _e, p in propose_book(loaded.arrays, Method.REBALANCE_TO_TARGET, workers=2):
            rows += int((p.quantity != 0).sum())
        mark("propose_book", t0)
    sys.stdout.write(json.dumps({"phases": phases, "trade_rows": rows}) + "\n")


def measure(folder: Path, variant: str) -> dict[str, Any]:
    import subprocess

    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [c.PYTHON, __file__, "--worker", str(folder), "--variant", variant],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = proc.communicate()
    # communicate() has reaped the child; its usage is in RUSAGE_CHILDREN. That is a maximum
    # over all children so far, so each measurement runs in a fresh parent (see run()).
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"worker failed: {err.decode(errors='replace')[-2000:]}")
    detail = json.loads(out.decode().strip().splitlines()[-1])
    return {
        "variant": variant,
        "wall_s": time.perf_counter() - t0,
        "peak_rss_mb": usage.ru_maxrss / 1024.0,
        **detail,
    }


def run(accounts: int, variants: list[str]) -> dict[str, Any]:
    import subprocess

    folder = c.ensure_book(accounts)
    before = c.loadavg()
    rows = []
    for variant in variants:
        c.log(f"memory: {accounts:,} accounts, {variant}")
        # A fresh parent per variant, so RUSAGE_CHILDREN holds that one worker alone.
        out = subprocess.run(
            [c.PYTHON, __file__, "--measure", str(folder), "--variant", variant],
            check=True,
            capture_output=True,
        ).stdout
        row = json.loads(out.decode())
        row["accounts"] = accounts
        row["goal_mb"] = GOAL_MB
        row["met"] = row["peak_rss_mb"] <= GOAL_MB
        row["met_decimal_2e9_bytes"] = row["peak_rss_mb"] * 2**20 <= 2e9
        rows.append(row)
    return {
        "benchmark": "peak_memory",
        "goal": "peak RSS <= 2 GB (2048 MiB) for read + drift + rebalance to target",
        "book": str(folder),
        "load_before": before,
        "load_after": c.loadavg(),
        "machine": c.machine(),
        "results": rows,
    }


def render(r: dict[str, Any]) -> str:
    rows = [
        (
            x["variant"],
            x["accounts"],
            x["trade_rows"],
            x["wall_s"],
            x["peak_rss_mb"],
            c.verdict(x["met"]),
        )
        for x in r["results"]
    ]
    head = ("variant", "accounts", "trades", "wall s", "peak MiB", "goal")
    lines = [
        f"Peak memory — goal {r['goal']}",
        c.table(head, rows),
        "",
        "RSS after each phase (MiB):",
    ]
    for x in r["results"]:
        phases = ", ".join(
            f"{p['phase']} {p['rss_mb']:.0f} (peak {p['peak_so_far_mb']:.0f}, {p['seconds']:.1f} s)"
            for p in x["phases"]
        )
        lines.append(f"  {x['variant']}: {phases}")
    lines.append(c.load_note(r["load_before"], r["load_after"]))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--quick", action="store_true", help="100k accounts instead of 1M")
    parser.add_argument(
        "--variant",
        choices=("stream", "tables", "iterate", "all"),
        default="all",
        help="what to run after reading and drift",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.variant)
        return
    if args.measure:
        sys.stdout.write(json.dumps(measure(args.measure, args.variant)) + "\n")
        return
    variants = ["stream", "tables", "iterate"] if args.variant == "all" else [args.variant]
    sizes = [100_000] if args.quick and args.accounts == [1_000_000] else args.accounts
    c.emit_all([run(n, variants) for n in sizes], render, args.json)


if __name__ == "__main__":
    main()
