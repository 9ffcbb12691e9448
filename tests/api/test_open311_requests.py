"""GET /open311/v2/requests.{json,xml}: the spec's filters, its 90-day default, and paging."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from shapely.geometry import Point

from gomrac.geo import store
from gomrac.geo.db import session_scope

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
# (service_code, days ago, longitude offset in 1e-3 degrees: ~100 m apart, never duplicates)
SEED = [
    ("household_waste", 1, 0),
    ("household_waste", 10, 1),
    ("burning", 20, 2),
    ("construction_debris", 40, 3),
    ("overflowing_point", 80, 4),
    ("household_waste", 100, 5),  # older than the default 90 days
    ("spontaneous_dump", 200, 6),
]


@pytest.fixture
def seeded(client: Any) -> dict[int, tuple[str, dt.datetime]]:
    """Seven reports at known times; the second one is cleaned (closed)."""
    out: dict[int, tuple[str, dt.datetime]] = {}
    with session_scope(client.app.state.engine) as session:
        for code, days, dx in SEED:
            at = NOW - dt.timedelta(days=days)
            report = store.create_report(
                session,
                service_code=code,
                point=Point(106.6800 + dx * 1e-3, 20.8378),
                requested_datetime=at,
                merge_duplicates=False,
            )
            out[report.id] = (code, at)
        second = sorted(out)[1]
        store.set_report_status(session, second, workflow_status="cleaned", actor="staff")
    return out


def ids(response: Any) -> list[int]:
    """Request ids of a list answer, in order."""
    assert response.status_code == 200, response.text
    return [int(r["service_request_id"]) for r in response.json()]


def test_requests__default_is_last_90_days_newest_first(client: Any, seeded: dict) -> None:
    """Without dates the answer holds the reports of the last 90 days, newest first."""
    expected = sorted(
        (rid for rid, (_, at) in seeded.items() if NOW - at <= dt.timedelta(days=90)),
        key=lambda rid: seeded[rid][1],
        reverse=True,
    )
    response = client.get("/open311/v2/requests.json")
    assert ids(response) == expected
    assert len(expected) == 5
    assert response.headers["x-total-count"] == "5"


def test_requests__date_range(client: Any, seeded: dict) -> None:
    """start_date/end_date select by requested_datetime, in any W3C offset."""
    start = (NOW - dt.timedelta(days=110)).astimezone(dt.timezone(dt.timedelta(hours=-5)))
    end = NOW - dt.timedelta(days=30)
    params = {"start_date": start.isoformat(), "end_date": end.isoformat().replace("+00:00", "Z")}
    expected = {rid for rid, (_, at) in seeded.items() if start <= at <= end}
    assert set(ids(client.get("/open311/v2/requests.json", params=params))) == expected
    assert len(expected) == 3


def test_requests__span_over_90_days_refused(client: Any) -> None:
    """A date range longer than the spec's 90 days answers 400."""
    params = {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-06-01T00:00:00Z"}
    response = client.get("/open311/v2/requests.json", params=params)
    assert response.status_code == 400
    assert "90 days" in response.json()[0]["description"]


def test_requests__status_and_service_code(client: Any, seeded: dict) -> None:
    """status and service_code filter, and take comma-separated lists."""
    closed = ids(client.get("/open311/v2/requests.json", params={"status": "closed"}))
    assert closed == [sorted(seeded)[1]]
    both = ids(client.get("/open311/v2/requests.json", params={"status": "open,closed"}))
    assert len(both) == 5
    codes = {"service_code": "burning,construction_debris"}
    expected = {
        rid
        for rid, (code, at) in seeded.items()
        if code in {"burning", "construction_debris"} and NOW - at <= dt.timedelta(90)
    }
    assert set(ids(client.get("/open311/v2/requests.json", params=codes))) == expected
    bad = client.get("/open311/v2/requests.json", params={"status": "pending"})
    assert bad.status_code == 400


def test_requests__ids_override_other_filters(client: Any, seeded: dict) -> None:
    """service_request_id (comma list) returns those reports whatever the other filters say."""
    oldest, newest = max(seeded, key=lambda r: NOW - seeded[r][1]), min(seeded)
    params = {"service_request_id": f"{oldest},{newest}", "status": "closed"}
    assert set(ids(client.get("/open311/v2/requests.json", params=params))) == {oldest, newest}


def test_requests__paging(client: Any, seeded: dict) -> None:
    """page/page_size cut the newest-first list into consecutive pages; page_size is capped."""
    everything = ids(client.get("/open311/v2/requests.json"))
    pages = [
        ids(client.get("/open311/v2/requests.json", params={"page": p, "page_size": 2}))
        for p in (1, 2, 3, 4)
    ]
    assert pages == [everything[0:2], everything[2:4], everything[4:6], []]
    too_big = client.get("/open311/v2/requests.json", params={"page_size": 1001})
    assert too_big.status_code == 400
    assert "page_size must be between 1 and 1000" in too_big.json()[0]["description"]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"status": "closed"},
        {"service_code": "household_waste,burning"},
        {"page": 2, "page_size": 2},
        {"service_request_id": "1,2,7"},
        {
            "start_date": (NOW - dt.timedelta(days=85)).isoformat(),
            "end_date": (NOW - dt.timedelta(days=5)).isoformat(),
        },
    ],
)
def test_requests__xml_lists_the_same_requests(
    client: Any, seeded: dict, read_xml: Any, xml_matches_json: Any, params: dict
) -> None:
    """requests.xml lists the same reports, in the same order and total, as requests.json."""
    as_json = client.get("/open311/v2/requests.json", params=params)
    as_xml = client.get("/open311/v2/requests.xml", params=params)
    root = read_xml(as_xml, "service_requests")
    assert [int(r.findtext("service_request_id")) for r in root] == ids(as_json)
    assert as_xml.headers["x-total-count"] == as_json.headers["x-total-count"]
    xml_matches_json(root, as_json.json())
