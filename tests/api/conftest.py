"""Fixtures of the API tests: one clean database per test, on SpatiaLite and on PostGIS.

``db_url`` is parametrised like GeoAlchemy2's own suite: SpatiaLite always (a fresh file per
test), PostGIS when ``GOMRAC_TEST_POSTGIS_URL`` is set (``scripts/postgis.sh start`` prints
one); each PostGIS test gets its own schema, dropped afterwards, through the connection's
``search_path``.
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
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

POSTGIS_ENV = "GOMRAC_TEST_POSTGIS_URL"
STAFF_TOKEN = "test-staff-token-0123456789"

def postgis_schema_url(base_url: str, schema: str) -> str:
    """`base_url` with a search_path that puts `schema` first (PostGIS stays reachable)."""
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema},public"})
    return url.render_as_string(hide_password=False)


@pytest.fixture(
    params=["sqlite", pytest.param("postgis", marks=pytest.mark.postgis)],
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty database (not yet migrated) on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gomrac.sqlite'}"
        return
    base = os.environ.get(POSTGIS_ENV)
    if not base:
        pytest.skip(f"{POSTGIS_ENV} is not set (start one with scripts/postgis.sh start)")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield postgis_schema_url(base, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


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
