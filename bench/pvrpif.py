"""PVRP-IF benchmark: the weekly planner on the Milano waste-collection instances, and ward scaling.

Usage::

    python -m bench.pvrpif --instances DIR --time-limit 10 [--json] [--only Milano_020_4_0]
                           [--max-n 30] [--seed 0] [--ward-points 25,50,100] [--no-ward]
                    [--no-instances]

Part 1 solves each instance of ``DIR`` (default ``../shared/bench/pvrpif``; README there) with
`gomrac.analysis.weekly.plan_periodic`, the function `gomrac.api.weekly.plan_week` calls:

* one stream; customers are the points, with the instance's frequency, its per-visit demand
  (``load_mode="fixed"``) and service time; the intermediate facilities are the stream's unload
  sites; the depot is the garage; each day ``numVehicles`` vehicles of capacity ``maxCapacity``
  and shift ``[0, maxDuration]``; the instance's integer travel times are both the duration and the
  "distance" matrix, so the routing objective is the total travel time (the instance's unit).
* ``cost`` is the total travel time over all days, recomputed here from the instance matrix;
  ``gap_pct = 100 * (cost - bks) / bks``; ``ok`` is the verdict of `check_instance`, written from
  the README's rules alone: every customer on one evenly spaced scheme of its frequency, at most
  ``numVehicles`` routes a day, each route from the depot back to it with an intermediate facility
  as its last stop, at most ``maxCapacity`` between facilities, and at most ``maxDuration``
  including service times.

Part 2 times `plan_week` on the Hanoi sample as the number of gathering points grows (the first
N points of a cover plan, with the households the points plan assigns to them), with the same
time limit and an iteration cap so that the work, not the load of the machine, sets the figures.

Each run is one process on one core; the time limit is the routing budget of the whole horizon.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from bench._report import emit
from gomrac.analysis.routing import Fleet, VehicleType
from gomrac.analysis.weekly import PeriodicProblem, PeriodicSolution, plan_periodic, visit_patterns

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "shared" / "bench" / "pvrpif"


def read_bks(folder: Path) -> dict[str, dict[str, Any]]:
    """Best-known values per instance from ``BKS.csv``."""
    with (folder / "BKS.csv").open(newline="", encoding="utf-8") as fh:
        return {
            row["instance"]: {
                "bks": float(row["bks"]),
                "proven_optimal": row["proven_optimal"] == "True",
                "lower_bound": float(row["lower_bound"]),
            }
            for row in csv.DictReader(fh)
        }


def read_instance(path: Path) -> dict[str, Any]:
    """The instance as plain arrays: matrix, depot, facilities, customers and the fleet data."""
    doc = json.loads(path.read_text(encoding="utf-8"))
    info = doc["info"]
    props = [f["properties"] for f in doc["features"]]
    ids = [int(p["id"]) for p in props]
    matrix = np.asarray(doc["duration"], dtype=np.float64)
    if sorted(ids) != list(range(len(matrix))):
        msg = f"{path.name}: feature ids are not the matrix rows"
        raise ValueError(msg)
    by_id = {int(p["id"]): p for p in props}
    kinds = {i: by_id[i]["type"] for i in ids}
    return {
        "name": path.stem,
        "matrix": matrix,
        "depot": next(i for i in ids if kinds[i] == "depot"),
        "facilities": [i for i in sorted(ids) if kinds[i] == "intermediateFacility"],
        "customers": [i for i in sorted(ids) if kinds[i] == "customer"],
        "frequency": {i: round(by_id[i]["frequency"]) for i in ids},
        "demand": {i: float(by_id[i]["demand"]) for i in ids},
        "service": {i: float(by_id[i]["service"]) for i in ids},
        "vehicles": int(info["numVehicles"]),
        "capacity": float(info["maxCapacity"]),
        "max_duration": float(info["maxDuration"]),
        "horizon": int(info["planningHorizon"]),
    }


def problem_from_instance(inst: dict[str, Any]) -> PeriodicProblem:
    """Express an instance as gomrac's periodic problem (one stream, fixed loads per visit)."""
    cust = inst["customers"]
    fac = inst["facilities"]
    unload = max((inst["service"][f] for f in fac), default=0.0)
    vt = VehicleType(
        name="pvrpif",
        count=inst["vehicles"],
        capacity_kg=inst["capacity"],
        capacity_m3=math.inf,
        shift_start_s=0.0,
        shift_end_s=inst["max_duration"],
        unload_s=unload,
        cost_per_km_vnd=1.0,
        fixed_cost_vnd=0.0,
    )
    return PeriodicProblem(
        duration_s=inst["matrix"],
        distance_m=inst["matrix"],
        garage=inst["depot"],
        points=tuple(cust),
        streams=("waste",),
        rate=np.array([[inst["demand"][c]] for c in cust]),
        frequency=np.array([[inst["frequency"][c]] for c in cust], dtype=np.int64),
        service_s=np.array([[inst["service"][c]] for c in cust]),
        facility={"waste": fac},
        fleet={"waste": Fleet((vt,))},
        horizon_days=inst["horizon"],
        load_mode="fixed",
    )


def routes_of(solution: PeriodicSolution) -> dict[int, list[list[int]]]:
    """Each day's routes as sequences of instance ids (depot ... depot)."""
    out: dict[int, list[list[int]]] = {}
    for dp in solution.days:
        out.setdefault(dp.day, []).extend(list(r.locations) for r in dp.plan.routes)
    return out


def check_instance(inst: dict[str, Any], routes: dict[int, list[list[int]]]) -> list[str]:
    """List the breaches of the README's rules by `routes`; written from the rules alone."""
    issues: list[str] = []
    t = inst["matrix"]
    h, depot = inst["horizon"], inst["depot"]
    facs = set(inst["facilities"])
    days_of: dict[int, list[int]] = {c: [] for c in inst["customers"]}
    for day, day_routes in routes.items():
        if len(day_routes) > inst["vehicles"]:
            issues.append(f"day {day}: {len(day_routes)} routes > {inst['vehicles']} vehicles")
        for r_no, seq in enumerate(day_routes):
            tag = f"day {day} route {r_no}"
            if len(seq) < 3 or seq[0] != depot or seq[-1] != depot:
                issues.append(f"{tag}: does not start and end at the depot")
                continue
            if seq[-2] not in facs:
                issues.append(f"{tag}: the last stop before the depot is not a facility")
            load = 0.0
            duration = 0.0
            for a, b in itertools.pairwise(seq):
                duration += t[a, b] + inst["service"][b]
                if b in facs:
                    load = 0.0
                elif b != depot:
                    days_of.setdefault(b, []).append(day)
                    load += inst["demand"][b]
                    if load > inst["capacity"] + 1e-9:
                        issues.append(f"{tag}: load {load:g} > {inst['capacity']:g} at {b}")
            if duration > inst["max_duration"] + 1e-9:
                issues.append(f"{tag}: lasts {duration:g} > {inst['max_duration']:g}")
    for c, days in days_of.items():
        f = inst["frequency"][c]
        step = h // f if f and h % f == 0 else None
        schemes = (
            [tuple(sorted(d + k * step for k in range(f))) for d in range(step)]
            if step
            else visit_patterns(f, h)
        )
        if tuple(sorted(days)) not in schemes:
            issues.append(f"customer {c}: visited on days {sorted(days)}, not a scheme of f={f}")
    return issues


def travel_time(inst: dict[str, Any], routes: dict[int, list[list[int]]]) -> float:
    """Total travel time over all days (service excluded), from the instance matrix."""
    t = inst["matrix"]
    return float(
        sum(t[a, b] for rs in routes.values() for r in rs for a, b in itertools.pairwise(r))
    )


def run_instances(folder: Path, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Solve and check every selected instance; one row each."""
    bks = read_bks(folder)
    only = set(args.only.split(",")) if args.only else None
    rows = []
    for path in sorted(folder.glob("*.geojson")):
        if only and path.stem not in only:
            continue
        inst = read_instance(path)
        if args.max_n and len(inst["customers"]) > args.max_n:
            continue
        problem = problem_from_instance(inst)
        t0 = time.perf_counter()
        sol = plan_periodic(problem, time_limit_s=args.time_limit, seed=args.seed)
        wall = time.perf_counter() - t0
        routes = routes_of(sol)
        issues = check_instance(inst, routes)
        cost = travel_time(inst, routes)
        ref = bks.get(path.stem, {})
        best = ref.get("bks", math.nan)
        rows.append(
            {
                "instance": path.stem,
                "n": len(inst["customers"]),
                "H": inst["horizon"],
                "cost": round(cost, 1),
                "bks": best,
                "gap_pct": round(100 * (cost - best) / best, 2) if best else math.nan,
                "proven_optimal": ref.get("proven_optimal"),
                "ok": not issues,
                "violations": len(issues),
                "routes": sum(len(r) for r in routes.values()),
                "time_s": round(wall, 2),
            }
        )
        if issues:
            sys.stderr.write(f"{path.stem}: {issues[:3]}\n")
    return rows


def run_ward(sizes: list[int], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Time `plan_week` on the Hanoi sample for growing numbers of points."""
    from gomrac.api.pipeline import HANOI_SAMPLE, load_ward_data
    from gomrac.api.points import PointsParams, plan_points
    from gomrac.api.weekly import assignment_from_points_plan, plan_week
    from gomrac.geo.settings import Settings

    settings = Settings()
    t0 = time.perf_counter()
    data = load_ward_data(boundary=settings.data_dir / HANOI_SAMPLE, settings=settings)
    points_plan = plan_points(data, params=PointsParams(time_limit_s=60))
    pts = points_plan.proposed
    assignment = assignment_from_points_plan(data, points_plan)
    setup = time.perf_counter() - t0
    rows = []
    for n in sizes:
        if n > len(pts):
            continue
        t0 = time.perf_counter()
        plan = plan_week(
            data,
            pts.iloc[:n],
            assignment=assignment,
            time_limit_s=args.time_limit,
            max_iterations=args.ward_iterations,
            seed=args.seed,
        )
        rows.append(
            {
                "ward": "Hanoi sample",
                "points": n,
                "households": round(plan.overall["households"]),
                "visits": plan.overall["visits"],
                "day_plans": len(plan.solution.days),
                "km_per_week": plan.overall["km_per_week"],
                "solver_violations": plan.overall["solver_violations"],
                "plan_s": round(time.perf_counter() - t0, 2),
                "setup_s": round(setup, 1),
            }
        )
    return rows


def _quiet_highs() -> None:
    """Create the first HiGHS instance of the process with fd 1 closed (its banner breaks JSON)."""
    import os

    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs().setOptionValue("output_flag", False)
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its tables (or JSON lines)."""
    _quiet_highs()
    ap = argparse.ArgumentParser(prog="python -m bench.pvrpif", description=__doc__.split("\n")[0])
    ap.add_argument("--instances", type=Path, default=DEFAULT_DIR)
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--max-n", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--ward-points", default="25,50,100")
    ap.add_argument("--ward-iterations", type=int, default=500)
    ap.add_argument("--no-ward", action="store_true")
    ap.add_argument("--no-instances", action="store_true")
    args = ap.parse_args(argv)
    rows = [] if args.no_instances else run_instances(args.instances, args)
    if rows:
        emit(rows, as_json=args.json, title="PVRP-IF (Milano): total travel time vs best known")
    if rows and not args.json:
        gaps = [r["gap_pct"] for r in rows if r["ok"]]
        sys.stdout.write(
            f"feasible {sum(r['ok'] for r in rows)}/{len(rows)}; mean gap "
            f"{np.mean(gaps) if gaps else math.nan:.2f} %\n"
        )
    if not args.no_ward:
        sizes = [int(v) for v in args.ward_points.split(",") if v]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ward = run_ward(sizes, args)
        emit(ward, as_json=args.json, title="Weekly plan of a ward: time as the points grow")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
