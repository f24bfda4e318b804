"""Requests and orders on SQLite and PostgreSQL, including racing approvals on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import T0, count, database_fixture, seed_firm, tiny_book
from trimtab.errors import ConflictError, ForbiddenError, InputError, TrimtabError
from trimtab.service.imports import import_book, read_book_folder
from trimtab.service.orders import export_orders
from trimtab.service.requests import (
    approve_request,
    cancel_request,
    expire_requests,
    list_queue,
    list_requests,
    resubmit_failed,
    show_request,
    submit_request,
)
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork

engine = database_fixture()
D1 = date(2026, 11, 19)
LOTS = [  # ACC1 holds 12 A: an old cheap lot and a newer dear one
    {
        "account_id": "ACC1",
        "symbol": "A",
        "quantity": 6,
        "cost_basis": 60.0,
        "acquired": "2020-01-02",
    },
    {
        "account_id": "ACC1",
        "symbol": "A",
        "quantity": 6,
        "cost_basis": 330.0,
        "acquired": "2025-01-02",
    },
]


def setup_book(engine: sa.Engine, tmp_path: Path, **extra: object) -> None:
    seed_firm(engine)
    folder = read_book_folder(tiny_book(tmp_path / "b", **extra))  # type: ignore[arg-type]
    with UnitOfWork(engine, "acme") as uow:
        import_book(uow, actor="olga", as_of=D1, folder=folder, now=T0)


def submit(
    engine: sa.Engine,
    accounts: list[str],
    actor: str = "olga",
    logic: str = "rebalance_to_target",
    amounts: dict[str, float] | None = None,
) -> int:
    with UnitOfWork(engine, "acme") as uow:
        return submit_request(
            uow, actor=actor, account_ids=accounts, logic=logic, now=T0, amounts=amounts
        ).request_id


def test_submit_computes_proposals_by_hand(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    request_id = submit(engine, ["ACC1"])
    with UnitOfWork(engine, "acme") as uow:
        shown = show_request(uow, actor="olga", request_id=request_id)
    # ACC1: 12 A x 50 = 600, 10 B x 40 = 400, cash 1000, value 2000.
    # Targets A 60% = 1200 (+600 -> 12 shares), B 40% = 800 (+400 -> 10 shares).
    proposal = shown.proposals[0]
    trades = {(x.symbol, x.action, x.quantity) for x in proposal.trades}
    assert trades == {("A", "buy", Decimal(12)), ("B", "buy", Decimal(10))}
    assert proposal.status == "success"
    assert proposal.cash_after == Decimal(0)
    assert shown.status == "pending"
    assert shown.price_date == D1


def test_approve_creates_orders_once(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    request_id = submit(engine, ["ACC1", "ACC2"])
    with UnitOfWork(engine, "acme") as uow:
        assert approve_request(uow, actor="amy", request_id=request_id, now=T0).status == "complete"
    with (
        pytest.raises(ConflictError, match="complete, no longer pending"),
        UnitOfWork(engine, "acme") as uow,
    ):
        approve_request(uow, actor="bob", request_id=request_id, now=T0)
    with engine.connect() as conn:
        orders = conn.execute(sa.select(t.orders).order_by(t.orders.c.client_order_id)).all()
    # ACC2: 20 B = 800 + 100 cash = 900: A to 540 -> 10 shares (500), B to 360 -> sell 11.
    assert [(o.client_order_id, o.account_id, o.symbol, o.side, o.quantity) for o in orders] == [
        (f"TT{request_id}-0001", "ACC1", "A", "buy", 12),
        (f"TT{request_id}-0002", "ACC1", "B", "buy", 10),
        (f"TT{request_id}-0003", "ACC2", "A", "buy", 10),
        (f"TT{request_id}-0004", "ACC2", "B", "sell", 11),
    ]
    # T0 is 08:00 in Chicago on Friday 20 November 2026: before the cut-off.
    assert {(o.trade_date, o.best_effort) for o in orders} == {(date(2026, 11, 20), False)}


def test_operator_cannot_approve(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    request_id = submit(engine, ["ACC1"])
    with (
        pytest.raises(ForbiddenError, match="this needs the approver role"),
        UnitOfWork(engine, "acme") as uow,
    ):
        approve_request(uow, actor="olga", request_id=request_id, now=T0)


def test_large_gain_needs_another_approver(engine: sa.Engine, tmp_path: Path) -> None:
    # A at 300: ACC1 = 12 x 300 + 400 + 1000 = 5000; target A 3000 -> sell 2 shares... too
    # little gain; at 500: value 7400, A target 4440 of 6000 -> sell 3 shares (1560 / 500).
    # FIFO relieves the 2020 lot (basis 10/share): gain 3 x (500 - 10) = 1470 >= 1000.
    setup_book(engine, tmp_path, price_a=500.0, lots=LOTS)
    request_id = submit(engine, ["ACC1"], actor="amy")
    with UnitOfWork(engine, "acme") as uow:
        shown = show_request(uow, actor="olga", request_id=request_id)
    assert shown.proposals[0].realized_gain == Decimal("1470")
    assert shown.needs_second_approver is True
    with (
        pytest.raises(ForbiddenError, match="an approver other than 'amy'"),
        UnitOfWork(engine, "acme") as uow,
    ):
        approve_request(uow, actor="amy", request_id=request_id, now=T0)
    with UnitOfWork(engine, "acme") as uow:
        assert approve_request(uow, actor="bob", request_id=request_id, now=T0).status == "complete"


def test_trade_hold_fails_the_account(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    with engine.begin() as conn:
        conn.execute(
            sa.update(t.accounts).where(t.accounts.c.account_id == "ACC2").values(trade_hold=True)
        )
        conn.execute(
            sa.insert(t.queue_entries),
            [
                {"firm_id": "acme", "account_id": a, "as_of": D1, "reasons": "x", "status": "open"}
                for a in ("ACC1", "ACC2")
            ],
        )
    request_id = submit(engine, ["ACC1", "ACC2"])
    with UnitOfWork(engine, "acme") as uow:
        status = approve_request(uow, actor="amy", request_id=request_id, now=T0).status
        shown = show_request(uow, actor="olga", request_id=request_id)
    assert status == "complete_with_errors"
    assert shown.issue == "ACC2: The account is on trade hold: no trades are proposed."
    assert count(engine, "orders") == 2
    with engine.connect() as conn:
        queue = conn.execute(
            sa.select(t.queue_entries.c.account_id, t.queue_entries.c.status).order_by(
                t.queue_entries.c.account_id
            )
        ).all()
    assert [tuple(q) for q in queue] == [("ACC1", "submitted"), ("ACC2", "open")]


def test_cancel_then_approve_is_refused(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    request_id = submit(engine, ["ACC1"])
    with UnitOfWork(engine, "acme") as uow:
        cancel_request(uow, actor="olga", request_id=request_id, now=T0)
    with pytest.raises(ConflictError, match="canceled"), UnitOfWork(engine, "acme") as uow:
        approve_request(uow, actor="amy", request_id=request_id, now=T0)
    assert count(engine, "orders") == 0


def test_expiry_at_end_of_next_business_day(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    request_id = submit(engine, ["ACC1"])  # Friday 20 Nov -> expires end of Monday 23 Nov
    monday_late = datetime(2026, 11, 24, 5, 59, tzinfo=UTC)  # 23:59 Monday in Chicago
    with UnitOfWork(engine, "acme") as uow:
        assert expire_requests(uow, actor="olga", now=monday_late) == []
    with UnitOfWork(engine, "acme") as uow:
        assert expire_requests(uow, actor="olga", now=monday_late + timedelta(minutes=1)) == [
            request_id
        ]
    with pytest.raises(ConflictError, match="expired"), UnitOfWork(engine, "acme") as uow:
        approve_request(uow, actor="amy", request_id=request_id, now=monday_late)


def test_unknown_logic_and_account(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    with pytest.raises(InputError, match="logic: must be one of"):
        submit(engine, ["ACC1"], logic="yolo")
    with pytest.raises(TrimtabError, match="account 'NOPE' does not exist"):
        submit(engine, ["NOPE"])
    assert count(engine, "requests") == 0


def test_export_each_order_once(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    request_id = submit(engine, ["ACC1"])
    with UnitOfWork(engine, "acme") as uow:
        approve_request(uow, actor="amy", request_id=request_id, now=T0)
    written: list[bytes] = []
    day = date(2026, 11, 20)
    with UnitOfWork(engine, "acme") as uow:
        done = export_orders(uow, actor="olga", day=day, fmt="csv", sink=written.append, now=T0)
        assert (done.orders, done.export_id) == (2, 1)
    with UnitOfWork(engine, "acme") as uow:
        again = export_orders(uow, actor="olga", day=day, fmt="csv", sink=written.append, now=T0)
        assert (again.orders, again.export_id) == (0, None)  # nothing new: the sink is not called
        assert "all 2 orders of 2026-11-20 were exported as csv already (exports 1)" in again.note
    with UnitOfWork(engine, "acme") as uow:
        assert (
            export_orders(uow, actor="olga", day=day, fmt="fix", sink=written.append, now=T0).orders
            == 2
        )
    assert written[0].decode().splitlines() == [
        "client_order_id,trade_date,best_effort,account_id,symbol,side,quantity,price,request_id",
        f"TT{request_id}-0001,2026-11-20,false,ACC1,A,buy,12,50,{request_id}",
        f"TT{request_id}-0002,2026-11-20,false,ACC1,B,buy,10,40,{request_id}",
    ]
    assert len(written) == 2
    fix = written[1].split(b"\n")[0].split(b"\x01")
    assert fix[0] == b"8=FIX.4.4"
    assert b"35=D" in fix
    assert f"11=TT{request_id}-0001".encode() in fix
    assert {b"1=ACC1", b"55=A", b"54=1", b"38=12", b"40=1", b"75=20261120"} <= set(fix)


def _race(engine: sa.Engine, request_id: int, actions: list[tuple[str, str]]) -> list[str]:
    """Run approve/cancel calls at the same moment on separate connections."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[str] = [""] * len(actions)

    def run(i: int, action: str, actor: str) -> None:
        barrier.wait()
        try:
            with UnitOfWork(engine, "acme") as uow:
                if action == "approve":
                    approve_request(uow, actor=actor, request_id=request_id, now=T0)
                else:
                    cancel_request(uow, actor=actor, request_id=request_id, now=T0)
            outcomes[i] = action
        except ConflictError:
            outcomes[i] = "refused"

    threads = [threading.Thread(target=run, args=(i, a, u)) for i, (a, u) in enumerate(actions)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return outcomes


def test_concurrent_approvals_and_cancel(engine: sa.Engine, tmp_path: Path) -> None:
    """Racing approvals (and a cancel) on separate connections: exactly one outcome."""
    setup_book(engine, tmp_path)
    for round_ in range(4):
        # ACC1 only buys: ACC2's sells would exceed its holding from the second round on
        request_id = submit(engine, ["ACC1"])
        actions = [("approve", "amy"), ("approve", "bob"), ("approve", "alice")]
        if round_ % 2:
            actions.append(("cancel", "olga"))
        outcomes = _race(engine, request_id, actions)
        winners = [o for o in outcomes if o != "refused"]
        assert len(winners) == 1, outcomes
        with engine.connect() as conn:
            status = conn.execute(
                sa.select(t.requests.c.status).where(t.requests.c.request_id == request_id)
            ).scalar_one()
            orders = conn.execute(
                sa.select(sa.func.count()).where(t.orders.c.request_id == request_id)
            ).scalar_one()
            audits = conn.execute(
                sa.select(sa.func.count()).where(
                    t.audit_log.c.entity == "request",
                    t.audit_log.c.entity_id == str(request_id),
                    t.audit_log.c.action.not_in(("submit", "propose")),
                )
            ).scalar_one()
        assert audits == 1
        if winners == ["approve"]:
            assert (status, orders) == ("complete", 2)
        else:
            assert (status, orders) == ("canceled", 0)


def test_every_account_failing_fails_the_request(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    with engine.begin() as conn:
        conn.execute(sa.update(t.accounts).values(trade_hold=True))
    with UnitOfWork(engine, "acme") as uow:
        done = submit_request(
            uow, actor="olga", account_ids=["ACC1", "ACC2"], logic="rebalance_to_target", now=T0
        )
        shown = show_request(uow, actor="olga", request_id=done.request_id)
    assert done.status == "failed"
    assert shown.issue == (
        "Every account failed: ACC1: The account is on trade hold: no trades are proposed.; "
        "ACC2: The account is on trade hold: no trades are proposed."
    )
    with (
        pytest.raises(ConflictError, match="is failed, no longer pending"),
        UnitOfWork(engine, "acme") as uow,
    ):
        approve_request(uow, actor="amy", request_id=done.request_id, now=T0)


def test_failed_accounts_are_resubmitted(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    hold = sa.update(t.accounts).where(t.accounts.c.account_id == "ACC2")
    with engine.begin() as conn:
        conn.execute(hold.values(trade_hold=True))
    first = submit(engine, ["ACC1", "ACC2"])
    with UnitOfWork(engine, "acme") as uow:
        assert (
            approve_request(uow, actor="amy", request_id=first, now=T0).status
            == "complete_with_errors"
        )
    with engine.begin() as conn:
        conn.execute(hold.values(trade_hold=False))
    with UnitOfWork(engine, "acme") as uow:
        again = resubmit_failed(uow, actor="olga", request_id=first, now=T0)
    assert (again.status, again.proposals) == ("pending", {"ACC2": "success"})


def test_locks_limit_what_is_sold(engine: sa.Engine, tmp_path: Path) -> None:
    # ACC1 (non-qualified) at A = $500: value 7,400, A worth 6,000 against a 4,440 target,
    # but a gain lock holds both lots (bases $10 and $55 a share): nothing of A is sold, and
    # B is bought with the $1,000 of cash alone: 25 shares at $40.
    # ACC2 has an elective lock on B: its 20 B stay; A is bought with its $100: 0 shares at
    # $500 (the $100 minimum trade does not help: one share costs more than the cash).
    locks = [
        {"account_id": "ACC1", "symbol": "A", "type": "gain"},
        {"account_id": "ACC2", "symbol": "B", "type": "elective"},
    ]
    setup_book(engine, tmp_path, price_a=500.0, lots=LOTS, locks=locks)
    request_id = submit(engine, ["ACC1", "ACC2"])
    with UnitOfWork(engine, "acme") as uow:
        shown = show_request(uow, actor="olga", request_id=request_id)
    by_account = {p.account_id: p for p in shown.proposals}
    acc1 = {(x.symbol, x.action, x.quantity) for x in by_account["ACC1"].trades}
    assert acc1 == {("B", "buy", Decimal(25))}
    assert by_account["ACC1"].realized_gain == Decimal(0)
    assert by_account["ACC2"].trades == ()
    assert shown.needs_second_approver is False
    with engine.connect() as conn:
        reason = conn.execute(
            sa.select(t.proposal_lines.c.reason).where(
                t.proposal_lines.c.account_id == "ACC1", t.proposal_lines.c.symbol == "A"
            )
        ).scalar_one()
    assert "sale limited by a rule" in reason
    assert "gain lock" in reason  # the rule that limited it is named, as in `trimtab propose`


def test_another_firm_cannot_see_or_approve(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    seed_firm(engine, "zenith")
    request_id = submit(engine, ["ACC1"])
    with (
        pytest.raises(TrimtabError, match=f"request {request_id} does not exist"),
        UnitOfWork(engine, "zenith") as uow,
    ):
        approve_request(uow, actor="amy", request_id=request_id, now=T0)
    with UnitOfWork(engine, "zenith") as uow:
        assert list_requests(uow, actor="olga") == []
        assert list_queue(uow, actor="olga") == []
    with UnitOfWork(engine, "acme") as uow:
        assert [r.request_id for r in list_requests(uow, actor="olga", pending=True)] == [
            request_id
        ]


def test_generate_cash_amount_is_kept_for_resubmission(engine: sa.Engine, tmp_path: Path) -> None:
    # ACC2: 20 B at $40 and $100 cash. Raising $300: the $100 of cash counts, so $200 more
    # comes from B, the only holding: 5 shares at $40.
    setup_book(engine, tmp_path)
    with UnitOfWork(engine, "acme") as uow:
        done = submit_request(
            uow,
            actor="olga",
            account_ids=["ACC2"],
            logic="generate_cash",
            now=T0,
            amounts={"cash_to_generate": 300.0},
        )
        shown = show_request(uow, actor="olga", request_id=done.request_id)
    trades = [(x.symbol, x.action, x.quantity) for x in shown.proposals[0].trades]
    assert trades == [("B", "sell", Decimal(5))]
    assert shown.proposals[0].cash_after == Decimal(300)
    assert shown.amounts == {"cash_to_generate": 300.0}
    with pytest.raises(InputError, match="mccar_pct: must be at most 100"):
        submit(engine, ["ACC2"], logic="generate_cash", amounts={"mccar_pct": 120.0})


def test_no_loss_sale_of_a_security_bought_within_30_days(
    engine: sa.Engine, tmp_path: Path
) -> None:
    # A at $500 against lots bought at $600 a share: selling A realises a loss, and ACC1
    # bought A on 10 November, 10 days before the trade day: the wash-sale rule keeps A.
    dear = [dict(lot, cost_basis=3600.0) for lot in LOTS]
    bought = [
        {
            "account_id": "ACC1",
            "date": "2026-11-10",
            "symbol": "A",
            "action": "buy",
            "quantity": 1,
            "price": 510,
        },
    ]
    setup_book(engine, tmp_path, price_a=500.0, lots=dear, transactions=bought)
    request_id = submit(engine, ["ACC1"])
    with UnitOfWork(engine, "acme") as uow:
        shown = show_request(uow, actor="olga", request_id=request_id)
    trades = {(x.symbol, x.action) for x in shown.proposals[0].trades}
    assert ("A", "sell") not in trades
    assert ("B", "buy") in trades


def test_exclusion_liquidated_now_holds_cash(engine: sa.Engine, tmp_path: Path) -> None:
    # ACC1 (value 2,000) excludes A, liquidate now, replacement hold cash: all 12 A are
    # sold and A's 60% stays in cash; B goes to its 40% = 800 from 400: 10 shares bought.
    # Cash after: 1,000 + 600 - 400 = 1,200.
    restrictions = [
        {
            "account_id": "ACC1",
            "restriction_id": "R1",
            "type": "exclusion",
            "symbol": "A",
            "start_date": "2026-01-05",
            "end_date": "",
            "end_action": "",
            "behaviour": "liquidate_immediately",
            "replacement": "hold_cash",
            "substitute": "",
        },
    ]
    setup_book(engine, tmp_path, restrictions=restrictions)
    request_id = submit(engine, ["ACC1"])
    with UnitOfWork(engine, "acme") as uow:
        shown = show_request(uow, actor="olga", request_id=request_id)
    proposal = shown.proposals[0]
    trades = {(x.symbol, x.action, x.quantity) for x in proposal.trades}
    assert trades == {("A", "sell", Decimal(12)), ("B", "buy", Decimal(10))}
    assert proposal.cash_after == Decimal(1200)


def test_substitution_needs_its_substitute(tmp_path: Path) -> None:
    restrictions = [
        {
            "account_id": "ACC1",
            "restriction_id": "R1",
            "type": "substitution",
            "symbol": "A",
            "start_date": "2026-01-05",
            "substitute": "",
        },
    ]
    with pytest.raises(InputError) as err:
        read_book_folder(tiny_book(tmp_path / "b", restrictions=restrictions))
    assert str(err.value) == "restrictions.csv row 1 column substitute: required field is missing"
