"""Staff workflow endpoints: audited status changes behind the shared staff token."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest

from gomrac.api.main import create_app
from gomrac.geo.settings import Settings

LE_CHAN = (20.8378, 106.6854)


def test_workflow__verified_assigned_cleaned_closes_and_audits(
    client: Any, post_report: Any, staff_headers: dict[str, str]
) -> None:
    """received→verified→assigned→cleaned closes the report; history has one row per change."""
    rid = post_report(*LE_CHAN).json()[0]["service_request_id"]
    steps = [("verified", "an.nguyen"), ("assigned", "binh.tran"), ("cleaned", "cuong.le")]
    wire_status = []
    for status, actor in steps:
        response = client.patch(
            f"/api/reports/{rid}",
            json={"workflow_status": status, "actor": actor, "note": f"bước {status}"},
            headers=staff_headers,
        )
        assert response.status_code == 200, response.text
        wire_status.append(response.json()["status"])
    assert wire_status == ["open", "open", "closed"]

    wire = client.get(f"/open311/v2/requests/{rid}.json").json()[0]
    assert wire["status"] == "closed"
    assert wire["status_notes"] == "cleaned: bước cleaned"
    assert wire["extended_attributes"]["workflow_status"] == "cleaned"
    assert wire["updated_datetime"] >= wire["requested_datetime"]

    history = client.get(f"/api/reports/{rid}/history", headers=staff_headers).json()
    rows = history["data"]
    assert history["count"] == len(rows) == 1 + len(steps)
    assert (rows[0]["actor"], rows[0]["old"], rows[0]["new"]) == ("citizen", None, "received")
    changes = [(r["field"], r["old"], r["new"], r["actor"]) for r in rows[1:]]
    assert changes == [
        ("workflow_status", "received", "verified", "an.nguyen"),
        ("workflow_status", "verified", "assigned", "binh.tran"),
        ("workflow_status", "assigned", "cleaned", "cuong.le"),
    ]
    times = [dt.datetime.fromisoformat(r["at"]) for r in rows]
    assert all(t.tzinfo is not None for t in times)
    assert times == sorted(times)


def test_staff__answer_shows_the_published_photo(
    client: Any, staff_headers: dict[str, str], png_image: bytes
) -> None:
    """A status change answers the report as Open311 shows it, photo URL included."""
    response = client.post(
        "/open311/v2/requests.json",
        data={"service_code": "household_waste", "lat": str(LE_CHAN[0]), "long": str(LE_CHAN[1])},
        files={"media": ("rac.png", io.BytesIO(png_image), "image/png")},
    )
    rid = response.json()[0]["service_request_id"]
    changed = client.patch(
        f"/api/reports/{rid}",
        json={"workflow_status": "verified", "actor": "an.nguyen"},
        headers=staff_headers,
    ).json()
    wire = client.get(f"/open311/v2/requests/{rid}.json").json()[0]
    assert changed["media_url"] == wire["media_url"]
    assert changed["media_url"].startswith("http://testserver/open311/v2/media/")


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer wrong-token-wrong-token"}, 403),
        ({"X-Gomrac-Token": "wrong-token-wrong-token"}, 403),
    ],
)
def test_staff__token_required(
    client: Any, post_report: Any, headers: dict[str, str], status: int
) -> None:
    """Without the right token PATCH and history are refused and the report is unchanged."""
    rid = post_report(*LE_CHAN).json()[0]["service_request_id"]
    change = {"workflow_status": "cleaned", "actor": "mallory"}
    assert client.patch(f"/api/reports/{rid}", json=change, headers=headers).status_code == status
    assert client.get(f"/api/reports/{rid}/history", headers=headers).status_code == status
    wire = client.get(f"/open311/v2/requests/{rid}.json").json()[0]
    assert wire["extended_attributes"]["workflow_status"] == "received"


def test_staff__disabled_without_configured_token(
    db_url: str, data_dir: Any, tmp_path: Any
) -> None:
    """With no GOMRAC_STAFF_TOKEN set, staff endpoints refuse even a guessed token (403)."""
    from fastapi.testclient import TestClient  # imported quietly by conftest

    settings = Settings(database_url=db_url, data_dir=data_dir, media_dir=tmp_path / "m")
    with TestClient(create_app(settings)) as client:
        response = client.patch(
            "/api/reports/1",
            json={"workflow_status": "cleaned", "actor": "x"},
            headers={"Authorization": "Bearer anything-at-all-really"},
        )
    assert response.status_code == 403
    assert "GOMRAC_STAFF_TOKEN" in response.json()["detail"]


def test_staff__bad_changes(client: Any, post_report: Any, staff_headers: dict[str, str]) -> None:
    """Unknown status (422), missing report (404) and duplicate without original (400)."""
    rid = post_report(*LE_CHAN).json()[0]["service_request_id"]
    unknown = client.patch(
        f"/api/reports/{rid}", json={"workflow_status": "done", "actor": "a"}, headers=staff_headers
    )
    assert unknown.status_code == 422
    missing = client.patch(
        "/api/reports/999999",
        json={"workflow_status": "verified", "actor": "a"},
        headers=staff_headers,
    )
    assert missing.status_code == 404
    assert missing.json()["detail"] == "report 999999 not found"
    dup = client.patch(
        f"/api/reports/{rid}",
        json={"workflow_status": "duplicate", "actor": "a"},
        headers=staff_headers,
    )
    assert dup.status_code == 400
    assert "duplicate_of is required" in dup.json()["detail"]


def test_staff__unlink_and_relink_duplicate(
    client: Any, post_report: Any, staff_headers: dict[str, str]
) -> None:
    """Staff can reopen an automatic duplicate and link it again by hand, all audited."""
    first = post_report(*LE_CHAN).json()[0]["service_request_id"]
    second = post_report(*LE_CHAN).json()[0]["service_request_id"]
    wire = client.get(f"/open311/v2/requests/{second}.json").json()[0]
    assert wire["extended_attributes"]["duplicate_of"] == first

    reopened = client.patch(
        f"/api/reports/{second}",
        json={"workflow_status": "received", "actor": "lan", "note": "hai đống rác khác nhau"},
        headers=staff_headers,
    ).json()
    assert reopened["status"] == "open"
    assert reopened["extended_attributes"]["duplicate_of"] is None

    relinked = client.patch(
        f"/api/reports/{second}",
        json={"workflow_status": "duplicate", "actor": "lan", "duplicate_of": int(first)},
        headers=staff_headers,
    ).json()
    assert relinked["extended_attributes"]["duplicate_of"] == first
    assert relinked["status"] == "closed"

    fields = [
        (r["field"], r["actor"])
        for r in client.get(f"/api/reports/{second}/history", headers=staff_headers).json()["data"]
    ]
    assert fields == [
        ("workflow_status", "citizen"),
        ("duplicate_of", "system:duplicate-check"),
        ("workflow_status", "system:duplicate-check"),
        ("duplicate_of", "lan"),
        ("workflow_status", "lan"),
        ("duplicate_of", "lan"),
        ("workflow_status", "lan"),
    ]
