"""Parsers and handlers of the analysis commands: points, routes, hotspots, cameras, layers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from api.cli import _area_args, command, emit, load


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the analysis commands to the top-level parser."""
    points = sub.add_parser("points", help="gathering points").add_subparsers(dest="sub", required=True)
    p = points.add_parser("plan", help="walking coverage and optimal new gathering points")
    _area_args(p)
    p.add_argument("--existing", type=Path, help="existing gathering points (GeoJSON/GPKG/CSV/XLSX)")
    p.add_argument("--walk-m", type=float, default=300.0, help="walking threshold, metres")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--cover-all", action="store_true", help="cover every household (default)")
    group.add_argument("--p", type=int, help="number of new points (with --model)")
    p.add_argument("--model", choices=["mclp", "pmedian"], default="mclp")
    p.add_argument("--curve", type=str, help="comma-separated p values: print coverage against p")
    p.add_argument("--bins-per-point", type=int, default=12, help="660 L bins a point can hold")
    p.add_argument("--collections-per-day", type=float, default=2.0)
    p.add_argument("--alley-points", action="store_true", help="also site transfer points in alleys")
    p.add_argument("--time-limit", type=float, default=60.0, help="solver time limit, seconds")
    p.add_argument("--out", type=Path, required=True, help="output folder")


def existing_points(args: argparse.Namespace, data: Any) -> Any:
    """The existing gathering points of ``--existing``, validated against the ward."""
    if not getattr(args, "existing", None):
        return None
    from geo.layers import read_layer  # noqa: PLC0415

    return read_layer(args.existing, kind="gathering_points", area=data.area.geometry,
                      area_name=data.area.name)


def points_params(args: argparse.Namespace) -> Any:
    """`PointsParams` from the command's options."""
    from api.points import PointsParams  # noqa: PLC0415

    model = "cover" if args.p is None else args.model
    return PointsParams(walk_m=args.walk_m, model=model, p=args.p,
                        bins_per_point=args.bins_per_point,
                        collections_per_day=args.collections_per_day,
                        time_limit_s=args.time_limit, alley_points=args.alley_points)


@command("points plan")
def _points_plan(args: argparse.Namespace) -> int:
    from api import maps  # noqa: PLC0415
    from api.points import curve, plan_points, write_outputs  # noqa: PLC0415

    data = load(args)
    existing = existing_points(args, data)
    params = points_params(args)
    plan = plan_points(data, existing=existing, params=params)
    files = write_outputs(plan, args.out, attribution=data.attribution())
    m = maps.base_map(data, title=f"{data.area.name}: điểm tập kết (gathering points)")
    add_points_layers(m, plan)
    files["map"] = str(maps.finish(m, args.out / "points_map.html"))
    result: dict[str, Any] = dict(plan.summary)
    if args.curve:
        p_values = [int(x) for x in args.curve.split(",") if x.strip()]
        result["curve"] = curve(data, existing=existing, params=params, p_values=p_values)
        if not args.json:
            for row in result["curve"]:
                sys.stderr.write(f"p={row['p']:>4}  covered {row['covered_pct']:6.2f}%  "
                                 f"gap {row['gap_pct']:.2f}%\n")
    result["files"] = files
    emit(result, as_json=args.json)
    return 0


def add_points_layers(m: Any, plan: Any) -> None:
    """Put a points plan's layers on a map: existing, proposed, uncovered, zones, catchments."""
    from api import maps  # noqa: PLC0415

    maps.add_polygons(m, plan.zones, name="Vùng cấm đặt điểm (exclusion zones)", color="#d62728",
                      tooltip_cols=["rule", "site"], opacity=0.15)
    maps.add_polygons(m, plan.catchments, name="Vùng đi bộ 300 m (walking catchments)",
                      color="#2ca02c", opacity=0.08)
    maps.add_points(m, plan.existing, name="Điểm tập kết hiện có (existing points)", color="#1f77b4",
                    popup_cols=["name", "bins_660l", "source"], radius=7)
    maps.add_points(m, plan.proposed, name="Điểm tập kết đề xuất (proposed points)", color="#2ca02c",
                    popup_cols=["point_id", "street", "households", "kg_per_day", "bins_660l",
                                "bins_240l", "rules_passed"], radius=8)
    maps.add_points(m, plan.uncovered, name="Hộ chưa được phục vụ (uncovered households)",
                    color="#ff7f0e", popup_cols=["households", "walk_m", "reason"], radius=3,
                    show=False, cluster=True)
    maps.add_legend(m, [("#1f77b4", "Điểm hiện có (existing)"), ("#2ca02c", "Điểm đề xuất (proposed)"),
                        ("#ff7f0e", "Hộ chưa phục vụ (uncovered)"), ("#d62728", "Vùng cấm (excluded)")])
