"""Fixtures of the API tests: one clean database per test, on SpatiaLite and on PostGIS.

``db_url`` is parametrised like GeoAlchemy2's own suite: SpatiaLite always (a fresh file per
test), PostGIS when ``GOMRAC_TEST_POSTGIS_URL`` is set (``scripts/postgis.sh start`` prints
one); each PostGIS test gets its own schema, dropped afterwards, through the connection's
``search_path``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.exceptions import StarletteDeprecationWarning

from api.config import Settings
from api.main import create_app
from geo.db import make_sessionmaker
from geo.models import Report

with warnings.catch_warnings():
    # starlette asks for httpx2 but still works with the httpx this project pins
    warnings.filterwarnings(
        "ignore",
        message="Using `httpx` with `starlette.testclient`",
        category=StarletteDeprecationWarning,
    )
    from fastapi.testclient import TestClient

STAFF_TOKEN = "test-staff-token-0123456789"


@pytest.fixture
def settings(db_url: str, tmp_path: Path, data_dir: Path) -> Settings:
    """API settings on the test database, with a staff token and a temporary media folder."""
    return Settings(
        DATABASE_URL=db_url,
        DATA_DIR=data_dir,
        MEDIA_DIR=tmp_path / "media",
        STAFF_TOKEN=STAFF_TOKEN,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """A started app (schema migrated) and a client for it."""
    app = create_app(settings)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def count_reports(client: TestClient) -> Any:
    """Function returning the number of report rows in the app's database."""
    engine = client.app.state.engine  # type: ignore[attr-defined]

    def count() -> int:
        with make_sessionmaker(engine)() as session:
            return int(session.scalar(select(func.count()).select_from(Report)) or 0)

    return count


@pytest.fixture
def staff_headers() -> dict[str, str]:
    """Authorization header with the staff token."""
    return {"Authorization": f"Bearer {STAFF_TOKEN}"}


@pytest.fixture
def post_report(client: TestClient) -> Any:
    """Function posting a form-encoded report (household_waste by default)."""

    def post(lat: float | str, long: float | str, **fields: Any) -> Any:
        data = {"service_code": "household_waste", "lat": str(lat), "long": str(long)}
        data.update({k: str(v) for k, v in fields.items()})
        return client.post("/open311/v2/requests.json", data=data)

    return post
