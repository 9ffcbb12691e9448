"""Parsers and handlers of the analysis commands: points, routes, hotspots, cameras, layers."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from gomrac.analysis.errors import ValidationError
from gomrac.api._cli import area_args, command, emit, load
from gomrac.geo.settings import Settings

COLLECTION_NAMES = ("daily", "recyclable", "all", "food", "residual")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the analysis commands to the top-level parser."""
    points = sub.add_parser("points", help="gathering points").add_subparsers(
        dest="sub", required=True
    )
    p = points.add_parser("plan", help="walking coverage and optimal new gathering points")
    area_args(p)
    p.add_argument(
        "--existing", type=Path, help="existing gathering points (GeoJSON/GPKG/CSV/XLSX)"
    )
    p.add_argument("--walk-m", type=float, default=300.0, help="walking threshold, metres")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--cover-all", action="store_true", help="cover every household (default)")
    group.add_argument("--p", type=int, help="number of new points (with --model)")
    p.add_argument("--model", choices=["mclp", "pmedian"], default="mclp")
    p.add_argument("--curve", type=str, help="comma-separated p values: print coverage against p")
    p.add_argument("--bins-per-point", type=int, default=12, help="660 L bins a point can hold")
    p.add_argument(
        "--siting-rules", type=Path, help="siting distances (TOML; e.g. Decision 229/2025's)"
    )
    p.add_argument("--collections-per-day", type=float, default=2.0)
    p.add_argument(
        "--alley-points", action="store_true", help="also site transfer points in alleys"
    )
    p.add_argument(
        "--time-limit",
        type=float,
        help="seconds per optimisation (default: GOMRAC_TIME_LIMIT_S, 30)",
    )
    p.add_argument("--out", type=Path, required=True, help="output folder")

    streams = sub.add_parser("streams", help="the weekly service plan per waste stream")
    p = streams.add_subparsers(dest="sub", required=True).add_parser(
        "plan", help="bins, collection days, routes and schedules per stream for a week"
    )
    area_args(p)
    service_args(p)
    p.add_argument("--points", type=Path, help="gathering points to collect (else planned first)")
    p.add_argument(
        "--time-limit",
        type=float,
        help="seconds per optimisation (default: GOMRAC_TIME_LIMIT_S, 30)",
    )
    p.add_argument("--out", type=Path, required=True, help="output folder")

    routes = sub.add_parser("routes", help="collection routes").add_subparsers(
        dest="sub", required=True
    )
    p = routes.add_parser("plan", help="optimised collection routes to the landfill")
    area_args(p)
    p.add_argument("--points", type=Path, help="gathering points to collect (else planned first)")
    p.add_argument("--landfill", help='facility to unload at (default "Tràng Cát")')
    p.add_argument("--garage", help="garage position LON,LAT (default: at the landfill)")
    p.add_argument("--fleet", type=Path, help="fleet file (CSV or JSON, one vehicle type a row)")
    p.add_argument(
        "--collection",
        choices=sorted(COLLECTION_NAMES),
        default="daily",
        help="daily (food + residual), recyclable (twice a week), all, or one stream",
    )
    p.add_argument(
        "--baseline",
        type=Path,
        help="current routes (CSV: vehicle, point): the search starts from them when cheaper",
    )
    p.add_argument(
        "--workers", type=int, default=1, help="independent searches in parallel (processes)"
    )
    p.add_argument("--no-carts", action="store_true", help="skip the handcart (alley) tier")
    p.add_argument(
        "--time-limit",
        type=float,
        help="seconds per optimisation (default: GOMRAC_TIME_LIMIT_S, 30)",
    )
    p.add_argument("--out", type=Path, required=True, help="output folder")

    layers = sub.add_parser("layers", help="import and export layers").add_subparsers(
        dest="sub", required=True
    )
    for name, text in (
        ("import", "validate a file and store it (all or nothing)"),
        ("export", "write a stored layer to a file"),
    ):
        p = layers.add_parser(name, help=text)
        p.add_argument(
            "kind",
            choices=[
                "gathering_points",
                "cameras",
                "reports",
                "dump_sites",
                "groups",
                "facilities",
            ],
        )
        p.add_argument("file", type=Path)
        p.add_argument("ward", help="ward or commune the layer belongs to")
        p.add_argument("--database-url", help="else GOMRAC_DATABASE_URL or data/gomrac.sqlite")
        p.add_argument("--json", action="store_true")
        if name == "import":
            p.add_argument("--append", action="store_true", help="add to the stored rows")
            p.add_argument(
                "--tolerance-m",
                type=float,
                default=200.0,
                help="how far outside the ward a feature may lie",
            )

    dumps = sub.add_parser("dumps", help="spontaneous dump register").add_subparsers(
        dest="sub", required=True
    )
    p = dumps.add_parser("status", help="sites per status and the share closed")
    p.add_argument("ward")
    p.add_argument("--database-url")
    p.add_argument("--json", action="store_true")
    p = dumps.add_parser("set", help="change a site's status (audited)")
    p.add_argument("site_id", type=int)
    p.add_argument("status", choices=["active", "being_cleaned", "closed", "restored"])
    p.add_argument("--actor", required=True, help="who makes the change")
    p.add_argument("--note")
    p.add_argument("--on", help="date of the change (YYYY-MM-DD), default today")
    p.add_argument("--database-url")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("scorecard", help="a ward's 2030 scorecard report (PDF and/or HTML)")
    p.add_argument("ward", help="ward or commune name")
    p.add_argument("--pdf", type=Path, help="write the report as PDF to this file")
    p.add_argument("--html", type=Path, help="write the report as HTML to this file")
    p.add_argument("--freq", choices=["month", "quarter"], default="month")
    p.add_argument("--lang", choices=["vi", "en"], default="vi")
    p.add_argument("--until", help="the report's last day (YYYY-MM-DD), default today")
    p.add_argument("--database-url")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("hotspots", help="dumping hotspots from reports")
    area_args(p)
    _report_args(p)
    p.add_argument("--method", choices=["dbscan", "hdbscan"], default="dbscan")
    p.add_argument("--eps-m", type=float, default=75.0, help="DBSCAN neighbourhood, metres")
    p.add_argument("--min-samples", type=int, default=5)
    p.add_argument("--since", help="first day of the period (YYYY-MM-DD)")
    p.add_argument("--until", help="last day of the period (YYYY-MM-DD)")
    p.add_argument("--out", type=Path, help="output folder")

    cams = sub.add_parser("cameras", help="camera siting").add_subparsers(dest="sub", required=True)
    p = cams.add_parser(
        "plan", help="site cameras within a budget over hotspots and sensitive sites"
    )
    area_args(p)
    _report_args(p)
    p.add_argument("--budget", type=int, required=True, help="new cameras to place")
    p.add_argument("--cameras", help="existing cameras file, or 'synthetic' for a demo")
    p.add_argument("--points", type=Path, help="gathering points to watch (file)")
    p.add_argument("--mobile", type=int, default=2, help="mobile cameras to rotate")
    p.add_argument(
        "--time-limit",
        type=float,
        help="seconds per optimisation (default: GOMRAC_TIME_LIMIT_S, 30)",
    )
    p.add_argument("--out", type=Path, help="output folder")


def _report_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--reports",
        required=True,
        help="a reports file, 'db' (the Open311 database) or 'synthetic' (demo only)",
    )
    p.add_argument("--database-url", help="database for --reports db (else GOMRAC_DATABASE_URL)")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic scenario")


def siting_rules(args: argparse.Namespace) -> dict[str, Any]:
    """`PointsParams`' rules from ``--siting-rules FILE`` (none: the documented defaults)."""
    from gomrac.geo.siting_rules import load_siting_rules

    path = getattr(args, "siting_rules", None)
    return {"rules": load_siting_rules(path)} if path else {}


def service_args(p: argparse.ArgumentParser) -> None:
    """Add the options of a weekly service plan: streams, fleet, garage and landfill."""
    p.add_argument("--streams", type=Path, help="stream definitions (TOML; see geo/streams.toml)")
    p.add_argument("--sorting-rate", type=float, help="share of food and recyclables sorted")
    p.add_argument("--fleet", type=Path, help="fleet file (CSV or JSON, one vehicle type a row)")
    p.add_argument("--garage", help="garage position LON,LAT (default: the residual facility)")
    p.add_argument("--landfill", help='facility for residual waste (default "Tràng Cát")')


def service_options(args: argparse.Namespace) -> dict[str, Any]:
    """`PlanOptions` fields from the options of `service_args`."""
    from gomrac.api.routes import fleet_from_file, parse_lonlat
    from gomrac.geo.streams import load_streams

    streams = load_streams(args.streams) if args.streams else None
    if args.sorting_rate is not None:
        streams = (streams or load_streams()).with_sorting_rate(args.sorting_rate)
    return {
        "streams": streams,
        "fleet": fleet_from_file(args.fleet) if args.fleet else None,
        "garage_lonlat": parse_lonlat(args.garage) if args.garage else None,
    }


@command("streams plan")
def _streams_plan(args: argparse.Namespace, settings: Settings) -> int:
    from gomrac.api.check import check_week
    from gomrac.api.points import PointsParams, plan_points
    from gomrac.api.weekly import WeekParams, assignment_from_points_plan, plan_week, write_week
    from gomrac.geo.facilities import load_facilities

    data = load(args, settings)
    options = service_options(args)
    limit = args.time_limit or settings.time_limit_s
    if args.points:
        points = existing_points(argparse.Namespace(existing=args.points), data)
        assignment = None
    else:
        sys.stderr.write("gomrac: no --points given: planning gathering points first\n")
        plan = plan_points(data, params=PointsParams(time_limit_s=limit))
        points = plan.proposed.to_crs(4326)
        assignment = assignment_from_points_plan(data, plan)
    week = plan_week(
        data,
        points,
        streams=options["streams"],
        fleet=options["fleet"],
        assignment=assignment,
        facilities=load_facilities(args.facilities, settings=settings)
        if data.area.in_haiphong or args.facilities
        else None,
        params=WeekParams(garage_lonlat=options["garage_lonlat"]),
        time_limit_s=limit,
        seed=settings.seed,
    )
    files = write_week(week, args.out, label=data.area.name, attribution=data.attribution())
    violations = check_week(args.out)
    for v in violations[:20]:
        sys.stderr.write(f"gomrac: check: {v}\n")
    emit(
        {
            "ward": data.area.name,
            "streams": week.totals,
            "km_per_week": week.overall["km_per_week"],
            "co2_kg_per_week": week.overall["co2_kg_per_week"],
            "check_violations": len(violations),
            "files": files,
        },
        as_json=args.json,
    )
    return 0


def existing_points(args: argparse.Namespace, data: Any) -> Any:
    """Read the existing gathering points of ``--existing``, validated against the ward."""
    if not getattr(args, "existing", None):
        return None
    from gomrac.geo.layers import read_layer

    return read_layer(
        args.existing, kind="gathering_points", area=data.area.geometry, area_name=data.area.name
    )


def points_params(args: argparse.Namespace, settings: Settings) -> Any:
    """`PointsParams` from the command's options."""
    from gomrac.api.points import Model, PointsParams

    model: Model = "cover" if args.p is None else args.model
    return PointsParams(
        walk_m=args.walk_m,
        model=model,
        p=args.p,
        bins_per_point=args.bins_per_point,
        collections_per_day=args.collections_per_day,
        time_limit_s=args.time_limit or settings.time_limit_s,
        alley_points=args.alley_points,
        **siting_rules(args),
    )


@command("points plan")
def _points_plan(args: argparse.Namespace, settings: Settings) -> int:
    from gomrac.api import maps
    from gomrac.api.outputs import write_points
    from gomrac.api.points import curve, plan_points

    data = load(args, settings)
    existing = existing_points(args, data)
    params = points_params(args, settings)
    plan = plan_points(data, existing=existing, params=params)
    files = write_points(plan, args.out, attribution=data.attribution())
    m = maps.base_map(data, title=f"{data.area.name}: điểm tập kết (gathering points)")
    maps.add_points_layers(m, plan)
    files["map"] = str(maps.finish(m, args.out / "points_map.html"))
    result: dict[str, Any] = dict(plan.summary)
    if args.curve:
        try:
            p_values = [int(x) for x in args.curve.split(",") if x.strip()]
        except ValueError as exc:
            msg = f"--curve takes whole numbers separated by commas, got {args.curve!r}"
            raise ValidationError(msg) from exc
        result["curve"] = curve(plan, params=params, p_values=p_values)
        if not args.json:
            for row in result["curve"]:
                sys.stderr.write(
                    f"p={row['p']:>4}  covered {row['covered_pct']:6.2f}%  "
                    f"gap {row['gap_pct']:.2f}%\n"
                )
    result["files"] = files
    emit(result, as_json=args.json)
    return 0


@command("hotspots")
def _hotspots(args: argparse.Namespace, settings: Settings) -> int:
    from gomrac.api.outputs import write_hotspots
    from gomrac.api.surveillance import analyse_hotspots, load_reports

    data = load(args, settings, require_roads=False)
    reports = load_reports(
        data, args.reports, seed=args.seed, database_url=args.database_url or settings.database_url
    )
    h = analyse_hotspots(
        data,
        reports,
        method=args.method,
        eps_m=args.eps_m,
        min_samples=args.min_samples,
        since=args.since,
        until=args.until,
    )
    result = dict(h.summary)
    if args.out:
        result["files"] = write_hotspots(h, args.out, attribution=data.attribution())
    emit(result, as_json=args.json)
    return 0


@command("cameras plan")
def _cameras_plan(args: argparse.Namespace, settings: Settings) -> int:
    from gomrac.api.outputs import write_cameras
    from gomrac.api.surveillance import (
        analyse_hotspots,
        demo_existing_cameras,
        load_reports,
        plan_cameras,
    )
    from gomrac.geo.layers import read_layer

    data = load(args, settings)
    reports = load_reports(
        data, args.reports, seed=args.seed, database_url=args.database_url or settings.database_url
    )
    h = analyse_hotspots(data, reports)
    cameras = None
    if args.cameras == "synthetic":
        cameras = demo_existing_cameras(data, seed=args.seed)
    elif args.cameras:
        cameras = read_layer(
            args.cameras, kind="cameras", area=data.area.geometry, area_name=data.area.name
        )
    points = (
        read_layer(
            args.points, kind="gathering_points", area=data.area.geometry, area_name=data.area.name
        )
        if args.points
        else None
    )
    cams = plan_cameras(
        data,
        h,
        budget=args.budget,
        gathering_points=points,
        existing_cameras=cameras,
        time_limit_s=args.time_limit or settings.time_limit_s,
        mobile_cameras=args.mobile,
    )
    result: dict[str, Any] = {
        **cams.summary,
        "reports": h.summary["reports"],
        "reports_source": reports.source,
    }
    if args.out:
        result["files"] = write_cameras(cams, args.out, attribution=data.attribution())
    emit(result, as_json=args.json)
    return 0


@command("routes plan")
def _routes_plan(args: argparse.Namespace, settings: Settings) -> int:
    from gomrac.api import maps
    from gomrac.api.outputs import write_routes
    from gomrac.api.points import PointsParams, plan_points
    from gomrac.api.routes import (
        RoutesParams,
        baseline_from_file,
        fleet_from_file,
        parse_lonlat,
        plan_routes,
    )
    from gomrac.api.schedule import schedule_table, write_schedule

    data = load(args, settings)
    if args.points:
        points = existing_points(argparse.Namespace(existing=args.points), data)
        source = f"file:{args.points.name}"
    else:
        sys.stderr.write(
            "gomrac: no --points given: planning gathering points first (--cover-all)\n"
        )
        points = plan_points(
            data, params=PointsParams(time_limit_s=args.time_limit or settings.time_limit_s)
        ).proposed.to_crs(4326)
        source = "planned (points plan --cover-all)"
    params = RoutesParams(
        collection=args.collection,
        time_limit_s=args.time_limit or settings.time_limit_s,
        garage_lonlat=parse_lonlat(args.garage) if args.garage else None,
        fleet=fleet_from_file(args.fleet) if args.fleet else None,
        two_tier=not args.no_carts,
        workers=args.workers,
        baseline=baseline_from_file(args.baseline) if args.baseline else None,
    )
    result = plan_routes(data, points, params=params)
    summary = dict(result.summary)
    summary["points_source"] = source
    files = write_routes(result, args.out, attribution=data.attribution())
    walks_to = result.walks_to
    names = [str(n) for n in points.get("name", [f"Điểm {i + 1}" for i in range(len(points))])]
    streets = (
        [str(s) for s in points.get("street", [""] * len(points)).fillna("")]
        if "street" in points
        else [""] * len(points)
    )
    table = schedule_table(data, [result], walks_to, names, streets)
    files.update(write_schedule(table, args.out, ward=data.area.name, notes=result.notes))
    m = maps.base_map(data, title=f"{data.area.name}: tuyến thu gom (collection routes)")
    maps.add_points(
        m,
        points,
        name="Điểm tập kết (gathering points)",
        color="#2ca02c",
        popup_cols=["name", "street", "households", "kg_per_day"],
    )
    maps.add_routes(m, result.routes, result.stops)
    files["map"] = str(maps.finish(m, args.out / "routes_map.html"))
    summary["files"] = files
    emit(summary, as_json=args.json)
    return 0 if not result.violations else 1


@command("layers import")
def _layers_import(args: argparse.Namespace, settings: Settings) -> int:
    from gomrac.api.layers import import_layer
    from gomrac.geo.wards import find_ward

    result = import_layer(
        args.file,
        kind=args.kind,
        area=find_ward(args.ward, settings=settings),
        database_url=args.database_url or settings.database_url,
        mode="append" if args.append else "replace",
        tolerance_m=args.tolerance_m,
    )
    emit(result, as_json=args.json)
    return 0


@command("layers export")
def _layers_export(args: argparse.Namespace, settings: Settings) -> int:
    from gomrac.api.layers import export_layer
    from gomrac.geo.osm import OSM_ATTRIBUTION
    from gomrac.geo.wards import BOUNDARY_ATTRIBUTION, find_ward

    area = find_ward(args.ward, settings=settings)
    result = export_layer(
        args.file,
        kind=args.kind,
        area=area,
        database_url=args.database_url or settings.database_url,
        attribution=[OSM_ATTRIBUTION, BOUNDARY_ATTRIBUTION[area.boundary_source]],
    )
    emit(result, as_json=args.json)
    return 0


@command("dumps status")
def _dumps_status(args: argparse.Namespace, settings: Settings) -> int:
    from gomrac.api.dumps import register_summary
    from gomrac.geo.wards import find_ward

    area = find_ward(args.ward, settings=settings)
    emit(
        register_summary(
            ward_code=area.code,
            ward_name=area.name,
            database_url=args.database_url or settings.database_url,
        ),
        as_json=args.json,
    )
    return 0


@command("dumps set")
def _dumps_set(args: argparse.Namespace, settings: Settings) -> int:
    from gomrac.api.dumps import set_status

    emit(
        set_status(
            args.site_id,
            status=args.status,
            actor=args.actor,
            note=args.note,
            on=args.on,
            database_url=args.database_url or settings.database_url,
        ),
        as_json=args.json,
    )
    return 0


@command("scorecard")
def _scorecard(args: argparse.Namespace, settings: Settings) -> int:
    import datetime as dt

    from gomrac.api.layers import migrated_engine
    from gomrac.api.web.pages import pdf_from_html, report_end, scorecard_report_html
    from gomrac.geo.wards import find_ward

    if args.pdf is None and args.html is None:
        msg = "give --pdf FILE and/or --html FILE"
        raise ValidationError(msg)
    try:
        until = dt.date.fromisoformat(args.until) if args.until else None
    except ValueError:
        msg = f"--until {args.until!r} is not a date (YYYY-MM-DD)"
        raise ValidationError(msg) from None
    area = find_ward(args.ward, settings=settings)
    with migrated_engine(args.database_url or settings.database_url) as engine:
        html = scorecard_report_html(
            title=area.name,
            key=str(area.code),
            plan=None,
            engine=engine,
            lang=args.lang,
            freq=args.freq,
            today=report_end(until),
        )
    files = {}
    if args.html is not None:
        args.html.write_text(html, encoding="utf-8")
        files["html"] = str(args.html)
    if args.pdf is not None:
        args.pdf.write_bytes(pdf_from_html(html))
        files["pdf"] = str(args.pdf)
    emit({"ward": area.name, "code": area.code, "files": files}, as_json=args.json)
    return 0
