"""CVRP benchmark: gomrac's routing solve path vs plain PyVRP vs OR-Tools on VRPLIB instances.

Usage::

    python -m bench.cvrp --instances DIR --time-limit 5,10 [--json] [--only A-n44-k6,E-n51-k5]
                         [--sets A,B,E,P] [--max-n 200] [--seed 0] [--no-improvement N]

``--time-limit`` takes one limit or several (comma-separated): every instance is run at each.

Each instance is solved three times with the same wall-clock limit, one solver after the other on
one core:

1. ``gomrac``: the instance is expressed in gomrac's collection model — the depot is both the
   garage and the landfill (a reload depot at the same place), no shift limit, one vehicle per
   customer (vehicles free), cost 1 per metre — and solved by `analysis.routing.solve`, the call
   the CLI makes. The cost is recomputed from the plan's stops; ``ok`` says whether
   `analysis.routing.check_plan` accepts the plan. `solve` starts from the better of its
   nearest-neighbour and Clarke–Wright savings plans (``nn`` and ``savings``, their distances),
   whose construction counts in its time; ``gomrac_origin`` says which plan it returned and
   ``gomrac_lb`` is its stated lower bound on the distance. By default the search runs to the
   time limit, like plain PyVRP (``--no-improvement N`` stops it earlier, as the CLI does).
2. ``pyvrp``: `pyvrp.read(..., round_func="round")` and `pyvrp.solve` with `MaxRuntime`.
3. ``ortools``: OR-Tools routing, PATH_CHEAPEST_ARC start, GUIDED_LOCAL_SEARCH, a capacity
   dimension and as many vehicles as ``ceil(1.2 * ceil(total demand / capacity)) + 2`` (at most
   one per customer); arc costs and demands are registered as a matrix and a vector so that they
   are evaluated in C++, without a Python callback per arc.

Distances are Euclidean rounded to the nearest integer (CVRPLIB). The gap is
``100 * (cost - BKS) / BKS`` with BKS from the folder's ``BKS.csv``.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyvrp
import vrplib
from pyvrp.stop import MaxRuntime

from bench._report import emit
from gomrac.analysis.routing import CollectionProblem, Fleet, VehicleType, check_plan, solve
from gomrac.geo.settings import REPO_ROOT

DEFAULT_DIR = REPO_ROOT.parent / "shared" / "bench" / "cvrp"
SOLVERS = ("gomrac", "pyvrp", "ortools")


def read_bks(folder: Path) -> dict[str, tuple[int, float]]:
    """Map instance name to (n customers, best-known cost) from ``BKS.csv``."""
    with (folder / "BKS.csv").open(newline="", encoding="utf-8") as fh:
        return {
            row["instance"]: (int(row["n"]), float(row["best_known"])) for row in csv.DictReader(fh)
        }


def read_instance(path: Path) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int, int]:
    """Distance matrix (rounded Euclidean), demands, capacity and depot index of a VRPLIB file."""
    inst = vrplib.read_instance(str(path))
    dist = np.rint(np.asarray(inst["edge_weight"], dtype=np.float64)).astype(np.int64)
    depot = int(np.atleast_1d(inst["depot"])[0])
    return dist, np.asarray(inst["demand"], dtype=np.int64), int(inst["capacity"]), depot


def cvrp_problem(
    dist: npt.NDArray[np.int64], demand: npt.NDArray[np.int64], capacity: int, depot: int
) -> CollectionProblem:
    """Express a CVRP in gomrac's model: depot = garage = landfill, free vehicles, no shift."""
    clients = [i for i in range(len(dist)) if i != depot]
    truck = VehicleType(
        name="cvrp",
        count=len(clients),
        capacity_kg=float(capacity),
        capacity_m3=math.inf,
        cost_per_km_vnd=1.0,  # 1 per km on metres: the solver's objective is the distance
        fixed_cost_vnd=0.0,
        shift_start_s=0.0,
        shift_end_s=math.inf,
        unload_s=0.0,
        fuel_l_per_100km=0.0,
    )
    return CollectionProblem.from_matrices(
        dist.astype(np.float64),
        dist.astype(np.float64),
        garage=depot,
        landfills=[depot],
        clients=clients,
        demand_kg=demand[clients].astype(np.float64),
        fleet=Fleet((truck,)),
    )


def run_gomrac(
    path: Path, time_limit_s: float, seed: int, no_improvement: int | None = None
) -> dict[str, Any]:
    """Solve with `analysis.routing.solve`; cost from the plan's stops over the integer matrix."""
    t0 = time.perf_counter()
    dist, demand, capacity, depot = read_instance(path)
    problem = cvrp_problem(dist, demand, capacity, depot)
    plan = solve(problem, time_limit_s=time_limit_s, seed=seed, no_improvement=no_improvement)
    seconds = time.perf_counter() - t0
    ok = not check_plan(problem, plan)
    cost = round(plan.total_km * 1000)
    starts = dict(plan.candidate_costs_vnd)  # 1 VND per km: the cost in km
    return {
        "cost": cost if ok else None,
        "s": seconds,
        "ok": ok,
        "nn": round(starts["nearest_neighbour"] * 1000) if "nearest_neighbour" in starts else None,
        "savings": round(starts["savings"] * 1000) if "savings" in starts else None,
        "origin": plan.origin,
        "lb": round(plan.lower_bound_vnd * 1000),
    }


def run_pyvrp(
    path: Path, time_limit_s: float, seed: int, no_improvement: int | None = None
) -> dict[str, Any]:
    """Plain PyVRP on the VRPLIB file (runs to the time limit)."""
    del no_improvement
    t0 = time.perf_counter()
    data = pyvrp.read(str(path), round_func="round")
    result = pyvrp.solve(
        data, MaxRuntime(time_limit_s), seed=seed, collect_stats=False, display=False
    )
    seconds = time.perf_counter() - t0
    return {"cost": round(result.cost()) if result.is_feasible() else None, "s": seconds}


def run_ortools(
    path: Path, time_limit_s: float, seed: int, no_improvement: int | None = None
) -> dict[str, Any]:
    """OR-Tools routing with guided local search (OR-Tools takes no seed)."""
    del no_improvement
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    t0 = time.perf_counter()
    dist, demand, capacity, depot = read_instance(path)
    n_nodes = len(dist)
    k_min = math.ceil(int(demand.sum()) / capacity)
    n_vehicles = min(n_nodes - 1, math.ceil(1.2 * k_min) + 2)
    manager = pywrapcp.RoutingIndexManager(n_nodes, n_vehicles, depot)
    routing = pywrapcp.RoutingModel(manager)
    # Matrix and vector evaluators stay in C++ (no Python callback per arc evaluation).
    arc_cb = routing.RegisterTransitMatrix(dist.tolist())
    routing.SetArcCostEvaluatorOfAllVehicles(arc_cb)
    load_cb = routing.RegisterUnaryTransitVector(demand.tolist())
    routing.AddDimensionWithVehicleCapacity(load_cb, 0, [capacity] * n_vehicles, True, "load")
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    remaining = max(1.0, time_limit_s - (time.perf_counter() - t0))
    params.time_limit.FromMilliseconds(int(remaining * 1000))
    solution = routing.SolveWithParameters(params)
    seconds = time.perf_counter() - t0
    return {"cost": solution.ObjectiveValue() if solution else None, "s": seconds}


RUNNERS = {"gomrac": run_gomrac, "pyvrp": run_pyvrp, "ortools": run_ortools}


def _gap(cost: float | None, bks: float) -> float | None:
    return None if cost is None else 100.0 * (cost - bks) / bks


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table (or JSON lines)."""
    ap = argparse.ArgumentParser(prog="python -m bench.cvrp", description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=Path, default=DEFAULT_DIR, help="folder of .vrp + BKS.csv")
    ap.add_argument(
        "--time-limit", default="10", help="seconds per solver and instance; several: 5,10"
    )
    ap.add_argument(
        "--no-improvement",
        type=int,
        default=0,
        help="gomrac: stop after N iterations without a better plan (0: run to the time limit)",
    )
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    ap.add_argument("--only", default="", help="comma-separated instance names")
    ap.add_argument("--sets", default="", help="comma-separated set letters, e.g. A,B,E,P,X")
    ap.add_argument("--max-n", type=int, default=0, help="skip instances with more customers")
    ap.add_argument("--solvers", default=",".join(SOLVERS), help="subset of gomrac,pyvrp,ortools")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    bks = read_bks(args.instances)
    names = sorted(bks, key=lambda s: (s.split("-")[0], bks[s][0], s))
    if args.only:
        wanted = [s.strip() for s in args.only.split(",") if s.strip()]
        unknown = [s for s in wanted if s not in bks]
        if unknown:
            sys.stderr.write(f"not in BKS.csv: {', '.join(unknown)}\n")
            return 2
        names = wanted
    if args.sets:
        sets = {s.strip() for s in args.sets.split(",")}
        names = [s for s in names if s.split("-")[0] in sets]
    if args.max_n:
        names = [s for s in names if bks[s][0] <= args.max_n]
    names = [s for s in names if (args.instances / f"{s}.vrp").exists()]
    solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]

    limits = [float(t) for t in str(args.time_limit).split(",") if t.strip()]
    no_improvement = args.no_improvement or None
    for limit in limits:
        rows: list[dict[str, Any]] = []
        gaps: dict[str, list[float]] = {s: [] for s in [*solvers, "nn", "savings"]}
        for name in names:
            n, best = bks[name]
            row: dict[str, Any] = {"instance": name, "n": n, "bks": int(best), "limit_s": limit}
            for solver in solvers:
                path = args.instances / f"{name}.vrp"
                res = RUNNERS[solver](path, limit, args.seed, no_improvement)
                gap = _gap(res["cost"], best)
                if solver == "gomrac":
                    for start in ("nn", "savings"):
                        start_gap = _gap(res[start], best)
                        row[f"{start}_gap%"] = None if start_gap is None else round(start_gap, 2)
                        if start_gap is not None:
                            gaps[start].append(start_gap)
                row[solver] = res["cost"]
                row[f"{solver}_gap%"] = None if gap is None else round(gap, 2)
                row[f"{solver}_s"] = round(res["s"], 1)
                if "ok" in res:
                    row[f"{solver}_ok"] = res["ok"]
                if solver == "gomrac":
                    row["gomrac_origin"] = res["origin"]
                    row["gomrac_lb"] = res["lb"]
                if gap is not None:
                    gaps[solver].append(gap)
            rows.append(row)
            if args.json:
                emit([row], as_json=True)
                sys.stdout.flush()
            else:
                sys.stderr.write(f"{name} at {limit:g} s: done\n")
        if not args.json:
            summary: dict[str, Any] = {"instance": "mean", "n": "", "bks": ""}
            for solver, g in gaps.items():
                summary[f"{solver}_gap%"] = round(sum(g) / len(g), 2) if g else None
            emit(
                [*rows, summary],
                as_json=False,
                title=f"CVRP, {limit:g} s per solver, seed {args.seed}",
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
