"""What every route depends on: the database, who is asking, and their unit of work.

An API call is authenticated by ``Authorization: Bearer <API key>`` or by the session
cookie of a signed-in browser; a cookie-authenticated call that changes anything must also
send the session's CSRF token (header ``X-CSRF-Token`` on the API, form field
``csrf_token`` on pages), so another site cannot make the browser act. Every unit of work
is scoped to the caller's firm: another firm's objects are simply not found.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine

from trimtab.errors import AuthenticationError
from trimtab.service.credentials import Principal, key_principal, session_principal
from trimtab.store.uow import UnitOfWork
from trimtab.web.problems import SignInNeeded

SESSION_COOKIE = "trimtab_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

_bearer = HTTPBearer(auto_error=False, description="An API key: ttk_<key id>_<secret>.")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="The session of a signed-in browser (send X-CSRF-Token on changes).",
)


def now() -> datetime:
    """The moment of this call, UTC."""
    return datetime.now(UTC)


def engine(request: Request) -> Engine:
    """The application's database engine."""
    found: Engine = request.app.state.engine
    return found


def _principal(request: Request, bearer: str | None, cookie: str | None) -> Principal | None:
    eng = engine(request)
    if bearer is not None:
        found = key_principal(eng, token=bearer)
        if found is None:
            raise AuthenticationError("the API key is unknown or revoked")
        return found
    if cookie:
        return session_principal(eng, token=cookie, now=now())
    return None


def caller(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> Principal:
    """Who calls the API (401 when nobody is); their role is the service's to check."""
    found = _principal(request, bearer.credentials if bearer else None, cookie)
    if found is None:
        raise AuthenticationError("sign in, or send an API key as Authorization: Bearer")
    if bearer is None and request.method in UNSAFE:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent, found.csrf_token or ""):
            raise AuthenticationError(f"a session's changes need its {CSRF_HEADER} header")
    return found


def viewer(request: Request) -> Principal:
    """Who looks at a page; not signed in: off to the sign-in page."""
    found = session_principal(
        engine(request), token=request.cookies.get(SESSION_COOKIE, ""), now=now()
    )
    if found is None:
        raise SignInNeeded(
            str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
        )
    return found


def check_csrf(who: Principal, sent: str | None) -> None:
    """Refuse a page form whose ``csrf_token`` is not the session's."""
    if not hmac.compare_digest(sent or "", who.csrf_token or ""):
        raise AuthenticationError("the form has expired: reload the page and try again")


Caller = Annotated[Principal, Depends(caller)]
Viewer = Annotated[Principal, Depends(viewer)]


def _api_uow(request: Request, who: Caller) -> Iterator[UnitOfWork]:
    read_only = request.method == "GET"  # a GET reads a snapshot, never waiting on writers
    with UnitOfWork(engine(request), who.firm_id, read_only=read_only) as uow:
        yield uow


def _page_uow(request: Request, who: Viewer) -> Iterator[UnitOfWork]:
    with UnitOfWork(engine(request), who.firm_id, read_only=request.method == "GET") as uow:
        yield uow


ApiUow = Annotated[UnitOfWork, Depends(_api_uow)]
"""The API caller's firm's unit of work."""
PageUow = Annotated[UnitOfWork, Depends(_page_uow)]
"""The signed-in browser's firm's unit of work."""
