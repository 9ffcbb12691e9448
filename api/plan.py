"""`gomrac plan`: a ward planned end to end, with every layer on one interactive map.

Steps: ward data → gathering points (cover every household within the walk) → collection routes
for the daily (food + residual) and twice-weekly (recyclable) collections, with handcart rounds
→ the published schedule → dumping hotspots → a camera plan. Layers with no public source
(existing points, reports, cameras) come from files when given, else from the scenario generator,
labelled synthetic everywhere.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from gomrac.api import maps
from gomrac.api.cli import emit, read_groups
from gomrac.api.planning import PlanOptions, load_or_sample, plan_ward, summarise

if TYPE_CHECKING:
    import argparse
    from pathlib import Path

    from gomrac.api.planning import WardPlan
    from gomrac.geo.settings import Settings


def run_plan(args: argparse.Namespace, settings: Settings) -> int:
    """Plan a ward end to end (`gomrac.api.planning.plan_ward`) and write it under ``args.out``."""
    from gomrac.geo.layers import read_layer

    data, why = load_or_sample(
        args.ward,
        settings=settings,
        boundary=args.boundary,
        sample_if_missing=args.sample_if_missing,
        osm=args.osm,
        facilities=args.facilities,
        refresh_roads=args.refresh_roads,
        population=args.population,
        groups=read_groups(args, settings),
        progress=sys.stderr.isatty(),
    )
    if why is not None:
        sys.stderr.write(
            f"gomrac: no road data for {args.ward or args.boundary}: {why}\n"
            "gomrac: running the same plan on the HANOI SAMPLE AREA (real OSM streets of central "
            "Hanoi) instead; every output is labelled as such.\n"
        )
    existing = (
        read_layer(
            args.existing,
            kind="gathering_points",
            area=data.area.geometry,
            area_name=data.area.name,
        )
        if getattr(args, "existing", None)
        else None
    )
    options = PlanOptions(
        walk_m=args.walk_m,
        camera_budget=args.budget,
        time_limit_s=args.time_limit,
        reports=getattr(args, "reports", None) or "synthetic",
        existing_points=existing,
    )
    sys.stderr.write("gomrac plan: points, routes, hotspots and cameras…\n")
    plan = plan_ward(data, settings=settings, options=options, is_sample=why is not None)
    result = write_plan(plan, args.out)
    emit(_headline(result) if not args.json else result, as_json=args.json)
    return 0


def write_plan(plan: WardPlan, out: Path) -> dict[str, Any]:
    """Write every part of a ward plan under `out`, the map last; return ``plan.json``'s content."""
    from gomrac.api.commands import add_points_layers
    from gomrac.api.points import write_outputs as write_points
    from gomrac.api.routes import write_outputs as write_routes
    from gomrac.api.schedule import schedule_table, write_schedule
    from gomrac.api.surveillance import write_cameras, write_hotspots

    out.mkdir(parents=True, exist_ok=True)
    data, label = plan.data, plan.label
    attribution = data.attribution()
    result = summarise(plan)
    result["points"]["files"] = write_points(plan.points, out / "points", attribution=attribution)
    for collection, res in plan.routes.items():
        result[f"routes_{collection}"]["files"] = write_routes(
            res, out / "routes" / collection, attribution=attribution
        )
    points = plan.served_points()
    routes = plan.routes
    names = [str(n) for n in points["name"]]
    streets = [
        str(s) if isinstance(s, str) else "" for s in points.get("street", [""] * len(points))
    ]
    table = schedule_table(data, list(routes.values()), routes["daily"].walks_to, names, streets)
    notes = list(dict.fromkeys(n for r in routes.values() for n in r.notes))
    if plan.is_sample:
        notes.insert(
            0, "MẪU: khu vực Hà Nội dùng để chạy thử, không phải Hải Phòng (Hanoi sample)."
        )
    result["schedule"] = write_schedule(table, out / "schedule", ward=label, notes=notes)
    hot, reports = plan.hotspots, plan.reports
    result["hotspots"]["files"] = write_hotspots(hot, out / "hotspots", attribution=attribution)
    result["cameras"]["files"] = write_cameras(
        plan.cameras, out / "cameras", attribution=attribution
    )
    sites, cams = plan.cameras.sites(), plan.existing_cameras
    points_plan = plan.points

    m = maps.base_map(data, title=label)
    add_points_layers(m, points_plan)
    maps.add_routes(m, routes["daily"].routes, routes["daily"].stops)
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
        name="Camera hiện có – SYNTHETIC (existing cameras)",
        color="#7f7f7f",
        popup_cols=["kind", "owner"],
        radius=5,
        show=False,
    )
    result["map"] = str(maps.finish(m, out / "map.html"))
    (out / "plan.json").write_text(
        json.dumps(result, ensure_ascii=False, indent=2, default=str), encoding="utf-8"
    )
    return result


def _headline(result: dict[str, Any]) -> dict[str, Any]:
    """Pick the figures a ward official reads first."""
    w, p, r, h, c = (
        result["ward"],
        result["points"],
        result["routes_daily"],
        result["hotspots"],
        result["cameras"],
    )
    return {
        "area": result["label"],
        "households": w["households"],
        "waste_t_per_day": w["waste_t_per_day"],
        "gathering_points_new": p["new_points"],
        "households_within_walk_pct": p["covered_after_pct"],
        "daily_routes_km": r["total_km"],
        "daily_trucks": r["vehicles_used"],
        "daily_trips": r["trips"],
        "saving_vs_nearest_neighbour_pct": r["saving_pct"],
        "co2_kg_per_day": r["co2_kg"],
        "hotspots": h["hotspots"],
        "cameras_covered_weight_pct": c["covered_weight_pct"],
        "synthetic_layers": result["synthetic_layers"],
        "map": result["map"],
    }
