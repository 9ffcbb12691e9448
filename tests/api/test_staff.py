"""Staff workflow endpoints: signed-in accounts, roles and wards, and the audit trail."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from shapely.geometry import Point

from gomrac.geo import store
from gomrac.geo.db import session_scope

LE_CHAN_WARD = "11383"  # Phường Lê Chân (official 2025 code)
BACH_LONG_VI_WARD = "11948"  # Đặc khu Bạch Long Vĩ
LE_CHAN = (20.8378, 106.6854)
NOT_SIGNED_IN = "sign in first: POST /api/auth/token, then send Authorization: Bearer <token>"


def test_workflow__verified_assigned_cleaned_closes_and_audits(
    client: Any, post_report: Any, sign_in: Any
) -> None:
    """received→verified→assigned→cleaned closes the report; each history row names the
    signed-in account that made the change."""
    rid = post_report(*LE_CHAN).json()[0]["service_request_id"]
    officer = sign_in("an.nguyen", "ward_office", [LE_CHAN_WARD])
    company = sign_in("binh.tran", "waste_company", [LE_CHAN_WARD])
    steps = [("verified", officer), ("assigned", officer), ("cleaned", company)]
    wire_status = []
    for status, headers in steps:
        response = client.patch(
            f"/api/reports/{rid}",
            json={"workflow_status": status, "note": f"bước {status}"},
            headers=headers,
        )
        assert response.status_code == 200, response.text
        wire_status.append(response.json()["status"])
    assert wire_status == ["open", "open", "closed"]

    wire = client.get(f"/open311/v2/requests/{rid}.json").json()[0]
    assert wire["status"] == "closed"
    assert wire["status_notes"] == "cleaned: bước cleaned"
    assert wire["extended_attributes"]["workflow_status"] == "cleaned"
    assert wire["updated_datetime"] >= wire["requested_datetime"]

    history = client.get(f"/api/reports/{rid}/history", headers=officer).json()
    rows = history["data"]
    assert history["count"] == len(rows) == 1 + len(steps)
    assert (rows[0]["actor"], rows[0]["old"], rows[0]["new"]) == ("citizen", None, "received")
    changes = [(r["field"], r["old"], r["new"], r["actor"]) for r in rows[1:]]
    assert changes == [
        ("workflow_status", "received", "verified", "an.nguyen"),
        ("workflow_status", "verified", "assigned", "an.nguyen"),
        ("workflow_status", "assigned", "cleaned", "binh.tran"),
    ]
    times = [dt.datetime.fromisoformat(r["at"]) for r in rows]
    assert all(t.tzinfo is not None for t in times)
    assert times == sorted(times)


def test_workflow__typed_actor_is_refused(
    client: Any, post_report: Any, staff_headers: dict[str, str]
) -> None:
    """A body naming its own actor is refused (422): the audit trail names the account only."""
    rid = post_report(*LE_CHAN).json()[0]["service_request_id"]
    response = client.patch(
        f"/api/reports/{rid}",
        json={"workflow_status": "verified", "actor": "citizen"},
        headers=staff_headers,
    )
    assert response.status_code == 422
    assert response.json() == {"detail": "actor: Extra inputs are not permitted"}


def test_staff__answer_shows_the_published_photo(
    client: Any, staff_headers: dict[str, str], png_image: bytes
) -> None:
    """A status change answers the report with its photo URL and the reporter's contact data."""
    response = client.post(
        "/open311/v2/requests.json",
        data={
            "service_code": "household_waste",
            "lat": str(LE_CHAN[0]),
            "long": str(LE_CHAN[1]),
            "email": "dan@example.vn",
        },
        files={"media": ("rac.png", io.BytesIO(png_image), "image/png")},
    )
    rid = response.json()[0]["service_request_id"]
    changed = client.patch(
        f"/api/reports/{rid}", json={"workflow_status": "verified"}, headers=staff_headers
    ).json()
    wire = client.get(f"/open311/v2/requests/{rid}.json").json()[0]
    assert changed["media_url"] == wire["media_url"]
    assert changed["media_url"].startswith("http://testserver/open311/v2/media/")
    assert changed["email"] == "dan@example.vn"
    assert "email" not in wire


def _bach_long_vi_report(client: Any) -> str:
    """A report stored in Bạch Long Vĩ (by the store: the island is far from the test points)."""
    with session_scope(client.app.state.engine) as session:
        report = store.create_report(
            session,
            service_code="household_waste",
            point=Point(107.7275, 20.1350),
            ward_code=BACH_LONG_VI_WARD,
        )
        return str(report.id)


# every endpoint that changes state, with a body that the right account may send
CHANGES = [
    ("patch", "/api/reports/{rid}", {"workflow_status": "verified"}),
    ("patch", "/api/reports/{rid}/publication", {"publication": "hidden", "note": "ảnh có mặt"}),
    ("patch", "/api/reports/{rid}/links", {"assigned_unit": "waste_company"}),
]


@pytest.mark.parametrize(("method", "path", "body"), CHANGES)
def test_access__anonymous_is_401(
    client: Any, post_report: Any, method: str, path: str, body: dict[str, Any]
) -> None:
    """Without a token (or with an unknown one) a change is refused with 401 and not made."""
    rid = post_report(*LE_CHAN).json()[0]["service_request_id"]
    url = path.format(rid=rid)
    anonymous = getattr(client, method)(url, json=body)
    assert anonymous.status_code == 401
    assert anonymous.json() == {"detail": NOT_SIGNED_IN}
    assert anonymous.headers["www-authenticate"] == "Bearer"
    forged = getattr(client, method)(url, json=body, headers={"Authorization": "Bearer forged"})
    assert forged.status_code == 401
    assert forged.json() == {"detail": "the token is unknown, expired or revoked; sign in again"}
    wire = client.get(f"/open311/v2/requests/{rid}.json").json()[0]
    assert wire["extended_attributes"]["workflow_status"] == "received"
    assert wire["extended_attributes"]["publication"] == "published"


@pytest.mark.parametrize(("method", "path", "body"), CHANGES)
def test_access__wrong_role_is_403(
    client: Any, post_report: Any, sign_in: Any, method: str, path: str, body: dict[str, Any]
) -> None:
    """A police account of the right ward may not change a report (403), nor hide one."""
    rid = post_report(*LE_CHAN).json()[0]["service_request_id"]
    police = sign_in("cong.an", "police", [LE_CHAN_WARD])
    response = getattr(client, method)(path.format(rid=rid), json=body, headers=police)
    assert response.status_code == 403
    assert response.json()["detail"].startswith("a police account may not do this; it needs")
    history = client.get(f"/api/reports/{rid}/history", headers=police).json()
    assert [row["actor"] for row in history["data"]] == ["citizen"]


@pytest.mark.parametrize(("method", "path", "body"), CHANGES)
def test_access__other_ward_is_403(
    client: Any, sign_in: Any, method: str, path: str, body: dict[str, Any]
) -> None:
    """A Lê Chân ward-office account cannot change a Bạch Long Vĩ report (403); an account of
    Bạch Long Vĩ can, and the audit names it."""
    rid = _bach_long_vi_report(client)
    le_chan = sign_in("lan.nguyen", "ward_office", [LE_CHAN_WARD])
    refused = getattr(client, method)(path.format(rid=rid), json=body, headers=le_chan)
    assert refused.status_code == 403
    assert refused.json() == {
        "detail": f"report {rid} is in ward {BACH_LONG_VI_WARD}; account 'lan.nguyen' works "
        f"for ward(s) {LE_CHAN_WARD}"
    }
    island = sign_in("dao.bach", "ward_office", [BACH_LONG_VI_WARD])
    done = getattr(client, method)(path.format(rid=rid), json=body, headers=island)
    assert done.status_code == 200, done.text
    rows = client.get(f"/api/reports/{rid}/history", headers=island).json()["data"]
    assert rows[-1]["actor"] == "dao.bach"


@pytest.mark.parametrize(("method", "path", "body"), CHANGES)
def test_access__admin_acts_in_every_ward(
    client: Any, sign_in: Any, method: str, path: str, body: dict[str, Any]
) -> None:
    """An admin account without wards may change a report of any ward."""
    rid = _bach_long_vi_report(client)
    admin = sign_in("quan.tri", "admin", [])
    response = getattr(client, method)(path.format(rid=rid), json=body, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["service_request_id"] == rid


def test_publication__hide_withdraws_report_and_audits(
    client: Any, post_report: Any, staff_headers: dict[str, str]
) -> None:
    """Hiding a report removes it from the public list and lookup; the audit keeps the note."""
    rid = post_report(*LE_CHAN).json()[0]["service_request_id"]
    response = client.patch(
        f"/api/reports/{rid}/publication",
        json={"publication": "hidden", "note": "ảnh có biển số xe"},
        headers=staff_headers,
    )
    assert response.status_code == 200
    assert response.json()["extended_attributes"]["publication"] == "hidden"
    assert client.get("/open311/v2/requests.json").json() == []
    gone = client.get(f"/open311/v2/requests/{rid}.json")
    assert gone.status_code == 404
    assert gone.json() == [{"code": 404, "description": f"service_request_id '{rid}' not found"}]
    last = client.get(f"/api/reports/{rid}/history", headers=staff_headers).json()["data"][-1]
    assert (last["field"], last["old"], last["new"], last["actor"], last["note"]) == (
        "publication",
        "published",
        "hidden",
        "lan.nguyen",
        "ảnh có biển số xe",
    )


def test_staff_list__own_wards_and_pending_queue(
    client: Any, post_report: Any, sign_in: Any
) -> None:
    """The staff list shows the account's wards only, filtered by publication state."""
    rid = post_report(*LE_CHAN).json()[0]["service_request_id"]
    other = _bach_long_vi_report(client)
    le_chan = sign_in("lan.nguyen", "ward_office", [LE_CHAN_WARD])
    listed = client.get("/api/reports", headers=le_chan).json()
    assert [r["service_request_id"] for r in listed] == [rid]
    admin = sign_in("quan.tri", "admin", [])
    ids = {r["service_request_id"] for r in client.get("/api/reports", headers=admin).json()}
    assert ids == {rid, other}
    pending = client.get("/api/reports?publication=pending", headers=admin).json()
    assert pending == []
    assert client.get("/api/reports").status_code == 401


def test_staff__bad_changes(client: Any, post_report: Any, staff_headers: dict[str, str]) -> None:
    """Unknown status (422), missing report (404), id beyond the column (422) and duplicate
    without original (400)."""
    rid = post_report(*LE_CHAN).json()[0]["service_request_id"]
    unknown = client.patch(
        f"/api/reports/{rid}", json={"workflow_status": "done"}, headers=staff_headers
    )
    assert unknown.status_code == 422
    assert unknown.json()["detail"].startswith("workflow_status: Input should be 'received'")
    missing = client.patch(
        "/api/reports/999999", json={"workflow_status": "verified"}, headers=staff_headers
    )
    assert missing.status_code == 404
    assert missing.json()["detail"] == "report 999999 not found"
    huge = client.patch(
        "/api/reports/2147483648", json={"workflow_status": "verified"}, headers=staff_headers
    )
    assert huge.status_code == 422
    assert huge.json()["detail"].startswith("report_id: Input should be less than or equal to")
    dup = client.patch(
        f"/api/reports/{rid}", json={"workflow_status": "duplicate"}, headers=staff_headers
    )
    assert dup.status_code == 400
    assert dup.json()["detail"] == "duplicate_of is required with workflow_status=duplicate"


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
        json={"workflow_status": "received", "note": "hai đống rác khác nhau"},
        headers=staff_headers,
    ).json()
    assert reopened["status"] == "open"
    assert reopened["extended_attributes"]["duplicate_of"] is None

    relinked = client.patch(
        f"/api/reports/{second}",
        json={"workflow_status": "duplicate", "duplicate_of": int(first)},
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
        ("duplicate_of", "lan.nguyen"),
        ("workflow_status", "lan.nguyen"),
        ("duplicate_of", "lan.nguyen"),
        ("workflow_status", "lan.nguyen"),
    ]


def test_staff__nul_in_note_is_422(
    client: Any, post_report: Any, staff_headers: dict[str, str]
) -> None:
    """A note with a NUL character is refused before it reaches the database (422)."""
    rid = post_report(*LE_CHAN).json()[0]["service_request_id"]
    response = client.patch(
        f"/api/reports/{rid}",
        json={"workflow_status": "verified", "note": "đã\x00xem"},
        headers=staff_headers,
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("note: String should match pattern")
    wire = client.get(f"/open311/v2/requests/{rid}.json").json()[0]
    assert wire["extended_attributes"]["workflow_status"] == "received"
