"""Run every benchmark (``make bench``), each in its own process, and print their tables.

    .venv/bin/python bench/run_all.py            # full sizes: 10k/100k/1M, 200k CLI, 1M memory
    .venv/bin/python bench/run_all.py --quick    # small sizes, a couple of minutes
    .venv/bin/python bench/run_all.py --only drift propose --json

Missed goals are reported, not failures: the exit status is non-zero only when a benchmark
crashes or a correctness check (trimtab against pandas, the naive loop against the core)
finds different numbers. JSON results are also saved under ``bench/out/results/``.

Other engineers' benchmarks (``bench/bench_*.py`` not listed here) are run after ours, with
``--quick`` when they accept it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import _common as c

# name -> (script, full arguments, quick arguments)
OURS: dict[str, tuple[str, list[str], list[str]]] = {
    "drift": ("bench_drift.py", [], ["--quick"]),
    "propose": ("bench_propose.py", [], ["--quick"]),
    "cli": ("bench_cli_drift.py", [], ["--accounts", "50000", "--repeats", "2"]),
    "memory": ("bench_memory.py", [], ["--quick"]),
    "naive": ("bench_naive.py", [], ["--quick"]),
}


def others() -> list[Path]:
    mine = {script for script, _full, _quick in OURS.values()}
    return sorted(p for p in c.BENCH.glob("bench_*.py") if p.name not in mine)


def accepts_quick(script: Path) -> bool:
    try:
        out = subprocess.run(
            [c.PYTHON, script, "--help"], capture_output=True, text=True, timeout=60
        ).stdout
    except (subprocess.SubprocessError, OSError):
        return False
    return "--quick" in out


def run_one(name: str, cmd: list[str], as_json: bool) -> tuple[bool, Any]:
    """Run one benchmark; returns (ok, parsed JSON or None)."""
    c.log(f"run_all: {name}: {' '.join(str(x) for x in cmd)}")
    t0 = time.perf_counter()
    proc = subprocess.run([*cmd, "--json"] if as_json else cmd, stdout=subprocess.PIPE, text=True)
    c.log(f"run_all: {name} finished in {time.perf_counter() - t0:.0f} s (exit {proc.returncode})")
    if as_json:
        try:
            return proc.returncode == 0, json.loads(proc.stdout)
        except json.JSONDecodeError:
            sys.stdout.write(proc.stdout)
            return False, None
    sys.stdout.write(proc.stdout + "\n")
    sys.stdout.flush()
    return proc.returncode == 0, None


def correct(name: str, result: Any) -> bool:
    """The correctness checks inside a JSON result passed (True when there are none)."""
    if result is None:
        return False
    if isinstance(result, list):
        return all(correct(name, one) for one in result)
    if name == "cli":
        return not result["comparison"]["mismatch"] and not any(
            r["failed"] for r in result["results"]
        )
    if name == "naive":
        return bool(result["agree"])
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--only", nargs="+", choices=sorted(OURS), help="run only these")
    parser.add_argument("--no-others", action="store_true", help="skip other bench_*.py")
    parser.add_argument("--json", action="store_true", help="one JSON document on stdout")
    parser.add_argument(
        "--wait-quiet",
        type=float,
        metavar="LOAD",
        help="before each benchmark, wait (up to 10 min) for the 1-minute load to fall to LOAD",
    )
    args = parser.parse_args()

    results: dict[str, Any] = {"machine": c.machine(), "quick": args.quick, "runs": {}}
    ok = True
    names = args.only or list(OURS)
    for name in names:
        script, full, quick = OURS[name]
        if args.wait_quiet is not None:
            load = c.wait_for_quiet(args.wait_quiet, 600.0)
            c.log(f"run_all: load {load[0]:.2f} before {name}")
        cmd: list[str] = [str(c.PYTHON), str(c.BENCH / script), *(quick if args.quick else full)]
        # Always collect JSON for the record; print tables unless --json.
        ran, result = run_one(name, cmd, as_json=True)
        good = ran and correct(name, result)
        ok &= good
        results["runs"][name] = {"command": cmd, "ok": good, "result": result}
        if not args.json and result is not None:
            module = __import__(script.removesuffix(".py"))
            for one in result if isinstance(result, list) else [result]:
                sys.stdout.write(module.render(one) + "\n\n")
            sys.stdout.flush()
    if not args.only and not args.no_others:
        for script in others():
            cmd = [str(c.PYTHON), str(script)]
            if args.quick and accepts_quick(script):
                cmd.append("--quick")
            ran, _ = run_one(script.stem, cmd, as_json=False)
            ok &= ran
            results["runs"][script.stem] = {"command": cmd, "ok": ran}

    out = c.OUT / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    path = out / f"run_all-{stamp}{'-quick' if args.quick else ''}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    c.log(f"run_all: results saved to {path}")
    if args.json:
        sys.stdout.write(json.dumps(results, indent=2) + "\n")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
