"""Goal 1: drift evaluation in memory, at least 3 million accounts per second.

The book is read once (not timed) into ``BookArrays``; then ``drift_book(arrays, workers=2)``
is timed, best and median of ``--repeats`` runs after one warm-up run.

    .venv/bin/python bench/bench_drift.py [--accounts 10000 100000 1000000] [--json]
"""

from __future__ import annotations

import time
from typing import Any

import _common as c

GOAL = 3_000_000
"""Accounts per second."""


def run(sizes: tuple[int, ...], repeats: int, workers: int) -> dict[str, Any]:
    from trimtab.core.book import drift_book
    from trimtab.io.book import read_book

    rows = []
    before = c.loadavg()
    for n in sizes:
        folder = c.ensure_book(n)
        t0 = time.perf_counter()
        arrays = read_book(folder).arrays
        read_s = time.perf_counter() - t0
        c.log(f"drift: {n:,} accounts read in {read_s:.2f} s, K={arrays.quantity.shape[1]}")
        timing = c.repeat(lambda arrays=arrays: drift_book(arrays, workers=workers), repeats)
        rows.append(
            {
                "accounts": n,
                "slots": int(arrays.quantity.shape[1]),
                "workers": workers,
                **timing.as_dict(),
                "accounts_per_s_best": n / timing.best,
                "accounts_per_s_median": n / timing.median,
                "goal_accounts_per_s": GOAL,
                "met": n / timing.best >= GOAL,
                "met_at_median": n / timing.median >= GOAL,
                "load_1min": c.loadavg()[0],
            }
        )
        del arrays
    return {
        "benchmark": "drift_memory",
        "goal": f">= {GOAL:,} accounts/s (drift_book, workers={workers}, book in memory)",
        "repeats": repeats,
        "load_before": before,
        "load_after": c.loadavg(),
        "machine": c.machine(),
        "results": rows,
    }


def render(result: dict[str, Any]) -> str:
    rows = [
        (
            r["accounts"],
            r["best_s"] * 1000,
            r["median_s"] * 1000,
            r["accounts_per_s_best"],
            r["accounts_per_s_median"],
            r["cpu_best_s"] * 1000,
            c.verdict(r["met"]),
            r["load_1min"],
        )
        for r in result["results"]
    ]
    head = (
        "accounts",
        "best ms",
        "median ms",
        "acc/s best",
        "acc/s median",
        "cpu ms",
        "goal",
        "load",
    )
    return c.report(f"Drift in memory — goal {result['goal']}", head, rows, result)


def main() -> None:
    c.main_over_sizes(__doc__, run, render)


if __name__ == "__main__":
    main()
