"""``compare-book --firm --cluster``: the what-if over a firm's stored book in one process
and on LocalClusters of 1 and 2 single-threaded worker processes, side by side.

The demo book of ``--accounts`` accounts (``DemoSpec`` defaults) is imported once into a
SQLite file under ``bench/out/`` as firm ``bench``; then, in this process (no start-up or
imports in any figure), the comparison of ``--logics`` (default rebalance to target) runs
in one process (:func:`trimtab.service.whatif.compare_firm_book`), then on a LocalCluster
of 1 and of 2 workers started beforehand (each worker reads its chunks of households from
the store). Each cluster result is checked equal to the one-process result
(``comparison_table``). Wall time, and the client's CPU time.

    .venv/bin/python bench/bench_whatif_firm.py [--accounts 200000] [--logics L1,L2] [--json]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, date, datetime
from typing import Any

import _common as c

NOW = datetime(2026, 11, 20, 15, tzinfo=UTC)


def store(accounts: int) -> str:
    """The SQLite file holding the demo book as firm ``bench``, made once."""
    from trimtab.service.access import add_firm
    from trimtab.service.imports import import_book, read_book_folder
    from trimtab.store.migrate import make_engine, upgrade
    from trimtab.store.uow import UnitOfWork

    path = c.OUT / f"whatif-firm-{accounts}.db"
    url = f"sqlite:///{path}"
    if not path.exists():
        folder = c.ensure_book(accounts)
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        engine = make_engine(f"sqlite:///{partial}")
        upgrade(engine)
        with UnitOfWork(engine, "bench") as uow:
            add_firm(uow, name="Bench", admin_id="ops", now=NOW)
        with UnitOfWork(engine, "bench") as uow:
            book = read_book_folder(folder)
            import_book(uow, actor="ops", as_of=date(2026, 11, 19), folder=book, now=NOW)
        engine.dispose()
        partial.rename(path)
    return url


def run(accounts: int, logics: str) -> dict[str, Any]:
    from distributed import Client

    from trimtab.cluster.evaluate import ClusterRun
    from trimtab.cluster.run import local_cluster
    from trimtab.core.engine import Method
    from trimtab.service.whatif import compare_firm_book
    from trimtab.store.migrate import make_engine
    from trimtab.store.uow import UnitOfWork
    from trimtab.whatif.compare import comparison_table

    url = store(accounts)
    engine = make_engine(url)
    chosen = [Method(m) for m in logics.split(",")]
    load_before = c.loadavg()

    def one(cluster: ClusterRun | None) -> tuple[float, float, Any]:
        wall, cpu = time.perf_counter(), time.process_time()
        with UnitOfWork(engine, "bench") as uow:
            found = compare_firm_book(uow, actor="ops", logics=chosen, now=NOW, cluster=cluster)
        return time.perf_counter() - wall, time.process_time() - cpu, found

    rows = []
    wall, cpu, single = one(None)
    expected = comparison_table(single)
    rows.append({"run": "one process", "seconds": wall, "client_cpu": cpu, "same": True})
    for workers in (1, 2):
        with local_cluster(workers) as cluster:
            with Client(cluster) as client:
                client.wait_for_workers(workers)
            wall, cpu, found = one(ClusterRun(cluster.scheduler_address, url))
        same = comparison_table(found).equals(expected)
        rows.append({"run": f"local:{workers}", "seconds": wall, "client_cpu": cpu, "same": same})
        if not same:
            raise SystemExit(f"local:{workers}: the comparison differs from one process's")
    return {
        "benchmark": "whatif_firm_cluster",
        "accounts": len(single.account_ids),
        "logics": logics,
        "load_before": load_before,
        "load_after": c.loadavg(),
        "machine": c.machine(),
        "results": rows,
    }


def render(result: dict[str, Any]) -> str:
    rows = [
        (r["run"], r["seconds"], r["client_cpu"], "yes" if r["same"] else "NO")
        for r in result["results"]
    ]
    return "\n".join(
        [
            f"compare-book --firm: {result['accounts']:,} accounts, {result['logics']}",
            c.table(("run", "seconds", "client CPU s", "same result"), rows),
            c.load_note(result["load_before"], result["load_after"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200_000)
    parser.add_argument("--logics", default="rebalance_to_target")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.accounts, args.logics)
    c.emit(result, render(result), args.json)


if __name__ == "__main__":
    main()
