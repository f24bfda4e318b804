"""The REST API, ``/api/v1``: handlers parse, call the service and return schemas."""

from __future__ import annotations

from fastapi import APIRouter

from trimtab.web.api import (
    access,
    accounts,
    audit,
    evaluations,
    households,
    models,
    orders,
    queue,
    requests,
    restrictions,
    users,
    whatif,
)
from trimtab.web.api.schemas import PROBLEMS

router = APIRouter(responses=PROBLEMS)
for module in (
    access,
    queue,
    requests,
    accounts,
    restrictions,
    households,
    models,
    evaluations,
    orders,
    audit,
    users,
    whatif,
):
    router.include_router(module.router)

__all__ = ["router"]
