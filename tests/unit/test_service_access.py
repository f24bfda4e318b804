"""Firms, users and roles over an in-memory SQLite unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import T0
from trimtab.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from trimtab.service.access import add_firm, add_user, require_role
from trimtab.store.migrate import make_engine
from trimtab.store.tables import audit_log, metadata
from trimtab.store.uow import UnitOfWork


@pytest.fixture
def engine() -> Iterator[sa.Engine]:
    eng = make_engine("sqlite://")
    metadata.create_all(eng)
    with UnitOfWork(eng, "acme") as uow:
        add_firm(uow, name="Acme", admin_id="alice", now=T0)
    yield eng
    eng.dispose()


def test_roles_rank_operator_approver_admin(engine: sa.Engine) -> None:
    with UnitOfWork(engine, "acme") as uow:
        add_user(uow, actor="alice", user_id="olga", role="operator", now=T0)
        add_user(uow, actor="alice", user_id="amy", role="approver", now=T0)
        assert require_role(uow, user_id="alice", role="approver") == "admin"
        assert require_role(uow, user_id="amy", role="operator") == "approver"
        with pytest.raises(ForbiddenError, match="'olga' is operator; this needs the approver"):
            require_role(uow, user_id="olga", role="approver")


def test_only_admins_add_users(engine: sa.Engine) -> None:
    with UnitOfWork(engine, "acme") as uow:
        add_user(uow, actor="alice", user_id="olga", role="operator", now=T0)
    with pytest.raises(ForbiddenError), UnitOfWork(engine, "acme") as uow:
        add_user(uow, actor="olga", user_id="eve", role="admin", now=T0)
    message = "role: must be one of viewer, operator, approver, admin"
    with pytest.raises(InputError, match=message), UnitOfWork(engine, "acme") as uow:
        add_user(uow, actor="alice", user_id="eve", role="boss", now=T0)


def test_users_belong_to_their_firm(engine: sa.Engine) -> None:
    with UnitOfWork(engine, "zenith") as uow:
        add_firm(uow, name="Zenith", admin_id="zoe", now=T0)
    message = "user 'alice' does not exist in firm 'zenith'"
    with pytest.raises(NotFoundError, match=message), UnitOfWork(engine, "zenith") as uow:
        require_role(uow, user_id="alice", role="operator")


def test_every_change_is_audited(engine: sa.Engine) -> None:
    with UnitOfWork(engine, "acme") as uow:
        add_user(uow, actor="alice", user_id="amy", role="approver", now=T0)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                audit_log.c.actor, audit_log.c.action, audit_log.c.entity_id, audit_log.c.after
            ).order_by(audit_log.c.audit_id)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("alice", "create", "acme", '{"admin": "alice", "name": "Acme"}'),
        ("alice", "create", "amy", '{"role": "approver"}'),
    ]


def test_failed_use_case_leaves_nothing(engine: sa.Engine) -> None:
    with pytest.raises(ConflictError, match="already exists"), UnitOfWork(engine, "acme") as uow:
        add_user(uow, actor="alice", user_id="alice", role="operator", now=T0)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar_one() == 1


def test_unknown_firm_is_named(engine: sa.Engine) -> None:
    message = "firm 'nope' does not exist: create it with trimtab firm add"
    with pytest.raises(NotFoundError, match=message), UnitOfWork(engine, "nope") as uow:
        require_role(uow, user_id="alice", role="operator")


def test_a_viewer_reads_and_changes_nothing(engine: sa.Engine, tmp_path: Path) -> None:
    """Reads take the acting user too: a viewer sees the queue and requests, may not
    submit; a name the firm does not know sees nothing."""
    from tests.factories import seed_firm, tiny_book
    from trimtab.service.imports import import_book, read_book_folder
    from trimtab.service.requests import list_queue, list_requests, submit_request

    seed_firm(engine, "zenith")  # alice, olga, amy, bob in firm zenith
    with UnitOfWork(engine, "zenith") as uow:
        add_user(uow, actor="alice", user_id="vera", role="viewer", now=T0)
    with UnitOfWork(engine, "zenith") as uow:
        import_book(
            uow, actor="olga", as_of=T0.date(), folder=read_book_folder(tiny_book(tmp_path)), now=T0
        )
    with UnitOfWork(engine, "zenith") as uow:
        assert list_requests(uow, actor="vera") == []
        assert list_queue(uow, actor="vera") == []
    with (
        pytest.raises(ForbiddenError, match="'vera' is viewer; this needs the operator role"),
        UnitOfWork(engine, "zenith") as uow,
    ):
        submit_request(uow, actor="vera", account_ids=["ACC1"], logic="rebalance_to_target", now=T0)
    with pytest.raises(NotFoundError), UnitOfWork(engine, "zenith") as uow:
        list_queue(uow, actor="mallory")
