"""Walking coverage over the network, and candidate sites under the siting rules."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import LineString, Point, box

from gomrac.analysis.coverage import walking_coverage
from gomrac.analysis.distance import GraphArrays
from gomrac.analysis.errors import ValidationError
from gomrac.analysis.siting import SitingRules, candidate_sites, exclusion_zones, point_capacity_kg

X0, Y0 = 600_000.0, 2_300_000.0


def _street(n: int = 11, step: float = 50.0) -> nx.MultiDiGraph:
    """One straight two-way street 500 m long along x, nodes every 50 m."""
    G = nx.MultiDiGraph(crs="EPSG:32648")
    for i in range(n):
        G.add_node(i, x=X0 + i * step, y=Y0)
    for i in range(n - 1):
        G.add_edge(i, i + 1, length=step)
        G.add_edge(i + 1, i, length=step)
    return G


def _pts(xs, y=Y0, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(cols, geometry=[Point(X0 + x, y) for x in xs], crs=32648)


def test_walking_coverage__network_distance() -> None:
    """A house 250 m along the street is covered at 300 m; one 400 m along is not."""
    A = GraphArrays.from_graph(_street())
    demand = _pts([250, 400], households=[10.0, 30.0])
    cov = walking_coverage(demand, _pts([0]), A, max_walk_m=300)
    assert cov.walk_m.tolist() == pytest.approx([250, 400])
    assert cov.covered.tolist() == [True, False]
    assert cov.covered_share == pytest.approx(0.25)


def test_walking_coverage__not_straight_line() -> None:
    """A house 20 m from the point as the crow flies but across a block walks around it."""
    G = _street()
    G.add_node(100, x=X0 + 500, y=Y0 + 20)  # a parallel lane reached only from the street's end
    G.add_edge(10, 100, length=20)
    G.add_edge(100, 10, length=20)
    A = GraphArrays.from_graph(G)
    cov = walking_coverage(_pts([500], y=Y0 + 20, households=[1.0]), _pts([500]), A, max_walk_m=10)
    assert cov.walk_m[0] == pytest.approx(20.0)  # via node 10, not snapped across


def test_walking_coverage__by_group_and_stats() -> None:
    """Group shares and household-weighted walks are computed from the same distances."""
    A = GraphArrays.from_graph(_street())
    demand = _pts([50, 100, 450, 500], households=[1.0, 1.0, 2.0, 2.0])
    cov = walking_coverage(demand, _pts([0]), A, max_walk_m=300)
    groups = cov.by_group(np.array(["a", "a", "b", "b"]))
    assert groups.loc["a", "covered_share"] == 1.0
    assert groups.loc["b", "covered_share"] == 0.0
    stats = cov.stats()
    assert stats["mean_walk_m"] == pytest.approx((50 + 100 + 2 * 450 + 2 * 500) / 6)
    assert stats["max_walk_m"] == pytest.approx(500)


def test_walking_coverage__no_points_and_bad_threshold() -> None:
    """With no point nobody is covered; a non-positive threshold is refused."""
    A = GraphArrays.from_graph(_street())
    cov = walking_coverage(_pts([10], households=[5.0]), _pts([]), A)
    assert cov.covered_share == 0.0 and np.isinf(cov.walk_m[0])
    with pytest.raises(ValidationError):
        walking_coverage(_pts([10], households=[5.0]), _pts([0]), A, max_walk_m=0)


def _streets() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["Phố A"], "highway": ["residential"]},
        geometry=[LineString([(X0, Y0), (X0 + 1000, Y0)])],
        crs=32648,
    )


def test_candidate_sites__exclusions_and_spacing() -> None:
    """No candidate within 50 m of the school or 80 m of another candidate or existing point."""
    school = gpd.GeoDataFrame(
        {"name": ["Trường A"]}, geometry=[Point(X0 + 300, Y0 + 10)], crs=32648
    )
    existing = _pts([800])
    area = box(X0 - 10, Y0 - 10, X0 + 1010, Y0 + 10)
    cands, rejected = candidate_sites(
        _streets(),
        area,
        sensitive={"schools": school},
        existing=existing,
        rules=SitingRules(candidate_spacing_m=20),
    )
    assert len(cands) > 5
    assert cands.distance(school.geometry.iloc[0]).min() >= 50
    assert cands.distance(existing.geometry.iloc[0]).min() >= 80
    xy = np.column_stack([cands.geometry.x, cands.geometry.y])
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    assert d[np.triu_indices(len(xy), 1)].min() >= 80
    assert (cands["street"] == "Phố A").all()
    assert rejected["reason"].str.contains("school: Trường A").any()
    zones = exclusion_zones({"schools": school}, SitingRules())
    assert not cands.intersects(zones.union_all()).any()
    # evidence: the school rule was checked against a mapped school; markets, hospitals and
    # water have no mapped site here, so those rules are "no data", never "passed"
    assert (cands["rule_schools"] == "passed").all()
    assert (cands[["rule_markets", "rule_hospitals", "rule_water"]] == "no data").all().all()
    assert (cands["rules_status"] == "no data").all()
    assert "markets ≥ 30 m: no data" in cands["rules"].iloc[0]


def test_candidate_sites__all_rules_with_evidence() -> None:
    """With a mapped site of every kind, every rule of every candidate says passed."""
    far = {
        k: gpd.GeoDataFrame({"name": [k]}, geometry=[Point(X0 + 500, Y0 + 900)], crs=32648)
        for k in SitingRules().exclusion_m
    }
    cands, _ = candidate_sites(_streets(), box(X0 - 10, Y0 - 10, X0 + 1010, Y0 + 10), sensitive=far)
    assert len(cands) > 5
    assert (cands["rules_status"] == "passed").all()
    assert not cands["rules"].str.contains("no data").any()


def test_point_capacity() -> None:
    """12 bins of 660 L at 200 kg/m³, 85% full, twice a day hold 2,692.8 kg."""
    assert point_capacity_kg(bins=12) == pytest.approx(12 * 0.66 * 200 * 0.85 * 2)
    with pytest.raises(ValidationError):
        point_capacity_kg(bins=-1)
