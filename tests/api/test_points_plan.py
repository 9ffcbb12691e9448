"""Gathering-point plans on real streets and buildings (Văn Miếu, Hanoi).

Rules, capacity, coverage.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import osmnx as ox
import pytest

from gomrac.analysis.siting import DEFAULT_EXCLUSION_M, point_capacity_kg
from gomrac.api.points import PointsParams, curve, plan_points
from gomrac.geo.crs import to_metric
from gomrac.geo.network import routable


def _independent_walks(data, points) -> np.ndarray:
    """Walking metres from every demand unit to its nearest point, with networkx (not csgraph)."""
    G = routable(data.networks.cart)
    P = ox.projection.project_graph(G, to_crs="EPSG:32648")
    demand = data.demand
    pts = to_metric(points)
    src = ox.distance.nearest_nodes(P, pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy())
    src_leg = np.hypot(
        pts.geometry.x.to_numpy() - [P.nodes[n]["x"] for n in src],
        pts.geometry.y.to_numpy() - [P.nodes[n]["y"] for n in src],
    )
    # a virtual source joined to each point's node by its access leg
    H = nx.DiGraph()
    for u, v, d in P.edges(data=True):
        if not H.has_edge(v, u) or H[v][u]["length"] > d["length"]:
            H.add_edge(v, u, length=d["length"])  # reversed: walk from a home to a point
    for n, leg in zip(src, src_leg, strict=True):
        if not H.has_edge("src", n) or H["src"][n]["length"] > leg:
            H.add_edge("src", n, length=leg)
    dist = nx.single_source_dijkstra_path_length(H, "src", weight="length")
    homes = ox.distance.nearest_nodes(P, demand.geometry.x.to_numpy(), demand.geometry.y.to_numpy())
    home_leg = np.hypot(
        demand.geometry.x.to_numpy() - [P.nodes[n]["x"] for n in homes],
        demand.geometry.y.to_numpy() - [P.nodes[n]["y"] for n in homes],
    )
    return np.array([dist.get(n, np.inf) for n in homes]) + home_leg


def test_cover_all__coverage_recomputed_independently(vanmieu_data, vanmieu_points) -> None:
    """The printed coverage after the plan equals an independent networkx recomputation."""
    plan = vanmieu_points
    walks = _independent_walks(vanmieu_data, plan.proposed)
    hh = vanmieu_data.demand["households"].to_numpy()
    share = hh[walks <= 300].sum() / hh.sum()
    assert plan.summary["covered_after_pct"] == pytest.approx(100 * share, abs=0.05)
    assert plan.summary["covered_before_pct"] == 0.0  # no existing point given


def test_cover_all__every_uncovered_household_has_a_reason(vanmieu_data, vanmieu_points) -> None:
    """Cover-all leaves out only units no candidate reaches within 300 m, each with its reason."""
    plan = vanmieu_points
    assert plan.summary["status"] == "optimal"
    assert len(plan.uncovered) == int((~plan.after.covered).sum())
    assert plan.uncovered["reason"].str.len().gt(0).all()
    from gomrac.analysis.distance import cost_matrix

    reach = cost_matrix(vanmieu_data.walk_arrays, plan.uncovered.geometry, plan.candidates.geometry)
    assert (reach.min(axis=1) > 300).all()  # truly out of reach of every permitted site
    assert (
        plan.uncovered["reason"].str.contains("no permitted site within 300 m|not reachable").all()
    )


def test_proposed_points__outside_exclusion_zones(vanmieu_data, vanmieu_points) -> None:
    """No proposed point lies within the exclusion distance of a school, hospital, market, …"""
    pts = vanmieu_points.proposed
    assert len(pts) > 5
    for layer, dist in DEFAULT_EXCLUSION_M.items():
        sites = vanmieu_data.features.layers.get(layer)
        if sites is None or sites.empty:
            continue
        d = to_metric(sites).geometry.union_all().distance
        assert min(d(p) for p in pts.geometry) >= dist - 1e-6, layer
    assert not pts.intersects(vanmieu_points.zones.union_all()).any()


def test_proposed_points__within_capacity(vanmieu_points) -> None:
    """No point is assigned more waste a day than its bins hold, and bins match the load."""
    cap = point_capacity_kg(bins=12)
    pts = vanmieu_points.proposed
    assert (pts["kg_per_day"] <= cap + 1e-6).all()
    per_bin = 0.66 * 200 * 0.85 * 2  # 660 L, 200 kg/m³, 85% full, twice a day
    kg = pts["kg_per_day"].to_numpy()  # rounded to 0.1 kg in the output
    assert (pts["bins_660l"] * per_bin >= kg - 0.05).all()
    assert ((pts["bins_660l"] - 1) * per_bin < kg + 0.05).all()
    streams = pts[["food_kg_per_day", "recyclable_kg_per_day", "residual_kg_per_day"]].sum(axis=1)
    np.testing.assert_allclose(streams, pts["kg_per_day"], atol=0.2)


def test_existing_points__kept_and_credited(vanmieu_data, vanmieu_points) -> None:
    """With half the plan's points as existing ones, fewer new points are needed and none moves."""
    existing = vanmieu_points.proposed.iloc[::2].to_crs(4326)
    plan = plan_points(vanmieu_data, existing=existing, params=PointsParams(time_limit_s=30))
    assert plan.summary["covered_before_pct"] > 0
    assert plan.summary["new_points"] < vanmieu_points.summary["new_points"]
    assert plan.summary["covered_after_pct"] >= vanmieu_points.summary["covered_after_pct"] - 1e-6


def test_p_curve__monotone(vanmieu_points) -> None:
    """More new points never cover fewer households, and all of the plan's points cover as much."""
    rows = curve(vanmieu_points, params=PointsParams(), p_values=[1, 3, 6, 12])
    shares = [r["covered_pct"] for r in rows]
    assert shares == sorted(shares)
    assert shares[0] < shares[-1]
    n = vanmieu_points.summary["new_points"]
    full = curve(vanmieu_points, params=PointsParams(), p_values=[n])[0]["covered_pct"]
    assert full >= shares[-1]


def test_pmedian__objective_is_weighted_walk(vanmieu_data) -> None:
    """The p-median objective is the household-weighted walk of its assignment; all units served."""
    plan = plan_points(vanmieu_data, params=PointsParams(model="pmedian", p=12, time_limit_s=30))
    res = plan.result
    assert len(res.new_sites) == 12
    hh = plan.model_demand["households"].to_numpy()
    ok = res.assignment >= 0
    assert ok.sum() + len(res.infeasible) == len(hh)
    assert res.objective == pytest.approx(float((hh[ok] * res.distance_m[ok]).sum()), rel=1e-6)
    assert res.bound <= res.objective + 1e-6


def test_pmedian__too_few_points_for_the_waste(vanmieu_data) -> None:
    """Six points of 2.7 t cannot take ~30 t a day: a clear infeasibility, not a wrong plan."""
    from gomrac.analysis.errors import InfeasibleError

    with pytest.raises(InfeasibleError, match="cannot hold the waste"):
        plan_points(vanmieu_data, params=PointsParams(model="pmedian", p=6, time_limit_s=10))


def test_groups_file__used_for_coverage(settings, vanmieu_boundary, tmp_path) -> None:
    """Residential groups from a file replace the estimated ones in the plan's group table."""
    import geopandas as gpd
    from shapely.geometry import box

    from gomrac.api.pipeline import load_ward_data
    from gomrac.geo.layers import read_layer

    path = tmp_path / "to_dan_pho.geojson"
    gpd.GeoDataFrame(
        {"Tên tổ": ["Tổ 1", "Tổ 2"], "số hộ": [100, 200]},
        geometry=[
            box(105.8268, 21.0233, 105.8329, 21.0303),
            box(105.8329, 21.0233, 105.8390, 21.0303),
        ],
        crs=4326,
    ).to_file(path)
    groups = read_layer(path, kind="groups")
    groups["group_id"] = range(len(groups))
    data = load_ward_data(boundary=vanmieu_boundary, groups=groups, settings=settings)
    plan = plan_points(data, params=PointsParams(time_limit_s=20))
    assert list(plan.groups_table["name"]) == ["Tổ 1", "Tổ 2"]
    assert plan.groups_table["households"].sum() == pytest.approx(data.demand["households"].sum())
