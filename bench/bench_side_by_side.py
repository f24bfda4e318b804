"""Two checkouts of trimtab side by side in one run: ``propose-book`` end to end.

The machine is shared and noisy, so a figure taken on one day is not compared with one
taken on another: each command runs under both checkouts' interpreters in turn (base,
head, base, head, ...), and the ratio of the best times is what the report gives. The
books are ``bench_rules_book.py``'s: the demo book and the same book with restrictions,
locks and tax lots. Outputs of the two checkouts are compared (same rows, same values) when
both write the same columns.

    .venv/bin/python bench/bench_side_by_side.py --base /path/to/other/checkout/.venv/bin/python \\
        [--accounts 100000] [--repeats 5] [--methods rebalance_to_target,best_fit]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

import _common as c
from bench_rules_book import AS_OF, ensure_rules_book

HEAD = sys.executable


def _run(python: str, book: Path, method: str, out: Path, ruled: bool) -> float:
    """Seconds of one ``propose-book`` run as a subprocess."""
    command = [python, "-m", "trimtab.cli", "propose-book", str(book), "--method", method]
    command += ["--out", str(out), "--workers", "2"]
    if ruled:
        command += ["--as-of", AS_OF.isoformat()]
    if method in ("generate_cash", "withdrawal"):
        command += ["--cash-to-generate", "5000"]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def _same(a: Path, b: Path) -> str:
    """Whether two trade files hold the same rows (quantities as numbers)."""
    x, y = pq.read_table(a), pq.read_table(b)
    if x.num_rows != y.num_rows:
        return f"rows differ: {x.num_rows:,} vs {y.num_rows:,}"
    shared = [n for n in x.column_names if n in y.column_names]
    for name in shared:
        left, right = x.column(name), y.column(name)
        if left.type != right.type:
            left, right = left.cast("double"), right.cast("double")
        if not left.equals(right):
            return f"column {name} differs"
    return "same"


def run(base: str, accounts: int, repeats: int, methods: list[str]) -> dict[str, Any]:
    plain = c.ensure_book(accounts)
    rules = ensure_rules_book(accounts)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for method in methods:
            for label, book, ruled in (("plain", plain, False), ("rules", rules, True)):
                outs = {who: Path(tmp) / f"{who}-{label}-{method}.parquet" for who in ("b", "h")}
                times: dict[str, list[float]] = {"b": [], "h": []}
                _run(base, book, method, outs["b"], ruled)  # warm-up: caches, page cache
                _run(HEAD, book, method, outs["h"], ruled)
                for _ in range(repeats):
                    times["b"].append(_run(base, book, method, outs["b"], ruled))
                    times["h"].append(_run(HEAD, book, method, outs["h"], ruled))
                c.log(
                    f"{method} {label}: base best {min(times['b']):.2f} s, "
                    f"head best {min(times['h']):.2f} s"
                )
                rows.append(
                    {
                        "method": method,
                        "book": label,
                        "base_best_s": min(times["b"]),
                        "head_best_s": min(times["h"]),
                        "base_median_s": statistics.median(times["b"]),
                        "head_median_s": statistics.median(times["h"]),
                        "head_over_base": min(times["h"]) / min(times["b"]),
                        "output": _same(outs["b"], outs["h"]),
                    }
                )
    return {"accounts": accounts, "repeats": repeats, "base": base, "rows": rows}


def render(result: dict[str, Any]) -> str:
    return c.table(
        [
            "method",
            "book",
            "base best s",
            "head best s",
            "base med s",
            "head med s",
            "head/base",
            "output",
        ],
        [
            [
                r["method"],
                r["book"],
                f"{r['base_best_s']:.2f}",
                f"{r['head_best_s']:.2f}",
                f"{r['base_median_s']:.2f}",
                f"{r['head_median_s']:.2f}",
                f"{r['head_over_base']:.3f}",
                r["output"],
            ]
            for r in result["rows"]
        ],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", help="Python of the other checkout's venv.")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--methods", default="rebalance_to_target")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true", help="(run_all.py) nothing to do")
    args = parser.parse_args()
    if args.base is None:  # run_all.py runs every script: there is no other checkout to time
        print("bench_side_by_side: give --base PYTHON (another checkout's venv) to compare")
        return
    result = run(args.base, args.accounts, args.repeats, args.methods.split(","))
    print(json.dumps(result, indent=2) if args.json else render(result))


if __name__ == "__main__":
    main()
