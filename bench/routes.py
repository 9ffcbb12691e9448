"""Hanoi daily routes: the plan `gomrac routes plan` makes, per seed, on an idle and a busy machine.

Usage::

    python -m bench.routes [--seeds 0,1,2] [--time-limit S] [--busy] [--workers N]
                           [--points FILE] [--boundary FILE] [--json]

The problem is built exactly as ``gomrac routes plan --boundary <Hanoi sample>`` builds it: the
ward data of the Hanoi sample (real OSM streets of central Hanoi, `api.pipeline.load_ward_data`),
gathering points from ``points plan --cover-all`` (`api.points.plan_points` with the same time
limit, once per bench run; ``--points FILE`` reuses a GeoJSON of points instead), and
`api.routes.plan_routes` with the daily collection (food + residual), the default fleet, the
night shift and the stand-in landfill; handcart rounds are left out (they do not touch the truck
plan). `plan_routes` calls `analysis.routing.solve` and the nearest-neighbour baseline the CLI
reports against.

Each seed is run idle, and with ``--busy`` once more beside a CPU-bound process (a Python busy
loop this bench starts and stops), so the spread of the plans across seeds and machine load is
measured in one run. Per run: vehicles, trips, km, cost (million VND), the saving against the
nearest-neighbour baseline, ``origin`` (which plan won: the search or a constructive plan),
the lower bound's gap, ``status`` and the rule that stopped the search. The summary states, per
condition and overall, the cheapest and dearest plan and their spread, and whether any plan cost
more than the baseline.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import geopandas as gpd

from bench._report import emit
from gomrac.geo.settings import REPO_ROOT

DEFAULT_BOUNDARY = (
    REPO_ROOT.parent / "shared" / "data" / "boundaries" / "hanoi_central_sample_area.geojson"
)
DEFAULT_TIME_LIMIT_S = 30.0  # the CLI's --time-limit default (settings.time_limit_s)


def load_data(boundary: Path) -> Any:
    """The ward data of `boundary`, loaded as the CLI loads it."""
    from gomrac.api.planning import load_area
    from gomrac.geo.settings import settings_from_env

    return load_area(boundary=boundary, settings=settings_from_env())


def gathering_points(data: Any, time_limit_s: float, path: Path | None) -> gpd.GeoDataFrame:
    """Points from `path`, or planned with ``points plan --cover-all`` as the CLI does."""
    if path is not None:
        return gpd.read_file(path).to_crs(4326)
    from gomrac.api.points import PointsParams, plan_points

    plan = plan_points(data, params=PointsParams(time_limit_s=time_limit_s))
    return plan.proposed.to_crs(4326)


def run_once(
    data: Any, points: gpd.GeoDataFrame, *, seed: int, time_limit_s: float, workers: int
) -> dict[str, Any]:
    """One `plan_routes` call; the row of the table."""
    from gomrac.analysis.routing import check_plan, saving_pct
    from gomrac.api import routes as api_routes

    params = api_routes.RoutesParams(
        time_limit_s=time_limit_s, seed=seed, two_tier=False, workers=workers
    )
    t0 = time.perf_counter()
    result = api_routes.plan_routes(data, points, params=params)
    seconds = time.perf_counter() - t0
    plan, base = result.plan, result.baseline
    return {
        "seed": seed,
        "points": result.problem.n_clients,
        "vehicles": plan.vehicles_used,
        "trips": plan.trips,
        "km": round(plan.total_km, 1),
        "cost_mvnd": round(plan.cost_vnd / 1e6, 3),
        "nn_vehicles": base.vehicles_used,
        "nn_km": round(base.total_km, 1),
        "nn_cost_mvnd": round(base.cost_vnd / 1e6, 3),
        "saving_vs_nn_pct": round(saving_pct(base, plan), 2),
        "origin": plan.origin,
        "lower_bound_mvnd": round(plan.lower_bound_vnd / 1e6, 3),
        "gap_pct": round(plan.gap_pct, 2),
        "status": plan.status,
        "stop": plan.stop_reason,
        "iterations": plan.iterations,
        "solve_s": round(plan.solve_s, 1),
        "plan_routes_s": round(seconds, 1),
        "violations": len(check_plan(result.problem, plan)),
        "never_costlier": plan.cost_vnd <= base.cost_vnd + 1e-6,
    }


def spread(rows: list[dict[str, Any]], label: str) -> dict[str, Any]:
    """Cheapest and dearest plan of `rows`, and the spread between them."""
    costs = [r["cost_mvnd"] for r in rows]
    low, high = min(costs), max(costs)
    return {
        "summary": label,
        "runs": len(rows),
        "min_cost_mvnd": low,
        "max_cost_mvnd": high,
        "spread_pct": round(100 * (high - low) / low, 2) if low else 0.0,
        "min_vehicles": min(r["vehicles"] for r in rows),
        "max_vehicles": max(r["vehicles"] for r in rows),
        "min_saving_vs_nn_pct": min(r["saving_vs_nn_pct"] for r in rows),
        "max_gap_pct": max(r["gap_pct"] for r in rows),
        "all_never_costlier": all(r["never_costlier"] for r in rows),
        "time_limit_runs": sum(r["status"] == "time_limit" for r in rows),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the bench and print the table (or JSON lines)."""
    ap = argparse.ArgumentParser(prog="python -m bench.routes", description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated seeds")
    ap.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT_S, help="seconds")
    ap.add_argument("--busy", action="store_true", help="also run beside a CPU-bound process")
    ap.add_argument("--workers", type=int, default=1, help="parallel searches per solve")
    ap.add_argument("--points", type=Path, help="GeoJSON of gathering points to reuse")
    ap.add_argument("--boundary", type=Path, default=DEFAULT_BOUNDARY, help="study area")
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]

    data = load_data(args.boundary)
    points = gathering_points(data, args.time_limit, args.points)
    conditions = ["idle", "busy"] if args.busy else ["idle"]
    rows: list[dict[str, Any]] = []
    for condition in conditions:
        burner = None
        if condition == "busy":
            burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            for seed in seeds:
                row = {
                    "machine": condition,
                    **run_once(
                        data, points, seed=seed, time_limit_s=args.time_limit, workers=args.workers
                    ),
                }
                rows.append(row)
                if args.json:
                    emit([row], as_json=True)
                else:
                    sys.stderr.write(f"{condition} seed {seed}: done\n")
        finally:
            if burner is not None:
                burner.kill()
                burner.wait()
    summaries = [spread([r for r in rows if r["machine"] == c], c) for c in conditions]
    if len(conditions) > 1:
        summaries.append(spread(rows, "all"))
    title = (
        f"Hanoi sample, daily collection, {args.time_limit:g} s, workers {args.workers}, "
        f"seeds {args.seeds}"
    )
    if args.json:
        emit(summaries, as_json=True)
    else:
        emit(rows, as_json=False, title=title)
        emit(summaries, as_json=False, title="spread")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
