"""Capacitated set cover on the Hanoi sample (``gomrac points plan`` with the cover model).

Usage::

    python -m bench.setcover [--time-limit S] [--json] [--formulations cuts,assignment]
                             [--seed 0] [--threads N]

Builds the instance `gomrac.api.points.plan_points` solves for ``--cover-all`` on the Hanoi sample
(real OSM streets and buildings of central Hanoi): demand merged per walk-network node and split
into parts of at most half a point's capacity, candidates on the truck network under the siting
rules, walking distances along the handcart network, 300 m radius, 12 bins of 660 L emptied
twice a day per point. It then solves it with `SetCover.solve` in both formulations under the
same time limit: ``cuts`` (capacity cuts on the uncapacitated cover, the default) and
``assignment`` (the single-sourcing MIP with a variable per unit-site pair, the model used
before). Each row gives the new points, the proven lower bound, the gap and the wall time.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from bench._report import emit, timed

if TYPE_CHECKING:
    from gomrac.api.pipeline import WardData

FORMULATIONS = ("cuts", "assignment")


@dataclass(frozen=True)
class CoverInstance:
    """The capacitated cover instance of a ward, as `plan_points` builds it (no existing points)."""

    cost_m: npt.NDArray[np.float64]
    """Walking metres, model demand units x candidate sites (``inf`` beyond 1 km)."""
    households: npt.NDArray[np.float64]
    """Households per model demand unit."""
    demand_kg: npt.NDArray[np.float64]
    """Waste per model demand unit, kg a day."""
    capacity_kg: npt.NDArray[np.float64]
    """Capacity of each candidate point, kg a day."""
    walk_m: float
    """Walking radius, metres."""


def cover_instance(data: WardData, *, walk_m: float = 300.0) -> CoverInstance:
    """Build the ``--cover-all`` instance of `data` with `plan_points`'s defaults.

    Parameters
    ----------
    data
        A ward or study area loaded with `gomrac.api.pipeline.load_ward_data`.
    walk_m
        Walking radius (metres).

    Returns
    -------
    CoverInstance
    """
    from gomrac.analysis.siting import candidate_sites, point_capacity_kg
    from gomrac.api.points import (
        PointsParams,
        aggregate_by_node,
        model_costs,
        split_large_units,
    )
    from gomrac.geo.crs import to_metric
    from gomrac.geo.network import edges_gdf

    params = PointsParams(walk_m=walk_m)
    per_point = point_capacity_kg(
        bins=params.bins_per_point,
        bin_l=params.bin_l,
        collections_per_day=params.collections_per_day,
        bulk_density_kg_m3=data.params.bulk_density_kg_m3,
    )
    walk = data.walk_arrays
    sensitive = {
        k: to_metric(v)
        for k, v in data.features.layers.items()
        if k in params.rules.exclusion_m and len(v)
    }
    cands, _ = candidate_sites(
        to_metric(edges_gdf(data.require_networks().truck)),
        data.area.metric_geometry(),
        sensitive=sensitive,
        rules=params.rules,
        access="truck",
    )
    agg, _ = aggregate_by_node(data.require_demand(), walk)
    agg = split_large_units(agg, max_kg=per_point / 2)
    cost = model_costs(walk, agg, cands.geometry, limit=max(3 * walk_m, 1000.0))
    return CoverInstance(
        cost_m=np.asarray(cost, dtype=np.float64),
        households=agg["households"].to_numpy(dtype=np.float64),
        demand_kg=agg["waste_kg_day"].to_numpy(dtype=np.float64),
        capacity_kg=np.full(cost.shape[1], per_point),
        walk_m=walk_m,
    )


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        prog="python -m bench.setcover", description=__doc__.split("\n")[0]
    )
    ap.add_argument(
        "--time-limit", type=float, default=60.0, help="per formulation, seconds (default 60)"
    )
    ap.add_argument("--json", action="store_true", help="one JSON object per line")
    ap.add_argument(
        "--formulations",
        default=",".join(FORMULATIONS),
        help="comma-separated subset of: " + ", ".join(FORMULATIONS),
    )
    ap.add_argument("--seed", type=int, default=0, help="HiGHS random seed (default 0)")
    ap.add_argument("--threads", type=int, default=None, help="HiGHS threads (default: HiGHS)")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench and print the table (or JSON lines); return the exit status."""
    args = _parse(argv)
    wanted = [f.strip() for f in args.formulations.split(",") if f.strip()]
    unknown = [f for f in wanted if f not in FORMULATIONS]
    if unknown:
        sys.stderr.write(f"unknown formulations: {', '.join(unknown)}\n")
        return 2
    from gomrac.analysis.location import SetCover
    from gomrac.api.pipeline import load_ward_data
    from gomrac.geo.settings import Settings

    settings = Settings()
    boundary = settings.data_dir / "boundaries" / "hanoi_central_sample_area.geojson"
    data, load_s = timed(lambda: load_ward_data(settings=settings, boundary=boundary))
    inst, build_s = timed(lambda: cover_instance(data))
    model = SetCover.from_cost_matrix(
        inst.cost_m,
        inst.households,
        service_radius_m=inst.walk_m,
        demand_kg=inst.demand_kg,
        capacity_kg=inst.capacity_kg,
    )
    rows: list[dict[str, Any]] = []
    for form in wanted:
        res = model.solve(
            time_limit_s=args.time_limit,
            mip_rel_gap=1e-4,  # as plan_points
            formulation=form,
            seed=args.seed,
            threads=args.threads,
        )
        row: dict[str, Any] = {
            "instance": "hanoi_sample_cover_all",
            "demand_units": inst.cost_m.shape[0],
            "candidates": inst.cost_m.shape[1],
            "formulation": form,
            "time_limit_s": args.time_limit,
            "points": int(res.objective),
            "bound": res.bound,
            "gap_pct": round(100 * res.gap, 3),
            "status": res.status,
            "solve_s": round(res.solve_s, 2),
            "max_load_share": round(
                float(np.max(res.site_load_kg / inst.capacity_kg[res.open_sites])), 4
            ),
            "setup_s": round(load_s + build_s, 1),
        }
        rows.append(row)
        if args.json:
            emit([row], as_json=True)
    if not args.json:
        emit(rows, as_json=False, title=f"Hanoi sample --cover-all, {args.time_limit:g} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
