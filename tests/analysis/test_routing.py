"""Tests for analysis.routing: multi-trip collection routes, the independent check, baselines."""

from __future__ import annotations

import csv
import itertools
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from gomrac.analysis.errors import InfeasibleError, ValidationError
from gomrac.analysis.routing import (
    CollectionPlan,
    CollectionProblem,
    Fleet,
    RouteStop,
    VehicleType,
    check_plan,
    nearest_neighbour_plan,
    plan_from_sequences,
    plan_handcart_rounds,
    route_bounds,
    saving_pct,
    savings_plan,
    solve,
    to_solver_units,
)

CVRP_DIR = Path(__file__).resolve().parents[3] / "shared" / "bench" / "cvrp"


# ------------------------------------------------------------------------------------------
# fixtures (hand-made matrices)
# ------------------------------------------------------------------------------------------


def manhattan_matrices(
    points: list[tuple[int, int]], *, block_m: float, speed_m_s: float, one_way_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Block-grid distances with a detour on every "uphill" pair (i < j), so they are asymmetric."""
    n = len(points)
    dist = np.zeros((n, n))
    for i, j in itertools.product(range(n), range(n)):
        if i != j:
            blocks = abs(points[i][0] - points[j][0]) + abs(points[i][1] - points[j][1])
            dist[i, j] = block_m * blocks + (one_way_m if i < j else 0.0)
    return dist / speed_m_s, dist


def truck(**kw: object) -> VehicleType:
    return VehicleType(**{"name": "compactor", "count": 2, **kw})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def grid_problem() -> CollectionProblem:
    """Garage, two landfills and eight gathering points with 18 t of waste: several truckloads."""
    rng = np.random.default_rng(7)
    points = [(0, 0), (14, 2), (2, 14)] + [tuple(rng.integers(1, 12, size=2)) for _ in range(8)]
    dur, dist = manhattan_matrices(points, block_m=250, speed_m_s=5, one_way_m=50)
    kg = rng.integers(15, 31, size=8) * 100.0
    return CollectionProblem.from_matrices(
        dur,
        dist,
        garage=0,
        landfills=[1, 2],
        clients=list(range(3, 11)),
        demand_kg=kg,
        demand_m3=kg / 430.0,  # 430 kg/m3: the 14 m3 body fills at 6020 kg
        service_s=240,
        fleet=Fleet((truck(),)),
    )


@pytest.fixture(scope="module")
def grid_plan(grid_problem: CollectionProblem) -> CollectionPlan:
    return solve(grid_problem, time_limit_s=1.0)


def small_case(**changes: object) -> dict[str, object]:
    """Garage 0, landfill 1, clients at 2, 3, 4 on a 1 km grid; kwargs override the inputs."""
    dur, dist = manhattan_matrices(
        [(0, 0), (5, 0), (1, 1), (2, 3), (4, 1)], block_m=1000, speed_m_s=10, one_way_m=0
    )
    case: dict[str, object] = {
        "duration_s": dur,
        "distance_m": dist,
        "garage": 0,
        "landfills": [1],
        "clients": [2, 3, 4],
        "demand_kg": np.array([1000.0, 2000.0, 1500.0]),
        "service_s": 60.0,
        "fleet": Fleet((truck(shift_start_s=0, shift_end_s=4 * 3600),)),
    }
    case.update(changes)
    return case


def build(case: dict[str, object]) -> CollectionProblem:
    dur, dist = case.pop("duration_s"), case.pop("distance_m")
    return CollectionProblem.from_matrices(dur, dist, **case)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------
# solver units
# ------------------------------------------------------------------------------------------


def test_to_solver_units__rounding_modes() -> None:
    """Distances round to nearest, durations up, capacities down, inf becomes a large integer."""
    x = np.array([1.4, 1.6, 2.0, np.inf])
    assert to_solver_units(x).tolist() == [1, 2, 2, 2**40]
    assert to_solver_units(x, rounding="up").tolist() == [2, 2, 2, 2**40]
    assert to_solver_units(x, rounding="down").tolist() == [1, 1, 2, 2**40]
    assert to_solver_units(x).dtype == np.int64


def test_to_solver_units__nan() -> None:
    """NaN has no solver value and is refused."""
    with pytest.raises(ValidationError, match="NaN"):
        to_solver_units([1.0, np.nan])


# ------------------------------------------------------------------------------------------
# solve + check_plan
# ------------------------------------------------------------------------------------------


def test_solve__plan_passes_check(
    grid_problem: CollectionProblem, grid_plan: CollectionPlan
) -> None:
    """The optimised plan serves every point once and passes the independent check."""
    assert grid_plan.solver_feasible is True
    assert check_plan(grid_problem, grid_plan) == []
    assert grid_plan.all_points_served_once
    assert grid_plan.unserved == ()
    assert grid_plan.tonnes == pytest.approx(grid_problem.demand_kg.sum() / 1000)


def test_solve__multi_trip_every_trip_unloads(
    grid_problem: CollectionProblem, grid_plan: CollectionPlan
) -> None:
    """More waste than a truckload takes at least ceil(total/capacity) trips, each unloaded."""
    cap = grid_problem.fleet[0].capacity_kg
    assert grid_problem.demand_kg.sum() > cap
    assert grid_plan.trips >= math.ceil(grid_problem.demand_kg.sum() / cap)
    for route in grid_plan.routes:
        kinds = [s.kind for s in route.stops]
        assert kinds[0] == kinds[-1] == "garage"
        assert kinds[-2] == "landfill"  # the day ends with an unload before the garage
        # every run of clients is followed by a landfill stop at a real landfill
        for a, b in itertools.pairwise(route.stops):
            if a.kind == "client" and b.kind != "client":
                assert b.kind == "landfill"
                assert b.location in grid_problem.landfills
        assert route.trips == kinds.count("landfill")
        assert route.stops[-1].load_kg == 0
        assert max(route.trip_loads_kg) <= cap


def test_solve__totals_recomputed_from_matrix(
    grid_problem: CollectionProblem, grid_plan: CollectionPlan
) -> None:
    """km, fuel and CO2 follow from the stops, the distance matrix and the stated factors."""
    km = sum(
        grid_problem.distance_m[a, b] / 1000
        for r in grid_plan.routes
        for a, b in itertools.pairwise(r.locations)
    )
    assert grid_plan.total_km == pytest.approx(km)
    vt = grid_problem.fleet[0]
    assert grid_plan.fuel_l == pytest.approx(km * vt.fuel_l_per_100km / 100)
    assert grid_plan.co2_kg == pytest.approx(grid_plan.fuel_l * 2.68)
    expected_cost = vt.cost_per_km_vnd * km + vt.fixed_cost_vnd * grid_plan.vehicles_used
    assert grid_plan.cost_vnd == pytest.approx(expected_cost)
    assert grid_plan.solver_cost_vnd == pytest.approx(expected_cost, abs=1.0)
    assert 0 < grid_plan.max_load_pct <= 100


def corrupt(plan: CollectionPlan, route_no: int, stops: list[RouteStop]) -> CollectionPlan:
    routes = list(plan.routes)
    routes[route_no] = replace(routes[route_no], stops=tuple(stops))
    return replace(plan, routes=tuple(routes))


def first_multi_trip(plan: CollectionPlan) -> int:
    return next(i for i, r in enumerate(plan.routes) if r.trips >= 2)


def test_check_plan__client_twice(
    grid_problem: CollectionProblem, grid_plan: CollectionPlan
) -> None:
    """A client visited in two places is reported."""
    r = grid_plan.routes[0]
    stops = list(r.stops)
    p = next(i for i, s in enumerate(stops) if s.kind == "client")
    stops.insert(p + 1, stops[p])
    issues = check_plan(grid_problem, corrupt(grid_plan, 0, stops))
    assert any(f"client #{stops[p].client} " in m and "visited 2 times" in m for m in issues)


def test_check_plan__overloaded_trip(
    grid_problem: CollectionProblem, grid_plan: CollectionPlan
) -> None:
    """Dropping an intermediate unload merges two trips into one over capacity."""
    k = first_multi_trip(grid_plan)
    stops = list(grid_plan.routes[k].stops)
    p = next(i for i, s in enumerate(stops) if s.kind == "landfill")
    merged = [s.client for s in stops if s.kind == "client" and s.trip <= 1]
    over_kg = grid_problem.demand_kg[merged].sum() > grid_problem.fleet[0].capacity_kg
    over_m3 = grid_problem.demand_m3[merged].sum() > grid_problem.fleet[0].capacity_m3
    assert over_kg or over_m3  # else the solver would have merged the two trips itself
    del stops[p]
    issues = check_plan(grid_problem, corrupt(grid_plan, k, stops))
    if over_kg:
        assert any("> capacity" in m and m.endswith(" kg") for m in issues)
    if over_m3:
        assert any("> capacity" in m and m.endswith(" m3") for m in issues)


def test_check_plan__shift_overrun(
    grid_problem: CollectionProblem, grid_plan: CollectionPlan
) -> None:
    """A route whose timetable is pushed past the shift end is reported with the overrun."""
    route = grid_plan.routes[0]
    late = grid_problem.fleet[0].shift_end_s - route.stops[-1].arrival_s + 600
    stops = [
        replace(s, arrival_s=s.arrival_s + late, departure_s=s.departure_s + late)
        for s in route.stops
    ]
    issues = check_plan(grid_problem, corrupt(grid_plan, 0, stops))
    assert any("after the shift ends" in m and "600 s over" in m for m in issues)


def test_check_plan__shift_overrun_from_sequence(grid_problem: CollectionProblem) -> None:
    """All points on one truck in a 2-hour shift overrun the shift, which the check reports."""
    short = replace(grid_problem, fleet=Fleet((truck(shift_end_s=18 * 3600 + 7200),)))
    plan = plan_from_sequences(short, [list(range(short.n_clients))])
    issues = check_plan(short, plan)
    assert any("after the shift ends" in m for m in issues)


def test_check_plan__trip_without_unload(
    grid_problem: CollectionProblem, grid_plan: CollectionPlan
) -> None:
    """Going home with a full body, skipping the last unload, is reported."""
    stops = list(grid_plan.routes[0].stops)
    assert stops[-2].kind == "landfill"
    del stops[-2]
    issues = check_plan(grid_problem, corrupt(grid_plan, 0, stops))
    assert any("without unloading" in m for m in issues)


def test_check_plan__unserved_client(
    grid_problem: CollectionProblem, grid_plan: CollectionPlan
) -> None:
    """Removing a client from its route leaves it reported as not visited."""
    stops = list(grid_plan.routes[0].stops)
    p = next(i for i, s in enumerate(stops) if s.kind == "client")
    gone = stops.pop(p)
    issues = check_plan(grid_problem, corrupt(grid_plan, 0, stops))
    assert f"client #{gone.client} (matrix index {gone.location}) is not visited" in issues


# ------------------------------------------------------------------------------------------
# optimality on a tiny instance, by brute force
# ------------------------------------------------------------------------------------------


def brute_force_cost(problem: CollectionProblem) -> float:
    """Cheapest plan over every client order and every way to cut it into trips and vehicles."""
    return brute_force(problem)[0]


def brute_force(problem: CollectionProblem) -> tuple[float, int, int]:
    """Optimal cost, and the fewest vehicles and trips of any feasible plan, by enumeration.

    Every client order and every way to cut it: between consecutive clients the truck either
    continues, unloads (new trip), or unloads and goes home (the next client starts a new
    vehicle); after the last client it unloads and goes home. One landfill, one vehicle type, no
    time windows.
    """
    vt = problem.fleet[0]
    g, lf = problem.garage, problem.landfills[0]
    dist, dur = problem.distance_m, problem.duration_s
    n = problem.n_clients
    best = math.inf
    fewest_vehicles = fewest_trips = n + 1
    for order in itertools.permutations(range(n)):
        for cuts in itertools.product((0, 1, 2), repeat=n - 1):
            vehicles, metres, clock, load, pos, ok = 1, 0.0, vt.shift_start_s, 0.0, g, True
            for step, i in enumerate(order):
                c = problem.clients[i]
                load += problem.demand_kg[i]
                if load > vt.capacity_kg:
                    ok = False
                    break
                metres += dist[pos, c]
                clock += dur[pos, c] + problem.service_s[i]
                pos = c
                cut = cuts[step] if step < n - 1 else 2
                if cut:
                    metres += dist[pos, lf]
                    clock += dur[pos, lf] + vt.unload_s
                    pos, load = lf, 0.0
                if cut == 2:
                    metres += dist[pos, g]
                    clock += dur[pos, g]
                    pos = g
                    if clock > vt.shift_end_s:
                        ok = False
                        break
                    if step < n - 1:
                        vehicles += 1
                        clock = vt.shift_start_s
            if ok and vehicles <= vt.count:
                cost = metres / 1000 * vt.cost_per_km_vnd + vehicles * vt.fixed_cost_vnd
                best = min(best, cost)
                fewest_vehicles = min(fewest_vehicles, vehicles)
                fewest_trips = min(fewest_trips, sum(c > 0 for c in cuts) + 1)
    return best, fewest_vehicles, fewest_trips


@pytest.mark.parametrize("shift_s", [100_000, 4000], ids=["one-truck", "shift-forces-two"])
def test_solve__matches_brute_force_optimum(shift_s: int) -> None:
    """On 6 clients (asymmetric, multi-trip) the solver reaches the brute-force optimum."""
    rng = np.random.default_rng(3)
    points = [(0, 0), (8, 0)] + [tuple(rng.integers([0, 1], [9, 7])) for _ in range(6)]
    dur, dist = manhattan_matrices(points, block_m=100, speed_m_s=10, one_way_m=30)
    kg = rng.integers(15, 36, size=6) * 100.0
    vt = truck(
        cost_per_km_vnd=15_000,
        fixed_cost_vnd=20_000,
        shift_start_s=0,
        shift_end_s=shift_s,
        unload_s=600,
    )
    problem = CollectionProblem.from_matrices(
        dur,
        dist,
        garage=0,
        landfills=[1],
        clients=range(2, 8),
        demand_kg=kg,
        service_s=300,
        fleet=Fleet((vt,)),
    )
    optimum = brute_force_cost(problem)
    plan = solve(problem, time_limit_s=1.0)
    assert check_plan(problem, plan) == []
    assert plan.cost_vnd == pytest.approx(optimum)
    assert plan.trips >= math.ceil(kg.sum() / vt.capacity_kg)
    if shift_s == 4000:
        assert plan.vehicles_used == 2


# ------------------------------------------------------------------------------------------
# infeasible inputs
# ------------------------------------------------------------------------------------------


def _with(matrix_updates: dict[tuple[int, int], float]) -> dict[str, object]:
    case = small_case()
    dur = np.array(case["duration_s"])
    dist = np.array(case["distance_m"])
    for (i, j), v in matrix_updates.items():
        dur[i, j] = dist[i, j] = v
    case.update(duration_s=dur, distance_m=dist)
    return case


@pytest.mark.parametrize(
    ("case", "message"),
    [
        (_with({(0, 3): np.inf}), r"client #1 \(matrix index 3\) cannot be reached"),
        (_with({(4, 1): np.inf}), r"client #2 \(matrix index 4\) cannot be reached"),
        (
            small_case(demand_kg=np.array([1000.0, 8000.0, 1500.0])),
            r"client #1 \(matrix index 3\): demand 8000 kg .* above every vehicle's capacity",
        ),
        (
            small_case(fleet=Fleet((truck(shift_start_s=0, shift_end_s=900),))),
            r"client #0 \(matrix index 2\): the shift is too short",
        ),
        (
            small_case(time_windows=np.array([[0, np.inf], [5000, 4000], [0, np.inf]])),
            r"client #1 \(matrix index 3\): time window \[5000, 4000\] s opens after it closes",
        ),
        (
            small_case(time_windows=np.array([[0, np.inf], [0, np.inf], [0, 100]])),
            r"client #2 \(matrix index 4\): time window \[0, 100\] s cannot be met",
        ),
    ],
    ids=[
        "garage-unreachable",
        "landfill-unreachable",
        "over-capacity",
        "shift-too-short",
        "window-reversed",
        "window-too-early",
    ],
)
def test_from_matrices__infeasible(case: dict[str, object], message: str) -> None:
    """Each kind of impossible input raises InfeasibleError naming the client and the reason."""
    with pytest.raises(InfeasibleError, match=message):
        build(case)


def test_from_matrices__malformed() -> None:
    """NaN in a matrix or a demand of the wrong length is a ValidationError, not infeasibility."""
    case = _with({(2, 3): np.nan})
    with pytest.raises(ValidationError, match="NaN"):
        build(case)
    with pytest.raises(ValidationError, match="2 values for 3 clients"):
        build(small_case(demand_kg=np.array([1.0, 2.0])))


# ------------------------------------------------------------------------------------------
# time windows, streams, baselines, handcarts
# ------------------------------------------------------------------------------------------


def test_solve__time_window_respected() -> None:
    """A point that may only be loaded late is served inside its window, waiting if needed."""
    windows = np.array([[0, np.inf], [7200, 7800], [0, np.inf]])
    problem = build(small_case(time_windows=windows))
    plan = solve(problem, time_limit_s=0.5)
    assert check_plan(problem, plan) == []
    (stop,) = [s for r in plan.routes for s in r.stops if s.client == 1]
    begin = stop.departure_s - problem.service_s[1]
    assert 7200 <= begin <= 7800


def test_from_matrices__stream_selection() -> None:
    """Per-stream demand: one stream, co-collected streams summed, or all of them."""
    per_stream = np.array([[100.0, 20.0, 300.0], [50.0, 10.0, 200.0], [80.0, 0.0, 100.0]])
    food = build(small_case(demand_kg=per_stream, stream="food"))
    assert food.demand_kg.tolist() == [100.0, 50.0, 80.0]
    assert food.stream == "food"
    mixed = build(small_case(demand_kg=per_stream, stream=["recyclable", "residual"]))
    assert mixed.demand_kg.tolist() == [320.0, 210.0, 100.0]
    assert build(small_case(demand_kg=per_stream)).demand_kg.tolist() == [420.0, 260.0, 180.0]
    with pytest.raises(ValidationError, match="unknown stream 'paper'"):
        build(small_case(demand_kg=per_stream, stream="paper"))
    plan = solve(food, time_limit_s=0.2)
    assert plan.tonnes == pytest.approx(0.23)
    assert plan.stream == "food"


def test_plan_from_sequences__unloads_where_needed() -> None:
    """A given order gets an unload before the client that would overflow and one at the end."""
    fleet = Fleet((truck(capacity_kg=2500, shift_start_s=0, shift_end_s=4 * 3600),))
    problem = build(small_case(fleet=fleet))
    plan = plan_from_sequences(problem, [[0, 2, 1]])
    (route,) = plan.routes
    # loads 1000 + 1500 = 2500 fit; client 1 (2000 kg) needs an unload first
    assert route.locations == (0, 2, 4, 1, 3, 1, 0)
    d = problem.distance_m
    assert route.km == pytest.approx(
        (d[0, 2] + d[2, 4] + d[4, 1] + d[1, 3] + d[3, 1] + d[1, 0]) / 1000
    )
    assert route.trip_loads_kg == (2500.0, 2000.0)
    assert check_plan(problem, plan) == []


def test_nearest_neighbour__feasible_and_not_better(
    grid_problem: CollectionProblem, grid_plan: CollectionPlan
) -> None:
    """The greedy baseline is feasible and costs at least as much as the optimised plan."""
    nn = nearest_neighbour_plan(grid_problem)
    assert nn.method == "nearest_neighbour"
    assert check_plan(grid_problem, nn) == []
    assert nn.cost_vnd >= grid_plan.cost_vnd - 1e-6
    assert saving_pct(nn, grid_plan) >= 0


def test_plan_handcart_rounds__rounds_return_to_transfer_point() -> None:
    """Carts empty at the transfer point between rounds and make enough rounds for the waste."""
    points = [(0, 0)] + [(x, y) for x in (1, 2, 3) for y in (1, 2, 3)]
    dur, dist = manhattan_matrices(points, block_m=60, speed_m_s=1.0, one_way_m=0)
    demand = np.full(9, 45.0)  # 405 kg: three 180 kg carts at least
    plan = plan_handcart_rounds(
        dur,
        dist,
        transfer_point=0,
        households_idx=range(1, 10),
        demand_kg=demand,
        n_carts=2,
        time_limit_s=0.5,
    )
    assert plan.all_points_served_once
    assert plan.trips >= 3
    assert plan.fuel_l == 0
    for route in plan.routes:
        assert route.locations[0] == route.locations[-1] == 0
        assert all(s.location == 0 for s in route.stops if s.kind == "landfill")
        assert max(route.trip_loads_kg) <= 180.0


# ------------------------------------------------------------------------------------------
# CVRPLIB: plain CVRP expressed in the collection model
# ------------------------------------------------------------------------------------------


def read_cvrp(name: str) -> tuple[CollectionProblem, float]:
    vrplib = pytest.importorskip("vrplib")
    path = CVRP_DIR / f"{name}.vrp"
    if not path.exists() or not (CVRP_DIR / "BKS.csv").exists():
        pytest.skip(f"{path} or BKS.csv not present")
    with (CVRP_DIR / "BKS.csv").open(newline="", encoding="utf-8") as fh:
        bks = {row["instance"]: float(row["best_known"]) for row in csv.DictReader(fh)}
    inst = vrplib.read_instance(str(path))
    dist = np.rint(inst["edge_weight"])  # CVRPLIB: Euclidean rounded to the nearest integer
    depot = int(inst["depot"][0])
    clients = [i for i in range(len(dist)) if i != depot]
    vt = VehicleType(
        name="cvrp",
        count=len(clients),
        capacity_kg=float(inst["capacity"]),
        capacity_m3=math.inf,
        cost_per_km_vnd=1.0,
        fixed_cost_vnd=0.0,
        shift_start_s=0.0,
        shift_end_s=math.inf,
        unload_s=0.0,
        fuel_l_per_100km=0.0,
    )
    problem = CollectionProblem.from_matrices(
        dist,
        dist,
        garage=depot,
        landfills=[depot],
        clients=clients,
        demand_kg=inst["demand"][clients].astype(float),
        fleet=Fleet((vt,)),
    )
    return problem, bks[name]


def test_solve__cvrplib_near_best_known() -> None:
    """E-n23-k3 as garage = landfill: within 1 % of the proven optimum in 2 s, plan checked."""
    problem, bks = read_cvrp("E-n23-k3")
    plan = solve(problem, time_limit_s=2.0)
    assert check_plan(problem, plan) == []
    cost = plan.total_km * 1000
    assert cost >= bks - 1e-6  # cannot beat a proven optimum
    assert 100 * (cost - bks) / bks <= 1.0
    assert plan.solve_s < 5
    nn = nearest_neighbour_plan(problem)
    assert check_plan(problem, nn) == []
    assert nn.total_km >= plan.total_km


def test_solve__no_improvement_does_not_stop_before_a_feasible_plan() -> None:
    """A 'no improvement' stop counts only once a feasible plan is in hand: on 40 points with a
    tight shift (where one iteration ends on an infeasible plan) the search goes on to a plan
    that passes the independent check."""
    rng = np.random.default_rng(0)
    points = [(0, 0), (14, 2)] + [tuple(rng.integers(1, 12, size=2)) for _ in range(40)]
    dur, dist = manhattan_matrices(points, block_m=250, speed_m_s=5, one_way_m=50)
    problem = CollectionProblem.from_matrices(
        dur,
        dist,
        garage=0,
        landfills=[1],
        clients=list(range(2, 42)),
        demand_kg=rng.integers(15, 31, size=40) * 100.0,
        service_s=240,
        fleet=Fleet((truck(count=3, shift_start_s=0, shift_end_s=16_000),)),
    )
    plan = solve(problem, time_limit_s=3.0, no_improvement=1)
    assert plan.solver_feasible
    assert check_plan(problem, plan) == []


# ------------------------------------------------------------------------------------------
# issue 11: constructive starts, the baseline kept, reproducible searches, stated bounds
# ------------------------------------------------------------------------------------------


def random_instance(
    seed: int, *, n: int, shift_s: float, metric: bool, garage_at_landfill: bool = False
) -> CollectionProblem:
    """`n` clients, one landfill, one truck type; `metric=False` breaks the triangle inequality."""
    rng = np.random.default_rng(seed)
    points = [(0, 0), (0, 0) if garage_at_landfill else (7, 1)]
    points += [tuple(rng.integers([0, 0], [9, 7])) for _ in range(n)]
    dur, dist = manhattan_matrices(points, block_m=100, speed_m_s=8, one_way_m=40)
    if not metric:  # random detours: a direct leg may be longer than going through a third stop
        detour = rng.uniform(1.0, 2.5, size=dist.shape)
        dist, dur = dist * detour, dur * detour
    vt = truck(
        count=n,
        cost_per_km_vnd=15_000,
        fixed_cost_vnd=float(rng.integers(0, 3)) * 10_000,
        shift_start_s=0,
        shift_end_s=shift_s,
        unload_s=300,
    )
    return CollectionProblem.from_matrices(
        dur,
        dist,
        garage=0,
        landfills=[1],
        clients=range(2, 2 + n),
        demand_kg=rng.integers(10, 40, size=n) * 100.0,
        service_s=120,
        fleet=Fleet((vt,)),
    )


BOUND_CASES = [
    pytest.param(seed, n, shift, metric, id=f"seed{seed}-n{n}-shift{shift}-{kind}")
    for seed, n, shift, metric, kind in [
        (0, 5, 100_000, True, "metric"),
        (1, 5, 2500, True, "metric"),
        (2, 5, 3000, False, "detours"),
        (3, 5, 100_000, False, "detours"),
        (4, 6, 3500, True, "metric"),
        (5, 6, 100_000, False, "detours"),
    ]
]


@pytest.mark.parametrize(("seed", "n", "shift_s", "metric"), BOUND_CASES)
def test_route_bounds__never_above_brute_force_optimum(
    seed: int, n: int, shift_s: float, metric: bool
) -> None:
    """Trip, vehicle and cost bounds never exceed the enumerated optimum, nor does the plan."""
    problem = random_instance(seed, n=n, shift_s=shift_s, metric=metric)
    optimum, fewest_vehicles, fewest_trips = brute_force(problem)
    assert math.isfinite(optimum)
    bounds = route_bounds(problem)
    assert bounds.cost_vnd <= optimum + 1e-6
    assert bounds.min_vehicles <= fewest_vehicles
    assert bounds.min_trips <= fewest_trips
    assert bounds.min_trips >= math.ceil(problem.demand_kg.sum() / problem.fleet[0].capacity_kg)
    plan = solve(problem, time_limit_s=10, max_iterations=2000, no_improvement=None, seed=seed)
    assert check_plan(problem, plan) == []
    assert plan.cost_vnd >= optimum - 1e-6
    assert plan.lower_bound_vnd == pytest.approx(bounds.cost_vnd)
    assert plan.gap_pct == pytest.approx(100 * (plan.cost_vnd - bounds.cost_vnd) / plan.cost_vnd)
    assert plan.gap_pct >= 0
    assert (plan.status == "optimal") == (plan.cost_vnd <= bounds.cost_vnd + 1e-6)
    if plan.status == "optimal":
        assert plan.cost_vnd == pytest.approx(optimum)


def test_route_bounds__tight_when_one_trip_is_forced() -> None:
    """One client: the bound is the only plan's cost, and the plan says it is optimal."""
    problem = random_instance(9, n=1, shift_s=100_000, metric=False)
    optimum = brute_force_cost(problem)
    plan = solve(problem, time_limit_s=5, max_iterations=50)
    assert route_bounds(problem).cost_vnd == pytest.approx(optimum)
    assert plan.status == "optimal"
    assert plan.gap_pct == pytest.approx(0.0, abs=1e-9)
    assert plan.cost_vnd == pytest.approx(optimum)


def test_route_bounds__vehicles_from_the_shift() -> None:
    """A shift that holds about one trip forces as many vehicles as trips, and the bound sees it."""
    problem = random_instance(4, n=6, shift_s=1900, metric=True, garage_at_landfill=True)
    bounds = route_bounds(problem)
    _, fewest_vehicles, _ = brute_force(problem)
    assert 2 <= bounds.min_vehicles <= fewest_vehicles
    assert bounds.min_vehicles * problem.fleet[0].fixed_cost_vnd <= bounds.cost_vnd


def test_savings_plan__feasible_and_within_the_fleet(grid_problem: CollectionProblem) -> None:
    """The savings plan serves every point once, passes the check and uses no more trucks than
    the fleet, with trips that never exceed a body."""
    plan = savings_plan(grid_problem)
    assert plan.method == plan.origin == "savings"
    assert check_plan(grid_problem, plan) == []
    assert plan.unserved == ()
    assert plan.vehicles_used <= grid_problem.fleet.n_vehicles
    assert plan.trips >= plan.min_trips
    assert plan.cost_vnd >= plan.lower_bound_vnd


def test_savings_plan__shift_forces_a_second_vehicle() -> None:
    """When one shift cannot hold every trip, the trips are spread over two vehicles."""
    problem = random_instance(4, n=6, shift_s=1900, metric=True, garage_at_landfill=True)
    plan = savings_plan(problem)
    assert check_plan(problem, plan) == []
    assert plan.vehicles_used >= 2
    assert plan.vehicles_used >= route_bounds(problem).min_vehicles


def exact_shift_case() -> tuple[CollectionProblem, CollectionPlan]:
    """Three clients on a loop whose legs last 100.4 s, in a shift of exactly four legs.

    The loop fits the shift in the exact data, but the solver rounds each leg up to 101 s, so
    in its integers no single truck can do it: the search's own plans take two trucks. Any
    other order uses a 150.4 s leg and overruns the shift even in the exact data.
    """
    leg, other = 100.4, 150.4
    dur = np.full((4, 4), other)
    for a, b in [(0, 1), (1, 2), (2, 3), (3, 0)]:
        dur[a, b] = leg
    np.fill_diagonal(dur, 0.0)
    vt = truck(
        count=3,
        capacity_kg=7000,
        shift_start_s=0,
        shift_end_s=4 * leg,
        unload_s=0,
        fixed_cost_vnd=10_000,
    )
    problem = CollectionProblem.from_matrices(
        dur,
        dur * 10,
        garage=0,
        landfills=[0],
        clients=[1, 2, 3],
        demand_kg=[500.0, 500.0, 500.0],
        fleet=Fleet((vt,)),
    )
    return problem, plan_from_sequences(problem, [[0, 1, 2]])


def test_solve__baseline_kept_when_the_search_does_worse() -> None:
    """The ward's plan, better than anything the search finds, comes back with origin baseline."""
    problem, baseline = exact_shift_case()
    assert check_plan(problem, baseline) == []
    assert baseline.vehicles_used == 1
    plan = solve(problem, time_limit_s=30, max_iterations=200, baseline=baseline)
    assert plan.solver_feasible  # the search's own plan, feasible in its rounded integers
    assert plan.origin == "baseline"
    assert check_plan(problem, plan) == []
    assert plan.cost_vnd == pytest.approx(baseline.cost_vnd)
    assert [r.locations for r in plan.routes] == [r.locations for r in baseline.routes]
    costs = dict(plan.candidate_costs_vnd)
    assert costs["baseline"] == pytest.approx(baseline.cost_vnd)
    # nearest neighbour or savings may find the same loop (a tie goes to the ward's plan); the
    # search's own plan needs a second truck
    assert all(c >= baseline.cost_vnd - 1e-6 for c in costs.values())
    assert costs["search"] >= baseline.cost_vnd + 10_000 - 1e-6


def test_solve__never_costlier_than_a_constructive_plan(grid_problem: CollectionProblem) -> None:
    """With a single iteration the plan still costs no more than nearest neighbour and savings."""
    plan = solve(grid_problem, time_limit_s=10, max_iterations=1, no_improvement=None)
    assert check_plan(grid_problem, plan) == []
    assert plan.cost_vnd <= nearest_neighbour_plan(grid_problem).cost_vnd + 1e-6
    assert plan.cost_vnd <= savings_plan(grid_problem).cost_vnd + 1e-6
    assert plan.origin in {"search", "nearest_neighbour", "savings"}
    assert plan.stop_reason == "max_iterations"
    assert plan.iterations == 1


def forty_points() -> CollectionProblem:
    """Forty gathering points, one landfill and a fleet far larger than needed."""
    rng = np.random.default_rng(0)
    points = [(0, 0), (14, 2)] + [tuple(rng.integers(1, 12, size=2)) for _ in range(40)]
    dur, dist = manhattan_matrices(points, block_m=250, speed_m_s=5, one_way_m=50)
    return CollectionProblem.from_matrices(
        dur,
        dist,
        garage=0,
        landfills=[1],
        clients=list(range(2, 42)),
        demand_kg=rng.integers(15, 31, size=40) * 100.0,
        service_s=240,
        fleet=Fleet((truck(count=20, shift_start_s=0, shift_end_s=20_000),)),
    )


def test_solve__same_seed_same_plan_on_a_busy_machine() -> None:
    """With an iteration-only stop, a second run beside a CPU-bound process gives the same plan."""
    problem = forty_points()
    kw: dict[str, object] = {
        "time_limit_s": 120,
        "max_iterations": 400,
        "no_improvement": None,
        "seed": 3,
    }
    idle = solve(problem, **kw)  # type: ignore[arg-type]
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        busy = solve(problem, **kw)  # type: ignore[arg-type]
    finally:
        burner.kill()
        burner.wait()
    assert check_plan(problem, idle) == []
    assert [r.locations for r in busy.routes] == [r.locations for r in idle.routes]
    assert busy.cost_vnd == idle.cost_vnd
    assert idle.stop_reason == busy.stop_reason == "max_iterations"
    assert idle.status in {"feasible", "optimal"}


def test_solve__two_workers_keep_the_better_seed() -> None:
    """Two parallel searches (seeds 5 and 6) return the cheaper of the two single-seed plans."""
    problem = forty_points()
    kw: dict[str, object] = {"time_limit_s": 120, "max_iterations": 150, "no_improvement": None}
    one = solve(problem, seed=5, **kw)  # type: ignore[arg-type]
    other = solve(problem, seed=6, **kw)  # type: ignore[arg-type]
    both = solve(problem, seed=5, workers=2, **kw)  # type: ignore[arg-type]
    for plan in (one, other, both):
        assert check_plan(problem, plan) == []
    assert both.workers == 2
    assert both.cost_vnd <= one.cost_vnd + 1e-6
    assert both.cost_vnd == pytest.approx(min(one.cost_vnd, other.cost_vnd))


def test_solve__fleet_offered_is_bounded_by_the_start() -> None:
    """A fleet of twenty trucks for a job of a few: the plan uses no more than the start + 2."""
    problem = forty_points()
    start = min(nearest_neighbour_plan(problem).vehicles_used, savings_plan(problem).vehicles_used)
    plan = solve(problem, time_limit_s=30, max_iterations=300)
    assert check_plan(problem, plan) == []
    assert plan.vehicles_used <= start + 2
    assert plan.vehicles_used >= plan.min_vehicles


def test_solve__time_cap_is_reported() -> None:
    """A search cut by its time cap says so in `status` and `stop_reason`."""
    problem = forty_points()
    plan = solve(problem, time_limit_s=0.05, no_improvement=None)
    assert check_plan(problem, plan) == []
    assert plan.stop_reason == "time_limit"
    assert plan.status == "time_limit"


def test_solve__bad_workers() -> None:
    """Zero workers is refused with a one-line error."""
    problem = build(small_case())
    with pytest.raises(ValidationError, match="workers >= 1"):
        solve(problem, time_limit_s=1, workers=0)


def test_solve__warm_start_is_the_best_constructive_plan() -> None:
    """With no iteration at all, the search hands back its warm start: the cheaper of the
    nearest-neighbour and savings plans, stop for stop."""
    problem = forty_points()
    nn, sav = nearest_neighbour_plan(problem), savings_plan(problem)
    start = min((sav, nn), key=lambda p: p.cost_vnd)
    plan = solve(problem, time_limit_s=30, max_iterations=0, no_improvement=None)
    assert plan.iterations == 0
    assert plan.origin == start.origin
    assert [r.locations for r in plan.routes] == [r.locations for r in start.routes]
    assert dict(plan.candidate_costs_vnd)["search"] == pytest.approx(start.cost_vnd)


def test_solve__two_vehicle_types_two_garages() -> None:
    """A fleet of two types with their own garages: every plan starts and ends at its own
    garage, passes the check and costs no more than the constructive plans."""
    rng = np.random.default_rng(11)
    points = [(0, 0), (14, 2), (12, 12)] + [tuple(rng.integers(1, 12, size=2)) for _ in range(25)]
    dur, dist = manhattan_matrices(points, block_m=250, speed_m_s=5, one_way_m=50)
    fleet = Fleet(
        (
            truck(count=3, shift_start_s=0, shift_end_s=14_000),
            truck(
                name="small",
                count=3,
                capacity_kg=4000,
                garage=2,
                shift_start_s=0,
                shift_end_s=14_000,
                fixed_cost_vnd=900_000,
            ),
        )
    )
    problem = CollectionProblem.from_matrices(
        dur,
        dist,
        garage=0,
        landfills=[1],
        clients=list(range(3, 28)),
        demand_kg=rng.integers(10, 30, size=25) * 100.0,
        service_s=240,
        fleet=fleet,
    )
    plan = solve(problem, time_limit_s=30, max_iterations=300, no_improvement=None, seed=1)
    assert check_plan(problem, plan) == []
    for route in plan.routes:
        assert route.locations[0] == route.locations[-1] == problem.garage_of(route.vehicle_type)
    assert plan.cost_vnd <= nearest_neighbour_plan(problem).cost_vnd + 1e-6
    assert plan.cost_vnd <= savings_plan(problem).cost_vnd + 1e-6
    assert plan.cost_vnd >= route_bounds(problem).cost_vnd


# ------------------------------------------------------------------------------------------
# electric trucks
# ------------------------------------------------------------------------------------------


def test_solve__electric_range_bounds_each_truck(grid_problem: CollectionProblem) -> None:
    """With a range shorter than one diesel truck's day, every electric truck stays within it,
    check_plan accepts the plan, and its CO2 is the grid's for the kWh drawn, never 0."""
    from gomrac.analysis.energy import Electric

    diesel = solve(grid_problem, time_limit_s=1.0, max_iterations=300)
    longest = max(r.km for r in diesel.routes)
    battery = Electric(kwh_per_km=1.0, battery_kwh=0.8 * longest, charge_efficiency=1.0)
    fleet = Fleet((truck(count=6, drivetrain=battery),))
    problem = replace(grid_problem, fleet=fleet)
    plan = solve(problem, time_limit_s=1.0, max_iterations=300)
    assert check_plan(problem, plan) == []
    assert all(r.km <= battery.range_km + 1e-9 for r in plan.routes)
    assert plan.vehicles_used > diesel.vehicles_used or max(r.km for r in diesel.routes) <= (
        battery.range_km
    )
    assert plan.energy_kwh == pytest.approx(plan.total_km)
    assert plan.co2_kg == pytest.approx(plan.total_km * battery.grid_kg_co2_per_kwh)
    assert plan.co2_kg > 0 and plan.fuel_l == 0


def test_check_plan__beyond_range(
    grid_problem: CollectionProblem, grid_plan: CollectionPlan
) -> None:
    """A plan whose truck drives farther than one charge is reported, naming the range."""
    from gomrac.analysis.energy import Electric

    longest = max(r.km for r in grid_plan.routes)
    short = Electric(kwh_per_km=1.0, battery_kwh=longest / 2)
    problem = replace(grid_problem, fleet=Fleet((truck(drivetrain=short),)))
    issues = check_plan(problem, grid_plan)
    assert any("range of one charge" in i for i in issues)
