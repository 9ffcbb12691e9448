"""POST /open311/v2/requests.json: accepted reports are stored, bad ones refused with a reason."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from PIL import Image
from pyproj import Geod
from shapely.geometry import Point

from gomrac.geo import store
from gomrac.geo.db import session_scope
from gomrac.geo.models import Report

LE_CHAN = (20.8378, 106.6854)  # (lat, long), inside Phường Lê Chân
HANOI = (21.0285, 105.8542)  # Hoàn Kiếm, Hà Nội: outside Hai Phong
GEOD = Geod(ellps="WGS84")
WARDS_FILE = "boundaries/haiphong_wards_2025_official_map.geojson"


def offset(lat: float, lon: float, *, north_m: float) -> tuple[float, float]:
    """The point `north_m` metres due north of (lat, lon) on the WGS 84 ellipsoid."""
    lon2, lat2, _ = GEOD.fwd(lon, lat, 0.0, north_m)
    return lat2, lon2


def test_post__stored_with_ward_and_agency(client: Any, count_reports: Any, data_dir: Path) -> None:
    """An accepted report is in the database, in the ward whose polygon contains its point."""
    response = client.post(
        "/open311/v2/requests.json",
        data={
            "service_code": "overflowing_point",
            "lat": str(LE_CHAN[0]),
            "long": str(LE_CHAN[1]),
            "attribute[size]": "truckload",
        },
    )
    assert response.status_code == 200
    rid = int(response.json()[0]["service_request_id"])
    assert count_reports() == 1
    wards = gpd.read_file(data_dir / WARDS_FILE)
    expected = wards[wards.geometry.covers(Point(LE_CHAN[1], LE_CHAN[0]))]
    assert len(expected) == 1
    with session_scope(client.app.state.engine) as session:
        report = session.get(Report, rid)
        assert report is not None
        assert report.ward_code == expected["code"].iloc[0]
        assert report.agency_responsible == f"UBND {expected['full_name_modern_tone'].iloc[0]}"
        assert report.attributes == {"size": "truckload"}
        assert report.workflow_status == "received" and report.status == "open"


def test_post__photo_stored_on_disk(client: Any, api_settings: Any, png_image: bytes) -> None:
    """A multipart report with a PNG keeps its pixels (re-encoded without metadata) under
    MEDIA_DIR, with its URL as media_url."""
    image = png_image
    response = client.post(
        "/open311/v2/requests.json",
        data={"service_code": "household_waste", "lat": str(LE_CHAN[0]), "long": str(LE_CHAN[1])},
        files={"media": ("rac.png", io.BytesIO(image), "image/png")},
    )
    assert response.status_code == 200, response.text
    rid = int(response.json()[0]["service_request_id"])
    with session_scope(client.app.state.engine) as session:
        report = session.get(Report, rid)
        assert report is not None and report.photo_path is not None
        relative = report.photo_path
        stored = api_settings.media_path / relative
    assert stored.suffix == ".png"
    with Image.open(stored) as kept, Image.open(io.BytesIO(image)) as sent:
        assert kept.format == "PNG"
        assert kept.size == sent.size == (4, 3)
        assert kept.convert("RGB").tobytes() == sent.convert("RGB").tobytes()
    single = client.get(f"/open311/v2/requests/{rid}.json").json()[0]
    assert single["extended_attributes"]["has_photo"] is True
    assert single["media_url"] == f"http://testserver/open311/v2/media/{relative}"


BAD_INPUTS = [
    pytest.param(
        {"service_code": "household_waste", "lat": str(HANOI[0]), "long": str(HANOI[1])},
        None,
        "outside Hai Phong",
        id="outside-hai-phong",
    ),
    pytest.param(
        {"service_code": "household_waste", "lat": "20.8x", "long": "106.68"},
        None,
        "lat '20.8x' is not a number",
        id="malformed-lat",
    ),
    pytest.param(
        {"service_code": "household_waste", "lat": "nan", "long": "106.68"},
        None,
        "lat must be a finite number",
        id="nan-lat",
    ),
    pytest.param(
        {"service_code": "household_waste", "lat": "95", "long": "106.68"},
        None,
        "lat 95.0 is out of range",
        id="lat-out-of-range",
    ),
    pytest.param(
        {"service_code": "household_waste", "lat": "20.8378"},
        None,
        "lat and long must be sent together",
        id="lat-without-long",
    ),
    pytest.param(
        {"service_code": "household_waste"},
        None,
        "a location is required",
        id="no-location",
    ),
    pytest.param(
        {"service_code": "household_waste", "address_string": "12 Tô Hiệu, Lê Chân"},
        None,
        "an address without coordinates cannot be placed",
        id="address-only",
    ),
    pytest.param(
        {"service_code": "spontaneous_dump", "lat": str(LE_CHAN[0]), "long": str(LE_CHAN[1])},
        None,
        "attribute[size] is required",
        id="missing-required-attribute",
    ),
    pytest.param(
        {
            "service_code": "household_waste",
            "lat": str(LE_CHAN[0]),
            "long": str(LE_CHAN[1]),
            "attribute[size]": "mountain",
        },
        None,
        "attribute[size] 'mountain' is not one of",
        id="bad-attribute-value",
    ),
    pytest.param(
        {
            "service_code": "household_waste",
            "lat": str(LE_CHAN[0]),
            "long": str(LE_CHAN[1]),
            "description": "x" * 4001,
        },
        None,
        "description is 4001 characters long",
        id="description-too-long",
    ),
    pytest.param(
        {"service_code": "household_waste", "lat": str(LE_CHAN[0]), "long": str(LE_CHAN[1])},
        ("big.jpg", b"\xff\xd8\xff\xe0" + bytes(5 * 1024 * 1024), "image/jpeg"),
        "the photo is larger than 5 MiB",
        id="oversized-photo",
    ),
    pytest.param(
        {"service_code": "household_waste", "lat": str(LE_CHAN[0]), "long": str(LE_CHAN[1])},
        ("fake.jpg", b"this is plain text, not a JPEG image\n" * 10, "image/jpeg"),
        "the photo is not a JPEG, PNG, WebP image",
        id="text-pretending-to-be-jpeg",
    ),
]


def error_of(response: Any, fmt: str, read_xml: Any, *, status: int) -> tuple[int, str]:
    """Code and description of a one-error answer, in JSON or the spec's XML."""
    if fmt == "xml":
        errors = read_xml(response, "errors", status=status)
        assert [e.tag for e in errors] == ["error"]
        return int(errors.findtext("error/code", "")), errors.findtext("error/description", "")
    assert response.status_code == status, response.text
    body = response.json()
    assert len(body) == 1
    return body[0]["code"], body[0]["description"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(("data", "photo", "message"), BAD_INPUTS)
def test_post__bad_input_refused_and_nothing_stored(
    client: Any,
    count_reports: Any,
    api_settings: Any,
    read_xml: Any,
    data: dict[str, str],
    photo: Any,
    message: str,
    fmt: str,
) -> None:
    """A bad report answers 400 with a message that says why, and leaves no row or file."""
    before = count_reports()
    files = {"media": (photo[0], io.BytesIO(photo[1]), photo[2])} if photo else None
    response = client.post(f"/open311/v2/requests.{fmt}", data=data, files=files)
    code, description = error_of(response, fmt, read_xml, status=400)
    assert code == 400
    assert message in description
    assert count_reports() == before
    media = api_settings.media_path
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post__unknown_service_code_is_404(
    client: Any, count_reports: Any, api_settings: Any, read_xml: Any, png_image: bytes, fmt: str
) -> None:
    """An unknown service_code is 'not found' (404, as the spec lists it), with no row or file."""
    response = client.post(
        f"/open311/v2/requests.{fmt}",
        data={"service_code": "pothole", "lat": str(LE_CHAN[0]), "long": str(LE_CHAN[1])},
        files={"media": ("rac.png", io.BytesIO(png_image), "image/png")},
    )
    code, description = error_of(response, fmt, read_xml, status=404)
    assert code == 404
    assert description.startswith("service_code 'pothole' not found; valid codes are [")
    assert count_reports() == 0
    media = api_settings.media_path
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_post__huge_body_is_413(client: Any, count_reports: Any) -> None:
    """A body over MAX_BODY_BYTES is refused with 413 and a message, and nothing is stored."""
    before = count_reports()
    huge = b"\xff\xd8\xff\xe0" + bytes(9 * 1024 * 1024)
    response = client.post(
        "/open311/v2/requests.json",
        data={"service_code": "household_waste", "lat": str(LE_CHAN[0]), "long": str(LE_CHAN[1])},
        files={"media": ("huge.jpg", io.BytesIO(huge), "image/jpeg")},
    )
    assert response.status_code == 413
    assert "larger than the 8 MiB limit" in response.json()[0]["description"]
    assert count_reports() == before


def test_post__json_body_refused(client: Any, count_reports: Any) -> None:
    """The spec's POST is form-encoded: a JSON body is refused with 400 and stores nothing."""
    response = client.post(
        "/open311/v2/requests.json",
        json={"service_code": "household_waste", "lat": LE_CHAN[0], "long": LE_CHAN[1]},
    )
    assert response.status_code == 400
    assert "x-www-form-urlencoded" in response.json()[0]["description"]
    assert count_reports() == 0


def _wire(client: Any, rid: str) -> dict[str, Any]:
    return client.get(f"/open311/v2/requests/{rid}.json").json()[0]


def test_duplicates__20_m_apart_is_merged(
    client: Any, post_report: Any, count_reports: Any
) -> None:
    """A report 20 m from an open one of the same service is stored, closed and linked to it."""
    first = post_report(*LE_CHAN).json()[0]["service_request_id"]
    lat, lon = offset(*LE_CHAN, north_m=20.0)
    second = post_report(lat, lon).json()[0]["service_request_id"]
    assert count_reports() == 2
    wire = _wire(client, second)
    assert wire["status"] == "closed"
    assert wire["extended_attributes"]["workflow_status"] == "duplicate"
    assert wire["extended_attributes"]["duplicate_of"] == first
    assert wire["status_notes"].startswith("duplicate:")
    assert _wire(client, first)["status"] == "open"


@pytest.mark.parametrize(
    ("north_m", "service_code", "merged"),
    [
        (45.0, "household_waste", True),
        (55.0, "household_waste", False),
        (200.0, "household_waste", False),
        (20.0, "burning", False),
    ],
)
def test_duplicates__distance_and_service(
    client: Any, post_report: Any, north_m: float, service_code: str, merged: bool
) -> None:
    """Merging needs the same service within 50 m: 45 m merges, 55 m and 200 m do not."""
    first = post_report(*LE_CHAN).json()[0]["service_request_id"]
    lat, lon = offset(*LE_CHAN, north_m=north_m)
    second = post_report(lat, lon, service_code=service_code).json()[0]["service_request_id"]
    ext = _wire(client, second)["extended_attributes"]
    assert (ext["duplicate_of"] == first) is merged
    assert ext["workflow_status"] == ("duplicate" if merged else "received")


@pytest.mark.parametrize(
    ("age", "merged"), [(dt.timedelta(minutes=30), True), (dt.timedelta(days=5), False)]
)
def test_duplicates__time_window(
    client: Any, post_report: Any, age: dt.timedelta, merged: bool
) -> None:
    """An open report 30 min old at the same place absorbs a new one; one 5 days old does not."""
    with session_scope(client.app.state.engine) as session:
        old = store.create_report(
            session,
            service_code="household_waste",
            point=Point(LE_CHAN[1], LE_CHAN[0]),
            requested_datetime=dt.datetime.now(dt.UTC) - age,
        )
        old_id = str(old.id)
    lat, lon = offset(*LE_CHAN, north_m=20.0)
    new = post_report(lat, lon).json()[0]["service_request_id"]
    assert (_wire(client, new)["extended_attributes"]["duplicate_of"] == old_id) is merged


def test_duplicates__closed_report_does_not_absorb(
    client: Any, post_report: Any, staff_headers: dict[str, str]
) -> None:
    """Once the first report is cleaned (closed), a new one at the same place stays open."""
    first = post_report(*LE_CHAN).json()[0]["service_request_id"]
    change = {"workflow_status": "cleaned", "note": "đã dọn"}
    assert client.patch(f"/api/reports/{first}", json=change, headers=staff_headers).is_success
    second = post_report(*LE_CHAN).json()[0]["service_request_id"]
    assert _wire(client, second)["status"] == "open"


def test_post__chunked_huge_body_is_413(client: Any, count_reports: Any) -> None:
    """A body streamed without Content-Length is counted and refused with 413 past the limit."""

    def chunks() -> Iterator[bytes]:
        yield b"service_code=household_waste&lat=20.8378&long=106.6854&description="
        for _ in range(9):
            yield b"x" * (1024 * 1024)

    response = client.post(
        "/open311/v2/requests.json",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413
    assert response.json()[0]["code"] == 413
    assert count_reports() == 0


def test_post__wrong_jurisdiction_is_404(post_report: Any, count_reports: Any) -> None:
    """A jurisdiction_id other than this server's is 'not found' (spec) and stores nothing."""
    response = post_report(*LE_CHAN, jurisdiction_id="hanoi.gov.vn")
    assert response.status_code == 404
    assert "jurisdiction_id 'hanoi.gov.vn' not found" in response.json()[0]["description"]
    assert count_reports() == 0


def test_post__without_boundary_data_is_503(api_settings: Any, tmp_path: Path) -> None:
    """Without the boundary files the server says it cannot place reports (503), not 500."""
    from fastapi.testclient import TestClient  # imported quietly by conftest

    from gomrac.api.main import create_app

    empty = tmp_path / "no-data"
    empty.mkdir()
    app = create_app(api_settings.model_copy(update={"data_dir": empty}))
    with TestClient(app) as client:
        response = client.post(
            "/open311/v2/requests.json",
            data={"service_code": "burning", "lat": str(LE_CHAN[0]), "long": str(LE_CHAN[1])},
        )
        assert response.status_code == 503
        assert "GOMRAC_DATA_DIR" in response.json()[0]["description"]
        assert str(empty) not in response.json()[0]["description"]  # no server path leaks
        assert client.get("/open311/v2/services.json").status_code == 200
