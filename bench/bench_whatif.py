"""The what-if at book speed: ``trimtab compare-book`` against ``propose-book``, end to end.

On the demo book (``_common.ensure_book``, 100k accounts by default), each command runs as
a subprocess, the commands taken in turn, ``--repeats`` times after a warm-up:

- for each logic L: ``trimtab propose-book BOOK --logic L --out OUT.parquet`` and
  ``trimtab compare-book BOOK --logics L`` (the ratio is the what-if's cost over proposing);
- all the logics at once: ``trimtab compare-book BOOK --logics L1,L2,...`` against the sum
  of the ``propose-book`` runs, and the same with ``--out DIR`` (CSV, Parquet and the HTML
  report written).

The default logics are those that plan without a solver; ``--logics`` names others (Best
Fit, Minimum Transaction and household rebalance take a solver or household pairing per
account: as long in ``compare-book`` as in ``propose-book``).

    .venv/bin/python bench/bench_whatif.py [--accounts 100000] [--repeats 3] [--logics ...]
        [--no-warmup] [--json]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

import _common as c

FAST = (
    "rebalance_to_target",
    "rebalance_to_tolerance",
    "rebalance_to_tolerance_oot_only",
    "invest_cash_proportional",
    "invest_cash_min_trades",
    "deposit",
)
TRIMTAB = str(c.ROOT / ".venv" / "bin" / "trimtab")


def _timed(
    commands: dict[str, list[str]], repeats: int, warmup: bool
) -> dict[str, list[c.ProcessRun]]:
    """Each command ``repeats`` times after one warm-up each (unless not ``warmup``), taken
    in turn."""
    for cmd in commands.values() if warmup else ():
        c.run_process(cmd)
    runs: dict[str, list[c.ProcessRun]] = {name: [] for name in commands}
    for _ in range(repeats):
        for name, cmd in commands.items():
            run = c.run_process(cmd)
            if run.returncode != 0:
                raise SystemExit(f"{name} failed")
            runs[name].append(run)
    return runs


def run(accounts: int, repeats: int, logics: list[str], warmup: bool = True) -> dict[str, Any]:
    book = c.ensure_book(accounts)
    before = c.loadavg()
    with tempfile.TemporaryDirectory(dir=c.OUT) as tmp:
        out = Path(tmp)
        commands: dict[str, list[str]] = {}
        for logic in logics:
            commands[f"propose-book {logic}"] = [
                *(TRIMTAB, "propose-book", str(book), "--logic", logic),
                *("--out", str(out / f"{logic}.parquet")),
            ]
            commands[f"compare-book {logic}"] = [
                TRIMTAB,
                "compare-book",
                str(book),
                "--logics",
                logic,
            ]
        every = ",".join(logics)
        commands["compare-book all"] = [TRIMTAB, "compare-book", str(book), "--logics", every]
        commands["compare-book all --out"] = [
            *(TRIMTAB, "compare-book", str(book), "--logics", every),
            *("--out", str(out / "whatif")),
        ]
        runs = _timed(commands, repeats, warmup)
    rows = {name: c.summarise(r) for name, r in runs.items()}
    propose_sum = sum(rows[f"propose-book {m}"]["median_s"] for m in logics)
    return {
        "accounts": accounts,
        "logics": logics,
        "repeats": repeats,
        "runs": rows,
        "propose_book_sum_median_s": propose_sum,
        "ratio_all_to_sum": rows["compare-book all"]["median_s"] / propose_sum,
        "per_logic_ratio": {
            m: rows[f"compare-book {m}"]["median_s"] / rows[f"propose-book {m}"]["median_s"]
            for m in logics
        },
        "load_before": before,
        "load_after": c.loadavg(),
        "machine": c.machine(),
    }


def render(result: dict[str, Any]) -> str:
    rows = [
        [
            name,
            f"{r['best_s']:.2f}",
            f"{r['median_s']:.2f}",
            f"{r['cpu_median_s']:.2f}",
            f"{r['peak_rss_mb']:.0f}",
        ]
        for name, r in result["runs"].items()
    ]
    ratios = ", ".join(f"{m} {x:.2f}" for m, x in result["per_logic_ratio"].items())
    text = c.report(
        f"compare-book vs propose-book, {result['accounts']:,} accounts",
        ["command", "best s", "median s", "CPU s (median)", "peak MiB"],
        rows,
        result,
    )
    median = statistics.median
    return "\n".join(
        [
            text,
            f"sum of propose-book medians: {result['propose_book_sum_median_s']:.2f} s; "
            f"compare-book with every logic at once / that sum: {result['ratio_all_to_sum']:.2f}",
            f"compare-book / propose-book per logic (medians): {ratios} "
            f"(median {median(result['per_logic_ratio'].values()):.2f})",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--logics", nargs="+", default=list(FAST))
    parser.add_argument("--quick", action="store_true", help="10k accounts, 1 repeat")
    parser.add_argument("--no-warmup", action="store_true", help="no untimed first run")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    accounts, repeats = (10_000, 1) if args.quick else (args.accounts, args.repeats)
    result = run(accounts, repeats, args.logics, warmup=not args.no_warmup)
    c.emit(result, render(result), args.json)


if __name__ == "__main__":
    main()
