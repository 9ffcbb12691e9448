"""Layer imports, reports and their audit trail, duplicates, dump sites and plans."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import LineString, Point, Polygon
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gomrac.analysis.errors import CRSError, DataNotFoundError, ValidationError
from gomrac.geo import store
from gomrac.geo.db import make_sessionmaker, session_scope
from gomrac.geo.models import Report, ReportUpdate

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
LE_CHAN = Point(106.6854, 20.8378)  # lon, lat inside Phường Lê Chân (11383)
EARTH_RADIUS_M = 6_371_008.8  # mean radius, for an independent haversine


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session; tests commit when they need to."""
    with make_sessionmaker(engine)() as sess:
        yield sess


def haversine_m(a: Point, b: Point) -> float:
    """Great-circle distance on a sphere (independent of the code's ellipsoid)."""
    lon1, lat1, lon2, lat2 = map(math.radians, (a.x, a.y, b.x, b.y))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def points_gdf(n: int = 3, **columns: list) -> gpd.GeoDataFrame:
    """`n` gathering points 100 m apart east of LE_CHAN, with extra columns."""
    geoms = [Point(LE_CHAN.x + i * 0.001, LE_CHAN.y) for i in range(n)]
    data = {"name": [f"Điểm {i}" for i in range(n)], **columns}
    return gpd.GeoDataFrame(data, geometry=geoms, crs="EPSG:4326")


def count(session: Session, kind: str) -> int:
    """Rows of a layer."""
    return store.count_layer(session, kind=kind)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------
# layers
# ------------------------------------------------------------------------------------------


def test_replace_layer__round_trip(session: Session) -> None:
    """Rows written by replace_layer come back from load_layer unchanged, in EPSG:4326."""
    gdf = points_gdf(
        3,
        status=["existing", "proposed", "closed"],
        bins_240l=[2, 0, 1],
        capacity_kg_per_day=[480.0, np.nan, 120.5],
        streams=["food, residual", ["recyclable"], None],
    )
    assert (
        store.replace_layer(
            session, kind="gathering_points", ward_code="11383", gdf=gdf, source="diem_tk.csv"
        )
        == 3
    )
    session.commit()
    out = store.load_layer(session, kind="gathering_points", ward_code="11383")
    assert out.crs.to_epsg() == 4326
    assert out["name"].tolist() == gdf["name"].tolist()
    assert out["status"].tolist() == ["existing", "proposed", "closed"]
    assert out["bins_240l"].tolist() == [2, 0, 1]
    assert out["bins_660l"].tolist() == [0, 0, 0]
    capacity = out["capacity_kg_per_day"].tolist()
    assert capacity[0] == 480.0 and math.isnan(capacity[1]) and capacity[2] == 120.5
    assert out["streams"].tolist() == [
        ["food", "residual"],
        ["recyclable"],
        ["food", "recyclable", "residual"],
    ]
    assert set(out["source"]) == {"diem_tk.csv"} and set(out["ward_code"]) == {"11383"}
    assert all(a.equals_exact(b, 1e-9) for a, b in zip(out.geometry, gdf.geometry, strict=True))
    assert store.load_layer(session, kind="gathering_points", ward_code="99999").empty


def test_replace_layer__replaces_only_that_ward(session: Session) -> None:
    """Replacing ward A's cameras leaves ward B's alone and drops A's old rows."""
    cams = points_gdf(2, kind=["fixed", "mobile"])
    store.replace_layer(session, kind="cameras", ward_code="A", gdf=cams, source="a1")
    store.replace_layer(session, kind="cameras", ward_code="B", gdf=cams, source="b1")
    store.replace_layer(session, kind="cameras", ward_code="A", gdf=points_gdf(1), source="a2")
    session.commit()
    out = store.load_layer(session, kind="cameras")
    assert sorted(zip(out["ward_code"], out["source"], strict=True)) == [
        ("A", "a2"),
        ("B", "b1"),
        ("B", "b1"),
    ]
    assert store.append_layer(session, kind="cameras", ward_code="A", gdf=cams, source="a3") == 2
    assert store.count_layer(session, kind="cameras", ward_code="A") == 3


BAD_ROWS = [
    pytest.param(
        "gathering_points",
        {"status": "open"},
        None,
        "status 'open' is not one of",
        id="value-outside-check-list",
    ),
    pytest.param(
        "gathering_points",
        {"bins_240l": -3},
        None,
        "rejected by the database",
        id="database-check-constraint",
    ),
    pytest.param(
        "gathering_points", {"bins_660l": 1.5}, None, "not a whole number", id="fractional-bins"
    ),
    pytest.param(
        "gathering_points",
        {"streams": "food, plastic"},
        None,
        "unknown waste stream",
        id="unknown-stream",
    ),
    pytest.param(
        "gathering_points",
        {},
        LineString([(106.68, 20.83), (106.69, 20.84)]),
        "geometry is a LineString",
        id="wrong-geometry-type",
    ),
    pytest.param("gathering_points", {}, Point(), "missing or empty geometry", id="empty-geometry"),
    pytest.param(
        "residential_groups",
        {},
        Polygon([(106.68, 20.83), (106.69, 20.84), (106.69, 20.83), (106.68, 20.84)]),
        "invalid geometry",
        id="self-intersecting-polygon",
    ),
    pytest.param(
        "gathering_points",
        {"ward_code": "11311"},
        None,
        "is not the ward being imported",
        id="other-ward",
    ),
    pytest.param(
        "cameras", {"kind": "drone"}, None, "kind 'drone' is not one of", id="camera-kind"
    ),
    pytest.param(
        "facilities", {"fid": "same"}, None, "rejected by the database", id="duplicate-unique-fid"
    ),
    pytest.param("dump_sites", {"first_seen": "not a date"}, None, "first_seen", id="bad-date"),
]


@pytest.mark.parametrize(("kind", "bad", "bad_geom", "message"), BAD_ROWS)
def test_replace_layer__bad_row_writes_nothing(
    session: Session, kind: str, bad: dict, bad_geom: object, message: str
) -> None:
    """One bad row (checked in Python or by the database) leaves the layer exactly as it was."""
    good = points_gdf(3)
    if kind == "facilities":
        good["fid"] = ["f0", "f1", "f2"]
    store.replace_layer(session, kind=kind, ward_code="11383", gdf=good, source="v1")
    session.commit()
    before = store.load_layer(session, kind=kind)

    new = points_gdf(4)
    if kind == "facilities":
        new["fid"] = ["n0", "same", "n2", "n3"]
    for column, value in bad.items():
        if column not in new:
            new[column] = None
        new[column] = new[column].astype(object)
        new.at[2, column] = value
    if bad_geom is not None:
        new.loc[2, "geometry"] = bad_geom
    with pytest.raises(ValidationError, match="row 2") as info:
        store.replace_layer(session, kind=kind, ward_code="11383", gdf=new, source="v2")
    assert message in str(info.value)
    session.commit()  # commits whatever the failed import left: it must be nothing
    after = store.load_layer(session, kind=kind)
    assert len(after) == len(before) == 3
    assert after.index.tolist() == before.index.tolist()
    assert set(after["source"]) == {"v1"}


@pytest.mark.parametrize(("crs", "exc"), [(None, CRSError), ("EPSG:32648", CRSError)])
def test_replace_layer__crs_checked(session: Session, crs: str | None, exc: type) -> None:
    """A layer without CRS, or in metres, is refused before anything is written."""
    gdf = points_gdf(2)
    gdf = gdf.set_crs(None, allow_override=True) if crs is None else gdf.to_crs(crs)
    with pytest.raises(exc, match=r"EPSG:4326|to_wgs84"):
        store.replace_layer(session, kind="gathering_points", ward_code="x", gdf=gdf, source=None)
    assert count(session, "gathering_points") == 0


def test_replace_layer__unknown_column(session: Session) -> None:
    """A column the model does not have is named in the error."""
    gdf = points_gdf(1, colour=["red"])
    with pytest.raises(ValidationError, match=r"unknown column.*colour"):
        store.replace_layer(session, kind="gathering_points", ward_code="x", gdf=gdf, source=None)


def test_replace_layer__keeps_callers_pending_work(session: Session) -> None:
    """A failed import rolls back its savepoint only: the caller's earlier rows survive."""
    store.save_plan(session, ward_code="11383", kind="points", params={}, summary={})
    bad = points_gdf(2, status=["existing", "nope"])
    with pytest.raises(ValidationError):
        store.replace_layer(session, kind="gathering_points", ward_code="x", gdf=bad, source=None)
    session.commit()
    assert len(store.list_plans(session)) == 1


def test_import_reports_and_dump_sites__audited(session: Session) -> None:
    """Imported reports and dump sites get a creation row naming the import as actor."""
    reports = points_gdf(
        2, service_code=["burning", "household_waste"], workflow_status=["received", "cleaned"]
    )
    reports = reports.drop(columns="name")
    store.append_layer(session, kind="reports", ward_code="11383", gdf=reports, source="excel")
    sites = points_gdf(1, status=["active"], volume_m3=[3.5])
    store.append_layer(session, kind="dump_sites", ward_code="11383", gdf=sites, source="excel")
    session.commit()
    out = store.load_layer(session, kind="reports")
    assert out["status"].tolist() == ["open", "closed"]
    for rid in out.index:
        (row,) = store.report_history(session, int(rid))
        assert (row.actor, row.field, row.new) == (
            "import:excel",
            "workflow_status",
            out.at[rid, "workflow_status"],
        )
    site_id = int(store.load_layer(session, kind="dump_sites").index[0])
    assert [r.actor for r in store.dump_site_history(session, site_id)] == ["import:excel"]


# ------------------------------------------------------------------------------------------
# reports
# ------------------------------------------------------------------------------------------


def test_report_status__workflow_maps_to_open311(session: Session) -> None:
    """Each workflow status maps to open/closed; every change is one audit row with actor."""
    report = store.create_report(
        session, service_code="burning", point=LE_CHAN, requested_datetime=T0, actor="web"
    )
    expected = {
        "verified": "open",
        "assigned": "open",
        "cleaned": "closed",
        "rejected": "closed",
        "received": "open",
    }
    stamps = [report.updated_datetime]
    for status, wire in expected.items():
        store.set_report_status(session, report.id, workflow_status=status, actor="lan")
        assert (report.workflow_status, report.status) == (status, wire)
        assert report.status_notes == status
        stamps.append(report.updated_datetime)
    session.commit()
    history = store.report_history(session, report.id)
    assert [(h.old, h.new) for h in history] == [
        (None, "received"),
        ("received", "verified"),
        ("verified", "assigned"),
        ("assigned", "cleaned"),
        ("cleaned", "rejected"),
        ("rejected", "received"),
    ]
    assert [h.actor for h in history] == ["web"] + ["lan"] * 5
    assert stamps == sorted(stamps)
    assert all(h.at.tzinfo is not None for h in history)


def test_report_status__errors(session: Session) -> None:
    """Unknown status, duplicate without original, empty actor, missing report: typed errors."""
    report = store.create_report(session, service_code="burning", point=LE_CHAN)
    with pytest.raises(ValidationError, match="not one of"):
        store.set_report_status(session, report.id, workflow_status="done", actor="a")
    with pytest.raises(ValidationError, match="link_duplicate"):
        store.set_report_status(session, report.id, workflow_status="duplicate", actor="a")
    with pytest.raises(ValidationError, match="actor"):
        store.set_report_status(session, report.id, workflow_status="verified", actor=" ")
    with pytest.raises(DataNotFoundError, match="report 424242 not found"):
        store.set_report_status(session, 424242, workflow_status="verified", actor="a")


def test_report_check_constraints(engine: Engine) -> None:
    """The database itself refuses a closed workflow with an open wire status."""
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(
            Report(
                service_code="burning",
                status="open",
                workflow_status="cleaned",
                geom=from_shape(LE_CHAN, srid=4326),
            )
        )


def test_create_report__ward_from_ward_table(session: Session, data_dir: Path) -> None:
    """Without a ward code, the report takes the ward whose polygon (in the DB) contains it."""
    wards = gpd.read_file(data_dir / "boundaries" / "haiphong_wards_2025_official_map.geojson")
    pick = wards[wards["code"].isin(["11383", "11311"])]
    layer = gpd.GeoDataFrame(
        {"code": pick["code"], "name": pick["name"], "unit_type": pick["unit_type"]},
        geometry=pick.geometry,
        crs="EPSG:4326",
    )
    store.replace_layer(session, kind="wards", ward_code=None, gdf=layer, source="official map")
    expected = pick[pick.geometry.covers(LE_CHAN)]["code"].tolist()
    assert expected == ["11383"]
    report = store.create_report(session, service_code="burning", point=LE_CHAN)
    assert report.ward_code == "11383"
    far = store.create_report(session, service_code="burning", point=Point(106.3, 20.9))
    assert far.ward_code is None


def _reports_around(session: Session, rng: np.random.Generator) -> list[Report]:
    """Forty reports within ~120 m of LE_CHAN, mixed in service, status and time."""
    out = []
    for i in range(40):
        point = Point(
            LE_CHAN.x + rng.uniform(-0.0012, 0.0012), LE_CHAN.y + rng.uniform(-0.0011, 0.0011)
        )
        report = store.create_report(
            session,
            service_code="household_waste" if i % 4 else "burning",
            point=point,
            requested_datetime=T0 - dt.timedelta(hours=float(rng.uniform(0, 100))),
            merge_duplicates=False,
        )
        if i % 5 == 0:
            store.set_report_status(session, report.id, workflow_status="cleaned", actor="t")
        out.append(report)
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_find_duplicate_candidate__matches_brute_force(session: Session, seed: int) -> None:
    """The candidate is the nearest open same-service report within 50 m and 72 h (brute force)."""
    rng = np.random.default_rng(seed)
    reports = _reports_around(session, rng)
    session.commit()
    for _ in range(15):
        probe = Point(
            LE_CHAN.x + rng.uniform(-0.001, 0.001), LE_CHAN.y + rng.uniform(-0.001, 0.001)
        )
        eligible = [
            (haversine_m(probe, to_shape(r.geom)), r.id)
            for r in reports
            if r.status == "open"
            and r.service_code == "household_waste"
            and abs(r.requested_datetime - T0) <= dt.timedelta(hours=72)
        ]
        near = sorted((d, rid) for d, rid in eligible if d <= 50)
        if any(abs(d - 50) < 0.5 for d, _ in eligible):
            continue  # sphere vs ellipsoid could disagree this close to the edge
        got = store.find_duplicate_candidate(
            session, point=probe, at=T0, distance_m=50, window_h=72, service_code="household_waste"
        )
        assert (got.id if got else None) == (near[0][1] if near else None)


@pytest.mark.parametrize(
    ("north_m", "delay", "merged"),
    [
        (20, dt.timedelta(minutes=30), True),
        (20, dt.timedelta(hours=71), True),
        (200, dt.timedelta(minutes=30), False),
        (20, dt.timedelta(days=5), False),
    ],
)
def test_create_report__duplicate_rules(
    session: Session, north_m: float, delay: dt.timedelta, merged: bool
) -> None:
    """A second report 20 m / 30 min from an open one is its duplicate; 200 m or 5 days is not."""
    first = store.create_report(
        session, service_code="household_waste", point=LE_CHAN, requested_datetime=T0
    )
    north = Point(LE_CHAN.x, LE_CHAN.y + north_m / 110_700)  # ~north_m at 20.8°N
    assert abs(haversine_m(LE_CHAN, north) - north_m) < 0.01 * north_m
    second = store.create_report(
        session, service_code="household_waste", point=north, requested_datetime=T0 + delay
    )
    session.commit()
    assert (second.duplicate_of == first.id) is merged
    assert (second.workflow_status, second.status) == (
        ("duplicate", "closed") if merged else ("received", "open")
    )
    assert first.workflow_status == "received"


def test_link_duplicate__chains_and_cycles(session: Session) -> None:
    """Linking to a duplicate goes to its original; a cycle is refused; unlink reopens."""
    a, b, c = (
        store.create_report(
            session,
            service_code="burning",
            point=Point(LE_CHAN.x + i * 0.01, LE_CHAN.y),
            merge_duplicates=False,
        )
        for i in range(3)
    )
    store.link_duplicate(session, b.id, duplicate_of=a.id, actor="lan")
    store.link_duplicate(session, c.id, duplicate_of=b.id, actor="lan")
    assert c.duplicate_of == a.id
    with pytest.raises(ValidationError, match="itself"):
        store.link_duplicate(session, a.id, duplicate_of=c.id, actor="lan")
    store.unlink_duplicate(session, b.id, actor="lan", note="khác chỗ")
    assert (b.duplicate_of, b.workflow_status, b.status) == (None, "received", "open")
    with pytest.raises(ValidationError, match="not a duplicate"):
        store.unlink_duplicate(session, b.id, actor="lan")
    session.commit()
    n_rows = session.scalar(
        select(func.count()).select_from(ReportUpdate).where(ReportUpdate.report_id == b.id)
    )
    assert n_rows == 1 + 2 + 2  # created; linked (link + status); unlinked (link + status)


# ------------------------------------------------------------------------------------------
# dump sites and plans
# ------------------------------------------------------------------------------------------


def test_dump_site_status__dates_and_audit(session: Session) -> None:
    """Closing then restoring a dump site stamps the dates and appends one row per change."""
    square = LE_CHAN.buffer(0.0002)
    sites = gpd.GeoDataFrame(
        {"name": ["Bãi ven sông"], "status": ["active"]}, geometry=[square], crs="EPSG:4326"
    )
    store.append_layer(session, kind="dump_sites", ward_code="11383", gdf=sites, source="survey")
    site_id = int(store.load_layer(session, kind="dump_sites").index[0])
    day = dt.date(2026, 4, 2)
    store.set_dump_site_status(session, site_id, status="being_cleaned", actor="đội 3")
    store.set_dump_site_status(session, site_id, status="closed", actor="đội 3", on=day)
    site = store.set_dump_site_status(session, site_id, status="restored", actor="lan", on=day)
    session.commit()
    assert (site.closed_on, site.restored_on) == (day, day)
    history = store.dump_site_history(session, site_id)
    assert [(h.old, h.new) for h in history] == [
        (None, "active"),
        ("active", "being_cleaned"),
        ("being_cleaned", "closed"),
        ("closed", "restored"),
    ]
    with pytest.raises(ValidationError):
        store.set_dump_site_status(session, site_id, status="gone", actor="lan")


def test_plans__saved_and_listed_newest_first(session: Session) -> None:
    """Plans keep per-stream JSON (numpy converted) and GeoJSON results; newest come first."""
    result = points_gdf(2).to_crs("EPSG:32648")
    first = store.save_plan(
        session,
        ward_code="11383",
        kind="points",
        params={"service_radius_m": np.float64(100.0), "p": np.int64(12)},
        summary={"streams": {"food": {"kg_per_day": np.float32(812.5)}, "residual": {}}},
        result=result,
    )
    second = store.save_plan(session, ward_code="11383", kind="routes", params={}, summary={})
    store.save_plan(session, ward_code="11311", kind="points", params={}, summary={})
    session.commit()
    assert [p.id for p in store.list_plans(session, ward_code="11383")] == [second.id, first.id]
    assert [p.id for p in store.list_plans(session, kind="points", ward_code="11383")] == [first.id]
    saved = store.list_plans(session, kind="points", ward_code="11383")[0]
    assert saved.params == {"service_radius_m": 100.0, "p": 12}
    assert saved.summary["streams"]["food"]["kg_per_day"] == 812.5
    features = json.loads(saved.result or "")["features"]
    xs = sorted(f["geometry"]["coordinates"][0] for f in features)
    assert xs == pytest.approx([LE_CHAN.x, LE_CHAN.x + 0.001], abs=1e-9)
    with pytest.raises(ValidationError, match="plan kind"):
        store.save_plan(session, ward_code="x", kind="bins", params={}, summary={})  # type: ignore[arg-type]
