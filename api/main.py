"""The FastAPI application factory.

Run it with uvicorn's factory mode::

    GOMRAC_DATABASE_URL=sqlite:///data/gomrac.sqlite uvicorn --factory api.main:create_app

Each app owns its engine (from `Settings.database_url`) and migrates the schema to the latest
Alembic revision at startup. Routers of other resources are added with ``app.include_router``
on the app this returns (or in `create_app` next to the Open311 ones); their endpoints reach
the engine and settings through ``request.app.state.engine`` / ``request.app.state.settings``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Final

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from gomrac.analysis.errors import DataNotFoundError
from gomrac.api import open311
from gomrac.api.errors import error_response_for, install_exception_handlers
from gomrac.geo.db import init_db, make_engine
from gomrac.geo.settings import Settings

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


def create_app(settings: Settings | None = None, *, routers: Sequence[APIRouter] = ()) -> FastAPI:
    """
    Build the API: engine, startup migration, error handlers, body-size guard, routers.

    Parameters
    ----------
    settings
        API settings; read from the ``GOMRAC_*`` environment when omitted.
    routers
        More routers to include after the Open311 and staff ones.

    Returns
    -------
    FastAPI
        With ``state.settings`` and ``state.engine`` set; the schema is migrated when the
        app starts (uvicorn, or ``with TestClient(app)``).
    """
    settings = settings if settings is not None else Settings()
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(init_db, engine)
        try:
            await run_in_threadpool(open311.load_boundaries, settings.data_dir)
        except DataNotFoundError as exc:  # the API still serves reads; POST will say why
            log.warning("Open311 intake cannot check locations: %s", exc)
        yield
        engine.dispose()

    app = FastAPI(
        title="gomrac",
        version=API_VERSION,
        summary="Household-waste planning and citizen reports for Hai Phong's wards",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    install_exception_handlers(app)
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.include_router(open311.router)
    app.include_router(open311.staff_router)
    for router in routers:
        app.include_router(router)

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
