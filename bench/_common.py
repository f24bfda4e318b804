"""Shared helpers of the benchmark scripts: books, timing, machine load and output.

Books are the seeded synthetic books of :mod:`trimtab.io.demo` (``DemoSpec`` defaults: 500
securities, 200 models, about 30 lines per model) written as Parquet under ``bench/out/``
and reused by later runs. Nothing here is part of the test run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trimtab.runtime import keep_freed_memory

# The benchmarks run the library in-process under the same allocator setting that the
# command line applies at start (see trimtab.runtime): results are identical either way.
keep_freed_memory()

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
PYTHON = Path(sys.executable)
TRIMTAB = PYTHON.parent / "trimtab"

SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
QUICK_SIZES = (10_000, 100_000)
FULL_SIZES = (10_000, 100_000, 1_000_000)


def book_dir(accounts: int) -> Path:
    """Folder of the Parquet demo book with ``accounts`` accounts (DemoSpec defaults)."""
    return OUT / f"book-{accounts}"


def demo_version() -> str:
    """A hash of the demo generator's source: books are regenerated when it changes."""
    import hashlib
    import inspect

    import trimtab.io.demo

    return hashlib.sha256(inspect.getsource(trimtab.io.demo).encode()).hexdigest()[:16]


def ensure_book(accounts: int, *, quiet: bool = False) -> Path:
    """The demo book with ``accounts`` accounts, generated once and reused when present.

    A ``.complete`` marker holding the generator's version is written last, so that an
    interrupted generation, or a book from an older ``trimtab.io.demo``, is made again.
    """
    folder = book_dir(accounts)
    marker = folder / ".complete"
    version = demo_version()
    if marker.exists() and version in marker.read_text():
        return folder
    from trimtab.io.demo import DemoSpec, demo_tables, write_book

    t0 = time.perf_counter()
    if marker.exists():
        marker.unlink()
    for old in folder.glob("*.parquet"):
        old.unlink()
    write_book(folder, demo_tables(DemoSpec(accounts=accounts)), "parquet")
    marker.write_text(f"DemoSpec defaults, seed 7, trimtab.io.demo {version}\n")
    if not quiet:
        log(f"generated {folder} in {time.perf_counter() - t0:.1f} s")
    return folder


def log(message: str) -> None:
    """Progress on standard error, so that ``--json`` output stays clean."""
    sys.stderr.write(f"[bench] {message}\n")
    sys.stderr.flush()


def loadavg() -> tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages of ``/proc/loadavg``."""
    try:
        parts = Path("/proc/loadavg").read_text().split()
        return float(parts[0]), float(parts[1]), float(parts[2])
    except (OSError, ValueError, IndexError):
        return (float("nan"),) * 3


def wait_for_quiet(limit: float, timeout: float) -> tuple[float, float, float]:
    """Wait up to ``timeout`` seconds for the 1-minute load to fall to ``limit``.

    Timings on a shared 2-core machine are distorted by other people's test runs; this does
    not stop them, it only avoids starting in the middle of one. Returns the load at the end.
    """
    deadline = time.monotonic() + timeout
    load = loadavg()
    while load[0] > limit and time.monotonic() < deadline:
        time.sleep(5.0)
        load = loadavg()
    return load


def machine() -> dict[str, Any]:
    """Cores, CPU model and memory of this machine, from ``/proc``."""
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = float("nan")
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = int(line.split()[1]) / 1024 / 1024
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(mem_gb, 1),
        "python": platform.python_version(),
    }


@dataclass(frozen=True, slots=True)
class Timing:
    """Repeated wall times of one piece of work, and the process CPU time of each (all
    threads, user + system), seconds. CPU time is far less disturbed by other people's load
    than wall time: it says what the work costs, wall time what it took today."""

    times: tuple[float, ...]
    cpu: tuple[float, ...] = ()

    @property
    def best(self) -> float:
        return min(self.times)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    def as_dict(self) -> dict[str, Any]:
        return {
            "best_s": self.best,
            "median_s": self.median,
            "runs_s": list(self.times),
            "cpu_best_s": min(self.cpu) if self.cpu else float("nan"),
            "cpu_median_s": statistics.median(self.cpu) if self.cpu else float("nan"),
        }


def repeat(work: Callable[[], object], repeats: int, *, warmup: int = 1) -> Timing:
    """Wall time of ``work()`` ``repeats`` times, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        work()
    times = []
    cpu = []
    for _ in range(repeats):
        c0 = time.process_time()
        t0 = time.perf_counter()
        work()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return Timing(tuple(times), tuple(cpu))


def repeat_together(
    works: dict[str, Callable[[], object]], repeats: int, *, warmup: int = 1
) -> dict[str, Timing]:
    """:func:`repeat` for several pieces of work compared with one another, taken in turn
    (each round runs every one once), so that a slow spell of the machine falls on all of
    them rather than on whichever ran then."""
    for _ in range(warmup):
        for work in works.values():
            work()
    times: dict[str, list[float]] = {name: [] for name in works}
    cpu: dict[str, list[float]] = {name: [] for name in works}
    for _ in range(repeats):
        for name, work in works.items():
            c0 = time.process_time()
            t0 = time.perf_counter()
            work()
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
    return {name: Timing(tuple(times[name]), tuple(cpu[name])) for name in works}


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A plain text table: text columns left-aligned, numbers right-aligned."""
    data = [list(row) for row in rows]
    text_col = [
        all(isinstance(row[i], str) for row in data) if data else True for i in range(len(headers))
    ]
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in data]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        parts = [
            v.ljust(widths[i]) if text_col[i] else v.rjust(widths[i]) for i, v in enumerate(row)
        ]
        lines.append("  ".join(parts).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.3f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def emit(result: dict[str, Any], text: str, as_json: bool) -> None:
    """Print ``result`` as JSON or ``text`` as a table, with the load before and after."""
    if as_json:
        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        sys.stdout.write(text + "\n")
    sys.stdout.flush()


def emit_all(
    results: list[dict[str, Any]], render: Callable[[dict[str, Any]], str], as_json: bool
) -> None:
    """Print several results: one JSON document (a list when more than one), or the tables."""
    if as_json:
        doc: Any = results[0] if len(results) == 1 else results
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        sys.stdout.write("\n\n".join(render(r) for r in results) + "\n")
    sys.stdout.flush()


def load_note(before: Sequence[float], after: Sequence[float]) -> str:
    return (
        f"load average before {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}, "
        f"after {after[0]:.2f} {after[1]:.2f} {after[2]:.2f} (1/5/15 min, {os.cpu_count()} cores)"
    )


def parse_sizes(values: Sequence[int] | None, quick: bool) -> tuple[int, ...]:
    """The account counts to run: ``--accounts`` as given, else quick or full defaults."""
    if values:
        return tuple(values)
    return QUICK_SIZES if quick else FULL_SIZES


@dataclass(frozen=True, slots=True)
class ProcessRun:
    """One subprocess: wall seconds, CPU seconds (user + system) and peak RSS in MiB."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    returncode: int


def run_process(
    cmd: Sequence[str | os.PathLike[str]], *, env: dict[str, str] | None = None
) -> ProcessRun:
    """Run ``cmd`` to completion; its own resource usage comes from ``os.wait4``."""
    import subprocess

    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(a) for a in cmd], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = "\n".join(err.decode(errors="replace").splitlines()[-8:])
        log(f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{tail}")
    return ProcessRun(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024.0,
        returncode=proc.returncode,
    )


def repeat_process(
    cmd: Sequence[str | os.PathLike[str]],
    repeats: int,
    *,
    warmup: int = 1,
    env: dict[str, str] | None = None,
) -> list[ProcessRun]:
    """``run_process(cmd)`` ``repeats`` times after ``warmup`` untimed runs (warm file cache)."""
    for _ in range(warmup):
        run_process(cmd, env=env)
    return [run_process(cmd, env=env) for _ in range(repeats)]


def summarise(runs: Sequence[ProcessRun]) -> dict[str, Any]:
    walls = [r.wall_s for r in runs]
    cpus = [r.cpu_s for r in runs]
    return {
        "best_s": min(walls),
        "median_s": statistics.median(walls),
        "runs_s": walls,
        "cpu_best_s": min(cpus),
        "cpu_median_s": statistics.median(cpus),
        "peak_rss_mb": max(r.peak_rss_mb for r in runs),
        "failed": sum(r.returncode != 0 for r in runs),
    }


def report(
    title: str, head: Sequence[str], rows: Iterable[Sequence[object]], result: dict[str, Any]
) -> str:
    """A benchmark's printed report: title, table, and the load before and after."""
    return "\n".join(
        [title, table(head, rows), load_note(result["load_before"], result["load_after"])]
    )


def main_over_sizes(
    doc: str | None,
    run: Callable[[tuple[int, ...], int, int], dict[str, Any]],
    render: Callable[[dict[str, Any]], str],
) -> None:
    """Command line of the in-memory benchmarks: book sizes, repeats, workers, one result."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", help="book sizes (accounts)")
    parser.add_argument("--quick", action="store_true", help="10k and 100k only")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    result = run(parse_sizes(args.accounts, args.quick), args.repeats, args.workers)
    emit(result, render(result), args.json)


def main_per_book(
    doc: str | None,
    default_accounts: int,
    run: Callable[[int, int], dict[str, Any]],
    render: Callable[[dict[str, Any]], str],
) -> None:
    """Command line of the per-book benchmarks: one result per book size, repeats."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[default_accounts])
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 5")
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else 5)
    emit_all([run(n, repeats) for n in args.accounts], render, args.json)
