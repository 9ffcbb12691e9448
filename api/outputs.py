"""Files a plan is published as: GeoJSON, CSV, GPX, JSON summaries, and the ward plan's map.

The planning services (`gomrac.api.planning` and the modules it composes) return frozen results
and write nothing; these writers turn a result into files under a folder and return their paths.
Every file that carries map data carries the attribution lines it is given (© OpenStreetMap
contributors, the boundary source).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import geopandas as gpd

from gomrac.api import maps
from gomrac.api.planning import summarise
from gomrac.geo.gpx import write_gpx
from gomrac.geo.layers import remove_stale, save_layer

if TYPE_CHECKING:
    from pathlib import Path

    from gomrac.api.planning import WardPlan
    from gomrac.api.points import PointsPlan
    from gomrac.api.routes import RoutesResult
    from gomrac.api.surveillance import CamerasResult, Hotspots


def write_points(plan: PointsPlan, out: Path, *, attribution: list[str]) -> dict[str, str]:
    """Write the plan's layers (GeoJSON, CSV) and return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "proposed_geojson": save_layer(
            plan.proposed, out / "points_proposed.geojson", attribution=attribution
        ),
        "proposed_csv": save_layer(
            plan.proposed, out / "points_proposed.csv", attribution=attribution
        ),
        "uncovered_geojson": save_layer(
            plan.uncovered, out / "uncovered.geojson", attribution=attribution
        ),
        "exclusion_zones": save_layer(
            plan.zones, out / "exclusion_zones.geojson", attribution=attribution
        ),
        "catchments": save_layer(
            plan.catchments, out / "catchments.geojson", attribution=attribution
        ),
    }
    plan.groups_table.to_csv(out / "coverage_by_group.csv", encoding="utf-8-sig")
    files["coverage_by_group"] = out / "coverage_by_group.csv"
    (out / "points_summary.json").write_text(
        json.dumps(plan.summary, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return {k: str(v) for k, v in files.items()}


def write_routes(result: RoutesResult, out: Path, *, attribution: list[str]) -> dict[str, str]:
    """Routes and stops (GeoJSON, CSV), one GPX per vehicle, handcart rounds and the summary."""
    out.mkdir(parents=True, exist_ok=True)
    remove_stale(out / "gpx", "xe_*.gpx")  # no GPX of a vehicle this plan does not use
    files: dict[str, Any] = {
        "routes": save_layer(
            result.routes.drop(columns="nodes"), out / "routes.geojson", attribution=attribution
        ),
        "stops_geojson": save_layer(
            result.stops.drop(columns="arrival_s"), out / "stops.geojson", attribution=attribution
        ),
        "stops_csv": save_layer(
            result.stops.drop(columns="arrival_s"), out / "stops.csv", attribution=attribution
        ),
    }
    for vehicle, group in result.routes.groupby("vehicle", sort=True):
        stops = result.stops[result.stops["vehicle"] == vehicle]
        files[f"gpx_{vehicle}"] = write_gpx(
            out / "gpx" / f"xe_{vehicle}.gpx",
            name=f"Xe thu gom {vehicle} ({result.summary['ward']})",
            tracks=[(f"Xe {vehicle} – chuyến {r.trip}", r.geometry) for r in group.itertuples()],
            waypoints=[
                (
                    f"{s.seq}. {s.name}",
                    s.geometry.x,
                    s.geometry.y,
                    f"đến {s.arrival}, tải {s.load_kg} kg",
                )
                for s in stops.itertuples()
            ],
        )
    if len(result.carts):
        result.carts.to_csv(out / "handcart_rounds.csv", index=False, encoding="utf-8-sig")
        files["handcart_rounds"] = out / "handcart_rounds.csv"
    (out / "routes_summary.json").write_text(
        json.dumps(result.summary, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return {k: str(v) for k, v in files.items()}


def write_hotspots(h: Hotspots, out: Path, *, attribution: list[str]) -> dict[str, str]:
    """Write clusters, Gi* cells and the summary."""
    out.mkdir(parents=True, exist_ok=True)
    clusters = h.clusters.copy()
    for col in clusters.columns:
        if col != "geometry" and clusters[col].map(lambda v: isinstance(v, tuple | list)).any():
            clusters[col] = clusters[col].map(lambda v: ",".join(map(str, v)))
    clusters = clusters.drop(
        columns=[
            c
            for c in clusters.columns
            if c != "geometry" and isinstance(clusters[c].dtype, gpd.array.GeometryDtype)
        ]
    )
    files = {
        "hotspots": save_layer(clusters, out / "hotspots.geojson", attribution=attribution),
        "gi_cells": save_layer(
            h.gi_cells[h.gi_cells["hotspot_class"] != "not significant"],
            out / "gi_cells.geojson",
            attribution=attribution,
        ),
        "reports": save_layer(
            h.reports.reports, out / "reports_used.geojson", attribution=attribution
        ),
    }
    (out / "hotspots_summary.json").write_text(
        json.dumps(h.summary, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )
    return {k: str(v) for k, v in files.items()}


def write_cameras(cameras: CamerasResult, out: Path, *, attribution: list[str]) -> dict[str, str]:
    """Write the chosen sites (GeoJSON), mobile rotation and coverage per target kind (CSV)."""
    out.mkdir(parents=True, exist_ok=True)
    sites = save_layer(cameras.sites(), out / "cameras_proposed.geojson", attribution=attribution)
    cameras.rotation.drop(columns="geometry", errors="ignore").to_csv(
        out / "mobile_rotation.csv", index=False, encoding="utf-8-sig"
    )
    cameras.plan.by_kind.to_csv(out / "coverage_by_kind.csv", encoding="utf-8-sig")
    return {
        "cameras": str(sites),
        "rotation": str(out / "mobile_rotation.csv"),
        "coverage_by_kind": str(out / "coverage_by_kind.csv"),
    }


def write_plan(plan: WardPlan, out: Path) -> dict[str, Any]:
    """Write every part of a ward plan under `out`, the map last; return ``plan.json``'s content."""
    from gomrac.api.check import check_week
    from gomrac.api.weekly import write_week

    out.mkdir(parents=True, exist_ok=True)
    data, label = plan.data, plan.label
    attribution = data.attribution()
    result = summarise(plan)
    result["points"]["files"] = write_points(plan.points, out / "points", attribution=attribution)
    result["week"]["files"] = write_week(
        plan.week, out / "week", label=label, attribution=attribution
    )
    # the independent checker reads the written files back; it shares nothing with the planner
    violations = check_week(out / "week")
    result["week"]["check_violations"] = len(violations)
    result["week"]["check_messages"] = violations[:50]
    hot, reports = plan.hotspots, plan.reports
    result["hotspots"]["files"] = write_hotspots(hot, out / "hotspots", attribution=attribution)
    result["cameras"]["files"] = write_cameras(
        plan.cameras, out / "cameras", attribution=attribution
    )
    sites, cams = plan.cameras.sites(), plan.existing_cameras
    points_plan = plan.points

    m = maps.base_map(data, title=label)
    maps.add_points_layers(m, points_plan)
    monday = plan.week.routes[plan.week.routes["service_day"] == 0]
    maps.add_routes(m, monday)
    maps.add_heatmap(
        m,
        hot.reports.reports,
        name="Phản ánh đổ rác (reports heat map) – SYNTHETIC"
        if reports.synthetic
        else "Phản ánh đổ rác (reports heat map)",
        show=False,
    )
    maps.add_polygons(
        m,
        hot.clusters,
        name="Điểm nóng đổ rác (dumping hotspots)",
        color="#9467bd",
        tooltip_cols=["n_reports", "peak_hours"],
        show=True,
        opacity=0.3,
    )
    maps.add_points(
        m,
        sites,
        name="Camera đề xuất (proposed cameras)",
        color="#000000",
        popup_cols=["n_targets", "covers"],
        radius=6,
    )
    maps.add_points(
        m,
        cams,
        name="Camera hiện có – SYNTHETIC (existing cameras)"
        if "existing cameras" in plan.synthetic_layers
        else "Camera hiện có (existing cameras)",
        color="#7f7f7f",
        popup_cols=["camera_kind", "name"],
        radius=5,
        show=False,
    )
    result["map"] = str(maps.finish(m, out / "map.html"))
    (out / "plan.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )
    return result
