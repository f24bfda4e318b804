"""Firms, users and roles. Roles rank operator < approver < admin."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select

from trimtab.errors import ConflictError, ForbiddenError, InputError, NotFoundError
from trimtab.store.tables import ROLES, firms, users
from trimtab.store.uow import UnitOfWork

RANK = {role: i for i, role in enumerate(ROLES)}
MAX_USER = 64
"""Longest user id, in characters."""
KEY_USER = "key:"
"""The prefix of the users API keys act as (:mod:`trimtab.service.credentials`)."""


@dataclass(frozen=True, slots=True)
class UserView:
    """A person of the firm: role, when added (UTC), and whether a password lets them sign
    in to the web app (without one: the command line only)."""

    user_id: str
    role: str
    created_at: datetime
    can_sign_in: bool


def require_role(
    uow: UnitOfWork,
    *,
    user_id: str,
    role: str,
    attempt: str | None = None,
    now: datetime | None = None,
) -> str:
    """The role of ``user_id`` in the unit of work's firm; raises if it ranks below ``role``.

    A refusal (unknown user, too low a role) is logged in the audit trail, as ``attempt``
    (default: "needs the <role> role") at ``now`` (default: the clock).
    """
    found = uow.conn.execute(
        select(users.c.role).where(users.c.firm_id == uow.firm_id, users.c.user_id == user_id)
    ).scalar_one_or_none()
    if found is None:
        firm = uow.conn.execute(
            select(firms.c.firm_id).where(firms.c.firm_id == uow.firm_id)
        ).first()
        if firm is None:
            raise NotFoundError(
                f"firm {uow.firm_id!r} does not exist: create it with trimtab firm add"
            )
        problem = f"user {user_id!r} does not exist in firm {uow.firm_id!r}"
        _refused(uow, user_id, role, attempt, problem, now)
        raise NotFoundError(problem)
    if RANK[found] < RANK[role]:
        problem = f"user {user_id!r} is {found}; this needs the {role} role"
        _refused(uow, user_id, role, attempt, problem, now)
        raise ForbiddenError(problem)
    return str(found)


def _refused(
    uow: UnitOfWork,
    user_id: str,
    role: str,
    attempt: str | None,
    problem: str,
    now: datetime | None,
) -> None:
    from trimtab.service.audit import record_refusal

    record_refusal(
        uow,
        actor=user_id,
        attempt=attempt or f"needs the {role} role",
        entity="user",
        entity_id=user_id,
        reason=problem,
        now=now,
    )


def add_firm(uow: UnitOfWork, *, name: str, admin_id: str, now: datetime) -> None:
    """Create the unit of work's firm with one admin user."""
    if not uow.firm_id.strip():
        raise InputError("firm", "must not be empty")
    exists = uow.conn.execute(select(firms.c.firm_id).where(firms.c.firm_id == uow.firm_id)).first()
    if exists is not None:
        raise ConflictError(f"firm {uow.firm_id!r} already exists")
    uow.conn.execute(insert(firms).values(firm_id=uow.firm_id, name=name, created_at=now))
    uow.conn.execute(
        insert(users).values(firm_id=uow.firm_id, user_id=admin_id, role="admin", created_at=now)
    )
    uow.audit(
        actor=admin_id,
        action="create",
        entity="firm",
        entity_id=uow.firm_id,
        at=now,
        after={"name": name, "admin": admin_id},
    )
    uow.commit()


def add_user(
    uow: UnitOfWork,
    *,
    actor: str,
    user_id: str,
    role: str,
    now: datetime,
    password_hash: str | None = None,
) -> None:
    """Add ``user_id`` with ``role`` (viewer, operator, approver or admin); ``actor`` must
    be admin. ``password_hash`` lets the user sign in to the web app (see
    :func:`trimtab.service.credentials.add_person`)."""
    if role not in RANK:
        raise InputError("role", f"must be one of {', '.join(ROLES)}, got {role!r}")
    if not user_id.strip():
        raise InputError("user", "must not be empty")
    if len(user_id) > MAX_USER:
        raise InputError("user", f"must be at most {MAX_USER} characters")
    if user_id.startswith(KEY_USER):
        raise InputError("user", f"{KEY_USER}... names the users of API keys: add a key instead")
    require_role(uow, user_id=actor, role="admin")
    exists = uow.conn.execute(
        select(users.c.role).where(users.c.firm_id == uow.firm_id, users.c.user_id == user_id)
    ).first()
    if exists is not None:
        raise ConflictError(f"user {user_id!r} already exists")
    uow.conn.execute(
        insert(users).values(
            firm_id=uow.firm_id,
            user_id=user_id,
            role=role,
            created_at=now,
            password_hash=password_hash,
        )
    )
    uow.audit(
        actor=actor, action="create", entity="user", entity_id=user_id, at=now, after={"role": role}
    )
    uow.commit()


def list_users(uow: UnitOfWork, *, actor: str) -> list[UserView]:
    """The firm's people by user id (admin); the users of API keys are listed with the keys."""
    require_role(uow, user_id=actor, role="admin", attempt="list users")
    u = users.c
    rows = uow.conn.execute(
        select(u.user_id, u.role, u.created_at, u.password_hash.is_not(None).label("can_sign_in"))
        .where(u.firm_id == uow.firm_id, ~u.user_id.startswith(KEY_USER, autoescape=True))
        .order_by(u.user_id)
    ).all()
    return [UserView(r.user_id, r.role, r.created_at, bool(r.can_sign_in)) for r in rows]
