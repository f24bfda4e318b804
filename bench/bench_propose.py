"""Goal 2: rebalance-to-target proposals in memory, at least 500 thousand accounts per second.

The book is read once (not timed). Three variants are timed, best and median of
``--repeats`` runs after one warm-up run, all with ``workers=2``:

- ``proposals``: iterate ``propose_book(arrays, Method.REBALANCE_TO_TARGET)``, output unused;
- ``trade rows``: the same, also extracting the non-``none`` trade lines (account, symbol,
  shares, order and trade dollars) into flat arrays as ``propose_tables`` does;
- ``tables``: ``trimtab.io.batch.propose_tables`` itself: trade rows plus the Arrow trade and
  status tables with their strings (what ``trimtab propose-book`` writes).

    .venv/bin/python bench/bench_propose.py [--accounts 10000 100000 1000000] [--json]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

import _common as c

GOAL = 500_000
"""Accounts per second."""


def proposals_only(arrays: Any, workers: int) -> int:
    from trimtab.core.book import propose_book
    from trimtab.core.engine import Method

    n = 0
    for _start, _stop, p in propose_book(arrays, Method.REBALANCE_TO_TARGET, workers=workers):
        n += p.status.shape[0]
    return n


def trade_rows(arrays: Any, workers: int) -> int:
    """Non-none trade lines as flat arrays, the extraction of ``propose_tables``."""
    from trimtab.core.book import propose_book
    from trimtab.core.engine import Method

    acc, sym, qty, ov, tv = [], [], [], [], []
    for start, _stop, p in propose_book(arrays, Method.REBALANCE_TO_TARGET, workers=workers):
        rows, cols = np.nonzero(p.quantity)
        acc.append(rows + start)
        sym.append(arrays.slot_symbol[start + rows, cols])
        qty.append(p.quantity[rows, cols])
        ov.append(p.order_value[rows, cols])
        tv.append(p.trade_value[rows, cols])
    flat = [np.concatenate(parts) for parts in (acc, sym, qty, ov, tv)]
    return int(flat[0].size)


def full_tables(loaded: Any, workers: int) -> int:
    from trimtab.core.engine import Method, TradeOptions
    from trimtab.io.batch import propose_tables

    trades, _statuses = propose_tables(
        loaded, Method.REBALANCE_TO_TARGET, TradeOptions(), workers=workers
    )
    return int(trades.num_rows)


def run(sizes: tuple[int, ...], repeats: int, workers: int) -> dict[str, Any]:
    from trimtab.io.book import read_book

    rows = []
    before = c.loadavg()
    for n in sizes:
        folder = c.ensure_book(n)
        t0 = time.perf_counter()
        loaded = read_book(folder)
        c.log(f"propose: {n:,} accounts read in {time.perf_counter() - t0:.2f} s")
        arrays = loaded.arrays
        variants: list[tuple[str, Callable[[], int]]] = [
            ("proposals", lambda a=arrays: proposals_only(a, workers)),
            ("trade rows", lambda a=arrays: trade_rows(a, workers)),
            ("tables", lambda lb=loaded: full_tables(lb, workers)),
        ]
        trades = trade_rows(arrays, workers)
        for name, work in variants:
            timing = c.repeat(work, repeats)
            rows.append(
                {
                    "accounts": n,
                    "variant": name,
                    "trade_rows": trades,
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
        del loaded, arrays, variants
    return {
        "benchmark": "propose_memory",
        "goal": f">= {GOAL:,} accounts/s (rebalance_to_target, workers={workers}, in memory)",
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
            r["variant"],
            r["trade_rows"],
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
        "variant",
        "trades",
        "best ms",
        "median ms",
        "acc/s best",
        "acc/s median",
        "cpu ms",
        "goal",
        "load",
    )
    return c.report(
        f"Rebalance-to-target proposals in memory — goal {result['goal']}", head, rows, result
    )


def main() -> None:
    c.main_over_sizes(__doc__, run, render)


if __name__ == "__main__":
    main()
