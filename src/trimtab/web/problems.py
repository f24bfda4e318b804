"""Errors as HTTP answers: RFC 9457 problem details on the API, a page in the browser.

Only this module turns the exception tree (:mod:`trimtab.errors`) into statuses:
bad input 422 (with ``errors``: ``{record, field, message}``), not signed in 401, a missing
role or four eyes 403, an unknown object *or another firm's* 404, a state conflict 409, too
many sign-ins 429.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from trimtab.errors import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    InputError,
    NotFoundError,
    RateLimitedError,
    TrimtabError,
)

PROBLEM = "application/problem+json"
TITLES = {
    400: "Bad Request",
    401: "Not signed in",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    422: "Unprocessable Content",
    429: "Too Many Requests",
}


class SignInNeeded(Exception):
    """A page asked for by someone not signed in: send them to the sign-in page."""

    def __init__(self, next_url: str) -> None:
        self.next_url = next_url
        super().__init__(next_url)


def problem(
    status: int,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem-details response of ``status``."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def status_of(err: TrimtabError) -> int:
    """The HTTP status of a trimtab error."""
    for kind, status in (
        (InputError, 422),
        (AuthenticationError, 401),
        (ForbiddenError, 403),
        (NotFoundError, 404),
        (ConflictError, 409),
        (RateLimitedError, 429),
    ):
        if isinstance(err, kind):
            return status
    return 400


def field_error(err: InputError, request: Request) -> dict[str, str]:
    """One ``errors`` item of an input error: ``record`` (where in the request the field is:
    ``path``, ``query``, ``header`` or ``body``), ``field`` (as the service names it) and
    ``message``."""
    if err.where in request.path_params:
        record = "path"
    elif err.where in request.query_params:
        record = "query"
    elif err.where in request.headers:
        record = "header"
    else:
        record = "body"
    return {"record": record, "field": err.where, "message": err.problem}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def install(app: FastAPI, page_error: Any) -> None:
    """Register the handlers on ``app``; ``page_error(request, status, message)`` renders
    an error page for the browser."""

    async def trimtab_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, TrimtabError)
        status = status_of(exc)
        headers: dict[str, str] = {}
        if isinstance(exc, RateLimitedError):
            headers["Retry-After"] = str(exc.retry_after)
        if isinstance(exc, AuthenticationError):
            headers["WWW-Authenticate"] = "Bearer"
        if not _is_api(request):
            return page_error(request, status, str(exc))  # type: ignore[no-any-return]
        errors = [field_error(exc, request)] if isinstance(exc, InputError) else None
        return problem(status, str(exc), errors=errors, headers=headers or None)

    async def invalid(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = [
            {
                "record": str(e["loc"][0]) if e["loc"] else "body",
                "field": ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]),
                "message": str(e["msg"]),
            }
            for e in exc.errors()
        ]
        if not _is_api(request):
            text = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
            return page_error(request, 422, text)  # type: ignore[no-any-return]
        return problem(422, "the request has invalid fields", errors=errors)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if not _is_api(request):
            return page_error(request, exc.status_code, str(exc.detail))  # type: ignore[no-any-return]
        return problem(
            exc.status_code, str(exc.detail), headers=dict(exc.headers) if exc.headers else None
        )

    async def sign_in_needed(request: Request, exc: Exception) -> Response:
        from urllib.parse import quote

        from fastapi.responses import RedirectResponse

        assert isinstance(exc, SignInNeeded)
        return RedirectResponse(f"/signin?next={quote(exc.next_url, safe='/')}", status_code=303)

    app.add_exception_handler(TrimtabError, trimtab_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(SignInNeeded, sign_in_needed)
