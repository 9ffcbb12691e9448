"""Exception handlers: domain errors become 4xx responses whose message tells the fix.

=====================  ======  =========================================================
error                  status  when
=====================  ======  =========================================================
ValidationError        400     malformed input (a row, a form field, a query parameter)
CRSError               422     a layer in the wrong or no coordinate reference system
UnknownWardError       404     a ward code or name that matches no unit
DataNotFoundError      404     a report, plan or data file that does not exist
InfeasibleError        422     an optimisation model with no feasible solution
other GomracError      400
RequestValidationError 422     FastAPI's own parameter checks (400 under /open311/, where
                              a format other than json or xml names both)
anything else          500     logged with its traceback; the body gives no internals
=====================  ======  =========================================================

Under ``/open311/`` the body is the GeoReport v2 error list
``[{"code": 400, "description": "..."}]`` (as ``<errors><error>…`` when the path asks for
``.xml``, whichever step refused the request); elsewhere it is ``{"detail": "..."}``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException
from starlette.routing import Match

from gomrac.analysis.errors import (
    CRSError,
    DataNotFoundError,
    GomracError,
    InfeasibleError,
    UnknownWardError,
    ValidationError,
)
from gomrac.api.web.formats import UNSUPPORTED_FORMAT, XML_MEDIA_TYPE, to_xml

if TYPE_CHECKING:
    from collections.abc import Mapping

    from fastapi import FastAPI, Request

log = logging.getLogger(__name__)

OPEN311_PREFIX: Final = "/open311/"

STATUS_BY_ERROR: Final[tuple[tuple[type[GomracError], int], ...]] = (
    (UnknownWardError, 404),
    (DataNotFoundError, 404),
    (CRSError, 422),
    (InfeasibleError, 422),
    (ValidationError, 400),
    (GomracError, 400),
)


def is_open311(path: str) -> bool:
    """Whether a request path belongs to the Open311 API (errors in its list format)."""
    return path.startswith(OPEN311_PREFIX)


def error_body(path: str, status_code: int, message: str) -> Any:
    """Error body in the format of the API the path belongs to."""
    if is_open311(path):
        return [{"code": status_code, "description": message}]
    return {"detail": message}


def error_response_for(
    path: str, status_code: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """Build the error response for a request path.

    Under ``/open311/`` it is the spec's error list (XML when the path asks for ``.xml``);
    elsewhere ``{"detail": ...}``.
    """
    body = error_body(path, status_code, message)
    if is_open311(path) and path.endswith(".xml"):
        return Response(
            to_xml("errors", body),
            status_code=status_code,
            media_type=XML_MEDIA_TYPE,
            headers=headers,
        )
    return JSONResponse(status_code=status_code, content=body, headers=headers)


def error_response(
    request: Request, status_code: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """Error response for `request` (see `error_response_for`)."""
    return error_response_for(request.url.path, status_code, message, headers)


def status_for(exc: GomracError) -> int:
    """HTTP status of a domain error (see the module table)."""
    for cls, status_code in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status_code
    return 400


async def _gomrac_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GomracError)
    status_code = status_for(exc)
    log.info("%s %s -> %d: %s", request.method, request.url.path, status_code, exc)
    return error_response(request, status_code, str(exc))


def _allowed_methods(request: Request) -> str:
    """Methods of every route whose path matches the request (the router names only one's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    return error_response(request, exc.status_code, message, headers=headers or None)


def _describe_validation(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
        parts.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def _bad_format(exc: RequestValidationError) -> str | None:
    for err in exc.errors():
        if tuple(err.get("loc", ())) == ("path", "fmt"):
            return UNSUPPORTED_FORMAT.format(fmt=err.get("input"))
    return None


async def _request_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if is_open311(request.url.path):
        message = _bad_format(exc) or _describe_validation(exc)
        return error_response(request, 400, message)
    return JSONResponse(status_code=422, content={"detail": _describe_validation(exc)})


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, 500, "internal server error; the incident has been logged")


def install_exception_handlers(app: FastAPI) -> None:
    """Register the handlers of this module on `app`."""
    app.add_exception_handler(GomracError, _gomrac_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
