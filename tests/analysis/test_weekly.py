"""The weekly planner on small hand-made instances: patterns, bins, balance and routes."""

from __future__ import annotations

import dataclasses
import itertools

import highspy
import numpy as np
import pytest

from gomrac.analysis.errors import ValidationError
from gomrac.analysis.routing import Fleet, VehicleType
from gomrac.analysis.weekly import (
    PATTERN_SHARE,
    PeriodicProblem,
    StreamService,
    bins_for,
    choose_frequency,
    choose_patterns,
    gaps_before,
    plan_periodic,
    visit_patterns,
)


@pytest.mark.parametrize("horizon", [4, 6, 7])
def test_visit_patterns__evenly_spaced(horizon: int) -> None:
    """Every pattern of f visits has cyclic gaps of floor(H/f) or ceil(H/f) days."""
    for f in range(1, horizon + 1):
        pats = visit_patterns(f, horizon)
        if horizon % f == 0:
            assert len(pats) == horizon // f
        assert len(pats) == len(set(pats)) <= horizon
        for p in pats:
            assert len(set(p)) == f
            assert set(gaps_before(p, horizon)) <= {horizon // f, -(-horizon // f)}


def test_visit_patterns__literature_schemes() -> None:
    """For f dividing H the patterns are the schemes {d, d + H/f, ...}, d < H/f."""
    assert visit_patterns(2, 4) == [(0, 2), (1, 3)]
    assert visit_patterns(3, 6) == [(0, 2, 4), (1, 3, 5)]
    assert visit_patterns(7, 7) == [(0, 1, 2, 3, 4, 5, 6)]


def test_visit_patterns__frequency_zero() -> None:
    """A frequency of 0 visits is refused."""
    with pytest.raises(ValidationError, match="frequency"):
        visit_patterns(0, 7)


@pytest.mark.parametrize("kg", [0.0, 10.0, 44.9, 45.0, 100.0, 150.0, 1234.5])
def test_bins_for__holds_the_waste(kg: float) -> None:
    """The bins hold the waste at the fill factor, and one bin fewer would not."""
    bins = bins_for(kg, bin_sizes_l=[240, 660], bulk_density_kg_m3=100.0, fill_factor=0.75)
    litres = 240 * bins[240] + 660 * bins[660]
    need_l = kg / (100.0 * 0.75) * 1000
    assert litres >= need_l - 1e-6
    smaller = litres - (240 if bins[240] else 660)
    assert kg == 0 or smaller < need_l


def test_bins_for__small_rest_in_small_bins() -> None:
    """700 L of waste is one 660 L bin and one 240 L bin, not two 660 L bins."""
    assert bins_for(140.0, bin_sizes_l=[240, 660], bulk_density_kg_m3=200, fill_factor=1.0) == {
        240: 1,
        660: 1,
    }


def test_choose_frequency__lowest_that_fits() -> None:
    """A small point is collected once a week; a large one as often as allowed."""
    svc = StreamService("recyclable", (1, 2), bulk_density_kg_m3=80.0, fill_factor=0.85, max_bins=6)
    # 6 bins x 660 L x 80 kg/m3 x 0.85 = 269.3 kg
    assert choose_frequency(30.0, svc) == 1  # 7 days: 210 kg
    assert choose_frequency(50.0, svc) == 2  # 7 days: 350 kg; 4 days: 200 kg
    assert choose_frequency(500.0, svc) == 2  # nothing fits: the highest frequency


def test_choose_patterns__balances_days() -> None:
    """Seven equal weekly points at one place go one per day: every day carries the same load."""
    n = 7
    pats = choose_patterns(np.full(n, 10.0), np.ones(n, int), np.zeros((n, n)), time_limit_s=2)
    days = sorted(p[0] for p in pats)
    assert days == list(range(7))


def test_choose_patterns__keeps_clusters_together() -> None:
    """Two far-apart clusters of four twice-a-horizon points each take one pattern per cluster.

    Another HiGHS model runs first with default options (as the points plan does in a real run):
    the pattern MIPs must still solve (a fixed thread count used to make them fail silently).
    """
    other = highspy.Highs()
    other.setOptionValue("output_flag", False)
    other.addVar(0.0, 1.0)
    other.run()
    xy = np.array([[0, 0], [1, 0], [0, 1], [1, 1], [100, 0], [101, 0], [100, 1], [101, 1.0]])
    t = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) * 60
    pats = choose_patterns(np.full(8, 5.0), np.full(8, 2), t, horizon_days=4, load_mode="fixed")
    assert len(set(pats[:4])) == 1
    assert len(set(pats[4:])) == 1
    assert pats[0] != pats[4]


def _line_problem(load_mode: str = "accumulated") -> PeriodicProblem:
    # garage 0 km, facility 10 km, six points at 1..6 km on one road; 1 km takes 120 s
    x = np.array([0.0, 10.0, 1, 2, 3, 4, 5, 6]) * 1000
    dist = np.abs(x[:, None] - x[None, :])
    vt = VehicleType(count=2, capacity_kg=1000.0, shift_start_s=0.0, shift_end_s=8 * 3600.0)
    return PeriodicProblem(
        duration_s=dist * 0.12,
        distance_m=dist,
        garage=0,
        points=tuple(range(2, 8)),
        streams=("food", "recyclable"),
        rate=np.column_stack([np.full(6, 100.0), np.full(6, 20.0)]),
        frequency=np.column_stack([np.full(6, 7), np.full(6, 2)]),
        service_s=np.full((6, 2), 60.0),
        facility={"food": [1], "recyclable": [1]},
        fleet={"food": Fleet((vt,)), "recyclable": Fleet((vt,))},
        load_mode=load_mode,  # type: ignore[arg-type]
    )


def test_plan_periodic__every_visit_on_pattern() -> None:
    """Each point is visited on its pattern's days, loads are rate x gap, routes are feasible."""
    problem = _line_problem()
    sol = plan_periodic(problem, time_limit_s=2, max_iterations=200)
    assert sol.violations == ()
    v = sol.visits
    assert len(v) == 6 * 7 + 6 * 2
    for (point, stream), grp in v.groupby(["point", "stream"]):
        assert tuple(sorted(grp["day"])) == sol.patterns[stream][point]
    rec = v[v["stream"] == "recyclable"]
    assert sorted(set(rec["kg"].round(6))) == [60.0, 80.0]  # gaps of 3 and 4 days
    assert v.groupby("stream")["kg"].sum().to_dict() == pytest.approx(
        {"food": 6 * 700.0, "recyclable": 6 * 140.0}
    )


def test_plan_periodic__progress_after_each_day_problem() -> None:
    """Progress starts once the patterns are chosen, rises after each new day problem of each
    round (3 in the first: one daily food day, two recyclable days) and ends at 1."""
    seen: list[float] = []
    sol = plan_periodic(
        _line_problem(), time_limit_s=2, max_iterations=200, on_progress=seen.append
    )
    assert sol.violations == ()
    assert seen[0] == PATTERN_SHARE
    assert seen[-1] == 1.0
    assert seen == sorted(seen)
    assert len(seen) >= 1 + 3 + 1
    assert PATTERN_SHARE < seen[1] < seen[3] < 1.0


def test_plan_periodic__stops_where_on_progress_raises() -> None:
    """An exception from `on_progress` (a cancelled job) stops the planning at that call."""

    class Cancelled(Exception):
        pass

    seen: list[float] = []

    def cancel_at_second(done: float) -> None:
        seen.append(done)
        if len(seen) == 2:
            raise Cancelled

    with pytest.raises(Cancelled):
        plan_periodic(
            _line_problem(), time_limit_s=2, max_iterations=200, on_progress=cancel_at_second
        )
    assert len(seen) == 2
    assert seen[1] < 1.0


def test_plan_periodic__daily_stream_solved_once() -> None:
    """A daily stream has seven identical day problems and the same routes on each day."""
    sol = plan_periodic(_line_problem(), time_limit_s=2, max_iterations=200)
    food = [d for d in sol.days if d.stream == "food"]
    assert len(food) == 7
    assert len({id(d.plan) for d in food}) == 1
    # food: 600 kg a day over one road out to the facility and back: 20 km a day at least
    assert sol.distance_m >= 7 * 20_000


def test_plan_periodic__day_costs_on_their_days() -> None:
    """Weekend matrices (a detour making every drive 1.5 x longer) route the weekend days only;
    the weekdays keep one shared plan, and the totals add each day on its own matrix."""
    base = _line_problem()
    weekend = (base.duration_s * 1.5, base.distance_m * 1.5)
    problem = dataclasses.replace(base, day_costs={5: weekend, 6: weekend})
    sol = plan_periodic(problem, time_limit_s=2, max_iterations=200)
    assert sol.violations == ()
    food = {d.day: d for d in sol.days if d.stream == "food"}

    def km(day: int) -> float:
        dist = problem.matrices(day)[1]
        routes = food[day].plan.routes
        return sum(float(dist[a, b]) for r in routes for a, b in itertools.pairwise(r.locations))

    assert [round(km(d)) for d in range(7)] == [20_000] * 5 + [30_000] * 2
    assert len({id(food[d].plan) for d in range(5)}) == 1
    assert food[5].plan is food[6].plan is not food[0].plan
    total = sum(
        float(problem.matrices(dp.day)[1][a, b])
        for dp in sol.days
        for r in dp.plan.routes
        for a, b in itertools.pairwise(r.locations)
    )
    assert sol.distance_m == pytest.approx(total)


def test_periodic_problem__day_costs_shape_checked() -> None:
    base = _line_problem()
    with pytest.raises(ValidationError, match="day_costs"):
        dataclasses.replace(base, day_costs={2: (base.duration_s[:3, :3], base.distance_m)})
    with pytest.raises(ValidationError, match="day_costs"):
        dataclasses.replace(base, day_costs={7: (base.duration_s, base.distance_m)})


def test_plan_periodic__fixed_loads() -> None:
    """In the benchmark's convention each visit carries the per-visit load."""
    sol = plan_periodic(_line_problem("fixed"), time_limit_s=2, max_iterations=200)
    assert set(sol.visits.loc[sol.visits["stream"] == "recyclable", "kg"]) == {20.0}
