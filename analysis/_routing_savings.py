r"""Clarke–Wright savings for multi-trip collection with reloads and a shift limit.

Two phases.

1. **Trips by savings.** Every client starts as its own trip, landfill → client → landfill (the
   first trip of a day leaves the garage instead). Joining the trip that ends with client
   :math:`i` to the trip that starts with client :math:`j` saves

   .. math:: s_{ij} = \min_\ell d_{i\ell} + \min_\ell d_{\ell j} - d_{ij},

   the asymmetric savings of Clarke & Wright (1964) with the landfills as the hub. Pairs are
   taken in decreasing saving; a join is kept when the joined trip fits the largest body of the
   fleet (kg and m³) and can still be driven alone in one vehicle's shift, time windows included.
2. **Trips into vehicles.** Trips are packed, longest first, into vehicles (best fit: the
   vehicle whose day ends latest and still fits the shift and the windows), opening the next
   vehicle of the fleet when none fits; a vehicle unloads after each trip and drives home from
   its last unload.

Clients left when the fleet runs out are returned unserved, as the nearest-neighbour baseline
does. Only matrices and the problem's arrays are used; `analysis.routing` turns the result into a
costed plan.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from gomrac.analysis.routing import CollectionProblem

_TOL_S = 1e-6


def _landfill_after(problem: CollectionProblem, c: int) -> int:
    """Landfill nearest to matrix index `c` (distance, then time)."""
    return min(
        problem.landfills, key=lambda lf: (problem.distance_m[c, lf], problem.duration_s[c, lf])
    )


def _day_end_s(problem: CollectionProblem, k: int, trips: list[list[int]]) -> float:
    """Time a vehicle of type `k` is back at its garage after `trips`, or ``inf`` if it cannot.

    Leaves the garage at the shift start; waits for a window to open; each trip ends with an
    unload at the landfill nearest its last client, the day with the unload nearest the garage
    way home (`CollectionProblem._home_leg`).
    """
    vt = problem.fleet[k]
    dur = problem.duration_s
    pos = problem.garage_of(k)
    now = vt.shift_start_s
    kg_cap, m3_cap = vt.capacity_kg + 1e-9, vt.capacity_m3 + 1e-9
    comp_cap = problem.compartment_capacity_kg(k) + 1e-9
    for t_no, trip in enumerate(trips):
        if problem.demand_kg[trip].sum() > kg_cap or (
            problem.has_volume and problem.demand_m3[trip].sum() > m3_cap
        ):
            return math.inf
        if (
            problem.compartment_kg is not None
            and (problem.compartment_kg[trip].sum(axis=0) > comp_cap).any()
        ):
            return math.inf
        for i in trip:
            c = problem.clients[i]
            now = max(now + dur[pos, c], problem.tw_early_s[i])
            if now > problem.tw_late_s[i] + _TOL_S:
                return math.inf
            now += problem.service_s[i]
            pos = c
        if t_no < len(trips) - 1:
            lf = _landfill_after(problem, pos)
            now += dur[pos, lf] + vt.unload_s
            pos = lf
    _, _, home_t = problem._home_leg(k, pos)
    end = now + home_t
    return end if end <= vt.shift_end_s + _TOL_S else math.inf


def savings_routes(problem: CollectionProblem) -> list[tuple[int, list[list[int]]]]:
    """Vehicles and their trips (client numbers in order) built by savings; see the module.

    Parameters
    ----------
    problem
        A validated `CollectionProblem`.

    Returns
    -------
    list
        ``(vehicle type, trips)`` per vehicle used, in fleet order.
    """
    n = problem.n_clients
    if n == 0:
        return []
    fleet = problem.fleet
    cl = np.asarray(problem.clients, dtype=np.int64)
    lf = np.asarray(problem.landfills, dtype=np.int64)
    dist = problem.distance_m
    out_m = dist[np.ix_(cl, lf)].min(axis=1)
    in_m = dist[np.ix_(lf, cl)].min(axis=0)
    arc = dist[np.ix_(cl, cl)]
    saving = out_m[:, None] + in_m[None, :] - arc
    np.fill_diagonal(saving, -np.inf)
    saving[~np.isfinite(arc)] = -np.inf
    flat = np.flatnonzero(saving > 0)
    # decreasing saving, ties by (i, j) so the plan does not depend on the sort's stability
    order = flat[np.lexsort((flat, -saving.ravel()[flat]))]

    kg_cap = max(vt.capacity_kg for vt in fleet) + 1e-9
    m3_cap = max(vt.capacity_m3 for vt in fleet) + 1e-9
    trips: dict[int, list[int]] = {i: [i] for i in range(n)}  # trip id = its first client
    trip_of = list(range(n))
    kg = {i: float(problem.demand_kg[i]) for i in range(n)}
    m3 = {i: float(problem.demand_m3[i]) for i in range(n)}
    types = range(len(fleet))
    for flat_ij in order.tolist():
        i, j = divmod(flat_ij, n)
        a, b = trip_of[i], trip_of[j]
        if a == b or trips[a][-1] != i or b != j:
            continue  # i must end its trip and j start another
        if kg[a] + kg[b] > kg_cap or (problem.has_volume and m3[a] + m3[b] > m3_cap):
            continue
        joined = trips[a] + trips[b]
        if all(math.isinf(_day_end_s(problem, k, [joined])) for k in types):
            continue
        trips[a] = joined
        kg[a] += kg.pop(b)
        m3[a] += m3.pop(b)
        del trips[b]
        for c in joined:
            trip_of[c] = a

    def trip_time(t: list[int]) -> float:
        return float(problem.service_s[t].sum() + arc[t[:-1], t[1:]].sum())

    pending = sorted(trips.values(), key=lambda t: (-trip_time(t), t[0]))
    # a new vehicle is the cheapest type still available (fixed cost, then cost per km)
    by_cost = sorted(
        range(len(fleet)), key=lambda k: (fleet[k].fixed_cost_vnd, fleet[k].cost_per_km_vnd)
    )
    pool = [k for k in by_cost for _ in range(fleet[k].count)]
    vehicles: list[tuple[int, list[list[int]]]] = []
    for trip in pending:
        best: tuple[float, int] | None = None
        for v, (k, done) in enumerate(vehicles):
            end = _day_end_s(problem, k, [*done, trip])
            if math.isfinite(end) and (best is None or end > best[0]):
                best = (end, v)
        if best is not None:
            vehicles[best[1]][1].append(trip)
            continue
        for p, k in enumerate(pool):
            if math.isfinite(_day_end_s(problem, k, [trip])):
                vehicles.append((k, [trip]))
                del pool[p]
                break
    vehicles.sort(key=lambda kv: kv[0])
    return vehicles
