"""Passwords, sessions, API keys and idempotency keys in the store (both databases)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.factories import PASSWORD, T0, count, database_fixture, seed_firm, web_firm
from trimtab.errors import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    InputError,
    NotFoundError,
    RateLimitedError,
)
from trimtab.service import credentials as cr
from trimtab.service import idempotency as idem
from trimtab.store.uow import UnitOfWork

engine = database_fixture()


def _sign_in(eng: sa.Engine, user: str, password: str = PASSWORD, *, at=T0, client="10.0.0.1"):
    return cr.sign_in(eng, firm_id="acme", user_id=user, password=password, client=client, now=at)


def test_password_is_stored_hashed_and_signs_in(engine: sa.Engine) -> None:
    web_firm(engine)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT password_hash FROM users WHERE user_id='olga'"))
        hashed = stored.scalar_one()
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed
    token, who = _sign_in(engine, "olga")
    assert (who.firm_id, who.user_id, who.role) == ("acme", "olga", "operator")
    found = cr.session_principal(engine, token=token, now=T0 + timedelta(hours=1))
    assert found == who
    with engine.connect() as conn:  # only the token's hash is kept
        kept = conn.execute(sa.text("SELECT token_hash FROM web_sessions")).scalars().all()
    assert token not in kept and len(kept) == 1


def test_wrong_password_unknown_user_and_firm_say_the_same(engine: sa.Engine) -> None:
    web_firm(engine)
    messages = set()
    for firm, user, password in (
        ("acme", "olga", "wrong password!"),
        ("acme", "nobody", PASSWORD),
        ("nofirm", "olga", PASSWORD),
    ):
        with pytest.raises(AuthenticationError) as err:
            cr.sign_in(engine, firm_id=firm, user_id=user, password=password, client="c", now=T0)
        messages.add(str(err.value))
    assert messages == {"firm, user or password is wrong"}
    assert count(engine, "signin_attempts") == 3
    assert count(engine, "web_sessions") == 0


def test_session_expires_and_signs_out(engine: sa.Engine) -> None:
    web_firm(engine)
    token, _ = _sign_in(engine, "amy")
    assert cr.session_principal(engine, token=token, now=T0 + timedelta(hours=11)) is not None
    assert cr.session_principal(engine, token=token, now=T0 + timedelta(hours=12)) is None
    token, _ = _sign_in(engine, "amy")
    cr.sign_out(engine, token=token)
    assert cr.session_principal(engine, token=token, now=T0) is None
    assert cr.session_principal(engine, token="made-up", now=T0) is None


def test_failed_sign_ins_lock_the_user_for_the_window(engine: sa.Engine) -> None:
    web_firm(engine)
    for i in range(cr.MAX_USER_FAILURES):
        with pytest.raises(AuthenticationError):
            _sign_in(engine, "bob", "not the password", at=T0 + timedelta(seconds=i))
    with pytest.raises(RateLimitedError) as err:  # even the right password is refused now
        _sign_in(engine, "bob", at=T0 + timedelta(minutes=1))
    assert err.value.retry_after == 900
    _sign_in(engine, "amy", at=T0 + timedelta(minutes=1))  # other users are not locked
    token, _ = _sign_in(engine, "bob", at=T0 + timedelta(minutes=16))  # the window moved on
    assert token


def test_failed_sign_ins_from_one_client_are_limited(engine: sa.Engine) -> None:
    web_firm(engine)
    for i in range(cr.MAX_CLIENT_FAILURES):
        with pytest.raises(AuthenticationError):
            _sign_in(engine, f"guess{i}", "x" * 12, client="203.0.113.9")
    with pytest.raises(RateLimitedError):
        _sign_in(engine, "olga", client="203.0.113.9")
    _sign_in(engine, "olga", client="203.0.113.10")


def test_set_password_rules(engine: sa.Engine) -> None:
    web_firm(engine)
    token, _ = _sign_in(engine, "olga")
    with UnitOfWork(engine, "acme") as uow, pytest.raises(ForbiddenError):
        cr.set_password(uow, actor="olga", user_id="amy", password="x" * 12, now=T0)
    with UnitOfWork(engine, "acme") as uow, pytest.raises(InputError, match="password"):
        cr.set_password(uow, actor="olga", user_id="olga", password="short", now=T0)
    with UnitOfWork(engine, "acme") as uow:
        cr.set_password(uow, actor="olga", user_id="olga", password="a new password", now=T0)
    # a new password ends the user's sessions
    assert cr.session_principal(engine, token=token, now=T0) is None
    with pytest.raises(AuthenticationError):
        _sign_in(engine, "olga")
    assert _sign_in(engine, "olga", "a new password")[1].user_id == "olga"


def test_api_keys_act_with_their_role_until_revoked(engine: sa.Engine) -> None:
    keys = web_firm(engine)
    who = cr.key_principal(engine, token=keys["approver"])
    assert who is not None and (who.firm_id, who.user_id, who.role) == (
        "acme",
        "key:approver",
        "approver",
    )
    assert who.csrf_token is None
    key_id = keys["approver"].split("_")[1]
    forged = keys["approver"][:-3] + "abc"
    assert cr.key_principal(engine, token=forged) is None
    assert cr.key_principal(engine, token="ttk_nonsense") is None
    assert cr.key_principal(engine, token="Bearer something") is None
    with UnitOfWork(engine, "acme") as uow:
        listed = cr.list_api_keys(uow, actor="alice")
        assert {k.user_id for k in listed} == {
            "key:viewer",
            "key:operator",
            "key:approver",
            "key:admin",
        }
        cr.revoke_api_key(uow, actor="alice", key_id=key_id, now=T0)
        with pytest.raises(NotFoundError):
            cr.revoke_api_key(uow, actor="alice", key_id=key_id, now=T0)
    assert cr.key_principal(engine, token=keys["approver"]) is None
    with engine.connect() as conn:
        secrets = conn.execute(sa.text("SELECT secret_hash FROM api_keys")).scalars().all()
    assert not any(s in keys["admin"] for s in secrets)


def test_only_an_admin_adds_keys_and_names_are_unique(engine: sa.Engine) -> None:
    web_firm(engine)
    with UnitOfWork(engine, "acme") as uow:
        with pytest.raises(ForbiddenError):
            cr.add_api_key(uow, actor="amy", name="robot", role="viewer", now=T0)
        with pytest.raises(ConflictError):
            cr.add_api_key(uow, actor="alice", name="viewer", role="viewer", now=T0)
        with pytest.raises(InputError, match="name"):
            cr.add_api_key(uow, actor="alice", name="Bad Name", role="viewer", now=T0)
        with pytest.raises(InputError, match="role"):
            cr.add_api_key(uow, actor="alice", name="robot", role="owner", now=T0)
        with pytest.raises(InputError, match="API key's user"):
            cr.set_password(uow, actor="alice", user_id="key:viewer", password="x" * 12, now=T0)


def test_idempotency_key_replays_refuses_other_bodies_and_is_per_firm(engine: sa.Engine) -> None:
    seed_firm(engine)
    seed_firm(engine, "other")
    digest = idem.body_hash("POST", "/api/v1/requests", b'{"a":1}')
    with UnitOfWork(engine, "acme") as uow:
        claim = dict(key="k-1", method="POST", path="/api/v1/requests", now=T0)
        assert idem.claim(uow, digest=digest, **claim) is None
        with pytest.raises(ConflictError, match="still running"):
            idem.claim(uow, digest=digest, **claim)
        idem.record(uow, key="k-1", status_code=202, body='{"id":7}', location="/x/7")
        replay = idem.claim(uow, digest=digest, **claim)
        assert replay == idem.StoredResponse(202, '{"id":7}', "/x/7")
        other = idem.body_hash("POST", "/api/v1/requests", b'{"a":2}')
        with pytest.raises(InputError) as err:
            idem.claim(uow, digest=other, **claim)
        assert err.value.where == "Idempotency-Key"
        with pytest.raises(InputError):
            idem.claim(uow, digest=digest, **{**claim, "key": ""})
    with UnitOfWork(engine, "other") as uow:  # the same key in another firm is another key
        assert idem.claim(uow, digest=other, **claim) is None
        idem.release(uow, key="k-1")
        assert idem.claim(uow, digest=other, **claim) is None
    assert count(engine, "idempotency_keys") == 2
