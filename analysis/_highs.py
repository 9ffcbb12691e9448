"""The one HiGHS wrapper of gomrac: every MIP and LP of the location models goes through it.

`Mip` gathers a sparse model column- and row-block-wise and passes it to HiGHS (``highspy``) in one
call. Its guards:

* the banner HiGHS prints on file descriptor 1 when the first solver of a process is created is
  hidden (it would corrupt ``--json`` output), and every instance is silent (`new_highs`);
* the reported objective is re-costed from the returned solution; when they disagree (HiGHS 1.16
  with presolve and a start vector once reported a solution whose cost was not its objective, and
  a bound above the optimum), the model is solved again without presolve, and the first solution
  is kept, at its true cost and without a bound, if the second run has none better;
* the time limit is enforced from HiGHS's simplex, IPM and MIP callbacks as well (HiGHS checks it
  coarsely in some phases), and the run time is accounted across a re-solve.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import highspy
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from gomrac.analysis.errors import GomracError
from gomrac.analysis.stopping import current_stop

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
MipStatus = Literal["optimal", "time_limit", "infeasible", "no_solution"]

_HIGHS_LOCK = threading.Lock()
_banner_done = False


def new_highs() -> highspy.Highs:
    """Create a silent HiGHS instance (the first construction prints a banner on fd 1; hide it)."""
    global _banner_done
    with _HIGHS_LOCK:
        if _banner_done:
            h = highspy.Highs()
        else:
            h = _without_stdout(highspy.Highs)
            _banner_done = True
    h.setOptionValue("output_flag", False)
    return h


def _without_stdout(factory: Callable[[], highspy.Highs]) -> highspy.Highs:
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):
        return factory()
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        return factory()
    finally:
        os.dup2(saved, 1)
        os.close(devnull)
        os.close(saved)


def interrupt_when(h: highspy.Highs, should_stop: Callable[[], bool]) -> list[bool]:
    """Interrupt `h` from its simplex, IPM and MIP callbacks once `should_stop()` is True.

    Returns a list that gets an entry when it did (HiGHS may then have no status to give).
    """
    interrupted: list[bool] = []

    def _interrupt(event: highspy.HighsCallbackEvent) -> None:
        if should_stop():
            interrupted.append(True)
            event.interrupt()

    h.cbSimplexInterrupt += _interrupt
    h.cbIpmInterrupt += _interrupt
    h.cbMipInterrupt += _interrupt
    return interrupted


@dataclass
class MipOutcome:
    status: MipStatus
    x: FloatArray | None
    objective: float
    bound: float
    run_s: float


class Mip:
    """A sparse MIP assembled column- and row-block-wise, passed to HiGHS in one call."""

    def __init__(self) -> None:
        self.ncol = 0
        self.nrow = 0
        self.large = False
        self._cost: list[FloatArray] = []
        self._lb: list[FloatArray] = []
        self._ub: list[FloatArray] = []
        self._int: list[npt.NDArray[np.int32]] = []
        self._r: list[IntArray] = []
        self._c: list[IntArray] = []
        self._v: list[FloatArray] = []
        self._rlo: list[FloatArray] = []
        self._rhi: list[FloatArray] = []

    def add_cols(
        self, cost: npt.ArrayLike, lb: npt.ArrayLike, ub: npt.ArrayLike, *, integer: bool
    ) -> IntArray:
        cost_a = np.atleast_1d(np.asarray(cost, dtype=np.float64))
        k = cost_a.shape[0]
        self._cost.append(cost_a)
        self._lb.append(np.broadcast_to(np.asarray(lb, dtype=np.float64), (k,)).copy())
        self._ub.append(np.broadcast_to(np.asarray(ub, dtype=np.float64), (k,)).copy())
        self._int.append(np.full(k, 1 if integer else 0, dtype=np.int32))
        idx = np.arange(self.ncol, self.ncol + k, dtype=np.int64)
        self.ncol += k
        return idx

    def add_rows(
        self,
        lo: npt.ArrayLike,
        hi: npt.ArrayLike,
        rows: npt.ArrayLike,
        cols: npt.ArrayLike,
        vals: npt.ArrayLike,
        *,
        count: int,
    ) -> None:
        """Add `count` rows; `rows` holds local row numbers 0..count-1 of each non-zero."""
        self._rlo.append(np.broadcast_to(np.asarray(lo, dtype=np.float64), (count,)).copy())
        self._rhi.append(np.broadcast_to(np.asarray(hi, dtype=np.float64), (count,)).copy())
        r = np.asarray(rows, dtype=np.int64) + self.nrow
        c = np.asarray(cols, dtype=np.int64)
        v = np.broadcast_to(np.asarray(vals, dtype=np.float64), r.shape).copy()
        self._r.append(r)
        self._c.append(c)
        self._v.append(v)
        self.nrow += count

    @property
    def nnz(self) -> int:
        return int(sum(r.size for r in self._r))

    def solve(
        self,
        *,
        maximize: bool,
        offset: float,
        time_limit_s: float,
        mip_rel_gap: float,
        threads: int | None,
        seed: int,
        start: FloatArray | None = None,
        relax: bool = False,
        presolve: bool | None = None,
    ) -> MipOutcome:
        """Pass the model to HiGHS, optionally with a full start vector, and run it.

        With `relax`, integrality is dropped and HiGHS solves the LP relaxation (a bound).

        Large single-sourcing models (``large=True``) are solved without HiGHS presolve: its
        reductions do not shrink them, and its setup can overrun the time limit by minutes.
        `presolve` forces it on or off.

        The answer is checked: HiGHS 1.16 with presolve and a start vector can report a
        solution whose cost is not the objective it reports (and a bound above the optimum).
        Such a run is repeated without presolve; if that disagrees too, the solution is kept
        at its true cost with no bound.
        """
        if self.ncol == 0:  # HiGHS calls an empty model an error: every row reads 0 <= hi
            rlo0 = np.concatenate(self._rlo) if self._rlo else np.zeros(0)
            rhi0 = np.concatenate(self._rhi) if self._rhi else np.zeros(0)
            if bool(np.all(rlo0 <= 1e-9)) and bool(np.all(rhi0 >= -1e-9)):
                return MipOutcome("optimal", np.zeros(0), float(offset), float(offset), 0.0)
            return MipOutcome("infeasible", None, math.nan, math.nan, 0.0)
        inf = highspy.kHighsInf
        cost = np.concatenate(self._cost) if self._cost else np.zeros(0)
        lb = np.concatenate(self._lb) if self._lb else np.zeros(0)
        ub = np.concatenate(self._ub) if self._ub else np.zeros(0)
        integ = np.concatenate(self._int) if self._int else np.zeros(0, dtype=np.int32)
        if relax:
            integ = np.zeros_like(integ)
        rlo = np.concatenate(self._rlo) if self._rlo else np.zeros(0)
        rhi = np.concatenate(self._rhi) if self._rhi else np.zeros(0)
        if self.nrow:
            a = sp.csr_matrix(
                (np.concatenate(self._v), (np.concatenate(self._r), np.concatenate(self._c))),
                shape=(self.nrow, self.ncol),
            )
            a.sum_duplicates()
            a_start = a.indptr.astype(np.int32)
            a_index = a.indices.astype(np.int32)
            a_value = a.data.astype(np.float64)
        else:
            a_start = np.zeros(1, dtype=np.int32)
            a_index = np.zeros(0, dtype=np.int32)
            a_value = np.zeros(0)
        ub = np.where(np.isinf(ub), inf, ub)
        rlo = np.where(np.isneginf(rlo), -inf, rlo)
        rhi = np.where(np.isposinf(rhi), inf, rhi)
        h = new_highs()
        h.setOptionValue("time_limit", float(max(time_limit_s, 0.01)))
        h.setOptionValue("mip_rel_gap", float(mip_rel_gap))
        h.setOptionValue("random_seed", int(seed))
        if threads is not None:
            h.setOptionValue("threads", int(threads))
        presolve_on = not self.large if presolve is None else presolve
        if not presolve_on:
            h.setOptionValue("presolve", "off")
        status = h.passModel(
            self.ncol,
            self.nrow,
            int(a_value.size),
            int(highspy.MatrixFormat.kRowwise),
            int(highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize),
            float(offset),
            cost,
            lb,
            ub,
            rlo,
            rhi,
            a_start,
            a_index,
            a_value,
            integ,
        )
        if status == highspy.HighsStatus.kError:
            msg = "HiGHS rejected the model (internal error while passing the model)."
            raise GomracError(msg)
        if start is not None:
            h.setSolution(
                self.ncol, np.arange(self.ncol, dtype=np.int32), np.asarray(start, np.float64)
            )
        t0 = time.perf_counter()
        # HiGHS checks its time limit coarsely in some phases; interrupt it from the simplex,
        # IPM and MIP callbacks once the limit is passed by a small grace period, or once the
        # caller asks the solvers to stop (`gomrac.analysis.stopping.stop_when`)
        hard_stop = t0 + float(time_limit_s) + 0.5 + 0.05 * float(time_limit_s)
        asked_to_stop = current_stop()
        interrupted = interrupt_when(h, lambda: time.perf_counter() > hard_stop or asked_to_stop())
        h.run()
        run_s = time.perf_counter() - t0
        ms = h.getModelStatus()
        info = h.getInfo()
        has_x = info.primal_solution_status == 2  # kSolutionStatusFeasible
        is_mip = bool(integ.any())
        obj = float(info.objective_function_value)
        bound = float(info.mip_dual_bound) if is_mip else obj
        x = np.array(h.getSolution().col_value, dtype=np.float64) if has_x else None
        true_obj = float(cost @ x) + float(offset) if x is not None else obj
        if x is not None and abs(true_obj - obj) > 1e-6 * max(1.0, abs(obj)):
            log.warning(
                "HiGHS reported objective %g for a solution of cost %g (presolve %s)",
                obj,
                true_obj,
                "on" if presolve_on else "off",
            )
            no_bound = math.inf if maximize else -math.inf
            first = MipOutcome("time_limit", x, true_obj, no_bound, run_s)
            left = float(time_limit_s) - run_s
            if not presolve_on or left <= 0.05:
                return first
            again = self.solve(
                maximize=maximize,
                offset=offset,
                time_limit_s=left,
                mip_rel_gap=mip_rel_gap,
                threads=threads,
                seed=seed,
                start=start,
                relax=relax,
                presolve=False,
            )
            again.run_s += run_s
            better = again.x is not None and (
                again.objective >= true_obj if maximize else again.objective <= true_obj
            )
            if better:
                return again
            first.run_s = again.run_s
            return first
        mst = highspy.HighsModelStatus
        if interrupted and ms == mst.kNotset:  # stopped before HiGHS had a status to give
            ms = mst.kInterrupt
        if ms == mst.kOptimal:
            return MipOutcome("optimal", x, obj, bound, run_s)
        if ms in (mst.kInfeasible, mst.kUnboundedOrInfeasible):
            return MipOutcome("infeasible", None, math.nan, math.nan, run_s)
        if ms in (
            mst.kTimeLimit,
            mst.kIterationLimit,
            mst.kSolutionLimit,
            mst.kInterrupt,
            mst.kMemoryLimit,
            mst.kObjectiveBound,
            mst.kObjectiveTarget,
        ):
            if x is None:
                return MipOutcome("no_solution", None, math.nan, bound, run_s)
            return MipOutcome("time_limit", x, obj, bound, run_s)
        msg = f"HiGHS failed on the model: {h.modelStatusToString(ms)}."
        raise GomracError(msg)
