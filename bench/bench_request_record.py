"""What keeping a request's record costs: a submission of 1,000 and of 10,000 accounts, side
by side with an earlier commit in one run, and the time of replaying each.

For each source tree (this checkout, and ``--before COMMIT`` in a temporary worktree), in a
fresh process: a fresh SQLite file, the demo book of ``--accounts`` imported, then each
request size submitted (``rebalance_to_target``, the first accounts by id), timed, and
cancelled. With this checkout, each request is also replayed, and its record's size is
reported.

    .venv/bin/python bench/bench_request_record.py --accounts 20000 --before 2392154
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _common as c
from bench_morning import ROOT, worktree

SIZES = (1000, 10000)


def step(src: str, url: str, folder: str) -> list[dict[str, Any]]:
    """Every request size on a fresh database, in this process (the child)."""
    sys.path.insert(0, src)
    from datetime import UTC, date, datetime

    import sqlalchemy as sa

    from trimtab.service.access import add_firm, add_user
    from trimtab.service.imports import import_book, read_book_folder
    from trimtab.service.requests import cancel_request, submit_request
    from trimtab.store import tables as t
    from trimtab.store.migrate import make_engine, upgrade
    from trimtab.store.uow import UnitOfWork

    now = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
    engine = make_engine(url)
    upgrade(engine)
    with UnitOfWork(engine, "bench") as uow:
        add_firm(uow, name="Bench", admin_id="ops", now=now)
    with UnitOfWork(engine, "bench") as uow:
        add_user(uow, actor="ops", user_id="olga", role="operator", now=now)
    with UnitOfWork(engine, "bench") as uow:
        import_book(
            uow, actor="ops", as_of=date(2026, 11, 19), folder=read_book_folder(Path(folder)),
            now=now,
        )  # fmt: skip
    with engine.connect() as conn:
        ids = sorted(conn.execute(sa.select(t.accounts.c.account_id)).scalars())
    out = []
    for size in SIZES:
        t0 = time.perf_counter()
        with UnitOfWork(engine, "bench") as uow:
            done = submit_request(
                uow, actor="olga", account_ids=ids[:size], logic="rebalance_to_target", now=now
            )
        row: dict[str, Any] = {"accounts": size, "submit_s": time.perf_counter() - t0}
        if hasattr(t, "request_records"):
            from trimtab.service.request_record import replay

            with engine.connect() as conn:
                data = conn.execute(
                    sa.select(t.request_records.c.data).where(
                        t.request_records.c.request_id == done.request_id
                    )
                ).scalar_one()
            t0 = time.perf_counter()
            with UnitOfWork(engine, "bench") as uow:
                again = replay(uow, actor="olga", request_id=done.request_id)
            assert again.identical, again.differences[:5]
            row.update(replay_s=time.perf_counter() - t0, record_mb=len(data) / 2**20)
        with UnitOfWork(engine, "bench") as uow:
            cancel_request(uow, actor="olga", request_id=done.request_id, now=now)
        out.append(row)
    engine.dispose()
    return out


def child(src: str, url: str, folder: str) -> list[dict[str, Any]]:
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import bench_request_record as b; "
        "print(json.dumps(b.step(*sys.argv[2:])))"
    )
    env = {**os.environ, "PYTHONPATH": src}
    here = str(Path(__file__).parent)
    proc = subprocess.run(
        [sys.executable, "-c", code, here, src, url, folder],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
        check=True,
    )
    result: list[dict[str, Any]] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20000)
    parser.add_argument("--before", default=None, help="a commit to compare with")
    args = parser.parse_args()
    folder = c.ensure_book(args.accounts)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        trees = [("now", str(ROOT / "src"))]
        with worktree(args.before) if args.before else _none() as old:
            if old is not None:
                trees.append((args.before, str(old)))
            for label, src in trees:
                for r in child(src, f"sqlite:///{tmp}/{label}.db", str(folder)):
                    rows.append({"code": label, **r})
                    c.log(f"{label}: {r}")
    head = ("code", "accounts", "submit s", "replay s", "record MB")
    cells = [
        (r["code"], r["accounts"], r["submit_s"], r.get("replay_s", ""), r.get("record_mb", ""))
        for r in rows
    ]
    print(c.table(head, cells))


class _none:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


if __name__ == "__main__":
    main()
