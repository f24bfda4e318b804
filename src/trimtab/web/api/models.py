"""Models: their targets, version by version."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel

from trimtab.service import listing
from trimtab.web.api.params import Limit, PageToken
from trimtab.web.api.schemas import PagePublic
from trimtab.web.deps import ApiUow, Caller

router = APIRouter(prefix="/models", tags=["models"])


class ModelPublic(BaseModel):
    """A model: its current version, the book date that version took effect, and how many
    accounts have it."""

    model_id: str
    current_version: int
    effective: date
    accounts: int


class ModelLinePublic(BaseModel):
    """A security of a model version: target, band minimum and maximum, percent points."""

    symbol: str
    target_pct: float
    min_pct: float
    max_pct: float


class ModelVersionPublic(BaseModel):
    """A version: when it took effect, its cash target (percent points) and its lines."""

    version: int
    effective: date
    cash_pct: float
    lines: list[ModelLinePublic]


class ModelDetailPublic(BaseModel):
    """A model with every version, oldest first."""

    model_id: str
    current_version: int
    accounts: int
    versions: list[ModelVersionPublic]


@router.get("", response_model=PagePublic[ModelPublic], summary="List models")
def list_models(
    uow: ApiUow, who: Caller, limit: Limit = 50, page_token: PageToken = None
) -> PagePublic[ModelPublic]:
    """Models by id."""
    page = listing.models_page(uow, actor=who.user_id, limit=limit, page_token=page_token)
    return PagePublic[ModelPublic](
        items=[ModelPublic.model_validate(m, from_attributes=True) for m in page.items],
        next_page_token=page.next_page_token,
    )


@router.get("/{model_id}", response_model=ModelDetailPublic, summary="A model and its versions")
def get_model(
    model_id: Annotated[str, Path(min_length=1, max_length=64)], uow: ApiUow, who: Caller
) -> ModelDetailPublic:
    found = listing.model_detail(uow, actor=who.user_id, model_id=model_id)
    return ModelDetailPublic.model_validate(found, from_attributes=True)
