"""Signing in and out of the web app."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from trimtab.errors import AuthenticationError, RateLimitedError
from trimtab.service.credentials import SESSION_LIFETIME, sign_in, sign_out
from trimtab.web.deps import SESSION_COOKIE, Viewer, check_csrf, engine, now
from trimtab.web.pages._render import render, safe_next, see_other

router = APIRouter()


def _secure(request: Request) -> bool:
    chosen = request.app.state.secure_cookies
    if chosen is not None:
        return bool(chosen)
    return request.url.hostname not in ("localhost", "127.0.0.1", "::1")


@router.get("/signin", include_in_schema=False)
def signin_page(request: Request, next: str = "/") -> Response:
    return render(request, "signin.html", None, next=safe_next(next), firm="", user="")


@router.post("/signin", include_in_schema=False)
def signin(
    request: Request,
    firm: Annotated[str, Form(max_length=64)] = "",
    user: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    client = request.client.host if request.client else "unknown"
    try:
        token, _ = sign_in(
            engine(request), firm_id=firm, user_id=user, password=password, client=client, now=now()
        )
    except (AuthenticationError, RateLimitedError) as err:
        status = 429 if isinstance(err, RateLimitedError) else 401
        page = render(
            request,
            "signin.html",
            None,
            status_code=status,
            error=str(err),
            next=safe_next(next),
            firm=firm,
            user=user,
        )
        if isinstance(err, RateLimitedError):
            page.headers["Retry-After"] = str(err.retry_after)
        return page
    response = see_other(safe_next(next))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
    return response


@router.post("/signout", include_in_schema=False)
def signout(request: Request, who: Viewer, csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(who, csrf_token)
    sign_out(engine(request), token=request.cookies.get(SESSION_COOKIE, ""))
    response = see_other("/signin")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
