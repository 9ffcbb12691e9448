"""The FastAPI application factory.

Run it with uvicorn's factory mode::

    GOMRAC_DATABASE_URL=sqlite:///data/gomrac.sqlite uvicorn --factory gomrac.api.main:create_app

Each app owns its engine (from `Settings.database_url`) and migrates the schema to the latest
Alembic revision at startup. The routers live in `gomrac.api.web` (one per resource: Open311,
sign-in, staff); routers of other resources are added with ``create_app(routers=...)``; their
endpoints reach the settings, a session and the signed-in account through the dependencies of
`gomrac.api.web.deps`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final

from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from gomrac.analysis.errors import ConfigError, DataNotFoundError
from gomrac.api.errors import error_response_for, install_exception_handlers
from gomrac.api.web import auth, layers, open311, pages, plans, staff
from gomrac.geo.db import init_db, make_engine
from gomrac.geo.lookup import ward_index
from gomrac.geo.settings import Settings, settings_from_env

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

API_VERSION: Final = "0.1.0"


class _BodyTooLargeError(Exception):
    """Raised inside the app when a streamed body passes the limit."""


class BodySizeLimitMiddleware:
    """
    Refuse request bodies larger than `max_bytes` with 413 before the app buffers them.

    A declared ``Content-Length`` above the limit is refused at once; a chunked body is
    counted while it streams and refused when it passes the limit (if the app has not
    answered yet).
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, scope: Scope, send: Send) -> None:
        mib = self.max_bytes / (1024 * 1024)
        message = (
            f"request body is larger than the {mib:g} MiB limit (GOMRAC_MAX_BODY_BYTES); "
            "send a smaller photo"
        )
        response = error_response_for(scope["path"], 413, message)
        await response(scope, _empty_receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the declared length, then count the streamed body."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._reject(scope, send)
                    return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLargeError:
            if started:
                raise
            await self._reject(scope, send)


async def _empty_receive() -> Message:
    return {"type": "http.disconnect"}


def _document_open311_errors(app: FastAPI) -> None:
    """Drop FastAPI's default 422 from the Open311 operations.

    They answer 400 with the spec's error list (documented on each operation), never 422.
    """
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = original()
            for path, item in schema.get("paths", {}).items():
                if path.startswith("/open311/"):
                    for operation in item.values():
                        operation.get("responses", {}).pop("422", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented override


def create_app(settings: Settings | None = None, *, routers: Sequence[APIRouter] = ()) -> FastAPI:
    """
    Build the API: engine, startup migration, error handlers, body-size guard, routers.

    Parameters
    ----------
    settings
        API settings; read from the ``GOMRAC_*`` environment when omitted.
    routers
        More routers to include after the Open311, sign-in and staff ones.

    Returns
    -------
    FastAPI
        With ``state.settings`` and ``state.engine`` set; the schema is migrated when the
        app starts (uvicorn, or ``with TestClient(app)``).
    """
    settings = settings if settings is not None else settings_from_env()
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(init_db, engine)
        _app.state.plan_queue.start()  # SpatiaLite: the thread that runs plan jobs
        try:
            await run_in_threadpool(ward_index, settings=settings)
        except DataNotFoundError as exc:  # the API still serves reads; POST will say why
            log.warning("Open311 intake cannot check locations: %s", exc)
        yield
        await run_in_threadpool(_app.state.plan_queue.close)
        engine.dispose()

    app = FastAPI(
        title="gomrac",
        version=API_VERSION,
        summary="Household-waste planning and citizen reports for Hai Phong's wards",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.plan_queue = plans.make_queue(engine, settings)
    try:
        open311.install_post_limits(app.state, settings)
    except ValueError as exc:
        msg = f"GOMRAC_BLOCKED_CLIENTS: {exc}; give addresses or networks such as 10.0.0.0/8"
        raise ConfigError(msg) from None
    install_exception_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "PATCH"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key"],
            expose_headers=["X-Total-Count", "ETag", "Last-Modified", "Retry-After"],
            max_age=3600,
        )
    app.include_router(open311.router)
    app.include_router(auth.router)
    app.include_router(staff.router)
    app.include_router(layers.router)
    app.include_router(pages.router)
    app.include_router(plans.router)
    # the pages' own JavaScript and CSS, Leaflet included: nothing is loaded from another host
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    for router in routers:
        app.include_router(router)

    _document_open311_errors(app)

    @app.get("/health", tags=["health"])
    def health(request: Request) -> JSONResponse:
        """Liveness and database check (503 when the database does not answer)."""
        try:
            with request.app.state.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                backend = conn.dialect.name
        except SQLAlchemyError as exc:
            log.warning("health: database unreachable: %s", exc)
            return JSONResponse(
                status_code=503, content={"status": "unavailable", "detail": "database unreachable"}
            )
        return JSONResponse(content={"status": "ok", "database": backend, "version": API_VERSION})

    return app
