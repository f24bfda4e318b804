"""The firm's people and their passwords (admin; anyone may set their own password)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from trimtab.service import access, credentials
from trimtab.web.api.schemas import Closed
from trimtab.web.deps import ApiUow, Caller, now
from trimtab.web.idempotent import Keyed, once

router = APIRouter(prefix="/users", tags=["users"])

UserId = Annotated[str, Path(min_length=1, max_length=64, description="The user's id.")]
Password = Annotated[
    str, Field(min_length=credentials.MIN_PASSWORD, max_length=credentials.MAX_PASSWORD)
]


class UserCreate(Closed):
    """A new person of the firm and their role; with a ``password`` they may sign in to
    the web app, without one they use the command line."""

    user_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s/]+$")]
    role: Literal["viewer", "operator", "approver", "admin"]
    password: Password | None = None


class PasswordSet(Closed):
    """A new password; it ends the user's sessions everywhere."""

    password: Password


class UserPublic(BaseModel):
    """A person of the firm (never their password)."""

    user_id: str
    role: str
    created_at: datetime
    can_sign_in: bool


@router.get("", response_model=list[UserPublic], summary="List users")
def list_users(uow: ApiUow, who: Caller) -> list[UserPublic]:
    """The firm's people by id (the users of API keys are listed with the keys)."""
    found = access.list_users(uow, actor=who.user_id)
    return [UserPublic.model_validate(u, from_attributes=True) for u in found]


@router.post("", status_code=201, response_model=UserPublic, summary="Add a user")
def add_user(body: UserCreate, uow: ApiUow, who: Caller, keyed: Keyed) -> JSONResponse:
    def work() -> tuple[int, UserPublic, None]:
        moment = now()
        credentials.add_person(
            uow,
            actor=who.user_id,
            user_id=body.user_id,
            role=body.role,
            password=body.password,
            now=moment,
        )
        made = UserPublic(
            user_id=body.user_id,
            role=body.role,
            created_at=moment,
            can_sign_in=body.password is not None,
        )
        return 201, made, None

    return once(uow, keyed, work)


@router.put("/{user_id}/password", status_code=204, summary="Set a user's password")
def set_password(user_id: UserId, body: PasswordSet, uow: ApiUow, who: Caller) -> Response:
    """An admin sets anyone's password, a user their own."""
    credentials.set_password(
        uow, actor=who.user_id, user_id=user_id, password=body.password, now=now()
    )
    return Response(status_code=204)
