"""The web app's pages (server-rendered; no JavaScript needed)."""

from __future__ import annotations

from fastapi import APIRouter

from trimtab.web.pages import signin

router = APIRouter()
router.include_router(signin.router)

__all__ = ["router"]
