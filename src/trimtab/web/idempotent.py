"""The ``Idempotency-Key`` header of every API POST (:mod:`trimtab.service.idempotency`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from trimtab.service.idempotency import MAX_KEY, body_hash, claim, record, release
from trimtab.store.uow import UnitOfWork
from trimtab.web.deps import now


@dataclass(frozen=True, slots=True)
class KeyedCall:
    """A POST that carries an idempotency key, bound to its method, path and body."""

    key: str
    method: str
    path: str
    digest: str


async def _keyed(
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=MAX_KEY,
            description="Send the same key to retry safely: the first response is replayed.",
        ),
    ] = None,
) -> KeyedCall | None:
    if idempotency_key is None:
        return None
    body = await request.body()
    path = request.url.path
    return KeyedCall(idempotency_key, request.method, path, body_hash(request.method, path, body))


Keyed = Annotated[KeyedCall | None, Depends(_keyed)]


def once(
    uow: UnitOfWork,
    call: KeyedCall | None,
    work: Callable[[], tuple[int, Any, str | None]],
) -> JSONResponse:
    """Run ``work`` (returning status, payload and ``Location``) unless ``call``'s key was
    seen: then replay the first response, with the header ``Idempotent-Replayed: true``."""
    if call is not None:
        stored = claim(
            uow, key=call.key, method=call.method, path=call.path, digest=call.digest, now=now()
        )
        if stored is not None:
            headers = {"Idempotent-Replayed": "true"}
            if stored.location:
                headers["Location"] = stored.location
            return JSONResponse(
                json.loads(stored.body), status_code=stored.status_code, headers=headers
            )
    try:
        status, payload, location = work()
    except BaseException:
        if call is not None:
            uow.rollback()
            release(uow, key=call.key)
        raise
    content = jsonable_encoder(payload)
    if call is not None:
        record(
            uow,
            key=call.key,
            status_code=status,
            body=json.dumps(content, separators=(",", ":")),
            location=location,
        )
    return JSONResponse(
        content, status_code=status, headers={"Location": location} if location else None
    )
