"""Collection routes on real streets: feasibility checked without the solver, street-following
geometry, GPX for drivers, the Vietnamese schedule and clear errors on infeasible input."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from itertools import pairwise

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from gomrac.analysis.errors import InfeasibleError, ValidationError
from gomrac.analysis.routing import Fleet, VehicleType
from gomrac.api.outputs import write_routes
from gomrac.api.routes import RoutesParams, fleet_from_file, plan_routes
from gomrac.api.schedule import schedule_table, write_schedule


def test_routes__feasible_by_independent_check(vanmieu_routes) -> None:
    """Every point once, no trip over capacity, every trip unloads, all within the shift."""
    r = vanmieu_routes
    assert r.violations == []
    stops = r.stops
    clients = stops[stops["kind"] == "client"]
    assert sorted(clients["location"]) == sorted(r.problem.clients)  # each point exactly once
    cap = r.problem.fleet.vehicle_types[0].capacity_kg
    shift_end = r.problem.fleet.vehicle_types[0].shift_end_s
    kg = dict(zip(r.problem.clients, r.problem.demand_kg, strict=True))
    for _, s in stops.groupby("vehicle"):
        s = s.sort_values("seq")
        assert s["kind"].iloc[0] == "garage" and s["kind"].iloc[-1] == "garage"
        assert s["kind"].iloc[-2] == "landfill"  # ends the day empty
        for _, trip in s[s["kind"] != "garage"].groupby("trip"):
            assert trip["kind"].iloc[-1] == "landfill"
            assert sum(kg[c] for c in trip.loc[trip["kind"] == "client", "location"]) <= cap + 1e-6
        assert s["arrival_s"].max() <= shift_end + 1e-6
        assert (np.diff(s["arrival_s"].to_numpy()) >= 0).all()
    assert r.summary["all_points_served_once"] is True


def test_routes__geometry_follows_network(vanmieu_data, vanmieu_routes) -> None:
    """Each trip's line runs along truck-network edges from its first stop's node to its last;
    the network is the ward's with a node inserted at each stop, its streets cut there."""
    G = vanmieu_routes.network
    original = vanmieu_data.truck_graph
    assert set(original.nodes) <= set(G.nodes)
    assert all(G.nodes[n].get("gomrac_stop") for n in set(G.nodes) - set(original.nodes))
    assert len(vanmieu_routes.routes) >= 1
    for row in vanmieu_routes.routes.itertuples():
        nodes = json.loads(row.nodes)
        for u, v in pairwise(nodes):
            assert G.has_edge(u, v), (u, v)
        start, end = row.geometry.coords[0], row.geometry.coords[-1]
        assert start == pytest.approx((G.nodes[nodes[0]]["x"], G.nodes[nodes[0]]["y"]))
        assert end == pytest.approx((G.nodes[nodes[-1]]["x"], G.nodes[nodes[-1]]["y"]))
        length = sum(min(d["length"] for d in G[u][v].values()) for u, v in pairwise(nodes))
        assert length > 0


def test_routes__saving_against_baseline(vanmieu_routes) -> None:
    """The optimised plan costs no more than the nearest-neighbour baseline, costed alike, and
    states where it started from, its lower bound and its gap."""
    s = vanmieu_routes.summary
    assert s["cost_saving_pct"] >= 0
    assert s["origin"] in {"search", "nearest_neighbour", "savings"}
    plan = vanmieu_routes.plan
    assert 0 < plan.lower_bound_vnd <= plan.cost_vnd + 1e-6
    assert s["gap_pct"] == pytest.approx(100 * (1 - plan.lower_bound_vnd / plan.cost_vnd), abs=0.01)
    assert s["status"] in {"optimal", "feasible", "time_limit"}
    # the printed km are rounded to 10 m: the percentage agrees to that precision
    assert s["saving_pct"] == pytest.approx(
        100 * (s["baseline_km"] - s["total_km"]) / s["baseline_km"], abs=0.1
    )
    assert s["co2_kg"] == pytest.approx(s["fuel_l"] * 2.68, rel=0.01)
    assert any("STAND-IN" in n for n in s["notes"])  # Hanoi has no real landfill in the extract


def test_routes__outputs_gpx_and_schedule(
    vanmieu_data, vanmieu_points, vanmieu_routes, tmp_path
) -> None:
    """GPX files parse with one track point per line vertex.

    The schedule lists every group in Vietnamese.
    """
    files = write_routes(vanmieu_routes, tmp_path, attribution=vanmieu_data.attribution())
    gpx = [v for k, v in files.items() if k.startswith("gpx_")]
    assert gpx
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    root = ET.parse(gpx[0]).getroot()
    trkpts = root.findall(".//g:trkpt", ns)
    lines = vanmieu_routes.routes[vanmieu_routes.routes["vehicle"] == "1"]
    assert len(trkpts) == sum(len(g.coords) for g in lines.geometry)
    assert "OpenStreetMap" in root.find(".//g:copyright", ns).get("author")
    from gomrac.api.routes import point_demand

    pts = vanmieu_points.proposed.to_crs(4326)
    _, walks_to = point_demand(vanmieu_data, pts)
    table = schedule_table(
        vanmieu_data, [vanmieu_routes], walks_to, list(pts["name"]), list(pts["street"])
    )
    out = write_schedule(table, tmp_path, ward="Văn Miếu", notes=["mẫu"])
    csv = pd.read_csv(out["schedule_csv"], encoding="utf-8-sig")
    assert list(csv.columns)[:3] == ["Tổ dân phố", "Số hộ", "Điểm tập kết"]
    served_groups = set(vanmieu_data.groups["name"])
    assert set(csv["Tổ dân phố"]) <= served_groups
    assert len(set(csv["Tổ dân phố"])) >= 0.9 * len(served_groups)
    assert csv["Xe thu gom đến khoảng"].str.match(r"^\d\d:\d\d–\d\d:\d\d$").all()
    from pathlib import Path

    html = Path(out["schedule_html"]).read_text(encoding="utf-8")
    assert "Lịch thu gom rác sinh hoạt" in html and "OpenStreetMap" in html


def test_routes__written_again_keeps_no_old_gpx(vanmieu_data, vanmieu_routes, tmp_path) -> None:
    """A folder written again holds one GPX per vehicle of this plan, not an old vehicle's."""
    gpx = tmp_path / "gpx"
    gpx.mkdir()
    (gpx / "xe_99.gpx").write_text("<gpx/>", encoding="utf-8")
    files = write_routes(vanmieu_routes, tmp_path, attribution=vanmieu_data.attribution())
    written = {p.rsplit("/", 1)[-1] for k, p in files.items() if k.startswith("gpx_")}
    vehicles = set(vanmieu_routes.routes["vehicle"].astype(str))
    assert {p.name for p in gpx.glob("*.gpx")} == written == {f"xe_{v}.gpx" for v in vehicles}


def test_routes__demand_above_every_capacity(vanmieu_data, vanmieu_points) -> None:
    """A fleet of 1 t trucks cannot take a 2.5 t point: the error names the point."""
    fleet = Fleet((VehicleType(count=5, capacity_kg=1000, garage=0),))
    with pytest.raises(InfeasibleError, match="above every vehicle's capacity"):
        plan_routes(
            vanmieu_data,
            vanmieu_points.proposed.to_crs(4326),
            params=RoutesParams(fleet=fleet, time_limit_s=2, two_tier=False),
        )


def test_routes__shift_too_short(vanmieu_data, vanmieu_points) -> None:
    """A 10-minute shift cannot reach a point and unload: a clear message, not a bad plan."""
    fleet = Fleet(
        (VehicleType(count=30, garage=0, shift_start_s=20 * 3600, shift_end_s=20 * 3600 + 600),)
    )
    with pytest.raises(InfeasibleError, match="shift"):
        plan_routes(
            vanmieu_data,
            vanmieu_points.proposed.to_crs(4326),
            params=RoutesParams(fleet=fleet, time_limit_s=2, two_tier=False),
        )


def test_fleet_from_file(tmp_path) -> None:
    """A fleet CSV sets counts, capacities and a night shift crossing midnight."""
    path = tmp_path / "fleet.csv"
    path.write_text(
        "name,count,capacity_kg,shift_start,shift_end,unload_min\n"
        "xe ép 5 tấn,3,5000,19:00,03:00,15\n",
        encoding="utf-8",
    )
    fleet = fleet_from_file(path)
    vt = fleet.vehicle_types[0]
    assert (vt.count, vt.capacity_kg, vt.unload_s) == (3, 5000.0, 900.0)
    assert (vt.shift_start_s, vt.shift_end_s) == (19 * 3600, 27 * 3600)
    path.write_text("name,capacity_kg\nxe,5000\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="'count' is required"):
        fleet_from_file(path)


def test_fleet_from_file__bad_values(tmp_path) -> None:
    """A count in words or a time without minutes names the vehicle type and the value."""
    path = tmp_path / "fleet.csv"
    path.write_text("count,capacity_kg\ntwo,5000\n", encoding="utf-8")
    with pytest.raises(ValidationError, match=r"vehicle type 1: .*'two'"):
        fleet_from_file(path)
    path.write_text("count,shift_start\n2,6h\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="time '6h' is not HH:MM"):
        fleet_from_file(path)


def test_choose_landfill__file_without_trang_cat(settings, tmp_path, data_dir) -> None:
    """A facilities file without Tràng Cát gives its nearest facility, with a note."""
    from gomrac.geo.facilities import choose_landfill, load_facilities
    from gomrac.geo.wards import find_ward

    path = tmp_path / "fac.csv"
    path.write_text(
        "name,lon,lat\nTrạm trung chuyển A,106.69,20.83\nBãi B,106.50,20.95\n", encoding="utf-8"
    )
    row, note = choose_landfill(
        load_facilities(path, settings=settings),
        find_ward("Lê Chân", settings=settings).geometry,
    )
    assert row["name"].iloc[0] == "Trạm trung chuyển A"
    assert "not in the facilities file" in note


def test_routes__drive_home_closes_last_trip(vanmieu_routes) -> None:
    """Every route line belongs to a trip that unloads: no extra 'trip' for the drive home."""
    stops = vanmieu_routes.stops
    unloading_trips = set(
        zip(
            stops.loc[stops["kind"] == "landfill", "vehicle"],
            stops.loc[stops["kind"] == "landfill", "trip"],
            strict=True,
        )
    )
    assert (
        set(zip(vanmieu_routes.routes["vehicle"], vanmieu_routes.routes["trip"], strict=True))
        <= unloading_trips
    )


def test_routes__km_are_the_drawn_streets(vanmieu_data, vanmieu_routes) -> None:
    """The plan's kilometres are those of the lines drivers get (fastest paths), to 0.1 %: every
    stop is a node of the truck network, so no straight leg is counted that is not drawn."""
    G = vanmieu_routes.network
    r = vanmieu_routes
    drawn_m = 0.0
    for row in r.routes.itertuples():
        nodes = json.loads(row.nodes)
        for u, v in pairwise(nodes):
            fastest = min(G[u][v].values(), key=lambda d: d["travel_time"])
            drawn_m += fastest["length"]
    total_m = r.plan.total_km * 1000
    assert drawn_m > 0
    assert total_m == pytest.approx(drawn_m, rel=1e-3)


def test_routes__gpx_stops_on_their_tracks(vanmieu_data, vanmieu_routes, tmp_path) -> None:
    """Every GPX waypoint lies on its vehicle's track (within 1 m), and its crew walk is stated."""
    import shapely
    from shapely.geometry import Point

    files = write_routes(vanmieu_routes, tmp_path, attribution=vanmieu_data.attribution())
    ns = {"g": "http://www.topografix.com/GPX/1/1"}
    checked = 0
    for key, path in files.items():
        if not key.startswith("gpx_"):
            continue
        root = ET.parse(path).getroot()
        track = shapely.MultiLineString(
            [
                [(float(p.get("lon")), float(p.get("lat"))) for p in seg.findall("g:trkpt", ns)]
                for seg in root.iterfind(".//g:trkseg", ns)
            ]
        )
        track_m = gpd.GeoSeries([track], crs=4326).to_crs(32648).iloc[0]
        for wpt in root.iterfind("g:wpt", ns):
            pt = gpd.GeoSeries([Point(float(wpt.get("lon")), float(wpt.get("lat")))], crs=4326)
            assert track_m.distance(pt.to_crs(32648).iloc[0]) < 1.0
            checked += 1
    assert checked > 0
    clients = vanmieu_routes.stops[vanmieu_routes.stops["kind"] == "client"]
    assert (clients["walk_m"] <= vanmieu_routes.summary["max_stop_walk_m"]).all()


def test_truck_stops__on_streets_reached_on_foot(vanmieu_data) -> None:
    """Each stop is a point of a truck street, its walk within the limit and equal to networkx's;
    the split network keeps every street's length and stays strongly connected."""
    import networkx as nx
    import shapely

    from gomrac.analysis.distance import truck_stops
    from gomrac.geo.network import routable

    G, walk = vanmieu_data.truck_graph, vanmieu_data.walk_arrays
    rng = np.random.default_rng(7)
    idx = rng.choice(len(walk.xy), size=400, replace=False)
    pts = gpd.GeoSeries(gpd.points_from_xy(*walk.xy[idx].T), crs=32648)
    buildings = vanmieu_data.metric_layers["buildings"].geometry
    stops = truck_stops(G, walk, pts, max_walk_m=60.0, obstacles=buildings)
    G2 = stops.graph
    total = sum(d["length"] for _, _, d in G.edges(data=True))
    assert sum(d["length"] for _, _, d in G2.edges(data=True)) == pytest.approx(total, rel=1e-9)
    assert nx.number_strongly_connected_components(G2) == 1
    W = routable(vanmieu_data.networks.cart).to_undirected()
    reached = 0
    for i, node in enumerate(stops.node):
        if node < 0:
            assert stops.reasons[i] and "60 m on foot" in stops.reasons[i]
            continue
        reached += 1
        assert stops.walk_m[i] <= 60.0
        stop = gpd.GeoSeries(
            gpd.points_from_xy([G2.nodes[node]["x"]], [G2.nodes[node]["y"]]), crs=4326
        ).to_crs(32648)
        if stops.straight_walk[i]:  # no building between the point and the street
            segment = shapely.LineString([pts.iloc[i], stop.iloc[0]])
            assert not buildings.crosses(segment).any()
            assert stops.walk_m[i] == pytest.approx(pts.iloc[i].distance(stop.iloc[0]), abs=0.5)
            continue
        (target,), (snap,) = walk.snap(stop)
        want = nx.shortest_path_length(
            W, int(walk.nodes[idx[i]]), int(walk.nodes[target]), weight="length"
        )
        assert stops.walk_m[i] == pytest.approx(want + snap, abs=0.5)
    assert reached > 20
    assert 0 < stops.straight_walk.sum() < reached  # both kinds of walk occur


def test_routes__ward_routes_as_baseline(vanmieu_data, vanmieu_points, vanmieu_routes, tmp_path):
    """The ward's current routes (a CSV) start the search: the plan costs no more than them."""
    from gomrac.api.routes import baseline_from_file

    stops = vanmieu_routes.stops
    clients = stops[stops["kind"] == "client"].sort_values(["vehicle", "seq"])
    path = tmp_path / "current.csv"
    # today's routes: every point on one truck, in reverse of the plan's order
    pd.DataFrame({"vehicle": 1, "point": clients["name"].to_list()[::-1]}).to_csv(path, index=False)
    res = plan_routes(
        vanmieu_data,
        vanmieu_points.proposed.to_crs(4326),
        params=RoutesParams(time_limit_s=5, two_tier=False, baseline=baseline_from_file(path)),
    )
    assert res.violations == []
    assert res.summary["user_baseline_km"] > 0
    assert res.summary["user_baseline_saving_pct"] >= 0
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"vehicle": [1], "point": ["Ngõ không có"]}).to_csv(bad, index=False)
    with pytest.raises(ValidationError, match="neither a point name nor a number"):
        plan_routes(
            vanmieu_data,
            vanmieu_points.proposed.to_crs(4326),
            params=RoutesParams(time_limit_s=5, two_tier=False, baseline=baseline_from_file(bad)),
        )


def test_fleet_from_file__electric(tmp_path) -> None:
    """Electric vehicle types read their energy fields; a charger too slow for the time off
    between shifts is refused with the reason."""
    from gomrac.analysis.energy import Electric

    path = tmp_path / "fleet.csv"
    path.write_text(
        "name,count,energy,kwh_per_km,battery_kwh,charge_kw,shift_start,shift_end\n"
        "diesel 7 t,3,diesel,,,,18:00,02:00\n"
        "electric 7 t,2,electric,1.2,240,60,18:00,02:00\n",
        encoding="utf-8",
    )
    fleet = fleet_from_file(path)
    ev = fleet.vehicle_types[1].drivetrain
    assert isinstance(ev, Electric) and ev.range_km == pytest.approx(200.0)
    assert fleet.vehicle_types[1].range_m == pytest.approx(200_000.0)
    assert fleet.vehicle_types[0].range_m == float("inf")
    path.write_text(
        "name,count,energy,battery_kwh,charge_kw\nelectric,1,electric,300,10\n", encoding="utf-8"
    )
    with pytest.raises(ValidationError, match="to charge 300 kWh at 10 kW"):
        fleet_from_file(path)


def test_truck_rules__largest_vehicle_of_the_fleet(tmp_path) -> None:
    """The truck network is built for the fleet's widest, heaviest and tallest vehicle."""
    from gomrac.api.routes import truck_rules
    from gomrac.geo.restrictions import COMPACTOR_TRUCK

    path = tmp_path / "fleet.csv"
    path.write_text(
        "name,count,width_m,gross_weight_t\nsmall,2,1.9,5\nlarge,1,2.5,16\n", encoding="utf-8"
    )
    fleet = fleet_from_file(path)
    truck = truck_rules(fleet).truck
    assert (truck.width_m, truck.gross_weight_t) == (2.5, 16)
    assert truck.height_m == COMPACTOR_TRUCK.height_m  # no type gives one: the default stays
    path.write_text("name,count,width_m\nbad,1,-2\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="width_m must be positive"):
        fleet_from_file(path)
