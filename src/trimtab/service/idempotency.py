"""Idempotency keys of the API's POSTs: the same key and body replay the first response.

A firm's key is claimed before the work starts (a row with no status yet), so two calls
with one key never both do the work: the second is refused as a conflict while the first
runs, and replays its response afterwards. A key used again with another method, path or
body is refused. Work that fails releases its claim: nothing was done, so the client may
retry with the same key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from trimtab.errors import ConflictError, InputError
from trimtab.store import tables as t
from trimtab.store.uow import UnitOfWork

MAX_KEY = 255
"""Longest key accepted, in characters."""


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The first response to a key: status code, JSON body and ``Location`` (if any)."""

    status_code: int
    body: str
    location: str | None


def body_hash(method: str, path: str, body: bytes) -> str:
    """What a key is bound to: the sha256 of method, path and body."""
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def claim(
    uow: UnitOfWork, *, key: str, method: str, path: str, digest: str, now: datetime
) -> StoredResponse | None:
    """Claim ``key`` for this call (``None``: go ahead) or return the response to replay.

    Raises :class:`InputError` (field ``Idempotency-Key``) when the key was used for another
    request, and :class:`ConflictError` while the first call with it still runs.
    """
    if not key or len(key) > MAX_KEY:
        raise InputError("Idempotency-Key", f"must be 1 to {MAX_KEY} characters")
    k = t.idempotency_keys.c
    for _ in range(2):
        row = uow.conn.execute(
            select(t.idempotency_keys).where(k.firm_id == uow.firm_id, k.key == key)
        ).first()
        if row is not None:
            if (row.method, row.path, row.body_hash) != (method, path, digest):
                raise InputError(
                    "Idempotency-Key",
                    f"was first used for {row.method} {row.path} with another body: "
                    "use a new key for a new request",
                )
            if row.status_code is None:
                raise ConflictError("the first request with this Idempotency-Key is still running")
            return StoredResponse(row.status_code, row.body or "", row.location)
        try:
            uow.conn.execute(
                insert(t.idempotency_keys).values(
                    firm_id=uow.firm_id,
                    key=key,
                    method=method,
                    path=path,
                    body_hash=digest,
                    created_at=now,
                )
            )
            uow.commit()
            return None
        except IntegrityError:  # claimed meanwhile by a concurrent call: read it again
            uow.rollback()
    raise ConflictError("the first request with this Idempotency-Key is still running")


def record(uow: UnitOfWork, *, key: str, status_code: int, body: str, location: str | None) -> None:
    """Keep the response to the claimed ``key`` for replays."""
    k = t.idempotency_keys.c
    uow.conn.execute(
        update(t.idempotency_keys)
        .where(k.firm_id == uow.firm_id, k.key == key)
        .values(status_code=status_code, body=body, location=location)
    )
    uow.commit()


def release(uow: UnitOfWork, *, key: str) -> None:
    """Give up the claim on ``key`` (the call failed and did nothing)."""
    k = t.idempotency_keys.c
    uow.conn.execute(
        delete(t.idempotency_keys).where(
            k.firm_id == uow.firm_id, k.key == key, k.status_code.is_(None)
        )
    )
    uow.commit()
