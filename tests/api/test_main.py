"""The app factory: health, extra routers, and domain errors mapped to 4xx (never 500)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import APIRouter

from gomrac.analysis.errors import (
    CRSError,
    DataNotFoundError,
    InfeasibleError,
    UnknownWardError,
    ValidationError,
)
from gomrac.api.main import create_app

ERRORS: dict[str, Exception] = {
    "validation": ValidationError("row 3: status 'x' is not one of ('existing',)"),
    "crs": CRSError("`points` must be in a projected CRS in metres"),
    "ward": UnknownWardError("no ward named 'Lê Chăn'; did you mean 'Lê Chân'?"),
    "missing": DataNotFoundError("plan 12 not found"),
    "infeasible": InfeasibleError("4 trucks of 5,000 kg cannot carry 31,000 kg"),
    "bug": ZeroDivisionError("division by zero"),
}


def _raising_router() -> APIRouter:
    router = APIRouter(prefix="/api/test")

    @router.get("/{name}")
    def boom(name: str) -> None:
        raise ERRORS[name]

    return router


@pytest.fixture
def app_client(api_settings: Any) -> Any:
    """A client on an app with an extra router that raises each domain error."""
    from fastapi.testclient import TestClient  # imported quietly by conftest

    app = create_app(api_settings, routers=[_raising_router()])
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_health(app_client: Any, db_url: str) -> None:
    """/health answers ok and names the backend."""
    body = app_client.get("/health").json()
    assert body["status"] == "ok"
    assert body["database"] == ("sqlite" if db_url.startswith("sqlite") else "postgresql")


@pytest.mark.parametrize(
    ("name", "status"),
    [("validation", 400), ("crs", 422), ("ward", 404), ("missing", 404), ("infeasible", 422)],
)
def test_domain_errors__status_and_detail(app_client: Any, name: str, status: int) -> None:
    """Each GomracError maps to its 4xx with the message as detail."""
    response = app_client.get(f"/api/test/{name}")
    assert response.status_code == status
    assert response.json() == {"detail": str(ERRORS[name])}


def test_unexpected_error__500_without_internals(app_client: Any) -> None:
    """A genuine bug is a 500 whose body does not leak the exception."""
    response = app_client.get("/api/test/bug")
    assert response.status_code == 500
    assert "division" not in response.text


def test_not_found__format_depends_on_api(app_client: Any) -> None:
    """Unknown paths answer 404: an Open311 error list under /open311, {detail} elsewhere."""
    assert app_client.get("/api/nothing").json() == {"detail": "Not Found"}
    assert app_client.get("/open311/v2/nothing").json() == [
        {"code": 404, "description": "Not Found"}
    ]
