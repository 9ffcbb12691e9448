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
import warnings
from typing import TYPE_CHECKING, Any

from gomrac.analysis.errors import DataNotFoundError, SyntheticDataWarning
from gomrac.api import maps
from gomrac.api.cli import emit, read_groups
from gomrac.api.pipeline import HANOI_SAMPLE, load_ward_data, ward_summary

if TYPE_CHECKING:
    import argparse
    from pathlib import Path

    from gomrac.api.pipeline import WardData
    from gomrac.geo.settings import Settings


def load_or_sample(args: argparse.Namespace, settings: Settings) -> tuple[WardData, bool]:
    """Load the ward's data, or the Hanoi sample's as a stand-in.

    The Hanoi sample stands in when the ward has no road data and ``--sample-if-missing`` is
    given. Returns the data and whether it is the Hanoi stand-in.
    """
    kwargs: dict[str, Any] = {
        "osm_path": args.osm,
        "facilities_path": args.facilities,
        "refresh_roads": args.refresh_roads,
        "population": args.population,
        "progress": sys.stderr.isatty(),
        "groups": read_groups(args, settings),
    }
    data = load_ward_data(
        args.ward, settings=settings, boundary=args.boundary, require_roads=False, **kwargs
    )
    if data.networks is not None:
        return data, False
    if not args.sample_if_missing:
        raise DataNotFoundError(data.roads_missing or "no road data")
    sample = settings.data_dir / HANOI_SAMPLE
    sys.stderr.write(
        f"gomrac: no road data for {args.ward or args.boundary}: {data.roads_missing}\n"
        f"gomrac: running the same plan on the HANOI SAMPLE AREA ({sample.name}, real OSM "
        "streets of central Hanoi) instead; every output is labelled as such.\n"
    )
    return load_ward_data(
        boundary=sample,
        settings=settings,
        population=args.population,
        progress=sys.stderr.isatty(),
    ), True


def _step(name: str) -> None:
    sys.stderr.write(f"gomrac plan: {name}…\n")


def run_plan(args: argparse.Namespace, settings: Settings) -> int:
    """Run every planning step for a ward and write the outputs under ``args.out``."""
    from gomrac.api.commands import add_points_layers
    from gomrac.api.points import PointsParams, plan_points
    from gomrac.api.points import write_outputs as write_points
    from gomrac.api.routes import RoutesParams, plan_routes
    from gomrac.api.routes import write_outputs as write_routes
    from gomrac.api.schedule import schedule_table, write_schedule
    from gomrac.api.surveillance import (
        analyse_hotspots,
        chosen_sites,
        demo_existing_cameras,
        load_reports,
        plan_cameras,
        write_cameras,
        write_hotspots,
    )
    from gomrac.geo.layers import read_layer

    data, is_sample = load_or_sample(args, settings)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    label = data.area.name + (" — MẪU HÀ NỘI / Hanoi sample, not Hai Phong" if is_sample else "")
    attribution = data.attribution()
    summary = ward_summary(data)
    result: dict[str, Any] = {"label": label, "hanoi_sample": is_sample, "ward": summary}
    synthetic: list[str] = []

    _step("gathering points")
    existing = None
    if getattr(args, "existing", None):
        existing = read_layer(
            args.existing,
            kind="gathering_points",
            area=data.area.geometry,
            area_name=data.area.name,
        )
    points_plan = plan_points(
        data,
        existing=existing,
        params=PointsParams(walk_m=args.walk_m, time_limit_s=args.time_limit),
    )
    result["points"] = points_plan.summary
    result["points"]["files"] = write_points(points_plan, out / "points", attribution=attribution)
    points = points_plan.proposed
    if points_plan.existing is not None and len(points_plan.existing):
        points = points_plan.existing.assign(status="existing")._append(points, ignore_index=True)
    points = points.to_crs(4326)

    _step("collection routes")
    routes = {}
    for collection in ("daily", "recyclable"):
        res = plan_routes(
            data,
            points,
            params=RoutesParams(
                collection=collection, time_limit_s=args.time_limit, two_tier=collection == "daily"
            ),
        )
        routes[collection] = res
        res.summary["files"] = write_routes(
            res, out / "routes" / collection, attribution=attribution
        )
        result[f"routes_{collection}"] = res.summary
    walks_to = routes["daily"].walks_to
    names = [str(n) for n in points["name"]]
    streets = [
        str(s) if isinstance(s, str) else "" for s in points.get("street", [""] * len(points))
    ]
    table = schedule_table(data, list(routes.values()), walks_to, names, streets)
    notes = list(dict.fromkeys(n for r in routes.values() for n in r.notes))
    if is_sample:
        notes.insert(
            0, "MẪU: khu vực Hà Nội dùng để chạy thử, không phải Hải Phòng (Hanoi sample)."
        )
    result["schedule"] = write_schedule(table, out / "schedule", ward=label, notes=notes)

    _step("dumping hotspots (synthetic reports unless --reports is given)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticDataWarning)
        reports = load_reports(
            data,
            getattr(args, "reports", None) or "synthetic",
            seed=0,
            database_url=settings.database_url,
        )
        if reports.synthetic:
            synthetic.append("dumping reports")
        hot = analyse_hotspots(data, reports)
        result["hotspots"] = hot.summary
        result["hotspots"]["files"] = write_hotspots(hot, out / "hotspots", attribution=attribution)

        _step("cameras")
        cams = demo_existing_cameras(data)
        synthetic.append("existing cameras")
        plan, _, rotation, poles, cam_summary = plan_cameras(
            data,
            hot,
            budget=args.budget,
            gathering_points=points,
            existing_cameras=cams,
            time_limit_s=args.time_limit,
        )
    sites = chosen_sites(plan, poles)
    cam_summary["files"] = write_cameras(
        plan, poles, rotation, out / "cameras", attribution=attribution
    )
    result["cameras"] = cam_summary
    result["synthetic_layers"] = synthetic

    _step("map")
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
    emit(_headline(result) if not args.json else result, as_json=args.json)
    return 0


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
