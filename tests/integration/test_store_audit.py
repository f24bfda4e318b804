"""A tamper-evident audit trail: the hash chain holds through a day's work and breaks where
an entry is altered or removed; refused attempts are logged; on PostgreSQL the service's
least-privilege role can neither truncate the log nor disable its trigger."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from tests.factories import T0, count, database_fixture, postgres_engine, seed_firm, tiny_book
from trimtab.errors import ForbiddenError
from trimtab.service.access import add_user
from trimtab.service.audit import list_audit, verify_chain
from trimtab.service.evaluate import evaluate
from trimtab.service.imports import import_book, read_book_folder
from trimtab.service.orders import export_orders
from trimtab.service.requests import approve_request, submit_request
from trimtab.store import tables as t
from trimtab.store.migrate import make_engine
from trimtab.store.roles import grant_service_role
from trimtab.store.uow import UnitOfWork

engine = database_fixture()
D1 = date(2026, 11, 19)


def day_of_work(engine: sa.Engine, tmp_path: Path) -> int:
    """Seed, import, evaluate, submit, approve, export: returns the request's id."""
    seed_firm(engine)
    folder = read_book_folder(tiny_book(tmp_path / "b"))
    with UnitOfWork(engine, "acme") as uow:
        import_book(uow, actor="olga", as_of=D1, folder=folder, now=T0)
    with UnitOfWork(engine, "acme") as uow:
        evaluate(uow, actor="olga", day=date(2026, 11, 20), now=T0)
    with UnitOfWork(engine, "acme") as uow:
        request_id = submit_request(
            uow, actor="olga", account_ids=["ACC1"], logic="rebalance_to_target", now=T0
        ).request_id
    with UnitOfWork(engine, "acme") as uow:
        approve_request(uow, actor="amy", request_id=request_id, now=T0)
    with UnitOfWork(engine, "acme") as uow:
        export_orders(
            uow, actor="olga", day=date(2026, 11, 20), fmt="csv", sink=lambda b: None, now=T0
        )
    return request_id


def verify(engine: sa.Engine) -> tuple[int, list[str]]:
    with UnitOfWork(engine, "acme") as uow:
        found = verify_chain(uow)
    return found.entries, found.problems


def test_the_chain_holds_through_a_day_of_work(engine: sa.Engine, tmp_path: Path) -> None:
    day_of_work(engine, tmp_path)
    # firm, 3 users, import, evaluation start and complete, submit, propose, approve, export
    assert count(engine, "audit_log") == 11
    assert verify(engine) == (11, [])


def test_refused_attempts_are_logged(engine: sa.Engine, tmp_path: Path) -> None:
    request_id = day_of_work(engine, tmp_path)
    with pytest.raises(ForbiddenError), UnitOfWork(engine, "acme") as uow:
        approve_request(uow, actor="olga", request_id=request_id, now=T0)
    with UnitOfWork(engine, "acme") as uow:
        refused = list_audit(uow, action="refused")
        assert [(r.actor, r.entity, r.entity_id) for r in refused] == [("olga", "user", "olga")]
        assert refused[0].after == (
            '{"attempt": "approve request 1", "reason": "user \'olga\' is operator; this needs '
            'the approver role"}'
        )
        assert [r.action for r in list_audit(uow, actor="amy")] == ["approve"]
        assert list_audit(uow, since=date(2026, 11, 21)) == []
    assert verify(engine) == (12, [])


def test_four_eyes_refusal_is_logged(engine: sa.Engine, tmp_path: Path) -> None:
    lots = [
        {"account_id": "ACC1", "symbol": "A", "quantity": 12, "cost_basis": 10.0},
    ]
    seed_firm(engine)
    folder = read_book_folder(
        tiny_book(
            tmp_path / "b",
            price_a=500.0,
            lots=[{**lots[0], "acquired": "2020-01-02"}],
        )
    )
    with UnitOfWork(engine, "acme") as uow:
        import_book(uow, actor="olga", as_of=D1, folder=folder, now=T0)
    with UnitOfWork(engine, "acme") as uow:
        request_id = submit_request(
            uow, actor="amy", account_ids=["ACC1"], logic="rebalance_to_target", now=T0
        ).request_id
    with (
        pytest.raises(ForbiddenError, match="an approver other than 'amy'"),
        UnitOfWork(engine, "acme") as uow,
    ):
        approve_request(uow, actor="amy", request_id=request_id, now=T0)
    with UnitOfWork(engine, "acme") as uow:
        refused = list_audit(uow, action="refused", entity="request")
    assert [(r.actor, r.entity_id) for r in refused] == [("amy", str(request_id))]


def test_sqlite_tampering_is_found(tmp_path: Path) -> None:
    db = make_engine(f"sqlite:///{tmp_path / 't.db'}")
    from trimtab.store.migrate import upgrade

    upgrade(db)
    day_of_work(db, tmp_path)
    with db.begin() as conn:  # anyone with the file can drop the trigger...
        conn.execute(sa.text("DROP TRIGGER audit_log_no_update"))
        conn.execute(sa.text("UPDATE audit_log SET actor = 'mallory' WHERE audit_id = 8"))
    assert verify(db) == (
        11,
        ["entry 8: its hash does not match (the entry was altered, or one before it removed)"],
    )
    with db.begin() as conn:  # ...and remove the newest entries
        conn.execute(sa.text("UPDATE audit_log SET actor = 'olga' WHERE audit_id = 8"))
        conn.execute(sa.text("DROP TRIGGER audit_log_no_delete"))
        conn.execute(sa.text("DELETE FROM audit_log WHERE audit_id >= 9"))
    assert verify(db)[1] == [
        "the chain's head names entry 11 of 11, the log ends at entry 8 of 8: entries were "
        "removed or added outside trimtab"
    ]
    db.dispose()


def test_a_check_from_an_entry_on(tmp_path: Path) -> None:
    """``since``: the entries from it on are recomputed from the stored hash of the one
    before, and the head checked; an entry before it is taken as stored."""
    db = make_engine(f"sqlite:///{tmp_path / 't.db'}")
    from trimtab.store.migrate import upgrade

    upgrade(db)
    day_of_work(db, tmp_path)

    def since(entry: int) -> tuple[int, list[str]]:
        with UnitOfWork(db, "acme") as uow:
            found = verify_chain(uow, since=entry)
        return found.entries, found.problems

    assert since(8) == (4, [])
    assert since(1) == verify(db) == (11, [])
    with db.begin() as conn:
        conn.execute(sa.text("DROP TRIGGER audit_log_no_update"))
        conn.execute(sa.text("UPDATE audit_log SET actor = 'mallory' WHERE audit_id = 9"))
    assert (
        since(8)[1]
        == since(9)[1]
        == ["entry 9: its hash does not match (the entry was altered, or one before it removed)"]
    )
    assert since(10) == (2, [])  # entry 9 is before: taken as stored
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE audit_log SET actor = 'olga' WHERE audit_id = 9"))
        conn.execute(sa.text("DROP TRIGGER audit_log_no_delete"))
        conn.execute(sa.text("DELETE FROM audit_log WHERE audit_id >= 10"))
    assert since(8)[1] == [
        "the chain's head names entry 11 of 11, the log ends at entry 9 of 9: entries were "
        "removed or added outside trimtab"
    ]
    db.dispose()


@pytest.fixture
def service_role() -> Iterator[tuple[sa.Engine, sa.Engine]]:
    """(owner engine, service-role engine) on a fresh PostgreSQL schema."""
    gen = postgres_engine()
    owner = next(gen)
    schema = _schema_of(owner)
    role = f"tt_svc_{uuid.uuid4().hex[:10]}"
    grant_service_role(owner, role, schema)
    url = owner.url.set(username=role)
    service = make_engine(url.render_as_string(hide_password=False), schema=schema)
    try:
        yield owner, service
    finally:
        service.dispose()
        with owner.begin() as conn:
            conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
            conn.execute(sa.text(f'DROP ROLE "{role}"'))
        gen.close()


def _schema_of(eng: sa.Engine) -> str:
    with eng.connect() as conn:
        return str(conn.execute(sa.text("SELECT current_schema()")).scalar_one())


@pytest.mark.postgres
def test_the_service_role_cannot_erase_the_trail(
    service_role: tuple[sa.Engine, sa.Engine], tmp_path: Path
) -> None:
    owner, service = service_role
    day_of_work(service, tmp_path)  # everything the service does works as the role
    assert verify(service) == (11, [])
    for statement, refusal in (
        ("TRUNCATE audit_log", "permission denied"),
        ("DELETE FROM audit_log", "permission denied"),
        ("UPDATE audit_log SET actor = 'x'", "permission denied"),
        ("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only", "must be owner"),
        ("DROP TABLE audit_log CASCADE", "must be owner"),
        ("CREATE TABLE sneaky (x int)", "permission denied"),
    ):
        with pytest.raises(sa.exc.ProgrammingError, match=refusal), service.begin() as conn:
            conn.execute(sa.text(statement))
    # and the owner's TRUNCATE is refused by a trigger (not by privileges)
    with pytest.raises(sa.exc.DBAPIError) as caught, owner.begin() as conn:
        conn.execute(sa.text("TRUNCATE audit_log CASCADE"))
    assert isinstance(caught.value.orig, psycopg.errors.RaiseException)
    assert count(owner, "audit_log") == 11
    with owner.connect() as conn:
        heads = conn.execute(sa.select(t.audit_heads.c.entries)).scalars().all()
    assert heads == [11]


def test_racing_writers_keep_one_chain(engine: sa.Engine) -> None:
    """Eight users added at the same moment from eight connections: one unbroken chain."""
    seed_firm(engine)  # firm and three users: four entries
    barrier = threading.Barrier(8)

    def add(i: int) -> None:
        barrier.wait()
        with UnitOfWork(engine, "acme") as uow:
            add_user(uow, actor="alice", user_id=f"u{i}", role="operator", now=T0)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert verify(engine) == (12, [])
