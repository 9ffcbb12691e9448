"""Tests for analysis.routing: multi-trip collection routes, the independent check, baselines."""

from __future__ import annotations

import csv
import itertools
import math
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
    saving_pct,
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
    """Cheapest plan over every client order and every way to cut it into trips and vehicles.

    Between consecutive clients the truck either continues, unloads (new trip), or unloads and
    goes home (the next client starts a new vehicle); after the last client it unloads and goes
    home. One landfill, one vehicle type, no time windows.
    """
    vt = problem.fleet[0]
    g, lf = problem.garage, problem.landfills[0]
    dist, dur = problem.distance_m, problem.duration_s
    n = problem.n_clients
    best = math.inf
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
    return best


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
