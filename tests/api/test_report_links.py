"""Triage links of a report: the unit it is assigned to, the dump site and the camera."""

from __future__ import annotations

from typing import Any

from geoalchemy2.shape import from_shape
from shapely.geometry import Point

from gomrac.geo import store
from gomrac.geo.db import session_scope
from gomrac.geo.models import Camera, DumpSite, Report

LE_CHAN_WARD = "11383"  # Phường Lê Chân (official 2025 code)
BACH_LONG_VI_WARD = "11948"  # Đặc khu Bạch Long Vĩ
LE_CHAN = (20.8378, 106.6854)


def _register(client: Any) -> dict[str, int]:
    """A dump site and a camera in Lê Chân, and a dump site in Bạch Long Vĩ; their ids."""
    with session_scope(client.app.state.engine) as session:
        rows = {
            "site": DumpSite(
                ward_code=LE_CHAN_WARD,
                name="Bãi ven kênh",
                geom=from_shape(Point(LE_CHAN[1], LE_CHAN[0]), srid=4326),
            ),
            "camera": Camera(
                ward_code=LE_CHAN_WARD,
                name="Camera ngõ 12",
                geom=from_shape(Point(LE_CHAN[1] + 1e-4, LE_CHAN[0]), srid=4326),
            ),
            "island_site": DumpSite(
                ward_code=BACH_LONG_VI_WARD,
                name="Bãi cảng cá",
                geom=from_shape(Point(107.7275, 20.1350), srid=4326),
            ),
        }
        session.add_all(rows.values())
        session.flush()
        return {k: v.id for k, v in rows.items()}


def _history(client: Any, rid: str, headers: dict[str, str]) -> list[tuple[Any, ...]]:
    rows = client.get(f"/api/reports/{rid}/history", headers=headers).json()["data"]
    return [(r["field"], r["old"], r["new"], r["actor"], r["note"]) for r in rows]


def test_assign__unit_agency_status_and_audit(
    client: Any, post_report: Any, staff_headers: dict[str, str]
) -> None:
    """Assigning a received report to the waste company names the unit in Vietnamese for the
    public, moves it to ``assigned`` (still open) and writes one audit row per change under the
    signed-in account; the public answer has the agency and nothing else of the assignment."""
    rid = post_report(*LE_CHAN).json()[0]["service_request_id"]
    response = client.patch(
        f"/api/reports/{rid}/links",
        json={"assigned_unit": "waste_company", "note": "xe CL-2 chiều nay"},
        headers=staff_headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["assigned_unit"] == "waste_company"
    assert body["agency_responsible"] == "Đơn vị thu gom, vận chuyển rác"
    assert (body["status"], body["extended_attributes"]["workflow_status"]) == ("open", "assigned")
    assert _history(client, rid, staff_headers)[1:] == [
        ("assigned_unit", None, "waste_company", "lan.nguyen", "xe CL-2 chiều nay"),
        (
            "agency_responsible",
            "UBND Phường Lê Chân",
            "Đơn vị thu gom, vận chuyển rác",
            "lan.nguyen",
            "xe CL-2 chiều nay",
        ),
        ("workflow_status", "received", "assigned", "lan.nguyen", "xe CL-2 chiều nay"),
    ]
    wire = client.get(f"/open311/v2/requests/{rid}.json").json()[0]
    assert wire["agency_responsible"] == "Đơn vị thu gom, vận chuyển rác"
    assert wire["status_notes"] == "assigned: xe CL-2 chiều nay"
    assert "assigned_unit" not in wire and "assigned_unit" not in wire["extended_attributes"]

    # a named environment company; the status, already assigned, does not move again
    renamed = client.patch(
        f"/api/reports/{rid}/links",
        json={
            "assigned_unit": "environment_company",
            "agency_responsible": "Công ty TNHH MTV Môi trường đô thị Hải Phòng",
        },
        headers=staff_headers,
    ).json()
    assert renamed["agency_responsible"] == "Công ty TNHH MTV Môi trường đô thị Hải Phòng"
    rows = _history(client, rid, staff_headers)
    assert len(rows) == 6
    assert rows[-2][:3] == ("assigned_unit", "waste_company", "environment_company")

    # taking the assignment back hands the report to the ward office again; the step stays
    cleared = client.patch(
        f"/api/reports/{rid}/links", json={"assigned_unit": None}, headers=staff_headers
    ).json()
    assert (cleared["assigned_unit"], cleared["agency_responsible"]) == (
        None,
        "UBND Phường Lê Chân",
    )
    assert cleared["extended_attributes"]["workflow_status"] == "assigned"
    wire = client.get(f"/open311/v2/requests/{rid}.json").json()[0]
    assert wire["agency_responsible"] == "UBND Phường Lê Chân"
    police = client.patch(
        f"/api/reports/{rid}/links", json={"assigned_unit": "police"}, headers=staff_headers
    ).json()
    assert police["agency_responsible"] == "Công an Phường Lê Chân"


def test_links__dump_site_and_camera_same_ward_only(
    client: Any, post_report: Any, staff_headers: dict[str, str]
) -> None:
    """A report links to its ward's dump site and camera (audited); another ward's site and an
    unknown camera are refused with one 422 line and change nothing."""
    ids = _register(client)
    rid = post_report(*LE_CHAN).json()[0]["service_request_id"]
    url = f"/api/reports/{rid}/links"
    refused = client.patch(url, json={"dump_site_id": ids["island_site"]}, headers=staff_headers)
    assert refused.status_code == 422
    assert refused.json() == {
        "detail": f"dump site {ids['island_site']} is in ward {BACH_LONG_VI_WARD}, report {rid} "
        f"in ward {LE_CHAN_WARD}: link a dump site of the report's ward"
    }
    unknown = client.patch(
        url, json={"dump_site_id": ids["site"], "camera_id": 999_999}, headers=staff_headers
    )
    assert unknown.status_code == 422
    assert unknown.json() == {"detail": "camera 999999 is not in the register"}
    assert len(_history(client, rid, staff_headers)) == 1  # only the report's creation

    linked = client.patch(
        url,
        json={
            "dump_site_id": ids["site"],
            "camera_id": ids["camera"],
            "note": "camera thấy xe ba gác",
        },
        headers=staff_headers,
    )
    assert linked.status_code == 200, linked.text
    assert (linked.json()["dump_site_id"], linked.json()["camera_id"]) == (
        ids["site"],
        ids["camera"],
    )
    assert _history(client, rid, staff_headers)[1:] == [
        ("dump_site_id", None, str(ids["site"]), "lan.nguyen", "camera thấy xe ba gác"),
        ("camera_id", None, str(ids["camera"]), "lan.nguyen", "camera thấy xe ba gác"),
    ]
    listed = client.get("/api/reports", headers=staff_headers).json()
    assert [(r["dump_site_id"], r["camera_id"]) for r in listed] == [(ids["site"], ids["camera"])]
    wire = client.get(f"/open311/v2/requests/{rid}.json").json()[0]
    assert "dump_site_id" not in wire["extended_attributes"] and "camera_id" not in wire

    # removing only the camera keeps the dump site
    unlinked = client.patch(url, json={"camera_id": None}, headers=staff_headers).json()
    assert (unlinked["dump_site_id"], unlinked["camera_id"]) == (ids["site"], None)
    with session_scope(client.app.state.engine) as session:
        report = session.get(Report, int(rid))
        assert report is not None
        assert (report.dump_site_id, report.camera_id) == (ids["site"], None)
        assert store.report_history(session, int(rid))[-1].field == "camera_id"


def test_links__roles_and_bad_bodies(client: Any, post_report: Any, sign_in: Any) -> None:
    """Only the ward office (and admins) triage: the waste company and the police get 403; an
    empty body, an unknown unit and an agency without a unit are 422; nothing is stored."""
    rid = post_report(*LE_CHAN).json()[0]["service_request_id"]
    url = f"/api/reports/{rid}/links"
    for role in ("waste_company", "police"):
        headers = sign_in(f"tk.{role.replace('_', '.')}", role, [LE_CHAN_WARD])
        response = client.patch(url, json={"assigned_unit": "police"}, headers=headers)
        assert response.status_code == 403, role
        assert response.json()["detail"] == (
            f"a {role} account may not do this; it needs one of ward_office, admin"
        )
    officer = sign_in("an.nguyen", "ward_office", [LE_CHAN_WARD])
    bad = [
        ({}, "send at least one of assigned_unit, agency_responsible, dump_site_id, camera_id"),
        ({"note": "chỉ ghi chú"}, "send at least one of"),
        ({"assigned_unit": "army"}, "assigned_unit: Input should be"),
        ({"agency_responsible": "Công ty X"}, "agency_responsible needs an assigned_unit"),
        ({"dump_site_id": 0}, "dump_site_id: Input should be greater than or equal to 1"),
    ]
    for body, detail in bad:
        response = client.patch(url, json=body, headers=officer)
        assert response.status_code == 422, body
        assert response.json()["detail"].startswith(detail), response.text
        assert "\n" not in response.json()["detail"]
    assert len(_history(client, rid, officer)) == 1
    wire = client.get(f"/open311/v2/requests/{rid}.json").json()[0]
    assert (wire["agency_responsible"], wire["extended_attributes"]["workflow_status"]) == (
        "UBND Phường Lê Chân",
        "received",
    )
