r"""Facility-location models for gathering points and cameras: LSCP, MCLP and p-median.

Every model works on a **cost matrix** ``cost_m[i, j]``: the network walking distance in metres
from demand unit ``i`` (a building, a residential group) to candidate site ``j`` (a gathering
point or camera position), ``np.inf`` where the site cannot be reached. Demand carries a weight
``households[i]`` and, when capacities matter, a waste load ``demand_kg[i]`` against a per-site
``capacity_kg[j]``. Sites listed in ``fixed`` already exist: they are always open, they are not
counted in ``p`` and they do not count in the "new sites" objective of the set-cover model.

=================  ===========================================  ==================================
class              question                                     reference
=================  ===========================================  ==================================
`SetCover`         fewest new sites so every household is       Toregas et al. (1971)
                   within the walking radius
`MaximalCoverage`  most households within the radius with       Church & ReVelle (1974)
                   ``p`` new sites
`PMedian`          least household-weighted walking distance    Hakimi (1964); ReVelle & Swain
                   with ``p`` new sites                         (1970)
=================  ===========================================  ==================================

Each class is built with ``from_cost_matrix(...)`` (`MaximalCoverage` also with
``from_coverage(...)``, a boolean coverage matrix, for camera siting) and solved with ``solve()``,
which returns a frozen `SitingResult`. Models are solved exactly with HiGHS (``highspy``, through
the one wrapper in ``_highs``); when the exact model is too large or HiGHS stops at the time
limit, a heuristic (greedy + vertex substitution, with a Lagrangian lower bound for the
p-median) supplies or improves the solution, and the result states the proven `bound` and `gap`
honestly. The
capacitated LSCP is solved by capacity cuts on the uncapacitated cover (``_capacity_cuts``), the
small-``p`` p-median by a Lagrangian branch and bound on sites (``_pmedian``).

`coverage_curve` solves the MCLP for several ``p`` so planners can trade points against coverage.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal, NamedTuple, Self, TypeVar

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from gomrac.analysis._capacity_cuts import CapacityCutLoop
from gomrac.analysis._highs import Mip, MipStatus
from gomrac.analysis._pmedian import Median, branch_and_bound, pm_heuristic
from gomrac.analysis.errors import GomracError, InfeasibleError, ValidationError
from gomrac.analysis.stopping import stop_requested

__all__ = [
    "CoverageCurveRow",
    "InfeasibleDemand",
    "MaximalCoverage",
    "PMedian",
    "SetCover",
    "SitingResult",
    "coverage_curve",
]

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
_ScalarT = TypeVar("_ScalarT", bound=np.generic)
Method = Literal["auto", "mip", "heuristic"]
Status = Literal["optimal", "time_limit", "heuristic"]

_METHODS = ("auto", "mip", "heuristic")
Formulation = Literal["cuts", "assignment"]
_FORMULATIONS = ("cuts", "assignment")
#: Largest MIP (constraint-matrix non-zeros) that ``method="auto"`` hands to HiGHS.
DEFAULT_MAX_MIP_NONZEROS = 20_000_000
#: p-median radius models with at most this many client-site pairs are built untruncated.
_FULL_RADIUS_NNZ = 1_000_000
#: capacitated models with more assignment pairs use aggregated linking rows (see _add_linking).
_STRONG_LINKING_MAX_PAIRS = 20_000
#: uncapacitated p-medians with at most this many new sites are proven by `branch_and_bound`.
_TREE_MAX_P = 10
#: p-median radius models with more rows get an LP probe before the MIP (see _radius_mip).
_LP_PROBE_ROWS = 50_000


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------


class InfeasibleDemand(NamedTuple):
    """A demand unit that no permitted site can serve, with the reason.

    ``pandas.DataFrame(result.infeasible)`` gives a table with these columns.
    """

    demand: int
    """Row index of the demand unit in the cost matrix."""
    reason: str
    """Why it cannot be served, e.g. ``"no permitted site within 300 m (nearest 412 m)"``."""
    nearest_m: float
    """Network distance to the nearest candidate site (metres); ``inf`` when none is reachable."""


class CoverageCurveRow(NamedTuple):
    """One point of `coverage_curve`: what ``p`` new sites buy."""

    p: int
    """Number of new sites."""
    covered_share: float
    """Share of all households within the radius of an open site, 0..1."""
    objective: float
    """Households covered."""
    gap: float
    """Relative optimality gap of that solve (0 when proven optimal)."""
    solve_s: float
    """Wall time of that solve (seconds)."""


def _frozen(a: npt.ArrayLike, dtype: type[_ScalarT]) -> npt.NDArray[_ScalarT]:
    arr = np.array(a, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class SitingResult:
    """Solution of a siting model (immutable; arrays are read-only).

    Attributes
    ----------
    model
        ``"set_cover"``, ``"maximal_coverage"`` or ``"p_median"``.
    open_sites
        Sorted candidate indices that are open in the solution, existing (``fixed``) sites
        included.
    new_sites
        ``open_sites`` minus the fixed sites.
    assignment
        For each demand unit, the candidate index that serves it, or -1 if unassigned
        (not covered, or listed in `infeasible`).
    distance_m
        Network distance from each demand unit to its assigned site (metres); NaN if unassigned.
    objective
        Value of the model's objective: new sites opened (`SetCover`), households covered
        (`MaximalCoverage`) or household-weighted distance in household·metres (`PMedian`).
    bound
        Proven bound on the optimal objective: a lower bound for minimisation (`SetCover`,
        `PMedian`), an upper bound for maximisation (`MaximalCoverage`).
    gap
        ``|objective - bound| / |objective|``; 0.0 when the solution is proven optimal.
    status
        ``"optimal"`` (proven within the requested ``mip_rel_gap``), ``"time_limit"`` (HiGHS
        stopped at the time limit with a feasible solution) or ``"heuristic"`` (solution from
        the heuristic; `bound` and `gap` say how far from optimal it can be).
    solve_s
        Wall time of ``solve()`` (seconds).
    covered_weight
        Households assigned to an open site (within the radius for the cover models).
    covered_share
        ``covered_weight`` over all households, 0..1.
    infeasible
        Demand units no permitted site can serve, with the reason (see `InfeasibleDemand`).
    site_load_kg
        Waste assigned to each site of `open_sites` (kg), NaN when ``demand_kg`` was not given.
    site_households
        Households assigned to each site of `open_sites`.
    """

    model: str
    open_sites: IntArray
    new_sites: IntArray
    assignment: IntArray
    distance_m: FloatArray
    objective: float
    bound: float
    gap: float
    status: Status
    solve_s: float
    covered_weight: float
    covered_share: float
    infeasible: tuple[InfeasibleDemand, ...] = field(default_factory=tuple)
    site_load_kg: FloatArray = field(default_factory=lambda: np.zeros(0))
    site_households: FloatArray = field(default_factory=lambda: np.zeros(0))

    @property
    def infeasible_demands(self) -> IntArray:
        """Indices of the demand units listed in `infeasible`."""
        return np.array([r.demand for r in self.infeasible], dtype=np.int64)


# --------------------------------------------------------------------------------------------
# Input validation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Data:
    """Validated model inputs shared by the three models."""

    cost_m: FloatArray
    households: FloatArray
    demand_kg: FloatArray | None
    capacity_kg: FloatArray | None
    fixed: IntArray

    @property
    def n(self) -> int:
        return int(self.cost_m.shape[0])

    @property
    def m(self) -> int:
        return int(self.cost_m.shape[1])

    @property
    def fixed_mask(self) -> BoolArray:
        mask = np.zeros(self.m, dtype=bool)
        mask[self.fixed] = True
        return mask


def _as_float_vector(values: npt.ArrayLike, name: str, size: int, *, allow_inf: bool) -> FloatArray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"`{name}` must be numeric; {exc}."
        raise ValidationError(msg) from exc
    if arr.ndim != 1 or arr.shape[0] != size:
        msg = f"`{name}` must be a 1-D array of length {size}, got shape {arr.shape}."
        raise ValidationError(msg)
    if np.isnan(arr).any():
        bad = np.flatnonzero(np.isnan(arr))[:5].tolist()
        msg = f"`{name}` contains NaN (first at positions {bad})."
        raise ValidationError(msg)
    if (arr < 0).any():
        bad = np.flatnonzero(arr < 0)[:5].tolist()
        msg = f"`{name}` must not be negative (first negative at positions {bad})."
        raise ValidationError(msg)
    if not allow_inf and np.isinf(arr).any():
        bad = np.flatnonzero(np.isinf(arr))[:5].tolist()
        msg = f"`{name}` must be finite (infinite at positions {bad})."
        raise ValidationError(msg)
    return arr


def _validate(
    cost_m: npt.ArrayLike,
    households: npt.ArrayLike,
    demand_kg: npt.ArrayLike | None,
    capacity_kg: npt.ArrayLike | None,
    fixed: Iterable[int] | npt.ArrayLike | None,
) -> _Data:
    try:
        cost = np.array(cost_m, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        msg = f"`cost_m` must be a numeric matrix; {exc}."
        raise ValidationError(msg) from exc
    if cost.ndim != 2 or cost.shape[0] == 0 or cost.shape[1] == 0:
        msg = (
            "`cost_m` must be a 2-D matrix (demand units x candidate sites) with at least one "
            f"row and one column, got shape {cost.shape}."
        )
        raise ValidationError(msg)
    if np.isnan(cost).any():
        i, j = np.argwhere(np.isnan(cost))[0]
        msg = f"`cost_m` contains NaN (first at demand {i}, site {j}); use np.inf for unreachable."
        raise ValidationError(msg)
    if (cost < 0).any():
        i, j = np.argwhere(cost < 0)[0]
        msg = f"`cost_m` must hold distances >= 0 m; got {cost[i, j]} at demand {i}, site {j}."
        raise ValidationError(msg)
    n, m = cost.shape
    w = _as_float_vector(households, "households", n, allow_inf=False)
    d = None if demand_kg is None else _as_float_vector(demand_kg, "demand_kg", n, allow_inf=False)
    c = None
    if capacity_kg is not None:
        c = _as_float_vector(capacity_kg, "capacity_kg", m, allow_inf=True)
        if d is None:
            msg = "`capacity_kg` needs `demand_kg` (waste per demand unit, kg) to compare against."
            raise ValidationError(msg)
    if fixed is None:
        fx = np.zeros(0, dtype=np.int64)
    else:
        if isinstance(fixed, np.ndarray):
            raw = np.asarray(fixed)
        elif isinstance(fixed, Iterable):
            raw = np.asarray(list(fixed))
        else:
            msg = f"`fixed` must be a collection of candidate indices, got {fixed!r}."
            raise TypeError(msg)
        if raw.size == 0:
            fx = np.zeros(0, dtype=np.int64)
        else:
            if raw.dtype == bool or not np.issubdtype(raw.dtype, np.integer):
                msg = f"`fixed` must hold integer candidate indices, got dtype {raw.dtype}."
                raise ValidationError(msg)
            fx = np.unique(raw.astype(np.int64).ravel())
            if fx[0] < 0 or fx[-1] >= m:
                bad = fx[(fx < 0) | (fx >= m)].tolist()
                msg = f"`fixed` indices {bad} are out of range for {m} candidate sites."
                raise ValidationError(msg)
    cost.setflags(write=False)
    return _Data(cost_m=cost, households=w, demand_kg=d, capacity_kg=c, fixed=fx)


def _check_radius(service_radius_m: float) -> float:
    r = float(service_radius_m)
    if not math.isfinite(r) or r < 0:
        msg = f"`service_radius_m` must be a finite distance >= 0 m, got {service_radius_m}."
        raise ValidationError(msg)
    return r


def _check_p(p: int, data: _Data) -> int:
    if isinstance(p, bool) or not isinstance(p, int | np.integer):
        msg = f"`p` must be an integer number of new sites, got {p!r}."
        raise ValidationError(msg)
    free = data.m - data.fixed.size
    if p < 0 or p > free:
        msg = (
            f"`p` must be between 0 and the {free} candidate sites that are not fixed "
            f"({data.m} candidates, {data.fixed.size} fixed); got {p}."
        )
        raise ValidationError(msg)
    return int(p)


def _check_solve_args(time_limit_s: float, mip_rel_gap: float, method: str) -> None:
    if not (time_limit_s > 0):
        msg = f"`time_limit_s` must be > 0 s, got {time_limit_s}."
        raise ValidationError(msg)
    if not (mip_rel_gap >= 0):
        msg = f"`mip_rel_gap` must be >= 0, got {mip_rel_gap}."
        raise ValidationError(msg)
    if method not in _METHODS:
        msg = f"`method` must be one of {_METHODS}, got {method!r}."
        raise ValidationError(msg)


def _reach_report(
    data: _Data, radius_m: float | None, *, unreached: str = "unreachable on the network"
) -> tuple[BoolArray, list[InfeasibleDemand]]:
    """Demand units that some site can serve, and the others with reasons."""
    finite = np.isfinite(data.cost_m)
    reach = finite if radius_m is None else finite & (data.cost_m <= radius_m)
    ok = reach.any(axis=1)
    assert isinstance(ok, np.ndarray)  # `cost_m` is 2-D, so one flag per demand unit
    rows: list[InfeasibleDemand] = []
    if not ok.all():
        nearest = np.where(finite, data.cost_m, np.inf).min(axis=1)
        for i in np.flatnonzero(~ok):
            near = float(nearest[i])
            if not math.isfinite(near):
                reason = unreached
            else:
                reason = f"no permitted site within {radius_m:g} m (nearest {near:.0f} m)"
            rows.append(InfeasibleDemand(int(i), reason, near))
    return ok, rows


# --------------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------------


def _rel_gap(objective: float, bound: float) -> float:
    diff = abs(objective - bound)
    if diff <= 1e-9 * max(1.0, abs(objective)):
        return 0.0
    if objective == 0:
        return math.inf
    return diff / abs(objective)


def _nearest_open(
    cost: FloatArray, open_sites: IntArray, radius_m: float | None
) -> tuple[IntArray, FloatArray]:
    """Assign each demand to its nearest open site (within the radius, if given)."""
    n = cost.shape[0]
    assign = np.full(n, -1, dtype=np.int64)
    dist = np.full(n, np.nan)
    if open_sites.size == 0:
        return assign, dist
    sub = cost[:, open_sites]
    k = sub.argmin(axis=1)
    best = sub[np.arange(n), k]
    ok = np.isfinite(best) if radius_m is None else np.isfinite(best) & (best <= radius_m)
    assign[ok] = open_sites[k[ok]]
    dist[ok] = best[ok]
    return assign, dist


def _result(
    *,
    model: str,
    data: _Data,
    open_sites: IntArray,
    assignment: IntArray,
    objective: float,
    bound: float,
    status: Status,
    t0: float,
    infeasible: list[InfeasibleDemand],
) -> SitingResult:
    open_sites = np.unique(np.concatenate([open_sites.astype(np.int64), data.fixed]))
    new_sites = np.setdiff1d(open_sites, data.fixed)
    assigned = assignment >= 0
    dist = np.full(data.n, np.nan)
    dist[assigned] = data.cost_m[np.flatnonzero(assigned), assignment[assigned]]
    pos = np.searchsorted(open_sites, assignment[assigned])
    site_hh = np.bincount(pos, weights=data.households[assigned], minlength=open_sites.size)
    if data.demand_kg is None:
        site_kg = np.full(open_sites.size, np.nan)
    else:
        site_kg = np.bincount(pos, weights=data.demand_kg[assigned], minlength=open_sites.size)
    covered = float(data.households[assigned].sum())
    total = float(data.households.sum())
    gap = _rel_gap(objective, bound)
    return SitingResult(
        model=model,
        open_sites=_frozen(open_sites, np.int64),
        new_sites=_frozen(new_sites, np.int64),
        assignment=_frozen(assignment, np.int64),
        distance_m=_frozen(dist, np.float64),
        objective=float(objective),
        bound=float(bound),
        gap=gap,
        status=status,
        solve_s=time.perf_counter() - t0,
        covered_weight=covered,
        covered_share=covered / total if total > 0 else (1.0 if assigned.all() else 0.0),
        infeasible=tuple(infeasible),
        site_load_kg=_frozen(site_kg, np.float64),
        site_households=_frozen(site_hh, np.float64),
    )


def _drop_unused_new(open_sites: IntArray, assignment: IntArray, fixed: IntArray) -> IntArray:
    """Open sites minus new sites that serve nobody (they add nothing to a cover model)."""
    used = np.unique(assignment[assignment >= 0])
    keep = np.isin(open_sites, used) | np.isin(open_sites, fixed)
    return open_sites[keep]


def _add_linking(
    mip: Mip,
    pi: IntArray,
    pj: IntArray,
    x: IntArray,
    y_cols: IntArray,
    *,
    q: FloatArray,
    cap: FloatArray,
    fixed_mask: BoolArray,
) -> None:
    """Rows that keep assignments off closed sites.

    Small models get the strong form ``x_ij <= y_j`` for every pair. Large ones rely on the
    capacity rows ``sum_i q_i x_ij <= Q_j y_j`` (which already close a site to positive waste)
    and add ``x_ij <= y_j`` only for zero-waste units, plus ``sum_i x_ij <= |N_j| y_j`` for
    sites without a finite capacity: a much smaller LP for HiGHS at city scale.
    """
    new_site = ~fixed_mask[pj]
    mip.large = pi.size > _STRONG_LINKING_MAX_PAIRS
    if pi.size <= _STRONG_LINKING_MAX_PAIRS:
        link = new_site
    else:
        link = new_site & (q[pi] <= 0) & np.isfinite(cap[pj])
    k = int(link.sum())
    if k:
        loc = np.arange(k)
        mip.add_rows(
            -np.inf,
            0.0,
            np.concatenate([loc, loc]),
            np.concatenate([x[link], y_cols[pj[link]]]),
            np.concatenate([np.ones(k), -np.ones(k)]),
            count=k,
        )
    if pi.size > _STRONG_LINKING_MAX_PAIRS:
        agg = new_site & ~np.isfinite(cap[pj])
        sites, local = np.unique(pj[agg], return_inverse=True)
        if sites.size:
            counts = np.bincount(local, minlength=sites.size).astype(np.float64)
            mip.add_rows(
                -np.inf,
                0.0,
                np.concatenate([local, np.arange(sites.size)]),
                np.concatenate([x[agg], y_cols[sites]]),
                np.concatenate([np.ones(int(agg.sum())), -counts]),
                count=sites.size,
            )


def _infeasible_capacity_message(
    what: str, demand_total: float, capacity_total: float, detail: str = ""
) -> str:
    msg = (
        f"{what}: total waste {demand_total:,.0f} kg to place vs. total capacity "
        f"{capacity_total:,.0f} kg reachable"
    )
    return msg + (f"; {detail}" if detail else "") + "."


def _add_single_sourcing(
    mip: Mip,
    pi: IntArray,
    pj: IntArray,
    y_cols: IntArray,
    *,
    x_cost: FloatArray,
    rows: IntArray,
    n_rows: int,
    exactly_one: bool,
    q: FloatArray,
    cap: FloatArray,
    fixed_mask: BoolArray,
) -> IntArray:
    """Add the single-sourcing block of the capacitated models; return its ``x`` columns.

    One binary ``x`` per pair ``(pi[k], pj[k])`` costing ``x_cost[k]``, in row ``rows[k]`` of
    ``sum_j x_ij = 1`` (``<= 1`` unless `exactly_one`), the linking rows of `_add_linking`, and
    per capacitated site ``sum_i q_i x_ij - Q_j y_j <= 0`` (``<= Q_j`` for an existing site
    without a ``y`` column, ``y_cols[j] == -1``). `q` is indexed like `pi`.
    """
    x = mip.add_cols(x_cost, 0.0, 1.0, integer=True)
    mip.add_rows(1.0 if exactly_one else -np.inf, 1.0, rows, x, 1.0, count=n_rows)
    _add_linking(mip, pi, pj, x, y_cols, q=q, cap=cap, fixed_mask=fixed_mask)
    used = np.unique(pj)
    capped = used[np.isfinite(cap[used])]
    if capped.size:
        site_row = np.full(cap.size, -1, dtype=np.int64)
        site_row[capped] = np.arange(capped.size)
        sel = site_row[pj] >= 0
        has_y = y_cols[capped] >= 0
        with_y = capped[has_y]
        mip.add_rows(
            -np.inf,
            np.where(has_y, 0.0, cap[capped]),
            np.concatenate([site_row[pj[sel]], site_row[with_y]]),
            np.concatenate([x[sel], y_cols[with_y]]),
            np.concatenate([q[pi[sel]], -cap[with_y]]),
            count=capped.size,
        )
    return x


#: ``(pi, pj, x)``: demand unit, site and column of each assignment variable
_Pairs = tuple[IntArray, IntArray, IntArray]


class _LocationModel:
    """Shared core of `SetCover`, `MaximalCoverage` and `PMedian`.

    Holds the validated inputs and does what the three models share: which demand units a
    radius lets in, decoding a HiGHS solution into open sites and assignments, a start vector
    from a heuristic plan, the LP-relaxation bound, and the frozen `SitingResult` with its log
    line. Each model adds its formulation (class docstring), its heuristics and its ``solve``;
    every HiGHS call goes through the one wrapper, `gomrac.analysis._highs.Mip`.

    The inputs every model's ``from_cost_matrix`` takes:

    ``cost_m``
        ``(n_demand, n_candidates)`` network walking distances (metres), ``np.inf`` where a
        site cannot be reached.
    ``households``
        Households per demand unit (the weights, >= 0).
    ``demand_kg``
        Waste per demand unit (kg, e.g. per day); needed with ``capacity_kg``.
    ``capacity_kg``
        Capacity of each candidate site (kg, same period), ``np.inf`` for unlimited; None for
        an uncapacitated model.
    ``fixed``
        Indices of candidate sites that already exist: always open, not counted.

    Wrong shapes, NaN, negative values or out-of-range ``fixed`` indices raise
    `ValidationError`, naming the input and the first bad position.
    """

    model_name = ""
    #: why a demand unit that no site reaches cannot be served
    _unreached = "unreachable on the network"

    def __init__(self, data: _Data) -> None:
        self._data = data

    def _summary(self, res: SitingResult) -> str:
        """One log line about a result (without the class name)."""
        return f"objective {res.objective:g} (bound {res.bound:g}, {res.status})"

    def _reach(self, radius_m: float) -> tuple[BoolArray, list[InfeasibleDemand], BoolArray]:
        """Coverable units, the others with their reasons, and the pairs within `radius_m`."""
        d = self._data
        ok, infeasible = _reach_report(d, radius_m, unreached=self._unreached)
        within = np.isfinite(d.cost_m) & (d.cost_m <= radius_m) & ok[:, None]
        return ok, infeasible, within

    def _decode(
        self, xv: FloatArray, y_cols: IntArray, pairs: _Pairs | None, radius_m: float
    ) -> tuple[IntArray, IntArray]:
        """Open sites and assignment of a solution (nearest open site when there is no ``x``)."""
        d = self._data
        has = y_cols >= 0
        open_new = np.flatnonzero(has)[xv[y_cols[has]] > 0.5]
        open_sites = np.union1d(open_new, d.fixed).astype(np.int64)
        if pairs is None:
            assign, _ = _nearest_open(d.cost_m, open_sites, radius_m)
        else:
            pi, pj, x = pairs
            assign = np.full(d.n, -1, dtype=np.int64)
            chosen = xv[x] > 0.5
            assign[pi[chosen]] = pj[chosen]
        return _drop_unused_new(open_sites, assign, d.fixed), assign

    @staticmethod
    def _start(
        ncol: int,
        y_cols: IntArray,
        pairs: _Pairs | None,
        open_sites: IntArray,
        assign: IntArray,
    ) -> FloatArray:
        """Start vector of a plan: its ``y`` (and ``x``) columns at one, the rest at zero."""
        v = np.zeros(ncol)
        ys = y_cols[open_sites]
        v[ys[ys >= 0]] = 1.0
        if pairs is not None:
            pi, pj, x = pairs
            v[x[assign[pi] == pj]] = 1.0
        return v

    @staticmethod
    def _relaxation(
        mip: Mip, *, maximize: bool, offset: float, time_limit_s: float
    ) -> float | None:
        """Optimal value of the LP relaxation of `mip`, or None if HiGHS did not finish."""
        out = mip.solve(
            relax=True,
            maximize=maximize,
            offset=offset,
            time_limit_s=time_limit_s,
            mip_rel_gap=0.0,
            threads=None,
            seed=0,
        )
        return out.objective if out.status == "optimal" else None

    def _finish(
        self,
        open_sites: IntArray,
        assign: IntArray,
        obj: float,
        bound: float,
        status: Status,
        t0: float,
        infeasible: list[InfeasibleDemand],
    ) -> SitingResult:
        res = _result(
            model=self.model_name,
            data=self._data,
            open_sites=open_sites,
            assignment=assign,
            objective=obj,
            bound=bound,
            status=status,
            t0=t0,
            infeasible=infeasible,
        )
        log.info("%s: %s in %.2f s", type(self).__name__, self._summary(res), res.solve_s)
        return res


# --------------------------------------------------------------------------------------------
# Set cover (LSCP)
# --------------------------------------------------------------------------------------------


class SetCover(_LocationModel):
    r"""Location set covering problem, LSCP (Toregas, Swain, ReVelle & Bergman 1971).

    Open the fewest new sites so that every demand unit with at least one permitted site within
    the walking radius :math:`R` is served by an open site within :math:`R`. Demand units with
    no site within :math:`R` (or none reachable on the network) are not dropped silently: they
    are listed in ``result.infeasible`` with the reason, and the model covers all the others.

    Without capacities:

    .. math::

        \min \sum_{j \in J \setminus F} y_j
        \quad\text{s.t.}\quad \sum_{j \in N_i} y_j \ge 1 \;\; \forall i \in I_R, \qquad
        y_j = 1 \;\; \forall j \in F, \qquad y_j \in \{0, 1\},

    with capacities (single sourcing, every covered unit goes to exactly one site):

    .. math::

        \min \sum_{j \in J \setminus F} y_j \quad\text{s.t.}\quad
        \sum_{j \in N_i} x_{ij} = 1 \;\; \forall i \in I_R, \quad
        x_{ij} \le y_j, \quad
        \sum_{i : j \in N_i} q_i x_{ij} \le Q_j y_j \;\; \forall j, \quad
        x_{ij}, y_j \in \{0, 1\},

    where :math:`N_i = \{j : d_{ij} \le R\}`, :math:`I_R = \{i : N_i \ne \emptyset\}`,
    :math:`F` the existing sites, :math:`q_i` the waste (``demand_kg``) and :math:`Q_j` the site
    capacity (``capacity_kg``). Only pairs within the radius get assignment variables.

    With capacities, ``solve()`` does not hand this model to HiGHS as it stands (at city scale
    it stalls with a gap of several per cent): it solves the uncapacitated cover with capacity
    cuts separated by max-flow, checks single sourcing on the master's sites and repairs them
    for an upper bound, until both bounds meet (`CapacityCutLoop`, module ``_capacity_cuts``;
    ``formulation="assignment"`` solves the model above instead).

    Without capacities, each covered unit is assigned to its nearest open site.
    """

    model_name = "set_cover"

    def __init__(self, data: _Data, service_radius_m: float) -> None:
        super().__init__(data)
        self.service_radius_m = _check_radius(service_radius_m)

    @classmethod
    def from_cost_matrix(
        cls,
        cost_m: npt.ArrayLike,
        households: npt.ArrayLike,
        *,
        service_radius_m: float,
        demand_kg: npt.ArrayLike | None = None,
        capacity_kg: npt.ArrayLike | None = None,
        fixed: Sequence[int] | npt.ArrayLike | None = None,
    ) -> Self:
        """
        Build the LSCP from a demand-by-candidate network distance matrix.

        `cost_m`, `households`, `demand_kg`, `capacity_kg` and `fixed` are the inputs every
        location model shares (see `_LocationModel`); without `capacity_kg` the cover is
        uncapacitated.

        Parameters
        ----------
        service_radius_m
            Maximum walking distance to a gathering point (metres).

        Returns
        -------
        SetCover

        Raises
        ------
        ValidationError
            On bad inputs (see `_LocationModel`) or a negative radius.
        """
        return cls(_validate(cost_m, households, demand_kg, capacity_kg, fixed), service_radius_m)

    def solve(
        self,
        *,
        time_limit_s: float = 60.0,
        mip_rel_gap: float = 0.0,
        method: Method = "auto",
        threads: int | None = None,
        seed: int = 0,
        formulation: Formulation = "cuts",
    ) -> SitingResult:
        """
        Solve the LSCP with HiGHS (``method="auto"`` or ``"mip"``) or greedily.

        Parameters
        ----------
        time_limit_s
            Wall-time limit for HiGHS (seconds).
        mip_rel_gap
            Relative gap at which HiGHS may stop and call the solution optimal.
        method
            ``"auto"``: HiGHS warm-started with the greedy cover, falling back to the greedy
            cover if HiGHS finds nothing in time; ``"mip"``: HiGHS only; ``"heuristic"``: the
            greedy cover with the LP-relaxation bound.
        threads
            HiGHS threads (None: HiGHS decides).
        seed
            HiGHS random seed.
        formulation
            With capacities: ``"cuts"`` (capacity cuts on the uncapacitated cover, see
            `CapacityCutLoop`) or ``"assignment"`` (one single-sourcing MIP with a variable per
            unit-site pair, as in the class docstring; kept for comparison). Both are exact;
            the cuts prove city-size instances in seconds. Ignored without capacities.

        Returns
        -------
        SitingResult
            ``objective`` is the number of new sites.

        Raises
        ------
        InfeasibleError
            If capacities cannot hold the waste of all coverable demand units.
        """
        _check_solve_args(time_limit_s, mip_rel_gap, method)
        if formulation not in _FORMULATIONS:
            msg = f"`formulation` must be one of {_FORMULATIONS}, got {formulation!r}."
            raise ValidationError(msg)
        t0 = time.perf_counter()
        d = self._data
        R = self.service_radius_m
        ok, infeasible, within = self._reach(R)
        capacitated = d.capacity_kg is not None
        if capacitated:
            self._precheck_capacity(within, ok)
        heur = _cover_greedy(d, within, ok, R) if method != "mip" else None
        if method == "heuristic":
            if heur is None:
                msg = (
                    "the greedy cover found no capacity-feasible assignment (feasibility is not "
                    "proven either way); use method='auto' or 'mip'."
                )
                raise GomracError(msg)
            open_sites, assign = heur
            bound = max(self._lp_bound(within, ok, time_limit_s), self._trivial_bound(within, ok))
            obj = float(np.setdiff1d(open_sites, d.fixed).size)
            status: Status = "optimal" if bound >= obj - 1e-9 else "heuristic"
            return self._finish(open_sites, assign, obj, min(bound, obj), status, t0, infeasible)

        if capacitated and formulation == "cuts":
            return self._solve_with_cuts(
                within,
                ok,
                heur,
                t0=t0,
                deadline=t0 + time_limit_s,
                mip_rel_gap=mip_rel_gap,
                threads=threads,
                seed=seed,
                infeasible=infeasible,
            )
        mip, y_cols, x_info = self._build(within, ok)
        start = None
        if heur is not None:
            start = self._start(mip.ncol, y_cols, x_info, *heur)
        out = mip.solve(
            maximize=False,
            offset=0.0,
            time_limit_s=time_limit_s - (time.perf_counter() - t0),
            mip_rel_gap=mip_rel_gap,
            threads=threads,
            seed=seed,
            start=start,
        )
        if out.status == "infeasible":
            raise InfeasibleError(self._infeasible_message(within, ok))
        trivial = self._trivial_bound(within, ok)
        mip_bound = float(math.ceil(out.bound - 1e-6)) if math.isfinite(out.bound) else 0.0
        if out.x is None:
            if heur is None:
                msg = (
                    f"HiGHS found no cover within time_limit_s={time_limit_s:g}; feasibility is "
                    "not proven either way: raise the time limit or use method='auto'."
                )
                raise GomracError(msg)
            open_sites, assign = heur
            obj = float(np.setdiff1d(open_sites, d.fixed).size)
            bound = min(max(mip_bound, trivial), obj)
            status = "optimal" if obj - bound < 0.5 else "heuristic"
            return self._finish(open_sites, assign, obj, bound, status, t0, infeasible)
        open_sites, assign = self._decode(out.x, y_cols, x_info, R)
        obj = float(np.setdiff1d(open_sites, d.fixed).size)
        bound = min(max(mip_bound, trivial), obj)
        status = "optimal" if out.status == "optimal" else "time_limit"
        if obj - bound < 0.5:
            status = "optimal"
        return self._finish(open_sites, assign, obj, bound, status, t0, infeasible)

    # -- internals -----------------------------------------------------------------------
    def _solve_with_cuts(
        self,
        within: BoolArray,
        ok: BoolArray,
        heur: tuple[IntArray, IntArray] | None,
        *,
        t0: float,
        deadline: float,
        mip_rel_gap: float,
        threads: int | None,
        seed: int,
        infeasible: list[InfeasibleDemand],
    ) -> SitingResult:
        """Solve the capacitated LSCP by capacity cuts (`CapacityCutLoop`)."""
        d = self._data
        assert d.capacity_kg is not None and d.demand_kg is not None

        def repair(mask: BoolArray) -> tuple[IntArray, IntArray, bool]:
            return _greedy_capacitated(
                d, within, ok, max_new=None, by_households=False, initial=mask
            )

        loop = CapacityCutLoop(within, ok, d.cost_m, d.demand_kg, d.capacity_kg, d.fixed_mask)
        out = loop.run(
            deadline=deadline,
            start=heur,
            lower_bound=self._trivial_bound(within, ok),
            repair=repair,
            mip_rel_gap=mip_rel_gap,
            threads=threads,
            seed=seed,
        )
        if out.infeasible:
            raise InfeasibleError(self._infeasible_message(within, ok))
        if out.open_sites is None or out.assignment is None:
            msg = (
                f"no single-sourced cover found within time_limit_s={deadline - t0:g} "
                f"(lower bound {out.bound:g} new sites); raise the time limit."
            )
            raise GomracError(msg)
        open_sites = _drop_unused_new(out.open_sites, out.assignment, d.fixed)
        obj = float(np.setdiff1d(open_sites, d.fixed).size)
        bound = min(out.bound, obj)
        status: Status = "optimal" if obj - bound < 0.5 else "time_limit"
        return self._finish(open_sites, out.assignment, obj, bound, status, t0, infeasible)

    def _trivial_bound(self, within: BoolArray, ok: BoolArray) -> float:
        """Return a lower bound on the number of new sites needed.

        One if existing sites leave demand uncovered, and enough of the largest capacities for
        the waste the existing sites cannot take.
        """
        d = self._data
        fixed_mask = d.fixed_mask
        uncovered = ok & ~(within & fixed_mask[None, :]).any(axis=1)
        if not uncovered.any():
            return 0.0
        if d.capacity_kg is None or d.demand_kg is None:
            return 1.0
        rest = float(d.demand_kg[ok].sum() - d.capacity_kg[fixed_mask].sum())
        caps = np.sort(d.capacity_kg[~fixed_mask & within.any(axis=0)])[::-1]
        if rest <= 0 or caps.size == 0 or not math.isfinite(caps[0]):
            return 1.0
        return float(max(1, int(np.searchsorted(np.cumsum(caps), rest - 1e-9)) + 1))

    def _precheck_capacity(self, within: BoolArray, ok: BoolArray) -> None:
        d = self._data
        assert d.capacity_kg is not None and d.demand_kg is not None
        cap = d.capacity_kg
        q = d.demand_kg
        cap_within = np.where(within, cap[None, :], -np.inf).max(axis=1)
        too_big = ok & (q > cap_within + 1e-9)
        reachable = within.any(axis=0)
        total_cap = float(cap[reachable].sum())
        total_q = float(q[ok].sum())
        if too_big.any():
            i = int(np.flatnonzero(too_big)[0])
            detail = (
                f"{int(too_big.sum())} demand unit(s) produce more waste than any site within "
                f"{self.service_radius_m:g} m can take (e.g. unit {i}: {q[i]:,.1f} kg vs. "
                f"largest capacity {cap_within[i]:,.1f} kg)"
            )
            msg = _infeasible_capacity_message(
                "set cover is infeasible", total_q, total_cap, detail
            )
            raise InfeasibleError(msg)
        if total_q > total_cap + 1e-9:
            msg = _infeasible_capacity_message(
                "set cover is infeasible",
                total_q,
                total_cap,
                f"even opening every site within {self.service_radius_m:g} m of demand leaves "
                f"{total_q - total_cap:,.0f} kg without room",
            )
            raise InfeasibleError(msg)

    def _infeasible_message(self, within: BoolArray, ok: BoolArray) -> str:
        d = self._data
        if d.capacity_kg is None or d.demand_kg is None:
            return "set cover is infeasible (unexpected without capacities)."
        total_cap = float(d.capacity_kg[within.any(axis=0)].sum())
        return _infeasible_capacity_message(
            "set cover is infeasible",
            float(d.demand_kg[ok].sum()),
            total_cap,
            "single-sourced assignments within the radius cannot fit the capacities "
            "(waste cannot be split between sites)",
        )

    def _build(
        self, within: BoolArray, ok: BoolArray
    ) -> tuple[Mip, IntArray, tuple[IntArray, IntArray, IntArray] | None]:
        d = self._data
        fixed_mask = d.fixed_mask
        mip = Mip()
        m = d.m
        y_cols = np.full(m, -1, dtype=np.int64)
        if d.capacity_kg is None:
            need = ok & ~(within & fixed_mask[None, :]).any(axis=1)
            rows_i, cols_j = np.nonzero(within[need][:, ~fixed_mask])
            free_idx = np.flatnonzero(~fixed_mask)
            used = np.unique(free_idx[cols_j])
            y_cols[used] = mip.add_cols(np.ones(used.size), 0.0, 1.0, integer=True)
            if rows_i.size:
                mip.add_rows(
                    1.0, np.inf, rows_i, y_cols[free_idx[cols_j]], 1.0, count=int(need.sum())
                )
            return mip, y_cols, None
        assert d.demand_kg is not None
        pi, pj = np.nonzero(within)
        used = np.unique(pj)
        new_used = used[~fixed_mask[used]]
        y_cols[new_used] = mip.add_cols(np.ones(new_used.size), 0.0, 1.0, integer=True)
        demand_rows = np.full(d.n, -1, dtype=np.int64)
        cov = np.flatnonzero(ok)
        demand_rows[cov] = np.arange(cov.size)
        x = _add_single_sourcing(
            mip,
            pi,
            pj,
            y_cols,
            x_cost=np.zeros(pi.size),
            rows=demand_rows[pi],
            n_rows=cov.size,
            exactly_one=True,
            q=d.demand_kg,
            cap=d.capacity_kg,
            fixed_mask=fixed_mask,
        )
        return mip, y_cols, (pi, pj, x)

    def _lp_bound(self, within: BoolArray, ok: BoolArray, time_limit_s: float) -> float:
        mip, _, _ = self._build(within, ok)
        if mip.ncol == 0:
            return 0.0
        value = self._relaxation(mip, maximize=False, offset=0.0, time_limit_s=time_limit_s)
        return 0.0 if value is None else float(math.ceil(value - 1e-6))

    def _summary(self, res: SitingResult) -> str:
        return (
            f"{res.new_sites.size} new sites (bound {res.bound:g}, {res.status}) covering "
            f"{100 * res.covered_share:.1f}% of households, {len(res.infeasible)} demand units "
            f"out of reach, R={self.service_radius_m:g} m"
        )


def _cover_greedy(
    d: _Data, within: BoolArray, ok: BoolArray, radius_m: float
) -> tuple[IntArray, IntArray] | None:
    """Greedy set cover (Chvátal 1979) with redundant sites dropped; None if it gets stuck."""
    if d.capacity_kg is not None:
        # two starts: from nothing, and from the uncapacitated cover repaired for capacity
        best: tuple[IntArray, IntArray] | None = None
        plain = _Data(d.cost_m, d.households, None, None, d.fixed)
        uncap = _cover_greedy(plain, within, ok, radius_m)
        for initial in (None, uncap):
            mask = None
            if initial is not None:
                mask = np.zeros(d.m, dtype=bool)
                mask[initial[0]] = True
            open_sites, assign, complete = _greedy_capacitated(
                d, within, ok, max_new=None, by_households=False, initial=mask
            )
            if complete and (best is None or open_sites.size < best[0].size):
                best = (open_sites, assign)
        return best
    fixed_mask = d.fixed_mask
    open_mask = fixed_mask.copy()
    covered = ~ok | (within & fixed_mask[None, :]).any(axis=1)
    A = sp.csc_matrix(within.astype(np.float64))
    order: list[int] = []
    while not covered.all():
        score = A.T @ (~covered).astype(np.float64)
        score[open_mask] = -1
        j = int(score.argmax())
        if score[j] <= 0:
            return None
        open_mask[j] = True
        order.append(j)
        covered |= within[:, j]
    # drop redundant new sites, last opened first
    count = within[:, open_mask].sum(axis=1)
    for j in reversed(order):
        rows = within[:, j] & ok
        if (count[rows] >= 2).all():
            open_mask[j] = False
            count[rows] -= 1
    open_sites = np.flatnonzero(open_mask).astype(np.int64)
    assign, _ = _nearest_open(d.cost_m, open_sites, radius_m)
    return open_sites, assign


def _greedy_capacitated(
    d: _Data,
    within: BoolArray,
    ok: BoolArray,
    *,
    max_new: int | None,
    by_households: bool,
    initial: BoolArray | None = None,
) -> tuple[IntArray, IntArray, bool]:
    """Open sites one by one, each taking the unassigned demand it can hold (single sourcing).

    Existing sites (and `initial` ones) are filled first: units with the fewest options
    first, each to its option with the most room left. Each step then scores candidates by
    the unassigned weight within the radius (households, or the count of demand units),
    evaluates the ten best exactly and opens the best one. Returns the open sites, the
    assignment and whether every coverable unit is assigned.
    """
    assert d.capacity_kg is not None and d.demand_kg is not None
    q = d.demand_kg
    h = d.households
    left = d.capacity_kg.astype(np.float64).copy()
    assign = np.full(d.n, -1, dtype=np.int64)
    open_mask = d.fixed_mask.copy()
    if initial is not None:
        open_mask |= initial
    todo = ok.copy()
    value = h if by_households else np.ones(d.n)
    # filling priority: most valuable first (MCLP) or fewest alternatives first (LSCP)
    first = np.flatnonzero(open_mask)
    if first.size:
        opts = within[:, first].sum(axis=1)
        order0 = np.lexsort((q, -h)) if by_households else np.lexsort((-q, opts))
        for i in order0[todo[order0] & (opts[order0] > 0)]:
            cand = first[within[i, first] & (left[first] >= q[i] - 1e-9)]
            if cand.size:
                j = cand[int(left[cand].argmax())]
                assign[i] = j
                left[j] -= q[i]
                todo[i] = False
    options = within.sum(axis=1)
    prio = np.lexsort((q, -h)) if by_households else np.lexsort((-q, options))
    rank = np.empty(d.n, dtype=np.int64)
    rank[prio] = np.arange(d.n)

    def take(j: int) -> IntArray:
        rows = np.flatnonzero(todo & within[:, j])
        rows = rows[np.argsort(rank[rows], kind="stable")]
        room = left[j]
        chosen = []
        for i in rows:
            if q[i] <= room + 1e-9:
                chosen.append(i)
                room -= q[i]
        return np.array(chosen, dtype=np.int64)

    A = sp.csc_matrix(within.astype(np.float64))
    opened = 0
    while todo.any() and (max_new is None or opened < max_new):
        score = np.asarray(A.T @ (todo * value), dtype=np.float64)
        score[open_mask] = -1.0
        cand = np.argsort(-score, kind="stable")[:10]
        cand = cand[score[cand] > 0]
        best_j, best_rows, best_val = -1, np.zeros(0, dtype=np.int64), 0.0
        for j in cand:
            rows = take(int(j))
            val = float(value[rows].sum()) if rows.size else 0.0
            if val > best_val:
                best_j, best_rows, best_val = int(j), rows, val
        if best_j < 0:
            break
        open_mask[best_j] = True
        assign[best_rows] = best_j
        left[best_j] -= float(q[best_rows].sum())
        todo[best_rows] = False
        opened += 1
    if max_new is None and not todo.any():
        _drop_sites(d, within, open_mask, assign, left)
    return np.flatnonzero(open_mask).astype(np.int64), assign, not todo.any()


def _drop_sites(
    d: _Data, within: BoolArray, open_mask: BoolArray, assign: IntArray, left: FloatArray
) -> None:
    """Close new sites whose units all fit elsewhere within the radius (in place).

    Tries the least-loaded sites first; each unit moves to the open site within the radius
    with the least room that still holds it (best fit). Repeats until no site can close.
    """
    assert d.capacity_kg is not None and d.demand_kg is not None
    q = d.demand_kg
    cap = d.capacity_kg
    changed = True
    while changed:
        changed = False
        new_open = np.flatnonzero(open_mask & ~d.fixed_mask)
        served = assign >= 0  # not cap - left: both are inf for unlimited sites
        load = np.bincount(assign[served], weights=q[served], minlength=d.m)[new_open]
        for j in new_open[np.argsort(load, kind="stable")]:
            units = np.flatnonzero(assign == j)
            units = units[np.argsort(-q[units], kind="stable")]
            trial_left = left.copy()
            moves: list[tuple[int, int]] = []
            for i in units:
                cand = np.flatnonzero(within[i] & open_mask & (trial_left >= q[i] - 1e-9))
                cand = cand[cand != j]
                if cand.size == 0:
                    break
                k = int(cand[np.argmin(trial_left[cand])])
                trial_left[k] -= q[i]
                moves.append((int(i), k))
            else:
                for u, k in moves:
                    assign[u] = k
                trial_left[j] = cap[j]
                left[:] = trial_left
                open_mask[j] = False
                changed = True


# --------------------------------------------------------------------------------------------
# Maximal coverage (MCLP)
# --------------------------------------------------------------------------------------------


class MaximalCoverage(_LocationModel):
    r"""Maximal covering location problem, MCLP (Church & ReVelle 1974).

    With :math:`p` new sites (plus the existing ones), maximise the households within the
    walking radius :math:`R` of an open site. Without capacities:

    .. math::

        \max \sum_{i} h_i z_i \quad\text{s.t.}\quad
        z_i \le \sum_{j \in N_i} y_j, \quad
        \sum_{j \in J \setminus F} y_j \le p, \quad
        y_j = 1 \;\; \forall j \in F, \quad
        0 \le z_i \le 1, \; y_j \in \{0, 1\},

    and with capacities, coverage goes through single-sourced assignment variables:

    .. math::

        \max \sum_{i}\sum_{j \in N_i} h_i x_{ij} \quad\text{s.t.}\quad
        \sum_{j \in N_i} x_{ij} \le 1, \quad x_{ij} \le y_j, \quad
        \sum_{i} q_i x_{ij} \le Q_j y_j, \quad
        \sum_{j \in J \setminus F} y_j \le p, \quad x_{ij}, y_j \in \{0, 1\},

    with :math:`N_i = \{j : d_{ij} \le R\}`, :math:`h_i` households, :math:`q_i` waste and
    :math:`Q_j` capacity. "At most p" equals "exactly p" in value; new sites that would serve
    nobody are not reported. Demand units no site can cover are listed in ``infeasible``.

    The same model sites cameras over dumping hotspots (weights = hotspot intensity, radius =
    camera range along the street).
    """

    model_name = "maximal_coverage"

    def __init__(self, data: _Data, service_radius_m: float, p: int) -> None:
        super().__init__(data)
        self.service_radius_m = _check_radius(service_radius_m)
        self.p = _check_p(p, data)

    @classmethod
    def from_cost_matrix(
        cls,
        cost_m: npt.ArrayLike,
        households: npt.ArrayLike,
        *,
        service_radius_m: float,
        p: int,
        demand_kg: npt.ArrayLike | None = None,
        capacity_kg: npt.ArrayLike | None = None,
        fixed: Sequence[int] | npt.ArrayLike | None = None,
    ) -> Self:
        """
        Build the MCLP from a demand-by-candidate network distance matrix.

        `cost_m`, `households`, `demand_kg`, `capacity_kg` and `fixed` are the inputs every
        location model shares (see `_LocationModel`).

        Parameters
        ----------
        service_radius_m
            Maximum walking distance to a gathering point (metres).
        p
            Number of new sites to open (existing `fixed` sites come on top).

        Returns
        -------
        MaximalCoverage

        Raises
        ------
        ValidationError
            On bad inputs, or `p` larger than the number of non-fixed candidates.
        """
        data = _validate(cost_m, households, demand_kg, capacity_kg, fixed)
        return cls(data, service_radius_m, p)

    @classmethod
    def from_coverage(
        cls,
        coverage: npt.ArrayLike | sp.sparray | sp.spmatrix,
        weights: npt.ArrayLike,
        *,
        p: int,
        fixed: Sequence[int] | npt.ArrayLike | None = None,
    ) -> Self:
        r"""
        Build the MCLP from a boolean coverage matrix rather than distances and a radius.

        For coverage that is not a walk within a radius: cameras see a target or not (range,
        field of view and line of sight, `gomrac.analysis.cameras.visibility`). The model is
        the same (class docstring) with :math:`N_i = \{j : \text{coverage}_{ij}\}`; a target
        no candidate covers is listed in ``result.infeasible`` as ``"no candidate covers it"``.

        Parameters
        ----------
        coverage
            ``(n_targets, n_candidates)`` booleans (dense or scipy sparse): candidate ``j``
            covers target ``i``.
        weights
            Weight of each target (>= 0), e.g. dumping reports; ``result.objective`` is the
            covered weight.
        p
            Number of new sites to open (existing `fixed` sites come on top).
        fixed
            Indices of candidates that already exist.

        Returns
        -------
        MaximalCoverage

        Raises
        ------
        ValidationError
            If `coverage` is not a 2-D matrix of booleans (or 0/1), or on bad `weights`, `p`
            or `fixed`.
        """
        if isinstance(coverage, sp.sparray | sp.spmatrix):
            arr = np.asarray(coverage.toarray())
        else:
            arr = np.asarray(coverage)
        if arr.ndim != 2 or not (arr.dtype == bool or np.issubdtype(arr.dtype, np.number)):
            msg = (
                "`coverage` must be a 2-D boolean matrix (targets x candidates), got "
                f"shape {arr.shape} of {arr.dtype}."
            )
            raise ValidationError(msg)
        if arr.dtype != bool and not np.isin(arr, (0, 1)).all():
            msg = "`coverage` must hold booleans or 0/1 values."
            raise ValidationError(msg)
        cost = np.where(arr.astype(bool), 0.0, np.inf)
        model = cls(_validate(cost, weights, None, None, fixed), 0.0, p)
        model._unreached = "no candidate covers it"
        return model

    def solve(
        self,
        *,
        time_limit_s: float = 60.0,
        mip_rel_gap: float = 0.0,
        method: Method = "auto",
        threads: int | None = None,
        seed: int = 0,
    ) -> SitingResult:
        """
        Solve the MCLP with HiGHS (``method="auto"`` or ``"mip"``) or heuristically.

        Parameters
        ----------
        time_limit_s
            Wall-time limit (seconds).
        mip_rel_gap
            Relative gap at which HiGHS may stop and call the solution optimal.
        method
            ``"auto"``: HiGHS warm-started with the greedy solution, with the heuristic as the
            fallback; ``"mip"``: HiGHS only; ``"heuristic"``: greedy + vertex substitution,
            bounded by the Lagrangian (uncapacitated) or LP relaxation (capacitated).
        threads
            HiGHS threads (None: HiGHS decides).
        seed
            Random seed (HiGHS and the heuristic).

        Returns
        -------
        SitingResult
            ``objective`` is the number of households covered; ``bound`` an upper bound on it.
        """
        _check_solve_args(time_limit_s, mip_rel_gap, method)
        t0 = time.perf_counter()
        deadline = t0 + time_limit_s
        d = self._data
        R = self.service_radius_m
        ok, infeasible, within = self._reach(R)
        rng = np.random.default_rng(seed)

        heur: tuple[IntArray, IntArray, float] | None = None  # open sites, assignment, bound
        if method == "heuristic":
            heur = self._heuristic(within, ok, rng, deadline, full=True)
            return self._finish_heur(*heur, t0, infeasible)
        if method == "auto":
            heur = self._heuristic(within, ok, rng, t0 + 0.3 * time_limit_s, full=False)

        mip, y_cols, x_info, offset = self._build(within, ok)
        start = None
        if heur is not None:
            start = self._start(mip.ncol, y_cols, x_info, heur[0], heur[1])
            if x_info is None:  # z_i (the last columns): covered by the start's sites
                by_fixed = (within & d.fixed_mask[None, :]).any(axis=1)
                need = ok & ~by_fixed & (d.households > 0)
                cov = within[need][:, heur[0]].any(axis=1)
                start[mip.ncol - int(need.sum()) :] = cov.astype(np.float64)
        out = mip.solve(
            maximize=True,
            offset=offset,
            time_limit_s=deadline - time.perf_counter(),
            mip_rel_gap=mip_rel_gap,
            threads=threads,
            seed=seed,
            start=start,
        )
        if out.status == "infeasible":  # cannot happen: covering nothing is feasible
            msg = "maximal coverage model reported infeasible; check capacities and p."
            raise InfeasibleError(msg)
        if out.x is None:
            if heur is None:
                heur = self._heuristic(within, ok, rng, time.perf_counter(), full=False)
            open_sites, assign, bound = heur
            if math.isfinite(out.bound):
                bound = min(bound, out.bound)
            return self._finish_heur(open_sites, assign, bound, t0, infeasible)
        open_sites, assign = self._decode(out.x, y_cols, x_info, R)
        obj = float(d.households[assign >= 0].sum())
        # no more than every coverable household (HiGHS may give no bound at all)
        bound = max(min(float(out.bound), float(d.households[ok].sum())), obj)
        status: Status = "optimal" if out.status == "optimal" else "time_limit"
        if _rel_gap(obj, bound) == 0.0:
            status = "optimal"
        return self._finish(open_sites, assign, obj, bound, status, t0, infeasible)

    # -- internals -----------------------------------------------------------------------
    def _build(
        self, within: BoolArray, ok: BoolArray
    ) -> tuple[Mip, IntArray, tuple[IntArray, IntArray, IntArray] | None, float]:
        d = self._data
        fixed_mask = d.fixed_mask
        h = d.households
        mip = Mip()
        y_cols = np.full(d.m, -1, dtype=np.int64)
        if d.capacity_kg is None:
            by_fixed = (within & fixed_mask[None, :]).any(axis=1)
            offset = float(h[by_fixed].sum())
            need = ok & ~by_fixed & (h > 0)
            sub = within[need][:, ~fixed_mask]
            free_idx = np.flatnonzero(~fixed_mask)
            used = np.unique(free_idx[np.nonzero(sub)[1]])
            y_cols[used] = mip.add_cols(np.zeros(used.size), 0.0, 1.0, integer=True)
            z = mip.add_cols(h[need], 0.0, 1.0, integer=False)
            ri, cj = np.nonzero(sub)
            k = z.size
            # z_i - sum_j y_j <= 0
            mip.add_rows(
                -np.inf,
                0.0,
                np.concatenate([np.arange(k), ri]),
                np.concatenate([z, y_cols[free_idx[cj]]]),
                np.concatenate([np.ones(k), -np.ones(ri.size)]),
                count=k,
            )
            if used.size:
                mip.add_rows(
                    -np.inf, float(self.p), np.zeros(used.size), y_cols[used], 1.0, count=1
                )
            return mip, y_cols, None, offset
        assert d.demand_kg is not None
        pi, pj = np.nonzero(within)
        used = np.unique(pj)
        new_used = used[~fixed_mask[used]]
        y_cols[new_used] = mip.add_cols(np.zeros(new_used.size), 0.0, 1.0, integer=True)
        rows = np.full(d.n, -1, dtype=np.int64)
        cov = np.flatnonzero(ok)
        rows[cov] = np.arange(cov.size)
        x = _add_single_sourcing(
            mip,
            pi,
            pj,
            y_cols,
            x_cost=h[pi],
            rows=rows[pi],
            n_rows=cov.size,
            exactly_one=False,
            q=d.demand_kg,
            cap=d.capacity_kg,
            fixed_mask=fixed_mask,
        )
        if new_used.size:
            mip.add_rows(
                -np.inf, float(self.p), np.zeros(new_used.size), y_cols[new_used], 1.0, count=1
            )
        return mip, y_cols, (pi, pj, x), 0.0

    def _heuristic(
        self,
        within: BoolArray,
        ok: BoolArray,
        rng: np.random.Generator,
        deadline: float,
        *,
        full: bool,
    ) -> tuple[IntArray, IntArray, float]:
        """Heuristic solution: open sites, assignment and an upper bound on coverage.

        Uncapacitated, the MCLP is a p-median on 0/1 costs (households left uncovered), so
        greedy + vertex substitution + iterated local search apply, with the Lagrangian bound
        when `full`. Capacitated, a capacity-aware greedy (LP-relaxation bound when `full`).
        """
        d = self._data
        h = d.households
        total = float(h[ok].sum())
        if d.capacity_kg is not None:
            open_sites, assign, _ = _greedy_capacitated(
                d, within, ok, max_new=self.p, by_households=True
            )
            bound = total
            if full:
                bound = self._lp_bound(within, ok, deadline - time.perf_counter())
            return open_sites, assign, bound
        U = np.where(within, 0.0, h[:, None])
        med = Median(U, d.fixed_mask, np.ones(d.m, dtype=bool), self.p)
        open_mask = med.local_search(med.greedy(), deadline)
        unc = med.cost(open_mask)
        lb = float(h.sum() - total)  # households no site can cover stay uncovered
        if full:
            now = time.perf_counter()
            lb_lag, _, _, lr_open = med.lagrangian(
                unc, now + 0.5 * max(deadline - now, 0.0), incumbent=open_mask
            )
            lb = max(lb, lb_lag)
            if lr_open is not None and med.cost(lr_open) < unc:
                lr_open = med.local_search(lr_open, deadline)
                if med.cost(lr_open) < unc:
                    open_mask, unc = lr_open, med.cost(lr_open)
        if not med._closed(lb, unc):
            open_mask, unc = med.ils(
                open_mask, unc, deadline, rng=rng, max_rounds=10_000, stop_at=lb
            )
        open_sites = np.flatnonzero(open_mask).astype(np.int64)
        assign, _ = _nearest_open(d.cost_m, open_sites, self.service_radius_m)
        return open_sites, assign, float(h.sum()) - lb

    def _lp_bound(self, within: BoolArray, ok: BoolArray, time_limit_s: float) -> float:
        mip, _, _, offset = self._build(within, ok)
        total = float(self._data.households[ok].sum())
        if mip.ncol == 0:
            return offset
        value = self._relaxation(
            mip, maximize=True, offset=offset, time_limit_s=max(time_limit_s, 1.0)
        )
        return total if value is None else value

    def _finish_heur(
        self,
        open_sites: IntArray,
        assign: IntArray,
        bound: float,
        t0: float,
        infeasible: list[InfeasibleDemand],
    ) -> SitingResult:
        d = self._data
        obj = float(d.households[assign >= 0].sum())
        bound = max(bound, obj)
        status: Status = "optimal" if _rel_gap(obj, bound) == 0.0 else "heuristic"
        open_sites = _drop_unused_new(open_sites, assign, d.fixed)
        return self._finish(open_sites, assign, obj, bound, status, t0, infeasible)

    def _summary(self, res: SitingResult) -> str:
        total = max(float(self._data.households.sum()), 1e-12)
        return (
            f"p={self.p}, {100 * res.covered_share:.1f}% of households covered (bound "
            f"{100 * res.bound / total:.1f}%, {res.status}), R={self.service_radius_m:g} m"
        )


# --------------------------------------------------------------------------------------------
# p-median
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    """The options of one ``solve()`` call, handed to a model's internal steps."""

    t0: float
    deadline: float
    mip_rel_gap: float
    threads: int | None
    seed: int
    method: Method
    rng: np.random.Generator


class PMedian(_LocationModel):
    r"""p-median problem (Hakimi 1964; ReVelle & Swain 1970).

    With :math:`p` new sites plus the existing ones, minimise the household-weighted walking
    distance when every demand unit uses one open site:

    .. math::

        \min \sum_i \sum_j h_i d_{ij} x_{ij} \quad\text{s.t.}\quad
        \sum_j x_{ij} = 1, \quad x_{ij} \le y_j, \quad
        \sum_{j \in J \setminus F} y_j = p, \quad y_j = 1 \;\; \forall j \in F, \quad
        \sum_i q_i x_{ij} \le Q_j y_j \;\text{(if capacitated)}, \quad x_{ij}, y_j \in \{0,1\}.

    Without capacities HiGHS solves the equivalent, more compact *radius formulation*
    (Elloumi 2010; García, Labbé & Marín 2011): with :math:`D_i^0 < D_i^1 < \dots` the distinct
    distances from :math:`i`, :math:`z_i^k = 1` iff the nearest open site is farther than
    :math:`D_i^k`,

    .. math::

        \min \sum_i h_i \Big(D_i^0 + \sum_k (D_i^{k+1} - D_i^k) z_i^k\Big)
        \quad\text{s.t.}\quad z_i^0 + \sum_{j: d_{ij} = D_i^0} y_j \ge 1, \quad
        z_i^k - z_i^{k-1} + \sum_{j: d_{ij} = D_i^k} y_j \ge 0 .

    ``method="auto"`` first runs greedy + vertex substitution (fast interchange) with iterated
    local search for an upper bound and Lagrangian relaxation of the assignment constraints
    (subgradient) for a lower bound; sites that cannot appear in a better solution are fixed by
    Lagrangian reduced costs. If the gap is still open and :math:`p \le 10`, a Lagrangian
    branch and bound on sites proves the optimum (`gomrac.analysis._pmedian.branch_and_bound`:
    with few sites the LP bound is about 1 % short and HiGHS branches slowly on the radius
    model, while fixing a site open or closed moves the Lagrangian bound a lot); with larger
    :math:`p`, HiGHS solves the radius formulation over the remaining sites. Models with more
    than a million client-site pairs are truncated
    per client (the k-nearest restriction, k about twice the rank of the incumbent distance);
    the last kept :math:`z_i^k` prices every farther site at :math:`D_i^{k+1}`, so the
    truncated optimum is still a valid lower bound, and clients whose optimal distance goes
    beyond their truncation are widened and the model solved again until none does: the
    answer stays exact. A demand unit that no candidate can reach is listed in
    ``infeasible`` and left out.

    With capacities the assignment formulation above is solved by HiGHS over reachable pairs
    (``x_ij <= y_j`` rows are aggregated on large models).
    """

    model_name = "p_median"

    def __init__(self, data: _Data, p: int) -> None:
        super().__init__(data)
        self.p = _check_p(p, data)
        if self.p == 0 and data.fixed.size == 0:
            msg = "`p` must be >= 1 when no site is fixed: every demand needs an open site."
            raise ValidationError(msg)

    @classmethod
    def from_cost_matrix(
        cls,
        cost_m: npt.ArrayLike,
        households: npt.ArrayLike,
        *,
        p: int,
        demand_kg: npt.ArrayLike | None = None,
        capacity_kg: npt.ArrayLike | None = None,
        fixed: Sequence[int] | npt.ArrayLike | None = None,
    ) -> Self:
        """
        Build the p-median from a demand-by-candidate network distance matrix.

        `cost_m`, `households`, `demand_kg`, `capacity_kg` and `fixed` are the inputs every
        location model shares (see `_LocationModel`); here `cost_m` may hold any finite
        distance, there is no radius.

        Parameters
        ----------
        p
            Number of new sites to open (existing `fixed` sites come on top).

        Returns
        -------
        PMedian

        Raises
        ------
        ValidationError
            On bad inputs, `p` larger than the non-fixed candidates, or no site at all
            (``p == 0`` and no fixed site).
        """
        return cls(_validate(cost_m, households, demand_kg, capacity_kg, fixed), p)

    def solve(
        self,
        *,
        time_limit_s: float = 60.0,
        mip_rel_gap: float = 0.0,
        method: Method = "auto",
        threads: int | None = None,
        seed: int = 0,
        max_mip_nonzeros: int = DEFAULT_MAX_MIP_NONZEROS,
    ) -> SitingResult:
        """
        Solve the p-median exactly when possible, else report the best solution and bound.

        Parameters
        ----------
        time_limit_s
            Wall-time limit for the whole solve (seconds).
        mip_rel_gap
            Relative gap at which the search may stop and call the solution optimal.
        method
            ``"auto"`` (heuristic + Lagrangian bound, then HiGHS on the reduced, truncated
            radius formulation), ``"mip"`` (HiGHS on the full formulation only) or
            ``"heuristic"`` (greedy, vertex substitution, iterated local search and the
            Lagrangian bound, no MIP).
        threads
            HiGHS threads (None: HiGHS decides).
        seed
            Random seed of HiGHS and the iterated local search.
        max_mip_nonzeros
            ``"auto"`` skips HiGHS when the model would have more constraint non-zeros.

        Returns
        -------
        SitingResult
            ``objective`` in household·metres; ``bound`` is a proven lower bound.

        Raises
        ------
        InfeasibleError
            If no choice of sites lets every reachable demand unit reach an open one (a
            disconnected network with too few sites), or capacities cannot hold the waste.
        """
        _check_solve_args(time_limit_s, mip_rel_gap, method)
        t0 = time.perf_counter()
        deadline = t0 + time_limit_s
        d = self._data
        ok, infeasible = _reach_report(d, None)
        rows = np.flatnonzero(ok)
        cost = d.cost_m[rows]
        h = d.households[rows]
        W = np.where(np.isfinite(cost), h[:, None] * np.where(np.isfinite(cost), cost, 0), np.inf)
        rng = np.random.default_rng(seed)
        run = _Run(t0, deadline, mip_rel_gap, threads, seed, method, rng)
        if d.capacity_kg is not None:
            open_sites, assign_sub, obj, bound, status = self._solve_capacitated(rows, W, run)
        else:
            open_sites, obj, bound, status = self._solve_uncapacitated(W, run, max_mip_nonzeros)
            assign_sub = None
        assign = np.full(d.n, -1, dtype=np.int64)
        if assign_sub is None:
            a, _ = _nearest_open(cost, open_sites, None)
            assign[rows] = a
        else:
            assign[rows] = assign_sub
        return self._finish(open_sites, assign, obj, bound, status, t0, infeasible)

    def _summary(self, res: SitingResult) -> str:
        d = self._data
        return (
            f"p={self.p} on {d.n} demand units x {d.m} sites, objective {res.objective:.6g} "
            f"(bound {res.bound:.6g}, gap {100 * res.gap:.3g}%, {res.status})"
        )

    # -- uncapacitated -------------------------------------------------------------------
    def _solve_uncapacitated(
        self, W: FloatArray, run: _Run, max_nnz: int
    ) -> tuple[IntArray, float, float, Status]:
        t0, deadline, mip_rel_gap, method, rng = (
            run.t0,
            run.deadline,
            run.mip_rel_gap,
            run.method,
            run.rng,
        )
        threads, seed = run.threads, run.seed
        d = self._data
        fixed_mask = d.fixed_mask
        allowed = np.ones(d.m, dtype=bool)
        med = Median(W, fixed_mask, allowed, self.p)
        total = deadline - t0

        def done(
            open_mask: BoolArray, ub: float, lb: float, status: Status
        ) -> tuple[IntArray, float, float, Status]:
            if ub >= med.big or not math.isfinite(ub):
                msg = (
                    f"p-median is infeasible: with p={self.p} new and {d.fixed.size} existing "
                    "sites some demand units cannot reach any open site on the network "
                    "(the network has parts that need their own site)."
                )
                raise InfeasibleError(msg)
            lb = min(lb, ub)
            if _rel_gap(ub, lb) <= mip_rel_gap:
                status = "optimal"
            return np.flatnonzero(open_mask).astype(np.int64), ub, lb, status

        if method == "mip":
            out_open, ub, lb, st = self._radius_mip(
                med, np.zeros(d.m, dtype=bool), None, None, deadline, mip_rel_gap, threads, seed
            )
            if st == "infeasible":
                msg = (
                    f"p-median is infeasible: with p={self.p} new and {d.fixed.size} existing "
                    "sites some demand units cannot reach any open site on the network "
                    "(the network has parts that need their own site)."
                )
                raise InfeasibleError(msg)
            if out_open is None:
                msg = (
                    f"p-median: HiGHS found no solution within the time limit ({total:g} s); "
                    "use method='auto' for a heuristic solution."
                )
                raise GomracError(msg)
            # without truncation a mask comes only from an optimal or a time-limited solve
            return done(out_open, ub, lb, "optimal" if st == "optimal" else "time_limit")

        heur_share = 0.9 if method == "heuristic" else 0.25
        best, ub, lb, fix0, fix1 = pm_heuristic(
            med,
            t0 + heur_share * total,
            rng=rng,
            ils_rounds=10_000 if method == "heuristic" else 25,
            patience=1000 if method == "heuristic" else 25,
            lagrangian_deadline=t0 + (0.5 if method == "heuristic" else 0.2) * total,
        )
        if method == "heuristic" or med._closed(lb, ub) or _rel_gap(ub, lb) <= mip_rel_gap:
            if method == "heuristic" and not med._closed(lb, ub):
                # spend what is left of the budget on the bound
                lb2, _, _, _ = med.lagrangian(ub, deadline, max_iter=5000, incumbent=best)
                lb = max(lb, lb2)
            status: Status = "optimal" if med._closed(lb, ub) else "heuristic"
            return done(best, ub, lb, status)
        if (fix0 & fix1).any() or fix1.sum() > self.p or (med.free & ~fix0).sum() < self.p:
            return done(best, ub, ub, "optimal")  # no strictly better solution exists
        if self.p <= _TREE_MAX_P:
            # small p: the LP bound is about 1 % short and HiGHS branches slowly on the radius
            # model; a Lagrangian branch and bound on sites closes such gaps in a few dozen nodes
            tree = branch_and_bound(
                med, best, ub, fix0, fix1, deadline=deadline, mip_rel_gap=mip_rel_gap
            )
            lb = max(lb, tree.bound)
            return done(tree.open_mask, tree.cost, lb, "optimal" if tree.proven else "time_limit")
        est = self._radius_nnz(med, fix0)
        if est > max_nnz:
            log.info("PMedian: radius model would have %d non-zeros; heuristic only", est)
            return done(best, ub, lb, "heuristic")
        out_open, mip_ub, mip_lb, st = self._radius_mip(
            med, fix0, fix1, best, deadline, mip_rel_gap, threads, seed
        )
        if st == "infeasible":
            # no solution strictly better than the incumbent survives the fixing
            return done(best, ub, ub, "optimal")
        if out_open is not None and mip_ub < ub:
            best, ub = out_open, mip_ub
        if math.isfinite(mip_lb):
            lb = max(lb, min(mip_lb, ub))
        if st != "optimal" and deadline - time.perf_counter() > 0.5:
            # the MIP stopped early: spend the rest of the budget on the upper bound
            best, ub = med.ils(best, ub, deadline, rng=rng, max_rounds=10_000, stop_at=lb)
        return done(best, ub, lb, "optimal" if st == "optimal" else "time_limit")

    @staticmethod
    def _radius_nnz(med: Median, fix0: BoolArray) -> int:
        allowed = ~fix0
        return int(2 * np.isfinite(med.W_inf[:, allowed]).sum())

    def _radius_mip(
        self,
        med: Median,
        fix0: BoolArray,
        fix1: BoolArray | None,
        incumbent: BoolArray | None,
        deadline: float,
        mip_rel_gap: float,
        threads: int | None,
        seed: int,
    ) -> tuple[BoolArray | None, float, float, MipStatus]:
        """Solve the radius formulation, truncated at the incumbent distances, to optimality.

        Returns the best open mask found by the MIP (or None), its true cost, a lower bound
        valid for all solutions not excluded by `fix0`/`fix1`, and the MIP status.
        """
        Winf = med.W_inf
        n, m = Winf.shape
        allowed = ~fix0
        allowed_idx = np.flatnonzero(allowed)
        Wa = Winf[:, allowed_idx]
        # distinct finite levels per client over the allowed sites
        order = np.argsort(Wa, axis=1, kind="stable")
        sorted_w = np.take_along_axis(Wa, order, axis=1)
        trunc = np.full(n, np.inf)
        if incumbent is not None and np.isfinite(Wa).sum() > _FULL_RADIUS_NNZ:
            # large model: keep, for each client, about twice as many nearest sites as its
            # incumbent distance needs (the truncated model still bounds the full one)
            trunc = _widen(sorted_w, Winf[:, incumbent].min(axis=1))
        best_mask: BoolArray | None = None
        best_cost = math.inf
        lower = -math.inf
        status: MipStatus = "no_solution"
        start_mask = incumbent
        while True:
            remaining = deadline - time.perf_counter()
            if remaining <= 0.05 + 0.02 * n / 1000 or stop_requested():  # building takes time too
                break
            mip, y_local, z_blocks, offset = self._build_radius(
                med, allowed_idx, sorted_w, order, trunc, fix1
            )
            start = None
            if start_mask is not None:
                start = self._radius_start(
                    mip.ncol, y_local, z_blocks, allowed_idx, start_mask, med
                )
            if mip.nrow > _LP_PROBE_ROWS:
                # HiGHS can overrun its time limit in root cut rounds after a long root LP:
                # solve the LP first and go on only if the MIP has time for several of those
                lp = mip.solve(
                    maximize=False,
                    offset=offset,
                    time_limit_s=0.4 * remaining,
                    mip_rel_gap=mip_rel_gap,
                    threads=threads,
                    seed=seed,
                    relax=True,
                )
                log.debug(
                    "PMedian radius LP: %s in %.2f s, bound %.6g", lp.status, lp.run_s, lp.objective
                )
                if lp.status == "optimal":
                    lower = max(lower, med._round_bound(lp.objective))
                remaining = deadline - time.perf_counter()
                if lp.status != "optimal" or 4.0 * lp.run_s > remaining:
                    status = "time_limit"
                    break
            out = mip.solve(
                maximize=False,
                offset=offset,
                time_limit_s=remaining,
                mip_rel_gap=mip_rel_gap,
                threads=threads,
                seed=seed,
                start=start,
            )
            log.debug(
                "PMedian radius MIP: %d cols, %d rows, %d nnz, %s in %.2f s, obj %.6g bound %.6g",
                mip.ncol,
                mip.nrow,
                mip.nnz,
                out.status,
                out.run_s,
                out.objective,
                out.bound,
            )
            if out.status == "infeasible":
                return best_mask, best_cost, lower, "infeasible"
            if math.isfinite(out.bound):
                lower = max(lower, med._round_bound(out.bound))
            if out.x is None:
                status = out.status
                break
            mask = np.zeros(m, dtype=bool)
            mask[allowed_idx[out.x[y_local] > 0.5]] = True
            mask |= med.fixed
            true = Winf[:, mask].min(axis=1)
            true_cost = float(true.sum())
            if true_cost < best_cost:
                best_mask, best_cost = mask, true_cost
            start_mask = best_mask
            # clients whose distance goes beyond their truncation level
            nxt = np.array([_next_level(sorted_w[i], trunc[i]) for i in range(n)], dtype=np.float64)
            viol = true > nxt + 1e-9 * np.maximum(1.0, np.abs(nxt))
            if not viol.any():
                status = out.status
                break
            trunc[viol] = _widen(sorted_w[viol], true[viol])
        return best_mask, best_cost, lower, status

    @staticmethod
    def _build_radius(
        med: Median,
        allowed_idx: IntArray,
        sorted_w: FloatArray,
        order: IntArray,
        trunc: FloatArray,
        fix1: BoolArray | None,
    ) -> tuple[Mip, IntArray, list[tuple[FloatArray, IntArray]], float]:
        n = sorted_w.shape[0]
        mip = Mip()
        fixed_local = med.fixed[allowed_idx]
        lb = fixed_local.astype(np.float64)
        if fix1 is not None:
            lb = np.maximum(lb, fix1[allowed_idx].astype(np.float64))
        y_local = mip.add_cols(np.zeros(allowed_idx.size), lb, 1.0, integer=True)
        free_local = np.flatnonzero(~fixed_local)
        if free_local.size:
            mip.add_rows(
                float(med.p),
                float(med.p),
                np.zeros(free_local.size),
                y_local[free_local],
                1.0,
                count=1,
            )
        offset = 0.0
        z_blocks: list[tuple[FloatArray, IntArray]] = []
        R_rows: list[IntArray] = []
        R_cols: list[IntArray] = []
        R_vals: list[FloatArray] = []
        R_lo: list[FloatArray] = []
        z_cost: list[FloatArray] = []
        nrows = 0
        z_next = mip.ncol
        n_allowed = allowed_idx.size
        for i in range(n):
            w = sorted_w[i]
            kf = int(np.isfinite(w).sum())  # rows are sorted: finite entries come first
            wf = w[:kf]
            new_level = np.ones(kf, dtype=bool)
            new_level[1:] = wf[1:] > wf[:-1]
            lvl = np.cumsum(new_level) - 1  # level index of each sorted site
            levels = wf[new_level]
            K = levels.size
            offset += float(levels[0])
            if np.isfinite(trunc[i]):
                t = int(np.searchsorted(levels, trunc[i] - 1e-9 * max(1.0, abs(trunc[i]))))
                t = min(t, K - 1)
            else:
                t = K - 1
            full = t >= K - 1
            nz = K - 1 if full else t + 1  # z^0 .. z^{nz-1}
            # rows k = 0..nz-1: z^k - z^{k-1} + sum_{level k} y >= [k == 0]; when the row is
            # complete and some allowed site is unreachable, row nz forces a reachable site open
            nrow_i = nz + (1 if full and kf < n_allowed else 0)
            zcols = np.arange(z_next, z_next + nz, dtype=np.int64)
            z_next += nz
            z_cost.append(np.diff(levels)[:nz])
            z_blocks.append((levels, zcols))
            if nrow_i == 0:
                continue
            keep = lvl < nrow_i
            R_rows += [nrows + lvl[keep], nrows + np.arange(nz), nrows + np.arange(1, nrow_i)]
            R_cols += [y_local[order[i, :kf][keep]], zcols, zcols[: nrow_i - 1]]
            R_vals += [np.ones(int(keep.sum())), np.ones(nz), -np.ones(nrow_i - 1)]
            lo = np.zeros(nrow_i)
            lo[0] = 1.0
            R_lo.append(lo)
            nrows += nrow_i
        mip.add_cols(np.concatenate(z_cost) if z_cost else np.zeros(0), 0.0, np.inf, integer=False)
        if nrows:
            mip.add_rows(
                np.concatenate(R_lo),
                np.inf,
                np.concatenate(R_rows),
                np.concatenate(R_cols),
                np.concatenate(R_vals),
                count=nrows,
            )
        return mip, y_local, z_blocks, offset

    @staticmethod
    def _radius_start(
        ncol: int,
        y_local: IntArray,
        z_blocks: list[tuple[FloatArray, IntArray]],
        allowed_idx: IntArray,
        mask: BoolArray,
        med: Median,
    ) -> FloatArray:
        v = np.zeros(ncol)
        v[y_local] = mask[allowed_idx].astype(np.float64)
        near = med.W_inf[:, mask].min(axis=1)
        for i, (levels, zcols) in enumerate(z_blocks):
            v[zcols] = (near[i] > levels[: zcols.size] + 1e-9).astype(np.float64)
        return v

    # -- capacitated ---------------------------------------------------------------------
    def _solve_capacitated(
        self, rows: IntArray, W: FloatArray, run: _Run
    ) -> tuple[IntArray, IntArray, float, float, Status]:
        deadline, mip_rel_gap, threads, seed, method = (
            run.deadline,
            run.mip_rel_gap,
            run.threads,
            run.seed,
            run.method,
        )
        d = self._data
        assert d.capacity_kg is not None and d.demand_kg is not None
        cap = d.capacity_kg
        q = d.demand_kg[rows]
        cost = d.cost_m[rows]
        fixed_mask = d.fixed_mask
        reach = np.isfinite(cost)
        total_q = float(q.sum())
        # capacity pre-checks
        cap_reach = np.where(reach, cap[None, :], -np.inf).max(axis=1)
        if (q > cap_reach + 1e-9).any():
            i = int(np.flatnonzero(q > cap_reach + 1e-9)[0])
            msg = _infeasible_capacity_message(
                "capacitated p-median is infeasible",
                total_q,
                float(cap[reach.any(axis=0)].sum()),
                f"demand unit {int(rows[i])} produces {q[i]:,.1f} kg but the largest reachable "
                f"site holds {cap_reach[i]:,.1f} kg",
            )
            raise InfeasibleError(msg)
        free_caps = np.sort(cap[~fixed_mask])[::-1][: self.p]
        best_cap = float(cap[fixed_mask].sum() + free_caps.sum())
        if total_q > best_cap + 1e-9:
            msg = _infeasible_capacity_message(
                "capacitated p-median is infeasible",
                total_q,
                best_cap,
                f"the {d.fixed.size} existing sites plus the {self.p} largest candidates "
                "cannot hold the waste",
            )
            raise InfeasibleError(msg)
        n = rows.size
        pi, pj = np.nonzero(reach)
        mip = Mip()
        y = mip.add_cols(np.zeros(d.m), fixed_mask.astype(np.float64), 1.0, integer=True)
        x = _add_single_sourcing(
            mip,
            pi,
            pj,
            y,
            x_cost=W[pi, pj],
            rows=pi,
            n_rows=n,
            exactly_one=True,
            q=q,
            cap=cap,
            fixed_mask=fixed_mask,
        )
        free_idx = np.flatnonzero(~fixed_mask)
        mip.add_rows(
            float(self.p), float(self.p), np.zeros(free_idx.size), y[free_idx], 1.0, count=1
        )
        # warm start: uncapacitated heuristic sites, then nearest site with room
        start = None
        if method != "mip":
            med = Median(W, fixed_mask, np.ones(d.m, dtype=bool), self.p)
            open_mask = med.local_search(med.greedy(), time.perf_counter() + 1.0)
            a = _capacitated_assign(cost, q, cap, np.flatnonzero(open_mask))
            if (a >= 0).all():
                start = np.zeros(mip.ncol)
                start[y[open_mask]] = 1.0
                start[x[a[pi] == pj]] = 1.0
        out = mip.solve(
            maximize=False,
            offset=0.0,
            time_limit_s=deadline - time.perf_counter(),
            mip_rel_gap=mip_rel_gap,
            threads=threads,
            seed=seed,
            start=start,
        )
        if out.status == "infeasible":
            msg = _infeasible_capacity_message(
                "capacitated p-median is infeasible",
                total_q,
                best_cap,
                "no single-sourced assignment of demand units to "
                f"{self.p} new plus {d.fixed.size} existing sites fits the capacities",
            )
            raise InfeasibleError(msg)
        if out.x is None:
            msg = (
                "capacitated p-median: no feasible assignment found within the time limit; "
                "feasibility is not proven either way: raise time_limit_s."
            )
            raise GomracError(msg)
        open_sites = np.flatnonzero(out.x[y] > 0.5).astype(np.int64)
        assign = np.full(n, -1, dtype=np.int64)
        chosen = out.x[x] > 0.5
        assign[pi[chosen]] = pj[chosen]
        obj = float(W[np.arange(n), assign].sum())
        bound = min(out.bound, obj)
        status: Status = "optimal" if out.status == "optimal" else "time_limit"
        return open_sites, assign, obj, bound, status


def _widen(sorted_w: FloatArray, dist: FloatArray) -> FloatArray:
    """Return the truncation distance per client.

    It is the cost at twice the rank of `dist` (at least +8).
    """
    rank = (sorted_w <= dist[:, None]).sum(axis=1)
    k = np.minimum(np.maximum(2 * rank, rank + 8), sorted_w.shape[1] - 1)
    out = sorted_w[np.arange(sorted_w.shape[0]), k]
    return np.where(np.isfinite(out), out, np.inf)


def _next_level(sorted_row: FloatArray, trunc: float) -> float:
    """Return the distinct value just above `trunc` in a sorted row (inf if none)."""
    if not math.isfinite(trunc):
        return math.inf
    k = int(np.searchsorted(sorted_row, trunc, side="right"))
    while k < sorted_row.size and sorted_row[k] <= trunc:
        k += 1
    return float(sorted_row[k]) if k < sorted_row.size else math.inf


def _capacitated_assign(
    cost: FloatArray, q: FloatArray, cap: FloatArray, open_sites: IntArray
) -> IntArray:
    """Heaviest first, each demand unit to its nearest open site with room (-1 if none)."""
    left = cap.astype(np.float64).copy()
    assign = np.full(cost.shape[0], -1, dtype=np.int64)
    for i in np.argsort(-q, kind="stable"):
        cand = open_sites[np.isfinite(cost[i, open_sites]) & (left[open_sites] >= q[i] - 1e-9)]
        if cand.size:
            j = cand[int(cost[i, cand].argmin())]
            assign[i] = j
            left[j] -= q[i]
    return assign


# --------------------------------------------------------------------------------------------
# Coverage curve
# --------------------------------------------------------------------------------------------


def coverage_curve(
    cost_m: npt.ArrayLike,
    households: npt.ArrayLike,
    *,
    service_radius_m: float,
    p_values: Iterable[int],
    fixed: Sequence[int] | npt.ArrayLike | None = None,
    demand_kg: npt.ArrayLike | None = None,
    capacity_kg: npt.ArrayLike | None = None,
    time_limit_s: float = 60.0,
    mip_rel_gap: float = 0.0,
) -> list[CoverageCurveRow]:
    """
    Households covered for several numbers of new sites (MCLP solved once per ``p``).

    Parameters
    ----------
    cost_m
        ``(n_demand, n_candidates)`` network walking distances (metres), ``np.inf`` unreachable.
    households
        Households per demand unit.
    service_radius_m
        Maximum walking distance (metres).
    p_values
        Numbers of new sites to try.
    fixed
        Existing sites (always open, not counted).
    demand_kg
        Waste per demand unit (kg), with `capacity_kg`.
    capacity_kg
        Capacity per candidate site (kg), or None.
    time_limit_s
        Time limit per solve (seconds).
    mip_rel_gap
        Relative gap per solve.

    Returns
    -------
    list of CoverageCurveRow
        One row per ``p`` (in the given order); ``pandas.DataFrame(rows)`` makes a table.

    Examples
    --------
    >>> import numpy as np
    >>> cost = np.array([[100.0, 900.0], [800.0, 50.0], [120.0, 700.0]])
    >>> rows = coverage_curve(cost, [10, 5, 1], service_radius_m=200, p_values=[0, 1, 2])
    >>> [(r.p, round(r.covered_share, 3)) for r in rows]
    [(0, 0.0), (1, 0.688), (2, 1.0)]
    """
    data = _validate(cost_m, households, demand_kg=demand_kg, capacity_kg=capacity_kg, fixed=fixed)
    radius = _check_radius(service_radius_m)
    out: list[CoverageCurveRow] = []
    for p in p_values:
        model = MaximalCoverage(data, radius, p)
        res = model.solve(time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
        out.append(CoverageCurveRow(int(p), res.covered_share, res.objective, res.gap, res.solve_s))
    return out
