r"""The p-median core: heuristics, the Lagrangian bound and a Lagrangian branch and bound.

`Median` works on a dense weighted cost matrix ``W[i, j]`` (household-weighted metres, or 0/1 for
the maximal covering model): greedy, vertex substitution (Whitaker 1983), iterated local search,
and the Lagrangian relaxation of the assignment constraints with subgradient optimisation and
reduced-cost fixing of sites (Beasley 1993). `pm_heuristic` chains them.

`branch_and_bound` proves small-``p`` instances, where the LP (and Lagrangian) bound sits about
1 % below the optimum and HiGHS's branch and bound on the radius formulation is slow: it branches
on sites (open / closed), bounds every node with the Lagrangian relaxation restricted to that
node, warm-started from its parent's multipliers, and fixes sites at each node by their
Lagrangian reduced costs, best bound first (Beasley 1993; Senne & Lorena 2000).

References
----------
Beasley, J. E. (1993). Lagrangean heuristics for location problems. *European Journal of
Operational Research* 65(3), 383-399.
Senne, E. L. F., Lorena, L. A. N. (2000). Lagrangean/surrogate heuristics for p-median problems.
In *Computing Tools for Modeling, Optimization and Simulation*, Springer, 115-130.
Whitaker, R. A. (1983). A fast algorithm for the greedy interchange for large-scale clustering
and median location problems. *INFOR* 21(2), 95-108.
"""

from __future__ import annotations

import heapq
import logging
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from gomrac.analysis.stopping import in_time

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def is_integral(values: FloatArray) -> bool:
    """Whether every finite value is a whole number (then bounds may be rounded up)."""
    v = values[np.isfinite(values)]
    return bool(np.all(np.abs(v - np.rint(v)) <= 1e-9 * np.maximum(1.0, np.abs(v))))


class Median:
    """Dense weighted-cost p-median: greedy, vertex substitution, ILS and a Lagrangian bound.

    ``W[i, j]`` is the weighted cost of serving demand ``i`` from site ``j``; unreachable pairs
    carry a penalty ``big`` larger than any feasible total, so infeasible solutions show up as
    a cost >= ``big``.
    """

    def __init__(self, W: FloatArray, fixed: BoolArray, allowed: BoolArray, p: int) -> None:
        finite = np.isfinite(W)
        row_max = np.where(finite, W, 0.0).max(axis=1) if W.size else np.zeros(0)
        self.big = float(1.0 + 2.0 * row_max.sum())
        self.W_inf = W
        self.W = np.where(finite, W, self.big)
        self.fixed = fixed
        self.free = allowed & ~fixed
        self.p = p
        self.n, self.m = W.shape
        self.integral = is_integral(W)

    # -- evaluation ------------------------------------------------------------------------
    def cost(self, open_mask: BoolArray) -> float:
        if not open_mask.any():
            return math.inf
        c = float(self.W_inf[:, open_mask].min(axis=1).sum())
        return c

    def greedy(self) -> BoolArray:
        open_mask = self.fixed.copy()
        cand = np.flatnonzero(self.free)
        if open_mask.any():  # noqa: SIM108 - mirrors the `cur is None` branches below
            cur = self.W[:, open_mask].min(axis=1)
        else:
            cur = None
        for _ in range(self.p):
            cand = cand[~open_mask[cand]]
            if cand.size == 0:
                break
            Wc = self.W[:, cand]
            if cur is None:
                j = cand[int(Wc.sum(axis=0).argmin())]
                cur = self.W[:, j].copy()
            else:
                gain = np.maximum(cur[:, None] - Wc, 0.0).sum(axis=0)
                j = cand[int(gain.argmax())]
                cur = np.minimum(cur, self.W[:, j])
            open_mask[j] = True
        return open_mask

    def local_search(self, open_mask: BoolArray, deadline: float) -> BoolArray:
        """Best-improvement vertex substitution (fast interchange, Whitaker 1983)."""
        open_mask = open_mask.copy()
        W = self.W
        n = self.n
        rows = np.arange(n)
        cap = 2.0 * self.big + 1.0
        while in_time(deadline):
            O = np.flatnonzero(open_mask)  # noqa: E741 - O is the set of open sites
            closed = np.flatnonzero(self.free & ~open_mask)
            removable = self.free[O]
            if closed.size == 0 or not removable.any():
                break
            Wo = W[:, O]
            if O.size == 1:
                c1 = np.zeros(n, dtype=np.int64)
                d1 = Wo[:, 0]
                d2 = np.full(n, cap)
            else:
                two = np.argpartition(Wo, 1, axis=1)[:, :2]
                a, b = Wo[rows, two[:, 0]], Wo[rows, two[:, 1]]
                swap = b < a
                c1 = np.where(swap, two[:, 1], two[:, 0])
                d1 = np.minimum(a, b)
                d2 = np.maximum(a, b)
            Wc = W[:, closed]
            gain = np.maximum(d1[:, None] - Wc, 0.0).sum(axis=0)
            loss = np.bincount(c1, weights=d2 - d1, minlength=O.size)
            M = np.where(Wc < d2[:, None], d2[:, None] - np.maximum(Wc, d1[:, None]), 0.0)
            S = sp.csr_matrix((np.ones(n), (c1, rows)), shape=(O.size, n))
            extra = np.asarray(S @ M)
            profit = gain[None, :] - loss[:, None] + extra
            profit[~removable, :] = -np.inf
            k = int(profit.argmax())
            r, c = divmod(k, closed.size)
            if profit[r, c] <= 1e-9 * max(1.0, float(d1.sum())):
                break
            open_mask[O[r]] = False
            open_mask[closed[c]] = True
        return open_mask

    def ils(
        self,
        open_mask: BoolArray,
        best_cost: float,
        deadline: float,
        *,
        rng: np.random.Generator,
        max_rounds: int,
        patience: int = 100,
        stop_at: float = -math.inf,
    ) -> tuple[BoolArray, float]:
        """Run an iterated local search: random k-swap kicks followed by vertex substitution.

        Stops after `max_rounds` kicks, `patience` kicks in a row without improvement, at
        `deadline`, or once the cost reaches `stop_at` (a lower bound).
        """
        best = open_mask.copy()
        rounds = 0
        since = 0
        while (
            rounds < max_rounds
            and since < patience
            and in_time(deadline)
            and best_cost > stop_at + 1e-9 * max(1.0, abs(stop_at))
        ):
            rounds += 1
            since += 1
            cur = best.copy()
            O = np.flatnonzero(cur & self.free)  # noqa: E741 - O is the set of open sites
            closed = np.flatnonzero(self.free & ~cur)
            if O.size == 0 or closed.size == 0:
                break
            k = int(rng.integers(1, min(4, O.size, closed.size) + 1))
            cur[rng.choice(O, size=k, replace=False)] = False
            cur[rng.choice(closed, size=k, replace=False)] = True
            cur = self.local_search(cur, deadline)
            c = self.cost(cur)
            if c < best_cost - 1e-9 * max(1.0, abs(best_cost)):
                best, best_cost = cur, c
                since = 0
        return best, best_cost

    # -- Lagrangian relaxation of the assignment constraints ----------------------------------
    def lagrangian(
        self,
        ub: float,
        deadline: float,
        *,
        max_iter: int = 3000,
        incumbent: BoolArray | None = None,
    ) -> tuple[float, BoolArray, BoolArray, BoolArray | None]:
        """Subgradient optimisation of the Lagrangian dual (Beasley 1993).

        Relaxing ``sum_j x_ij = 1`` with multipliers ``lam_i`` gives
        ``L(lam) = sum_i lam_i + sum_{j open} rho_j`` with
        ``rho_j = sum_i min(0, W_ij - lam_i)``, minimised by opening the fixed sites and the
        `p` free sites of smallest ``rho_j``; every ``L(lam)`` is a lower bound. Multipliers
        are capped at each client's K-th smallest cost (still a valid bound), so only the K
        nearest sites of each client enter the sums: K is twice the rank of the incumbent's
        distances, which keeps the cap inactive near the optimum on typical instances.

        Returns the best lower bound, the sites that cannot be open in any solution strictly
        better than `ub` (``fix0``), those that must be open in any such solution (``fix1``),
        and the best primal open set seen (or None).
        """
        W = self.W_inf
        n, m = W.shape
        free_idx = np.flatnonzero(self.free)
        p = self.p
        fixed = self.fixed
        no = np.zeros(m, dtype=bool)
        if not math.isfinite(ub) or n == 0:  # no feasible incumbent to steer the step size
            return (-math.inf if n else 0.0), no, no.copy(), None
        # the K nearest sites of each client, with the (K+1)-th cost as the multiplier cap
        K = m
        if incumbent is not None and m > 64:
            c_inc = W[:, incumbent].min(axis=1)
            rank = (c_inc[:, None] > W).sum(axis=1)
            K = int(min(m, max(32, 2 * np.percentile(rank, 99) + 8)))
        if m > K:
            part = np.argpartition(W, K, axis=1)[:, : K + 1]
            vals = np.take_along_axis(W, part, axis=1)
            o = np.argsort(vals, axis=1, kind="stable")
            cols = np.take_along_axis(part, o, axis=1)
            vals = np.take_along_axis(vals, o, axis=1)
            cap = vals[:, K].copy()
            cols, vals = cols[:, :K], vals[:, :K]
        else:
            cols = np.broadcast_to(np.arange(m), (n, m))
            vals = W
            cap = np.full(n, np.inf)
        flat_cols = np.ascontiguousarray(cols).ravel()
        lam = np.where(np.isfinite(vals[:, 0]), vals[:, 0], 0.0)
        best_lb = -math.inf
        fix0 = no.copy()
        fix1 = no.copy()
        theta = 2.0
        stall = 0
        tol = 1e-7 * max(1.0, abs(ub))
        best_open: BoolArray | None = None
        best_open_cost = ub
        target = ub
        buf = np.empty(vals.shape)
        for it in range(max_iter):
            if not in_time(deadline):
                break
            np.subtract(vals, lam[:, None], out=buf)
            np.minimum(buf, 0.0, out=buf)
            rho = np.bincount(flat_cols, weights=buf.ravel(), minlength=m)
            L = float(lam.sum() + rho[fixed].sum())
            sel = np.zeros(m, dtype=bool)
            sel[fixed] = True
            rf = rho[free_idx]
            if p > 0:
                order = np.argsort(rf, kind="stable")
                sel[free_idx[order[:p]]] = True
                L += float(rf[order[:p]].sum())
                rho_p = float(rf[order[p - 1]])
                rho_next = float(rf[order[p]]) if p < free_idx.size else math.inf
            else:
                rho_p, rho_next = -math.inf, math.inf
            if best_lb < L:
                best_lb = L
                stall = 0
            else:
                stall += 1
            # variable fixing against strictly better solutions than the incumbent
            not_sel = self.free & ~sel
            if p > 0:
                fix0 |= not_sel & (L + rho - rho_p > ub + tol)
                fix1 |= self.free & sel & (L - rho + rho_next > ub + tol)
            else:
                fix0 |= not_sel
            if self._closed(best_lb, ub):
                break
            # primal: the Lagrangian open set is a feasible p-median solution
            if it % 5 == 0:
                c = self.cost(sel)
                if c < best_open_cost - tol:
                    best_open_cost, best_open = c, sel.copy()
                    target = min(target, c)
            covered = ((buf < 0) & sel[cols]).sum(axis=1)
            g = 1.0 - covered
            norm = float(g @ g)
            if norm == 0:
                break
            step = theta * (target - L) / norm
            if step <= 0:
                step = theta * max(1.0, abs(target)) * 1e-3 / norm
            lam = np.clip(lam + step * g, 0.0, cap)
            if stall >= 30:
                theta /= 2.0
                stall = 0
                if theta < 1e-4:
                    break
        return self._round_bound(best_lb), fix0, fix1, best_open

    def _round_bound(self, lb: float) -> float:
        if self.integral and math.isfinite(lb):
            return float(math.ceil(lb - 1e-6))
        return lb

    def _closed(self, lb: float, ub: float) -> bool:
        return self._round_bound(lb) >= ub - 1e-9 * max(1.0, abs(ub))


def pm_heuristic(
    med: Median,
    deadline: float,
    *,
    rng: np.random.Generator,
    ils_rounds: int,
    patience: int,
    lagrangian_deadline: float,
) -> tuple[BoolArray, float, float, BoolArray, BoolArray]:
    """Greedy + interchange + ILS for the upper bound, Lagrangian for the lower bound."""
    start = med.greedy()
    best = med.local_search(start, deadline)
    ub = med.cost(best)
    lb, fix0, fix1, lr_open = med.lagrangian(ub, lagrangian_deadline, incumbent=best)
    if lr_open is not None and med.cost(lr_open) < ub:
        cand = med.local_search(lr_open, deadline)
        c = med.cost(cand)
        if c < ub:
            best, ub = cand, c
    if not med._closed(lb, ub):
        best, ub = med.ils(
            best, ub, deadline, rng=rng, max_rounds=ils_rounds, patience=patience, stop_at=lb
        )
    return best, ub, lb, fix0, fix1


@dataclass(frozen=True)
class _Node:
    """A node of the site branch and bound: sites forced open / closed, parent multipliers."""

    bound: float
    forced: BoolArray
    closed: BoolArray
    lam: FloatArray


@dataclass(frozen=True)
class TreeOutcome:
    """Result of `branch_and_bound`."""

    open_mask: BoolArray
    """Best open sites found (the incumbent if nothing better exists)."""
    cost: float
    """Their cost."""
    bound: float
    """Lower bound on the optimum (the cost when `proven`)."""
    proven: bool
    """The tree was exhausted: no solution better than `cost` (within the gap) exists."""
    nodes: int
    """Nodes bounded."""


class _NodeBound:
    """The Lagrangian bound of the p-median restricted to a node (sites ``keep`` only).

    With multipliers ``lam_i`` on ``sum_j x_ij = 1``, site ``j`` earns
    ``rho_j = sum_i min(0, W_ij - lam_i)``; a node with forced-open set ``F1`` and free set
    ``U`` has the bound ``sum_i lam_i + sum_{j in F1} rho_j + (p - |F1|)`` smallest ``rho_j``
    over ``U``. A free site outside that choice cannot be open in a solution below ``cut`` if
    ``L + rho_j - rho_(p) > cut``, nor can a chosen one be closed if
    ``L - rho_j + rho_(p+1) > cut`` (reduced-cost fixing).
    """

    def __init__(self, W: FloatArray, p: int) -> None:
        self.W = W
        self.p = p

    def cost(self, open_local: BoolArray) -> float:
        if not open_local.any():
            return math.inf
        return float(self.W[:, open_local].min(axis=1).sum())

    def run(
        self, node: _Node, cut: float, max_iter: int, target: float
    ) -> tuple[float, FloatArray, BoolArray, BoolArray, BoolArray]:
        """Subgradient ascent; returns bound, multipliers, fix-closed, fix-open, best choice."""
        W = self.W
        forced, closed = node.forced, node.closed
        free = ~forced & ~closed
        free_idx = np.flatnonzero(free)
        k = self.p - int(forced.sum())
        no = np.zeros(W.shape[1], dtype=bool)
        if k < 0 or free_idx.size < k:
            return math.inf, node.lam, no, no, forced
        if k == 0 or free_idx.size == k:  # nothing to choose: the node is one solution
            sel = forced | free
            c = self.cost(sel)
            return c, node.lam, no, no, sel
        lam = node.lam.copy()
        best, best_lam, best_sel = -math.inf, lam, forced
        fix0, fix1 = no.copy(), no.copy()
        theta, stall = 1.0, 0
        buf = np.empty(W.shape)
        for _ in range(max_iter):
            np.subtract(W, lam[:, None], out=buf)
            np.minimum(buf, 0.0, out=buf)
            rho = buf.sum(axis=0)
            rf = rho[free_idx]
            part = np.argpartition(rf, k)[: k + 1] if k < rf.size else np.arange(rf.size)
            part = part[np.argsort(rf[part], kind="stable")]
            chosen = part[:k]
            rho_k = float(rf[chosen[-1]])
            rho_next = float(rf[part[k]]) if part.size > k else math.inf
            sel = forced.copy()
            sel[free_idx[chosen]] = True
            value = float(lam.sum() + rho[forced].sum() + rf[chosen].sum())
            if value > best:
                best, best_lam, best_sel, stall = value, lam.copy(), sel, 0
            else:
                stall += 1
            fix0 |= free & ~sel & (value + rho - rho_k > cut)
            fix1 |= free & sel & (value - rho + rho_next > cut)
            if best > cut or (fix0 & fix1).any():
                break
            g = 1.0 - ((buf < 0) & sel[None, :]).sum(axis=1)
            norm = float(g @ g)
            if norm == 0:  # every client served exactly once: the choice is optimal here
                break
            lam = np.maximum(lam + theta * (target - value) / norm * g, 0.0)
            if stall >= 15:
                theta, stall = theta / 2.0, 0
                if theta < 1e-3:
                    break
        return best, best_lam, fix0, fix1, best_sel


def branch_and_bound(
    med: Median,
    incumbent: BoolArray,
    ub: float,
    fix0: BoolArray,
    fix1: BoolArray,
    *,
    deadline: float,
    mip_rel_gap: float,
    node_iter: int = 300,
) -> TreeOutcome:
    """Prove (or improve) a p-median incumbent by a Lagrangian branch and bound on sites.

    Parameters
    ----------
    med
        The instance.
    incumbent
        Open-site mask of the best known solution, of cost `ub`.
    ub
        Its cost.
    fix0
        Sites that cannot be open in a solution better than `ub` (from `Median.lagrangian`).
    fix1
        Sites that must be open in such a solution.
    deadline
        ``time.perf_counter()`` value at which to stop.
    mip_rel_gap
        Relative gap at which a node counts as closed.
    node_iter
        Subgradient iterations per node at most.

    Returns
    -------
    TreeOutcome
    """
    keep = np.flatnonzero((med.free & ~fix0) | med.fixed)
    nb = _NodeBound(med.W_inf[:, keep], med.p + int(med.fixed[keep].sum()))
    best_mask, best_cost = incumbent.copy(), ub

    def cut_of(cost: float) -> float:
        # below this a node may still hold a better solution (integral costs: by at least 1)
        step = 1.0 - 1e-6 if med.integral else 1e-9 * max(1.0, abs(cost))
        return cost - max(step, mip_rel_gap * abs(cost))

    def beyond(bound: float, cut: float) -> float:
        # a node with no solution of cost <= cut: what its solutions cost at least
        return max(bound, math.floor(cut) + 1.0 if med.integral else cut)

    sorted_w = np.sort(nb.W, axis=1)
    lam0 = np.where(np.isfinite(sorted_w[:, 1]), sorted_w[:, 1], 0.0) if keep.size > 1 else None
    if lam0 is None:
        return TreeOutcome(best_mask, best_cost, best_cost, True, 0)
    forced0 = med.fixed[keep] | fix1[keep]
    heap: list[tuple[float, int, _Node]] = [
        (-math.inf, 0, _Node(-math.inf, forced0, np.zeros(keep.size, dtype=bool), lam0))
    ]
    count = nodes = 0
    pruned = math.inf  # least bound of the nodes discarded as no better than the incumbent
    while heap:
        if not in_time(deadline):
            break
        bound, _, node = heapq.heappop(heap)
        cut = cut_of(best_cost)
        if bound > cut:
            pruned = min(pruned, beyond(bound, cut))
            continue
        nodes += 1
        value, lam, f0, f1, sel = nb.run(node, cut, node_iter, best_cost)
        cost = nb.cost(sel)
        if cost < best_cost:
            best_cost = cost
            best_mask = np.zeros(med.m, dtype=bool)
            best_mask[keep[sel]] = True
            cut = cut_of(best_cost)
            log.debug("p-median tree: new incumbent %.6g at node %d", best_cost, nodes)
        if value > cut or (f0 & f1).any():
            pruned = min(pruned, beyond(value, cut))
            continue
        closed = node.closed | f0
        forced = node.forced | f1
        free_sel = np.flatnonzero(sel & ~forced & ~closed)
        if free_sel.size == 0:  # every chosen site is forced: the node is that one solution
            pruned = min(pruned, cost)
            continue
        rho = np.minimum(nb.W - lam[:, None], 0.0).sum(axis=0)
        j = int(free_sel[np.argmin(rho[free_sel])])  # the most attractive chosen site
        one = np.zeros(keep.size, dtype=bool)
        one[j] = True
        bound = max(value, node.bound)
        for child in (
            _Node(bound, forced | one, closed, lam),
            _Node(bound, forced, closed | one, lam),
        ):
            count += 1
            heapq.heappush(heap, (bound, count, child))
    cut = cut_of(best_cost)
    left = [b if b <= cut else beyond(b, cut) for b, _, _ in heap]
    proven = all(b > cut for b, _, _ in heap)
    lower = min([pruned, best_cost, *left])
    lower = med._round_bound(lower)
    log.debug(
        "p-median tree: %d nodes, cost %.6g, bound %.6g, %s",
        nodes,
        best_cost,
        lower,
        "proven" if proven else "stopped",
    )
    return TreeOutcome(best_mask, best_cost, min(lower, best_cost), proven, nodes)
