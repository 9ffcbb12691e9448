"""No 5xx from any input, paging with a small default page, and conditional GET of the list."""

from __future__ import annotations

from typing import Any

import pytest
from shapely.geometry import Point

from gomrac.geo import store
from gomrac.geo.db import session_scope

LE_CHAN = (20.8378, 106.6854)
FORM = {"service_code": "burning", "lat": str(LE_CHAN[0]), "long": str(LE_CHAN[1])}

BAD_QUERIES = [
    ("service_request_id=%C2%B2", "service_request_id must be a comma-separated list"),
    ("service_request_id=2147483648", "service_request_id must be a comma-separated list"),
    ("service_request_id=1,99999999999999999999", "service_request_id must be a comma-separated"),
    ("page=1000000000000", "page: Input should be less than or equal to 10000"),
    ("page=%C2%B2", "page: Input should be a valid integer"),
    ("page_size=100000000000000000000000", "page_size must be between 1 and 1000"),
    ("start_date=9999-12-31", "start_date '9999-12-31' is out of range"),
    ("end_date=1900-01-01", "end_date '1900-01-01' is out of range"),
    ("end_date=0001-01-01", "end_date '0001-01-01' is not a W3C date-time"),
    ("start_date=2026-01-01T00:00:00%2B99:00", "is not a W3C date-time"),
    ("start_date=2026-01-01%00", "start_date contains the control character U+0000"),
    ("service_code=burning%00", "unknown service_code ['burning\\x00']"),
    ("status=open%00", "status ['open\\x00'] is not open or closed"),
]


@pytest.mark.parametrize(("query", "message"), BAD_QUERIES)
def test_list__bad_query_is_400(client: Any, query: str, message: str) -> None:
    """Odd ids, huge pages, out-of-range dates and NUL characters in the list's query answer
    400 with the Open311 error list, never 5xx."""
    client.post("/open311/v2/requests.json", data=FORM)
    response = client.get(f"/open311/v2/requests.json?{query}")
    assert response.status_code == 400, response.text
    body = response.json()
    assert len(body) == 1
    assert body[0]["code"] == 400
    assert message in body[0]["description"]


@pytest.mark.parametrize("rid", ["%C2%B2", "2147483648", "99999999999999999999999", "0", "-1"])
def test_single__impossible_ids_are_404(client: Any, rid: str) -> None:
    """An id no report can have (non-ASCII digits, beyond the 32-bit column) is 'not found'."""
    response = client.get(f"/open311/v2/requests/{rid}.json")
    assert response.status_code == 404
    assert response.json()[0]["description"].endswith("not found")


@pytest.mark.parametrize(
    "field", ["description", "address_string", "first_name", "email", "device_id", "zipcode"]
)
def test_post__nul_in_any_text_field_is_400(client: Any, count_reports: Any, field: str) -> None:
    """A NUL character in any text field is a 400 naming the field; nothing is stored."""
    response = client.post("/open311/v2/requests.json", data={**FORM, field: "a\x00b"})
    assert response.status_code == 400
    assert response.json()[0]["description"].startswith(
        f"{field} contains the control character U+0000"
    )
    assert count_reports() == 0


def _store(client: Any, n: int) -> None:
    with session_scope(client.app.state.engine) as session:
        for i in range(n):
            store.create_report(
                session,
                service_code="burning",
                point=Point(106.6854 + i * 0.0001, 20.8378),
                merge_duplicates=False,
            )


def test_list__default_page_is_50(client: Any) -> None:
    """Without page_size the list answers 50 reports; page 2 has the rest; the total is in
    X-Total-Count."""
    _store(client, 53)
    first = client.get("/open311/v2/requests.json")
    assert first.status_code == 200
    assert len(first.json()) == 50
    assert first.headers["x-total-count"] == "53"
    second = client.get("/open311/v2/requests.json?page=2").json()
    assert len(second) == 3
    ids = {r["service_request_id"] for r in first.json()} | {
        r["service_request_id"] for r in second
    }
    assert len(ids) == 53
    assert client.get("/open311/v2/requests.json?page=3").json() == []


def test_list__conditional_get(client: Any) -> None:
    """The list carries an ETag and Last-Modified; a client with the current copy gets 304
    without a body, and a new report changes the ETag."""
    _store(client, 2)
    first = client.get("/open311/v2/requests.json")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith('"') and modified.endswith("GMT")
    assert first.headers["cache-control"] == "public, max-age=10"
    again = client.get("/open311/v2/requests.json", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    since = client.get("/open311/v2/requests.json", headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    xml = client.get("/open311/v2/requests.xml", headers={"If-None-Match": etag})
    assert xml.status_code == 200  # another format, another ETag
    _store(client, 1)
    changed = client.get("/open311/v2/requests.json", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert len(changed.json()) == 3


def test_post__random_points_in_every_ward_accepted(client: Any, data_dir: Any) -> None:
    """A random point inside each of the 114 official ward polygons is accepted and stored
    with that ward's code and agency (the city outline used to refuse 2.2% of such points)."""
    import geopandas as gpd
    import numpy as np
    import shapely
    from geoalchemy2.shape import to_shape

    from gomrac.geo.models import Report

    wards = gpd.read_file(data_dir / "boundaries" / "haiphong_wards_2025_official_map.geojson")
    assert len(wards) == 114
    rng = np.random.default_rng(13)
    expected: dict[str, tuple[str, str]] = {}
    for code, name, geom in zip(
        wards["code"], wards["full_name_modern_tone"], wards.geometry, strict=True
    ):
        minx, miny, maxx, maxy = geom.bounds
        while True:
            x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
            if shapely.contains_xy(geom, x, y):
                break
        response = client.post(
            "/open311/v2/requests.json",
            data={"service_code": "burning", "lat": f"{y:.7f}", "long": f"{x:.7f}"},
        )
        assert response.status_code == 200, (code, response.text)
        expected[response.json()[0]["service_request_id"]] = (str(code), str(name))
    with session_scope(client.app.state.engine) as session:
        for rid, (code, name) in expected.items():
            report = session.get(Report, int(rid))
            assert report is not None
            if report.ward_code == code:
                assert report.agency_responsible == f"UBND {name}"
            else:  # a point on a sliver where two ward polygons overlap: the other one holds it
                other = wards[wards["code"] == report.ward_code].geometry.iloc[0]
                point = to_shape(report.geom)
                assert shapely.intersects(other, point), (rid, code, report.ward_code)
    assert len(expected) == 114
