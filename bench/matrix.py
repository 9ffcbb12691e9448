"""Distance-matrix speed: gomrac's blocked sparse Dijkstra against one-source-at-a-time networkx.

    python -m bench.matrix [--points 1000] [--boundary FILE] [--json]

On the largest network available offline (the central-Hanoi extract): a travel-time matrix
between N random points on the truck network, and the walking-distance matrix between the
area's demand units and its candidate gathering points on the handcart network.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np

from bench._report import emit, measure
from gomrac.analysis.distance import GraphArrays, cost_matrix
from gomrac.geo.settings import settings_from_env


def _random_points(arrays: GraphArrays, n: int, seed: int = 0) -> gpd.GeoSeries:
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(arrays.nodes), size=n, replace=len(arrays.nodes) < n)
    jitter = rng.normal(0, 10, (n, 2))
    xy = arrays.xy[idx] + jitter
    return gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=32648)


def _networkx_matrix(
    G: nx.MultiDiGraph, nodes: list[int], weight: str, limit_sources: int
) -> float:
    """Seconds per source of networkx single-source Dijkstra, timed on `limit_sources` sources."""
    t0 = time.perf_counter()
    for s in nodes[:limit_sources]:
        nx.single_source_dijkstra_path_length(G, s, weight=weight)
    return (time.perf_counter() - t0) / max(1, min(limit_sources, len(nodes)))


def main(argv: list[str] | None = None) -> None:
    """Run both measurements and print the table."""
    from gomrac.analysis.siting import DEFAULT_EXCLUSION_M, candidate_sites
    from gomrac.api.pipeline import load_ward_data
    from gomrac.geo.crs import to_metric
    from gomrac.geo.network import edges_gdf

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--points", type=int, default=1000)
    p.add_argument("--boundary", type=Path)
    p.add_argument("--nx-sources", type=int, default=50, help="sources timed for networkx")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    settings = settings_from_env(offline=True)
    boundary = (
        args.boundary or settings.data_dir / "boundaries" / "hanoi_central_sample_area.geojson"
    )
    data = load_ward_data(boundary=boundary, settings=settings)
    nets = data.require_networks()
    rows = []
    truck = GraphArrays.from_graph(nets.truck, weight="travel_time")
    pts = _random_points(truck, args.points)
    with measure() as m:
        C = cost_matrix(truck, pts, pts)
    idx, _ = truck.snap(pts)
    src_nodes = [int(truck.nodes[i]) for i in idx]
    per_source = _networkx_matrix(nets.truck, src_nodes, "travel_time", args.nx_sources)
    rows.append(
        {
            "matrix": f"truck travel time {args.points}x{args.points}",
            "graph_nodes": len(truck.nodes),
            "graph_edges": truck.matrix.nnz,
            "gomrac_s": round(m.seconds, 3),
            "gomrac_peak_mib": round(m.peak_mib, 1),
            "networkx_s_est": round(per_source * args.points, 2),
            "networkx_timed_sources": min(args.nx_sources, args.points),
            "speedup": round(per_source * args.points / m.seconds, 1),
            "finite_share": round(float(np.isfinite(C).mean()), 4),
        }
    )
    with measure() as m:
        cost_matrix(truck, pts, pts, measure="length")
    rows.append(
        {
            "matrix": f"truck km along fastest paths {args.points}x{args.points}",
            "graph_nodes": len(truck.nodes),
            "graph_edges": truck.matrix.nnz,
            "gomrac_s": round(m.seconds, 3),
            "gomrac_peak_mib": round(m.peak_mib, 1),
        }
    )
    walk = GraphArrays.from_graph(nets.cart)
    demand = data.require_demand()
    sens = {k: to_metric(v) for k, v in data.features.layers.items() if k in DEFAULT_EXCLUSION_M}
    cands, _ = candidate_sites(
        to_metric(edges_gdf(nets.truck)), data.area.metric_geometry(), sensitive=sens
    )
    with measure() as m:
        W = cost_matrix(walk, demand.geometry, cands.geometry)
    idx, _ = walk.snap(demand.geometry)
    per_source = _networkx_matrix(
        nets.cart, [int(walk.nodes[i]) for i in idx], "length", args.nx_sources
    )
    rows.append(
        {
            "matrix": f"walk demand x candidates {len(demand)}x{len(cands)}",
            "graph_nodes": len(walk.nodes),
            "graph_edges": walk.matrix.nnz,
            "gomrac_s": round(m.seconds, 3),
            "gomrac_peak_mib": round(m.peak_mib, 1),
            "networkx_s_est": round(per_source * len(demand), 2),
            "networkx_timed_sources": min(args.nx_sources, len(demand)),
            "speedup": round(per_source * len(demand) / m.seconds, 1),
            "finite_share": round(float(np.isfinite(W).mean()), 4),
        }
    )
    with measure() as m:
        cost_matrix(walk, demand.geometry, cands.geometry, limit=300.0)
    rows.append(
        {
            "matrix": "walk demand x candidates, 300 m limit",
            "graph_nodes": len(walk.nodes),
            "graph_edges": walk.matrix.nnz,
            "gomrac_s": round(m.seconds, 3),
            "gomrac_peak_mib": round(m.peak_mib, 1),
        }
    )
    emit(rows, as_json=args.json, title=f"Distance matrices on {data.area.name}")


if __name__ == "__main__":
    main()
