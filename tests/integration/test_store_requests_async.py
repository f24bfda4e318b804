"""A submission in two steps: open_request stores the request ``proposing`` at once, and
propose_request computes its proposals, claimed by one process only. SQLite and PostgreSQL.

Tiny book (tests.factories) of Thursday 19 November 2026, evaluated on Friday the 20th (both
accounts queued), submitted at T0 (08:00 Chicago that Friday), by hand:
ACC1 = 12 A x $50 + 10 B x $40 + $1,000 = $2,000; targets A 60% = $1,200 (buy 12 A),
B 40% = $800 (buy 10 B). ACC2 = 20 B x $40 + $100 = $900; A 60% = $540 (buy 10 A for
$500), B 40% = $360 (sell 11 B for $440): $40 of cash left.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.factories import T0, count, database_fixture, seed_firm, tiny_book, write_book
from trimtab.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from trimtab.service import request_proposing
from trimtab.service.access import add_user
from trimtab.service.evaluate import evaluate
from trimtab.service.imports import import_book, read_book_folder
from trimtab.service.lease import lease_owner
from trimtab.service.request_record import code_version
from trimtab.service.requests import (
    approve_request,
    cancel_request,
    expire_requests,
    list_queue,
    list_requests,
    open_request,
    propose_request,
    proposing_requests,
    resubmit_failed,
    show_request,
    submit_request,
)
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork

engine = database_fixture()
D1 = date(2026, 11, 19)
EXPIRES = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
"""The end of Monday 23 November in Chicago: the next business day after T0's Friday."""
BOTH = ["ACC1", "ACC2"]
REAL_PROPOSE = request_proposing.propose_partition
LINES = [  # (account, symbol, action, shares, order value in dollars)
    ("ACC1", "A", "buy", Decimal(12), Decimal(600)),
    ("ACC1", "B", "buy", Decimal(10), Decimal(400)),
    ("ACC2", "A", "buy", Decimal(10), Decimal(500)),
    ("ACC2", "B", "sell", Decimal(11), Decimal(440)),
]


def setup_book(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    with UnitOfWork(engine, "acme") as uow:
        import_book(
            uow, actor="olga", as_of=D1, folder=read_book_folder(tiny_book(tmp_path / "b")), now=T0
        )
    with UnitOfWork(engine, "acme") as uow:
        evaluate(uow, actor="olga", day=date(2026, 11, 20), now=T0)


def open_(engine: sa.Engine, accounts: list[str], **given: Any) -> int:
    fields: dict[str, Any] = {"actor": "olga", "logic": "rebalance_to_target", "now": T0}
    with UnitOfWork(engine, "acme") as uow:
        return open_request(uow, account_ids=accounts, **{**fields, **given})


def propose(engine: sa.Engine, request_id: int) -> request_proposing.Submitted:
    with UnitOfWork(engine, "acme") as uow:
        return propose_request(uow, request_id=request_id, now=T0)


def request_row(engine: sa.Engine, request_id: int) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(t.requests).where(t.requests.c.request_id == request_id)
        ).one()


def lines(engine: sa.Engine, request_id: int) -> list[tuple[Any, ...]]:
    """The request's buy and sell lines: account, symbol, action, shares, dollars."""
    pl = t.proposal_lines.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(pl.account_id, pl.symbol, pl.action, pl.quantity, pl.order_value)
            .where(pl.request_id == request_id, pl.action != "none")
            .order_by(pl.account_id, pl.symbol)
        ).all()
    return [tuple(r) for r in rows]


def held(engine: sa.Engine) -> dict[str, int]:
    """Account -> the open request holding it."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(t.open_accounts.c.account_id, t.open_accounts.c.request_id))
        return {account_id: request_id for account_id, request_id in rows}


def queue(engine: sa.Engine) -> list[tuple[str, str, int | None]]:
    q = t.queue_entries.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(q.account_id, q.status, q.request_id).order_by(q.account_id)
        ).all()
    return [tuple(r) for r in rows]


def audits(engine: sa.Engine, request_id: int) -> list[tuple[str, dict[str, Any], Any]]:
    """The request's audit entries in order: action, after, before."""
    a = t.audit_log.c
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(a.action, a.after, a.before)
            .where(a.entity == "request", a.entity_id == str(request_id))
            .order_by(a.audit_id)
        ).all()
    return [(r.action, json.loads(r.after), r.before and json.loads(r.before)) for r in rows]


def test_open_stores_a_proposing_request_at_once(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    request_id = open_(engine, BOTH, logic="generate_cash", amounts={"cash_to_generate": 300.0})
    req = request_row(engine, request_id)
    assert (req.status, req.logic, req.submitted_by, req.price_date) == (
        "proposing",
        "generate_cash",
        "olga",
        D1,
    )
    assert (req.submitted_at, req.expires_at, req.decided_at) == (T0, EXPIRES, None)
    assert json.loads(req.options) == {"cash_to_generate": 300.0}
    assert (req.lease_owner, req.lease_until, req.issue) == (None, None, None)
    assert held(engine) == {"ACC1": request_id, "ACC2": request_id}
    assert queue(engine) == [("ACC1", "submitted", request_id), ("ACC2", "submitted", request_id)]
    assert count(engine, "proposals") == count(engine, "proposal_lines") == 0
    assert audits(engine, request_id) == [
        (
            "submit",
            {
                "status": "proposing",
                "logic": "generate_cash",
                "accounts": BOTH,
                "price_date": "2026-11-19",
                "amounts": {"cash_to_generate": 300.0},
            },
            None,
        )
    ]
    with UnitOfWork(engine, "acme") as uow:
        shown = show_request(uow, actor="olga", request_id=request_id)
        assert (shown.status, shown.proposals, shown.amounts) == (
            "proposing",
            (),
            {"cash_to_generate": 300.0},
        )
        assert [r.request_id for r in list_requests(uow, actor="olga", pending=True)] == [
            request_id
        ]
        assert list_requests(uow, actor="olga", pending=False) == []
        pending = list_queue(uow, actor="olga", pending=True)
        assert [(q.account_id, q.request_id) for q in pending] == [
            ("ACC1", request_id),
            ("ACC2", request_id),
        ]
        assert list_queue(uow, actor="olga") == []


def test_open_then_propose_equals_submit(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    with UnitOfWork(engine, "acme") as uow:
        at_once = submit_request(
            uow, actor="olga", account_ids=BOTH, logic="rebalance_to_target", now=T0
        )
        cancel_request(uow, actor="olga", request_id=at_once.request_id, now=T0)
    request_id = open_(engine, BOTH)
    done = propose(engine, request_id)
    assert done == request_proposing.Submitted(
        request_id=request_id,
        status="pending",
        proposals={"ACC1": "success", "ACC2": "success"},
        needs_second_approver=False,
    )
    assert (at_once.status, at_once.proposals) == (done.status, done.proposals)
    assert lines(engine, request_id) == lines(engine, at_once.request_id) == LINES
    p = t.proposals.c
    with engine.connect() as conn:
        stored = {
            r.request_id: r[1:]
            for r in conn.execute(
                sa.select(p.request_id, p.account_id, p.status, p.value, p.cash_after).where(
                    p.account_id == "ACC2"
                )
            )
        }
    assert (
        stored[request_id]
        == stored[at_once.request_id]
        == (
            "ACC2",
            "success",
            Decimal(900),
            Decimal(40),
        )
    )
    req = request_row(engine, request_id)
    assert (req.status, req.lease_owner, req.lease_until, req.decided_at) == (
        "pending",
        None,
        None,
        None,
    )
    assert held(engine) == {"ACC1": request_id, "ACC2": request_id}
    assert [a[0] for a in audits(engine, request_id)] == ["submit", "propose"]
    with UnitOfWork(engine, "acme") as uow:
        assert approve_request(uow, actor="amy", request_id=request_id, now=T0).orders == 4


def _bad_inputs() -> list[tuple[dict[str, Any], type[Exception], str]]:
    return [
        ({"logic": "yolo"}, InputError, "logic: must be one of"),
        ({"account_ids": ["NOPE"]}, NotFoundError, "account 'NOPE' does not exist"),
        ({"account_ids": [" "]}, InputError, "accounts: name at least one account"),
        ({"account_ids": ["ACC2"]}, InputError, "account 'ACC2' is not in the book of 2026-11-20"),
        (
            {"logic": "generate_cash", "amounts": {"mccar_pct": 120.0}},
            InputError,
            "mccar_pct: must be at most 100",
        ),
        ({"amounts": {"cash": 1.0}}, InputError, "cash: unknown amount"),
        ({"actor": "vera"}, ForbiddenError, "this needs the operator role"),
        ({"actor": "nobody"}, NotFoundError, "user 'nobody' does not exist"),
    ]


@pytest.mark.parametrize(("given", "error", "message"), _bad_inputs())
def test_bad_input_is_refused_at_once_with_nothing_stored(
    engine: sa.Engine,
    tmp_path: Path,
    given: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    setup_book(engine, tmp_path)
    with UnitOfWork(engine, "acme") as uow:
        add_user(uow, actor="alice", user_id="vera", role="viewer", now=T0)
    # ACC2 is known (book of the 19th) but not in the newest book, of the 20th
    newest = write_book(
        tmp_path / "d2",
        prices=[{"symbol": "A", "price": 50.0}, {"symbol": "B", "price": 40.0}],
        models=[
            {"model_id": "M1", "symbol": "A", "target_pct": 60, "min_pct": 55, "max_pct": 65},
            {"model_id": "M1", "symbol": "B", "target_pct": 40, "min_pct": 35, "max_pct": 45},
        ],
        accounts=[{"account_id": "ACC1", "model_id": "M1", "cash": 1000.0}],
        positions=[{"account_id": "ACC1", "symbol": "A", "quantity": 12}],
    )
    with UnitOfWork(engine, "acme") as uow:
        import_book(
            uow, actor="olga", as_of=date(2026, 11, 20), folder=read_book_folder(newest), now=T0
        )
    tables = ("requests", "open_accounts", "proposals", "audit_log")
    before = {name: count(engine, name) for name in tables}
    fields: dict[str, Any] = {"actor": "olga", "account_ids": ["ACC1"]}
    fields.update(logic="rebalance_to_target", now=T0)
    with pytest.raises(error, match=message), UnitOfWork(engine, "acme") as uow:
        open_request(uow, **{**fields, **given})
    refused = int(given.get("actor") in ("vera", "nobody"))
    # nothing stored; a refused user is the one entry in the audit trail, as ever
    assert {name: count(engine, name) for name in tables} == {
        **before,
        "audit_log": before["audit_log"] + refused,
    }
    assert {s for _, s, _ in queue(engine)} == {"open"}


def test_a_held_away_account_or_apm_household_is_refused(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    with engine.begin() as conn:
        conn.execute(
            sa.update(t.accounts).where(t.accounts.c.account_id == "ACC2").values(held_away=True)
        )
    with pytest.raises(InputError, match="account 'ACC2' is held away"):
        open_(engine, BOTH)
    with engine.begin() as conn:
        conn.execute(sa.update(t.accounts).values(held_away=False))
        conn.execute(
            sa.insert(t.account_sleeves).values(
                firm_id="acme", account_id="ACC2", line=1, sleeve="apm", weight_pct=10
            )
        )
    with pytest.raises(InputError, match="household_rebalance takes no apm sleeves"):
        open_(engine, ["ACC1"], logic="household_rebalance")  # ACC1 brings ACC2, its mate
    assert count(engine, "requests") == 0


def test_while_proposing_the_accounts_are_held_and_approval_refused(
    engine: sa.Engine, tmp_path: Path
) -> None:
    setup_book(engine, tmp_path)
    request_id = open_(engine, ["ACC1"])
    taken = f"account 'ACC1' is in open request {request_id} \\(still proposing\\)"
    with pytest.raises(ConflictError, match=taken):
        open_(engine, ["ACC2", "ACC1"])
    with pytest.raises(ConflictError, match=taken), UnitOfWork(engine, "acme") as uow:
        submit_request(
            uow, actor="olga", account_ids=["ACC1"], logic="rebalance_to_tolerance", now=T0
        )
    with (
        pytest.raises(ConflictError, match=f"request {request_id} is still proposing"),
        UnitOfWork(engine, "acme") as uow,
    ):
        approve_request(uow, actor="amy", request_id=request_id, now=T0)
    assert count(engine, "requests") == 1
    assert count(engine, "orders") == 0
    assert held(engine) == {"ACC1": request_id}
    assert propose(engine, request_id).status == "pending"
    with UnitOfWork(engine, "acme") as uow:
        assert approve_request(uow, actor="amy", request_id=request_id, now=T0).orders == 2


def test_replace_cancels_a_proposing_request(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    first = open_(engine, ["ACC1"])
    second = open_(engine, BOTH, replace=True)
    req = request_row(engine, first)
    assert (req.status, req.issue, req.decided_by) == (
        "canceled",
        "replaced by a new submission",
        "olga",
    )
    assert held(engine) == {"ACC1": second, "ACC2": second}
    assert audits(engine, first)[1] == (
        "cancel",
        {"status": "canceled"},
        {"status": "proposing"},
    )
    assert propose(engine, first).status == "canceled"
    assert propose(engine, second).proposals == {"ACC1": "success", "ACC2": "success"}


def test_cancel_while_proposing_then_propose_does_nothing(
    engine: sa.Engine, tmp_path: Path
) -> None:
    setup_book(engine, tmp_path)
    request_id = open_(engine, BOTH)
    with UnitOfWork(engine, "acme") as uow:
        cancel_request(uow, actor="olga", request_id=request_id, now=T0)
    assert held(engine) == {}
    assert queue(engine) == [("ACC1", "open", None), ("ACC2", "open", None)]
    done = propose(engine, request_id)
    assert done == request_proposing.Submitted(
        request_id=request_id, status="canceled", proposals={}, needs_second_approver=False
    )
    assert count(engine, "proposals") == count(engine, "proposal_lines") == 0
    req = request_row(engine, request_id)
    assert (req.status, req.decided_by, req.decided_at, req.lease_owner) == (
        "canceled",
        "olga",
        T0,
        None,
    )
    assert [(a, before) for a, _, before in audits(engine, request_id)] == [
        ("submit", None),
        ("cancel", {"status": "proposing"}),
    ]
    again = open_(engine, BOTH)  # the accounts are free
    assert held(engine) == {"ACC1": again, "ACC2": again}


@pytest.mark.postgres
def test_a_cancel_during_the_proposing_stores_nothing(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL another connection cancels while the proposals are being computed (on
    SQLite the cancel waits for the proposing's transaction: one writer at a time)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: a cancel cannot land mid-proposing")
    setup_book(engine, tmp_path)
    request_id = open_(engine, BOTH)

    def cancel_meanwhile(*args: Any) -> Any:
        with UnitOfWork(engine, "acme") as other:
            cancel_request(other, actor="olga", request_id=request_id, now=T0)
        return REAL_PROPOSE(*args)

    monkeypatch.setattr(request_proposing, "propose_partition", cancel_meanwhile)
    assert propose(engine, request_id).status == "canceled"
    assert count(engine, "proposals") == count(engine, "proposal_lines") == 0
    assert held(engine) == {}
    assert queue(engine) == [("ACC1", "open", None), ("ACC2", "open", None)]
    assert request_row(engine, request_id).status == "canceled"


def _race(engine: sa.Engine, request_id: int, workers: int) -> list[str]:
    """``propose_request`` on the same request from ``workers`` threads at once, each on a
    connection of its own; their outcomes' statuses."""
    barrier = threading.Barrier(workers)
    outcomes: list[str] = [""] * workers

    def run(i: int) -> None:
        barrier.wait()
        outcomes[i] = propose(engine, request_id).status

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return outcomes


def test_two_workers_propose_a_request_once(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_book(engine, tmp_path)
    calls: list[int] = []

    def slow(*args: Any) -> Any:  # the other worker arrives while this one proposes
        calls.append(1)
        time.sleep(0.3)
        return REAL_PROPOSE(*args)

    monkeypatch.setattr(request_proposing, "propose_partition", slow)
    for _ in range(3):
        calls.clear()
        request_id = open_(engine, BOTH)
        outcomes = _race(engine, request_id, 2)
        assert len(calls) == 1, outcomes
        assert outcomes.count("pending") >= 1
        assert set(outcomes) <= {"pending", "proposing"}  # the other: found it taken or done
        assert lines(engine, request_id) == LINES
        with engine.connect() as conn:
            stored = conn.execute(
                sa.select(sa.func.count()).where(t.proposals.c.request_id == request_id)
            ).scalar_one()
        assert stored == 2
        assert request_row(engine, request_id).status == "pending"
        assert [a[0] for a in audits(engine, request_id)] == ["submit", "propose"]
        with UnitOfWork(engine, "acme") as uow:
            cancel_request(uow, actor="olga", request_id=request_id, now=T0)
    assert count(engine, "proposals") == 6


def _lease(engine: sa.Engine, request_id: int, owner: str, until: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(t.requests)
            .where(t.requests.c.request_id == request_id)
            .values(lease_owner=owner, lease_until=until)
        )


def test_a_lease_keeps_others_off_until_it_lapses(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    request_id = open_(engine, BOTH)
    soon = datetime.now(UTC) + timedelta(minutes=1)
    _lease(engine, request_id, "elsewhere:1:x", soon)  # a live worker of another host
    assert propose(engine, request_id).status == "proposing"
    assert count(engine, "proposals") == 0
    assert request_row(engine, request_id).lease_owner == "elsewhere:1:x"
    # a worker of this host whose process is gone holds nothing, lease or not
    dead = lease_owner().split(":")[0] + ":999999999:x"
    _lease(engine, request_id, dead, soon)
    assert propose(engine, request_id).status == "pending"
    assert lines(engine, request_id) == LINES
    # and a lapsed lease of another host's worker is taken over
    with UnitOfWork(engine, "acme") as uow:
        cancel_request(uow, actor="olga", request_id=request_id, now=T0)
    request_id = open_(engine, BOTH)
    _lease(engine, request_id, "elsewhere:1:x", datetime.now(UTC) - timedelta(seconds=1))
    assert propose(engine, request_id).status == "pending"
    assert lines(engine, request_id) == LINES


def _failing(error: Exception) -> Callable[..., Any]:
    def propose_partition(*args: Any) -> Any:
        raise error

    return propose_partition


def test_an_error_while_proposing_fails_the_request(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_book(engine, tmp_path)
    request_id = open_(engine, BOTH)
    with UnitOfWork(engine, "acme") as uow:
        assert proposing_requests(uow) == [request_id]
    monkeypatch.setattr(
        request_proposing, "propose_partition", _failing(RuntimeError("solver ran out of memory"))
    )
    with pytest.raises(RuntimeError, match="solver ran out of memory"):
        propose(engine, request_id)
    req = request_row(engine, request_id)
    issue = "proposing failed: RuntimeError: solver ran out of memory"
    assert (req.status, req.issue, req.decided_at, req.lease_owner, req.lease_until) == (
        "failed",
        issue,
        T0,
        None,
        None,
    )
    assert held(engine) == {}
    assert queue(engine) == [("ACC1", "open", None), ("ACC2", "open", None)]
    assert count(engine, "proposals") == count(engine, "proposal_lines") == 0
    assert [(a, after, before) for a, after, before in audits(engine, request_id)][1:] == [
        ("fail", {"status": "failed", "issue": issue}, {"status": "proposing"})
    ]
    with UnitOfWork(engine, "acme") as uow:
        assert proposing_requests(uow) == []
        assert show_request(uow, actor="olga", request_id=request_id).issue == issue
    with (
        pytest.raises(ConflictError, match=f"request {request_id} failed before its proposals"),
        UnitOfWork(engine, "acme") as uow,
    ):
        resubmit_failed(uow, actor="olga", request_id=request_id, now=T0)
    monkeypatch.setattr(request_proposing, "propose_partition", REAL_PROPOSE)
    with UnitOfWork(engine, "acme") as uow:  # the accounts are free again
        again = submit_request(
            uow, actor="olga", account_ids=BOTH, logic="rebalance_to_target", now=T0
        )
    assert again.status == "pending"


def test_submit_raises_an_error_of_the_proposing_as_before(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_book(engine, tmp_path)
    trouble = ConflictError("the stored rules of these accounts cannot be laid out")
    monkeypatch.setattr(request_proposing, "propose_partition", _failing(trouble))
    with (
        pytest.raises(ConflictError, match="stored rules of these accounts cannot be laid out"),
        UnitOfWork(engine, "acme") as uow,
    ):
        submit_request(
            uow, actor="olga", account_ids=["ACC1"], logic="rebalance_to_tolerance", now=T0
        )
    with engine.connect() as conn:
        stored = conn.execute(sa.select(t.requests.c.status, t.requests.c.issue)).all()
    assert [tuple(r) for r in stored] == [
        ("failed", "proposing failed: the stored rules of these accounts cannot be laid out")
    ]
    assert held(engine) == {}


def test_every_account_failing_returns_them_to_the_queue(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    with engine.begin() as conn:
        conn.execute(sa.update(t.accounts).values(trade_hold=True))
    request_id = open_(engine, BOTH)
    done = propose(engine, request_id)
    assert (done.status, done.proposals) == ("failed", {"ACC1": "failed", "ACC2": "failed"})
    issue = (
        "Every account failed: ACC1: The account is on trade hold: no trades are proposed.; "
        "ACC2: The account is on trade hold: no trades are proposed."
    )
    assert request_row(engine, request_id).issue == issue
    assert held(engine) == {}
    assert queue(engine) == [("ACC1", "open", None), ("ACC2", "open", None)]
    with engine.connect() as conn:
        kept = conn.execute(
            sa.select(t.request_records.c.sha256).where(
                t.request_records.c.request_id == request_id
            )
        ).scalar_one()
    assert audits(engine, request_id)[1] == (
        "fail",
        {
            "status": "failed",
            "issue": issue,
            "record_sha256": kept,  # the failed proposals were computed: their record is kept
            "code_version": code_version(),
            "accounts": 2,
            "lines": 4,
        },
        {"status": "proposing"},
    )


def test_a_failed_proposal_lets_its_account_go(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    with engine.begin() as conn:
        conn.execute(
            sa.update(t.accounts).where(t.accounts.c.account_id == "ACC2").values(trade_hold=True)
        )
    request_id = open_(engine, BOTH)
    assert held(engine) == {"ACC1": request_id, "ACC2": request_id}
    done = propose(engine, request_id)
    assert (done.status, done.proposals) == ("pending", {"ACC1": "success", "ACC2": "failed"})
    assert held(engine) == {"ACC1": request_id}


def test_proposing_requests_oldest_first_of_the_firm(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    seed_firm(engine, "zenith")
    first = open_(engine, ["ACC2"])
    second = open_(engine, ["ACC1"])
    with UnitOfWork(engine, "acme") as uow:
        assert proposing_requests(uow) == [first, second]
    with UnitOfWork(engine, "zenith") as uow:
        assert proposing_requests(uow) == []
    assert propose(engine, first).status == "pending"
    with UnitOfWork(engine, "acme") as uow:
        assert proposing_requests(uow) == [second]
        cancel_request(uow, actor="olga", request_id=second, now=T0)
        assert proposing_requests(uow) == []
    with (
        pytest.raises(NotFoundError, match=f"request {first} does not exist"),
        UnitOfWork(engine, "zenith") as uow,
    ):
        propose_request(uow, request_id=first, now=T0)


def test_a_stale_proposing_request_expires(engine: sa.Engine, tmp_path: Path) -> None:
    setup_book(engine, tmp_path)
    request_id = open_(engine, BOTH)
    with UnitOfWork(engine, "acme") as uow:
        assert expire_requests(uow, actor="olga", now=EXPIRES - timedelta(minutes=1)) == []
        assert expire_requests(uow, actor="olga", now=EXPIRES) == [request_id]
    req = request_row(engine, request_id)
    assert (req.status, req.decided_by, req.decided_at) == ("expired", "olga", EXPIRES)
    assert held(engine) == {}
    assert queue(engine) == [("ACC1", "open", None), ("ACC2", "open", None)]
    assert audits(engine, request_id)[1] == (
        "expire",
        {"status": "expired"},
        {"status": "proposing"},
    )
    assert propose(engine, request_id).status == "expired"
    assert count(engine, "proposals") == 0


def test_an_interrupted_worker_leaves_the_request_to_the_next(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_book(engine, tmp_path)
    request_id = open_(engine, BOTH)
    monkeypatch.setattr(request_proposing, "propose_partition", _failing(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        propose(engine, request_id)
    req = request_row(engine, request_id)
    assert (req.status, req.lease_owner, req.lease_until, req.issue) == (
        "proposing",
        None,
        None,
        None,
    )
    assert held(engine) == {"ACC1": request_id, "ACC2": request_id}
    monkeypatch.setattr(request_proposing, "propose_partition", REAL_PROPOSE)
    with UnitOfWork(engine, "acme") as uow:
        assert proposing_requests(uow) == [request_id]
    assert propose(engine, request_id).status == "pending"  # at once: no lease to wait out
    assert lines(engine, request_id) == LINES


def test_an_interrupted_submit_cancels_its_request(
    engine: sa.Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_book(engine, tmp_path)
    monkeypatch.setattr(request_proposing, "propose_partition", _failing(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt), UnitOfWork(engine, "acme") as uow:
        submit_request(uow, actor="olga", account_ids=BOTH, logic="rebalance_to_target", now=T0)
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(t.requests.c.request_id, t.requests.c.status, t.requests.c.issue)
        ).all()
    assert [tuple(r)[1:] for r in stored] == [("canceled", "interrupted while proposing")]
    assert held(engine) == {}
    assert queue(engine) == [("ACC1", "open", None), ("ACC2", "open", None)]
    assert [a[0] for a in audits(engine, stored[0].request_id)] == ["submit", "cancel"]
