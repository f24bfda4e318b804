"""``trimtab backtest``: a 1,000-account book replayed over 10 years of daily prices.

The book is the demo book (``DemoSpec`` defaults, with tax lots) of ``--accounts``
accounts; the history is ``demo-prices`` over ``--years`` of NYSE days (seed 1, dividends),
with seeded cash flows (about two a year per account). Each policy runs once with
rebalance to target; the table gives wall and process CPU seconds, accounts x days per
second (wall), the days and accounts that traded, and the load average.

    .venv/bin/python bench/bench_backtest.py [--accounts 1000] [--years 10]
        [--policies hold,calendar:quarterly,...] [--logic rebalance_to_target] [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

import _common as c

POLICIES = "hold,cash-flow,calendar:annual,calendar:quarterly,calendar:monthly,bands,triggers"


def inputs(accounts: int, years: float) -> tuple[Path, Path, Path]:
    """The book, its history and its flows under ``bench/out/``, made once."""
    from datetime import date

    from trimtab.backtest.generate import (
        HistorySpec,
        book_values,
        generate_flows,
        generate_history,
    )
    from trimtab.io.book import read_book
    from trimtab.io.demo import DemoSpec, demo_tables, write_book

    folder = c.OUT / f"backtest-{accounts}-{years:g}y"
    book, prices, flows = folder / "book", folder / "prices.parquet", folder / "flows.parquet"
    if not (folder / ".complete").exists():
        tables = demo_tables(DemoSpec(accounts=accounts, lots=True))
        write_book(book, tables, "parquet")
        history = generate_history(tables["prices"], HistorySpec(years, 1, date(2026, 11, 20)))
        pq.write_table(history, prices)
        ids = tables["accounts"].column("account_id").to_pylist()
        values = book_values(read_book(book).arrays)
        pq.write_table(generate_flows(ids, values, history, 1), flows)
        (folder / ".complete").write_text("done\n")
    return book, prices, flows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--years", type=float, default=10.0)
    parser.add_argument("--policies", default=POLICIES)
    parser.add_argument("--logic", default="rebalance_to_target")
    parser.add_argument("--quick", action="store_true", help="100 accounts, 2 years")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.accounts, args.years = 100, 2.0
    from trimtab.backtest.policies import parse_policies
    from trimtab.backtest.run import Run, run_policy
    from trimtab.backtest.setup import load_setup
    from trimtab.core.engine import Method
    from trimtab.options import trade_options

    book, prices, flows = inputs(args.accounts, args.years)
    t0 = time.perf_counter()
    setup = load_setup(book, prices, flows)
    load_s = time.perf_counter() - t0
    method = Method(args.logic)
    rows: list[dict[str, Any]] = []
    for policy in parse_policies(args.policies):
        run = Run(policy, None if policy.kind == "hold" else method)
        c.log(f"running {run.name}")
        wall, cpu = time.perf_counter(), time.process_time()
        result = run_policy(setup, run, trade_options(method))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rows.append(
            {
                "policy": run.name,
                "seconds": round(wall, 2),
                "cpu_seconds": round(cpu, 2),
                "account_days_per_s": round(setup.size * setup.history.size / wall),
                "trading_days": int((result.events > 0).sum()),
                "rebalance_events": int(result.events.sum()),
                "trades": int(result.trades.sum()),
                "lots_at_end": result.lots.size,
                "load_1m": c.loadavg()[0],
            }
        )
    report = {
        "accounts": setup.size,
        "days": setup.history.size,
        "load_inputs_s": round(load_s, 2),
        "machine": c.machine(),
        "runs": rows,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{setup.size} accounts x {setup.history.size} days (inputs read in {load_s:.1f} s)")
    print(c.table(list(rows[0]), [list(r.values()) for r in rows]))


if __name__ == "__main__":
    main()
