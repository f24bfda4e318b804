"""No order twice: one open request per account, holdings checked at approval, and the queue
showing pending accounts instead of flagging them again (SQLite and PostgreSQL).

The tiny book (``tests.factories.tiny_book``): ACC1 holds 12 A ($50) and 10 B ($40) with
$1,000 cash; ACC2 holds 20 B with $100 cash. Rebalancing to target buys 12 A and 10 B in
ACC1 and, in ACC2 (value $900: A to $540, B to $360), buys 10 A and sells 11 B.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import T0, count, database_fixture, seed_firm, tiny_book
from trimtab.errors import ConflictError
from trimtab.service.evaluate import evaluate
from trimtab.service.imports import import_book, read_book_folder
from trimtab.service.requests import (
    approve_request,
    cancel_request,
    expire_requests,
    list_queue,
    show_request,
    submit_request,
)
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork

engine = database_fixture()
D1 = date(2026, 11, 19)


def setup_book(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    folder = read_book_folder(tiny_book(tmp_path / "b"))
    with UnitOfWork(engine, "acme") as uow:
        import_book(uow, actor="olga", as_of=D1, folder=folder, now=T0)


def submit(engine: sa.Engine, accounts: list[str], *, replace: bool = False) -> int:
    with UnitOfWork(engine, "acme") as uow:
        return submit_request(
            uow,
            actor="olga",
            account_ids=accounts,
            logic="rebalance_to_target",
            now=T0,
            **({"replace": True} if replace else {}),
        ).request_id


def approve(engine: sa.Engine, request_id: int) -> str:
    with UnitOfWork(engine, "acme") as uow:
        return approve_request(uow, actor="amy", request_id=request_id, now=T0).status


def sold(engine: sa.Engine, account: str, symbol: str) -> Decimal:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.orders.c.quantity).where(
                t.orders.c.account_id == account,
                t.orders.c.symbol == symbol,
                t.orders.c.side == "sell",
            )
        ).scalars()
        return sum(rows, Decimal(0))


def test_an_account_in_an_open_request_is_refused(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    first = submit(engine, ["ACC2"])
    with pytest.raises(ConflictError, match=rf"account 'ACC2' is in open request {first}"):
        submit(engine, ["ACC1", "ACC2"])
    assert count(engine, "requests") == 1
    # Had both been approved, 22 B would have been sold of the 20 held.
    assert approve(engine, first) == "complete"
    assert sold(engine, "ACC2", "B") == 11


def test_cancel_or_replace_frees_the_account(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    first = submit(engine, ["ACC1", "ACC2"])
    second = submit(engine, ["ACC2"], replace=True)
    with UnitOfWork(engine, "acme") as uow:
        assert show_request(uow, actor="olga", request_id=first).status == "canceled"
        assert show_request(uow, actor="olga", request_id=second).status == "pending"
        cancel_request(uow, actor="olga", request_id=second, now=T0)
    third = submit(engine, ["ACC2"])  # free again after the cancel
    assert approve(engine, third) == "complete"
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.open_accounts)).scalar() == 0


def test_selling_more_than_held_is_refused_at_approval(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    first = submit(engine, ["ACC2"])
    assert approve(engine, first) == "complete"  # sells 11 of the 20 B
    # The next request is proposed on the same book (20 B) and sells 11 B again; only 9 are
    # left after the first request's orders, so ACC2 fails and no order is created.
    second = submit(engine, ["ACC1", "ACC2"])
    assert approve(engine, second) == "complete_with_errors"
    with UnitOfWork(engine, "acme") as uow:
        shown = show_request(uow, actor="olga", request_id=second)
    assert shown.issue == (
        "ACC2: sells 11 B but 9 are held (20 in the book of 2026-11-19, 11 sold by orders since)"
    )
    assert sold(engine, "ACC2", "B") == 11
    assert count(engine, "orders") == 2 + 2  # first: ACC2 buy A, sell B; second: ACC1 only
    third = submit(engine, ["ACC2"])
    assert approve(engine, third) == "failed"
    assert sold(engine, "ACC2", "B") == 11


def test_a_pending_account_is_not_queued_again(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    # 20 Nov evaluates the book of 19 Nov: both accounts are out of band (ACC1 holds 30% A).
    with UnitOfWork(engine, "acme") as uow:
        evaluate(uow, actor="olga", day=date(2026, 11, 20), now=T0)
    request_id = submit(engine, ["ACC2"])
    folder = read_book_folder(tiny_book(tmp_path / "b2"))
    with UnitOfWork(engine, "acme") as uow:
        import_book(uow, actor="olga", as_of=date(2026, 11, 20), folder=folder, now=T0)
    with UnitOfWork(engine, "acme") as uow:
        evaluate(uow, actor="olga", day=date(2026, 11, 23), now=T0 + timedelta(days=3))
        queue = list_queue(uow, actor="olga", pending=True)
    # the next day flags both again; ACC2 shows as pending in its request, not as open
    assert [(q.account_id, q.as_of, q.request_id) for q in queue] == [
        ("ACC1", date(2026, 11, 23), None),
        ("ACC2", date(2026, 11, 23), request_id),
    ]
    with UnitOfWork(engine, "acme") as uow:
        assert [q.account_id for q in list_queue(uow, actor="olga")] == ["ACC1"]
        expire_requests(uow, actor="olga", now=T0 + timedelta(days=4))
        assert [q.account_id for q in list_queue(uow, actor="olga")] == [
            "ACC1",
            "ACC2",
        ]


def _evaluate(engine: sa.Engine, **kwargs: object) -> object:
    with UnitOfWork(engine, "acme") as uow:
        return evaluate(uow, actor="olga", day=date(2026, 11, 20), now=T0, **kwargs)  # type: ignore[arg-type]


def _run_row(engine: sa.Engine) -> sa.Row[tuple[object, ...]]:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(t.evaluation_runs.c.status, t.evaluation_runs.c.lease_until)
        ).one()


def test_rerun_after_a_submission_keeps_the_queue(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    _evaluate(engine)
    request_id = submit(engine, ["ACC2"])
    _evaluate(engine)  # before: "another process is evaluating", the run left running
    assert _run_row(engine) == ("complete", None)
    with engine.connect() as conn:
        entries = conn.execute(
            sa.select(
                t.queue_entries.c.account_id, t.queue_entries.c.status, t.queue_entries.c.request_id
            ).order_by(t.queue_entries.c.account_id)
        ).all()
    assert [tuple(e) for e in entries] == [
        ("ACC1", "open", None),
        ("ACC2", "submitted", request_id),
    ]


def test_a_live_lease_is_respected_and_a_lapsed_one_taken_over(
    engine: sa.Engine, tmp_path: Path
) -> None:
    setup_book(engine, tmp_path)
    wall = datetime.now(UTC)
    with engine.begin() as conn:  # a run another process holds for another minute
        conn.execute(
            sa.insert(t.evaluation_runs).values(
                firm_id="acme",
                as_of=date(2026, 11, 20),
                data_date=D1,
                status="running",
                started_at=T0,
                started_by="olga",
                lease_owner="elsewhere:1",
                lease_until=wall + timedelta(minutes=1),
            )
        )
    with pytest.raises(ConflictError, match="another process is evaluating 2026-11-20"):
        _evaluate(engine)
    with UnitOfWork(engine, "acme") as uow, pytest.raises(ConflictError, match="incomplete"):
        list_queue(uow, actor="olga")
    with engine.begin() as conn:  # that process died: its lease lapsed
        conn.execute(sa.update(t.evaluation_runs).values(lease_until=wall - timedelta(seconds=1)))
    summary = _evaluate(engine)
    assert summary.resumed  # type: ignore[attr-defined]
    assert summary.flagged == 2  # type: ignore[attr-defined]
    assert _run_row(engine) == ("complete", None)


def test_the_queue_of_an_interrupted_run_is_not_shown(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)

    def stop_after_first(done: int, total: int) -> None:
        if done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _evaluate(engine, chunk=1, progress=stop_after_first)
    # the interrupted process let go of its lease: the run is interrupted, not running
    assert _run_row(engine) == ("running", None)
    with (
        UnitOfWork(engine, "acme") as uow,
        pytest.raises(
            ConflictError, match=r"evaluation of 2026-11-20 is incomplete \(interrupted\)"
        ),
    ):
        list_queue(uow, actor="olga")
    _evaluate(engine)
    with UnitOfWork(engine, "acme") as uow:
        assert [q.account_id for q in list_queue(uow, actor="olga")] == [
            "ACC1",
            "ACC2",
        ]


def test_migration_0005_holds_the_accounts_of_pending_requests(engine: sa.Engine) -> None:
    from trimtab.store.migrate import downgrade, upgrade

    downgrade(engine, "0004")
    request = {
        "firm_id": "acme",
        "logic": "rebalance_to_target",
        "submitted_by": "olga",
        "submitted_at": T0,
        "expires_at": T0 + timedelta(days=3),
        "needs_second_approver": False,
        "price_date": D1,
    }
    zero = {"message": "", "value": 0, "cash_after": 0, "realised_gain": 0}
    # the proposals table as it is at revision 0004 (the gain was spelled realised_gain then)
    proposals = sa.table(
        "proposals",
        *(sa.column(c) for c in ("request_id", "account_id", "firm_id", "status")),
        *(sa.column(c) for c in ("needs_second_approver", *zero)),
    )
    with engine.begin() as conn:
        conn.execute(sa.insert(t.firms).values(firm_id="acme", name="Acme", created_at=T0))
        for request_id, status in ((1, "pending"), (2, "pending"), (3, "complete")):
            conn.execute(
                sa.insert(t.requests).values(request_id=request_id, status=status, **request)
            )
        # the fault this migration ends: ACC2 in two pending requests at once
        for request_id, account, status in (
            (1, "ACC1", "success"),
            (1, "ACC2", "success"),
            (2, "ACC2", "success"),
            (2, "ACC3", "failed"),
            (3, "ACC4", "success"),
        ):
            conn.execute(
                sa.insert(proposals).values(
                    request_id=request_id,
                    account_id=account,
                    firm_id="acme",
                    status=status,
                    needs_second_approver=False,
                    **zero,
                )
            )
    upgrade(engine)
    with engine.connect() as conn:
        held = conn.execute(
            sa.select(t.open_accounts.c.account_id, t.open_accounts.c.request_id).order_by(
                t.open_accounts.c.account_id
            )
        ).all()
    # newest pending request wins; failed proposals and decided requests hold nothing
    assert [tuple(h) for h in held] == [("ACC1", 1), ("ACC2", 2)]
