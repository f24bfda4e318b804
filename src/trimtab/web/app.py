"""The web application: the REST API under ``/api/v1`` and the pages under ``/``.

``create_app`` takes the database; ``trimtab serve`` runs it with Uvicorn. Pages are
server-rendered (Jinja2) and work without JavaScript; ``/static/app.js`` only adds comfort.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine

from trimtab import __version__
from trimtab.store.migrate import ensure_schema, make_engine
from trimtab.web import display, problems

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
display.install(templates.env)

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def page_error(request: Request, status: int, message: str) -> HTMLResponse:
    """An error page for the browser, with the navigation when someone is signed in."""
    from trimtab.service.credentials import session_principal
    from trimtab.web.deps import SESSION_COOKIE, now

    token = request.cookies.get(SESSION_COOKIE)
    who = None
    if token:
        who = session_principal(request.app.state.engine, token=token, now=now())
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "message": message, "who": who},
        status_code=status,
    )


def create_app(
    *,
    database_url: str | None = None,
    engine: Engine | None = None,
    secure_cookies: bool | None = None,
    background: bool = True,
) -> FastAPI:
    """The application on ``engine`` (else the database of ``database_url``, migrated).

    ``secure_cookies``: mark the session cookie Secure (default: unless the app is served
    on localhost). ``background``: propose large requests, and run evaluations asked for
    with ``Prefer: respond-async``, on worker threads (tests may turn it off to do both
    inline).
    """
    from trimtab.web.api import router as api_router
    from trimtab.web.pages import router as page_router
    from trimtab.web.worker import Evaluator, Proposer

    if engine is None:
        engine = make_engine(database_url)
        ensure_schema(engine)
    app = FastAPI(
        title="trimtab",
        version=__version__,
        summary="Rebalancing and trade generation: the queue, requests, approvals and orders.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.engine = engine
    app.state.secure_cookies = secure_cookies
    app.state.proposer = Proposer(engine, enabled=background)
    app.state.evaluator = Evaluator(engine, enabled=background)
    problems.install(app, page_error)
    app.include_router(api_router, prefix="/api/v1")
    app.include_router(page_router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _document_problems(app)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        if response.status_code == 405:  # Starlette names only the first route's methods
            response.headers["Allow"] = ", ".join(_allowed(app, request))
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return app


def _allowed(app: FastAPI, request: Request) -> list[str]:
    """Every method some route of ``app`` answers at the request's path."""
    from starlette.routing import Match, Route

    methods: set[str] = set()
    for route in app.routes:
        if isinstance(route, Route) and route.methods:
            match, _ = route.matches({**request.scope, "method": next(iter(route.methods))})
            if match is Match.FULL:
                methods |= route.methods
    return sorted(methods)


def _document_problems(app: FastAPI) -> None:
    """Put the ``Problem`` schema, which every route's error answers refer to, in the
    OpenAPI document's components."""
    from fastapi.openapi.utils import get_openapi

    from trimtab.web.api.schemas import Problem

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                routes=app.routes,
            )
            found = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(found.pop("$defs", {}))
            schemas["Problem"] = found
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Pick up requests a stopped server left proposing; finish the work on the way out."""
    app.state.proposer.resume()
    yield
    app.state.proposer.shutdown()
    app.state.evaluator.shutdown()
