"""`gomrac points plan`: walking coverage today and the best new gathering points.

Glue between the ward's data and the pure models: coverage over the walk network
(`analysis.coverage`), candidate sites under the siting rules (`analysis.siting`), and the
location models (`analysis.location`), then the outputs a planner posts: GeoJSON, CSV and a map.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gomrac.analysis.coverage import Coverage, walking_coverage
from gomrac.analysis.demand import STREAMS, assign_groups, bins_needed
from gomrac.analysis.distance import GraphArrays, cost_matrix, nearest_source_cost
from gomrac.analysis.errors import ValidationError
from gomrac.analysis.location import (
    MaximalCoverage,
    PMedian,
    SetCover,
    SitingResult,
    coverage_curve,
)
from gomrac.analysis.siting import (
    SitingRules,
    candidate_sites,
    exclusion_zones,
    point_capacity_kg,
)
from gomrac.geo.crs import METRIC_CRS, to_metric
from gomrac.geo.settings import DEFAULT_TIME_LIMIT_S

if TYPE_CHECKING:
    from gomrac.api.pipeline import WardData

log = logging.getLogger(__name__)

Model = Literal["cover", "mclp", "pmedian"]


@dataclass(frozen=True)
class PointsParams:
    """Parameters of a gathering-point plan (units in the names)."""

    walk_m: float = 300.0
    model: Model = "cover"
    p: int | None = None
    bins_per_point: int = 12
    bin_l: float = 660.0
    collections_per_day: float = 2.0
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    alley_points: bool = False
    rules: SitingRules = field(default_factory=SitingRules)


@dataclass(frozen=True)
class PointsPlan:
    """A gathering-point plan and everything needed to show and check it."""

    existing: gpd.GeoDataFrame  # EPSG:32648
    proposed: gpd.GeoDataFrame  # EPSG:32648, new points with load, bins, street, rules
    candidates: gpd.GeoDataFrame
    rejected: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    before: Coverage
    after: Coverage
    groups_table: pd.DataFrame
    uncovered: gpd.GeoDataFrame
    catchments: gpd.GeoDataFrame
    result: SitingResult
    summary: dict[str, Any]
    model_demand: (
        gpd.GeoDataFrame
    )  # the demand the model saw: units merged per node, split if large
    cost_m: np.ndarray  # walking metres, model demand × sites (existing first, then candidates)


def plan_points(
    data: WardData, *, existing: gpd.GeoDataFrame | None = None, params: PointsParams | None = None
) -> PointsPlan:
    """Coverage before, candidates, the location model, and coverage after, for one ward."""
    params = params or PointsParams()
    density = data.params.bulk_density_kg_m3  # the same waste density as the demand's bins
    per_point = point_capacity_kg(
        bins=params.bins_per_point,
        bin_l=params.bin_l,
        collections_per_day=params.collections_per_day,
        bulk_density_kg_m3=density,
    )
    demand = data.require_demand()
    walk = data.walk_arrays
    existing_m = (
        to_metric(existing)
        if existing is not None and len(existing)
        else gpd.GeoDataFrame({"name": []}, geometry=[], crs=METRIC_CRS)
    )
    before = walking_coverage(demand, existing_m, walk, max_walk_m=params.walk_m)
    sensitive = {k: v for k, v in data.metric_layers.items() if k in params.rules.exclusion_m}
    area = data.area.metric_geometry()
    cands, rejected = candidate_sites(
        data.truck_edges,
        area,
        sensitive=sensitive,
        existing=existing_m,
        rules=params.rules,
        access="truck",
    )
    if params.alley_points:
        alley, rej2 = candidate_sites(
            data.cart_edges,
            area,
            sensitive=sensitive,
            existing=pd.concat([existing_m[["geometry"]], cands[["geometry"]]]),
            rules=params.rules,
            access="cart",
        )
        cands = gpd.GeoDataFrame(pd.concat([cands, alley], ignore_index=True), crs=METRIC_CRS)
        cands["candidate_id"] = np.arange(len(cands))
        rejected = gpd.GeoDataFrame(pd.concat([rejected, rej2], ignore_index=True), crs=METRIC_CRS)
    sites = gpd.GeoDataFrame(
        pd.concat(
            [
                existing_m[["geometry"]].assign(kind="existing"),
                cands[["geometry"]].assign(kind="candidate"),
            ],
            ignore_index=True,
        ),
        crs=METRIC_CRS,
    )
    n_fixed = len(existing_m)
    # beyond the radius distances only explain why a unit cannot be covered ("nearest 412 m")
    limit = max(3 * params.walk_m, 1000.0) if params.model != "pmedian" else np.inf
    agg, unit_to_agg = aggregate_by_node(demand, walk)
    agg = split_large_units(agg, max_kg=per_point / 2)
    cost = model_costs(walk, agg, sites.geometry, limit=limit)
    capacity = np.full(len(sites), per_point)
    if n_fixed and "bins_660l" in existing_m:
        bins = existing_m["bins_660l"].fillna(params.bins_per_point).to_numpy()
        capacity[:n_fixed] = [
            point_capacity_kg(
                bins=int(b),
                collections_per_day=params.collections_per_day,
                bulk_density_kg_m3=density,
            )
            for b in bins
        ]
    result = _solve(cost, agg, capacity, n_fixed, params)
    open_sites = sites.iloc[result.open_sites]
    after = walking_coverage(demand, open_sites, walk, max_walk_m=params.walk_m)
    proposed = _proposed(result, sites, cands, agg, n_fixed, params, bulk_density_kg_m3=density)
    groups = (
        assign_groups(demand, data.groups)
        if data.groups is not None
        else pd.Series(0, index=demand.index)
    )
    table = before.by_group(groups)[["households", "covered_share"]].rename(
        columns={"covered_share": "covered_before"}
    )
    table["covered_after"] = after.by_group(groups)["covered_share"]
    if data.groups is not None:
        table = table.join(data.groups.set_index("group_id")[["name"]])
    uncovered = _uncovered(demand, after, result, unit_to_agg, agg["agg_id"].to_numpy())
    catchments = _catchments(walk, open_sites, params.walk_m, sites.iloc[result.open_sites]["kind"])
    stats = after.stats()
    summary = {
        "ward": data.area.name,
        "model": {"cover": "set_cover", "mclp": "maximal_coverage", "pmedian": "p_median"}[
            params.model
        ],
        "walk_m": params.walk_m,
        "households": round(float(demand["households"].sum())),
        "existing_points": n_fixed,
        "candidates": len(cands),
        "covered_before_pct": round(100 * before.covered_share, 2),
        "covered_after_pct": round(100 * after.covered_share, 2),
        "new_points": len(proposed),
        "max_walk_m": round(stats["max_walk_m"], 1),
        "mean_walk_m": round(stats["mean_walk_m"], 1),
        "bins_660l": int(proposed["bins_660l"].sum()) if len(proposed) else 0,
        "bins_240l_alternative": int(proposed["bins_240l"].sum()) if len(proposed) else 0,
        "objective": round(result.objective, 3),
        "bound": round(result.bound, 3),
        "gap_pct": round(100 * result.gap, 3),
        "status": result.status,
        "solve_s": round(result.solve_s, 2),
        "unreachable_households": round(
            float(agg["households"].to_numpy()[[r.demand for r in result.infeasible]].sum())
        )
        if result.infeasible
        else 0,
        "infeasible_units": int(
            np.isin(
                unit_to_agg, agg["agg_id"].to_numpy()[[r.demand for r in result.infeasible]]
            ).sum()
        ),
        "demand_units": len(demand),
        "model_demand_nodes": len(agg),
        "infeasible_reasons": _reason_counts(result),
        "capacity_kg_per_point": round(
            float(capacity[n_fixed]) if len(capacity) > n_fixed else 0.0, 1
        ),
    }
    return PointsPlan(
        existing=existing_m,
        proposed=proposed,
        candidates=cands,
        rejected=rejected,
        zones=exclusion_zones(sensitive, params.rules),
        before=before,
        after=after,
        groups_table=table,
        uncovered=uncovered,
        catchments=catchments,
        result=result,
        summary=summary,
        model_demand=agg,
        cost_m=cost,
    )


def split_large_units(demand: gpd.GeoDataFrame, *, max_kg: float) -> gpd.GeoDataFrame:
    """Split demand units producing more than `max_kg` a day into equal parts at the same place.

    A large apartment block can fill more than one gathering point; its parts may then be served
    by different points. ``unit_id`` is kept, so the parts can be summed back.
    """
    kg = demand["waste_kg_day"].to_numpy()
    parts = np.maximum(1, np.ceil(kg / max_kg)).astype(int) if max_kg > 0 else np.ones(len(kg), int)
    if (parts == 1).all():
        return demand
    out = demand.loc[demand.index.repeat(parts)].copy()
    share = 1.0 / np.repeat(parts, parts)
    for col in ("persons", "households", "waste_kg_day", *(f"{s}_kg_day" for s in STREAMS)):
        if col in out:
            out[col] = out[col].to_numpy() * share
    return out.reset_index(drop=True)


def _solve(
    cost: np.ndarray,
    demand: gpd.GeoDataFrame,
    capacity: np.ndarray,
    n_fixed: int,
    params: PointsParams,
) -> SitingResult:
    hh = demand["households"].to_numpy()
    kg = demand["waste_kg_day"].to_numpy()
    fixed = np.arange(n_fixed)
    common = {"demand_kg": kg, "capacity_kg": capacity, "fixed": fixed}
    if params.model == "cover":
        model: Any = SetCover.from_cost_matrix(cost, hh, service_radius_m=params.walk_m, **common)
    elif params.p is None:
        msg = f"--model {params.model} needs --p N (new points)"
        raise ValidationError(msg)
    elif params.model == "mclp":
        model = MaximalCoverage.from_cost_matrix(
            cost, hh, service_radius_m=params.walk_m, p=params.p, **common
        )
    else:
        model = PMedian.from_cost_matrix(cost, hh, p=params.p, **common)
    result: SitingResult = model.solve(time_limit_s=params.time_limit_s, mip_rel_gap=1e-4)
    return result


def _proposed(
    result: SitingResult,
    sites: gpd.GeoDataFrame,
    cands: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    n_fixed: int,
    params: PointsParams,
    *,
    bulk_density_kg_m3: float,
) -> gpd.GeoDataFrame:
    new = [int(s) for s in result.new_sites]
    rows = []
    assign = np.asarray(result.assignment)
    for k, s in enumerate(new):
        served = assign == s
        cand = cands.iloc[s - n_fixed]
        kg_day = float(demand["waste_kg_day"].to_numpy()[served].sum())
        row: dict[str, Any] = {
            "point_id": f"DTK-{k + 1:03d}",
            "name": f"Điểm tập kết đề xuất {k + 1} – {cand['street'] or 'ngõ không tên'}",
            "street": cand["street"],
            "access": cand["access"],
            "households": round(float(demand["households"].to_numpy()[served].sum()), 1),
            "kg_per_day": round(kg_day, 1),
            "bins_660l": int(
                bins_needed(
                    kg_day,
                    bin_l=660,
                    collections_per_day=params.collections_per_day,
                    bulk_density_kg_m3=bulk_density_kg_m3,
                )
            ),
            "bins_240l": int(
                bins_needed(
                    kg_day,
                    bin_l=240,
                    collections_per_day=params.collections_per_day,
                    bulk_density_kg_m3=bulk_density_kg_m3,
                )
            ),
            "rules": cand["rules"],
            "rules_status": cand["rules_status"],
            "status": "proposed",
            "geometry": sites.geometry.iloc[s],
        }
        for stream in STREAMS:
            row[f"{stream}_kg_per_day"] = round(
                float(demand[f"{stream}_kg_day"].to_numpy()[served].sum()), 1
            )
        rows.append(row)
    cols = [
        "point_id",
        "name",
        "street",
        "access",
        "households",
        "kg_per_day",
        "bins_660l",
        "bins_240l",
        "rules",
        "rules_status",
        "status",
        *(f"{s}_kg_per_day" for s in STREAMS),
        "geometry",
    ]
    return gpd.GeoDataFrame(rows, columns=cols, geometry="geometry", crs=METRIC_CRS)


def _uncovered(
    demand: gpd.GeoDataFrame,
    after: Coverage,
    result: SitingResult,
    unit_to_agg: np.ndarray,
    agg_ids: np.ndarray,
) -> gpd.GeoDataFrame:
    reasons = {int(agg_ids[r.demand]): r.reason for r in result.infeasible}
    idx = np.nonzero(~after.covered)[0]
    out = demand.iloc[idx][["unit_id", "kind", "households", "waste_kg_day", "geometry"]].copy()
    out["walk_m"] = np.round(after.walk_m[idx], 1)
    out["reason"] = [
        reasons.get(
            int(unit_to_agg[i]),
            "not reachable on the walk network"
            if not np.isfinite(after.walk_m[i])
            else f"nearest point {after.walk_m[i]:.0f} m away (budget or capacity)",
        )
        for i in idx
    ]
    return out


def aggregate_by_node(
    demand: gpd.GeoDataFrame, walk: GraphArrays
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """Demand units merged per walk-network node (the model's demand), and each unit's node row.

    Units snapped to one node walk the same network path; they differ only in their straight
    access legs. The merged unit stands on the node and carries the longest access leg of its
    members (``access_m``), which the caller adds to its distances: a merged unit within the
    walking radius then means every member is.
    """
    idx, leg = walk.snap(demand.geometry)
    nodes, inverse = np.unique(idx, return_inverse=True)
    cols = ["households", "waste_kg_day", *(f"{s}_kg_day" for s in STREAMS)]
    sums = pd.DataFrame(demand[cols].to_numpy(), columns=cols).groupby(inverse).sum()
    access = np.zeros(len(nodes))
    np.maximum.at(access, inverse, leg)
    agg = gpd.GeoDataFrame(
        sums.reset_index(drop=True),
        geometry=gpd.points_from_xy(walk.xy[nodes, 0], walk.xy[nodes, 1]),
        crs=demand.crs,
    )
    agg["node"] = walk.nodes[nodes]
    agg["access_m"] = access
    agg["agg_id"] = np.arange(len(agg))
    return agg, inverse


def model_costs(
    walk: GraphArrays, agg: gpd.GeoDataFrame, sites: gpd.GeoSeries, *, limit: float
) -> np.ndarray:
    """Compute the walking metres from each merged unit to each site.

    Each cost is made of the network path, the site leg and the longest home leg.
    """
    cost: np.ndarray = (
        cost_matrix(walk, agg.geometry, sites, limit=limit) + agg["access_m"].to_numpy()[:, None]
    )
    cost[cost > limit] = np.inf
    return cost


def _reason_counts(result: SitingResult) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in result.infeasible:
        key = r.reason.split("(")[0].strip()
        counts[key] = counts.get(key, 0) + 1
    return counts


def _catchments(
    walk: GraphArrays, points: gpd.GeoDataFrame, walk_m: float, kinds: pd.Series
) -> gpd.GeoDataFrame:
    """Outline the walking catchment of each point.

    A catchment is the hull of the network nodes nearest to the point within `walk_m`.
    """
    if points.empty:
        return gpd.GeoDataFrame({"point": []}, geometry=[], crs=METRIC_CRS)
    nodes = gpd.GeoSeries(gpd.points_from_xy(walk.xy[:, 0], walk.xy[:, 1]), crs=METRIC_CRS)
    _cost, owner = nearest_source_cost(walk, points.geometry, nodes, limit=walk_m)
    rows = []
    for j in np.unique(owner[owner >= 0]):
        pts = walk.xy[owner == j]
        if len(pts) < 3:
            continue
        hull = shapely.MultiPoint(pts).convex_hull.buffer(15)
        rows.append({"point": int(j), "kind": kinds.iloc[j], "nodes": len(pts), "geometry": hull})
    return gpd.GeoDataFrame(rows, crs=METRIC_CRS)


def curve(plan: PointsPlan, *, params: PointsParams, p_values: list[int]) -> list[dict[str, Any]]:
    """Households covered as a function of the number of new points (MCLP per p).

    Uses the plan's own candidates, demand and distances, so the curve and the plan agree.
    """
    rows = coverage_curve(
        plan.cost_m,
        plan.model_demand["households"].to_numpy(),
        service_radius_m=params.walk_m,
        p_values=p_values,
        fixed=np.arange(len(plan.existing)),
        time_limit_s=params.time_limit_s,
    )
    return [
        {
            "p": r.p,
            "covered_pct": round(100 * r.covered_share, 2),
            "gap_pct": round(100 * r.gap, 3),
            "solve_s": round(r.solve_s, 2),
        }
        for r in rows
    ]
