"""The service's daily path: import a book into the store, then evaluate it.

For each size and database (a fresh SQLite file; PostgreSQL too when
``TRIMTAB_TEST_POSTGRES_URL`` is set, in a schema of its own that is dropped afterwards),
times one import of the demo book, the first evaluation of the next market day, and a
re-run of that evaluation (which replaces its own results). Single runs: these write to
disk, so repeats would measure a different database.

    .venv/bin/python bench/bench_evaluate.py [--accounts 10000 100000] [--json]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import _common as c

BOOK_DATE = date(2026, 11, 19)
EVALUATION_DATE = date(2026, 11, 20)


@contextmanager
def databases(tmp: Path, only: str | None = None) -> Iterator[list[tuple[str, sa.Engine]]]:
    from trimtab.store.migrate import make_engine, upgrade

    engines = (
        [] if only == "postgresql" else [("sqlite", make_engine(f"sqlite:///{tmp / 'bench.db'}"))]
    )
    url = os.environ.get("TRIMTAB_TEST_POSTGRES_URL")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url) if url else None
    if admin is not None and url and only != "sqlite":
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        engines.append(("postgresql", make_engine(url, schema=schema)))
    try:
        for _, engine in engines:
            upgrade(engine)
        yield engines
    finally:
        for _, engine in engines:
            engine.dispose()
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


def timed(work: Any) -> tuple[float, float, Any]:
    c0, t0 = time.process_time(), time.perf_counter()
    out = work()
    return time.perf_counter() - t0, time.process_time() - c0, out


def run(sizes: tuple[int, ...], only: str | None = None) -> dict[str, Any]:
    from trimtab.service.access import add_firm
    from trimtab.service.evaluate import evaluate
    from trimtab.service.imports import import_book, read_book_folder
    from trimtab.store.uow import UnitOfWork

    now = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    rows = []
    before = c.loadavg()
    for n in sizes:
        folder = c.ensure_book(n)
        t0 = time.perf_counter()
        book = read_book_folder(folder)
        c.log(f"evaluate: {n:,} accounts read in {time.perf_counter() - t0:.2f} s")
        with tempfile.TemporaryDirectory() as tmp, databases(Path(tmp), only) as engines:
            for name, engine in engines:
                with UnitOfWork(engine, "bench") as uow:
                    add_firm(uow, name="Bench", admin_id="ops", now=now)

                def load(engine: sa.Engine = engine, book: Any = book) -> Any:
                    with UnitOfWork(engine, "bench") as uow:
                        return import_book(uow, actor="ops", as_of=BOOK_DATE, folder=book, now=now)

                def evaluation(engine: sa.Engine = engine) -> Any:
                    with UnitOfWork(engine, "bench") as uow:
                        return evaluate(uow, actor="ops", day=EVALUATION_DATE, now=now)

                import_s, import_cpu, summary = timed(load)
                eval_s, eval_cpu, result = timed(evaluation)
                rerun_s, _, _ = timed(evaluation)
                rows.append(
                    {
                        "accounts": n,
                        "database": name,
                        "rows_imported": sum(summary.rows.values()),
                        "import_s": import_s,
                        "import_cpu_s": import_cpu,
                        "evaluate_s": eval_s,
                        "evaluate_cpu_s": eval_cpu,
                        "rerun_s": rerun_s,
                        "evaluated": result.evaluated,
                        "flagged": result.flagged,
                        "accounts_per_s": result.evaluated / eval_s,
                        "load_1min": c.loadavg()[0],
                    }
                )
                c.log(
                    f"evaluate: {n:,} on {name}: import {import_s:.1f} s, evaluate {eval_s:.1f} s"
                )
    return {
        "benchmark": "service_evaluate",
        "goal": "(figures only) import and daily evaluation through the store",
        "load_before": before,
        "load_after": c.loadavg(),
        "machine": c.machine(),
        "results": rows,
    }


def render(result: dict[str, Any]) -> str:
    head = (
        "accounts",
        "database",
        "rows",
        "import s",
        "evaluate s",
        "eval cpu s",
        "re-run s",
        "flagged",
        "acc/s",
        "load",
    )
    rows = [
        (
            r["accounts"],
            r["database"],
            r["rows_imported"],
            r["import_s"],
            r["evaluate_s"],
            r["evaluate_cpu_s"],
            r["rerun_s"],
            r["flagged"],
            r["accounts_per_s"],
            r["load_1min"],
        )
        for r in result["results"]
    ]
    return "\n".join(
        [
            "Service: import and daily evaluation through the store",
            c.table(head, rows),
            c.load_note(result["load_before"], result["load_after"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", help="book sizes (accounts)")
    parser.add_argument("--quick", action="store_true", help="10k accounts only")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="one database only")
    args = parser.parse_args()
    sizes = tuple(args.accounts or ((10_000,) if args.quick else (10_000, 100_000)))
    result = run(sizes, args.only)
    c.emit(result, render(result), args.json)


if __name__ == "__main__":
    main()
