r"""Lower bounds on the cost of a collection plan (trips, vehicles, distance).

Every complete plan of a `CollectionProblem` (every client served once, every trip closed by an
unload, every vehicle back at its garage within its shift) costs at least the bound computed
here; the proofs are short and stated with each piece.

Trips
    A trip carries at most the largest capacity of the fleet, so a plan makes at least

    .. math:: T = \max\Bigl(\Bigl\lceil \tfrac{\sum_i q_i}{Q_{\max}} \Bigr\rceil,
              \Bigl\lceil \tfrac{\sum_i v_i}{V_{\max}} \Bigr\rceil\Bigr)

    trips (kg and, when volume is a constraint, m³).

Distance: an assignment bound with trip starts and ends
    In a plan every client has one predecessor (another client, or a garage or landfill where a
    trip starts) and one successor (another client, or the landfill that ends its trip); a plan
    with :math:`T' \ge T` trips has :math:`T'` trip starts and :math:`T'` trip ends, and one
    final leg landfill → garage per vehicle. The linear assignment problem

    * rows: the :math:`n` clients, :math:`T` *mandatory* trip starts and :math:`n - T` optional
      ones; columns: the :math:`n` clients and :math:`n` trip ends;
    * client → client :math:`d_{ij}` (:math:`\infty` for :math:`i = j`), client → trip end
      :math:`\min_\ell d_{i\ell}`, start → client :math:`\min(\min_g d_{gj}, \min_\ell d_{\ell j})`,
      optional start → trip end 0 (an unused trip), mandatory start → trip end :math:`\infty`

    has every plan among its solutions (the :math:`T'` real starts use the mandatory rows and
    :math:`T' - T` optional ones, the :math:`n - T'` optional starts left pair with the
    :math:`n - T'` unused ends at cost 0), so its optimum (`scipy.optimize.linear_sum_assignment`)
    is at most the plan's distance without the final legs. Adding
    :math:`V \cdot \min_{\ell, g} d_{\ell g}` for the final legs of :math:`V` vehicles gives the
    distance bound. The same assignment on the duration matrix bounds the driving time.

Distance: a radial bound
    Let :math:`d^*` be the shortest-path distance over the problem's locations (a distance
    matrix measured along the *fastest* paths need not satisfy the triangle inequality; a path
    through other stops is never shorter than :math:`d^*`). Only :math:`d^*` from the set of
    garages and landfills and to the set of landfills is needed: two Dijkstra searches on the
    dense matrix, :math:`O(n^2)`. A trip that visits client
    :math:`i` drives at least :math:`r_i = \min_s d^*_{si} + \min_\ell d^*_{i\ell}` (from a
    garage or landfill :math:`s` to :math:`i`, then to a landfill), so at least the load-weighted
    mean of :math:`r_i` over its clients; as a trip's load is at most :math:`Q_{\max}`, the trips
    together drive at least :math:`\sum_i r_i q_i / Q_{\max}` (and the same with volumes).
    This radial bound is strong when the landfill is far, where the assignment bound (which
    lets clients form cycles of their own) is weak; the larger of the two is used.

Vehicles
    Each vehicle's day (garage to garage) lasts at most its shift :math:`S`; the days together
    hold all driving, all loading :math:`\sum_i s_i`, at least :math:`T` unloads of at least
    :math:`u` each and one final drive landfill → garage of at least :math:`t_{\ell g}` per
    vehicle, so :math:`V (S_{\max} - t_{\ell g}) \ge A_t + T u + \sum_i s_i` with :math:`A_t` the
    larger of the time assignment and radial bounds, which gives the least number of vehicles
    :math:`V`.

Cost
    :math:`c_{\min} \cdot D / 1000 + V \cdot f_{\min}` with :math:`c_{\min}` the cheapest
    per-km cost and :math:`f_{\min}` the cheapest fixed cost of the fleet, :math:`D` the
    distance bound in metres. Time windows are ignored (waiting only lengthens a day), so the
    bound holds with them too.

The assignment bound is the classical relaxation of the asymmetric TSP (Balas & Toth 1985, in
Lawler et al., *The Traveling Salesman Problem*, ch. 10), extended with the trip starts and ends
of the multi-trip VRP.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

if TYPE_CHECKING:
    from gomrac.analysis.routing import CollectionProblem

_EPS = 1e-9


@dataclass(frozen=True)
class RouteBounds:
    """Lower bounds valid for every complete plan of one problem.

    Attributes
    ----------
    min_trips
        Least number of trips (unloads) from total demand and the largest capacity.
    min_vehicles
        Least number of vehicles from the total time the work needs and the longest shift.
    distance_m
        Least total distance driven, metres.
    cost_vnd
        Least total cost (per-km cost of `distance_m` plus the fixed cost of `min_vehicles`), VND.
    """

    min_trips: int
    min_vehicles: int
    distance_m: float
    cost_vnd: float


def _assignment_bound(
    arc: npt.NDArray[np.float64],
    start_in: npt.NDArray[np.float64],
    end_out: npt.NDArray[np.float64],
    min_trips: int,
) -> float:
    """Optimum of the trip-start / trip-end assignment problem (see the module docstring)."""
    n = arc.shape[0]
    big = np.inf
    cost = np.full((2 * n, 2 * n), big)
    inner = arc.copy()
    np.fill_diagonal(inner, big)
    cost[:n, :n] = inner
    cost[:n, n:] = end_out[:, None]
    cost[n:, :n] = start_in[None, :]
    cost[n + min_trips :, n:] = 0.0
    # unreachable pairs are inf; the assignment exists because every client reaches a landfill
    finite_max = float(np.max(cost[np.isfinite(cost)], initial=0.0))
    forbid = (finite_max + 1.0) * (2 * n + 1)
    cost = np.where(np.isfinite(cost), cost, forbid)
    rows, cols = linear_sum_assignment(cost)
    total = float(cost[rows, cols].sum())
    return total if total < forbid else 0.0


def _from_set(
    m: npt.NDArray[np.float64], sources: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """Shortest-path length from the nearest of `sources` to every row of the dense matrix `m`.

    Dijkstra's algorithm with all sources at distance 0; ``inf`` marks a missing arc.
    """
    n = m.shape[0]
    dist = np.full(n, np.inf)
    dist[sources] = 0.0
    done = np.zeros(n, dtype=bool)
    for _ in range(n):
        u = int(np.argmin(np.where(done, np.inf, dist)))
        if done[u] or not np.isfinite(dist[u]):
            break
        done[u] = True
        np.minimum(dist, dist[u] + m[u], out=dist)
    return dist


def route_bounds(problem: CollectionProblem) -> RouteBounds:
    """Trip, vehicle, distance and cost lower bounds of `problem` (see the module docstring).

    Parameters
    ----------
    problem
        A validated `CollectionProblem`.

    Returns
    -------
    RouteBounds
        Bounds that no complete plan of `problem` can beat.
    """
    n = problem.n_clients
    if n == 0:
        return RouteBounds(0, 0, 0.0, 0.0)
    fleet = problem.fleet
    trips = math.ceil(float(problem.demand_kg.sum()) / max(vt.capacity_kg for vt in fleet) - _EPS)
    if problem.has_volume:
        cap_m3 = max(vt.capacity_m3 for vt in fleet)
        trips = max(trips, math.ceil(float(problem.demand_m3.sum()) / cap_m3 - _EPS))
    trips = min(max(trips, 1), n)

    cl = np.asarray(problem.clients, dtype=np.int64)
    lf = np.asarray(problem.landfills, dtype=np.int64)
    garages = np.asarray(sorted({problem.garage_of(k) for k in range(len(fleet))}), dtype=np.int64)
    starts = np.concatenate([garages, lf])

    loads = [problem.demand_kg / max(vt.capacity_kg for vt in fleet)]
    if problem.has_volume:
        loads.append(problem.demand_m3 / max(vt.capacity_m3 for vt in fleet))

    def pieces(m: npt.NDArray[np.float64]) -> tuple[float, float]:
        arc = m[np.ix_(cl, cl)]
        start_in = m[np.ix_(starts, cl)].min(axis=0)
        end_out = m[np.ix_(cl, lf)].min(axis=1)
        home = float(m[np.ix_(lf, garages)].min())
        lap = _assignment_bound(arc, start_in, end_out, trips)
        locs = np.unique(np.concatenate([starts, cl]))
        sub = m[np.ix_(locs, locs)]
        at = np.searchsorted(locs, cl)
        reach = _from_set(sub, np.searchsorted(locs, starts))[at]
        reach = reach + _from_set(sub.T, np.searchsorted(locs, lf))[at]
        reach = np.where(np.isfinite(reach), reach, 0.0)
        radial = max(float((reach * share).sum()) for share in loads)
        return max(lap, radial), home if math.isfinite(home) else 0.0

    dist_lap, dist_home = pieces(problem.distance_m)
    shift = max(vt.shift_s for vt in fleet)
    vehicles = 1
    if math.isfinite(shift):  # without a shift limit one vehicle can do everything
        time_lap, time_home = pieces(problem.duration_s)
        unload = min(vt.unload_s for vt in fleet)
        work_s = time_lap + trips * unload + float(problem.service_s.sum())
        if shift > time_home:
            vehicles = max(1, math.ceil(work_s / (shift - time_home) - _EPS))
    distance = dist_lap + vehicles * dist_home
    cost = min(vt.cost_per_km_vnd for vt in fleet) * distance / 1000.0 + vehicles * min(
        vt.fixed_cost_vnd for vt in fleet
    )
    return RouteBounds(trips, vehicles, float(distance), float(cost))
