"""Fleet scenarios: the Hanoi daily collection with a diesel, a mixed and an electric fleet.

Usage::

    python -m bench.fleet [--time-limit S] [--seed 0] [--points FILE] [--boundary FILE] [--json]
    python -m bench.fleet --weekly [--time-limit S] ...

The same problem as ``gomrac routes plan`` (the Hanoi sample's real streets, gathering points from
``points plan --cover-all``, the daily food + residual collection, the night shift) is planned
three times, each with its fleet offered to the same search:

- ``diesel``: compactors burning 40 L/100 km (2.68 kg CO₂/L);
- ``mixed``: half the compactors electric (1.3 kWh/km, 250 kWh usable: a 192 km range);
- ``electric``: every compactor electric.

Electric CO₂ is the grid's (Vietnam 2023: 0.6592 kg/kWh, charging losses included), never zero.
An electric truck's running cost per km is the diesel one's with the energy's price swapped, so
the mixed fleet's search prefers the electric trucks where their range allows.
Per scenario: trucks used, km, diesel litres, kWh, CO₂ (kg), the energy's cost and the plan's
cost (million VND), and `check_plan`'s violations (each electric truck within its range).
Prices and consumptions are local assumptions (`gomrac.analysis.energy`).

``--weekly`` compares instead two fleets on the weekly plan (`gomrac.api.weekly.plan_week`, the
same points): ``dedicated`` (7 t compactors, each stream its own trucks) and ``split-body``
(7 t trucks with a food and a residual compartment, sized to the sample's largest loads per
visit, co-collecting both; compactors for recyclables); per fleet: km and truck-days a week,
CO₂ (kg a week), visits and the independent checker's violations (`gomrac.api.check.check_week`
on the written files).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench._report import emit
from bench.routes import DEFAULT_BOUNDARY, DEFAULT_TIME_LIMIT_S, gathering_points, load_data


def fleets(total_kg: float) -> dict[str, Any]:
    """The three fleets, each with as many compactors as the default fleet offers."""
    from gomrac.analysis.energy import Electric
    from gomrac.analysis.routing import Fleet
    from gomrac.api.routes import default_fleet

    base = default_fleet(total_kg)
    vt = base[0]
    electric = Electric()
    # the running cost per km changes by the energy's price: diesel's out, electricity's in
    diesel_per_km = vt.energy.cost_vnd(1.0) if vt.energy is not None else 0.0
    per_km = vt.cost_per_km_vnd - diesel_per_km + electric.cost_vnd(1.0)
    ev = replace(vt, name="electric compactor", drivetrain=electric, cost_per_km_vnd=per_km)
    half = max(1, vt.count // 2)
    return {
        "diesel": base,
        "mixed": Fleet((replace(vt, count=vt.count - half), replace(ev, count=half))),
        "electric": Fleet((ev,)),
    }


def run(data: Any, points: Any, fleet: Any, *, time_limit_s: float, seed: int) -> dict[str, Any]:
    """One scenario: plan the daily collection with `fleet`; the row of the table."""
    from gomrac.analysis.routing import check_plan
    from gomrac.api.routes import RoutesParams, plan_routes

    res = plan_routes(
        data,
        points,
        params=RoutesParams(time_limit_s=time_limit_s, seed=seed, fleet=fleet, two_tier=False),
    )
    plan = res.plan
    energy_vnd = sum(res.problem.fleet[r.vehicle_type].energy.cost_vnd(r.km) for r in plan.routes)
    electric = sum(
        1 for r in plan.routes if res.problem.fleet[r.vehicle_type].energy.kind == "electric"
    )
    return {
        "trucks": plan.vehicles_used,
        "electric_trucks": electric,
        "km": round(plan.total_km, 1),
        "diesel_l": round(plan.fuel_l, 1),
        "kwh": round(plan.energy_kwh, 1),
        "co2_kg": round(plan.co2_kg, 1),
        "energy_mvnd": round(energy_vnd / 1e6, 3),
        "plan_cost_mvnd": round(plan.cost_vnd / 1e6, 3),
        "longest_truck_km": round(max((r.km for r in plan.routes), default=0.0), 1),
        "violations": len(check_plan(res.problem, plan)),
    }


def weekly_fleets(points_table: Any) -> dict[str, Any]:
    """The dedicated and the split-body fleets of the weekly comparison (same counts).

    The split-body truck has the compactor's 7 t body, divided between food and residual waste
    in proportion to the larger of each stream's largest load per visit at a point (co-collected,
    a point is visited at the higher of its two frequencies) and its share of the waste.
    """
    from gomrac.analysis.routing import Compartment, Fleet, VehicleType
    from gomrac.analysis.weekly import longest_gap_days, visit_patterns

    compactor = VehicleType(name="compactor 7 t", count=20)
    freq = points_table[["food_per_week", "residual_per_week"]].max(axis=1)
    gap = [longest_gap_days(visit_patterns(int(f))[0]) for f in freq]
    peak = {s: float((points_table[f"{s}_kg_day"] * gap).max()) for s in ("food", "residual")}
    total = {s: float(points_table[f"{s}_kg_day"].sum()) for s in ("food", "residual")}
    share = total["food"] / (total["food"] + total["residual"])
    food = max(peak["food"], min(compactor.capacity_kg - peak["residual"], share * 7000.0))
    split = VehicleType(
        name="split-body 7 t",
        count=20,
        compartments=(
            Compartment("food", float(round(food))),
            Compartment("residual", compactor.capacity_kg - float(round(food))),
        ),
    )
    return {"dedicated": Fleet((compactor,)), "split-body": Fleet((split, compactor))}


def run_week(
    data: Any, points: Any, fleet: Any, *, time_limit_s: float, seed: int
) -> dict[str, Any]:
    """One weekly scenario: plan and write the week with `fleet`, check it; the table's row."""
    import tempfile
    import warnings

    from gomrac.analysis.errors import ApproximateDataWarning
    from gomrac.api.check import check_week
    from gomrac.api.weekly import SAMPLE_LABEL, plan_week, write_week

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ApproximateDataWarning)
        week = plan_week(data, points, fleet=fleet, time_limit_s=time_limit_s, seed=seed)
    with tempfile.TemporaryDirectory() as out:
        write_week(week, out, label=SAMPLE_LABEL)
        violations = len(check_week(out))
    return {
        "km_per_week": week.overall["km_per_week"],
        "truck_days_per_week": len(week.routes.drop_duplicates(["service_day", "vehicle"])),
        "trips_per_week": len(week.trips.drop_duplicates(["service_day", "vehicle", "trip"])),
        "co2_kg_per_week": week.overall["co2_kg_per_week"],
        "visits": week.overall["visits"],
        "solver_violations": week.overall["solver_violations"],
        "checker_violations": violations,
    }


def main(argv: list[str] | None = None) -> int:
    """Plan the three fleets (or the two weekly ones) and print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT_S)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--points", type=Path)
    p.add_argument("--boundary", type=Path, default=DEFAULT_BOUNDARY)
    p.add_argument("--json", action="store_true")
    p.add_argument("--weekly", action="store_true", help="dedicated vs split-body weekly plans")
    args = p.parse_args(argv)
    data = load_data(args.boundary)
    points = gathering_points(data, args.time_limit, args.points)
    if args.weekly:
        from gomrac.api.weekly import plan_week

        rows = []
        first = plan_week(data, points, time_limit_s=1.0, max_iterations=1)  # the points' rates
        for name, f in weekly_fleets(first.points).items():
            row = run_week(data, points, f, time_limit_s=args.time_limit, seed=args.seed)
            comp = {c.stream: c.capacity_kg for c in f[0].compartments}
            rows.append({"fleet": name, "compartments_kg": str(comp or "-"), **row})
        emit(rows, as_json=args.json, title="Weekly fleets: Hanoi sample, dedicated vs split-body")
        return 0
    total_kg = float(data.require_demand()["waste_kg_day"].sum())
    rows = []
    for name, fleet in fleets(total_kg).items():
        row = run(data, points, fleet, time_limit_s=args.time_limit, seed=args.seed)
        rows.append({"scenario": name, **row})
    emit(rows, as_json=args.json, title="Fleet scenarios: Hanoi sample daily collection")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
