"""PyVRP searches from a warm start, one per seed, run in this process or in parallel processes.

PyVRP objects do not cross process boundaries (a pickled ``ProblemData`` of 0.14.1 was measured
to price solutions differently from the original): a search receives a function that builds its
data and the warm start as plain visits, and returns its best solution as plain visits.

A search stops on progress (iterations without a better plan, or an iteration cap) with a wall
-clock cap as a safety net; `SearchOutcome.stop_reason` says which rule ended it, so a caller can
tell a result that depends only on the seed and the iteration counts (the same on an idle and a
busy machine) from one cut short by the clock. Independent searches run in separate processes
(``spawn``: nothing of the caller's threads or locks is inherited) and the caller keeps the best.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyvrp
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.stop import MaxIterations, MaxRuntime, NoImprovement

from gomrac.analysis.stopping import current_stop

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger(__name__)

Visits = tuple[tuple[int, tuple[tuple[bool, int], ...]], ...]
"""Routes as plain data: ``(vehicle type, ((is_client, index), ...))`` per route, without the
start and end depots; a depot visit in between is a reload at that depot."""


@dataclass(frozen=True)
class SearchSpec:
    """What one search needs: the data, the warm start and the stopping rules.

    Attributes
    ----------
    build
        Function without arguments that returns the PyVRP problem data (picklable: a
        ``functools.partial`` of a module-level function).
    initial
        Warm start as `Visits`, or ``None`` for PyVRP's own random start.
    deadline_s
        Wall-clock time (``time.time()``, seconds since the epoch, the same in every process)
        at which the search stops at the latest; starting a process and building its data
        count against it.
    max_iterations, no_improvement
        Progress rules (``None`` for none): total iterations, iterations without a better plan.
    """

    build: Callable[[], pyvrp.ProblemData]
    initial: Visits | None
    deadline_s: float
    max_iterations: int | None
    no_improvement: int | None


@dataclass(frozen=True)
class SearchOutcome:
    """Result of one search.

    Attributes
    ----------
    seed
        The search's seed.
    best
        Best solution found as `Visits` (the warm start when nothing better was found).
    feasible
        PyVRP's verdict on `best`.
    cost
        PyVRP's objective of `best` (solver units).
    iterations
        Iterations run, over both phases when a second one was needed.
    runtime_s
        Wall time of the search, seconds.
    stop_reason
        ``"no_improvement"``, ``"max_iterations"``, ``"time_limit"`` or ``"stopped"`` (the
        caller asked the solvers to stop).
    penalty_bound
        Whether PyVRP warned that its penalties saturated.
    """

    seed: int
    best: Visits
    feasible: bool
    cost: float
    iterations: int
    runtime_s: float
    stop_reason: str
    penalty_bound: bool


class _Stop:
    """Progress rules first, then the clock; remembers which rule fired.

    The search also stops, with reason ``"stopped"``, when the caller asks the solvers to
    (`gomrac.analysis.stopping.stop_when`; in this process only).
    """

    def __init__(
        self, time_limit_s: float, max_iterations: int | None, no_improvement: int | None
    ) -> None:
        self._asked = current_stop()
        self._rules: list[tuple[str, MaxIterations | NoImprovement | MaxRuntime]] = []
        if max_iterations is not None:
            self._rules.append(("max_iterations", MaxIterations(max_iterations)))
        if no_improvement is not None:
            self._rules.append(("no_improvement", NoImprovement(no_improvement)))
        self._rules.append(("time_limit", MaxRuntime(max(time_limit_s, 0.0))))
        self.reason = ""

    def __call__(self, best_cost: int) -> bool:
        fired = [name for name, rule in self._rules if rule(best_cost)]  # every rule counts
        if self._asked():
            fired.insert(0, "stopped")
        if fired:
            self.reason = fired[0]
            return True
        return False


def to_visits(solution: pyvrp.Solution) -> Visits:
    """Return the routes of `solution` as plain `Visits`."""
    return tuple(
        (
            int(r.vehicle_type()),
            tuple((bool(a.is_client()), int(a.idx)) for a in list(r.schedule())[1:-1]),
        )
        for r in solution.routes()
    )


def from_visits(data: pyvrp.ProblemData, visits: Visits) -> pyvrp.Solution:
    """Build a PyVRP solution of `data` with the routes of `visits`."""
    kinds = {True: pyvrp.ActivityType.CLIENT, False: pyvrp.ActivityType.DEPOT}
    routes = [
        pyvrp.Route(data, [pyvrp.Activity(kinds[c], i) for c, i in acts], k) for k, acts in visits
    ]
    return pyvrp.Solution(data, routes)


def run_search(spec: SearchSpec, seed: int) -> SearchOutcome:
    """Run one PyVRP iterated local search from `spec.initial` with `seed`.

    "No improvement" also ends a search that has not found a feasible solution yet (its best
    cost stays the penalised one); such a search goes on, to the iteration cap or the clock.
    """
    t0 = time.perf_counter()
    data = spec.build()
    initial = None if spec.initial is None else from_visits(data, spec.initial)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PenaltyBoundWarning)
        left = max(0.05, spec.deadline_s - time.time())
        stop = _Stop(left, spec.max_iterations, spec.no_improvement)
        result = pyvrp.solve(
            data,
            stop=stop,
            seed=seed,
            collect_stats=False,
            display=False,
            initial_solution=initial,
        )
        iterations = result.num_iterations
        left = spec.deadline_s - time.time()
        more = None if spec.max_iterations is None else spec.max_iterations - iterations
        again = stop.reason == "no_improvement" and not result.is_feasible()
        if again and left > 0.01 and (more is None or more > 0):
            stop = _Stop(left, more, None)
            result = pyvrp.solve(
                data,
                stop=stop,
                seed=seed,
                collect_stats=False,
                display=False,
                initial_solution=result.best,
            )
            iterations += result.num_iterations
    penalty = any(issubclass(w.category, PenaltyBoundWarning) for w in caught)
    for w in caught:
        if not issubclass(w.category, PenaltyBoundWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return SearchOutcome(
        seed=seed,
        best=to_visits(result.best),
        feasible=bool(result.is_feasible()),
        cost=float(result.cost()),
        iterations=int(iterations),
        runtime_s=time.perf_counter() - t0,
        stop_reason=stop.reason,
        penalty_bound=penalty,
    )


def run_searches(spec: SearchSpec, seeds: list[int], *, workers: int) -> list[SearchOutcome]:
    """One search per seed, `workers` at a time in separate processes (1: in this process).

    Returns the outcomes in the order of `seeds`. When the processes cannot run (a script
    without the ``if __name__ == "__main__":`` guard that ``spawn`` needs, or no process may be
    started), the searches run one after the other in this process: the same outcomes, later.
    """
    if workers <= 1 or len(seeds) <= 1:
        return [run_search(spec, s) for s in seeds]
    ctx = multiprocessing.get_context("spawn")
    try:
        with ProcessPoolExecutor(max_workers=min(workers, len(seeds)), mp_context=ctx) as pool:
            return list(pool.map(run_search, [spec] * len(seeds), seeds))
    except (BrokenProcessPool, OSError) as exc:
        log.warning("run_searches: parallel searches failed (%s); running them in turn", exc)
        return [run_search(spec, s) for s in seeds]
