"""Split-body (compartment) trucks: routing with one load dimension per compartment, and the
weekly plan's co-collection with each compartment unloaded at its own stream's facility.

Provenance: hand-made straight-road matrices (positions in km along one road, 8 m/s), small
enough that the optimum is found by enumeration in the test itself.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from gomrac.analysis.errors import ValidationError
from gomrac.analysis.routing import (
    CollectionProblem,
    Compartment,
    Fleet,
    VehicleType,
    check_plan,
    solve,
)
from gomrac.analysis.weekly import PeriodicProblem, plan_periodic

SPLIT = (Compartment("food", 1000.0), Compartment("residual", 1000.0))


def _line(*km: float) -> tuple[np.ndarray, np.ndarray]:
    x = np.array(km) * 1000.0
    dist = np.abs(x[:, None] - x[None, :])
    return dist / 8.0, dist


def test_solve__a_full_compartment_ends_the_trip() -> None:
    """Food fills its 1 t compartment at every point although the 7 t body is nearly empty.

    Garage at 0 km, landfill at 10 km, four points at 1-4 km with 600 kg food and 100 kg
    residual each: two points never fit one food compartment, so each point is a trip of its
    own. The first trip (garage → point → landfill) is 10 km whichever point it takes, the others
    go landfill → point → landfill; taking the point nearest the garage first, the rest cost
    2 × (8 + 7 + 6) = 42 km, and 10 km home: 62 km in 4 trips (a single-body truck: 1 trip).
    """
    dur, dist = _line(0, 10, 1, 2, 3, 4)
    load = np.array([[600.0, 100.0]] * 4)
    vt = VehicleType(count=1, shift_end_s=math.inf, compartments=SPLIT)
    problem = CollectionProblem.from_matrices(
        dur,
        dist,
        garage=0,
        landfills=[1],
        clients=[2, 3, 4, 5],
        demand_kg=load.sum(axis=1),
        compartment_kg=load,
        fleet=Fleet((vt,)),
    )
    plan = solve(problem, time_limit_s=2, max_iterations=200)
    assert check_plan(problem, plan) == []
    assert plan.trips == 4
    assert plan.total_km == pytest.approx(62.0)
    assert plan.routes[0].locations[:3] == (0, 2, 1)
    body = CollectionProblem.from_matrices(
        dur,
        dist,
        garage=0,
        landfills=[1],
        clients=[2, 3, 4, 5],
        demand_kg=load.sum(axis=1),
        fleet=Fleet((VehicleType(count=1, shift_end_s=math.inf),)),
    )
    assert solve(body, time_limit_s=2, max_iterations=200).trips == 1


def test_check_plan__catches_an_overloaded_compartment() -> None:
    """A plan feasible with 1.3 t food compartments overloads 1 t ones; check_plan names it."""
    dur, dist = _line(0, 10, 1, 2)
    load = np.array([[600.0, 100.0], [600.0, 100.0]])
    kwargs = {
        "garage": 0,
        "landfills": [1],
        "clients": [2, 3],
        "demand_kg": load.sum(axis=1),
        "compartment_kg": load,
    }
    roomy = VehicleType(count=1, compartments=(Compartment("food", 1300.0), SPLIT[1]))
    big = CollectionProblem.from_matrices(dur, dist, fleet=Fleet((roomy,)), **kwargs)
    plan = solve(big, time_limit_s=1, max_iterations=100)
    assert plan.trips == 1
    small = CollectionProblem.from_matrices(
        dur, dist, fleet=Fleet((VehicleType(count=1, compartments=SPLIT),)), **kwargs
    )
    issues = check_plan(small, plan)
    assert any("1200 kg in the food compartment > capacity 1000 kg" in i for i in issues), issues


@pytest.mark.parametrize(
    ("compartments", "expect"),
    [
        ((Compartment("food", 3000.0), Compartment("residual", 5000.0)), "above the body's"),
        ((Compartment("food", 1000.0), Compartment("food", 1000.0)), "has two compartments"),
    ],
)
def test_vehicle_type__compartments_refused(compartments, expect: str) -> None:
    """Compartments beyond the 7 t body, or two for one stream, are refused in one line."""
    with pytest.raises(ValidationError, match=expect):
        VehicleType(compartments=compartments)


def test_compartment__negative_capacity() -> None:
    with pytest.raises(ValidationError, match="capacity_kg must be positive"):
        Compartment("food", -5.0)


def test_from_matrices__split_fleet_needs_compartment_loads() -> None:
    dur, dist = _line(0, 10, 1)
    with pytest.raises(ValidationError, match="compartment_kg"):
        CollectionProblem.from_matrices(
            dur,
            dist,
            garage=0,
            landfills=[1],
            clients=[2],
            demand_kg=[100.0],
            fleet=Fleet((VehicleType(compartments=SPLIT),)),
        )


def _best_day_km(x: np.ndarray, points: list[int], food: float, cap: float) -> float:
    """Shortest day by enumeration: point orders, trip breaks and facility order per trip."""
    fac = {"food": 1, "residual": 2}
    best = math.inf
    per_trip = int(cap // food)
    for order in itertools.permutations(points):
        for cuts in itertools.product([False, True], repeat=len(order) - 1):
            trips: list[list[int]] = [[order[0]]]
            for p, cut in zip(order[1:], cuts, strict=True):
                if cut:
                    trips.append([p])
                else:
                    trips[-1].append(p)
            if any(len(t) > per_trip for t in trips):
                continue
            for unloads in itertools.product(
                [("food", "residual"), ("residual", "food")], repeat=len(trips)
            ):
                seq = [0]
                for t, u in zip(trips, unloads, strict=True):
                    seq += [*t, fac[u[0]], fac[u[1]]]
                seq.append(0)
                best = min(best, float(np.abs(np.diff(x[seq])).sum()))
    return best


def test_plan_periodic__co_collected_streams_unload_at_their_own_facilities() -> None:
    """Food and residual waste ride together and each is tipped at its own facility.

    Garage at 0 km, food facility at 10 km, residual facility at -3 km, points at 1-4 km making
    100 kg food and 150 kg residual a day, collected daily by one truck with a 250 kg food
    compartment: two points a trip, every trip ending at both facilities. The week's km equal 7
    times the shortest day found by enumeration (50 km).
    """
    x = np.array([0.0, 10.0, -3.0, 1.0, 2.0, 3.0, 4.0]) * 1000.0
    dist = np.abs(x[:, None] - x[None, :])
    vt = VehicleType(
        count=1,
        shift_end_s=math.inf,
        compartments=(Compartment("food", 250.0), Compartment("residual", 2000.0)),
    )
    problem = PeriodicProblem(
        dist / 8.0,
        dist,
        0,
        (3, 4, 5, 6),
        ("food", "residual"),
        np.array([[100.0, 150.0]] * 4),
        np.full((4, 2), 7),
        np.full((4, 2), 60.0),
        {"food": [1], "residual": [2]},
        {"food+residual": Fleet((vt,))},
        co_collect=(("food", "residual"),),
        stop_s=30.0,
    )
    sol = plan_periodic(problem, time_limit_s=5, max_iterations=300)
    assert sol.violations == ()
    best = _best_day_km(x, [3, 4, 5, 6], food=100.0, cap=250.0)
    assert best == pytest.approx(50_000.0)
    assert sol.distance_m == pytest.approx(7 * best)
    # one stop per point and visit, carrying both streams
    v = sol.visits
    assert len(v) == 7 * 4 * 2
    for _, stop in v.groupby(["point", "day", "arrival_s"]):
        assert sorted(stop["stream"]) == ["food", "residual"]
        assert stop["departure_s"].iloc[0] - stop["arrival_s"].iloc[0] == pytest.approx(90.0)
    for dp in sol.days:
        for route in dp.plan.routes:
            stops = dp.stops(route)
            unloads = [(s.location, s.unloads, s.trip) for s in stops if s.kind == "landfill"]
            for trip in {t for *_, t in unloads}:
                at = {loc: u for loc, u, t in unloads if t == trip}
                assert at == {1: ("food",), 2: ("residual",)}
                food = v[(v["day"] == dp.day) & (v["trip"] == trip + 1) & (v["stream"] == "food")]
                assert food["kg"].sum() <= 250.0 + 1e-9
            # the drive between the two facilities is in the route's km
            km = np.abs(np.diff(x[[s.location for s in stops]])).sum() / 1000.0
            assert route.km == pytest.approx(km)
