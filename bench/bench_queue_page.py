"""Pages of a 100,000-account rebalancing queue, through ``queue_page``.

Builds the queue directly with bulk inserts (no book import, no evaluation): ``--accounts``
accounts in the queue (100,000), each with its newest open entry on one of three evaluation
days, older entries already submitted for a third of them, 1% more accounts waiting in open
requests (shown only with ``pending``) and 10% more evaluated but not flagged. Households
of 1 to 4 accounts, 200 models. The database is a fresh SQLite file and, when
``TRIMTAB_TEST_POSTGRES_URL`` is set, a PostgreSQL database of its own on that server
(``trimtab_bench_queue``, dropped afterwards). PostgreSQL gets ``ANALYZE`` as autovacuum
would give it; SQLite is left without statistics, as trimtab leaves it.

For each sort, times the first page, a page in the middle and the last page (50 items,
best and median of ``--repeats``), reached by walking the queue with 1,000-item pages, and
checks on the way that the walk returns every account once and in order. Also times
``queue_count`` and ``queue_account_ids`` and first pages filtered by household, model and
reason.

    .venv/bin/python bench/bench_queue_page.py [--accounts 100000] [--repeats 5] [--json]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

import _common as c

FIRM = "bench"
DAYS = (date(2026, 11, 18), date(2026, 11, 19), date(2026, 11, 20))
NOW = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
PG_DATABASE = "trimtab_bench_queue"
PASSWORD = "a bench password"
REASONS = ("out_of_band", "cash_high", "class_drift_2d", "no_trade", "deposit")


@contextmanager
def databases(tmp: Path, only: str | None) -> Iterator[list[tuple[str, sa.Engine]]]:
    """A migrated SQLite file and, when a server is configured, a PostgreSQL database."""
    from trimtab.store.migrate import make_engine, upgrade

    engines: list[tuple[str, sa.Engine]] = []
    if only != "postgresql":
        engines.append(("sqlite", make_engine(f"sqlite:///{tmp / 'queue.db'}")))
    url = os.environ.get("TRIMTAB_TEST_POSTGRES_URL")
    admin = None
    if url and only != "sqlite":
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{PG_DATABASE}"'))
        own = sa.make_url(url).set(database=PG_DATABASE)
        engines.append(("postgresql", make_engine(own.render_as_string(hide_password=False))))
    try:
        for _, engine in engines:
            upgrade(engine)
        yield engines
    finally:
        for _, engine in engines:
            engine.dispose()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}"'))
            admin.dispose()


def build(engine: sa.Engine, accounts: int, seed: int = 7) -> dict[str, Any]:
    """The firm, its users and a queue of ``accounts`` accounts; returns what was made."""
    from trimtab.store import tables as t
    from trimtab.store.uow import UnitOfWork

    rng = random.Random(seed)
    pending = accounts // 100
    calm = accounts // 10
    ids = [f"A{i:07d}" for i in range(accounts + pending + calm)]
    waiting = ids[accounts : accounts + pending]
    waiting_ids, calm_ids = frozenset(waiting), frozenset(ids[accounts + pending :])
    households: list[str] = []
    account_rows = []
    for account_id in ids:
        if not households or rng.random() < 0.4:
            households.append(f"H{len(households):07d}")
        model = f"M{rng.randrange(200):03d}"
        account_rows.append((FIRM, account_id, households[-1], model, True, DAYS[0].isoformat()))
    evaluations = []
    entries = []
    newest = {a: DAYS[rng.randrange(3)] for a in ids}
    for day in DAYS:
        for account_id in ids:
            if day > newest[account_id]:
                continue
            value = rng.randrange(5_000_00, 2_000_000_00) / 100
            drift = round(rng.random() * 40, 6) if rng.random() > 0.01 else 0.0
            flagged = account_id not in calm_ids
            reasons = ",".join(rng.sample(REASONS, rng.randrange(1, 3))) if flagged else ""
            evaluations.append(
                (
                    FIRM,
                    day.isoformat(),
                    account_id,
                    (day - timedelta(days=1)).isoformat(),
                    f"{value:.2f}",
                    f"{value / 100:.2f}",
                    f"{drift:.6f}",
                    1,
                    0,
                    0,
                    int(flagged),
                    reasons,
                )
            )
            if not flagged:
                continue
            if day == newest[account_id]:
                waits = account_id in waiting_ids
                status, request = ("submitted", 1) if waits else ("open", None)
            elif rng.random() < 1 / 3:
                status, request = "submitted", 2
            else:
                continue
            entries.append((FIRM, account_id, day.isoformat(), reasons, status, request))
    with UnitOfWork(engine, FIRM) as uow:
        conn = uow.conn
        conn.execute(sa.insert(t.firms).values(firm_id=FIRM, name="Bench", created_at=NOW))
        conn.execute(
            sa.insert(t.users).values(firm_id=FIRM, user_id="vera", role="viewer", created_at=NOW)
        )
        uow.bulk_insert(t.households, ("firm_id", "household_id"), [(FIRM, h) for h in households])
        uow.bulk_insert(
            t.accounts,
            ("firm_id", "account_id", "household_id", "model_id", "rebalancing", "first_seen"),
            account_rows,
        )
        for request_id, status in ((1, "pending"), (2, "complete")):
            conn.execute(
                sa.insert(t.requests).values(
                    request_id=request_id,
                    firm_id=FIRM,
                    logic="rebalance_to_target",
                    status=status,
                    submitted_by="vera",
                    submitted_at=NOW,
                    expires_at=NOW + timedelta(days=1),
                    needs_second_approver=False,
                    price_date=DAYS[1],
                )
            )
        uow.bulk_insert(
            t.open_accounts,
            ("firm_id", "account_id", "request_id"),
            [(FIRM, a, 1) for a in waiting],
        )
        for day in DAYS:
            conn.execute(
                sa.insert(t.evaluation_runs).values(
                    firm_id=FIRM,
                    as_of=day,
                    data_date=day - timedelta(days=1),
                    status="complete",
                    started_at=NOW,
                    finished_at=NOW,
                    started_by="vera",
                )
            )
        uow.bulk_insert(
            t.evaluations,
            (
                "firm_id",
                "as_of",
                "account_id",
                "data_date",
                "value",
                "cash",
                "max_drift_pct",
                "out_of_band",
                "cash_low",
                "skipped",
                "flagged",
                "reasons",
            ),
            evaluations,
            encoded=True,
        )
        uow.bulk_insert(
            t.queue_entries,
            ("firm_id", "account_id", "as_of", "reasons", "status", "request_id"),
            entries,
            encoded=True,
        )
        if uow.dialect == "postgresql":
            for name in ("accounts", "evaluations", "queue_entries", "open_accounts"):
                conn.exec_driver_sql(f'ANALYZE "{name}"')
        uow.commit()
    return {
        "queued": accounts,
        "pending": pending,
        "evaluations": len(evaluations),
        "entries": len(entries),
        "households": len(households),
        "sample_household": account_rows[accounts // 2][2],
    }


def _page(engine: sa.Engine, **kwargs: Any) -> Any:
    from trimtab.service.listing import queue_page
    from trimtab.store.uow import UnitOfWork

    with UnitOfWork(engine, FIRM) as uow:
        return queue_page(uow, actor="vera", **kwargs)


def _call(engine: sa.Engine, work: Callable[..., Any], **kwargs: Any) -> Any:
    from trimtab.store.uow import UnitOfWork

    with UnitOfWork(engine, FIRM) as uow:
        return work(uow, actor="vera", **kwargs)


def _sort_key(sort: str) -> Callable[[Any], Any]:
    if sort == "account":
        return lambda x: (x.account_id,)
    if sort == "evaluated":
        return lambda x: (-x.as_of.toordinal(), x.account_id)
    field = "max_drift_pct" if sort == "drift" else "value"
    return lambda x: (-float(getattr(x, field) or 0), x.account_id)


def walk(engine: sa.Engine, sort: str, expected: int) -> tuple[list[str | None], float]:
    """Every page of 1,000 in ``sort`` order: the token before each page, and the seconds
    the walk took. Checks every account comes once, in order."""
    tokens: list[str | None] = [None]
    seen: set[str] = set()
    previous = None
    key = _sort_key(sort)
    t0 = time.perf_counter()
    while True:
        page = _page(engine, sort=sort, limit=1000, page_token=tokens[-1])
        for item in page.items:
            if item.account_id in seen:
                raise AssertionError(f"{sort}: {item.account_id} came twice")
            seen.add(item.account_id)
            if previous is not None and key(item) < previous:
                raise AssertionError(f"{sort}: {item.account_id} out of order")
            previous = key(item)
        if page.next_page_token is None:
            break
        tokens.append(page.next_page_token)
    elapsed = time.perf_counter() - t0
    if len(seen) != expected:
        raise AssertionError(f"{sort}: walked {len(seen)} accounts, expected {expected}")
    return tokens, elapsed


def run(accounts: int, repeats: int, only: str | None) -> dict[str, Any]:
    from trimtab.service.listing import queue_account_ids, queue_count

    rows: list[dict[str, Any]] = []
    before = c.loadavg()
    with tempfile.TemporaryDirectory() as tmp, databases(Path(tmp), only) as engines:
        for name, engine in engines:
            t0 = time.perf_counter()
            made = build(engine, accounts)
            c.log(f"{name}: built {made} in {time.perf_counter() - t0:.1f} s")

            def add(what: str, work: Callable[[], object], name: str = name) -> None:
                timing = c.repeat(work, repeats)
                rows.append(
                    {
                        "database": name,
                        "what": what,
                        "best_s": timing.best,
                        "median_s": timing.median,
                        "load_1min": c.loadavg()[0],
                    }
                )
                c.log(f"{name}: {what}: best {timing.best * 1000:.1f} ms")

            count = _call(engine, queue_count)
            if count != accounts:
                raise AssertionError(f"queue_count {count}, expected {accounts}")
            pending = _call(engine, queue_count, pending=True)
            if pending != accounts + made["pending"]:
                raise AssertionError(f"queue_count pending {pending}")
            for sort in ("account", "drift", "value", "evaluated"):
                tokens, walked = walk(engine, sort, accounts)
                rows.append(
                    {
                        "database": name,
                        "what": f"{sort}: walk all pages of 1,000",
                        "best_s": walked,
                        "median_s": walked,
                        "load_1min": c.loadavg()[0],
                    }
                )
                middle, last = tokens[len(tokens) // 2], tokens[-1]
                add(f"{sort}: first page", lambda e=engine, s=sort: _page(e, sort=s))
                add(
                    f"{sort}: middle page",
                    lambda e=engine, s=sort, k=middle: _page(e, sort=s, page_token=k),
                )
                add(
                    f"{sort}: last page",
                    lambda e=engine, s=sort, k=last: _page(e, sort=s, page_token=k),
                )
            add("drift, pending: first page", lambda e=engine: _page(e, sort="drift", pending=True))
            add(
                "household filter: first page",
                lambda e=engine, h=made["sample_household"]: _page(e, household=h),
            )
            add(
                "model filter, drift: first page",
                lambda e=engine: _page(e, model="M007", sort="drift"),
            )
            add(
                "reason filter, value: first page",
                lambda e=engine: _page(e, reason="no_trade", sort="value"),
            )
            add("queue_count", lambda e=engine: _call(e, queue_count))
            add("queue_account_ids", lambda e=engine: _call(e, queue_account_ids))
            over_http(engine, accounts, add)
    return {
        "benchmark": "queue_page",
        "goal": "first and middle page well under a second at 100,000 accounts",
        "accounts": accounts,
        "load_before": before,
        "load_after": c.loadavg(),
        "machine": c.machine(),
        "results": rows,
    }


def _now() -> datetime:
    return datetime.now(UTC)


def over_http(engine: sa.Engine, accounts: int, add: Callable[..., None]) -> None:
    """The same pages through ``GET /api/v1/queue`` of a real server (Uvicorn on loopback),
    with a viewer's API key: what an API client or the Accounts to Rebalance page waits."""
    import httpx

    from trimtab.service.credentials import add_api_key, set_password, sign_in
    from trimtab.store import tables as t
    from trimtab.store.uow import UnitOfWork
    from trimtab.web import create_app
    from trimtab.web.local import serving

    with UnitOfWork(engine, FIRM) as uow:
        uow.conn.execute(
            sa.insert(t.users).values(firm_id=FIRM, user_id="ada", role="admin", created_at=NOW)
        )
        uow.commit()
        set_password(uow, actor="ada", user_id="ada", password=PASSWORD, now=NOW)
        token = add_api_key(uow, actor="ada", name="bench", role="viewer", now=NOW)
    session, _ = sign_in(
        engine, firm_id=FIRM, user_id="ada", password=PASSWORD, client="bench", now=_now()
    )
    with (
        serving(create_app(engine=engine)) as url,
        httpx.Client(
            base_url=f"{url}/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        ) as client,
        httpx.Client(
            base_url=url, headers={"Cookie": f"trimtab_session={session}"}, timeout=60
        ) as browser,
    ):

        def get(**params: Any) -> dict[str, Any]:
            given = {k: v for k, v in params.items() if v is not None}
            answer = client.get("/queue", params={"limit": 50, **given})
            answer.raise_for_status()
            found: dict[str, Any] = answer.json()
            if len(found["items"]) != 50:
                raise AssertionError(f"a page of {len(found['items'])} items")
            return found

        def screen(**params: Any) -> None:
            answer = browser.get("/", params=params)
            if answer.status_code != 200:
                raise AssertionError(f"{answer.status_code} {answer.headers.get('location')}")
            if answer.text.count('name="account"') < 50:
                raise AssertionError("the page does not list 50 accounts")

        middle = max(1, accounts // 100)  # pages of 50 to the middle of the queue
        for sort in ("account", "drift"):
            token_at = None
            for _ in range(middle):
                token_at = get(sort=sort, page_token=token_at)["next_page_token"]
            add(f"HTTP {sort}: first page", lambda s=sort: get(sort=s))
            add(f"page / (Accounts to Rebalance), {sort}", lambda s=sort: screen(sort=s))
            add(
                f"HTTP {sort}: middle page ({middle + 1:,})",
                lambda s=sort, k=token_at: get(sort=s, page_token=k),
            )


def render(result: dict[str, Any]) -> str:
    head = ("database", "what", "best ms", "median ms", "load")
    rows = [
        (r["database"], r["what"], r["best_s"] * 1000, r["median_s"] * 1000, r["load_1min"])
        for r in result["results"]
    ]
    return "\n".join(
        [
            f"queue_page on a {result['accounts']:,}-account queue (pages of 50)",
            c.table(head, rows),
            c.load_note(result["load_before"], result["load_after"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100_000, help="accounts in the queue")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="10,000 accounts, 3 repeats")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="one database only")
    args = parser.parse_args()
    accounts, repeats = (10_000, 3) if args.quick else (args.accounts, args.repeats)
    result = run(accounts, repeats, args.only)
    c.emit(result, render(result), args.json)


if __name__ == "__main__":
    main()
