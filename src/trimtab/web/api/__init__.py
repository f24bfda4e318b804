"""The REST API, ``/api/v1``: handlers parse, call the service and return schemas."""

from __future__ import annotations

from fastapi import APIRouter

from trimtab.web.api import access, requests
from trimtab.web.api.schemas import PROBLEMS

router = APIRouter(responses=PROBLEMS)
for module in (access, requests):
    router.include_router(module.router)

__all__ = ["router"]
