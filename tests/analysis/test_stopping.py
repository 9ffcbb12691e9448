"""Stopping long solves early: the throttled check, its scope, and the solvers that poll it."""

from __future__ import annotations

import itertools
import threading

import numpy as np
import pytest

from gomrac.analysis._highs import Mip
from gomrac.analysis.routing import CollectionProblem, Fleet, VehicleType, check_plan, solve
from gomrac.analysis.stopping import StopCheck, current_stop, stop_requested, stop_when


class Clock:
    """A check that counts its calls and says stop from its `after`-th call on."""

    def __init__(self, after: int) -> None:
        self.after = after
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.calls >= self.after


def test_stop_check__throttled_and_sticky(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check runs at most once per interval; once it said stop, it is not asked again."""
    now = itertools.count(0.0, 0.25)  # each look at the clock is 0.25 s later
    monkeypatch.setattr("gomrac.analysis.stopping.time.monotonic", lambda: next(now))
    check = Clock(after=3)
    stop = StopCheck(check, every_s=1.0)
    answers = [stop() for _ in range(12)]
    # called at t = 0, 1, 2: the third call says stop; the rest never reach the check
    assert check.calls == 3
    assert answers == [False] * 8 + [True] * 4
    assert stop.stopped


def test_stop_when__scoped_to_its_block_and_thread() -> None:
    """Outside a block nothing stops; a block's check is not seen by another thread's work."""
    assert stop_requested() is False
    seen_elsewhere: list[bool] = []
    with stop_when(lambda: True, every_s=0.0) as stop:
        assert stop_requested() is True
        worker = threading.Thread(target=lambda: seen_elsewhere.append(stop_requested()))
        worker.start()
        worker.join()
        with stop_when(lambda: False, every_s=0.0):
            assert stop_requested() is False  # the inner block's check
        assert current_stop() is stop
    assert stop.stopped
    assert seen_elsewhere == [False]
    assert stop_requested() is False


def _knapsack(n: int = 80, m: int = 12, seed: int = 3) -> Mip:
    """A random multi-dimensional 0-1 knapsack: no presolve settles it."""
    rng = np.random.default_rng(seed)
    weights = rng.integers(10, 100, size=(m, n))
    mip = Mip()
    cols = mip.add_cols(rng.integers(10, 100, size=n), 0.0, 1.0, integer=True)
    rows, cs = np.nonzero(weights)
    mip.add_rows(
        -np.inf,
        weights.sum(axis=1) / 3,
        rows,
        cols[cs],
        weights[rows, cs],
        count=m,
    )
    return mip


def test_mip__stops_when_asked_not_at_its_time_limit() -> None:
    """A HiGHS model with a 10-minute limit polls the check from its callbacks and ends, with
    its best so far, once the check says stop."""
    check = Clock(after=5)
    with stop_when(check, every_s=0.0):
        out = _knapsack().solve(
            maximize=True, offset=0.0, time_limit_s=600, mip_rel_gap=0.0, threads=None, seed=0
        )
    assert check.calls == 5  # asked until it said stop, then never again
    assert out.status in {"time_limit", "no_solution"}
    if out.x is not None:  # what it found is a real solution with its true value
        assert out.bound >= out.objective


def test_mip__unaffected_outside_a_block() -> None:
    """The same model without a stop check runs to its own end (optimal, gap 0)."""
    out = _knapsack(n=30, m=4).solve(
        maximize=True, offset=0.0, time_limit_s=60, mip_rel_gap=0.0, threads=None, seed=0
    )
    assert out.status == "optimal"
    assert out.bound == pytest.approx(out.objective)


def _line(n: int = 40) -> CollectionProblem:
    """Garage at 0, landfill at 10 km, `n` points spread over 1..9 km of one road."""
    rng = np.random.default_rng(11)
    x = np.concatenate([[0.0, 10.0], rng.uniform(1.0, 9.0, size=n)]) * 1000
    dist = np.abs(x[:, None] - x[None, :])
    return CollectionProblem.from_matrices(
        dist / 8,
        dist,
        garage=0,
        landfills=[1],
        clients=list(range(2, n + 2)),
        demand_kg=rng.uniform(200.0, 600.0, size=n),
        service_s=120,
        fleet=Fleet((VehicleType(count=6),)),
    )


def test_routing_search__stops_when_asked() -> None:
    """The PyVRP search ends at its first look at the check ("stopped"); the plan returned is
    still a checked, valid plan (the best constructive one or better)."""
    problem = _line()
    with stop_when(lambda: True, every_s=0.0):
        plan = solve(problem, time_limit_s=600, seed=0, no_improvement=None)
    assert plan.stop_reason == "stopped"
    assert plan.iterations <= 1
    assert check_plan(problem, plan) == []
    free = solve(problem, time_limit_s=600, seed=0, max_iterations=300, no_improvement=None)
    assert free.stop_reason == "max_iterations"
    assert free.iterations == 300
    assert free.cost_vnd <= plan.cost_vnd
