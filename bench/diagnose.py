"""Where the time and memory of the batch path go: the experiments behind docs/benchmarks.md.

Not goals: each section measures the code as shipped against the same work with one cost
removed from the outside (a module hidden, an environment variable, a replacement function in
this process), so that the owner of the code can see what a fix would be worth.

    .venv/bin/python bench/diagnose.py [--only startup malloc window action parquet] [--json]

- ``startup``: ``trimtab drift`` on a 100-account book, as shipped / without pandas (pyarrow
  imports it when installed) / without the service commands' module (SQLAlchemy, Alembic) /
  without both.
- ``malloc``: drift and rebalance to target in a subprocess with glibc's defaults and with
  ``MALLOC_MMAP_THRESHOLD_`` / ``MALLOC_TRIM_THRESHOLD_`` raised (no page faults on the 1 MB
  chunk temporaries); minor page faults and CPU time.
- ``window``: RSS growth while iterating ``propose_book`` over 200k accounts with
  ``map_chunks`` as in trimtab and with a bounded window of in-flight chunks (trimtab bounds
  it too since commit 0880202; before, every chunk's proposal stayed referenced).
- ``action``: the ``action`` column of the trade table built from a numpy object array (as
  before commit ece6525) and as a dictionary array (as now), for 100k accounts' trade rows.
- ``parquet``: reading the 1M book's ``positions.parquet`` as ``trimtab.io.tables`` does
  (read, then cast plain-text keys to dictionaries) and with ``read_dictionary`` instead.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

import _common as c

STARTUP = """
import importlib.abc, sys, types
mode = sys.argv.pop(1)


class NoPandas(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(name)
        return None


if "nopandas" in mode:
    sys.meta_path.insert(0, NoPandas())
if "noservice" in mode:
    for name in ("setup", "daily", "requests", "orders", "accounts", "rules", "audit"):
        stub = types.ModuleType(f"trimtab.cli.{name}")
        stub.register = lambda app: None
        sys.modules[f"trimtab.cli.{name}"] = stub
sys.argv[0] = "trimtab"
from trimtab.cli import main

sys.exit(main())
"""

KERNELS = """
import json, resource, sys, time
from trimtab.core.book import drift_book, propose_book
from trimtab.core.engine import Method
from trimtab.io.book import read_book

arrays = read_book(sys.argv[1]).arrays
workers = int(sys.argv[2])
out = {}


def props():
    for _ in propose_book(arrays, Method.REBALANCE_TO_TARGET, workers=workers):
        pass


for name, work in (("drift", lambda: drift_book(arrays, workers=workers)), ("propose", props)):
    work()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    c0, t0 = time.process_time(), time.perf_counter()
    for _ in range(5):
        work()
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    out[name] = {
        "wall_ms": (time.perf_counter() - t0) / 5 * 1000,
        "cpu_ms": (time.process_time() - c0) / 5 * 1000,
        "minor_faults": (r1.ru_minflt - r0.ru_minflt) / 5,
    }
print(json.dumps(out))
"""

TUNED_MALLOC = {
    "MALLOC_MMAP_THRESHOLD_": str(32 * 2**20),
    "MALLOC_TRIM_THRESHOLD_": str(2**30),
    "MALLOC_TOP_PAD_": str(64 * 2**20),
}


def startup(repeats: int) -> dict[str, Any]:
    tiny = c.ensure_book(100)
    out = c.OUT / "diagnose"
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for mode in ("as shipped", "nopandas", "noservice", "nopandas+noservice"):
        cmd = [c.PYTHON, "-c", STARTUP, mode, "drift", tiny, "--out", out / "tiny.parquet"]
        runs = c.repeat_process(cmd, repeats)
        rows.append({"case": mode, **c.summarise(runs), "load_1min": c.loadavg()[0]})
    return {"section": "startup", "book": str(tiny), "results": rows}


def malloc(accounts: int) -> dict[str, Any]:
    folder = c.ensure_book(accounts)
    rows = []
    for label, extra in (("glibc defaults", {}), ("tuned malloc", TUNED_MALLOC)):
        for workers in (1, 2):
            env = {**os.environ, **extra}
            out = subprocess.run(
                [c.PYTHON, "-c", KERNELS, str(folder), str(workers)],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            ).stdout
            for job, r in json.loads(out).items():
                rows.append(
                    {
                        "case": f"{job}, {workers} worker(s), {label}",
                        **r,
                        "load_1min": c.loadavg()[0],
                    }
                )
    return {"section": "malloc", "accounts": accounts, "env": TUNED_MALLOC, "results": rows}


def window(accounts: int) -> dict[str, Any]:
    """Each variant in a fresh process, so that one does not inherit the other's heap."""
    folder = c.ensure_book(accounts)
    rows = []
    for mode in ("shipped", "windowed"):
        out = subprocess.run(
            [c.PYTHON, __file__, "--window-worker", mode, str(folder)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rows.append(json.loads(out) | {"load_1min": c.loadavg()[0]})
    return {"section": "window", "accounts": accounts, "results": rows}


def window_worker(mode: str, folder: str) -> None:
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    import psutil

    import trimtab.core.book as book_module
    from trimtab.core.engine import Method
    from trimtab.io.book import read_book

    def windowed(book: Any, work: Any, *, workers: int = 2, size: int = book_module.CHUNK) -> Any:
        """``map_chunks`` with at most ``2 * workers`` chunks in flight, none kept after use."""
        spans = iter(list(book.chunks(size)))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            pending: deque[Any] = deque()
            for s, e in spans:
                pending.append((s, e, pool.submit(work, s, e)))
                if len(pending) >= 2 * workers:
                    break
            while pending:
                s, e, future = pending.popleft()
                nxt = next(spans, None)
                if nxt is not None:
                    pending.append((*nxt, pool.submit(work, *nxt)))
                yield s, e, future.result()

    if mode == "windowed":
        book_module.map_chunks = windowed
    arrays = read_book(folder).arrays
    proc = psutil.Process()
    before = proc.memory_info().rss
    peak = before
    t0 = time.perf_counter()
    for _s, _e, _p in book_module.propose_book(arrays, Method.REBALANCE_TO_TARGET):
        peak = max(peak, proc.memory_info().rss)
    label = "map_chunks as in trimtab" if mode == "shipped" else "bounded window (this script)"
    result = {
        "case": label,
        "wall_s": time.perf_counter() - t0,
        "rss_before_mb": before / 2**20,
        "rss_peak_while_iterating_mb": peak / 2**20,
        "growth_mb": (peak - before) / 2**20,
    }
    sys.stdout.write(json.dumps(result) + "\n")


def action(accounts: int) -> dict[str, Any]:
    import numpy as np
    import pyarrow as pa

    from trimtab.core.book import propose_book
    from trimtab.core.engine import Method
    from trimtab.io.book import read_book

    arrays = read_book(c.ensure_book(accounts)).arrays
    qty = np.concatenate(
        [
            p.quantity[p.quantity != 0]
            for _s, _e, p in propose_book(arrays, Method.REBALANCE_TO_TARGET)
        ]
    )

    def shipped() -> object:
        return pa.array(np.where(qty > 0, "buy", "sell").astype(object))

    def dictionary() -> object:
        return pa.DictionaryArray.from_arrays(
            pa.array((qty < 0).astype(np.int8)), pa.array(["buy", "sell"])
        )

    rows = []
    for label, fn in (
        ("numpy object array (before ece6525)", shipped),
        ("dictionary array (trimtab now)", dictionary),
    ):
        timing = c.repeat(fn, 3)
        rows.append({"case": label, "trade_rows": int(qty.size), **timing.as_dict()})
    return {"section": "action", "accounts": accounts, "results": rows}


def parquet(accounts: int) -> dict[str, Any]:
    import pyarrow.parquet as pq

    src = c.ensure_book(accounts) / "positions.parquet"
    keys = ["account_id", "symbol"]
    cases = [
        ("as read_table reads it", lambda: pq.ParquetFile(src).read()),
        (
            "as read_table reads it, then keys cast to dictionaries",
            lambda: _cast_keys(pq.ParquetFile(src).read(), keys),
        ),
        (
            "read_dictionary=[account_id, symbol]",
            lambda: pq.ParquetFile(src, read_dictionary=keys).read(),
        ),
    ]
    meta = pq.ParquetFile(src).metadata
    rows = []
    for label, fn in cases:
        timing = c.repeat(fn, 3, warmup=1)
        rows.append({"case": label, **timing.as_dict(), "load_1min": c.loadavg()[0]})
    return {
        "section": "parquet",
        "accounts": accounts,
        "file_mb": src.stat().st_size / 2**20,
        "row_groups": meta.num_row_groups,
        "results": rows,
    }


def _cast_keys(table: Any, keys: list[str]) -> Any:
    """What ``trimtab.io.tables._cast_parquet`` does to plain-text key columns."""
    import pyarrow as pa

    key_type = pa.dictionary(pa.int32(), pa.string())
    cols = [
        col.cast(key_type) if name in keys and col.type != key_type else col
        for name, col in zip(table.column_names, table.columns, strict=True)
    ]
    return pa.table(cols, names=table.column_names)


def render(r: dict[str, Any]) -> str:
    rows = r["results"]
    keys = [k for k in rows[0] if k not in ("runs_s", "case")]
    body = [[x["case"], *(x[k] for k in keys)] for x in rows]
    title = {k: v for k, v in r.items() if k not in ("results", "section")}
    return f"[{r['section']}] {title}\n" + c.table(["case", *keys], body)


def main() -> None:
    sections = ("startup", "malloc", "window", "action", "parquet")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sections, default=list(sections))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--window-worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.window_worker:
        window_worker(*args.window_worker)
        return
    runs = {
        "startup": lambda: startup(args.repeats),
        "malloc": lambda: malloc(10_000) | {"also": malloc(100_000)},
        "window": lambda: window(200_000),
        "action": lambda: action(100_000),
        "parquet": lambda: parquet(1_000_000),
    }
    results = []
    for name in [s for s in sections if s in args.only]:
        c.log(f"diagnose: {name}")
        result = runs[name]()
        also = result.pop("also", None)
        results.append(result)
        if also:
            results.append(also)
    doc = {"machine": c.machine(), "load": c.loadavg(), "sections": results}
    if args.json:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        sys.stdout.write("\n\n".join(render(r) for r in results) + "\n")
        load = c.loadavg()
        sys.stdout.write(f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n")


if __name__ == "__main__":
    main()
