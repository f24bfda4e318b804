"""The service's morning at scale, side by side with an earlier commit in one run.

For each source tree (this checkout, and ``--before COMMIT`` checked out into a temporary
worktree) and each database (a fresh SQLite file; PostgreSQL when
``TRIMTAB_TEST_POSTGRES_URL`` is set, in a schema of its own dropped afterwards), runs in a
fresh process each, in turn:

- ``first import``: read the demo book folder and import it as the book of 2026-11-19
  (every account is new to the store);
- ``import``: the same book as the book of the next market day, 2026-11-20 (the daily
  case: the accounts are known);
- ``reimport``: that date again (it replaces the date);
- ``evaluate``: the daily evaluation of 2026-11-23 (on the book of 2026-11-20);
- ``reevaluate``: that evaluation again (it replaces its own results).

Each step's wall time and the peak memory (resident set, ``VmHWM``) of its process are
reported.

    .venv/bin/python bench/bench_morning.py --accounts 200000 [--before 32a31fb] [--only sqlite]
        [--steps imports]

``--steps imports`` runs the three imports only, without the evaluations.

``--repeat N`` (SQLite) measures the two evaluations N times, taking turns between the
source trees: each tree's database is copied once its imports are done and put back before
each turn, so every turn evaluates the same store; the table gives the median (and every
run in ``--json``). On a shared machine one run of a few seconds moves by a tenth from one
run to the next, and a tree measured minutes after the other meets another load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import _common as c

STEPS = ("first import", "import", "reimport", "evaluate", "reevaluate")
ROOT = Path(__file__).resolve().parent.parent


def step(src: str, url: str, schema: str | None, folder: str, name: str) -> dict[str, Any]:
    """One step in this process (the child): what it did and how long it took."""
    sys.path.insert(0, src)
    from datetime import UTC, date, datetime

    from trimtab.service.access import add_firm
    from trimtab.service.evaluate import evaluate
    from trimtab.service.imports import import_book, read_book_folder
    from trimtab.store.migrate import make_engine, upgrade
    from trimtab.store.uow import UnitOfWork

    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    engine = make_engine(url, schema=schema) if schema else make_engine(url)
    t0 = time.perf_counter()
    if name == "first import":
        upgrade(engine)
        with UnitOfWork(engine, "bench") as uow:
            add_firm(uow, name="Bench", admin_id="ops", now=now)
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    if name.endswith("import"):
        day = date(2026, 11, 19) if name == "first import" else date(2026, 11, 20)
        book = read_book_folder(Path(folder))
        with UnitOfWork(engine, "bench") as uow:
            summary = import_book(uow, actor="ops", as_of=day, folder=book, now=now)
        done: dict[str, Any] = {"rows": summary.rows}
    else:
        with UnitOfWork(engine, "bench") as uow:
            result = evaluate(uow, actor="ops", day=date(2026, 11, 23), now=now)
        done = {"evaluated": result.evaluated, "flagged": result.flagged}
    seconds = time.perf_counter() - t0
    engine.dispose()
    return {"seconds": seconds, "setup_s": setup, "peak_mb": _peak_mb(), **done}


def _peak_mb() -> float:
    """This process's peak resident memory since it started (``VmHWM``): unlike the rusage
    a parent reads, it does not count the memory of the process it was forked from."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def child(src: str, url: str, schema: str | None, folder: str, name: str) -> dict[str, Any]:
    """Run :func:`step` in a fresh process; its result and its peak resident memory."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import bench_morning as b; "
        "print(json.dumps(b.step(*sys.argv[2:])))"
    )
    env = {**os.environ, "PYTHONPATH": src}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            str(Path(__file__).parent),
            src,
            url,
            schema or "",
            folder,
            name,
        ],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    if proc.wait():
        raise SystemExit(f"{name} failed under {src} (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


@contextmanager
def worktree(commit: str) -> Any:
    path = Path(tempfile.mkdtemp(prefix="trimtab-before-"))
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), commit],
        check=True,
        capture_output=True,
    )
    try:
        yield path / "src"
    finally:
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(path)],
            check=True,
            capture_output=True,
        )


def run(
    accounts: int,
    before: str | None,
    only: str | None,
    steps: tuple[str, ...] = STEPS,
    repeat: int = 1,
) -> dict[str, Any]:
    import sqlalchemy as sa

    folder = c.ensure_book(accounts)
    trees = [("now", str(ROOT / "src"))]
    rows = []
    load_before = c.loadavg()
    with (
        tempfile.TemporaryDirectory() as tmp,
        worktree(before) if before else _nothing() as old_src,
    ):
        if old_src is not None:
            trees.append((f"{before}", str(old_src)))
        pg = os.environ.get("TRIMTAB_TEST_POSTGRES_URL")
        turns: list[tuple[str, str, str, Path]] = []

        def one(
            label: str, src: str, database: str, url: str, schema: str | None, name: str
        ) -> dict[str, Any]:
            r = child(src, url, schema, str(folder), name)
            c.log(f"{label} {database} {name}: {r['seconds']:.1f} s, {r['peak_mb']:.0f} MB")
            return {"code": label, "database": database, "step": name, "accounts": accounts, **r}

        for label, src in trees:
            targets: list[tuple[str, str, str | None]] = []
            if only != "postgresql":
                targets.append(("sqlite", f"sqlite:///{tmp}/{label}.db", None))
            if pg and only != "sqlite":
                targets.append(("postgresql", pg, f"bench_{uuid.uuid4().hex[:10]}"))
            for database, url, schema in targets:
                admin = sa.create_engine(url) if schema else None
                if admin is not None:
                    with admin.begin() as conn:
                        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
                try:
                    for name in steps:
                        if repeat > 1 and database == "sqlite" and "evaluate" in name:
                            continue  # below, taking turns
                        rows.append(one(label, src, database, url, schema, name))
                    if repeat > 1 and database == "sqlite" and "evaluate" in steps:
                        path = Path(url.removeprefix("sqlite:///"))
                        _copy_db(path, path.with_suffix(".imported"))
                        turns.append((label, src, url, path))
                finally:
                    if admin is not None:
                        with admin.begin() as conn:
                            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                        admin.dispose()
        runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for _ in range(repeat if turns else 0):
            for label, src, url, path in turns:
                _copy_db(path.with_suffix(".imported"), path)
                for name in ("evaluate", "reevaluate"):
                    runs.setdefault((label, name), []).append(
                        one(label, src, "sqlite", url, None, name)
                    )
        for done in runs.values():
            seconds = [r["seconds"] for r in done]
            rows.append(
                {
                    **done[0],
                    "seconds": statistics.median(seconds),
                    "peak_mb": max(r["peak_mb"] for r in done),
                    "runs": seconds,
                }
            )
    return {
        "benchmark": "service_morning",
        "load_before": load_before,
        "load_after": c.loadavg(),
        "machine": c.machine(),
        "results": rows,
    }


def _copy_db(source: Path, target: Path) -> None:
    """An SQLite database with its write-ahead log, if any, copied over ``target``'s."""
    for suffix in ("", "-wal", "-shm"):
        copied = target.with_name(target.name + suffix)
        copied.unlink(missing_ok=True)
        if (origin := source.with_name(source.name + suffix)).exists():
            shutil.copy(origin, copied)


@contextmanager
def _nothing() -> Any:
    yield None


def render(result: dict[str, Any]) -> str:
    head = ("code", "database", "step", "accounts", "seconds", "peak MB")
    rows = [
        (r["code"], r["database"], r["step"], r["accounts"], r["seconds"], r["peak_mb"])
        for r in result["results"]
    ]
    return "\n".join(
        [
            "The service's morning: import and daily evaluation through the store",
            c.table(head, rows),
            c.load_note(result["load_before"], result["load_after"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--before", help="an earlier commit to measure beside this checkout")
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument(
        "--steps", choices=["all", "imports"], default="all", help="imports: the imports only"
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="SQLite: the evaluations N times, taking turns"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    steps = STEPS[:3] if args.steps == "imports" else STEPS
    result = run(args.accounts, args.before, args.only, steps, args.repeat)
    c.emit(result, render(result), args.json)


if __name__ == "__main__":
    main()
