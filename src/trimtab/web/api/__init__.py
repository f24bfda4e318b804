"""The REST API, ``/api/v1``: handlers parse, call the service and return schemas."""

from __future__ import annotations

from fastapi import APIRouter

from trimtab.web.api import access, accounts, requests, restrictions

router = APIRouter()
for module in (access, requests, accounts, restrictions):
    router.include_router(module.router)

__all__ = ["router"]
