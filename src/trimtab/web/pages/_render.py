"""Rendering a page: the template with who is signed in and the section they are in."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from trimtab.service.credentials import Principal
from trimtab.store.tables import ROLES
from trimtab.web.pages._forms import may


def render(
    request: Request,
    template: str,
    who: Principal | None,
    *,
    section: str = "",
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """``template`` rendered for ``who`` (``None``: signed out)."""
    from trimtab.web.app import templates

    return templates.TemplateResponse(
        request,
        template,
        {
            "who": who,
            "can": {role: may(who, role) for role in ROLES} if who else {},
            "section": section,
            "flash": request.query_params.get("flash"),
            **context,
        },
        status_code=status_code,
    )


def see_other(url: str, flash: str | None = None) -> RedirectResponse:
    """After a form is posted: go to ``url`` (303, so a reload does not post again), with
    ``flash`` shown there once."""
    if flash:
        url += ("&" if "?" in url else "?") + urlencode({"flash": flash})
    return RedirectResponse(url, status_code=303)


def safe_next(url: str | None) -> str:
    """Where to go after signing in: a path of this site only."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return "/"
    return url
