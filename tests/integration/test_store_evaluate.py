"""The daily evaluation on SQLite and PostgreSQL: each trigger worked out by hand.

Dates: books of Thu 19 Nov (D1), Fri 20 Nov (D2) and Mon 23 Nov 2026 (D3), evaluated on the
next market day each (20, 23 and 24 Nov).

Account BAL holds 120 A at $50 and 100 B at $40 with $200 cash: value $10,200, weights
58.8% / 39.2%, inside the bands (A 60 [55, 65], B 40 [35, 45]); cash is above 0.3% of value
($30.60) and below the sweep target ($80, since 0.7% is $71.40) plus $330. So no trigger
fires unless a test adds one.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from tests.factories import T0, database_fixture, seed_firm, tiny_book, write_book
from trimtab.core.engine import Method, propose
from trimtab.errors import NotFoundError
from trimtab.service.evaluate import EvaluationSummary, class_drift_pct, evaluate
from trimtab.service.imports import import_book, read_book_folder
from trimtab.service.requests import cancel_request, submit_request
from trimtab.service.snapshot import load_snapshot
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork

engine = database_fixture()
D1, D2, D3 = date(2026, 11, 19), date(2026, 11, 20), date(2026, 11, 23)
NEXT = {D1: date(2026, 11, 20), D2: date(2026, 11, 23), D3: date(2026, 11, 24)}
MODEL = [
    {"model_id": "M1", "symbol": "A", "target_pct": 60, "min_pct": 55, "max_pct": 65},
    {"model_id": "M1", "symbol": "B", "target_pct": 40, "min_pct": 35, "max_pct": 45},
]


def bal_book(folder: Path, *, cash: float = 200.0, rebalancing: str = "true", **extra: Any) -> Path:
    tables: dict[str, Any] = {
        "prices": [
            {
                "symbol": "A",
                "price": 50.0,
                "sub_asset_class": "Large Value",
                "asset_class": "Equity",
            },
            {"symbol": "B", "price": 40.0, "sub_asset_class": "Core Bond", "asset_class": "Bond"},
        ],
        "models": MODEL,
        "accounts": [
            {
                "account_id": "BAL",
                "model_id": "M1",
                "cash": cash,
                "household_id": "H",
                "registration": "qualified",
                "rebalancing": rebalancing,
            },
        ],
        "positions": [
            {"account_id": "BAL", "symbol": "A", "quantity": 120},
            {"account_id": "BAL", "symbol": "B", "quantity": 100},
        ],
    }
    tables.update(extra)
    return write_book(folder, **tables)


def load(engine: sa.Engine, folder: Path, day: date) -> None:
    with UnitOfWork(engine, "acme") as uow:
        import_book(uow, actor="olga", as_of=day, folder=read_book_folder(folder), now=T0)


def run(engine: sa.Engine, data_day: date, **kw: Any) -> EvaluationSummary:
    with UnitOfWork(engine, "acme") as uow:
        return evaluate(uow, actor="olga", day=NEXT[data_day], now=T0, **kw)


def reasons(engine: sa.Engine, data_day: date) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.evaluations.c.account_id, t.evaluations.c.reasons).where(
                t.evaluations.c.as_of == NEXT[data_day]
            )
        ).all()
    return {r.account_id: r.reasons for r in rows}


def days(engine: sa.Engine, tmp_path: Path, books: list[Path]) -> list[dict[str, str]]:
    seed_firm(engine)
    out = []
    for day, folder in zip((D1, D2, D3), books, strict=False):
        load(engine, folder, day)
        run(engine, day)
        out.append(reasons(engine, day))
    return out


def test_class_drift_by_hand(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    load(engine, tiny_book(tmp_path / "b"), D1)
    with UnitOfWork(engine, "acme") as uow:
        snap = load_snapshot(uow, as_of=D1)
    assert snap.sub_asset_classes == ["Core Bond", "Large Value"]
    # ACC1: B 400 / 2000 = 20% vs 40; A 600 / 2000 = 30% vs 60.
    # ACC2: B 800 / 900 = 88.89% vs 40; A 0% vs 60.
    np.testing.assert_allclose(
        class_drift_pct(snap), [[-20.0, -30.0], [800 / 9 - 40, -60.0]], atol=1e-9
    )


def test_band_cash_high_and_trade_hold(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    load(engine, tiny_book(tmp_path / "b"), D1)
    with engine.begin() as conn:
        conn.execute(
            sa.update(t.accounts).where(t.accounts.c.account_id == "ACC2").values(trade_hold=True)
        )
    summary = run(engine, D1)
    # ACC1: A 30% and B 20% are outside their bands; cash 1000 > max(0.7% x 2000, 80) + 330.
    assert reasons(engine, D1) == {"ACC1": "out_of_band,cash_high", "ACC2": ""}
    assert summary.skipped == ["ACC2"]
    assert (summary.evaluated, summary.flagged) == (2, 1)
    with engine.connect() as conn:
        queued = conn.execute(sa.select(t.queue_entries.c.account_id)).scalars().all()
    assert queued == ["ACC1"]


def test_balanced_account_is_not_flagged(engine: sa.Engine, tmp_path: Path) -> None:
    got = days(engine, tmp_path, [bal_book(tmp_path / "1", cash=200.0)])
    assert got == [{"BAL": ""}]


def test_cash_below_0_3_percent_two_days_in_a_row(engine: sa.Engine, tmp_path: Path) -> None:
    # cash 2 on value 10,002: 0.3% is 30.006, so 2 is low on both days.
    got = days(engine, tmp_path, [bal_book(tmp_path / str(i), cash=2.0) for i in (1, 2)])
    assert got == [{"BAL": ""}, {"BAL": "cash_low"}]


def test_the_models_cash_left_by_a_rebalance_is_not_flagged(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """A model of A 50% [45, 55], B 40% [35, 45] and 10% cash. D1: 800 A at $50 ($40,000,
    40%: out of band), 1,000 B at $40 ($40,000) and $20,000 cash, value $100,000: cash is
    more than max(0.7% = $700, 10% = $10,000) + $330. The engine's rebalance to target buys
    200 A ($10,000) and leaves $10,000 cash, the model's. D2, that book at the same prices:
    $10,000 is not above $10,330, so nothing fires (against the sweep target alone, $1,030,
    ``cash_high`` would fire again, every day)."""
    model = [dict(MODEL[0], target_pct=50, min_pct=45, max_pct=55), MODEL[1]]

    def book(folder: Path, a: float, cash: float) -> Path:
        positions = [
            {"account_id": "BAL", "symbol": "A", "quantity": a},
            {"account_id": "BAL", "symbol": "B", "quantity": 1000},
        ]
        return bal_book(folder, cash=cash, models=model, positions=positions)

    seed_firm(engine)
    load(engine, book(tmp_path / "1", 800, 20_000.0), D1)
    run(engine, D1)
    assert reasons(engine, D1) == {"BAL": "out_of_band,cash_high"}
    with UnitOfWork(engine, "acme") as uow:
        arrays = load_snapshot(uow, as_of=D1).arrays
    proposal = propose(arrays.batch(0, arrays.size), Method.REBALANCE_TO_TARGET)
    assert arrays.price[arrays.slot_symbol[0, :2]].tolist() == [50.0, 40.0]
    assert proposal.quantity[0, :2].tolist() == [200.0, 0.0]
    assert proposal.cash_after[0] == pytest.approx(10_000.0)
    load(engine, book(tmp_path / "2", 1000, float(proposal.cash_after[0])), D2)
    run(engine, D2)
    assert reasons(engine, D2) == {"BAL": ""}


def test_deposit_and_withdrawal_since_the_previous_run(engine: sa.Engine, tmp_path: Path) -> None:
    book2 = bal_book(
        tmp_path / "2",
        cash=200.0,
        cash_activity=[
            {"account_id": "BAL", "kind": "deposit", "amount": 150, "date": "2026-11-20"},
            {"account_id": "BAL", "kind": "withdrawal", "amount": 50, "date": "2026-11-19"},
        ],
    )
    got = days(engine, tmp_path, [bal_book(tmp_path / "1", cash=200.0), book2])
    # The withdrawal is dated D1, already covered by the first run: only the deposit counts.
    assert got == [{"BAL": ""}, {"BAL": "deposit"}]


def test_target_changed(engine: sa.Engine, tmp_path: Path) -> None:
    new_model = [dict(MODEL[0], target_pct=61), dict(MODEL[1], target_pct=39)]
    got = days(
        engine,
        tmp_path,
        [
            bal_book(tmp_path / "1", cash=200.0),
            bal_book(tmp_path / "2", cash=200.0, models=new_model),
        ],
    )
    assert got == [{"BAL": ""}, {"BAL": "target_changed"}]


def test_toggled_on_off_on(engine: sa.Engine, tmp_path: Path) -> None:
    books = [
        bal_book(tmp_path / "1", cash=200.0),
        bal_book(tmp_path / "2", cash=200.0, rebalancing="false"),
        bal_book(tmp_path / "3", cash=200.0),
    ]
    got = days(engine, tmp_path, books)
    assert got == [{"BAL": ""}, {}, {"BAL": "toggled"}]


def test_no_trade_for_550_days(engine: sa.Engine, tmp_path: Path) -> None:
    # D1 is 19 Nov 2026; 550 days earlier is 18 May 2025.
    def trade(day: str) -> list[dict[str, Any]]:
        return [
            {
                "account_id": "BAL",
                "date": day,
                "symbol": "A",
                "action": "buy",
                "quantity": 1,
                "price": 40,
            }
        ]

    seed_firm(engine)
    load(engine, bal_book(tmp_path / "1", cash=200.0, transactions=trade("2025-05-19")), D1)
    run(engine, D1)
    assert reasons(engine, D1) == {"BAL": ""}  # 549 days
    load(engine, bal_book(tmp_path / "2", cash=200.0, transactions=trade("2025-05-18")), D2)
    # the latest trade known is still 19 May 2025, which is 550 days before D2
    run(engine, D2)
    assert reasons(engine, D2) == {"BAL": "no_trade"}


def test_restriction_ended_with_rebalance_immediately(engine: sa.Engine, tmp_path: Path) -> None:
    restrictions = [
        {
            "account_id": "BAL",
            "restriction_id": "R1",
            "type": "exclusion",
            "symbol": "A",
            "start_date": "2026-01-05",
            "end_date": "2026-11-20",
            "end_action": "rebalance_immediately",
            "behaviour": "hold",
        },
        {
            "account_id": "BAL",
            "restriction_id": "R2",
            "type": "exclusion",
            "symbol": "B",
            "start_date": "2026-01-05",
            "end_date": "2026-11-20",
            "end_action": "wait_for_weight_change",
            "behaviour": "hold",
        },
    ]
    got = days(
        engine,
        tmp_path,
        [
            bal_book(tmp_path / "1", cash=200.0, restrictions=restrictions),
            bal_book(tmp_path / "2", cash=200.0, restrictions=restrictions),
        ],
    )
    assert got == [{"BAL": ""}, {"BAL": "restriction_ended"}]


def test_sub_asset_class_persistence(engine: sa.Engine, tmp_path: Path) -> None:
    # ACC2 is 60 points under in Large Value and 48.9 over in Core Bond on every day.
    seed_firm(engine)
    load(engine, tiny_book(tmp_path / "1"), D1)
    with engine.begin() as conn:
        conn.execute(sa.update(t.accounts).values(sac_soft_days=3))
    run(engine, D1)
    load(engine, tiny_book(tmp_path / "2"), D2)
    run(engine, D2)
    load(engine, tiny_book(tmp_path / "3"), D3)
    run(engine, D3)
    # over 10 points two evaluations in a row from the second run; over 5 points since
    # 20 Nov: 3 days by 23 Nov (not more than 3), 4 days by 24 Nov.
    assert reasons(engine, D1)["ACC2"] == "out_of_band"
    assert reasons(engine, D2)["ACC2"] == "out_of_band,class_drift_2d"
    assert reasons(engine, D3)["ACC2"] == "out_of_band,class_drift_6m,class_drift_2d"


def test_rerun_replaces_only_its_own_date(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    load(engine, tiny_book(tmp_path / "1"), D1)
    run(engine, D1)
    load(engine, tiny_book(tmp_path / "2"), D2)
    run(engine, D2)
    again = run(engine, D1)
    assert (again.evaluated, again.flagged, again.resumed) == (2, 2, False)
    with engine.connect() as conn:
        per_day = dict(
            tuple(r)
            for r in conn.execute(
                sa.select(t.queue_entries.c.as_of, sa.func.count()).group_by(
                    t.queue_entries.c.as_of
                )
            ).all()
        )
    # each account keeps one open entry, its newest: the re-run of D1 leaves D2's in place
    assert per_day == {NEXT[D2]: 2}


def test_an_account_keeps_one_open_entry_its_newest(engine: sa.Engine, tmp_path: Path) -> None:
    """A later evaluation that flags an account again replaces its open entry; while the
    account waits in a request its entries are the request's, and when the request is
    canceled only the newest goes back to the queue."""
    seed_firm(engine)
    load(engine, tiny_book(tmp_path / "1"), D1)
    run(engine, D1)
    with UnitOfWork(engine, "acme") as uow:
        request_id = submit_request(
            uow, actor="olga", account_ids=["ACC1"], logic="rebalance_to_target", now=T0
        ).request_id
    load(engine, tiny_book(tmp_path / "2"), D2)
    run(engine, D2)

    def entries() -> list[tuple[str, date, str]]:
        q = t.queue_entries.c
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(q.account_id, q.as_of, q.status).order_by(q.account_id, q.as_of)
            ).all()
        return [(a, d if isinstance(d, date) else date.fromisoformat(d), s) for a, d, s in rows]

    assert entries() == [
        ("ACC1", NEXT[D1], "submitted"),
        ("ACC1", NEXT[D2], "submitted"),
        ("ACC2", NEXT[D2], "open"),
    ]
    with UnitOfWork(engine, "acme") as uow:
        cancel_request(uow, actor="olga", request_id=request_id, now=T0)
    assert entries() == [("ACC1", NEXT[D2], "open"), ("ACC2", NEXT[D2], "open")]


def test_interrupted_run_resumes(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    load(engine, tiny_book(tmp_path / "1"), D1)

    def stop_after_first(done: int, total: int) -> None:
        if done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(engine, D1, chunk=1, progress=stop_after_first)
    assert list(reasons(engine, D1)) == ["ACC1"]
    seen: list[tuple[int, int]] = []
    resumed = run(engine, D1, chunk=1, progress=lambda d, n: seen.append((d, n)))
    assert resumed.resumed
    assert seen == [(1, 2), (2, 2)]
    assert reasons(engine, D1) == {"ACC1": "out_of_band,cash_high", "ACC2": "out_of_band"}


def test_missing_book_is_named(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    with pytest.raises(NotFoundError, match="no book imported for 2026-11-19"):
        run(engine, D1)
