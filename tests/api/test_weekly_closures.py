"""Time-limited closures in the weekly plan, on the real streets of Hanoi's Old Quarter.

Provenance: the central-Hanoi OSM extract of the shared data (2023-12-13); the box below holds
the Hoàn Kiếm walking streets, closed to motor vehicles on weekend evenings
(``motor_vehicle:conditional``). The closures are read again from the raw XML by
tests/osm_conditionals.py, which shares no code with gomrac.
"""

from __future__ import annotations

import math
import warnings
from datetime import date
from pathlib import Path

import geopandas as gpd
import gpxpy
import numpy as np
import pytest
from osm_conditionals import closed_by_hand, conditional_ways, way_lines
from shapely.geometry import LineString, box

from gomrac.analysis.routing import Fleet, VehicleType
from gomrac.api.check import check_week
from gomrac.api.pipeline import load_ward_data
from gomrac.api.points import PointsParams, plan_points
from gomrac.api.routes import MAX_STOP_WALK_M
from gomrac.api.weekly import (
    SAMPLE_LABEL,
    _day_networks,
    _open_every_shift,
    assignment_from_points_plan,
    plan_week,
    write_week,
)
from gomrac.geo.crs import METRIC_CRS
from gomrac.geo.settings import Settings

WEEK = date(2026, 12, 7)  # a Monday
OLD_QUARTER = box(105.846, 21.030, 105.856, 21.038)
FLEET = Fleet((VehicleType(count=4),))  # night shifts 18:00-02:00


def _shift_hours(vt: VehicleType) -> list[float]:
    """Every half hour of a shift, hours after midnight of its first day."""
    end = vt.shift_end_s if math.isfinite(vt.shift_end_s) else vt.shift_start_s + 86_400
    return list(np.arange(vt.shift_start_s, end, 1800.0) / 3600.0)


def _closed_during_shift(value: str, day: int, vt: VehicleType) -> bool:
    return any(closed_by_hand(value, (day + int(h // 24)) % 7, h % 24) for h in _shift_hours(vt))


@pytest.fixture(scope="module")
def oq_data(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("areas") / "old_quarter.geojson"
    gpd.GeoDataFrame(
        {"name": ["Phố cổ Hoàn Kiếm (Hà Nội, mẫu)"]}, geometry=[OLD_QUARTER], crs=4326
    ).to_file(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_ward_data(boundary=path, settings=Settings())


@pytest.fixture(scope="module")
def oq_week(oq_data, tmp_path_factory: pytest.TempPathFactory):
    points = plan_points(oq_data, params=PointsParams(time_limit_s=20))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plan = plan_week(
            oq_data,
            points.proposed,
            fleet=FLEET,
            assignment=assignment_from_points_plan(oq_data, points),
            week_start=WEEK,
            time_limit_s=10,
            max_iterations=300,
        )
    out = tmp_path_factory.mktemp("oq_week")
    write_week(plan, out, label=SAMPLE_LABEL, attribution=oq_data.attribution())
    return plan, out


def test_day_networks__walking_streets_open_on_weekdays_only(oq_data, hanoi_streets_file) -> None:
    """Monday's shifts keep the walking streets, Saturday's have none of them, as the XML says."""
    path = str(hanoi_streets_file)
    conditional = conditional_ways(path)
    G = oq_data.truck_graph
    open_graph, note = _open_every_shift(G, FLEET)
    assert note is not None
    networks = {
        d: net for days, net, _ in _day_networks(G, open_graph, open_graph, FLEET) for d in days
    }
    assert len({id(net) for net in networks.values()}) >= 2

    def ways(net) -> set[int]:
        ids = (d["osmid"] for _, _, d in net.edges(data=True))
        return {w for v in ids for w in (v if isinstance(v, list) else [v])} & set(conditional)

    vt = FLEET[0]
    in_truck = ways(G)
    saturday = {w for w in in_truck if _closed_during_shift(conditional[w], 5, vt)}
    monday = {w for w in in_truck if _closed_during_shift(conditional[w], 0, vt)}
    assert len(saturday) >= 10  # Tạ Hiện, Hàng Buồm, Mã Mây ...
    assert not ways(networks[5]) & saturday
    assert ways(networks[5]) == in_truck - saturday
    assert ways(networks[0]) == in_truck - monday
    assert saturday - monday <= ways(networks[0])  # open on Monday night, so usable then


def test_plan_week__no_route_on_a_street_closed_during_its_shift(oq_week, hanoi_streets_file):
    """No route line runs along a way the raw XML closes at any half hour of that day's shift."""
    plan, _ = oq_week
    path = str(hanoi_streets_file)
    conditional = conditional_ways(path)
    lines = gpd.GeoSeries(list(way_lines(path).values()), index=list(way_lines(path)), crs=4326)
    lines = lines.to_crs(METRIC_CRS)
    routes = plan.routes.to_crs(METRIC_CRS)
    vt = FLEET[0]
    checked = 0
    for day in range(7):
        closed = [w for w in lines.index if _closed_during_shift(conditional[w], day, vt)]
        todays = routes[routes["service_day"] == day]
        if closed and len(todays):
            checked += 1
            shared = todays.geometry.union_all().intersection(lines.loc[closed].union_all())
            assert shared.length < 1.0, f"day {day}: {shared.length:.0f} m on closed streets"
    assert checked >= 3  # Friday, Saturday and Sunday shifts have closures and routes


def test_plan_week__old_quarter_checker_finds_no_violation(oq_week) -> None:
    """The plan with per-day networks passes the independent checker; the km are the lines."""
    plan, out = oq_week
    assert check_week(out) == []
    assert plan.overall["solver_violations"] == 0
    assert plan.routes["km"].sum() == pytest.approx(plan.overall["km_per_week"], rel=1e-3)


def test_plan_week__points_on_walking_streets_served_from_open_streets(
    oq_week, hanoi_streets_file
) -> None:
    """A point standing on a street closed on weekend evenings is still collected on those
    evenings: its truck passes within the crew's walk on a street open then (the drive itself
    is checked above), and the GPX of that shift shows it there."""
    plan, out = oq_week
    path = str(hanoi_streets_file)
    conditional = conditional_ways(path)
    lines = way_lines(path)
    vt = FLEET[0]
    closed_sat = [w for w in lines if _closed_during_shift(conditional[w], 5, vt)]
    closed_m = gpd.GeoSeries([lines[w] for w in closed_sat], crs=4326).to_crs(METRIC_CRS)
    pts = plan.points.to_crs(METRIC_CRS).set_index("point_id")
    on_closed = [p for p, g in pts.geometry.items() if float(closed_m.distance(g).min()) < 1.0]
    assert on_closed  # e.g. a point on Phố Đinh Tiên Hoàng
    sat = plan.visits[(plan.visits["service_day"] == 5) & plan.visits["point_id"].isin(on_closed)]
    assert len(sat) >= len(on_closed)  # every one of them is collected on Saturday
    for row in sat.itertuples():
        gpx_path = Path(out) / "gpx" / f"{row.vehicle}_5.gpx"
        with gpx_path.open(encoding="utf-8") as fh:
            gpx = gpxpy.parse(fh)
        track = [
            (q.longitude, q.latitude) for t in gpx.tracks for s in t.segments for q in s.points
        ]
        line = gpd.GeoSeries([LineString(track)], crs=4326).to_crs(METRIC_CRS).iloc[0]
        assert line.distance(pts.geometry[row.point_id]) <= MAX_STOP_WALK_M
        assert row.point_id in {w.name for w in gpx.waypoints}
