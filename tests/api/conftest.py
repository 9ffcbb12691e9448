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

import os
import re
import socket
import struct
import subprocess
import sys
import time
import warnings
import xml.etree.ElementTree as ET
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
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
def api_settings(db_url: str, tmp_path: Path, data_dir: Path) -> Settings:
    """API settings on the test database with a temporary media folder; reports are published
    at once and posting is not rate-limited (tests of those settings set their own)."""
    return Settings(
        database_url=db_url,
        data_dir=data_dir,
        media_dir=tmp_path / "media",
        publish_reports="immediately",
        post_limit=0,
        post_limit_per_device=0,
    )


@pytest.fixture
def client(api_settings: Settings) -> Iterator[TestClient]:
    """A started app (schema migrated) and a client for it."""
    app = create_app(api_settings)
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


LE_CHAN_WARD = "11383"  # Phường Lê Chân (official 2025 code)
BACH_LONG_VI_WARD = "11948"  # Đặc khu Bạch Long Vĩ
PASSWORD = "correct horse battery staple"


@pytest.fixture
def sign_in(client: TestClient) -> Any:
    """Function creating an account (role, wards) and answering its Authorization header."""
    from gomrac.api.web.accounts import create_account

    engine = client.app.state.engine  # type: ignore[attr-defined]

    def make(username: str, role: str, wards: list[str]) -> dict[str, str]:
        with make_sessionmaker(engine)() as session:
            create_account(
                session, username=username, password=PASSWORD, role=role, ward_codes=wards
            )
            session.commit()
        response = client.post("/api/auth/token", data={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    return make


@pytest.fixture
def staff_headers(sign_in: Any) -> dict[str, str]:
    """Authorization header of a Lê Chân ward-office account."""
    return sign_in("lan.nguyen", "ward_office", [LE_CHAN_WARD])


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


REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_START_TIMEOUT_S = 60.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A uvicorn process serving the app on 127.0.0.1."""

    base: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path


@pytest.fixture
def start_server(db_url: str, tmp_path: Path, data_dir: Path) -> Iterator[Any]:
    """
    Function starting uvicorn on the test database (``GOMRAC_*`` overrides as keywords);
    every server it started is stopped (or killed) afterwards.
    """
    started: list[Server] = []

    def start(**env_overrides: str) -> Server:
        port = _free_port()
        env = {
            **os.environ,
            "GOMRAC_DATABASE_URL": db_url,
            "GOMRAC_DATA_DIR": str(data_dir),
            "GOMRAC_MEDIA_DIR": str(tmp_path / "media"),
            "GOMRAC_PUBLISH_REPORTS": "immediately",
            "GOMRAC_POST_LIMIT": "0",
            "GOMRAC_POST_LIMIT_PER_DEVICE": "0",
            **{f"GOMRAC_{k.upper()}": v for k, v in env_overrides.items()},
        }
        log_path = tmp_path / f"uvicorn-{port}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(  # our own interpreter and module
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    "gomrac.api.main:create_app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--log-level",
                    "warning",
                    "--no-access-log",
                ],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        server = Server(base=f"http://127.0.0.1:{port}", port=port, proc=proc, log_path=log_path)
        started.append(server)
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"uvicorn exited early:\n{log_path.read_text(errors='replace')}")
            try:
                if httpx.get(f"{server.base}/health", timeout=2).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"uvicorn did not start:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.1)

    yield start
    for server in started:
        if server.proc.poll() is None:
            server.proc.terminate()
            try:
                server.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait(timeout=15)
