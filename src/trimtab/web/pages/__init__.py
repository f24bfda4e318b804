"""The web app's pages (server-rendered; no JavaScript needed). Every route is left out of
the OpenAPI document, which is the API's."""

from __future__ import annotations

from fastapi import APIRouter

from trimtab.web.pages import accounts, history, orders, pending, queue, restrictions, signin

router = APIRouter()
for module in (signin, queue, pending, history, accounts, restrictions, orders):
    router.include_router(module.router)

__all__ = ["router"]
