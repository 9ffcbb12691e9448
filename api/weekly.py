"""The weekly service plan of a ward: one plan per waste stream, and every output derived from it.

`plan_week` takes the ward's data and its gathering points, assigns every demand unit to one
point once (the points plan's own capacitated assignment, `assignment_from_points_plan`), sizes
the bins of each point and stream, and solves the weekly periodic routing problem with
`gomrac.analysis.weekly.plan_periodic` on the real truck network. `write_week` writes the views
of that one plan: ``visits.csv``, ``points.csv``, ``trips.csv``, ``facilities.csv``, the street
lines (GeoJSON), a GPX file per vehicle and day, and the published schedule per residential group
in Vietnamese (HTML, CSV, one iCalendar file per group); `gomrac.api.check.check_week` re-reads
them.

Clock and calendar: day 0 is the Monday of ``week_start``; a shift starts on its service day and
may run past midnight, so a visit at 00:40 carries the next day's weekday and date.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import shutil
import warnings
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo

import geopandas as gpd
import icalendar
import numpy as np
import pandas as pd
import pyproj
from shapely.geometry import LineString, Point

from gomrac.analysis.distance import (
    GraphArrays,
    cost_matrix,
    nearest_source_cost,
    path_line,
    path_nodes,
    truck_stops,
)
from gomrac.analysis.errors import ApproximateDataWarning, InfeasibleError, ValidationError
from gomrac.analysis.routing import Fleet, VehicleType
from gomrac.analysis.weekly import (
    PeriodicProblem,
    StreamService,
    WeeklyPlan,
    bins_for,
    choose_frequency,
    longest_gap_days,
    plan_periodic,
    visit_patterns,
)
from gomrac.api.points import aggregate_by_node
from gomrac.api.routes import MAX_FACILITY_SNAP_M, MAX_STOP_WALK_M
from gomrac.api.templating import render
from gomrac.geo.crs import METRIC_CRS, WGS84, to_metric
from gomrac.geo.gpx import write_gpx
from gomrac.geo.layers import remove_stale, save_layer
from gomrac.geo.osm import OSM_ATTRIBUTION
from gomrac.geo.streams import StreamSet, facilities_for_streams, load_streams

if TYPE_CHECKING:
    from collections.abc import Callable

    from gomrac.api.pipeline import WardData
    from gomrac.api.points import PointsPlan

log = logging.getLogger(__name__)

WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")
ICAL_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
VEHICLE_PREFIX = {"food": "TP", "recyclable": "TC", "residual": "CL"}
TIMEZONE = "Asia/Ho_Chi_Minh"
#: Households bring waste out this long before the truck's planned arrival (minutes).
LEAD_MIN = 30
#: Half-width of the announced arrival window (minutes).
WINDOW_MIN = 15
SAMPLE_LABEL = "MẪU HÀ NỘI / Hanoi sample"
_GEOD = pyproj.Geod(ellps="WGS84")


@dataclass(frozen=True)
class WeekParams:
    """Service-time and calendar parameters of a weekly plan (units in the names).

    ``service_base_s`` is the manoeuvre, stop and start at a point and ``service_per_bin_s`` the
    lift and tip of one bin (local assumptions, as in `gomrac.api.routes.RoutesParams`).
    """

    service_base_s: float = 120.0
    service_per_bin_s: float = 30.0
    garage_lonlat: tuple[float, float] | None = None
    max_walk_m: float = MAX_STOP_WALK_M  # the crew's walk from a truck stop to its point


def _line_km(line: LineString) -> float:
    """Geodesic length of a lon/lat line on the WGS84 ellipsoid, km."""
    return float(_GEOD.geometry_length(line)) / 1000.0


def assignment_from_points_plan(data: WardData, plan: PointsPlan) -> pd.DataFrame:
    """Each demand unit's share of households going to each point, from the points plan.

    The points plan assigns merged (and, for large blocks, split) demand to sites with its
    capacitated model; this maps it back to the ward's demand units, so bins, loads, routes and
    the schedule all use that one assignment.

    Returns
    -------
    pandas.DataFrame
        ``unit`` (row of ``data.demand``), ``point_id``, ``share`` (0–1).
    """
    demand = data.require_demand()
    _, unit_to_agg = aggregate_by_node(demand, data.walk_arrays)
    md = plan.model_demand
    assign = np.asarray(plan.result.assignment)
    n_fixed = len(plan.existing)
    site_id: dict[int, str] = {}
    for j in range(n_fixed):
        row = plan.existing.iloc[j]
        site_id[j] = str(row.get("point_id", row.get("name", f"HT-{j + 1:03d}")))
    for k, s in enumerate(plan.result.new_sites):
        site_id[int(s)] = str(plan.proposed["point_id"].iloc[k])
    hh_agg = md.groupby("agg_id")["households"].sum()
    parts = pd.DataFrame(
        {
            "agg_id": md["agg_id"].to_numpy(),
            "site": assign,
            "w": md["households"].to_numpy()
            / np.maximum(hh_agg.reindex(md["agg_id"]).to_numpy(), 1e-12),
        }
    )
    parts = parts[parts["site"] >= 0]
    parts["point_id"] = parts["site"].map(site_id)
    share = parts.groupby(["agg_id", "point_id"], as_index=False)["w"].sum()
    units = pd.DataFrame({"unit": np.arange(len(demand)), "agg_id": unit_to_agg})
    out = units.merge(share, on="agg_id").rename(columns={"w": "share"})
    return out[["unit", "point_id", "share"]].reset_index(drop=True)


def _nearest_assignment(data: WardData, pts: gpd.GeoDataFrame, ids: list[str]) -> pd.DataFrame:
    demand = data.require_demand()
    _, which = nearest_source_cost(data.walk_arrays, pts.geometry, demand.geometry)
    ok = which >= 0
    return pd.DataFrame(
        {
            "unit": np.flatnonzero(ok),
            "point_id": [ids[j] for j in which[ok]],
            "share": 1.0,
        }
    )


def default_week_fleet(day_kg: float) -> Fleet:
    """Enough 7 t compactors (night shift) for a stream's largest day in one trip each."""
    vt = VehicleType()
    return Fleet((VehicleType(count=max(2, math.ceil(day_kg / vt.capacity_kg) + 1)),))


def _fleet_by_collection(
    fleet: Fleet, codes: tuple[str, ...], garage_index: dict[tuple[float, float], int]
) -> tuple[tuple[tuple[str, ...], ...], dict[str, Fleet]]:
    """Split a fleet file's vehicle types among the collections they serve.

    A split-body type (two or more compartments) co-collects its compartments' streams; a type
    with one compartment is dedicated to that stream (its capacity the compartment's); every
    other stream gets its own copies of the single-body types. Each type's garage is its own
    location (`garage_index`, from ``garage_lonlat``) or the plan's (index 0).

    Returns
    -------
    tuple
        The co-collected groups (stream order) and the fleet of each collection, keyed by the
        stream or ``"+".join(group)``.

    Raises
    ------
    ValidationError
        For a compartment of a stream the plan does not have, a stream in two compartment
        layouts or also with trucks of its own, or a stream no vehicle type collects.
    """
    groups: list[tuple[str, ...]] = []
    by_key: dict[str, list[VehicleType]] = {}
    plain: list[VehicleType] = []
    for vt in fleet:
        home = garage_index[vt.garage_lonlat] if vt.garage_lonlat is not None else 0
        if not vt.compartments:
            plain.append(replace(vt, garage=home))
            continue
        unknown = [c.stream for c in vt.compartments if c.stream not in codes]
        if unknown:
            msg = (
                f"fleet: vehicle type {vt.name!r} has a compartment for {unknown[0]!r}, not a "
                f"stream of this plan ({', '.join(codes)})"
            )
            raise ValidationError(msg)
        comps = tuple(sorted(vt.compartments, key=lambda c: codes.index(c.stream)))
        carried = tuple(c.stream for c in comps)
        if len(comps) == 1:
            body = replace(
                vt,
                garage=home,
                compartments=(),
                capacity_kg=comps[0].capacity_kg,
                capacity_m3=min(vt.capacity_m3, comps[0].capacity_m3),
            )
        else:
            body = replace(vt, garage=home, compartments=comps)
            if carried not in groups:
                groups.append(carried)
        by_key.setdefault("+".join(carried), []).append(body)
    grouped = [s for g in groups for s in g]
    for s in grouped:
        if grouped.count(s) > 1:
            msg = (
                f"fleet: stream {s!r} is in two compartment layouts; a stream is co-collected "
                "by one layout (compartment_<stream>_kg columns)"
            )
            raise ValidationError(msg)
        if s in by_key:
            msg = (
                f"fleet: stream {s!r} is co-collected by split-body trucks and also has trucks "
                "of its own; give it one or the other"
            )
            raise ValidationError(msg)
    for s in codes:
        if s in grouped or s in by_key:
            continue
        if not plain:
            msg = (
                f"fleet: no vehicle type collects {s!r} waste (add a type without compartments "
                f"or with compartment_{s}_kg)"
            )
            raise ValidationError(msg)
        by_key[s] = list(plain)
    ordered = sorted(groups, key=lambda g: codes.index(g[0]))
    return tuple(ordered), {k: Fleet(tuple(v)) for k, v in by_key.items()}


def _stream_capacity_kg(stream: str, by_collection: dict[str, Fleet]) -> float:
    """Most of `stream` one trip can carry: its compartment, or a dedicated truck's body."""
    caps = [
        next((c.capacity_kg for c in vt.compartments if c.stream == stream), vt.capacity_kg)
        for key, fleet in by_collection.items()
        if stream in key.split("+")
        for vt in fleet
    ]
    return max(caps)


def _shift_windows(fleet: Fleet, day: int) -> list[tuple[Any, Any]]:
    """Return the windows of the week the shifts starting on `day` (0 = Monday) cover."""
    from gomrac.geo.restrictions import shift_windows

    return [
        shift_windows(
            vt.shift_start_s / 3600.0,
            vt.shift_end_s / 3600.0 if math.isfinite(vt.shift_end_s) else 24.0 + 24.0,
        )[day]
        for vt in fleet
    ]


def _open_every_shift(G: Any, fleet: Fleet) -> tuple[Any, str | None]:
    """Return the truck network without the streets closed during any shift of the week.

    Time-limited closures (``motor_vehicle:conditional`` and the like, read into weekly intervals
    by `gomrac.geo.network`) apply when the truck passes. The stops are placed on this network,
    so every point can be reached on every day; each day's routes then drive on that day's own
    network (`_day_networks`).
    """
    from gomrac.geo.network import routable
    from gomrac.geo.restrictions import network_open_during

    windows = [w for day in range(7) for w in _shift_windows(fleet, day)]
    open_graph = network_open_during(G, windows)
    closed = int(open_graph.graph.get("gomrac_closed_edges", 0))
    if not closed:
        return G, None
    return routable(open_graph), (
        f"{closed} truck-street edges are closed during some shift of the week (time-limited "
        "restrictions): no gathering point is served from them, and each day's routes use "
        "them only on the days they are open for the whole shift"
    )


def _day_networks(
    G: Any, open_graph: Any, with_stops: Any, fleet: Fleet
) -> list[tuple[tuple[int, ...], Any, int]]:
    """Return the truck network of each day's shifts, days with the same closures together.

    Parameters
    ----------
    G
        The whole truck network, with each edge's weekly closures.
    open_graph
        `G` without the streets closed during any shift (`_open_every_shift`).
    with_stops
        `open_graph` with the stops inserted (`gomrac.analysis.distance.truck_stops`).
    fleet
        The vehicles whose shifts are planned.

    Returns
    -------
    list
        ``(days, network, closed edges)``: `with_stops` plus the streets of `G` open during
        every shift starting on those days (0 = Monday), and how many edges are closed then.
    """
    from gomrac.geo.restrictions import closed_between

    full = with_stops.copy()
    for u, v, k, attrs in G.edges(keys=True, data=True):
        if not open_graph.has_edge(u, v, k):
            for n in (u, v):
                if n not in full:
                    full.add_node(n, **G.nodes[n])
            full.add_edge(u, v, key=k, **attrs)
    by_closure: dict[frozenset[Any], list[int]] = {}
    for day in range(7):
        closed: set[Any] = set()
        for start, end in _shift_windows(fleet, day):
            closed |= closed_between(full, start, end)
        by_closure.setdefault(frozenset(closed), []).append(day)
    out = []
    for closed_edges, days in by_closure.items():
        net = full.copy()
        net.remove_edges_from(closed_edges)
        out.append((tuple(days), net, len(closed_edges)))
    return out


def _day_costs(
    networks: list[tuple[tuple[int, ...], Any, int]], arrays: GraphArrays, node_of: np.ndarray
) -> tuple[dict[int, tuple[np.ndarray, np.ndarray]], dict[int, tuple[Any, GraphArrays]]]:
    """Travel times and km between the plan's locations on each day's network.

    A day whose network does not join every location (a stop reached only through streets
    closed that day cannot be: stops stand on streets open in every shift) keeps the default
    matrices.
    """
    costs: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    graphs: dict[int, tuple[Any, GraphArrays]] = {}
    ids = arrays.nodes[node_of]
    for days, net, _closed in networks:
        day_arrays = GraphArrays.from_graph(net, weight="travel_time")
        where = {int(n): i for i, n in enumerate(day_arrays.nodes.tolist())}
        pos = np.array([where[int(n)] for n in ids], dtype=np.int64)
        locs = gpd.GeoSeries(gpd.points_from_xy(*day_arrays.xy[pos].T), crs=METRIC_CRS)
        if not np.array_equal(day_arrays.snap(locs)[0], pos):
            continue
        dur = cost_matrix(day_arrays, locs, locs, include_access=False)
        dist = cost_matrix(day_arrays, locs, locs, measure="length", include_access=False)
        if not (np.isfinite(dur).all() and np.isfinite(dist).all()):
            continue
        for d in days:
            costs[d] = (dur, dist)
            graphs[d] = (net, day_arrays)
    return costs, graphs


def _stand_in_facility(data: WardData) -> Point:
    """Return the truck-network node farthest from the area's centre (a labelled stand-in)."""
    arrays = data.truck_arrays
    c = data.area.metric_geometry().centroid
    far = int(np.argmax(np.hypot(arrays.xy[:, 0] - c.x, arrays.xy[:, 1] - c.y)))
    return Point(arrays.xy[far])


def plan_week(
    data: WardData,
    points: gpd.GeoDataFrame,
    *,
    streams: StreamSet | None = None,
    fleet: Fleet | None = None,
    assignment: pd.DataFrame | None = None,
    facilities: gpd.GeoDataFrame | None = None,
    params: WeekParams | None = None,
    week_start: date | None = None,
    time_limit_s: float = 30.0,
    max_iterations: int | None = None,
    seed: int = 0,
    on_progress: Callable[[float], None] | None = None,
) -> WeeklyPlan:
    """Plan a ward's week: bins, visiting days and routes per stream, from one assignment.

    Parameters
    ----------
    data
        The ward's data (networks, demand units, residential groups).
    points
        Gathering points (any CRS) with ``point_id`` (else numbered) and optionally ``name`` and
        ``street``.
    streams
        Stream definitions (`gomrac.geo.streams.load_streams`); the packaged defaults if None.
    fleet
        Vehicle types (`gomrac.api.routes.fleet_from_file`): a split-body type (two or more
        compartments) co-collects its streams, which then share one visiting pattern per point
        (the higher of their frequencies) and one stop per visit, each trip tipping every
        compartment at its own stream's facility; a type with one compartment is dedicated to
        that stream; the types without compartments serve every other stream, each with its
        own copies. A type's ``garage_lonlat`` is snapped to the truck network and its routes
        start and end there. Default: `default_week_fleet` per stream.
    assignment
        ``unit, point_id, share`` from `assignment_from_points_plan`; if None every demand unit
        goes to its nearest point on foot (stated in the notes).
    facilities
        All known facilities (EPSG:4326, ``fid, name, kind``); default ``data.facilities``.
        Without any, a labelled stand-in at the edge of the road extract takes every stream.
    params
        Service times and the garage.
    week_start
        Monday of the first week (default: the next Monday).
    time_limit_s
        Routing budget for the whole week, seconds.
    max_iterations
        Optional PyVRP iteration cap per day problem.
    seed
        Seed of HiGHS and PyVRP.
    on_progress
        Told the share of the routing done (`gomrac.analysis.weekly.plan_periodic`); an
        exception it raises stops the plan between two day problems.

    Returns
    -------
    WeeklyPlan

    Raises
    ------
    ValidationError
        With no points, or a ``week_start`` that is not a Monday.
    InfeasibleError
        When a facility lies off the road extract or a point cannot be served.
    """
    streams = streams or load_streams()
    params = params or WeekParams()
    if points is None or points.empty:
        msg = "no gathering points to plan a week for"
        raise ValidationError(msg)
    if week_start is None:
        today = date.today()
        week_start = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    if week_start.weekday() != 0:
        msg = f"week_start must be a Monday, got {week_start:%A %Y-%m-%d}"
        raise ValidationError(msg)
    data.require_networks()
    demand = data.require_demand()
    notes: list[str] = []
    pts = to_metric(points).reset_index(drop=True)
    # each point is served from a place on a truck street within the crew's walk (the street
    # split there): the truck's km are the drawn lines
    buildings = data.metric_layers.get("buildings")
    open_graph, closed_note = _open_every_shift(data.truck_graph, fleet or default_week_fleet(1.0))
    if closed_note:
        notes.append(closed_note)
    stops = truck_stops(
        open_graph,
        data.walk_arrays,
        pts.geometry,
        max_walk_m=params.max_walk_m,
        obstacles=buildings.geometry if buildings is not None else None,
    )
    for cut in np.flatnonzero(~stops.reachable):
        label = str(pts["point_id"].iloc[cut]) if "point_id" in pts else f"point {cut + 1}"
        notes.append(f"{label} is not planned: {stops.reasons[cut]}")
    stop_node = stops.node[stops.reachable]
    pts = pts[stops.reachable].reset_index(drop=True)
    if pts.empty:
        msg = "no gathering point lies within reach of a truck street"
        raise InfeasibleError(msg)
    ids = (
        [str(v) for v in pts["point_id"]]
        if "point_id" in pts
        else [f"P-{i + 1:03d}" for i in range(len(pts))]
    )
    names = [str(v) for v in pts["name"]] if "name" in pts else list(ids)
    street_col = pts["street"] if "street" in pts else pd.Series([""] * len(pts))
    streets_of = ["" if pd.isna(v) or v is None else str(v) for v in street_col]
    if assignment is None:
        assignment = _nearest_assignment(data, pts, ids)
        notes.append("assignment: each demand unit walks to its nearest point (no points plan)")
    else:
        notes.append("assignment: the points plan's capacitated assignment, used once")
    known = set(ids)
    lost = assignment[~assignment["point_id"].isin(known)]
    assignment = assignment[assignment["point_id"].isin(known)]
    hh_unit = demand["households"].to_numpy()
    kg_unit = demand["waste_kg_day"].to_numpy()
    if len(lost):
        notes.append(
            f"{float((hh_unit[lost['unit']] * lost['share']).sum()):.0f} households are assigned "
            "to points outside this plan (existing points) and are not planned here"
        )
    unassigned = float(hh_unit.sum()) - float(
        (hh_unit[assignment["unit"]] * assignment["share"]).sum()
    )
    if unassigned > 0.5:
        notes.append(f"{unassigned:.0f} households have no gathering point in this plan")
    pos = {p: i for i, p in enumerate(ids)}
    col = assignment["point_id"].map(pos).to_numpy()
    w = assignment["share"].to_numpy()
    u = assignment["unit"].to_numpy()
    households = np.bincount(col, weights=hh_unit[u] * w, minlength=len(pts))
    kg_day = np.bincount(col, weights=kg_unit[u] * w, minlength=len(pts))
    shares = streams.effective_shares()
    codes = streams.codes
    rate = np.column_stack([kg_day * shares[s] for s in codes])

    # facilities per stream, garage
    fac_src = data.facilities if facilities is None else facilities
    mapping = facilities_for_streams(streams, fac_src, data.area.geometry)
    fac_pos: dict[str, Point] = {}
    fac_rows: list[dict[str, Any]] = []
    stand_in: Point | None = None
    warned: set[str] = set()
    for s in codes:
        row, note = mapping[s]
        if len(row):
            fac_pos[s] = to_metric(row).geometry.iloc[0]
            name = str(row["name"].iloc[0])
            precision = str(row.get("location_precision", pd.Series(["given"])).iloc[0])
            if name not in warned:
                warned.add(name)
                warnings.warn(
                    f"{name}: position is {precision}", ApproximateDataWarning, stacklevel=2
                )
        else:
            stand_in = stand_in or _stand_in_facility(data)
            fac_pos[s] = stand_in
            name = "Điểm dỡ tải tạm (MẪU – không phải cơ sở xử lý thật)"
            note = (
                f"{s}: STAND-IN unload site at the edge of the road extract; no real facility "
                "is reachable from this area"
            )
        notes.append(note)
        fac_rows.append({"stream": s, "facility": name, "note": note})
    distinct = list(dict.fromkeys((p.x, p.y) for p in fac_pos.values()))
    if params.garage_lonlat is not None:
        lon, lat = params.garage_lonlat
        garage = gpd.GeoSeries([Point(lon, lat)], crs=WGS84).to_crs(METRIC_CRS).iloc[0]
        notes.append(f"garage at {lon:.5f}, {lat:.5f} (given)")
    else:
        garage = fac_pos.get("residual", next(iter(fac_pos.values())))
        notes.append("garage assumed at the residual-waste facility (give the garage position)")
    # each vehicle type's own garage (fleet file), a location of its own after the facilities
    type_garages = list(
        dict.fromkeys(vt.garage_lonlat for vt in fleet or () if vt.garage_lonlat is not None)
    )
    garage_pts = [
        gpd.GeoSeries([Point(*ll)], crs=WGS84).to_crs(METRIC_CRS).iloc[0] for ll in type_garages
    ]
    garage_index = {ll: 1 + len(distinct) + j for j, ll in enumerate(type_garages)}
    truck_t = GraphArrays.from_graph(stops.graph, weight="travel_time")
    fac_locs = gpd.GeoSeries([garage, *(Point(xy) for xy in distinct), *garage_pts], crs=METRIC_CRS)
    fac_node, snap = truck_t.snap(fac_locs)
    index = {int(n): i for i, n in enumerate(truck_t.nodes.tolist())}
    node_of = np.concatenate([fac_node, [index[int(n)] for n in stop_node]]).astype(np.int64)
    locs = gpd.GeoSeries(gpd.points_from_xy(*truck_t.xy[node_of].T), crs=METRIC_CRS)
    for j, xy in enumerate(distinct):
        if snap[1 + j] > MAX_FACILITY_SNAP_M:
            which = [s for s in codes if (fac_pos[s].x, fac_pos[s].y) == xy]
            msg = (
                f"the facility of {', '.join(which)} is {snap[1 + j] / 1000:.1f} km from the "
                "nearest truck road of the extract: use an extract that reaches it"
            )
            raise InfeasibleError(msg)
    for ll, j in garage_index.items():
        if snap[j] > MAX_FACILITY_SNAP_M:
            msg = (
                f"fleet: the garage at garage_lon, garage_lat = {ll[0]:.5f}, {ll[1]:.5f} is "
                f"{snap[j] / 1000:.1f} km from the nearest truck road of the extract"
            )
            raise InfeasibleError(msg)
    fac_index = {s: 1 + distinct.index((fac_pos[s].x, fac_pos[s].y)) for s in codes}
    fac_of = {s: [j] for s, j in fac_index.items()}
    duration = cost_matrix(truck_t, locs, locs, include_access=False)
    distance = cost_matrix(truck_t, locs, locs, measure="length", include_access=False)
    n0 = 1 + len(distinct) + len(type_garages)
    day_costs: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    day_graphs: dict[int, tuple[Any, GraphArrays]] = {}
    if open_graph is not data.truck_graph:
        networks = _day_networks(
            data.truck_graph, open_graph, stops.graph, fleet or default_week_fleet(1.0)
        )
        day_costs, day_graphs = _day_costs(networks, truck_t, node_of)
        for days, _net, closed in networks:
            label = ", ".join(WEEKDAYS_VI[d] for d in days)
            how = "its own network" if days[0] in day_costs else "the every-shift network"
            notes.append(f"shifts starting {label}: {closed} truck-street edges closed; {how}")

    # frequencies, bins and service times
    services = {
        s: StreamService(
            code=s,
            frequencies_per_week=streams[s].frequencies_per_week,
            bin_sizes_l=streams[s].bin_types_l,
            bulk_density_kg_m3=streams[s].bulk_density_kg_m3,
            fill_factor=streams.fill_factor,
            max_bins=streams[s].max_bins,
        )
        for s in codes
    }
    base_vt = (fleet or default_week_fleet(1.0))[0]
    spread_days = base_vt.shift_s / 86_400.0
    co_groups, by_collection = (
        _fleet_by_collection(fleet, codes, garage_index) if fleet is not None else ((), {})
    )
    # the streams collected with each (co-collected streams share the higher frequency)
    together = {s: g for g in co_groups for s in g}
    cap_of = {
        s: _stream_capacity_kg(s, by_collection) if fleet is not None else base_vt.capacity_kg
        for s in codes
    }
    freq = np.zeros(rate.shape, dtype=np.int64)
    service_s = np.zeros(rate.shape)
    for k, s in enumerate(codes):
        for i in range(len(pts)):
            f = max(
                choose_frequency(
                    float(rate[i, codes.index(s2)]),
                    services[s2],
                    spread_days=spread_days,
                    capacity_kg=cap_of[s2],
                )
                for s2 in together.get(s, (s,))
            )
            freq[i, k] = f
            gap = longest_gap_days(visit_patterns(f)[0])
            presize = bins_for(
                rate[i, k] * (gap + spread_days),
                bin_sizes_l=services[s].bin_sizes_l,
                bulk_density_kg_m3=services[s].bulk_density_kg_m3,
                fill_factor=services[s].fill_factor,
            )
            service_s[i, k] = params.service_base_s + params.service_per_bin_s * sum(
                presize.values()
            )
    # the largest day a stream can have: every point on one day with its longest interval's waste
    for k, s in enumerate(codes):
        cap_kg = cap_of[s]
        for i in range(len(pts)):
            gap = longest_gap_days(visit_patterns(int(freq[i, k]))[0])
            if rate[i, k] * gap > cap_kg:
                msg = (
                    f"point {ids[i]}: {rate[i, k] * gap:.0f} kg of {s} waste per collection is "
                    f"more than a truck carries ({cap_kg:.0f} kg); split the point or allow "
                    "more collections per week"
                )
                raise InfeasibleError(msg)
    fleets = by_collection or {
        s: default_week_fleet(
            sum(
                float(rate[i, k]) * longest_gap_days(visit_patterns(int(freq[i, k]))[0])
                for i in range(len(pts))
            )
        )
        for k, s in enumerate(codes)
    }
    problem = PeriodicProblem(
        duration_s=duration,
        distance_m=distance,
        garage=0,
        points=tuple(range(n0, n0 + len(pts))),
        streams=codes,
        rate=rate,
        frequency=freq,
        service_s=service_s,
        facility=fac_of,
        fleet=fleets,
        day_costs=day_costs,
        co_collect=co_groups,
        stop_s=params.service_base_s,
    )
    solution = plan_periodic(
        problem,
        time_limit_s=time_limit_s,
        seed=seed,
        max_iterations=max_iterations,
        on_progress=on_progress,
    )
    notes.extend(solution.violations)

    # visits with their real weekday and date
    v = solution.visits.copy()
    real_day = v["day"] + (v["arrival_s"] // 86_400).astype(int)
    v_out = pd.DataFrame(
        {
            "point_id": [ids[i] for i in v["point"]],
            "stream": v["stream"],
            "service_day": v["day"].astype(int),
            "weekday": [WEEKDAYS_VI[d % 7] for d in real_day],
            "weekday_no": (real_day % 7).astype(int),
            "date": [(week_start + timedelta(days=int(d))).isoformat() for d in real_day],
            "vehicle": [
                f"{_vehicle_prefix(c)}-{n}"
                for c, n in zip(v["collection"], v["vehicle"], strict=True)
            ],
            "trip": v["trip"].astype(int),
            "arrival": [_clock(t) for t in v["arrival_s"]],
            "arrival_s": v["arrival_s"].round(1),
            "kg": v["kg"].round(2),
        }
    )

    # bins from the longest real interval between two collections
    point_rows: list[dict[str, Any]] = []
    for i in range(len(pts)):
        prow: dict[str, Any] = {
            "point_id": ids[i],
            "name": names[i],
            "street": streets_of[i],
            "households": round(float(households[i]), 1),
        }
        for k, s in enumerate(codes):
            mine = v[(v["point"] == i) & (v["stream"] == s)]
            t_abs = np.sort((mine["day"] * 86_400 + mine["arrival_s"]).to_numpy())
            if len(t_abs):
                gaps = np.diff(np.concatenate([t_abs, [t_abs[0] + 7 * 86_400]]))
                longest_h = float(gaps.max()) / 3600.0
            else:
                longest_h = 0.0
            bins = bins_for(
                rate[i, k] * longest_h / 24.0,
                bin_sizes_l=services[s].bin_sizes_l,
                bulk_density_kg_m3=services[s].bulk_density_kg_m3,
                fill_factor=services[s].fill_factor,
            )
            if not sum(bins.values()):  # every point offers a bin of each stream, to sort into
                bins[min(services[s].bin_sizes_l)] = 1
            prow[f"{s}_kg_day"] = round(float(rate[i, k]), 3)
            prow[f"{s}_per_week"] = int(freq[i, k])
            prow[f"{s}_days"] = " ".join(str(d) for d in solution.patterns[s][i])
            prow[f"{s}_longest_interval_h"] = round(longest_h, 3)
            for size in (240, 660):
                prow[f"{s}_bins_{size}l"] = int(bins.get(size, 0))
        prow["geometry"] = pts.geometry.iloc[i]
        point_rows.append(prow)
    points_out = gpd.GeoDataFrame(point_rows, geometry="geometry", crs=METRIC_CRS).to_crs(WGS84)

    # street lines, trips
    routes, trips = _routes_and_trips(
        solution, problem, locs, node_of, stops.graph, truck_t, day_graphs=day_graphs
    )
    wgs = locs.to_crs(WGS84)
    fac_df = pd.DataFrame(fac_rows)
    fac_df["name_vi"] = [streams[s].name_vi for s in fac_df["stream"]]
    fac_df["facility_kind"] = [streams[s].facility_kind for s in fac_df["stream"]]
    fac_df["lon"] = [round(float(wgs.iloc[fac_index[s]].x), 7) for s in fac_df["stream"]]
    fac_df["lat"] = [round(float(wgs.iloc[fac_index[s]].y), 7) for s in fac_df["stream"]]
    fac_df["garage_lon"] = round(float(wgs.iloc[0].x), 7)
    fac_df["garage_lat"] = round(float(wgs.iloc[0].y), 7)
    type_rows = []
    for key, key_fleet in fleets.items():
        for vt in key_fleet:
            home = wgs.iloc[vt.garage if vt.garage is not None else 0]
            given = vt.garage_lonlat or (math.nan, math.nan)
            type_rows.append(
                {
                    "collection": key,
                    "vehicle_type": vt.name,
                    "count": vt.count,
                    "capacity_kg": vt.capacity_kg,
                    **{f"{c.stream}_compartment_kg": c.capacity_kg for c in vt.compartments},
                    "garage_lon": round(float(home.x), 7),
                    "garage_lat": round(float(home.y), 7),
                    "garage_given_lon": given[0],
                    "garage_given_lat": given[1],
                }
            )

    totals: dict[str, dict[str, float]] = {}
    co2_kg = float(routes["co2_kg"].sum())
    for k, s in enumerate(codes):
        # a co-collected stream's km and truck-days are those of its split-body trucks
        mine = routes[[s in str(c).split("+") for c in routes["stream"]]]
        km = float(mine["km"].sum())
        truck_days = len(mine.drop_duplicates(["service_day", "vehicle"]))
        totals[s] = {
            "tonnes_per_week": round(float(rate[:, k].sum()) * 7 / 1000.0, 3),
            "bins_240l": int(points_out[f"{s}_bins_240l"].sum()),
            "bins_660l": int(points_out[f"{s}_bins_660l"].sum()),
            "collections_per_week": int((v_out["stream"] == s).sum()),
            "km_per_week": round(km, 3),
            "truck_days_per_week": truck_days,
        }
    overall = {
        "points": len(pts),
        "households": round(float(households.sum()), 1),
        "visits": len(v_out),
        "km_per_week": round(float(routes["km"].sum()), 3),
        "co2_kg_per_week": round(co2_kg, 1),
        "unplanned_points": int((~stops.reachable).sum()),
        "solver_violations": len(solution.violations),
        "solve_s": round(solution.solve_s, 2),
    }
    groups = _group_points(data, assignment, ids, pts)
    plan = WeeklyPlan(
        visits=v_out,
        points=points_out,
        routes=routes,
        trips=trips,
        facilities=fac_df,
        totals=totals,
        overall=overall,
        solution=solution,
        week_start=week_start.isoformat(),
        notes=tuple(notes),
        groups=groups,
        stream_names_vi={s: streams[s].name_vi for s in codes}
        | {"+".join(g): " + ".join(streams[s].name_vi for s in g) for g in co_groups},
        streams_source=streams.source,
        ward=data.area.name,
        vehicle_types=pd.DataFrame(type_rows),
    )
    log.info(
        "plan_week: %d points, %d visits, %.1f km/week, %d solver violations",
        len(pts),
        len(v_out),
        overall["km_per_week"],
        overall["solver_violations"],
    )
    return plan


def _group_points(
    data: WardData, assignment: pd.DataFrame, ids: list[str], pts: gpd.GeoDataFrame
) -> pd.DataFrame:
    """Households of each residential group at each point (the published schedule's rows).

    A point no household is assigned to is still collected; it is published for the group whose
    area is nearest to it.
    """
    from gomrac.analysis.demand import assign_groups

    demand = data.require_demand()
    if data.groups is not None and len(data.groups):
        gid = assign_groups(demand, data.groups).to_numpy()
        gname = dict(zip(data.groups["group_id"], data.groups["name"], strict=True))
    else:
        gid = np.zeros(len(demand), dtype=int)
        gname = {0: "Toàn phường"}
    a = assignment.copy()
    a["group_id"] = gid[a["unit"].to_numpy()]
    a["households"] = demand["households"].to_numpy()[a["unit"].to_numpy()] * a["share"]
    out = a.groupby(["group_id", "point_id"], as_index=False)["households"].sum()
    out = out[out["households"] > 0]
    missing = [i for i, p in enumerate(ids) if p not in set(out["point_id"])]
    if missing:
        if data.groups is not None and len(data.groups):
            near = [
                data.groups["group_id"].iloc[
                    int(data.groups.distance(pts.geometry.iloc[i]).argmin())
                ]
                for i in missing
            ]
        else:
            near = [0] * len(missing)
        extra = pd.DataFrame(
            {"group_id": near, "point_id": [ids[i] for i in missing], "households": 0.0}
        )
        out = pd.concat([out, extra], ignore_index=True)
    out["group"] = [str(gname.get(g, f"Tổ {g}")) for g in out["group_id"]]
    table: pd.DataFrame = out[["group_id", "group", "point_id", "households"]]
    return table.reset_index(drop=True)


def _clock(seconds: float) -> str:
    s = round(seconds) % 86_400
    return f"{s // 3600:02d}:{(s % 3600) // 60:02d}"


def _routes_and_trips(
    solution: Any,
    problem: PeriodicProblem,
    locs: gpd.GeoSeries,
    node_of: np.ndarray,
    G: Any,
    arrays: Any,
    *,
    day_graphs: dict[int, tuple[Any, GraphArrays]] | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Street lines per collection × day × vehicle × trip (EPSG:4326), and the trips' unloads.

    A day listed in `day_graphs` is drawn on its own network (that day's closures). A trip's
    line runs from where the previous one ended through its stops to its last facility (every
    facility of a split-body truck's unload, in order). ``trips`` has one row per trip and
    stream unloaded: a split-body truck's trip has one row per compartment, each with the
    compartment's load and capacity and the facility it unloads at.
    """
    node_ids = arrays.nodes[node_of]
    wgs = locs.to_crs(WGS84)
    cache: dict[int, list[tuple[int, int, LineString]]] = {}
    route_rows: list[dict[str, Any]] = []
    trip_rows: list[dict[str, Any]] = []
    for dp in solution.days:
        key = id(dp.plan)
        if key not in cache:
            G_day, arrays_day = (day_graphs or {}).get(dp.day, (G, arrays))
            lines: list[tuple[int, int, LineString]] = []
            for v_no, route in enumerate(dp.plan.routes):
                stops = dp.stops(route)
                last_trip = max((s.trip for s in stops if s.kind != "garage"), default=0)
                by_trip: dict[int, list[int]] = {}
                for stop in stops:
                    by_trip.setdefault(min(stop.trip, last_trip), []).append(stop.location)
                prev_end: int | None = None
                for trip, seq in sorted(by_trip.items()):
                    path_locs = ([prev_end] if prev_end is not None else []) + seq
                    prev_end = seq[-1]
                    nodes = path_nodes(arrays_day, [int(node_ids[i]) for i in path_locs])
                    # every stop is a node of `G`: the line runs through the stops themselves
                    lines.append((v_no, trip, path_line(G_day, nodes, weight=arrays_day.weight)))
            cache[key] = lines
        fleet = problem.fleet[dp.stream]
        prefix = _vehicle_prefix(dp.stream)
        for v_no, trip, line in cache[key]:
            drive = fleet[dp.plan.routes[v_no].vehicle_type].energy
            route_rows.append(
                {
                    "stream": dp.stream,
                    "service_day": dp.day,
                    "vehicle": f"{prefix}-{v_no + 1}",
                    "trip": trip + 1,
                    "km": round(_line_km(line), 6),
                    "co2_kg": drive.co2_kg(_line_km(line)) if drive is not None else 0.0,
                    "geometry": line,
                }
            )
        km_of = {(v_no, trip): _line_km(line) for v_no, trip, line in cache[key]}
        comp = dp.problem.compartment_kg
        for v_no, route in enumerate(dp.plan.routes):
            vt = fleet[route.vehicle_type]
            home = wgs.iloc[dp.problem.garage_of(route.vehicle_type)]
            cap = {c.stream: c.capacity_kg for c in vt.compartments}
            width = 1 if comp is None else comp.shape[1]
            loads: dict[int, np.ndarray] = {}  # kg of each compartment (or the body) per trip
            for stop in route.stops:
                if stop.kind == "client":
                    load = loads.setdefault(stop.trip, np.zeros(width))
                    kg = dp.problem.demand_kg if comp is None else comp
                    load += kg[stop.client]
            for stop in dp.stops(route):
                for s in stop.unloads:
                    trip_rows.append(
                        {
                            "stream": s,
                            "collection": dp.stream,
                            "service_day": dp.day,
                            "vehicle": f"{prefix}-{v_no + 1}",
                            "vehicle_type": vt.name,
                            "trip": stop.trip + 1,
                            "kg": round(
                                float(loads.get(stop.trip, np.zeros(width))[dp.carried.index(s)]),
                                2,
                            ),
                            "capacity_kg": cap.get(s, vt.capacity_kg),
                            "body_capacity_kg": vt.capacity_kg,
                            "shift_start_s": vt.shift_start_s,
                            "shift_end_s": vt.shift_end_s,
                            "unload_lon": round(float(wgs.iloc[stop.location].x), 7),
                            "unload_lat": round(float(wgs.iloc[stop.location].y), 7),
                            "unload_arrival_s": round(stop.arrival_s, 1),
                            "garage_lon": round(float(home.x), 7),
                            "garage_lat": round(float(home.y), 7),
                            "garage_return_s": round(route.stops[-1].arrival_s, 1),
                            "km": round(km_of.get((v_no, stop.trip), 0.0), 6),
                            "solver_km": round(route.km, 6),
                        }
                    )
    routes = gpd.GeoDataFrame(
        route_rows,
        columns=["stream", "service_day", "vehicle", "trip", "km", "co2_kg", "geometry"],
        geometry="geometry",
        crs=WGS84,
    )
    return routes, pd.DataFrame(trip_rows)


def _vehicle_prefix(collection: str) -> str:
    """Vehicle-number prefix of a collection: TP, TC, CL, or joined for split-body trucks."""
    return "".join(VEHICLE_PREFIX.get(s, s) for s in collection.split("+"))


# --------------------------------------------------------------------------------------------
# Writers: every file is a view of the one plan
# --------------------------------------------------------------------------------------------

SCHEDULE_HEADERS = {
    "to_dan_pho": "Tổ dân phố",
    "ho_dan": "Số hộ",
    "ma_diem": "Mã điểm",
    "diem_tap_ket": "Điểm tập kết",
    "dia_diem": "Địa điểm (đường, ngõ)",
    "loai_rac": "Loại rác",
    "thu": "Ngày thu gom",
    "ngay_dau_tien": "Ngày đầu tiên",
    "mang_rac_ra_truoc": "Mang rác ra trước",
    "xe_den_khoang": "Xe thu gom đến khoảng",
    "xe_so": "Xe số",
}


def schedule_rows(plan: WeeklyPlan) -> pd.DataFrame:
    """Build the published schedule: one row per residential group × point × stream × visit.

    The weekday and date are those of the truck's arrival (after midnight: the next day). The
    arrival is announced to 5 minutes (rounded down, so never across midnight); the bring-out time
    is `LEAD_MIN` before it and the announced window ±`WINDOW_MIN` around it.
    """
    pts = plan.points.set_index("point_id")
    day0 = datetime.fromisoformat(plan.week_start)
    rows: list[dict[str, Any]] = []
    visits = plan.visits.sort_values(["point_id", "stream", "service_day"])
    by_point = {p: g for p, g in visits.groupby("point_id", sort=False)}
    groups = plan.groups.sort_values(["group_id", "households"], ascending=[True, False])
    for g in _records(groups):
        mine = by_point.get(g["point_id"])
        if mine is None:
            continue
        for vis in _records(mine):
            # the arrival to 5 minutes, rounded down: never across midnight into the next day
            t = math.floor(float(vis["arrival_s"]) / 300) * 300
            rows.append(
                {
                    "to_dan_pho": g["group"],
                    "ho_dan": round(float(g["households"])),
                    "ma_diem": g["point_id"],
                    "diem_tap_ket": str(pts.loc[g["point_id"], "name"]),
                    "dia_diem": _street(
                        str(pts.loc[g["point_id"], "name"]), pts.loc[g["point_id"], "street"]
                    ),
                    "loai_rac": plan.stream_names_vi.get(vis["stream"], vis["stream"]),
                    "thu": vis["weekday"],
                    "ngay_dau_tien": date.fromisoformat(vis["date"]).strftime("%d/%m/%Y"),
                    "mang_rac_ra_truoc": _clock(t - LEAD_MIN * 60),
                    "xe_den_khoang": f"{_clock(t - WINDOW_MIN * 60)}–{_clock(t + WINDOW_MIN * 60)}",
                    "xe_so": vis["vehicle"],
                    "arrival_dt": day0 + timedelta(days=int(vis["service_day"]), seconds=round(t)),
                    "window_start": day0
                    + timedelta(days=int(vis["service_day"]), seconds=t - WINDOW_MIN * 60),
                    "group_id": g["group_id"],
                    "stream": vis["stream"],
                }
            )
    return pd.DataFrame(rows)


def _street(name: str, street: object) -> str:
    """Return the street of a point, unless its name already says it (or it has none)."""
    text = street.strip() if isinstance(street, str) else ""  # None and NaN: no street
    return "" if not text or text in name else text


def _sheet_rows(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a group's printed sheet: one per stream, point and time, with its weekdays."""
    order = {d: k for k, d in enumerate(WEEKDAYS_VI)}
    keys = ["stream", "loai_rac", "diem_tap_ket", "dia_diem", "mang_rac_ra_truoc", "xe_den_khoang"]
    out = []
    for key, grp in rows.groupby(keys, sort=False):
        days = sorted(set(grp["thu"]), key=order.__getitem__)
        out.append(
            {
                **dict(zip(keys, key, strict=True)),
                "thu": "Hằng ngày" if len(days) == 7 else ", ".join(days),
                "first": min(order[d] for d in days),
            }
        )
    return sorted(out, key=lambda r: (r["stream"], r["diem_tap_ket"], r["first"]))


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of `df` as plain dicts (column name -> value)."""
    return [{str(k): v for k, v in r.items()} for r in df.to_dict("records")]


def _ics(
    group: str, rows: pd.DataFrame, *, ward: str, label: str, attribution: str, tz: ZoneInfo
) -> bytes:
    """Build one calendar per group: weekly-repeating events of its collections (RFC 5545)."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//gomrac//lich thu gom//VI")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", f"Lịch thu gom rác – {group}")
    cal.add("x-wr-timezone", TIMEZONE)
    about = f"Lịch thu gom rác sinh hoạt – {ward}. Dữ liệu đường phố: {attribution}."
    cal.add("x-wr-caldesc", f"{label}. {about}" if label else about)
    stamp = datetime(2000, 1, 1, tzinfo=ZoneInfo("UTC"))
    # one event for the collections of a point and stream at the same time on several days
    # (the same truck): it repeats weekly on each of those weekdays
    same: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for r in _records(rows):
        key = (
            r["ma_diem"],
            r["stream"],
            r["xe_so"],
            r["mang_rac_ra_truoc"],
            r["window_start"].time(),
        )
        same.setdefault(key, []).append(r)
    for days in same.values():
        days.sort(key=lambda d: d["window_start"])
        r = days[0]
        start = r["window_start"].replace(tzinfo=tz)  # the announced window, as published
        ev = icalendar.Event()
        ev.add("uid", f"{r['group_id']}-{r['ma_diem']}-{r['stream']}-{start:%Y%m%dT%H%M}@gomrac")
        ev.add("dtstamp", stamp)
        ev.add("dtstart", start)
        ev.add("dtend", start + timedelta(minutes=2 * WINDOW_MIN))
        byday = [_ICAL_DAYS[d["window_start"].weekday()] for d in days]
        ev.add("rrule", {"freq": "weekly", "byday": byday} if len(days) > 1 else {"freq": "weekly"})
        ev.add("summary", f"Thu gom {str(r['loai_rac']).lower()} – {r['diem_tap_ket']}")
        place = f"{r['diem_tap_ket']}" + (f" – {r['dia_diem']}" if r["dia_diem"] else "")
        ev.add("location", place)
        text = f"Mang rác ra trước {r['mang_rac_ra_truoc']}. Xe số {r['xe_so']}. {ward}."
        ev.add("description", f"{label}. {text}" if label else text)
        cal.add_component(ev)
    # RFC 5545 §3.2.19: a VTIMEZONE for every TZID used
    cal.add_component(_vtimezone(str(tz.key)))
    data: bytes = cal.to_ical()
    return data


#: RFC 5545 weekday codes, Monday first (``datetime.weekday()``).
_ICAL_DAYS: Final = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@functools.cache
def _vtimezone(tzid: str) -> icalendar.Timezone:
    """Return the VTIMEZONE of `tzid` from zoneinfo, built once for all calendars."""
    component = icalendar.Timezone.from_tzid(
        tzid, first_date=date(1970, 1, 1), last_date=date(2038, 1, 1)
    )
    component.pop("COMMENT", None)  # icalendar's note is English; nothing published is
    return component


def write_week(
    plan: WeeklyPlan, out_dir: str | Path, *, label: str = "", attribution: list[str] | None = None
) -> dict[str, str]:
    """Write every view of the plan and return the files written, by name.

    Files: ``visits.csv``, ``points.csv``, ``trips.csv``, ``facilities.csv``, ``routes.geojson``
    (street lines), ``gpx/<vehicle>_<day>.gpx`` (one per vehicle and service day),
    ``lich_thu_gom/lich_thu_gom.{csv,html}`` and ``lich_thu_gom/ics/to_<id>.ics`` (the published
    schedule, Vietnamese only), ``streams.toml`` (the definitions used), ``ghi_chu_nhan_vien.txt``
    (staff notes, English) and ``weekly_summary.json``.

    Parameters
    ----------
    plan
        The weekly plan.
    out_dir
        Folder to write into (created); the ``gpx/*.gpx`` and ``lich_thu_gom/ics/*.ics`` of a
        previous run there are replaced, not kept beside the new ones.
    label
        Data label carried by every output (e.g. `SAMPLE_LABEL`); empty for real ward data.
    attribution
        Attribution lines of the map data; OSM's by default.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # a folder written again: no GPX of a truck-day or calendar of a group this plan lacks
    remove_stale(out / "gpx", "*.gpx")
    remove_stale(out / "lich_thu_gom" / "ics", "*.ics")
    attribution = attribution or [OSM_ATTRIBUTION]
    attr = " · ".join(attribution)
    files: dict[str, Path] = {}
    visits = plan.visits.assign(label=label)
    files["visits"] = out / "visits.csv"
    visits.to_csv(files["visits"], index=False, encoding="utf-8")
    pts = plan.points.copy()
    pts["lon"], pts["lat"] = pts.geometry.x.round(6), pts.geometry.y.round(6)
    pts = pd.DataFrame(pts.drop(columns="geometry")).assign(label=label, attribution=attr)
    files["points"] = out / "points.csv"
    pts.to_csv(files["points"], index=False, encoding="utf-8")
    files["trips"] = out / "trips.csv"
    plan.trips.assign(label=label).to_csv(files["trips"], index=False, encoding="utf-8")
    files["facilities"] = out / "facilities.csv"
    plan.facilities.assign(label=label).to_csv(files["facilities"], index=False, encoding="utf-8")
    if len(plan.vehicle_types):
        files["vehicle_types"] = out / "vehicle_types.csv"
        plan.vehicle_types.assign(label=label).to_csv(
            files["vehicle_types"], index=False, encoding="utf-8"
        )
    lines = plan.routes.copy()
    lines["geometry"] = lines.geometry.set_precision(1e-6)
    files["routes"] = save_layer(
        lines.assign(label=label), out / "routes.geojson", attribution=attribution
    )
    if Path(plan.streams_source).exists():
        files["streams"] = out / "streams.toml"
        shutil.copyfile(plan.streams_source, files["streams"])
    # GPX per vehicle and service day
    fac = plan.facilities.set_index("stream")
    wk = date.fromisoformat(plan.week_start)
    for (stream, day, vehicle), grp in plan.routes.groupby(["stream", "service_day", "vehicle"]):
        # vehicle numbers are unique per collection; a split-body truck's stop serves several
        # streams (one waypoint), and each compartment unloads at its stream's facility
        carried = str(stream).split("+")
        mine = plan.visits[
            (plan.visits["service_day"] == day) & (plan.visits["vehicle"] == vehicle)
        ].sort_values(["arrival_s", "stream"])
        trips = plan.trips[(plan.trips["service_day"] == day) & (plan.trips["vehicle"] == vehicle)]
        ppos = plan.points.set_index("point_id")
        wpts: list[tuple[str, float, float, str]] = []
        types: list[str] = []
        at_stop: dict[tuple[Any, Any], list[dict[str, Any]]] = {}  # one stop, its streams
        for r in _records(mine):
            at_stop.setdefault((r["point_id"], r["arrival_s"]), []).append(r)
        events = [(float(rs[0]["arrival_s"]), "thu gom", rs) for rs in at_stop.values()] + [
            (float(r["unload_arrival_s"]), "do tai", [r]) for r in _records(trips)
        ]
        for t, kind, rs in sorted(events, key=lambda e: e[0]):
            r = rs[0]
            load = " + ".join(
                f"{plan.stream_names_vi.get(x['stream'], x['stream'])} {float(x['kg']):.0f} kg"
                if len(carried) > 1
                else f"{float(x['kg']):.0f} kg"
                for x in rs
            )
            if kind == "thu gom":
                g = ppos.loc[r["point_id"], "geometry"]
                desc = f"chuyến {r['trip']}, đến {r['arrival']}, {load}"
                wpts.append((str(r["point_id"]), g.x, g.y, desc))
            else:
                desc = f"chuyến {r['trip']}, đến {_clock(t)}, {load}"
                where = f"Dỡ tải: {fac.loc[r['stream'], 'facility']}"
                wpts.append((where, float(r["unload_lon"]), float(r["unload_lat"]), desc))
            types.append(kind)
        day_date = wk + timedelta(days=int(day))
        what = " + ".join(plan.stream_names_vi.get(x, x) for x in carried)
        name = f"Xe {vehicle} – {what} – ca {day_date:%d/%m/%Y}"
        path = write_gpx(
            out / "gpx" / f"{vehicle}_{int(day)}.gpx",
            name=name,
            tracks=[
                (f"Xe {vehicle} – chuyến {r['trip']}", r["geometry"])
                for r in _records(grp.sort_values("trip"))
            ],
            waypoints=wpts,
            waypoint_types=types,
            description=label,
        )
        files[f"gpx_{vehicle}_{int(day)}"] = path
    # the published schedule (Vietnamese)
    table = schedule_rows(plan)
    sched = out / "lich_thu_gom"
    (sched / "ics").mkdir(parents=True, exist_ok=True)
    public = table[list(SCHEDULE_HEADERS)].rename(columns=SCHEDULE_HEADERS)
    if label:
        public["Nhãn dữ liệu"] = label
    public["Dữ liệu bản đồ"] = attr
    files["schedule_csv"] = sched / "lich_thu_gom.csv"
    public.to_csv(files["schedule_csv"], index=False, encoding="utf-8-sig")
    tz = ZoneInfo(TIMEZONE)
    ward = plan.ward or "Phường"
    groups_html = []
    for gid, rows in table.groupby("group_id", sort=True):
        ics_name = f"to_{gid}.ics"
        name = str(rows["to_dan_pho"].iloc[0])
        (sched / "ics" / ics_name).write_bytes(
            _ics(name, rows, ward=ward, label=label, attribution=attr, tz=tz)
        )
        files[f"ics_{gid}"] = sched / "ics" / ics_name
        groups_html.append(
            {
                "name": name,
                "households": round(
                    float(plan.groups.loc[plan.groups["group_id"] == gid, "households"].sum())
                ),
                "rows": _sheet_rows(rows),
                "ics": f"ics/{ics_name}",
            }
        )
    page = render(
        "lich_thu_gom.html.j2",
        ward=ward,
        groups=groups_html,
        label=label,
        attribution=attr,
        week_start=wk.strftime("%d/%m/%Y"),
    )
    files["schedule_html"] = sched / "lich_thu_gom.html"
    files["schedule_html"].write_text(page, encoding="utf-8")
    files["staff_notes"] = out / "ghi_chu_nhan_vien.txt"
    files["staff_notes"].write_text(
        "\n".join([*(f"Data: {label}" for _ in [0] if label), *plan.notes]) + "\n",
        encoding="utf-8",
    )
    summary = {
        "label": label,
        "attribution": attr,
        "week_start": plan.week_start,
        "streams": plan.totals,
        "total": dict(plan.overall),
    }
    files["summary"] = out / "weekly_summary.json"
    files["summary"].write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    return {k: str(p) for k, p in files.items()}
