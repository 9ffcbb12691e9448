r"""The weekly service plan: a periodic VRP with intermediate facilities, one stream at a time.

The problem
-----------
Every gathering point :math:`i` produces :math:`r_{is}` kg a day of each waste stream :math:`s`
(food, recyclable, residual). Over a horizon of :math:`H` days (a week, :math:`H = 7`) the point
is collected :math:`f_{is}` times, on one of the **evenly spaced visiting patterns** of that
frequency (`visit_patterns`):

.. math::

   P(f, H) = \{\, \{(d + \lfloor kH/f \rfloor) \bmod H : k = 0 \ldots f-1\} : d = 0 \ldots H-1 \,\}

(for :math:`f` dividing :math:`H` these are the :math:`H/f` schemes
:math:`\{d, d + H/f, \ldots\}` of the PVRP-IF literature; for :math:`f = 2, H = 7` the gaps are
3 and 4 days). Each day, the points due for stream :math:`s` are collected by that stream's own
vehicles, which unload at the stream's facility (an *intermediate facility*: the load drops to 0
there) as often as needed and must unload last before returning to the garage: the multi-trip VRP
of `gomrac.analysis.routing`, solved with PyVRP. This is the periodic VRP with intermediate
facilities (PVRP-IF) of Angelelli & Speranza (2002), "The periodic vehicle routing problem with
intermediate facilities", *European Journal of Operational Research* 137(2), 233–247.

Solution method
---------------
A two-level decomposition, the classic "assign days, then route" scheme (Christofides & Beasley
1984, "The period routing problem", *Networks* 14(2)):

1. **Patterns** (`choose_patterns`): for each stream a MIP over binaries :math:`x_{ip}`
   (point :math:`i` takes pattern :math:`p`), solved with HiGHS:

   .. math::

      \min \sum_{i,p} c_{ip} x_{ip} \quad \text{s.t.} \quad \sum_p x_{ip} = 1, \qquad
      \sum_{i,p \ni d} q_{ipd}\, x_{ip} \le \bar L \quad \forall d,

   where :math:`q_{ipd}` is the load picked up at :math:`i` on day :math:`d` under pattern
   :math:`p` and :math:`\bar L` caps the day's load. A first solve minimises the largest day load
   :math:`L^*` (balanced truck-days); the second fixes :math:`\bar L = L^*(1 + \text{slack})`
   and minimises the spatial cost :math:`c_{ip} = \sum_{d \in p} t(i, m_d)`, the travel time
   from the point to the *medoid* :math:`m_d` of the points visited on day :math:`d`. The first
   medoids come from a k-medoids clustering of the points (one cluster per pattern); then they
   are taken from the MIP's solution and the MIP is solved again (a few Lloyd rounds), so each
   day's points lie close together and routes are short.
2. **Routes** (`plan_periodic`): for each stream and day a `CollectionProblem` built with
   `CollectionProblem.from_matrices` and solved with `gomrac.analysis.routing.solve`; days whose
   problems are identical (same points, same loads, e.g. a daily stream) are solved once. Every
   day plan is checked with `check_plan`.
3. **Pattern moves**: each point is moved to the pattern whose days' routes take it in most
   cheaply (insertion and removal costs estimated on the current routes, the largest day load
   kept within 10 %), the changed days are routed again, and a stream's new plan is kept only
   if it drives less without more violations: the route-based improvement step of periodic VRP
   heuristics (Cordeau, Gendreau & Laporte 1997, "A tabu search heuristic for periodic and
   multi-depot vehicle routing problems", *Networks* 30(2), 105–119, move their visit
   combinations the same way).

Loads per visit are either **accumulated** (``rate × days since the previous visit``: a gap of 4
days brings 4 days of waste) or **fixed per visit** (the PVRP-IF benchmark's convention).

Bins (`bins_for`) are sized for the longest interval between two collections of a stream at a
point, at a stated fill factor (a lid must close).

Split-body trucks
-----------------
Streams listed together in `PeriodicProblem.co_collect` are collected by trucks with one
compartment per stream. They share one visiting pattern per point (chosen on their summed
loads; the caller gives them equal frequencies, the higher one, so their days always coincide),
each visit collects all of them at one stop, and each stream's load is a load dimension of its
own (`gomrac.analysis.routing.Compartment`). A trip ends by tipping every compartment at its own
stream's facility: when those differ, the unload is one extra location per order of the
facilities whose incoming arcs add the drive between them and the earlier unloads
(`_with_chains`), so PyVRP prices it exactly and picks the cheaper order;
`DayPlan.stops` expands it back into the facilities visited.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import highspy
import numpy as np
import numpy.typing as npt
import pandas as pd

from gomrac.analysis._highs import interrupt_when, new_highs
from gomrac.analysis.errors import InfeasibleError, ValidationError
from gomrac.analysis.routing import (
    CollectionPlan,
    CollectionProblem,
    Fleet,
    StopKind,
    VehicleRoute,
    check_plan,
    solve,
)
from gomrac.analysis.stopping import current_stop

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    import geopandas as gpd

__all__ = [
    "BALANCE_SLACK",
    "DayPlan",
    "PeriodicProblem",
    "PeriodicSolution",
    "StreamService",
    "WeekStop",
    "WeeklyPlan",
    "bins_for",
    "choose_frequency",
    "choose_patterns",
    "gaps_before",
    "longest_gap_days",
    "plan_periodic",
    "visit_patterns",
]

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

BALANCE_SLACK = 0.05
"""Share above the most balanced day load that the spatial step of `choose_patterns` may use."""

PATTERN_SHARE = 0.1
"""Share of `plan_periodic`'s progress counted as done once the visiting patterns are chosen."""

_LLOYD_ROUNDS = 3
_MOVE_SLACK = 0.10
"""Share by which a pattern move may raise the largest day load (`_improve_patterns`)."""


# --------------------------------------------------------------------------------------------
# Patterns, gaps and bins
# --------------------------------------------------------------------------------------------


def visit_patterns(frequency: int, horizon_days: int = 7) -> list[tuple[int, ...]]:
    """All evenly spaced visiting patterns of `frequency` visits over `horizon_days` days.

    Parameters
    ----------
    frequency
        Visits per horizon, 1 ≤ frequency ≤ horizon_days.
    horizon_days
        Length of the planning horizon in days (7 for a week).

    Returns
    -------
    list[tuple[int, ...]]
        Sorted tuples of day numbers (0 = first day), one per distinct pattern: the rotations
        of ``{floor(k * H / f) : k = 0 .. f-1}``. ``H/f`` patterns when `frequency` divides the
        horizon, ``H`` otherwise.

    Raises
    ------
    ValidationError
        If `frequency` is outside ``1 .. horizon_days``.

    Examples
    --------
    >>> visit_patterns(2, 4)
    [(0, 2), (1, 3)]
    >>> visit_patterns(2, 7)[:3]
    [(0, 3), (0, 4), (1, 4)]
    """
    if not 1 <= frequency <= horizon_days:
        msg = f"frequency must be between 1 and {horizon_days} visits, got {frequency}"
        raise ValidationError(msg)
    base = [k * horizon_days // frequency for k in range(frequency)]
    out = {tuple(sorted((b + d) % horizon_days for b in base)) for d in range(horizon_days)}
    return sorted(out)


def gaps_before(pattern: Sequence[int], horizon_days: int = 7) -> list[int]:
    """Days since the previous visit, for each visit of a cyclic `pattern` (sorted days).

    >>> gaps_before((0, 3), 7)
    [4, 3]
    """
    days = sorted(pattern)
    return [(d - days[k - 1]) % horizon_days or horizon_days for k, d in enumerate(days)]


def longest_gap_days(pattern: Sequence[int], horizon_days: int = 7) -> int:
    """Longest cyclic interval between two visits of `pattern`, in days."""
    return max(gaps_before(pattern, horizon_days))


def bins_for(
    waste_kg: float,
    *,
    bin_sizes_l: Sequence[float],
    bulk_density_kg_m3: float,
    fill_factor: float,
) -> dict[int, int]:
    """Bins that hold `waste_kg` of loose waste, largest size first, topped up with small bins.

    The volume needed is ``waste_kg / (density × fill_factor)``. Whole bins of the largest size
    are taken; the rest goes into bins of the smallest size when that takes no more volume than
    one more large bin (two 240 L bins, 480 L, rather than a 660 L), otherwise into one more
    large bin. A point with no waste gets no bin.

    Parameters
    ----------
    waste_kg
        Waste accumulated between two collections, kg.
    bin_sizes_l
        Bin sizes the stream may use, litres (e.g. 240 and 660).
    bulk_density_kg_m3
        Density of the waste loose in a bin, kg/m³.
    fill_factor
        Share of a bin's volume that may be filled (lids close), 0–1.

    Returns
    -------
    dict[int, int]
        Number of bins per size in litres (every size of `bin_sizes_l` is a key).

    Examples
    --------
    >>> bins_for(200.0, bin_sizes_l=[240, 660], bulk_density_kg_m3=200, fill_factor=1.0)
    {240: 2, 660: 1}
    """
    sizes = sorted({int(s) for s in bin_sizes_l})
    if not sizes or sizes[0] <= 0:
        msg = "bin_sizes_l must hold positive sizes"
        raise ValidationError(msg)
    out = dict.fromkeys(sizes, 0)
    need_l = max(0.0, float(waste_kg)) / (bulk_density_kg_m3 * fill_factor) * 1000.0
    need_l = math.floor(need_l * 1e6) / 1e6  # 660.0000001 L is one 660 L bin
    if need_l <= 0:
        return out
    big, small = sizes[-1], sizes[0]
    n_big = int(need_l // big)
    rest = need_l - n_big * big
    if rest > 0:
        n_small = math.ceil(rest / small)
        if small != big and n_small * small <= big:
            out[small] = n_small
        else:
            n_big += 1
    out[big] += n_big
    return out


@dataclass(frozen=True)
class StreamService:
    """How one waste stream is served at the gathering points (the analysis side of a stream).

    Parameters
    ----------
    code
        Stream code (``food``, ``recyclable``, ``residual``).
    frequencies_per_week
        Allowed collection frequencies (visits per horizon), ascending.
    bin_sizes_l
        Bin sizes the stream may use, litres.
    bulk_density_kg_m3
        Density of the stream loose in a bin, kg/m³.
    fill_factor
        Share of a bin's volume that may be filled, 0–1.
    max_bins
        Most bins of the largest size a point has room for, for this stream; the lowest allowed
        frequency whose waste fits is chosen (`choose_frequency`).
    """

    code: str
    frequencies_per_week: tuple[int, ...]
    bin_sizes_l: tuple[int, ...] = (240, 660)
    bulk_density_kg_m3: float = 200.0
    fill_factor: float = 0.85
    max_bins: int = 8

    def __post_init__(self) -> None:
        if not self.frequencies_per_week or min(self.frequencies_per_week) < 1:
            msg = f"stream {self.code}: frequencies_per_week must hold values >= 1"
            raise ValidationError(msg)
        if not 0 < self.fill_factor <= 1 or self.bulk_density_kg_m3 <= 0 or self.max_bins < 1:
            msg = (
                f"stream {self.code}: fill_factor must be in (0, 1], bulk_density_kg_m3 > 0, "
                "max_bins >= 1"
            )
            raise ValidationError(msg)
        object.__setattr__(
            self, "frequencies_per_week", tuple(sorted(set(self.frequencies_per_week)))
        )

    def kg_per_bin(self, bin_l: float) -> float:
        """Waste one bin of `bin_l` litres holds at the fill factor, kg."""
        return bin_l / 1000.0 * self.bulk_density_kg_m3 * self.fill_factor


def choose_frequency(
    kg_per_day: float,
    service: StreamService,
    *,
    horizon_days: int = 7,
    spread_days: float = 0.0,
    capacity_kg: float = math.inf,
) -> int:
    """Lowest allowed frequency whose longest interval's waste fits the point's bins and a truck.

    The waste of the longest interval (``longest gap + spread_days``: the spread of arrival times
    within a shift) must fit in `service.max_bins` bins of the largest size and in one truck. If
    no allowed frequency satisfies this, the highest one is returned (the point then gets more
    bins than `max_bins`, which the plan reports).
    """
    for f in service.frequencies_per_week:
        if f > horizon_days:
            continue
        gap = longest_gap_days(visit_patterns(f, horizon_days)[0], horizon_days)
        kg = kg_per_day * (gap + spread_days)
        if kg <= service.max_bins * service.kg_per_bin(max(service.bin_sizes_l)) and (
            kg_per_day * gap <= capacity_kg
        ):
            return f
    return min(max(service.frequencies_per_week), horizon_days)


# --------------------------------------------------------------------------------------------
# Pattern assignment (MIP)
# --------------------------------------------------------------------------------------------


def _visit_loads(
    rate: float, pattern: tuple[int, ...], horizon: int, mode: str
) -> dict[int, float]:
    if mode == "fixed":
        return dict.fromkeys(pattern, rate)
    return {
        d: rate * g for d, g in zip(sorted(pattern), gaps_before(pattern, horizon), strict=True)
    }


def _solve_assignment(
    options: list[list[tuple[int, ...]]],
    loads: list[list[dict[int, float]]],
    cost: list[FloatArray],
    base_load: FloatArray,
    horizon: int,
    *,
    cap: float | None,
    time_limit_s: float,
    seed: int,
    start: list[int] | None = None,
) -> tuple[list[int], float]:
    """One MIP: choose a pattern per point. Without `cap`, minimise the largest day load.

    `start` (a feasible choice, e.g. the balancing solution) is passed to HiGHS as its first
    incumbent, so a time-limited run always returns a feasible assignment.
    """
    n_x = sum(len(o) for o in options)
    minimise_max = cap is None
    n_col = n_x + (1 if minimise_max else 0)
    col_cost = np.zeros(n_col)
    rows: list[list[tuple[int, float]]] = [[] for _ in range(horizon)]
    assign_rows: list[list[int]] = []
    col = 0
    for i, opts in enumerate(options):
        these = []
        for p in range(len(opts)):
            if not minimise_max:
                col_cost[col] = cost[i][p]
            for d, q in loads[i][p].items():
                rows[d].append((col, q))
            these.append(col)
            col += 1
        assign_rows.append(these)
    if minimise_max:
        col_cost[n_x] = 1.0
        for d in range(horizon):
            rows[d].append((n_x, -1.0))
    inf = highspy.kHighsInf
    r_lo: list[float] = []
    r_hi: list[float] = []
    r_start = [0]
    r_index: list[int] = []
    r_value: list[float] = []
    for these in assign_rows:
        r_lo.append(1.0)
        r_hi.append(1.0)
        r_index.extend(these)
        r_value.extend([1.0] * len(these))
        r_start.append(len(r_index))
    for d in range(horizon):
        r_lo.append(-inf)
        r_hi.append((cap - base_load[d]) if cap is not None else -base_load[d])
        r_index.extend(c for c, _ in rows[d])
        r_value.extend(v for _, v in rows[d])
        r_start.append(len(r_index))
    lp = highspy.HighsLp()
    lp.num_col_ = n_col
    lp.num_row_ = len(r_lo)
    lp.col_cost_ = col_cost
    lp.col_lower_ = np.zeros(n_col)
    lp.col_upper_ = np.concatenate([np.ones(n_x), [inf] if minimise_max else []])
    lp.row_lower_ = np.array(r_lo)
    lp.row_upper_ = np.array(r_hi)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.array(r_start, dtype=np.int32)
    lp.a_matrix_.index_ = np.array(r_index, dtype=np.int32)
    lp.a_matrix_.value_ = np.array(r_value, dtype=np.float64)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n_x + (
        [highspy.HighsVarType.kContinuous] if minimise_max else []
    )
    h = new_highs()
    h.setOptionValue("time_limit", float(max(time_limit_s, 0.05)))
    h.setOptionValue("random_seed", int(seed))
    h.setOptionValue("mip_rel_gap", 1e-3)
    h.passModel(lp)
    if start is not None:
        x0 = np.zeros(n_col)
        day_load = base_load.astype(np.float64).copy()
        for i, (these, p) in enumerate(zip(assign_rows, start, strict=True)):
            x0[these[p]] = 1.0
            for d, q in loads[i][p].items():
                day_load[d] += q
        if minimise_max:
            x0[n_x] = float(day_load.max())
        h.setSolution(n_col, np.arange(n_col, dtype=np.int32), x0)
    interrupt_when(h, current_stop())  # `gomrac.analysis.stopping.stop_when`
    h.run()
    info = h.getInfo()
    if info.primal_solution_status != 2:  # kSolutionStatusFeasible
        log.warning(
            "choose_patterns: HiGHS ended with %s and no solution",
            h.modelStatusToString(h.getModelStatus()),
        )
        if start is not None:
            return list(start), math.nan
        msg = "the visiting-pattern model has no feasible assignment within its time limit"
        raise InfeasibleError(msg)
    x = np.asarray(h.getSolution().col_value)
    chosen = [int(np.argmax(x[these])) for these in assign_rows]
    return chosen, float(x[n_x]) if minimise_max else math.nan


def _k_medoids(sym: FloatArray, k: int, *, rounds: int = 20) -> IntArray:
    """Cluster the rows of a symmetric distance matrix into `k` groups (alternating k-medoids).

    Seeds by farthest-point sampling from the most central row, so the result is deterministic.
    Returns the cluster of each row.
    """
    n = sym.shape[0]
    k = min(k, n)
    med = [int(np.argmin(sym.sum(axis=1)))]
    while len(med) < k:
        med.append(int(np.argmax(sym[:, med].min(axis=1))))
    label = np.argmin(sym[:, med], axis=1)
    for _ in range(rounds):
        new_med = []
        for c in range(k):
            rows = np.flatnonzero(label == c)
            if not len(rows):
                new_med.append(med[c])
                continue
            new_med.append(int(rows[np.argmin(sym[np.ix_(rows, rows)].sum(axis=1))]))
        new_label = np.argmin(sym[:, new_med], axis=1)
        med = new_med
        if (new_label == label).all():
            break
        label = new_label
    out: IntArray = np.asarray(label, dtype=np.int64)
    return out


def _spatial_layout(
    free: list[int], options: list[list[tuple[int, ...]]], sym: FloatArray
) -> list[int]:
    """Choose a pattern per free point from geography alone: a cluster per pattern and frequency."""
    layout = [0] * len(free)
    by_count: dict[int, list[int]] = {}
    for k, opts in enumerate(options):
        by_count.setdefault(len(opts[0]), []).append(k)
    for ks in by_count.values():
        n_pat = len(options[ks[0]])
        idx = np.array([free[k] for k in ks])
        label = _k_medoids(sym[np.ix_(idx, idx)], n_pat)
        for k, c in zip(ks, label, strict=True):
            layout[k] = int(c) % n_pat
    return layout


def _max_load(loads: list[list[dict[int, float]]], chosen: list[int], base: FloatArray) -> float:
    day = base.astype(np.float64).copy()
    for row, p in zip(loads, chosen, strict=True):
        for d, q in row[p].items():
            day[d] += q
    return float(day.max())


def _greedy_balance(loads: list[list[dict[int, float]]], base: FloatArray) -> list[int]:
    """Largest load first, each point on the pattern that keeps the largest day load lowest."""
    day = base.astype(np.float64).copy()
    chosen = [0] * len(loads)
    order = sorted(range(len(loads)), key=lambda i: -max(max(v.values()) for v in loads[i]))
    for i in order:
        best, best_key = 0, (math.inf, math.inf)
        for p, v in enumerate(loads[i]):
            trial = day.copy()
            for d, q in v.items():
                trial[d] += q
            key = (float(trial.max()), float(trial.sum() - trial.min()))
            if key < best_key:
                best, best_key = p, key
        chosen[i] = best
        for d, q in loads[i][best].items():
            day[d] += q
    return chosen


def choose_patterns(
    rate: npt.ArrayLike,
    frequency: npt.ArrayLike,
    duration_s: npt.ArrayLike,
    *,
    horizon_days: int = 7,
    load_mode: Literal["accumulated", "fixed"] = "accumulated",
    slack: float = BALANCE_SLACK,
    time_limit_s: float = 5.0,
    seed: int = 0,
) -> list[tuple[int, ...]]:
    """Choose an evenly spaced visiting pattern per point: balanced day loads, compact days.

    See the module docstring for the formulation (two MIPs per Lloyd round, HiGHS).

    Parameters
    ----------
    rate
        Per point: kg per day (``load_mode="accumulated"``) or load per visit (``"fixed"``).
    frequency
        Per point: visits per horizon (0 = not collected).
    duration_s
        Travel-time matrix between the points (square, same order), seconds; ``inf`` allowed.
    horizon_days
        Days in the horizon.
    load_mode
        ``"accumulated"``: a visit picks up the waste since the previous one; ``"fixed"``: every
        visit picks up `rate`.
    slack
        Share above the most balanced largest day load allowed when compacting days.
    time_limit_s
        Time limit per MIP solve, seconds.
    seed
        HiGHS random seed.

    Returns
    -------
    list[tuple[int, ...]]
        The days of each point's visits (empty for frequency 0).
    """
    r = np.asarray(rate, dtype=np.float64)
    f = np.asarray(frequency, dtype=np.int64)
    t = np.asarray(duration_s, dtype=np.float64)
    n = len(r)
    if f.shape != (n,) or t.shape != (n, n):
        msg = f"choose_patterns: rate, frequency and duration_s disagree on {n} points"
        raise ValidationError(msg)
    out: list[tuple[int, ...]] = [()] * n
    base = np.zeros(horizon_days)
    free: list[int] = []
    for i in range(n):
        if f[i] <= 0:
            continue
        pats = visit_patterns(int(f[i]), horizon_days)
        if len(pats) == 1:
            out[i] = pats[0]
            for d, q in _visit_loads(float(r[i]), pats[0], horizon_days, load_mode).items():
                base[d] += q
        else:
            free.append(i)
    if not free:
        return out
    options = [visit_patterns(int(f[i]), horizon_days) for i in free]
    loads = [
        [_visit_loads(float(r[i]), p, horizon_days, load_mode) for p in opts]
        for i, opts in zip(free, options, strict=True)
    ]
    zero_cost = [np.zeros(len(o)) for o in options]
    greedy = _greedy_balance(loads, base)
    chosen, l_star = _solve_assignment(
        options,
        loads,
        zero_cost,
        base,
        horizon_days,
        cap=None,
        time_limit_s=time_limit_s,
        seed=seed,
        start=greedy,
    )
    if not math.isfinite(l_star):
        l_star = _max_load(loads, chosen, base)
    cap = l_star * (1.0 + slack) + 1e-6
    tt = np.where(np.isfinite(t), t, np.nanmax(np.where(np.isfinite(t), t, 0)) * 10 + 1)
    sym = (tt + tt.T) / 2.0
    fi = np.array(free)
    # the first medoids come from a spatial clustering (one cluster per pattern of each
    # frequency), later ones from the MIP's own assignment (Lloyd rounds)
    layout = _spatial_layout(free, options, sym)
    for _ in range(_LLOYD_ROUNDS):
        medoid = np.full(horizon_days, -1)
        for d in range(horizon_days):
            members = fi[[d in options[k][layout[k]] for k in range(len(free))]]
            if len(members):
                sub = sym[np.ix_(members, members)]
                medoid[d] = members[int(np.argmin(sub.sum(axis=1)))]
        cost = []
        for k, i in enumerate(free):
            c = np.zeros(len(options[k]))
            for p, pat in enumerate(options[k]):
                c[p] = sum(sym[i, medoid[d]] if medoid[d] >= 0 else 0.0 for d in pat)
            cost.append(c)
        new, _ = _solve_assignment(
            options,
            loads,
            cost,
            base,
            horizon_days,
            cap=cap,
            time_limit_s=time_limit_s,
            seed=seed,
            start=chosen,
        )
        if new == chosen:
            break
        chosen = new
        layout = new
    for k, i in enumerate(free):
        out[i] = options[k][chosen[k]]
    return out


# --------------------------------------------------------------------------------------------
# The periodic problem and its solution
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PeriodicProblem:
    """A PVRP-IF instance over locations given by matrices.

    Attributes
    ----------
    duration_s, distance_m
        Travel time (s) and distance (m) over all locations, row = from.
    garage
        Matrix index of the garage.
    points
        Matrix index of each gathering point / customer.
    streams
        Stream codes (columns of `rate` and `frequency`).
    rate
        ``(n_points, n_streams)``: kg per day (accumulated loads) or load per visit (fixed).
    frequency
        ``(n_points, n_streams)``: visits per horizon (0 = not collected).
    service_s
        ``(n_points, n_streams)``: loading time per visit, seconds.
    facility
        Matrix indices of each stream's unload sites (intermediate facilities; a vehicle may
        unload at any of them).
    fleet
        Vehicles of each stream (dedicated vehicles per stream), each available every day.
    horizon_days
        Days in the horizon (7 for a week).
    load_mode
        ``"accumulated"`` or ``"fixed"`` (see `choose_patterns`).
    co_collect
        Groups of streams collected together by split-body vehicles (`Compartment`): the
        group's fleet is ``fleet["+".join(group)]``, its vehicle types' compartments in the
        group's order. A group's streams share one visiting pattern per point (their
        frequencies must be equal), each visit collects all of them at one stop, and each trip
        unloads every compartment at its own stream's facility (see `plan_periodic`).
    stop_s
        The part of `service_s` spent once per stop (manoeuvre, stop and start): a co-collected
        stop takes the sum of its streams' service times less this for every stream but one.
    day_costs
        Optional ``{day: (duration_s, distance_m)}`` replacing the two matrices on that day of
        the horizon (the network of that day's shifts, with the streets closed then taken out
        and those closed only on other days kept); the days not listed use the defaults.
    """

    duration_s: FloatArray
    distance_m: FloatArray
    garage: int
    points: tuple[int, ...]
    streams: tuple[str, ...]
    rate: FloatArray
    frequency: IntArray
    service_s: FloatArray
    facility: Mapping[str, Sequence[int]]
    fleet: Mapping[str, Fleet]
    horizon_days: int = 7
    load_mode: Literal["accumulated", "fixed"] = "accumulated"
    day_costs: Mapping[int, tuple[FloatArray, FloatArray]] = field(default_factory=dict)
    co_collect: tuple[tuple[str, ...], ...] = ()
    stop_s: float = 0.0

    def collections(self) -> list[tuple[str, tuple[str, ...], list[int]]]:
        """Each collection: ``(fleet key, streams, their columns)``, in stream order.

        A co-collected group is one collection keyed ``"+".join(group)``; every other stream
        is its own.
        """
        grouped = {s for g in self.co_collect for s in g}
        out = [("+".join(g), tuple(g), [self.streams.index(s) for s in g]) for g in self.co_collect]
        out += [(s, (s,), [k]) for k, s in enumerate(self.streams) if s not in grouped]
        return sorted(out, key=lambda c: min(c[2]))

    def matrices(self, day: int) -> tuple[FloatArray, FloatArray]:
        """Return ``(duration_s, distance_m)`` of a day of the horizon."""
        dur, dist = self.day_costs.get(day, (self.duration_s, self.distance_m))
        return np.asarray(dur, dtype=np.float64), np.asarray(dist, dtype=np.float64)

    def _check_groups(self) -> None:
        seen: set[str] = set()
        freq = np.asarray(self.frequency)
        for g in self.co_collect:
            key = "+".join(g)
            if len(g) < 2 or not set(g) <= set(self.streams) or seen & set(g):
                msg = (
                    f"PeriodicProblem: co_collect group {key!r} must name two or more of the "
                    "streams, each in one group only"
                )
                raise ValidationError(msg)
            seen |= set(g)
            cols = [self.streams.index(s) for s in g]
            if (freq[:, cols] != freq[:, cols[:1]]).any():
                msg = f"PeriodicProblem: the co-collected streams {key} need equal frequencies"
                raise ValidationError(msg)
            fleet = self.fleet.get(key)
            if fleet is not None and any(vt.streams != tuple(g) for vt in fleet):
                msg = f"PeriodicProblem: every vehicle of fleet {key!r} needs compartments {g}"
                raise ValidationError(msg)

    def __post_init__(self) -> None:
        n, k = len(self.points), len(self.streams)
        for name in ("rate", "frequency", "service_s"):
            if np.asarray(getattr(self, name)).shape != (n, k):
                msg = f"PeriodicProblem: `{name}` must have shape ({n}, {k})"
                raise ValidationError(msg)
        self._check_groups()
        keys = {key for key, _, _ in self.collections()}
        missing = [s for s in self.streams if s not in self.facility] + [
            key for key in sorted(keys) if key not in self.fleet
        ]
        if missing:
            msg = f"PeriodicProblem: stream {missing[0]!r} has no facility or no fleet"
            raise ValidationError(msg)
        rate = np.asarray(self.rate, dtype=np.float64)
        if not np.isfinite(rate).all() or (rate < 0).any():
            msg = "PeriodicProblem: `rate` must be finite and non-negative"
            raise ValidationError(msg)
        if (np.asarray(self.frequency) > self.horizon_days).any():
            msg = f"PeriodicProblem: a frequency exceeds the horizon of {self.horizon_days} days"
            raise ValidationError(msg)
        shape = np.shape(self.duration_s)
        for day, pair in self.day_costs.items():
            if not 0 <= day < self.horizon_days or any(np.shape(m) != shape for m in pair):
                msg = f"PeriodicProblem: `day_costs[{day}]` must be two {shape} matrices of a day"
                raise ValidationError(msg)


Unloads = dict[int, tuple[tuple[int, tuple[str, ...]], ...]]
"""Unload site of a day problem (matrix index) -> the facilities visited there, in order, each
with the streams unloaded at it."""


@dataclass(frozen=True)
class WeekStop:
    """One stop of a vehicle's day on the real network (unload chains expanded).

    Attributes
    ----------
    location
        Matrix index in `PeriodicProblem`'s matrices.
    kind
        ``"garage"``, ``"client"`` or ``"landfill"`` (a facility where compartments unload).
    client
        Client number in the day problem (``-1`` for depots).
    arrival_s, departure_s
        Seconds after midnight of the service day.
    trip
        Trip number (0-based); the facilities of one unload close their trip.
    unloads
        The streams unloaded at this stop (facilities only).
    """

    location: int
    kind: StopKind
    client: int
    arrival_s: float
    departure_s: float
    trip: int
    unloads: tuple[str, ...] = ()


@dataclass(frozen=True)
class DayPlan:
    """The routes of one collection (a stream, or co-collected streams) on one day.

    Attributes
    ----------
    stream, day
        Collection (the fleet's key: a stream code or ``"food+residual"``) and day of the
        horizon (0-based) on which the shift starts.
    point_of_client
        For each client of `problem`, the point number (row of `PeriodicProblem.points`).
    problem, plan
        The routing problem and its PyVRP plan. For co-collected streams whose facilities
        differ, the problem's unload sites are extra matrix rows, one per order of the
        facilities (the drive between them and the earlier unloads folded into the arcs that
        reach the site, the last unload its service time); `stops` expands them.
    violations
        `check_plan` of the plan (empty when feasible).
    streams
        The streams collected (compartment order); empty means ``(stream,)``.
    unloads
        The unload sites that stand for several facilities (`Unloads`).
    chain_unload_s
        Unload time at each facility but the last of such a site, s.
    """

    stream: str
    day: int
    point_of_client: tuple[int, ...]
    problem: CollectionProblem
    plan: CollectionPlan
    violations: tuple[str, ...]
    streams: tuple[str, ...] = ()
    unloads: Mapping[int, tuple[tuple[int, tuple[str, ...]], ...]] = field(default_factory=dict)
    chain_unload_s: float = 0.0

    @property
    def carried(self) -> tuple[str, ...]:
        """Return the streams this day's vehicles collect, in compartment order."""
        return self.streams or (self.stream,)

    def stops(self, route: VehicleRoute) -> tuple[WeekStop, ...]:
        """Return the route's stops on the real network, each unload site as its facilities.

        The times at the earlier facilities of a site are recovered backwards from the arrival
        at the last one (its drive and the unloads folded into the arc).
        """
        dur = self.problem.duration_s
        out: list[WeekStop] = []
        for st in route.stops:
            if st.kind != "landfill":
                out.append(
                    WeekStop(st.location, st.kind, st.client, st.arrival_s, st.departure_s, st.trip)
                )
                continue
            chain = self.unloads.get(st.location, ((st.location, self.carried),))
            arr, dep = [st.arrival_s] * len(chain), [st.departure_s] * len(chain)
            for j in range(len(chain) - 2, -1, -1):
                dep[j] = arr[j + 1] - float(dur[chain[j][0], chain[j + 1][0]])
                arr[j] = dep[j] - self.chain_unload_s
            out.extend(
                WeekStop(f, "landfill", -1, arr[j], dep[j], st.trip, ss)
                for j, (f, ss) in enumerate(chain)
            )
        return tuple(out)

    def locations(self, route: VehicleRoute) -> tuple[int, ...]:
        """Return the matrix indices of the route's stops on the real network (`stops`)."""
        return tuple(st.location for st in self.stops(route))


def _unload_chains(
    facility: Mapping[str, Sequence[int]], group: Sequence[str], n_loc: int
) -> tuple[list[int], Unloads]:
    """Unload sites of a collection: each choice of a facility per stream, in each order.

    Sites standing for one facility are that facility's matrix index; sites standing for
    several get the indices ``n_loc, n_loc + 1, ...`` (rows `_with_chains` appends).
    """
    chains: list[tuple[tuple[int, tuple[str, ...]], ...]] = []
    for combo in itertools.product(*[[int(j) for j in facility[s]] for s in group]):
        at: dict[int, list[str]] = {}
        for s, f in zip(group, combo, strict=True):
            at.setdefault(f, []).append(s)
        for order in itertools.permutations(at):
            chain = tuple((f, tuple(at[f])) for f in order)
            if chain not in chains:
                chains.append(chain)
    sites: list[int] = []
    unloads: Unloads = {}
    extra = n_loc
    for chain in chains:
        if len(chain) == 1:
            sites.append(chain[0][0])
        else:
            sites.append(extra)
            extra += 1
        unloads[sites[-1]] = chain
    return sites, unloads


def _with_chains(
    dur: FloatArray, dist: FloatArray, unloads: Unloads, unload_s: float
) -> tuple[FloatArray, FloatArray]:
    """Matrices with a row and column per multi-facility unload site (`_unload_chains`).

    Leaving the site is leaving its last facility; reaching it is reaching its first facility,
    unloading there (`unload_s`) and driving on to each next one in order.
    """
    n = dur.shape[0]
    extra = sorted(j for j in unloads if j >= n)
    if not extra:
        return dur, dist
    m = n + len(extra)
    t, d = np.zeros((m, m)), np.zeros((m, m))
    t[:n, :n], d[:n, :n] = dur, dist
    for j in extra:
        last = unloads[j][-1][0]
        t[j, :n], d[j, :n] = dur[last], dist[last]
    for j in extra:
        fac = [f for f, _ in unloads[j]]
        legs = list(itertools.pairwise(fac))
        t[:, j] = t[:, fac[0]] + sum(dur[a, b] for a, b in legs) + unload_s * len(legs)
        d[:, j] = d[:, fac[0]] + sum(dist[a, b] for a, b in legs)
    return t, d


@dataclass(frozen=True)
class PeriodicSolution:
    """Patterns, daily routes and the visits of a `PeriodicProblem`.

    Attributes
    ----------
    patterns
        ``patterns[s][i]``: days point ``i`` is visited for stream ``s``.
    days
        One `DayPlan` per stream and day with visits.
    visits
        One row per visit and stream: ``point`` (row), ``stream``, ``day``, ``vehicle``
        (1-based, per collection and day), ``trip`` (1-based), ``arrival_s`` / ``departure_s``
        (s after midnight of the shift's day; past 86 400 is the next day), ``kg`` (of that
        stream), ``collection`` (the `DayPlan.stream`: co-collected streams share the stop).
    travel_s, distance_m
        Totals over the horizon (service and unload excluded from `travel_s`).
    violations
        All routing violations, prefixed with stream and day.
    solve_s
        Wall time, s.
    """

    patterns: Mapping[str, tuple[tuple[int, ...], ...]]
    days: tuple[DayPlan, ...]
    visits: pd.DataFrame
    travel_s: float
    distance_m: float
    violations: tuple[str, ...]
    solve_s: float


def plan_periodic(
    problem: PeriodicProblem,
    *,
    time_limit_s: float,
    seed: int = 0,
    max_iterations: int | None = None,
    pattern_time_limit_s: float | None = None,
    improve_rounds: int = 2,
    on_progress: Callable[[float], None] | None = None,
) -> PeriodicSolution:
    """Solve a PVRP-IF: choose visiting patterns, then route every stream's day.

    This is the one weekly planner: the ward service (`gomrac.api.weekly.plan_week`) and the
    benchmark (`bench.pvrpif`) both call it.

    Parameters
    ----------
    problem
        The instance.
    time_limit_s
        Wall-clock budget for the routing of all days, seconds, shared among the distinct day
        problems in proportion to their number of points.
    seed
        Seed of HiGHS and PyVRP.
    max_iterations
        Optional PyVRP iteration cap per day problem (reproducible results under load).
    pattern_time_limit_s
        Time limit per pattern MIP, seconds (default: a tenth of `time_limit_s`, at least 1 s).
    improve_rounds
        Rounds of route-based pattern moves (`_improve_patterns`): each round moves points to
        the pattern whose days' routes take them in most cheaply, routes the changed days
        again, and keeps a stream's new plan only if it drives less without more violations.
        The routing budget is shared equally among the first solve and the rounds.
    on_progress
        Called with the share of the work done (0 to 1): once the patterns are chosen, then
        after each day problem of each round. An exception it raises stops the planning there
        (how a job is cancelled between two day problems).

    Returns
    -------
    PeriodicSolution

    Raises
    ------
    InfeasibleError
        If a day's routing problem has a point no vehicle can serve (see
        `CollectionProblem.from_matrices`), with the stream and day in the message.
    """
    t0 = time.perf_counter()
    dur = np.asarray(problem.duration_s, dtype=np.float64)
    pts = np.asarray(problem.points, dtype=np.int64)
    h = problem.horizon_days
    mip_s = pattern_time_limit_s or max(1.0, time_limit_s / 10.0)
    patterns: dict[str, tuple[tuple[int, ...], ...]] = {}
    for _, group, cols in problem.collections():
        # co-collected streams share one pattern, balanced on their summed loads
        chosen = choose_patterns(
            problem.rate[:, cols].sum(axis=1),
            problem.frequency[:, cols[0]],
            dur[np.ix_(pts, pts)],
            horizon_days=h,
            load_mode=problem.load_mode,
            time_limit_s=mip_s,
            seed=seed,
        )
        patterns.update(dict.fromkeys(group, tuple(chosen)))
    budget = max(0.0, time_limit_s - (time.perf_counter() - t0))
    has_free = any(
        len(p) and len(visit_patterns(len(p), h)) > 1 for ps in patterns.values() for p in ps
    )
    rounds = improve_rounds if has_free else 0
    progress = on_progress or _no_progress
    progress(PATTERN_SHARE)

    def round_tick(r: int) -> Callable[[float], None]:
        def tick(done: float) -> None:
            progress(PATTERN_SHARE + (1.0 - PATTERN_SHARE) * (r + done) / (1 + rounds))

        return tick

    cache: dict[tuple[object, ...], tuple[CollectionProblem, CollectionPlan, tuple[str, ...]]] = {}
    days = _route_days(
        problem,
        patterns,
        budget=budget / (1 + rounds),
        seed=seed,
        max_iterations=max_iterations,
        cache=cache,
        tick=round_tick(0),
    )
    for r in range(rounds):
        moved = _improve_patterns(problem, patterns, days)
        if moved == patterns:
            break
        left = max(0.0, time_limit_s - (time.perf_counter() - t0))
        trial = _route_days(
            problem,
            moved,
            budget=left / (rounds - r),
            seed=seed,
            max_iterations=max_iterations,
            cache=cache,
            tick=round_tick(r + 1),
        )
        # keep, collection by collection, whichever plan drives less without more violations
        patterns = dict(patterns)
        kept: list[DayPlan] = []
        order = [key for key, _, _ in problem.collections()]
        for s, group, _ in problem.collections():
            old = [dp for dp in days if dp.stream == s]
            new = [dp for dp in trial if dp.stream == s]
            better = _day_distance(new, problem) < _day_distance(old, problem) - 1e-9 and sum(
                len(dp.violations) for dp in new
            ) <= sum(len(dp.violations) for dp in old)
            if better:
                patterns.update({g: moved[g] for g in group})
            kept.extend(new if better else old)
        days = sorted(kept, key=lambda dp: (order.index(dp.stream), dp.day))
    progress(1.0)
    rows: list[dict[str, object]] = []
    violations: list[str] = []
    for dp in days:
        violations.extend(f"{dp.stream} day {dp.day + 1}: {v}" for v in dp.violations)
        comp = dp.problem.compartment_kg
        for v_no, route in enumerate(dp.plan.routes):
            for stop in route.stops:
                if stop.kind != "client":
                    continue
                # one row per stream collected at the stop
                for c, stream in enumerate(dp.carried):
                    rows.append(
                        {
                            "point": dp.point_of_client[stop.client],
                            "stream": stream,
                            "day": dp.day,
                            "vehicle": v_no + 1,
                            "trip": stop.trip + 1,
                            "arrival_s": float(stop.arrival_s),
                            "departure_s": float(stop.departure_s),
                            "kg": float(
                                dp.problem.demand_kg[stop.client]
                                if comp is None
                                else comp[stop.client, c]
                            ),
                            "collection": dp.stream,
                        }
                    )
    visits = pd.DataFrame(
        rows,
        columns=[
            "point",
            "stream",
            "day",
            "vehicle",
            "trip",
            "arrival_s",
            "departure_s",
            "kg",
            "collection",
        ],
    )
    travel = distance = 0.0
    for dp in days:
        dur, dist = problem.matrices(dp.day)
        for route in dp.plan.routes:
            locs = dp.locations(route)
            travel += float(sum(dur[a, b] for a, b in itertools.pairwise(locs)))
            distance += float(sum(dist[a, b] for a, b in itertools.pairwise(locs)))
    out = PeriodicSolution(
        patterns=patterns,
        days=tuple(days),
        visits=visits,
        travel_s=travel,
        distance_m=distance,
        violations=tuple(violations),
        solve_s=time.perf_counter() - t0,
    )
    log.info(
        "plan_periodic: %d points, %d streams, %d day plans (%d distinct), %d visits, "
        "%.1f km, %d violations in %.1f s",
        len(pts),
        len(problem.streams),
        len(days),
        len(cache),
        len(visits),
        distance / 1000.0,
        len(violations),
        out.solve_s,
    )
    return out


def _no_progress(_done: float) -> None:
    """Report nothing (`plan_periodic` without `on_progress`)."""


def _day_distance(days: Sequence[DayPlan], problem: PeriodicProblem) -> float:
    total = 0.0
    for dp in days:
        dist = problem.matrices(dp.day)[1]
        for route in dp.plan.routes:
            total += float(sum(dist[a, b] for a, b in itertools.pairwise(dp.locations(route))))
    return total


def _route_days(
    problem: PeriodicProblem,
    patterns: Mapping[str, tuple[tuple[int, ...], ...]],
    *,
    budget: float,
    seed: int,
    max_iterations: int | None,
    cache: dict[tuple[object, ...], tuple[CollectionProblem, CollectionPlan, tuple[str, ...]]],
    tick: Callable[[float], None] | None = None,
) -> list[DayPlan]:
    """Route every stream's day under `patterns`; identical day problems are solved once.

    Days are identical when they have the same points, loads and service times and the same
    network (`PeriodicProblem.day_costs`). `tick` is told the share of this round's points
    routed after each new day problem.
    """
    pts = np.asarray(problem.points, dtype=np.int64)
    h = problem.horizon_days
    n_loc = np.shape(problem.duration_s)[0]
    jobs: list[tuple[str, int, list[int], FloatArray, FloatArray, tuple[object, ...]]] = []
    for s, group, cols in problem.collections():
        pat = patterns[group[0]]
        for d in range(h):
            due = [i for i, p in enumerate(pat) if d in p]
            if not due:
                continue
            # one column per compartment (a single one for a stream of its own)
            kg = np.array(
                [
                    [
                        _visit_loads(float(problem.rate[i, k]), pat[i], h, problem.load_mode)[d]
                        for k in cols
                    ]
                    for i in due
                ]
            )
            svc = np.array(
                [
                    float(problem.service_s[i, cols].sum()) - problem.stop_s * (len(cols) - 1)
                    for i in due
                ]
            )
            network = id(problem.day_costs[d][0]) if d in problem.day_costs else 0
            key: tuple[object, ...] = (
                s,
                network,
                tuple(due),
                tuple(np.round(kg, 6).ravel()),
                tuple(np.round(svc, 6)),
            )
            jobs.append((s, d, due, kg, svc, key))
    todo = {job[5]: len(job[2]) for job in jobs if job[5] not in cache}
    total_pts = max(1, sum(todo.values()))
    routed = 0
    days: list[DayPlan] = []
    for s, d, due, kg, svc, job_key in jobs:
        group = next(g for key, g, _ in problem.collections() if key == s)
        sites, unloads = _unload_chains(problem.facility, group, n_loc)
        fleet = problem.fleet[s]
        chain_unload_s = max(vt.unload_s for vt in fleet)
        if job_key not in cache:
            dur, dist = problem.matrices(d)
            dur, dist = _with_chains(dur, dist, unloads, chain_unload_s)
            split = any(vt.compartments for vt in fleet)
            try:
                cp = CollectionProblem.from_matrices(
                    dur,
                    dist,
                    garage=problem.garage,
                    landfills=sites,
                    clients=[int(pts[i]) for i in due],
                    demand_kg=kg.sum(axis=1),
                    compartment_kg=kg if split else None,
                    service_s=svc,
                    fleet=fleet,
                )
            except InfeasibleError as exc:
                msg = f"stream {s}, day {d + 1}: {exc}"
                raise InfeasibleError(msg) from exc
            share = budget * len(due) / total_pts
            plan = solve(cp, time_limit_s=max(0.2, share), seed=seed, max_iterations=max_iterations)
            cache[job_key] = (cp, plan, tuple(check_plan(cp, plan)))
            routed += len(due)
            if tick is not None:
                tick(min(1.0, routed / total_pts))
        cp, plan, issues = cache[job_key]
        days.append(
            DayPlan(
                s,
                d,
                tuple(due),
                cp,
                plan,
                issues,
                streams=group,
                unloads={j: c for j, c in unloads.items() if len(c) > 1},
                chain_unload_s=chain_unload_s,
            )
        )
    return days


def _insertion(
    day: list[list[int]], loc: int, dist: FloatArray, tips: set[int], garage: int
) -> tuple[float, int, int]:
    """Cheapest insertion of `loc` into a day's routes: (added distance, route, position).

    Never between the last unload and the garage; with no route that day, a trip of its own
    (route ``-1``).
    """
    best = (math.inf, -1, -1)
    for r_no, seq in enumerate(day):
        for j in range(len(seq) - 1):
            a, b = seq[j], seq[j + 1]
            if j + 1 == len(seq) - 1 and a in tips:
                continue
            c = float(dist[a, loc] + dist[loc, b] - dist[a, b])
            if c < best[0]:
                best = (c, r_no, j + 1)
    if best[1] < 0:
        f = min(tips, key=lambda t: dist[loc, t] + dist[t, garage])
        best = (float(dist[garage, loc] + dist[loc, f] + dist[f, garage]), -1, -1)
    return best


def _removal(day: list[list[int]], loc: int, dist: FloatArray) -> float:
    """Distance saved by taking `loc` out of a day's routes (0 when it is not in them)."""
    for seq in day:
        if loc in seq:
            j = seq.index(loc)
            a, b = seq[j - 1], seq[j + 1]
            return float(dist[a, loc] + dist[loc, b] - dist[a, b])
    return 0.0


def _improve_patterns(
    problem: PeriodicProblem,
    patterns: Mapping[str, tuple[tuple[int, ...], ...]],
    days: Sequence[DayPlan],
) -> dict[str, tuple[tuple[int, ...], ...]]:
    r"""Move points to the pattern whose days' routes take them in most cheaply.

    For a point on pattern :math:`p` and another pattern :math:`q`, the change in distance is
    estimated from the current routes: the cheapest insertion
    :math:`\min_{(a,b)} d(a,i) + d(i,b) - d(a,b)` on each day of :math:`q \setminus p` (never
    between the last unload and the garage) minus the saving :math:`d(a,i) + d(i,b) - d(a,b)` of
    removing it from its neighbours on each day of :math:`p \setminus q`. The best improving
    move is applied (routes updated) if no day's load then exceeds the largest day load before
    the moves by more than `_MOVE_SLACK` (balance is kept). Points are taken in order, once
    each; the caller routes the changed days again and keeps the result only if it is better.
    """
    pts = np.asarray(problem.points, dtype=np.int64)
    h = problem.horizon_days
    dist_of = [problem.matrices(d)[1] for d in range(h)]
    facilities = {s: {int(j) for j in problem.facility[s]} for s in problem.streams}
    out: dict[str, tuple[tuple[int, ...], ...]] = {}
    for s, group, cols in problem.collections():
        pats = list(patterns[group[0]])
        rate = np.asarray(problem.rate, dtype=np.float64)[:, cols].sum(axis=1)
        routes: dict[int, list[list[int]]] = {d: [] for d in range(h)}
        for dp in days:
            if dp.stream == s:
                routes[dp.day] = [list(dp.locations(r)) for r in dp.plan.routes]
        load = np.zeros(h)
        for i, p in enumerate(pats):
            if p:
                for d, kg in _visit_loads(float(rate[i]), p, h, problem.load_mode).items():
                    load[d] += kg
        cap = float(load.max()) * (1.0 + _MOVE_SLACK)
        tips = set().union(*(facilities[g] for g in group))

        for i, cur in enumerate(pats):
            if not cur:
                continue
            options = visit_patterns(len(cur), h)
            if len(options) < 2:
                continue
            loc = int(pts[i])
            old_loads = _visit_loads(float(rate[i]), cur, h, problem.load_mode)
            best_q, best_delta = cur, -1e-9
            for q in options:
                if q == cur:
                    continue
                new_loads = _visit_loads(float(rate[i]), q, h, problem.load_mode)
                trial = load.copy()
                for d, v in old_loads.items():
                    trial[d] -= v
                for d, v in new_loads.items():
                    trial[d] += v
                if trial.max() > cap + 1e-9:
                    continue
                delta = sum(
                    _insertion(routes[d], loc, dist_of[d], tips, problem.garage)[0]
                    for d in set(q) - set(cur)
                ) - sum(_removal(routes[d], loc, dist_of[d]) for d in set(cur) - set(q))
                if delta < best_delta:
                    best_q, best_delta = q, delta
            if best_q == cur:
                continue
            for d in set(cur) - set(best_q):
                for seq in routes[d]:
                    if loc in seq:
                        seq.remove(loc)
                        break
            for d in set(best_q) - set(cur):
                _, r_no, pos = _insertion(routes[d], loc, dist_of[d], tips, problem.garage)
                if r_no >= 0:
                    routes[d][r_no].insert(pos, loc)
                else:
                    routes[d].append([problem.garage, loc, min(tips), problem.garage])
            for d, v in old_loads.items():
                load[d] -= v
            for d, v in _visit_loads(float(rate[i]), best_q, h, problem.load_mode).items():
                load[d] += v
            pats[i] = best_q
        out.update(dict.fromkeys(group, tuple(pats)))
    return out


# --------------------------------------------------------------------------------------------
# The ward's weekly plan (the result the service returns)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeeklyPlan:
    """One week of collection per waste stream: the object every output is derived from.

    Attributes
    ----------
    visits
        One row per point × stream × visit: ``point_id, stream, service_day`` (0 = Monday, the
        day the shift starts), ``weekday`` and ``date`` (the real day of the arrival: after
        midnight it is the next day), ``vehicle, trip, arrival`` (HH:MM), ``arrival_s`` (s after
        midnight of the service day), ``kg``.
    points
        One row per point (EPSG:4326): ``point_id, name, street, households``, per stream
        ``<s>_kg_day``, ``<s>_per_week``, ``<s>_days`` (service days), ``<s>_longest_interval_h``
        (longest time between two arrivals) and ``<s>_bins_240l`` / ``<s>_bins_660l``.
    routes
        One street line per stream × service day × vehicle × trip (EPSG:4326) with ``km``.
    trips
        One row per trip: stream, service day, vehicle, trip, kg, capacity, shift, the facility
        unloaded at and its arrival time.
    facilities
        The facility of each stream (code, name, position, how it was chosen).
    totals
        Per stream: ``tonnes_per_week, bins_240l, bins_660l, collections_per_week,
        km_per_week, truck_days_per_week``.
    overall
        ``km_per_week, co2_kg_per_week`` and the counts of the plan.
    solution
        The periodic solution it comes from.
    week_start
        ISO date of the Monday of the first week.
    notes
        Staff notes (assumptions, fallbacks), in English.
    groups
        Households of each residential group at each point: ``group_id, group, point_id,
        households`` (the published schedule's rows).
    stream_names_vi
        Vietnamese name of each stream (for published outputs).
    streams_source
        The stream-definitions file the plan used.
    ward
        Name of the ward (or study area).
    vehicle_types
        One row per collection × vehicle type: ``collection, vehicle_type, count, capacity_kg``,
        ``<s>_compartment_kg`` for split-body trucks, and its garage (``garage_lon,
        garage_lat`` on the network; ``garage_given_lon, garage_given_lat`` as given).
    """

    visits: pd.DataFrame
    points: gpd.GeoDataFrame
    routes: gpd.GeoDataFrame
    trips: pd.DataFrame
    facilities: pd.DataFrame
    totals: Mapping[str, Mapping[str, float]]
    overall: Mapping[str, float]
    solution: PeriodicSolution
    week_start: str
    notes: tuple[str, ...] = field(default_factory=tuple)
    groups: pd.DataFrame = field(default_factory=pd.DataFrame)
    stream_names_vi: Mapping[str, str] = field(default_factory=dict)
    streams_source: str = ""
    ward: str = ""
    vehicle_types: pd.DataFrame = field(default_factory=pd.DataFrame)
