"""OR-Library p-median benchmark: gomrac's `PMedian` against spopt's `PMedian`.

Usage::

    python -m bench.pmedian [--instances DIR] [--time-limit S] [--json] [--only pmed1,pmed2]
                            [--solvers gomrac,spopt] [--method auto] [--in-process]

Reads Beasley's (1985) OR-Library files (first line ``n edges p``, then ``i j cost`` for
undirected edges; a repeated edge takes the value of its **last** occurrence), builds the
all-pairs shortest-path matrix with ``scipy.sparse.csgraph`` and solves each instance with both
solvers under the same time limit. Every solver run happens in a fresh child process so that
its peak resident memory (``ru_maxrss``) can be reported and one crash does not end the bench.
The protocol is in ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import csv
import math
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import shortest_path

from bench._report import emit, max_rss_mib
from gomrac.geo.settings import REPO_ROOT

DEFAULT_INSTANCES = REPO_ROOT.parent / "shared" / "bench" / "pmedian"


# --------------------------------------------------------------------------------------------
# Instances
# --------------------------------------------------------------------------------------------


def read_instance(path: Path) -> tuple[npt.NDArray[np.float64], int]:
    """Read an OR-Library p-median file; return the shortest-path matrix and p.

    Vertices are numbered from 1 in the file and from 0 in the matrix. Edges are undirected;
    when an edge appears more than once, its last cost wins (the OR-Library convention).
    """
    with Path(path).open(encoding="utf-8") as fh:
        header = fh.readline().split()
        n, _n_edges, p = (int(v) for v in header[:3])
        edges: dict[tuple[int, int], float] = {}
        for line in fh:
            parts = line.split()
            if len(parts) < 3:
                continue
            i, j, c = int(parts[0]) - 1, int(parts[1]) - 1, float(parts[2])
            if i == j:
                continue
            edges[(min(i, j), max(i, j))] = c
    rows = np.fromiter((k[0] for k in edges), dtype=np.int64, count=len(edges))
    cols = np.fromiter((k[1] for k in edges), dtype=np.int64, count=len(edges))
    vals = np.fromiter(edges.values(), dtype=np.float64, count=len(edges))
    graph = sp.csr_matrix((vals, (rows, cols)), shape=(n, n))
    dist = shortest_path(graph, method="D", directed=False)
    return np.asarray(dist, dtype=np.float64), p


def read_bks(path: Path) -> dict[str, dict[str, Any]]:
    """Read ``BKS.csv`` (columns instance, n, best_known, source, ...) keyed by instance."""
    out: dict[str, dict[str, Any]] = {}
    with Path(path).open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            rec: dict[str, Any] = dict(row)
            rec["n"] = int(row["n"])
            rec["best_known"] = float(row["best_known"])
            if row.get("p"):
                rec["p"] = int(row["p"])
            out[row["instance"]] = rec
    return out


def _natural_key(name: str) -> tuple[str, int]:
    digits = "".join(ch for ch in name if ch.isdigit())
    return name.rstrip("0123456789"), int(digits) if digits else 0


# --------------------------------------------------------------------------------------------
# Solver runs (each in a child process)
# --------------------------------------------------------------------------------------------


def run_gomrac(path: Path, time_limit_s: float, method: str) -> dict[str, Any]:
    """Solve one instance with `analysis.location.PMedian`."""
    from gomrac.analysis.location import PMedian

    cost, p = read_instance(path)
    t0 = time.perf_counter()
    model = PMedian.from_cost_matrix(cost, np.ones(cost.shape[0]), p=p)
    res = model.solve(time_limit_s=time_limit_s, method=method)  # type: ignore[arg-type]
    return {
        "objective": res.objective,
        "bound": res.bound,
        "status": res.status,
        "seconds": time.perf_counter() - t0,
    }


def run_spopt(path: Path, time_limit_s: float, method: str) -> dict[str, Any]:
    """Solve one instance with spopt 0.7's `PMedian` through pulp (HiGHS, else CBC)."""
    import pulp
    from spopt.locate import PMedian as SpoptPMedian

    cost, p = read_instance(path)
    t0 = time.perf_counter()
    model = SpoptPMedian.from_cost_matrix(cost, np.ones(cost.shape[0]), p_facilities=p)
    build_s = time.perf_counter() - t0
    if "HiGHS" in pulp.listSolvers(onlyAvailable=True):
        solver: Any = pulp.HiGHS(msg=False, timeLimit=time_limit_s)
        solver_name = "pulp.HiGHS"
    else:
        solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s)
        solver_name = "pulp.PULP_CBC_CMD"
    try:
        model.solve(solver, results=False)
    except RuntimeError as exc:  # spopt raises when pulp reports "not solved"
        return {
            "objective": math.nan,
            "bound": math.nan,
            "status": f"failed: {exc}",
            "seconds": time.perf_counter() - t0,
            "build_s": build_s,
            "solver": solver_name,
        }
    objective = float(pulp.value(model.problem.objective))
    status = pulp.LpStatus[model.problem.status].lower()
    bound = math.nan
    highs = getattr(model.problem, "solverModel", None)
    if highs is not None and hasattr(highs, "getModelStatus"):
        status = highs.modelStatusToString(highs.getModelStatus()).lower().replace(" ", "_")
        bound = float(highs.getInfo().mip_dual_bound)
    return {
        "objective": objective,
        "bound": bound,
        "status": status,
        "seconds": time.perf_counter() - t0,
        "build_s": build_s,
        "solver": solver_name,
    }


SOLVERS: dict[str, Callable[[Path, float, str], dict[str, Any]]] = {
    "gomrac": run_gomrac,
    "spopt": run_spopt,
}


def _child(conn: Connection, name: str, path: Path, time_limit_s: float, method: str) -> None:
    # solver libraries may print banners on fd 1; keep stdout clean for --json
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    try:
        out = SOLVERS[name](path, time_limit_s, method)
    except Exception as exc:  # noqa: BLE001 - report the failure as a row, not a crash
        out = {"objective": math.nan, "bound": math.nan, "status": f"error: {exc!r}"}
    out["peak_rss_mib"] = max_rss_mib()
    conn.send(out)
    conn.close()


def run_isolated(
    name: str, path: Path, time_limit_s: float, method: str, *, grace_s: float = 600.0
) -> dict[str, Any]:
    """Run one solver on one instance in a child process; kill it if it overruns badly."""
    ctx = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, name, path, time_limit_s, method))
    t0 = time.perf_counter()
    proc.start()
    send.close()
    out: dict[str, Any]
    if recv.poll(time_limit_s + grace_s):
        try:
            out = recv.recv()
        except EOFError:
            out = {"objective": math.nan, "bound": math.nan, "status": "crashed"}
    else:
        proc.kill()
        out = {"objective": math.nan, "bound": math.nan, "status": "killed (overran)"}
    proc.join()
    out.setdefault("seconds", time.perf_counter() - t0)
    out.setdefault("peak_rss_mib", math.nan)
    return out


def run_in_process(name: str, path: Path, time_limit_s: float, method: str) -> dict[str, Any]:
    """Run one solver in this process (peak memory is then the process-wide peak so far)."""
    out = SOLVERS[name](path, time_limit_s, method)
    out["peak_rss_mib"] = max_rss_mib()
    return out


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------


def _gap_pct(objective: float, best_known: float) -> float:
    if not math.isfinite(objective) or best_known == 0:
        return math.nan
    return 100.0 * (objective - best_known) / best_known


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.pmedian", description=__doc__.split("\n")[0])
    ap.add_argument(
        "--instances",
        type=Path,
        default=DEFAULT_INSTANCES,
        help=f"folder with pmedN.txt and BKS.csv (default {DEFAULT_INSTANCES})",
    )
    ap.add_argument(
        "--time-limit",
        type=float,
        default=60.0,
        help="time limit per solver and instance, seconds (default 60)",
    )
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    ap.add_argument("--only", default="", help="comma-separated instance names, e.g. pmed1,pmed2")
    ap.add_argument(
        "--solvers", default="gomrac,spopt", help="comma-separated subset of: " + ", ".join(SOLVERS)
    )
    ap.add_argument(
        "--method",
        default="auto",
        choices=["auto", "mip", "heuristic"],
        help="gomrac PMedian.solve method (default auto)",
    )
    ap.add_argument(
        "--in-process",
        action="store_true",
        help="run solvers in this process (no per-run peak memory)",
    )
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench and print the table (or JSON lines); return the exit status."""
    args = _parse(argv)
    folder: Path = args.instances
    bks_path = folder / "BKS.csv"
    if not bks_path.is_file():
        sys.stderr.write(f"no BKS.csv in {folder}; pass --instances DIR\n")
        return 2
    bks = read_bks(bks_path)
    names = sorted((f.stem for f in folder.glob("pmed*.txt")), key=_natural_key)
    if args.only:
        wanted = [s.strip() for s in args.only.split(",") if s.strip()]
        missing = [w for w in wanted if w not in names]
        if missing:
            sys.stderr.write(f"instances not found in {folder}: {', '.join(missing)}\n")
            return 2
        names = [nm for nm in names if nm in wanted]
    solvers = [s.strip() for s in args.solvers.split(",") if s.strip()]
    unknown = [s for s in solvers if s not in SOLVERS]
    if unknown:
        sys.stderr.write(f"unknown solvers: {', '.join(unknown)}\n")
        return 2
    runner = run_in_process if args.in_process else run_isolated
    rows: list[dict[str, Any]] = []
    for name in names:
        path = folder / f"{name}.txt"
        with path.open(encoding="utf-8") as fh:
            n, _, p = (int(v) for v in fh.readline().split()[:3])
        best = bks.get(name, {}).get("best_known", math.nan)
        row: dict[str, Any] = {"instance": name, "n": n, "p": p, "best_known": best}
        for solver in solvers:
            out = runner(solver, path, args.time_limit, args.method)
            obj = round(float(out["objective"]), 6)  # pulp sums floats: 7823.999999999975
            row[f"{solver}_obj"] = obj
            row[f"{solver}_gap_pct"] = _gap_pct(obj, best)
            row[f"{solver}_s"] = float(out["seconds"])
            row[f"{solver}_status"] = out["status"]
            # time to proof: the wall time when the solver proved optimality, else empty
            row[f"{solver}_proof_s"] = (
                float(out["seconds"]) if out["status"] == "optimal" else math.nan
            )
            if solver == "gomrac":
                row["gomrac_bound"] = float(out["bound"])
            if "build_s" in out:
                row[f"{solver}_build_s"] = float(out["build_s"])
            row[f"{solver}_peak_mib"] = float(out["peak_rss_mib"])
        rows.append(row)
        if args.json:
            emit([row], as_json=True)
    if not args.json:
        emit(rows, as_json=False, title=f"OR-Library p-median, time limit {args.time_limit:g} s")
    summary: dict[str, Any] = {"summary": True} if args.json else {}
    summary["instances"] = len(rows)
    for solver in solvers:
        gaps = [r[f"{solver}_gap_pct"] for r in rows if math.isfinite(r[f"{solver}_gap_pct"])]
        summary[f"{solver}_at_bks"] = sum(1 for g in gaps if abs(g) < 1e-9)
        summary[f"{solver}_mean_gap_pct"] = float(np.mean(gaps)) if gaps else math.nan
        summary[f"{solver}_max_gap_pct"] = float(np.max(gaps)) if gaps else math.nan
        summary[f"{solver}_total_s"] = float(sum(r[f"{solver}_s"] for r in rows))
        summary[f"{solver}_proven"] = sum(1 for r in rows if r[f"{solver}_status"] == "optimal")
        proofs = [r[f"{solver}_proof_s"] for r in rows if math.isfinite(r[f"{solver}_proof_s"])]
        summary[f"{solver}_max_proof_s"] = float(max(proofs)) if proofs else math.nan
    emit([summary], as_json=args.json, title="summary")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
