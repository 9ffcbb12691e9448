"""`gomrac routes plan`: collection routes to the landfill over the real truck network.

Glue between the ward's data and `analysis.routing`: travel-time and distance matrices over the
truck network, the PyVRP plan with its independent check and its nearest-neighbour baseline,
routes that follow the streets, a GPX file per vehicle, handcart rounds for alley households
(two tiers), and the data of the published schedule.

Waste streams: a plan is one collection. ``daily`` co-collects food and residual waste every
day; ``recyclable`` collects recyclables twice a week (3.5 days of waste per collection); a
single stream name plans that stream alone. All three are local assumptions to set per ward.
"""

from __future__ import annotations

import json
import logging
import math
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from shapely.geometry import Point

from gomrac.analysis.demand import STREAMS, bins_needed
from gomrac.analysis.distance import (
    GraphArrays,
    cost_matrix,
    nearest_source_cost,
    path_line,
    path_nodes,
    truck_stops,
)
from gomrac.analysis.energy import Electric, drivetrain_from_fields
from gomrac.analysis.errors import ApproximateDataWarning, InfeasibleError, ValidationError
from gomrac.analysis.routing import (
    CollectionPlan,
    CollectionProblem,
    Compartment,
    Fleet,
    VehicleType,
    check_plan,
    nearest_neighbour_plan,
    plan_handcart_rounds,
    saving_pct,
    solve,
)
from gomrac.geo.crs import METRIC_CRS, WGS84, to_metric
from gomrac.geo.settings import DEFAULT_TIME_LIMIT_S

if TYPE_CHECKING:
    from gomrac.api.pipeline import WardData
    from gomrac.geo.network import NetworkRules

log = logging.getLogger(__name__)

#: Streams collected together, collection days (Vietnamese, English) and days of waste per pickup.
COLLECTIONS: dict[str, tuple[tuple[str, ...], str, float]] = {
    "daily": (("food", "residual"), "Hằng ngày (every day)", 1.0),
    "recyclable": (("recyclable",), "Thứ Ba và Thứ Sáu (Tuesday, Friday)", 3.5),
    "all": (STREAMS, "Hằng ngày (every day)", 1.0),
    "food": (("food",), "Hằng ngày (every day)", 1.0),
    "residual": (("residual",), "Hằng ngày (every day)", 1.0),
}
STREAM_VI = {"food": "rác thực phẩm", "recyclable": "rác tái chế", "residual": "rác còn lại"}

#: A 660 L handcart holds about 180 kg of loose household waste (local assumption).
CART_KG = 180.0

#: Farthest a facility may lie from the truck network and still count as reached, metres.
MAX_FACILITY_SNAP_M = 1500.0

#: Farthest the crew wheels a gathering point's bins to the truck's stop, metres on foot (local
#: assumption: a 660 L bin on its own wheels, two crew members, about a minute each way).
MAX_STOP_WALK_M = 60.0
#: Pace of a crew member wheeling a full bin, metres per second (local assumption).
CREW_WHEEL_M_S = 0.8


@dataclass(frozen=True)
class RoutesParams:
    """Parameters of a routing plan (units in the names)."""

    collection: str = "daily"
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    service_base_s: float = 120.0  # manoeuvre, stop and start at a gathering point
    service_per_bin_s: float = 30.0  # lift and tip one 660 L bin
    max_walk_m: float = MAX_STOP_WALK_M  # crew's walk from a truck stop to its point
    workers: int = 1  # independent searches in parallel (processes), the best kept
    baseline: tuple[tuple[str, ...], ...] | None = None  # the ward's current routes, if known
    garage_lonlat: tuple[float, float] | None = None
    fleet: Fleet | None = None
    two_tier: bool = True
    alley_m: float = 30.0  # a household farther than this from a truck street is an alley household
    cart_time_limit_s: float = 0.3
    seed: int = 0

    def __post_init__(self) -> None:
        if self.collection not in COLLECTIONS:
            msg = f"unknown collection {self.collection!r}; choose one of {', '.join(COLLECTIONS)}"
            raise ValidationError(msg)


@dataclass(frozen=True)
class RoutesResult:
    """A routing plan with geometries, baseline and everything to publish."""

    problem: CollectionProblem
    plan: CollectionPlan
    baseline: CollectionPlan
    violations: list[str]
    locations: gpd.GeoDataFrame  # EPSG:32648: garage, landfill, then the points
    routes: gpd.GeoDataFrame  # EPSG:4326, one line per vehicle trip
    stops: gpd.GeoDataFrame  # EPSG:4326, ordered stops
    carts: pd.DataFrame  # handcart rounds per gathering point
    summary: dict[str, Any]
    walks_to: np.ndarray  # for each demand unit, the point it walks to (−1: none reachable)
    network: Any  # the truck network the routes follow: a node at each stop, edges split there
    notes: list[str] = field(default_factory=list)


def point_demand(data: WardData, points: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Waste per stream reaching each gathering point: every household walks to its nearest point.

    Returns the points (EPSG:32648) with ``<stream>_kg_day`` and ``households`` columns, and the
    point each demand unit walks to (−1 when none is reachable).
    """
    demand = data.require_demand()
    pts = to_metric(points).reset_index(drop=True)
    _, which = nearest_source_cost(data.walk_arrays, pts.geometry, demand.geometry)
    ok = which >= 0
    for col in ("households", *(f"{s}_kg_day" for s in STREAMS)):
        sums = np.bincount(which[ok], weights=demand[col].to_numpy()[ok], minlength=len(pts))
        pts[col] = sums
    return pts, which


def _facility_locations(data: WardData, params: RoutesParams) -> tuple[Point, Point, list[str]]:
    """Garage and landfill positions (EPSG:32648) and notes on how they were chosen."""
    notes: list[str] = []
    if len(data.facilities):
        fac = data.facilities.iloc[0]
        landfill = to_metric(data.facilities).geometry.iloc[0]
        notes.append(f"landfill: {fac['name']} ({fac['location_precision']})")
        warnings.warn(
            f"{fac['name']}: position is {fac['location_precision']}",
            ApproximateDataWarning,
            stacklevel=3,
        )
    else:
        # No real facility is reachable (a sample area outside Hai Phong): a labelled stand-in at
        # the truck-network node farthest from the area's centre.
        arrays = data.truck_arrays
        c = data.area.metric_geometry().centroid
        far = int(np.argmax(np.hypot(arrays.xy[:, 0] - c.x, arrays.xy[:, 1] - c.y)))
        landfill = Point(arrays.xy[far])
        notes.append(
            "landfill: STAND-IN at the edge of the road extract (no real facility "
            "is reachable from this area); not Tràng Cát"
        )
    if params.garage_lonlat is not None:
        lon, lat = params.garage_lonlat
        garage = gpd.GeoSeries([Point(lon, lat)], crs=WGS84).to_crs(METRIC_CRS).iloc[0]
        notes.append(f"garage at {lon:.5f}, {lat:.5f} (given)")
    else:
        garage = landfill
        notes.append("garage assumed at the landfill site (pass --garage LON,LAT)")
    return garage, landfill, notes


def default_fleet(total_kg: float, *, garage: int = 0) -> Fleet:
    """Enough 7 t compactors for the day's waste in one trip each; the solver uses fewer."""
    vt = VehicleType()
    count = max(2, math.ceil(total_kg / vt.capacity_kg))
    return Fleet((VehicleType(count=count, garage=garage),))


def plan_routes(
    data: WardData, points: gpd.GeoDataFrame, *, params: RoutesParams | None = None
) -> RoutesResult:
    """Plan one collection of the ward's gathering points, with baseline, geometry and carts."""
    params = params or RoutesParams()
    streams, _, days = COLLECTIONS[params.collection]
    data.require_networks()
    if points is None or points.empty:
        msg = "no gathering points to collect"
        raise ValidationError(msg)
    pts, walks_to = point_demand(data, points)
    garage, landfill, notes = _facility_locations(data, params)
    stops = truck_stops(
        data.truck_graph,
        data.walk_arrays,
        pts.geometry,
        max_walk_m=params.max_walk_m,
        obstacles=data.metric_layers["buildings"].geometry
        if "buildings" in data.metric_layers
        else None,
    )
    # the truck network with a node at each stop: every location is a node, so the drive is
    # the drawn street lines
    truck_t = GraphArrays.from_graph(stops.graph, weight="travel_time")
    facilities = gpd.GeoSeries([garage, landfill], crs=METRIC_CRS)
    fac_node, snap = truck_t.snap(facilities)
    index = {int(n): i for i, n in enumerate(truck_t.nodes.tolist())}
    stop_idx = np.array([index[int(n)] if n >= 0 else fac_node[0] for n in stops.node])
    loc_node = np.concatenate([fac_node, stop_idx])
    locs = gpd.GeoSeries(gpd.points_from_xy(*truck_t.xy[loc_node].T), crs=METRIC_CRS)
    if snap[1] > MAX_FACILITY_SNAP_M:
        msg = (
            f"the landfill is {snap[1] / 1000:.1f} km from the nearest truck road of the "
            "network: the road extract does not reach it. Use an extract that covers the "
            "ward and the landfill (see `gomrac ward summary` for the osmium command)."
        )
        raise InfeasibleError(msg)
    duration = cost_matrix(truck_t, locs, locs, include_access=False)
    # km along the fastest paths
    distance = cost_matrix(truck_t, locs, locs, measure="length", include_access=False)
    kg = sum(pts[f"{s}_kg_day"].to_numpy() for s in streams) * days
    bins = np.maximum(
        bins_needed(kg, bin_l=660.0, bulk_density_kg_m3=data.params.bulk_density_kg_m3), 1
    )
    wheel_s = 2 * np.where(stops.reachable, stops.walk_m, 0.0) / CREW_WHEEL_M_S * np.ceil(bins / 2)
    service = params.service_base_s + params.service_per_bin_s * bins + wheel_s
    fleet = params.fleet or default_fleet(float(kg.sum()))
    clients = list(range(2, len(locs)))
    served = (kg > 0) & stops.reachable
    names = ["Gara (garage)", "Bãi chôn lấp (landfill)", *_point_names(points)]
    unreachable = [
        {"point": names[2 + i], "reason": stops.reasons[i]}
        for i in np.flatnonzero((kg > 0) & ~stops.reachable)
    ]
    for row in unreachable:
        notes.append(f"{row['point']}: {row['reason']}")
    problem = CollectionProblem.from_matrices(
        duration,
        distance,
        garage=0,
        landfills=[1],
        clients=[c for c, s in zip(clients, served, strict=True) if s],
        demand_kg=kg[served],
        service_s=service[served],
        fleet=fleet,
        compartment_kg=_compartment_demand(fleet, pts, streams, days)[served]
        if any(vt.compartments for vt in fleet)
        else None,
    )
    user = (
        _baseline_plan(problem, params.baseline, names[2:]) if params.baseline is not None else None
    )
    plan = solve(
        problem,
        time_limit_s=params.time_limit_s,
        seed=params.seed,
        baseline=user,
        workers=params.workers,
    )
    violations = check_plan(problem, plan)
    baseline = nearest_neighbour_plan(problem)
    walk_of = np.concatenate([[0.0, 0.0], np.where(stops.reachable, stops.walk_m, np.nan)])
    routes, stop_rows = _geometries(plan, problem, locs, names, stops.graph, truck_t, walk_of)
    carts = (
        _carts(data, pts, walks_to, streams, days, params) if params.two_tier else pd.DataFrame()
    )
    summary = {
        "ward": data.area.name,
        "collection": params.collection,
        "streams": list(streams),
        "points": int(served.sum()),
        "vehicles_used": plan.vehicles_used,
        "trips": plan.trips,
        "total_km": round(plan.total_km, 2),
        "total_h": round(plan.total_h, 2),
        "tonnes": round(plan.tonnes, 2),
        "all_points_served_once": plan.all_points_served_once
        and not plan.unserved
        and not unreachable,
        "max_load_pct": round(plan.max_load_pct, 1),
        "fuel_l": round(plan.fuel_l, 1),
        "co2_kg": round(plan.co2_kg, 1),
        "energy_kwh": round(plan.energy_kwh, 1),
        "baseline_km": round(baseline.total_km, 2),
        "baseline_vehicles": baseline.vehicles_used,
        "saving_pct": round(100 * (baseline.total_km - plan.total_km) / baseline.total_km, 2)
        if baseline.total_km
        else 0.0,
        "cost_saving_pct": round(saving_pct(baseline, plan), 2),
        "check_violations": len(violations),
        "origin": plan.origin,
        "origin_saving_pct": round(plan.origin_saving_pct, 2),
        "lower_bound_vnd": round(plan.lower_bound_vnd),
        "gap_pct": round(plan.gap_pct, 2),
        "status": plan.status,
        "stop_reason": plan.stop_reason,
        "workers": params.workers,
        "solve_s": round(plan.solve_s, 2),
        "landfill_snap_m": round(float(snap[1]), 1),
        "max_stop_walk_m": params.max_walk_m,
        "stop_walk_m_max": round(float(stops.walk_m[stops.reachable].max()), 1)
        if stops.reachable.any()
        else None,
        "unreachable_points": unreachable,
        "notes": notes,
    }
    if user is not None:
        summary["user_baseline_km"] = round(user.total_km, 2)
        summary["user_baseline_saving_pct"] = round(saving_pct(user, plan), 2)
    if len(carts):
        summary.update(
            {
                "handcart_points": len(carts),
                "handcart_rounds": int(carts["rounds"].sum()),
                "handcart_km": round(float(carts["km"].sum()), 2),
                "alley_households": round(float(carts["households"].sum())),
            }
        )
    return RoutesResult(
        problem,
        plan,
        baseline,
        violations,
        gpd.GeoDataFrame({"name": names}, geometry=locs.to_numpy(), crs=METRIC_CRS),
        routes,
        stop_rows,
        carts,
        summary,
        walks_to,
        stops.graph,
        notes,
    )


def _point_names(points: gpd.GeoDataFrame) -> list[str]:
    if "name" in points:
        return [str(n) for n in points["name"]]
    return [f"Điểm {i + 1}" for i in range(len(points))]


def _geometries(
    plan: CollectionPlan,
    problem: CollectionProblem,
    locs: gpd.GeoSeries,
    names: list[str],
    G: Any,
    arrays: GraphArrays,
    walk_m: npt.NDArray[np.float64],
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Street-following lines per trip and the ordered stops (on their lines), EPSG:4326."""
    node_of, _ = arrays.snap(locs)
    node_ids = arrays.nodes[node_of]
    wgs = locs.to_crs(WGS84)
    route_rows, stop_rows = [], []
    for v, route in enumerate(plan.routes):
        vehicle = f"{v + 1}"
        by_trip: dict[int, list[int]] = {}
        last_trip = max((s.trip for s in route.stops if s.kind != "garage"), default=0)
        for seq, stop in enumerate(route.stops):
            # the drive home after the last unload is part of the last trip, not a trip of its own
            trip = min(stop.trip, last_trip)
            by_trip.setdefault(trip, []).append(stop.location)
            stop_rows.append(
                {
                    "vehicle": vehicle,
                    "trip": trip + 1,
                    "seq": seq,
                    "kind": stop.kind,
                    "location": stop.location,
                    "name": names[stop.location],
                    "arrival": _clock(stop.arrival_s),
                    "departure": _clock(stop.departure_s),
                    "arrival_s": stop.arrival_s,
                    "load_kg": round(stop.load_kg, 1),
                    "walk_m": round(float(walk_m[stop.location]), 1)
                    if stop.kind == "client"
                    else None,
                    "geometry": wgs.iloc[stop.location],
                }
            )
        prev_end: int | None = None
        for trip, seq_locs in sorted(by_trip.items()):
            path_locs = ([prev_end] if prev_end is not None else []) + seq_locs
            prev_end = seq_locs[-1]
            if len(path_locs) < 2:
                continue
            nodes = path_nodes(arrays, [int(node_ids[i]) for i in path_locs])
            if len(set(nodes)) < 2:  # e.g. home from the landfill when the garage is there too
                continue
            line = path_line(G, nodes, weight=arrays.weight)
            route_rows.append(
                {
                    "vehicle": vehicle,
                    "trip": trip + 1,
                    "stops": len(seq_locs),
                    "nodes": json.dumps(nodes),
                    "geometry": line,
                }
            )
    routes = gpd.GeoDataFrame(
        route_rows,
        columns=["vehicle", "trip", "stops", "nodes", "geometry"],
        geometry="geometry",
        crs=WGS84,
    )
    stops = (
        gpd.GeoDataFrame(stop_rows, geometry="geometry", crs=WGS84)
        if stop_rows
        else gpd.GeoDataFrame({"vehicle": []}, geometry=[], crs=WGS84)
    )
    return routes, stops


def _clock(seconds: float) -> str:
    s = round(seconds) % 86_400
    return f"{s // 3600:02d}:{(s % 3600) // 60:02d}"


def _carts(
    data: WardData,
    pts: gpd.GeoDataFrame,
    walks_to: np.ndarray,
    streams: tuple[str, ...],
    days: float,
    params: RoutesParams,
) -> pd.DataFrame:
    """Handcart rounds from alley households to their gathering point, per point."""
    demand = data.require_demand()
    truck_streets = data.truck_edges.geometry.to_numpy()
    tree = shapely.STRtree(truck_streets)
    _, dist = tree.query_nearest(
        demand.geometry.to_numpy(), return_distance=True, all_matches=False
    )
    alley = dist > params.alley_m
    walk = data.walk_arrays
    kg_all = sum(demand[f"{s}_kg_day"].to_numpy() for s in streams) * days
    rows = []
    for j in np.unique(walks_to[alley & (walks_to >= 0)]):
        members = np.nonzero(alley & (walks_to == j))[0]
        node, _ = walk.snap(demand.geometry.iloc[members])
        uniq, inv = np.unique(node, return_inverse=True)
        kg = np.bincount(inv, weights=kg_all[members])
        keep = kg > 0
        if not keep.any():
            continue
        # a stop with more than a cartload (an alley block) is several cart loads at one place
        pieces = np.ceil(kg[keep] / CART_KG).astype(int)
        where = np.repeat(uniq[keep], pieces)
        kg_stop = np.repeat(kg[keep] / pieces, pieces)
        stops = gpd.GeoSeries([pts.geometry.iloc[j]], crs=METRIC_CRS)
        sites = gpd.GeoSeries(
            gpd.points_from_xy(walk.xy[where, 0], walk.xy[where, 1]), crs=METRIC_CRS
        )
        locs = pd.concat([stops, sites], ignore_index=True)
        dist_m = cost_matrix(walk, locs, locs)
        dur_s = dist_m / (
            data.require_networks().cart.graph.get("gomrac_cart_kph", 3.0) / 3.6
        )  # pushing a loaded cart
        n_carts = max(1, math.ceil(kg_stop.sum() / CART_KG / 6))
        plan = plan_handcart_rounds(
            dur_s,
            dist_m,
            transfer_point=0,
            households_idx=list(range(1, len(locs))),
            demand_kg=kg_stop,
            cart_capacity_kg=CART_KG,
            n_carts=n_carts,
            time_limit_s=params.cart_time_limit_s,
            seed=params.seed,
        )
        rows.append(
            {
                "point": int(j),
                "name": _point_names(pts)[j] if "name" in pts else str(j),
                "alley_stops": int(keep.sum()),
                "households": float(demand["households"].to_numpy()[members].sum()),
                "kg": round(float(kg[keep].sum()), 1),
                "carts": plan.vehicles_used,
                "rounds": plan.trips,
                "km": round(plan.total_km, 2),
                "crew_h": round(plan.total_h, 2),
            }
        )
    return pd.DataFrame(rows)


def parse_lonlat(text: str) -> tuple[float, float]:
    """``"106.68,20.84"`` → (106.68, 20.84), with a clear error otherwise."""
    try:
        lon, lat = (float(v) for v in text.split(","))
    except ValueError as exc:
        msg = f"expected LON,LAT in degrees, got {text!r}"
        raise ValidationError(msg) from exc
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        msg = f"{text!r} is not a longitude,latitude pair"
        raise ValidationError(msg)
    return lon, lat


def _hhmm(text: object) -> float:
    try:
        h, m = (int(v) for v in str(text).split(":"))
    except ValueError as exc:
        msg = f"time {text!r} is not HH:MM"
        raise ValueError(msg) from exc
    return h * 3600.0 + m * 60.0


def truck_rules(fleet: Fleet) -> NetworkRules:
    """Network rules for the largest vehicle of `fleet`: its width, weight and height.

    A dimension no vehicle type gives keeps the default truck profile's (`COMPACTOR_TRUCK`).
    """
    from gomrac.geo.network import NetworkRules
    from gomrac.geo.restrictions import COMPACTOR_TRUCK

    def largest(name: str) -> float | None:
        values = [getattr(vt, name) for vt in fleet if getattr(vt, name) is not None]
        return max(values) if values else None

    width, weight, height = largest("width_m"), largest("gross_weight_t"), largest("height_m")
    profile = replace(
        COMPACTOR_TRUCK,
        name=f"{COMPACTOR_TRUCK.name} (fleet)",
        width_m=width if width is not None else COMPACTOR_TRUCK.width_m,
        gross_weight_t=weight if weight is not None else COMPACTOR_TRUCK.gross_weight_t,
        height_m=height if height is not None else COMPACTOR_TRUCK.height_m,
    )
    return NetworkRules(truck=profile)


def fleet_from_file(path: str | Path, *, streams: tuple[str, ...] | None = None) -> Fleet:
    """Read a fleet from CSV or JSON: one vehicle type a row.

    Columns (all but ``count`` optional, defaults of `VehicleType`): ``name, count, capacity_kg,
    capacity_m3, shift_start`` (HH:MM), ``shift_end`` (HH:MM; before the start means the next
    day), ``unload_min, cost_per_km_vnd, fixed_cost_vnd, fuel_l_per_100km``; the size the road
    tags see, ``width_m, gross_weight_t, height_m`` (the network is built for the largest); and
    the energy: ``energy`` (``diesel`` or ``electric``) with ``l_per_100km`` or ``kwh_per_km,
    battery_kwh, charge_kw, charge_efficiency, grid_kg_co2_per_kwh`` (see
    `gomrac.analysis.energy`). An electric type's charger must refill it between shifts.

    Where the type is garaged: ``garage_lon, garage_lat`` (the weekly plan snaps it to the truck
    network; without them the plan's garage). A split-body truck gives a compartment per stream
    it carries, ``compartment_<stream>_kg`` and optionally ``compartment_<stream>_m3`` (e.g.
    ``compartment_food_kg = 2000, compartment_residual_kg = 5000``); the compartments may not
    hold more than the body (``capacity_kg``, ``capacity_m3``). `streams` are the stream codes a
    compartment may name (default: those of `gomrac.geo.streams.load_streams`).
    """
    if streams is None:
        from gomrac.geo.streams import load_streams

        streams = load_streams().codes
    path = Path(path)
    try:
        rows = (
            json.loads(path.read_text(encoding="utf-8"))
            if path.suffix.lower() == ".json"
            else pd.read_csv(path).to_dict("records")
        )
    except (OSError, ValueError) as exc:
        msg = f"cannot read fleet file {path.name}: {exc}"
        raise ValidationError(msg) from exc
    types = []
    for i, row in enumerate(rows):
        if "count" not in row:
            msg = f"{path.name}, vehicle type {i + 1}: 'count' is required"
            raise ValidationError(msg)
        try:
            types.append(_vehicle_type(row, streams))
        except ValidationError as exc:
            msg = f"{path.name}, vehicle type {i + 1}: {exc}"
            raise ValidationError(msg) from exc
        except (TypeError, ValueError) as exc:
            msg = (
                f"{path.name}, vehicle type {i + 1}: {exc} (numbers without units; times as HH:MM)"
            )
            raise ValidationError(msg) from exc
    if not types:
        msg = f"{path.name} lists no vehicle type"
        raise ValidationError(msg)
    return Fleet(tuple(types))


def _compartment_demand(
    fleet: Fleet, pts: gpd.GeoDataFrame, streams: tuple[str, ...], days: float
) -> npt.NDArray[np.float64]:
    """Each point's kg per compartment of a split-body fleet (one layout, every stream held)."""
    layouts = {vt.streams for vt in fleet}
    layout = next(iter(layouts))
    if len(layouts) > 1 or not set(streams) <= set(layout):
        msg = (
            f"fleet: a routes plan of {'+'.join(streams)} needs every vehicle type to have one "
            f"compartment per stream collected; the weekly plan (`gomrac streams plan`) mixes "
            "split-body and single-body trucks"
        )
        raise ValidationError(msg)
    zero = np.zeros(len(pts))
    cols = [pts[f"{s}_kg_day"].to_numpy() * days if s in streams else zero for s in layout]
    return np.column_stack(cols).astype(np.float64)


def _compartments(row: dict[str, Any], streams: tuple[str, ...]) -> tuple[Compartment, ...]:
    """Return the compartments of a fleet-file row (``compartment_<stream>_kg``, ``_m3``)."""
    given: dict[str, dict[str, float]] = {}
    for key, value in row.items():
        if not (isinstance(key, str) and key.startswith("compartment_")) or pd.isna(value):
            continue
        stream, _, unit = key.removeprefix("compartment_").rpartition("_")
        if unit not in ("kg", "m3") or not stream:
            msg = (
                f"{key}: a compartment field is compartment_<stream>_kg or compartment_<stream>_m3"
            )
            raise ValidationError(msg)
        if stream not in streams:
            msg = f"{key}: unknown stream {stream!r} (streams: {', '.join(streams)})"
            raise ValidationError(msg)
        amount = float(value)
        if not amount > 0:
            msg = f"{key} must be positive, got {value}"
            raise ValidationError(msg)
        given.setdefault(stream, {})[f"capacity_{unit}"] = amount
    for stream, caps in given.items():
        if "capacity_kg" not in caps:
            msg = f"compartment_{stream}_m3 is given without compartment_{stream}_kg"
            raise ValidationError(msg)
    return tuple(Compartment(s, **given[s]) for s in streams if s in given)


def _vehicle_type(row: dict[str, Any], streams: tuple[str, ...] = STREAMS) -> VehicleType:
    """One vehicle type from a fleet-file row (values may be strings)."""
    kw: dict[str, Any] = {"count": int(row["count"]), "garage": 0}
    kw["compartments"] = _compartments(row, streams)
    where = [row.get(k) for k in ("garage_lon", "garage_lat")]
    present = [v is not None and pd.notna(v) for v in where]
    if any(present):
        if not all(present):
            msg = "garage_lon and garage_lat must be given together"
            raise ValidationError(msg)
        kw["garage_lonlat"] = (float(str(where[0])), float(str(where[1])))
    for key in (
        "name",
        "capacity_kg",
        "capacity_m3",
        "cost_per_km_vnd",
        "fixed_cost_vnd",
        "fuel_l_per_100km",
        "width_m",
        "gross_weight_t",
        "height_m",
    ):
        if key in row and pd.notna(row[key]):
            kw[key] = row[key] if key == "name" else float(row[key])
    energy = {k: v for k, v in row.items() if isinstance(k, str) and pd.notna(v)}
    if "energy" in energy:
        kw["drivetrain"] = drivetrain_from_fields(energy)
    if "unload_min" in row and pd.notna(row["unload_min"]):
        kw["unload_s"] = 60.0 * float(row["unload_min"])
    if "shift_start" in row and pd.notna(row["shift_start"]):
        kw["shift_start_s"] = _hhmm(row["shift_start"])
    if "shift_end" in row and pd.notna(row["shift_end"]):
        end = _hhmm(row["shift_end"])
        start = kw.get("shift_start_s", VehicleType().shift_start_s)
        kw["shift_end_s"] = end + 86_400 if end <= start else end
    vt = VehicleType(**kw)
    if isinstance(vt.drivetrain, Electric):
        vt.drivetrain.check_recharge(shift_h=vt.shift_s / 3600.0)
    return vt


def baseline_from_file(path: str | Path) -> tuple[tuple[str, ...], ...]:
    """Read the ward's current routes: a CSV of ``vehicle, point`` rows in visiting order.

    ``point`` is a point's name or its 1-based position in the points file. Returns each
    vehicle's sequence of points, checked against the plan's points by `plan_routes`.
    """
    try:
        table = pd.read_csv(path, dtype=str)
    except (OSError, ValueError) as exc:
        msg = f"cannot read baseline file {Path(path).name}: {exc}"
        raise ValidationError(msg) from exc
    if not {"vehicle", "point"} <= set(table.columns):
        msg = f"{Path(path).name}: a baseline needs the columns vehicle and point"
        raise ValidationError(msg)
    return tuple(
        tuple(str(p) for p in group["point"]) for _, group in table.groupby("vehicle", sort=False)
    )


def _baseline_plan(
    problem: CollectionProblem, routes: tuple[tuple[str, ...], ...], names: list[str]
) -> CollectionPlan:
    """Cost the ward's current routes on the plan's problem (`plan_from_sequences`)."""
    from gomrac.analysis.routing import plan_from_sequences

    client_of = {loc: i for i, loc in enumerate(problem.clients)}
    seqs = []
    for route in routes:
        seq = []
        for p in route:
            if p in names:
                idx = names.index(p)
            elif p.strip().isdigit():
                idx = int(p) - 1
            else:
                msg = f"baseline: point {p!r} is neither a point name nor a number"
                raise ValidationError(msg)
            if idx + 2 not in client_of:
                msg = f"baseline: point {p!r} is not a gathering point with waste to collect"
                raise ValidationError(msg)
            seq.append(client_of[idx + 2])
        seqs.append(seq)
    return plan_from_sequences(problem, seqs)
