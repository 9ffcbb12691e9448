r"""Exact capacitated set cover: capacity cuts on the uncapacitated cover, then single sourcing.

`SetCover.solve` hands the capacitated LSCP here. Rather than one large single-sourcing MIP
(an assignment variable per unit-site pair), it solves a small **master** over the site variables
only and adds the capacity knowledge as cuts:

.. math::

    \min \sum_{j \in J \setminus F} y_j \quad\text{s.t.}\quad
    \sum_{j \in N_i} y_j \ge 1 \;\; \forall i \in I_R, \qquad
    \sum_{j \in S(C) \setminus F} y_j \ge k(C), \qquad
    \sum_{j \in S(C) \setminus F} \min(Q_j, r(C))\, y_j \ge r(C) \;\; \forall C \in \mathcal{C},

where, for a set :math:`C` of demand units, :math:`S(C) = \bigcup_{i \in C} N_i` are the sites
that can serve it, :math:`r(C) = q(C) - \sum_{j \in S(C) \cap F} Q_j` the waste the existing
sites cannot take, and :math:`k(C)` the fewest new sites of :math:`S(C)` whose largest capacities
add up to :math:`r(C)` (:math:`\lceil r(C) / Q \rceil` with equal capacities). Both rows are valid
for every feasible plan, since the units of :math:`C` can only be served inside :math:`S(C)`; the
knapsack row is added only when capacities differ, where the cardinality row does not imply it.

Before the first round, the cuts of the sets :math:`C_i = \{u : N_u \subseteq N_i\}` are added
where their waste needs two or more sites, and the LP relaxation of the master is cut by max-flow
separation until no cut is violated (cheap rounds that spare most MIP rounds). Each round then
solves the master MIP to optimality (a lower bound) and checks its sites:

1. **Split assignment** by max-flow (``scipy.sparse.csgraph.maximum_flow`` on source -> unit
   (capacity :math:`q_i`) -> open site within the radius -> sink (capacity :math:`Q_j`)). A flow
   short of the total waste leaves a minimum cut whose source side is a unit set :math:`C` whose
   waste exceeds the capacity of its open sites; each connected part of it, enlarged by the units
   all of whose sites lie in the same :math:`S(C)`, gives violated cuts (capacity cuts separated
   by max-flow, as for capacitated facility location: Aardal, Pochet & Wolsey 1995).
2. **Single sourcing** per connected part of the open sites: a greedy fill (nearest site with
   room, then the site with most room), else a small generalised-assignment MIP. A part ``K``
   whose units cannot be single-sourced gets the cut
   :math:`\sum_{j \in S(U_K) \setminus (F \cup Y)} y_j \ge 1` (some site outside the open ones
   must serve them: with fewer sites the units fit no better).

Any master solution that passes both is optimal. Between rounds a repair (the capacity-aware
greedy started from the master's sites) keeps an upper bound, and the loop stops when the bound
meets it or at the deadline, with both reported.

References
----------
Aardal, K., Pochet, Y., Wolsey, L. A. (1995). Capacitated facility location: valid inequalities
and facets. *Mathematics of Operations Research* 20(3), 562-582.
Martello, S., Toth, P. (1990). Lower bounds and reduction procedures for the bin packing
problem. *Discrete Applied Mathematics* 28(1), 59-70.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order, connected_components, maximum_flow

from gomrac.analysis._highs import Mip
from gomrac.analysis.stopping import stop_requested

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
#: ``repair(open_mask) -> (open_sites, assignment, complete)``: a feasible plan containing the mask
Repair = Callable[[BoolArray], tuple[IntArray, IntArray, bool]]

_TOL_KG = 1e-6
#: flow capacities are whole grams (scipy's max-flow takes integers)
_FLOW_UNITS_PER_KG = 1000.0


@dataclass
class CutLoopOutcome:
    """What the capacity-cut loop proved and found."""

    open_sites: IntArray | None
    """Open sites (existing ones included) of the best plan, or None if none was found."""
    assignment: IntArray | None
    """Site of each demand unit in that plan (-1 for units out of reach)."""
    bound: float
    """Lower bound on the number of new sites."""
    infeasible: bool = False
    """The master became infeasible: no single-sourced plan exists."""
    rounds: int = 0
    """Master solves."""
    cuts: int = 0
    """Cut rows added."""
    stats: dict[str, float] = field(default_factory=dict)
    """Seconds per phase (seed cuts, LP rounds, master, flow, assign, repair)."""


class CapacityCutLoop:
    """The master/cut/assignment loop of the capacitated LSCP (see the module docstring).

    Parameters
    ----------
    within
        ``(n, m)`` pairs within the walking radius, restricted to coverable units.
    ok
        Coverable demand units (at least one site within the radius).
    cost_m
        ``(n, m)`` walking distances (metres), to prefer near sites when assigning.
    demand_kg
        Waste per demand unit (kg).
    capacity_kg
        Capacity per site (kg); ``inf`` for unlimited.
    fixed_mask
        Existing sites (always open, not counted).
    """

    def __init__(
        self,
        within: BoolArray,
        ok: BoolArray,
        cost_m: FloatArray,
        demand_kg: FloatArray,
        capacity_kg: FloatArray,
        fixed_mask: BoolArray,
    ) -> None:
        self.within = within
        self.ok = ok
        self.cost_m = cost_m
        self.q = demand_kg
        self.cap = capacity_kg
        self.fixed = fixed_mask
        self.n, self.m = within.shape
        reach = within.any(axis=0)
        self.cand = np.flatnonzero(reach & ~fixed_mask).astype(np.int64)
        self.col = np.full(self.m, -1, dtype=np.int64)
        self.col[self.cand] = np.arange(self.cand.size)
        self._cut_cols: list[IntArray] = []
        self._cut_vals: list[FloatArray] = []
        self._cut_rhs: list[float] = []
        self._seen: set[tuple[float, bytes]] = set()

    # -- master ------------------------------------------------------------------------------
    def _master(self) -> Mip:
        mip = Mip()
        mip.add_cols(np.ones(self.cand.size), 0.0, 1.0, integer=True)
        need = self.ok & ~(self.within & self.fixed[None, :]).any(axis=1)
        rows_i, cols_j = np.nonzero(self.within[need][:, self.cand])
        if rows_i.size:
            mip.add_rows(1.0, np.inf, rows_i, cols_j, 1.0, count=int(need.sum()))
        if self._cut_rhs:
            sizes = np.array([c.size for c in self._cut_cols])
            mip.add_rows(
                np.array(self._cut_rhs),
                np.inf,
                np.repeat(np.arange(sizes.size), sizes),
                np.concatenate(self._cut_cols),
                np.concatenate(self._cut_vals),
                count=sizes.size,
            )
        return mip

    def _add_cut(self, sites: IntArray, vals: FloatArray, rhs: float) -> bool:
        cols = self.col[sites]
        key = (round(rhs, 6), cols.tobytes() + vals.tobytes())
        if key in self._seen:
            return False
        self._seen.add(key)
        self._cut_cols.append(cols)
        self._cut_vals.append(vals)
        self._cut_rhs.append(rhs)
        return True

    # -- capacity cuts -------------------------------------------------------------------------
    def seed_cuts(self) -> int:
        """Add the cuts of the sets ``C_i = {u : N_u within N_i}``, one per coverable unit ``i``.

        The units whose sites all lie among those of unit ``i`` compete for those sites only;
        when their waste needs two or more of them, the cardinality row says so from the
        first round (found with one sparse product: ``|N_u & N_i| = |N_u|``).
        """
        units = np.flatnonzero(self.ok)
        a = sp.csr_array(self.within[units].astype(np.int32))
        shared = sp.csr_array(a @ a.T).tocoo()
        size = np.asarray(a.sum(axis=1)).ravel()
        sub = shared.data == size[shared.row]  # N_row within N_col
        q = self.q[units]
        q_set = np.bincount(shared.col[sub], weights=q[shared.row[sub]], minlength=units.size)
        fixed_cap = self.within[units] @ np.where(self.fixed, np.minimum(self.cap, 1e300), 0.0)
        free_max = np.where(self.within[units] & ~self.fixed[None, :], self.cap[None, :], 0.0)
        need_two = q_set - fixed_cap > free_max.max(axis=1) + _TOL_KG
        none_open = np.zeros(self.m)
        added = 0
        for k in np.flatnonzero(need_two):
            mask = np.zeros(self.n, dtype=bool)
            mask[units[k]] = True
            added += self._set_cuts(mask, none_open)
        return added

    def _set_cuts(self, units: BoolArray, y: FloatArray) -> int:
        """Add the cardinality (and knapsack) rows of a unit set that the openings `y` violate."""
        reach = np.asarray(self.within[units].any(axis=0), dtype=bool)
        # every unit whose sites all lie in reach needs them too: more waste, same sites
        units = self.ok & ~(self.within & ~reach[None, :]).any(axis=1)
        rest = float(self.q[units].sum() - self.cap[reach & self.fixed].sum())
        if rest <= _TOL_KG:
            return 0
        free = np.flatnonzero(reach & ~self.fixed).astype(np.int64)
        caps = self.cap[free]
        top = np.cumsum(np.sort(caps)[::-1])
        k = int(np.searchsorted(top, rest - _TOL_KG)) + 1  # k > free.size: no plan
        added = 0
        if float(y[free].sum()) < k - 1e-6:
            added += self._add_cut(free, np.ones(free.size), float(k))
        coef = np.minimum(caps, rest)
        if caps.size > 1 and np.ptp(caps) > 0 and float(coef @ y[free]) < rest - _TOL_KG:
            added += self._add_cut(free, coef, rest)
        return added

    def _flow_cuts(self, y: FloatArray) -> int | None:
        """Max-flow check of the split assignment; cuts added, or None if all waste fits.

        `y` holds each site's opening (1 for existing sites; fractional from the LP relaxation):
        site ``j`` offers ``y_j Q_j`` kg.
        """
        units = np.flatnonzero(self.ok)
        sites = np.flatnonzero((y > 1e-9) & self.within.any(axis=0))
        nu, ns = units.size, sites.size
        sub = self.within[np.ix_(units, sites)]
        ui, sj = np.nonzero(sub)
        supply = np.ceil(self.q[units] * _FLOW_UNITS_PER_KG).astype(np.int64)
        total = int(supply.sum())
        if total == 0:
            return None
        room_kg = self.cap[sites] * y[sites]
        room = np.where(
            np.isfinite(room_kg),
            np.floor(np.minimum(room_kg, 1e15) * _FLOW_UNITS_PER_KG),
            float(total),
        ).astype(np.int64)
        src, sink = 0, nu + ns + 1
        r = np.concatenate([np.zeros(nu, np.int64), 1 + ui, 1 + nu + np.arange(ns)])
        c = np.concatenate([1 + np.arange(nu), 1 + nu + sj, np.full(ns, sink)])
        v = np.concatenate([supply, np.full(ui.size, total, np.int64), room])
        keep = v > 0
        graph = sp.csr_array((v[keep], (r[keep], c[keep])), shape=(sink + 1, sink + 1))
        graph.sum_duplicates()
        res = maximum_flow(graph, src, sink)
        if int(res.flow_value) >= total:
            return None
        residual = sp.csr_array(graph - res.flow)
        residual.data = (residual.data > 0).astype(np.int8)
        residual.eliminate_zeros()
        reached = breadth_first_order(residual, src, directed=True, return_predecessors=False)
        side = np.zeros(sink + 1, dtype=bool)
        side[reached] = True
        cut_units = side[1 : 1 + nu]
        cut_sites = side[1 + nu : 1 + nu + ns]
        # split the deficient side into the parts its open sites connect
        block = sub[np.ix_(cut_units, cut_sites)]
        cu = int(cut_units.sum())
        adj = sp.bmat([[None, sp.csr_array(block)], [sp.csr_array(block.T), None]])
        _, label = connected_components(sp.csr_array(adj), directed=False)
        members = units[cut_units]
        added = 0
        for part in np.unique(label[:cu]):
            mask = np.zeros(self.n, dtype=bool)
            mask[members[label[:cu] == part]] = True
            added += self._set_cuts(mask, y)
        if added == 0:  # rounding to grams only: nothing violated in kilograms
            log.debug("max-flow short by %d g with no violated cut", total - res.flow_value)
            return None
        return added

    def _lp_rounds(self, deadline: float, max_rounds: int = 50) -> int:
        """Separate cuts on the LP relaxation of the master until none is violated."""
        added = 0
        for _ in range(max_rounds):
            left = deadline - time.perf_counter()
            if left <= 0.05 or stop_requested():
                break
            res = self._master().solve(
                maximize=False,
                offset=0.0,
                time_limit_s=left,
                mip_rel_gap=0.0,
                threads=None,
                seed=0,
                relax=True,
            )
            if res.x is None or res.status != "optimal":
                break
            y = self.fixed.astype(np.float64)
            y[self.cand] = np.clip(res.x, 0.0, 1.0)
            more = self._flow_cuts(y)
            log.debug("LP round: %g, %s cuts", res.objective, more)
            if not more:
                break
            added += more
        return added

    # -- single sourcing -----------------------------------------------------------------------
    def _assign(
        self, open_mask: BoolArray, deadline: float
    ) -> tuple[IntArray, list[IntArray], bool]:
        """Single-source every coverable unit to the open sites, part by part.

        Returns the assignment, the unit sets of parts proven impossible, and whether some part
        was left undecided at the deadline.
        """
        assign = np.full(self.n, -1, dtype=np.int64)
        units = np.flatnonzero(self.ok)
        sites = np.flatnonzero(open_mask & self.within.any(axis=0))
        sub = sp.csr_array(self.within[np.ix_(units, sites)])
        nu = units.size
        adj = sp.bmat([[None, sub], [sub.T, None]])
        _, label = connected_components(sp.csr_array(adj), directed=False)
        bad: list[IntArray] = []
        unknown = False
        for part in np.unique(label[:nu]):
            pu = units[label[:nu] == part]
            ps = sites[label[nu:] == part]
            got = self._greedy_part(pu, ps)
            if got is None:
                got, proven = self._gap_part(pu, ps, deadline)
                if got is None:
                    if proven:
                        bad.append(pu)
                    else:
                        unknown = True
                    continue
            assign[pu] = got
        return assign, bad, unknown

    def _greedy_part(self, units: IntArray, sites: IntArray) -> IntArray | None:
        q = self.q[units]
        allowed = self.within[np.ix_(units, sites)]
        dist = np.where(allowed, self.cost_m[np.ix_(units, sites)], np.inf)
        order = np.lexsort((-q, allowed.sum(axis=1)))  # fewest options, then heaviest
        for rule in ("nearest", "room"):
            left = self.cap[sites].astype(np.float64).copy()
            out = np.full(units.size, -1, dtype=np.int64)
            for i in order:
                fits = allowed[i] & (left >= q[i] - _TOL_KG)
                if not fits.any():
                    break
                key = dist[i] if rule == "nearest" else -left
                k = int(np.flatnonzero(fits)[np.argmin(key[fits])])
                out[i] = sites[k]
                left[k] -= q[i]
            else:
                return out
        return None

    def _gap_part(
        self, units: IntArray, sites: IntArray, deadline: float
    ) -> tuple[IntArray | None, bool]:
        """Feasibility MIP of one part: assignment or (None, proven impossible)."""
        allowed = self.within[np.ix_(units, sites)]
        pi, pj = np.nonzero(allowed)
        mip = Mip()
        # prefer near sites, weighted by waste, so the answer is also a sensible plan
        weight = self.q[units][pi] * self.cost_m[units[pi], sites[pj]]
        x = mip.add_cols(weight, 0.0, 1.0, integer=True)
        mip.add_rows(1.0, 1.0, pi, x, 1.0, count=units.size)
        capped = np.isfinite(self.cap[sites])
        row = np.full(sites.size, -1, dtype=np.int64)
        row[capped] = np.arange(int(capped.sum()))
        sel = row[pj] >= 0
        if capped.any():
            mip.add_rows(
                -np.inf,
                self.cap[sites][capped],
                row[pj[sel]],
                x[sel],
                self.q[units][pi[sel]],
                count=int(capped.sum()),
            )
        left = deadline - time.perf_counter()
        if left <= 0.05:
            return None, False
        out = mip.solve(
            maximize=False,
            offset=0.0,
            time_limit_s=left,
            mip_rel_gap=1.0,  # any feasible assignment will do
            threads=None,
            seed=0,
        )
        if out.status == "infeasible":
            return None, True
        if out.x is None:
            return None, False
        chosen = out.x[x] > 0.5
        got = np.full(units.size, -1, dtype=np.int64)
        got[pi[chosen]] = sites[pj[chosen]]
        return got, False

    def _part_cut(self, units: IntArray, open_mask: BoolArray) -> int:
        reach = self.within[units].any(axis=0)
        others = np.flatnonzero(reach & ~self.fixed & ~open_mask).astype(np.int64)
        return int(self._add_cut(others, np.ones(others.size), 1.0))

    # -- the loop ------------------------------------------------------------------------------
    def run(
        self,
        *,
        deadline: float,
        start: tuple[IntArray, IntArray] | None,
        lower_bound: float,
        repair: Repair,
        mip_rel_gap: float,
        threads: int | None,
        seed: int,
    ) -> CutLoopOutcome:
        """Alternate master solves and checks until the bound meets the best plan or time ends.

        Parameters
        ----------
        deadline
            ``time.perf_counter()`` value at which to stop.
        start
            A feasible plan (open sites, assignment) to start from, or None.
        lower_bound
            A known lower bound on the new sites (e.g. from total capacity).
        repair
            Completes a set of open sites into a feasible plan (upper bounds).
        mip_rel_gap
            Relative gap at which HiGHS may stop on the master.
        threads
            HiGHS threads (None: HiGHS decides).
        seed
            HiGHS random seed.

        Returns
        -------
        CutLoopOutcome
        """
        stats = {"master_s": 0.0, "flow_s": 0.0, "assign_s": 0.0, "repair_s": 0.0}
        out = CutLoopOutcome(None, None, float(lower_bound), stats=stats)
        best_obj = math.inf
        if start is not None:
            out.open_sites, out.assignment = start
            best_obj = self._count(start[0])
        t = time.perf_counter()
        out.cuts += self.seed_cuts()
        stats["seed_s"] = time.perf_counter() - t
        t = time.perf_counter()
        out.cuts += self._lp_rounds(deadline)
        stats["lp_s"] = time.perf_counter() - t
        while True:
            left = deadline - time.perf_counter()
            if left <= 0.05 or best_obj <= out.bound or stop_requested():
                break
            t = time.perf_counter()
            mip = self._master()
            x0 = None
            if out.open_sites is not None:
                x0 = np.zeros(self.cand.size)
                cols = self.col[out.open_sites]
                x0[cols[cols >= 0]] = 1.0
            res = mip.solve(
                maximize=False,
                offset=0.0,
                time_limit_s=left,
                mip_rel_gap=mip_rel_gap,
                threads=threads,
                seed=seed,
                start=x0,
            )
            stats["master_s"] += time.perf_counter() - t
            out.rounds += 1
            log.debug(
                "master %d: %s %g (bound %g), %d cuts",
                out.rounds,
                res.status,
                res.objective,
                res.bound,
                len(self._cut_rhs),
            )
            if res.status == "infeasible":
                out.infeasible = out.open_sites is None
                break
            if math.isfinite(res.bound):
                out.bound = max(out.bound, float(math.ceil(res.bound - 1e-6)))
            if res.x is None or best_obj <= out.bound:
                break
            open_mask = self.fixed.copy()
            open_mask[self.cand[res.x > 0.5]] = True
            t = time.perf_counter()
            added = self._flow_cuts(open_mask.astype(np.float64))
            stats["flow_s"] += time.perf_counter() - t
            if added is None:
                t = time.perf_counter()
                assign, bad, unknown = self._assign(open_mask, deadline)
                stats["assign_s"] += time.perf_counter() - t
                if not bad and not unknown:
                    sites = np.flatnonzero(open_mask).astype(np.int64)
                    obj = self._count(sites, assign)
                    if obj < best_obj:
                        out.open_sites, out.assignment, best_obj = sites, assign, obj
                    if res.status == "optimal":
                        break
                    continue
                added = sum(self._part_cut(u, open_mask) for u in bad)
                if added == 0:
                    break  # undecided parts only: nothing more to learn
            out.cuts += added
            t = time.perf_counter()
            sites, assign, complete = repair(open_mask)
            stats["repair_s"] += time.perf_counter() - t
            if complete:
                obj = self._count(sites, assign)
                if obj < best_obj:
                    out.open_sites, out.assignment, best_obj = sites, assign, obj
        log.debug(
            "capacity cuts: %d rounds, %d cuts, bound %g, best %g, %s",
            out.rounds,
            out.cuts,
            out.bound,
            best_obj,
            {k: round(v, 2) for k, v in stats.items()},
        )
        return out

    def _count(self, sites: IntArray, assign: IntArray | None = None) -> float:
        """Count the new sites of a plan that serve someone (all of them without `assign`)."""
        new = sites[~self.fixed[sites]]
        if assign is not None:
            new = new[np.isin(new, assign)]
        return float(new.size)
