"""Who is calling, and the firm's API keys (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, Response

from trimtab.service import credentials
from trimtab.web.api.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPublic,
    MePublic,
    SessionPublic,
)
from trimtab.web.deps import ApiUow, Caller, now
from trimtab.web.idempotent import Keyed, once

router = APIRouter(tags=["access"])


@router.get("/me", response_model=MePublic, summary="Who is calling")
def me(who: Caller) -> MePublic:
    return MePublic(firm_id=who.firm_id, user_id=who.user_id, role=who.role)


@router.get("/me/session", response_model=SessionPublic, summary="The session's CSRF token")
def my_session(who: Caller) -> SessionPublic:
    """A signed-in browser's CSRF token, to send as ``X-CSRF-Token`` with its changes
    (``null`` for an API key, which needs none)."""
    return SessionPublic(csrf_token=who.csrf_token)


@router.get("/api-keys", response_model=list[ApiKeyPublic], summary="List API keys")
def list_keys(uow: ApiUow, who: Caller) -> list[ApiKeyPublic]:
    keys = credentials.list_api_keys(uow, actor=who.user_id)
    return [ApiKeyPublic.model_validate(k, from_attributes=True) for k in keys]


@router.post("/api-keys", status_code=201, response_model=ApiKeyCreated, summary="Add an API key")
def add_key(body: ApiKeyCreate, uow: ApiUow, who: Caller, keyed: Keyed) -> JSONResponse:
    """A new key; its ``token`` is shown in this answer only."""

    def work() -> tuple[int, ApiKeyCreated, str]:
        token = credentials.add_api_key(
            uow, actor=who.user_id, name=body.name, role=body.role, now=now()
        )
        key_id = token.split("_")[1]
        listed = next(
            k for k in credentials.list_api_keys(uow, actor=who.user_id) if k.key_id == key_id
        )
        created = ApiKeyCreated.model_validate(
            {
                **ApiKeyPublic.model_validate(listed, from_attributes=True).model_dump(),
                "token": token,
            }
        )
        return 201, created, f"/api/v1/api-keys/{key_id}"

    return once(uow, keyed, work)


@router.delete("/api-keys/{key_id}", status_code=204, summary="Revoke an API key")
def revoke_key(key_id: Annotated[str, Path(max_length=32)], uow: ApiUow, who: Caller) -> Response:
    credentials.revoke_api_key(uow, actor=who.user_id, key_id=key_id, now=now())
    return Response(status_code=204)
