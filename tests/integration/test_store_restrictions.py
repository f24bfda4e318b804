"""Restrictions and locks in the store: firm isolation, roles and the seed's edit rule."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.factories import T0, database_fixture, seed_firm, tiny_book
from trimtab.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from trimtab.service.imports import import_book, read_book_folder
from trimtab.service.restrictions import (
    add_lock,
    add_restriction,
    edit_restriction,
    list_restrictions,
    parse_restriction,
    remove_restriction,
)
from trimtab.store.uow import UnitOfWork

engine = database_fixture()

EXCLUSION = {
    "type": "exclusion",
    "symbol": "A",
    "behaviour": "hold",
    "start_date": "2026-11-01",
}


def _setup(engine: sa.Engine, tmp_path: Path) -> None:
    seed_firm(engine)
    seed_firm(engine, "zenith")
    folder = read_book_folder(tiny_book(tmp_path / "b"), date(2026, 11, 19))
    with UnitOfWork(engine, "acme") as uow:
        import_book(uow, actor="olga", as_of=date(2026, 11, 19), folder=folder, now=T0)


def test_another_firm_cannot_see_or_touch_an_account_s_rules(
    engine: sa.Engine, tmp_path: Path
) -> None:
    _setup(engine, tmp_path)
    with UnitOfWork(engine, "acme") as uow:
        rid = add_restriction(
            uow, actor="olga", account_id="ACC1", restriction=parse_restriction(EXCLUSION), now=T0
        )
    # zenith has users of the same names, but not acme's accounts: 404, never 403
    for work in (
        lambda uow: list_restrictions(uow, actor="olga", account_id="ACC1"),
        lambda uow: remove_restriction(
            uow, actor="olga", account_id="ACC1", restriction_id=rid, now=T0
        ),
        lambda uow: add_lock(
            uow, actor="olga", account_id="ACC1", type="elective", symbol="A", now=T0
        ),
    ):
        with (
            pytest.raises(NotFoundError, match="account 'ACC1' does not exist"),
            UnitOfWork(engine, "zenith") as uow,
        ):
            work(uow)
    with UnitOfWork(engine, "acme") as uow:
        assert [
            s.restriction_id for s in list_restrictions(uow, actor="amy", account_id="ACC1")
        ] == [rid]


def test_only_the_end_date_and_end_action_change(engine: sa.Engine, tmp_path: Path) -> None:
    _setup(engine, tmp_path)
    with UnitOfWork(engine, "acme") as uow:
        rid = add_restriction(
            uow, actor="olga", account_id="ACC1", restriction=parse_restriction(EXCLUSION), now=T0
        )
    with UnitOfWork(engine, "acme") as uow:
        edit_restriction(
            uow,
            actor="olga",
            account_id="ACC1",
            restriction_id=rid,
            end_date=date(2026, 12, 31),
            end_action="wait_for_weight_change",
            now=T0,
        )
    with UnitOfWork(engine, "acme") as uow:
        (stored,) = list_restrictions(uow, actor="olga", account_id="ACC1")
    assert stored.restriction.model_dump(exclude_none=True) == {
        "type": "exclusion",
        "symbol": "A",
        "behaviour": "hold",
        "replacement": "hold_cash",
        "start_date": date(2026, 11, 1),
        "end_date": date(2026, 12, 31),
        "end_action": "wait_for_weight_change",
    }
    with (
        pytest.raises(InputError, match="end_date: must be after start_date 2026-11-01"),
        UnitOfWork(engine, "acme") as uow,
    ):
        edit_restriction(
            uow,
            actor="olga",
            account_id="ACC1",
            restriction_id=rid,
            end_date=date(2026, 10, 1),
            end_action="rebalance_immediately",
            now=T0,
        )


def test_a_group_member_may_be_a_substitute_and_nothing_else(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """Seed 001: B in an equivalents group may also be the substitute for A; A, then,
    cannot be excluded as well (it is the replaced security of the substitution)."""
    _setup(engine, tmp_path)
    group = {"type": "equivalents", "members": [{"symbol": "B"}]}
    substitution = {
        "type": "substitution",
        "symbol": "A",
        "substitute": "B",
        "behaviour": "hold",
        "start_date": "2026-11-01",
    }
    with UnitOfWork(engine, "acme") as uow:
        add_restriction(
            uow, actor="olga", account_id="ACC1", restriction=parse_restriction(group), now=T0
        )
    with UnitOfWork(engine, "acme") as uow:
        add_restriction(
            uow,
            actor="olga",
            account_id="ACC1",
            restriction=parse_restriction(substitution),
            now=T0,
        )
    with (
        pytest.raises(
            ConflictError, match="'A' is already in restriction 'R2' \\(a substitution\\)"
        ),
        UnitOfWork(engine, "acme") as uow,
    ):
        add_restriction(
            uow, actor="olga", account_id="ACC1", restriction=parse_restriction(EXCLUSION), now=T0
        )


def test_a_viewer_may_not_change_rules(engine: sa.Engine, tmp_path: Path) -> None:
    _setup(engine, tmp_path)
    from trimtab.service.access import add_user

    with UnitOfWork(engine, "acme") as uow:
        add_user(uow, actor="alice", user_id="vera", role="viewer", now=T0)
    with (
        pytest.raises(ForbiddenError, match="'vera' is viewer; this needs the operator role"),
        UnitOfWork(engine, "acme") as uow,
    ):
        add_restriction(
            uow, actor="vera", account_id="ACC1", restriction=parse_restriction(EXCLUSION), now=T0
        )
