"""Books with sleeves: ``trimtab drift`` on a book where many accounts follow blends, and the
daily evaluation of the same book in the service (SQLite).

The demo book of ``--accounts`` accounts (``DemoSpec`` defaults) with the first ``--share``
of its accounts given two model sleeves instead of their model: 70% their model and 30% the
next model in order (so the book has as many distinct blends as models). Written under
``bench/out/``; ``trimtab drift`` runs as a command (start-up included); the evaluation runs
in this process on a fresh SQLite store (the import not timed). Wall times; ``--repeat``
runs of each, medians.

    .venv/bin/python bench/bench_sleeves.py [--accounts 100000] [--share 0.5] [--repeat 2]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa

import _common as c

BOOK_DAY, DAY = date(2026, 11, 20), date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def sleeve_book(accounts: int, share: float) -> Path:
    """The demo book with the first ``share`` of its accounts on two model sleeves."""
    from trimtab.io.demo import DemoSpec, demo_tables, write_book

    folder = c.OUT / f"sleeves-{accounts}-{share:g}"
    if (folder / "sleeves.csv").exists():
        return folder
    tables = demo_tables(DemoSpec(accounts=accounts))
    acc = tables["accounts"]
    ids, models = acc["account_id"].to_pylist(), acc["model_id"].to_pylist()
    order = sorted(set(models))
    blended = int(accounts * share)
    rows: dict[str, list[object]] = {
        "account_id": [],
        "sleeve": [],
        "weight_pct": [],
        "model_id": [],
    }
    for i in range(blended):
        follow = order[(order.index(models[i]) + 1) % len(order)]
        rows["account_id"] += [ids[i], ids[i]]
        rows["sleeve"] += ["model", "model"]
        rows["weight_pct"] += [70.0, 30.0]
        rows["model_id"] += [models[i], follow]
    tables["sleeves"] = pa.table(rows)
    kept = [None if i < blended else m for i, m in enumerate(models)]
    at = acc.schema.get_field_index("model_id")
    tables["accounts"] = acc.set_column(at, "model_id", pa.array(kept, pa.string()))
    write_book(folder, tables)
    return folder


def drift_seconds(book: Path) -> float:
    out = Path(tempfile.mkdtemp()) / "drift.csv"
    start = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).parent / "trimtab"), "drift", str(book), "--out", str(out)],
        check=True,
    )
    return time.perf_counter() - start


def evaluation_seconds(book: Path) -> float:
    from trimtab.service.access import add_firm
    from trimtab.service.evaluate import evaluate
    from trimtab.service.imports import import_book, read_book_folder
    from trimtab.store.migrate import make_engine, upgrade
    from trimtab.store.uow import UnitOfWork

    engine = make_engine(f"sqlite:///{Path(tempfile.mkdtemp()) / 'store.db'}", durable=False)
    upgrade(engine)
    with UnitOfWork(engine, "bench") as uow:
        add_firm(uow, name="Bench", admin_id="ops", now=NOW)
    with UnitOfWork(engine, "bench") as uow:
        import_book(uow, actor="ops", as_of=BOOK_DAY, folder=read_book_folder(book), now=NOW)
    start = time.perf_counter()
    with UnitOfWork(engine, "bench") as uow:
        evaluate(uow, actor="ops", day=DAY, now=NOW)
    seconds = time.perf_counter() - start
    engine.dispose()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--share", type=float, default=0.5)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    book = sleeve_book(args.accounts, args.share)
    drift = [drift_seconds(book) for _ in range(args.repeat)]
    evaluation = [evaluation_seconds(book) for _ in range(args.repeat)]
    print(f"{args.accounts:,} accounts, {int(args.accounts * args.share):,} on two model sleeves")
    print(
        f"trimtab drift: {statistics.median(drift):.2f} s ({', '.join(f'{s:.2f}' for s in drift)})"
    )
    print(
        f"daily evaluation (SQLite): {statistics.median(evaluation):.2f} s "
        f"({', '.join(f'{s:.2f}' for s in evaluation)})"
    )


if __name__ == "__main__":
    main()
