"""Who is asking: passwords, web sessions and API keys.

People sign in with firm, user and password (argon2, through pwdlib) and get a session: a
random token for their cookie, of which only the sha256 is stored, and a CSRF token for
their forms. Programs send a per-firm API key, ``ttk_<key id>_<secret>``, as a bearer token;
each key acts as a user of its own (``key:<name>``) whose role is the key's role, so the
service checks a key's rights exactly as a person's.

Sign-in is rate limited: after :data:`MAX_USER_FAILURES` failed attempts on one user, or
:data:`MAX_CLIENT_FAILURES` from one client address, within :data:`SIGNIN_WINDOW`, further
attempts are refused (even with the right password) until the window has moved on.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pwdlib import PasswordHash
from sqlalchemy import Connection, Engine, and_, delete, func, insert, select, update

from trimtab.errors import (
    AuthenticationError,
    ConflictError,
    InputError,
    NotFoundError,
    RateLimitedError,
)
from trimtab.service.access import RANK, require_role
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork

SESSION_LIFETIME = timedelta(hours=12)
"""A session ends this long after sign-in."""
SIGNIN_WINDOW = timedelta(minutes=15)
MAX_USER_FAILURES = 5
"""Failed sign-ins on one user within :data:`SIGNIN_WINDOW` before it is locked for a while."""
MAX_CLIENT_FAILURES = 20
"""Failed sign-ins from one client address within :data:`SIGNIN_WINDOW`."""
MIN_PASSWORD = 10
"""Shortest password accepted, in characters."""
KEY_PREFIX = "ttk_"

_HASHER = PasswordHash.recommended()
_DUMMY = _HASHER.hash("not a password of anyone")
"""Verified against when the user does not exist, so that the answer takes as long."""
_KEY_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


@dataclass(frozen=True, slots=True)
class Principal:
    """A signed-in person or an API key: its firm, user id and role. ``csrf_token`` is the
    session's (forms and cookie-authenticated API calls must echo it); ``None`` for a key."""

    firm_id: str
    user_id: str
    role: str
    csrf_token: str | None = None


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An API key as listed: never its secret."""

    key_id: str
    user_id: str
    role: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def set_password(
    uow: UnitOfWork, *, actor: str, user_id: str, password: str, now: datetime
) -> None:
    """Set ``user_id``'s password: an admin may set anyone's, a user their own."""
    if actor != user_id:
        require_role(uow, user_id=actor, role="admin", attempt=f"set {user_id}'s password")
    else:
        require_role(uow, user_id=actor, role="viewer")
    if len(password) < MIN_PASSWORD:
        raise InputError("password", f"must be at least {MIN_PASSWORD} characters")
    if user_id.startswith("key:"):
        raise InputError("user", f"{user_id!r} is an API key's user: it cannot sign in")
    done = uow.conn.execute(
        update(t.users)
        .where(t.users.c.firm_id == uow.firm_id, t.users.c.user_id == user_id)
        .values(password_hash=_HASHER.hash(password))
    )
    if done.rowcount == 0:
        raise InputError("user", f"user {user_id!r} does not exist")
    # A new password ends the user's sessions everywhere.
    uow.conn.execute(
        delete(t.web_sessions).where(
            t.web_sessions.c.firm_id == uow.firm_id, t.web_sessions.c.user_id == user_id
        )
    )
    uow.audit(actor=actor, action="set_password", entity="user", entity_id=user_id, at=now)
    uow.commit()


def _failures(conn: Connection, where: object, now: datetime) -> int:
    return int(
        conn.execute(
            select(func.count()).where(
                where,  # type: ignore[arg-type]
                t.signin_attempts.c.at > now - SIGNIN_WINDOW,
                t.signin_attempts.c.ok.is_(False),
            )
        ).scalar_one()
    )


def sign_in(
    engine: Engine, *, firm_id: str, user_id: str, password: str, client: str, now: datetime
) -> tuple[str, Principal]:
    """Check the password; returns the new session's cookie token and who signed in.

    Raises :class:`AuthenticationError` with one message whatever was wrong (firm, user or
    password), and :class:`RateLimitedError` when the user or the client address has failed
    too often lately. Every attempt is recorded.
    """
    firm_id, user_id, client = firm_id.strip()[:64], user_id.strip()[:64], client[:64]
    a = t.signin_attempts.c
    with engine.begin() as conn:
        by_user = _failures(conn, and_(a.firm_id == firm_id, a.user_id == user_id), now)
        by_client = _failures(conn, a.client == client, now)
    if by_user >= MAX_USER_FAILURES or by_client >= MAX_CLIENT_FAILURES:
        raise RateLimitedError(
            "too many failed sign-ins: try again later", int(SIGNIN_WINDOW.total_seconds())
        )
    with engine.begin() as conn:
        row = conn.execute(
            select(t.users.c.role, t.users.c.password_hash).where(
                t.users.c.firm_id == firm_id, t.users.c.user_id == user_id
            )
        ).first()
        stored = row.password_hash if row is not None else None
        ok = _HASHER.verify(password, stored or _DUMMY) and stored is not None
        conn.execute(
            insert(t.signin_attempts).values(
                firm_id=firm_id, user_id=user_id, client=client, at=now, ok=ok
            )
        )
    if not ok or row is None:  # the failure is recorded (committed) before it is raised
        raise AuthenticationError("firm, user or password is wrong")
    with engine.begin() as conn:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        conn.execute(
            insert(t.web_sessions).values(
                token_hash=_sha256(token),
                firm_id=firm_id,
                user_id=user_id,
                csrf_token=csrf,
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
        conn.execute(delete(t.web_sessions).where(t.web_sessions.c.expires_at <= now))
    return token, Principal(firm_id=firm_id, user_id=user_id, role=row.role, csrf_token=csrf)


def session_principal(engine: Engine, *, token: str, now: datetime) -> Principal | None:
    """Who the session cookie ``token`` belongs to, or ``None`` (unknown or expired)."""
    s, u = t.web_sessions.c, t.users.c
    with engine.connect() as conn:
        row = conn.execute(
            select(s.firm_id, s.user_id, s.csrf_token, s.expires_at, u.role)
            .join(t.users, (u.firm_id == s.firm_id) & (u.user_id == s.user_id))
            .where(s.token_hash == _sha256(token))
        ).first()
    if row is None or row.expires_at <= now:
        return None
    return Principal(
        firm_id=row.firm_id, user_id=row.user_id, role=row.role, csrf_token=row.csrf_token
    )


def sign_out(engine: Engine, *, token: str) -> None:
    """End the session of cookie ``token`` (nothing happens for an unknown one)."""
    with engine.begin() as conn:
        conn.execute(delete(t.web_sessions).where(t.web_sessions.c.token_hash == _sha256(token)))


def add_api_key(uow: UnitOfWork, *, actor: str, name: str, role: str, now: datetime) -> str:
    """A new API key named ``name`` with ``role``; returns the token, shown only now.

    Needs the admin role. The key acts as the user ``key:<name>``.
    """
    require_role(uow, user_id=actor, role="admin", attempt="add an API key")
    if not _KEY_NAME.match(name):
        raise InputError("name", "use 1 to 40 lower-case letters, digits and '-'")
    if role not in RANK:
        raise InputError("role", f"must be one of {', '.join(RANK)}, got {role!r}")
    user_id = f"key:{name}"
    exists = uow.conn.execute(
        select(t.users.c.user_id).where(
            t.users.c.firm_id == uow.firm_id, t.users.c.user_id == user_id
        )
    ).first()
    if exists is not None:
        raise ConflictError(f"an API key named {name!r} already exists")
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    uow.conn.execute(
        insert(t.users).values(firm_id=uow.firm_id, user_id=user_id, role=role, created_at=now)
    )
    uow.conn.execute(
        insert(t.api_keys).values(
            key_id=key_id,
            firm_id=uow.firm_id,
            user_id=user_id,
            secret_hash=_sha256(secret),
            created_by=actor,
            created_at=now,
        )
    )
    uow.audit(
        actor=actor,
        action="create",
        entity="api_key",
        entity_id=key_id,
        at=now,
        after={"user": user_id, "role": role},
    )
    uow.commit()
    return f"{KEY_PREFIX}{key_id}_{secret}"


def list_api_keys(uow: UnitOfWork, *, actor: str) -> list[ApiKey]:
    """The firm's API keys, newest first (admin)."""
    require_role(uow, user_id=actor, role="admin", attempt="list API keys")
    k, u = t.api_keys.c, t.users.c
    rows = uow.conn.execute(
        select(k.key_id, k.user_id, u.role, k.created_by, k.created_at, k.revoked_at)
        .join(t.users, (u.firm_id == k.firm_id) & (u.user_id == k.user_id))
        .where(k.firm_id == uow.firm_id)
        .order_by(k.created_at.desc(), k.key_id)
    ).all()
    return [ApiKey(**r._asdict()) for r in rows]


def revoke_api_key(uow: UnitOfWork, *, actor: str, key_id: str, now: datetime) -> None:
    """Revoke the key ``key_id`` of the firm (admin); it stops working at once."""
    require_role(uow, user_id=actor, role="admin", attempt=f"revoke API key {key_id}")
    done = uow.conn.execute(
        update(t.api_keys)
        .where(
            t.api_keys.c.firm_id == uow.firm_id,
            t.api_keys.c.key_id == key_id,
            t.api_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    if done.rowcount == 0:
        raise NotFoundError(f"API key {key_id!r} does not exist or is already revoked")
    uow.audit(actor=actor, action="revoke", entity="api_key", entity_id=key_id, at=now)
    uow.commit()


def key_principal(engine: Engine, *, token: str) -> Principal | None:
    """Who the bearer ``token`` is, or ``None`` (malformed, unknown or revoked)."""
    if not token.startswith(KEY_PREFIX):
        return None
    key_id, sep, secret = token[len(KEY_PREFIX) :].partition("_")
    if not sep or not key_id or not secret:
        return None
    k, u = t.api_keys.c, t.users.c
    with engine.connect() as conn:
        row = conn.execute(
            select(k.firm_id, k.user_id, k.secret_hash, k.revoked_at, u.role)
            .join(t.users, (u.firm_id == k.firm_id) & (u.user_id == k.user_id))
            .where(k.key_id == key_id[:32])
        ).first()
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_hash, _sha256(secret)):
        return None
    return Principal(firm_id=row.firm_id, user_id=row.user_id, role=row.role)
