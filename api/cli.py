"""The ``gomrac`` command line.

Every command takes a ward name (``"Lê Chân"``, ``"le chan"``, an old name) or ``--boundary FILE``
for any other area; ``--json`` prints machine-readable results on stdout; messages and progress
go to stderr. Errors print one clear line and exit with status 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gomrac.analysis.errors import GomracError, ValidationError
from gomrac.api import commands, plan
from gomrac.api._cli import COMMANDS, area_args, command, emit, load
from gomrac.geo.settings import Settings, settings_from_env

if TYPE_CHECKING:
    from collections.abc import Sequence

log = logging.getLogger("gomrac")


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of every command."""
    parser = argparse.ArgumentParser(prog="gomrac", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log lines")
    sub = parser.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("wards", help="list Hai Phong's wards and communes")
    p.add_argument("--json", action="store_true")

    ward = sub.add_parser("ward", help="one ward's data").add_subparsers(dest="sub", required=True)
    p = ward.add_parser("summary", help="boundary, networks, features, households and waste")
    area_args(p)
    p = ward.add_parser("map", help="an interactive map of the ward's layers")
    area_args(p)
    p.add_argument("--out", type=Path, required=True, help="HTML file to write")

    p = sub.add_parser("plan", help="plan a ward end to end and write the interactive map")
    area_args(p)
    p.add_argument("--out", type=Path, default=Path("out"), help="output folder")
    p.add_argument(
        "--sample-if-missing",
        action="store_true",
        help="without road data for the ward, run on the Hanoi sample area instead",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        help="seconds per optimisation (default: GOMRAC_TIME_LIMIT_S, 30)",
    )
    p.add_argument("--walk-m", type=float, default=300.0)
    p.add_argument("--budget", type=int, default=10, help="cameras to site")
    p.add_argument("--existing", type=Path, help="existing gathering points file")
    p.add_argument(
        "--siting-rules", type=Path, help="siting distances (TOML; e.g. Decision 229/2025's)"
    )
    commands.service_args(p)
    p.add_argument(
        "--reports", help="dumping reports file or 'db' (else a labelled synthetic demo)"
    )

    p = sub.add_parser("serve", help="run the API (Open311 report intake, staff endpoints)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--database-url", help="else GOMRAC_DATABASE_URL or data/gomrac.sqlite")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (several: the settings come from the GOMRAC_* environment of each)",
    )
    p.add_argument(
        "--plan",
        help="plan this ward (or 'sample', the Hanoi sample) at start-up and serve its pages",
    )
    p.add_argument(
        "--proxy-headers",
        action="store_true",
        help="trust X-Forwarded-For from the local reverse proxy (client addresses for limits)",
    )

    p = sub.add_parser(
        "worker",
        help="run background plan jobs from the PostgreSQL queue (on this or another machine)",
    )
    p.add_argument("--database-url", help="else GOMRAC_DATABASE_URL (PostgreSQL)")
    p.add_argument("--name", help="the worker's name in the runs it records (else host:pid)")
    p.add_argument("--concurrency", type=int, default=1, help="plans run at once")
    p.add_argument(
        "--once", action="store_true", help="run the queued jobs, then stop (batch mode)"
    )

    users = sub.add_parser("users", help="staff accounts").add_subparsers(dest="sub", required=True)
    p = users.add_parser("add", help="create a staff account (the password is read from stdin)")
    p.add_argument("username")
    p.add_argument(
        "--role", required=True, choices=["ward_office", "police", "waste_company", "admin"]
    )
    p.add_argument("--ward", action="append", default=[], help="ward code (repeat for several)")
    p.add_argument("--full-name")
    p.add_argument("--database-url", help="else GOMRAC_DATABASE_URL or data/gomrac.sqlite")
    p.add_argument("--json", action="store_true")

    commands.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return the exit status (0 ok, 2 error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    key = " ".join(x for x in (args.cmd, getattr(args, "sub", None)) if x)
    try:
        settings = settings_from_env()  # the one place the command line reads the environment
        return COMMANDS[key](args, settings)
    except GomracError as exc:
        sys.stderr.write(f"gomrac: error: {exc}\n")
        return 2


@command("wards")
def _wards(args: argparse.Namespace, settings: Settings) -> int:
    from gomrac.geo.wards import list_wards

    w = list_wards(settings=settings)
    rows = [
        {
            "code": r.code,
            "name": r.full_name,
            "unit_type": r.unit_type,
            "area_km2": round(float(r.area_km2), 2),
            "boundary_source": r.boundary_source,
        }
        for r in w.itertuples()
    ]
    if args.json:
        emit(rows, as_json=True)
    else:
        for r in rows:
            sys.stdout.write(
                f"{r['code']}  {r['name']:<28} {r['unit_type']:<8} {r['area_km2']:>8} km²\n"
            )
        sys.stdout.write(f"{len(rows)} units; boundaries: {rows[0]['boundary_source']}\n")
    return 0


@command("ward summary")
def _ward_summary(args: argparse.Namespace, settings: Settings) -> int:
    from gomrac.api.pipeline import ward_summary

    data = load(args, settings, require_roads=False)
    if data.roads_missing:
        sys.stderr.write(f"gomrac: no road network for {data.area.name}: {data.roads_missing}\n")
    emit(ward_summary(data), as_json=args.json)
    return 0


@command("ward map")
def _ward_map(args: argparse.Namespace, settings: Settings) -> int:
    from gomrac.api import maps

    data = load(args, settings, require_roads=False)
    m = maps.base_map(data)
    if data.demand is not None:
        maps.add_heatmap(
            m,
            data.demand.assign(geometry=data.demand.geometry),
            name="Hộ dân (households)",
            show=False,
        )
    out = maps.finish(m, args.out)
    emit({"map": str(out), "ward": data.area.name}, as_json=args.json)
    return 0


@command("serve")
def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from gomrac.api.main import create_app

    if args.workers < 1:
        msg = "--workers must be at least 1"
        raise ValidationError(msg)
    if args.database_url and args.workers > 1:
        msg = "with several --workers, give the database as GOMRAC_DATABASE_URL (each reads it)"
        raise ValidationError(msg)
    if args.database_url:
        settings = settings.model_copy(update={"database_url": args.database_url})
    sys.stderr.write(
        f"gomrac: serving on http://{args.host}:{args.port} "
        f"(web pages: /, Open311: /open311/v2/discovery.json, docs: /docs)\n"
    )
    if args.plan and args.workers > 1:
        msg = "--plan keeps the plan in the server's memory: use one worker"
        raise ValidationError(msg)
    proxy = {"proxy_headers": args.proxy_headers, "forwarded_allow_ips": "127.0.0.1"}
    if args.workers > 1:
        uvicorn.run(
            "gomrac.api.main:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            **proxy,
        )
    else:
        app = create_app(settings)
        if args.plan:
            _register_plan(app, args.plan, settings)
        uvicorn.run(app, host=args.host, port=args.port, **proxy)
    return 0


def _register_plan(app: Any, ward: str, settings: Settings) -> None:
    """Plan `ward` (or the Hanoi sample), write it under the cache and serve its pages."""
    from gomrac.api.outputs import write_plan
    from gomrac.api.planning import load_or_sample, plan_ward, sample_area
    from gomrac.api.web.layers import SAMPLE_KEY, register_plan

    if ward == SAMPLE_KEY:
        data, is_sample = sample_area(settings=settings), True
    else:
        data, why = load_or_sample(ward, settings=settings, sample_if_missing=True)
        is_sample = why is not None
    sys.stderr.write(f"gomrac: planning {data.area.name} for the web pages…\n")
    plan = plan_ward(data, settings=settings, is_sample=is_sample)
    out = settings.cache_dir / "plans" / (SAMPLE_KEY if is_sample else str(data.area.code))
    write_plan(plan, out)
    key = SAMPLE_KEY if is_sample else str(data.area.code)
    register_plan(app, key, plan, week_dir=out / "week")
    sys.stderr.write(f"gomrac: pages at /{'sample' if is_sample else 'wards/' + key}\n")


@command("worker")
def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from gomrac.api.jobs import conninfo, run_worker

    if args.concurrency < 1:
        msg = "--concurrency must be at least 1"
        raise ValidationError(msg)
    if args.database_url:
        settings = settings.model_copy(update={"database_url": args.database_url})
    conninfo(settings.database_url)  # PostgreSQL only: say so before anything starts
    sys.stderr.write(f"gomrac: plan worker, files in {settings.plans_path}; stop with Ctrl+C\n")
    run_worker(settings, wait=not args.once, name=args.name, concurrency=args.concurrency)
    return 0


@command("users add")
def _users_add(args: argparse.Namespace, settings: Settings) -> int:
    import getpass

    from gomrac.api.web.accounts import add_user

    if args.database_url:
        settings = settings.model_copy(update={"database_url": args.database_url})
    password = (
        getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    )
    staff = add_user(
        settings,
        username=args.username,
        password=password,
        role=args.role,
        ward_codes=args.ward,
        full_name=args.full_name,
    )
    emit(
        {"username": staff.username, "role": staff.role, "wards": list(staff.ward_codes)},
        as_json=args.json,
    )
    return 0


@command("plan")
def _plan(args: argparse.Namespace, settings: Settings) -> int:
    return plan.run_plan(args, settings)


if __name__ == "__main__":
    # run through the importable module, where the command modules register their handlers
    from gomrac.api import cli as _cli

    sys.exit(_cli.main())
