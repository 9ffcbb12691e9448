"""Fixtures of the API tests: one clean database per test, on SpatiaLite and on PostGIS.

``db_url`` is parametrised like GeoAlchemy2's own suite: SpatiaLite always (a fresh file per
test), PostGIS when ``GOMRAC_TEST_POSTGIS_URL`` is set (``scripts/postgis.sh start`` prints
one); each PostGIS test gets its own schema, dropped afterwards, through the connection's
``search_path``.

The XML helpers read the spec's XML independently of the server's writer:
``xml_matches_json`` reads a document back as the JSON it stands for (the Spark convention of
the Open311 wiki) and compares.
"""

from __future__ import annotations

import re
import struct
import warnings
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.exceptions import StarletteDeprecationWarning

from gomrac.api.main import create_app
from gomrac.geo.db import make_sessionmaker
from gomrac.geo.models import Report
from gomrac.geo.settings import Settings

with warnings.catch_warnings():
    # starlette asks for httpx2 but still works with the httpx this project pins
    warnings.filterwarnings(
        "ignore",
        message="Using `httpx` with `starlette.testclient`",
        category=StarletteDeprecationWarning,
    )
    from fastapi.testclient import TestClient

STAFF_TOKEN = "test-staff-token-0123456789"
XML_CONTENT_TYPE = "text/xml; charset=utf-8"  # GeoReport v2, "Format Support"
XML_DECLARATION = re.compile(
    rb"""<\?xml version=["']1\.0["'] encoding=["']UTF-8["']\?>""", re.IGNORECASE
)
# GeoReport v2 and Service Discovery: list elements and the element of each of their items
XML_LIST_ITEMS = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}


@pytest.fixture
def settings(db_url: str, tmp_path: Path, data_dir: Path) -> Settings:
    """API settings on the test database, with a staff token and a temporary media folder."""
    return Settings(
        database_url=db_url,
        data_dir=data_dir,
        media_dir=tmp_path / "media",
        staff_token=STAFF_TOKEN,
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


@pytest.fixture
def png_image() -> bytes:
    """A real, tiny PNG image (4 x 3 pixels) built by hand: signature, IHDR, IDAT, IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    width, height = 4, 3
    raw = b"".join(b"\x00" + b"\x80\x40\x20" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


@pytest.fixture
def read_xml() -> Any:
    """Function checking an XML answer (status, type, declaration) and returning its root."""

    def read(response: Any, root: str, *, status: int = 200) -> ET.Element:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == XML_CONTENT_TYPE
        assert XML_DECLARATION.match(response.content), response.content[:60]
        element = ET.fromstring(response.content)
        assert element.tag == root
        return element

    return read


def _from_xml(element: ET.Element) -> Any:
    children = list(element)
    item = XML_LIST_ITEMS.get(element.tag)
    if item is not None and children and all(child.tag == item for child in children):
        return [_from_xml(child) for child in children]
    if children:
        tags = [child.tag for child in children]
        assert len(set(tags)) == len(tags), f"<{element.tag}> repeats a child: {tags}"
        return {child.tag: _from_xml(child) for child in children}
    return element.text or ""


def _as_text(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _as_text(item) for key, item in value.items()} or ""
    if isinstance(value, list):
        return [_as_text(item) for item in value] or ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


@pytest.fixture
def xml_matches_json() -> Any:
    """
    Function asserting that an XML element says what a JSON answer says.

    The element is read back by the Spark convention (a list element holds repeated items,
    any other element with children is an object, a leaf is its text); the JSON is compared
    with every scalar as text, null and empty lists or objects as empty elements.
    """

    def compare(element: ET.Element, body: Any) -> None:
        assert _from_xml(element) == _as_text(body)

    return compare
