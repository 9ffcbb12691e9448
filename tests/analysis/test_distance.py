"""Network distances: sparse Dijkstra against networkx, multi-source nearest, path geometry."""

from __future__ import annotations

from itertools import pairwise

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
from shapely.geometry import LineString, Point

from gomrac.analysis.distance import (
    GraphArrays,
    cost_matrix,
    nearest_source_cost,
    path_line,
    path_nodes,
)
from gomrac.analysis.errors import CRSError, ValidationError
from gomrac.geo.network import routable

X0, Y0 = 600_000.0, 2_300_000.0  # UTM 48N, near Hai Phong


def _grid(n: int = 4, step: float = 100.0, *, oneway_row: bool = True) -> nx.MultiDiGraph:
    """An n×n street grid in UTM metres; the top row is one-way eastbound when `oneway_row`."""
    G = nx.MultiDiGraph(crs="EPSG:32648")
    for i in range(n):
        for j in range(n):
            G.add_node(i * n + j, x=X0 + j * step, y=Y0 + i * step)
    for i in range(n):
        for j in range(n):
            a = i * n + j
            for b in ([a + 1] if j < n - 1 else []) + ([a + n] if i < n - 1 else []):
                G.add_edge(a, b, length=step, travel_time=step / 5)
                if not (oneway_row and i == n - 1 and b == a + 1):
                    G.add_edge(b, a, length=step, travel_time=step / 5)
    return G


def _pts(xy) -> gpd.GeoSeries:
    return gpd.GeoSeries([Point(x, y) for x, y in xy], crs=32648)


def test_cost_matrix__matches_networkx() -> None:
    """On node positions the matrix equals networkx's shortest path lengths, one-ways included."""
    G = _grid()
    A = GraphArrays.from_graph(G)
    nodes = list(G.nodes)
    pts = _pts([(G.nodes[n]["x"], G.nodes[n]["y"]) for n in nodes])
    C = cost_matrix(A, pts, pts)
    ref = dict(nx.all_pairs_dijkstra_path_length(G, weight="length"))
    expected = np.array([[ref[a].get(b, np.inf) for b in nodes] for a in nodes])
    np.testing.assert_allclose(C, expected)
    # the top row is one-way eastbound: going west along it needs a detour of two blocks
    assert C[15, 14] == pytest.approx(300.0)
    assert C[14, 15] == pytest.approx(100.0)


def test_cost_matrix__access_legs_and_limit() -> None:
    """Off-network points add their straight access legs; a limit turns far pairs into inf."""
    G = _grid()
    A = GraphArrays.from_graph(G)
    o = _pts([(X0 - 30, Y0)])  # 30 m west of node 0
    t = _pts([(X0 + 300, Y0 + 40)])  # 40 m north of node 3
    assert cost_matrix(A, o, t)[0, 0] == pytest.approx(30 + 300 + 40)
    assert np.isinf(cost_matrix(A, o, t, limit=200)[0, 0])


def test_cost_matrix__travel_time_units() -> None:
    """With travel_time the access leg is converted at the network's mean speed (5 m/s here)."""
    A = GraphArrays.from_graph(_grid(), weight="travel_time")
    C = cost_matrix(A, _pts([(X0 - 50, Y0)]), _pts([(X0 + 100, Y0)]))
    assert C[0, 0] == pytest.approx(50 / 5 + 100 / 5)


def test_nearest_source_cost__equals_matrix_min() -> None:
    """One multi-source search gives each target the full matrix's minimum, and its source."""
    rng = np.random.default_rng(1)
    G = _grid(8, 50.0)
    A = GraphArrays.from_graph(G)
    sources = _pts(rng.uniform([X0, Y0], [X0 + 350, Y0 + 350], (7, 2)))
    targets = _pts(rng.uniform([X0, Y0], [X0 + 350, Y0 + 350], (200, 2)))
    full = cost_matrix(A, targets, sources)
    cost, which = nearest_source_cost(A, sources, targets)
    np.testing.assert_allclose(cost, full.min(axis=1))
    np.testing.assert_allclose(full[np.arange(200), which], cost)


def test_nearest_source_cost__limit_and_no_source() -> None:
    """Beyond the limit a target is uncovered (inf, −1); with no source nothing is covered."""
    A = GraphArrays.from_graph(_grid())
    cost, which = nearest_source_cost(A, _pts([(X0, Y0)]), _pts([(X0 + 300, Y0 + 300)]), limit=300)
    assert np.isinf(cost[0]) and which[0] == -1
    cost, which = nearest_source_cost(A, _pts([]), _pts([(X0, Y0)]))
    assert np.isinf(cost[0]) and which[0] == -1


def test_snap__requires_metric() -> None:
    """Points in degrees are refused: a wrong radius would be silent."""
    A = GraphArrays.from_graph(_grid())
    with pytest.raises(CRSError):
        A.snap(gpd.GeoSeries([Point(106.7, 20.8)], crs=4326))


def test_path_nodes_and_line__follow_edges() -> None:
    """A path through stops joins shortest legs, and its line runs along the graph's edges."""
    G = _grid()
    A = GraphArrays.from_graph(G)
    nodes = path_nodes(A, [0, 15, 0])
    assert nodes[0] == 0 and nodes[-1] == 0 and 15 in nodes
    for u, v in pairwise(nodes):
        assert G.has_edge(u, v)
    line = path_line(G, nodes)
    expected = sum(G[u][v][0]["length"] for u, v in pairwise(nodes))
    assert line.length == pytest.approx(expected)


def test_path_line__uses_edge_geometry() -> None:
    """A curved edge geometry is followed (and reversed when stored the other way)."""
    G = nx.MultiDiGraph(crs="EPSG:32648")
    G.add_node(1, x=0.0, y=0.0)
    G.add_node(2, x=10.0, y=0.0)
    curve = LineString([(10, 0), (5, 5), (0, 0)])  # stored from 2 to 1
    G.add_edge(1, 2, length=curve.length, geometry=curve)
    line = path_line(G, [1, 2])
    assert line.coords[0] == (0.0, 0.0) and line.coords[-1] == (10.0, 0.0)
    assert line.length == pytest.approx(curve.length)


def test_cost_matrix__real_network_agrees_with_networkx(hanoi_networks) -> None:
    """On the real Hanoi cart network, node-to-node costs equal networkx's Dijkstra."""
    G = hanoi_networks.cart
    A = GraphArrays.from_graph(G)
    rng = np.random.default_rng(0)
    picks = rng.choice(A.nodes, 6, replace=False)
    xy = A.xy[[int(np.nonzero(A.nodes == p)[0][0]) for p in picks]]
    C = cost_matrix(A, _pts(xy), _pts(xy))
    finite = 0
    for i, a in enumerate(picks):
        lengths = nx.single_source_dijkstra_path_length(G, int(a), weight="length")
        for j, b in enumerate(picks):
            assert C[i, j] == pytest.approx(lengths.get(int(b), np.inf), abs=1e-6)
            finite += int(b) in lengths
    assert finite >= 20  # most picked nodes lie in the main component


def _two_roads() -> nx.MultiDiGraph:
    """A 1 km lane at 10 km/h straight from 0 to 1, or 1.5 km of avenue at 50 km/h through 2."""
    G = nx.MultiDiGraph(crs="EPSG:32648")
    G.add_node(0, x=X0, y=Y0)
    G.add_node(1, x=X0 + 1000, y=Y0)
    G.add_node(2, x=X0 + 500, y=Y0 + 560)
    for u, v, metres, kph in [(0, 1, 1000, 10), (0, 2, 750, 50), (2, 1, 750, 50)]:
        for a, b in [(u, v), (v, u)]:
            G.add_edge(a, b, length=metres, travel_time=metres / (kph / 3.6))
    return G


def test_cost_matrix__length_along_fastest_path() -> None:
    """measure='length' gives the metres of the fastest path, not the shortest distance."""
    A = GraphArrays.from_graph(_two_roads(), weight="travel_time")
    ends = _pts([(X0, Y0), (X0 + 1000, Y0)])
    seconds = cost_matrix(A, ends, ends)
    metres = cost_matrix(A, ends, ends, measure="length")
    assert seconds[0, 1] == pytest.approx(1500 / (50 / 3.6))  # the avenue is faster …
    assert metres[0, 1] == pytest.approx(1500.0)  # … and longer than the 1 km lane
    assert metres[1, 0] == pytest.approx(1500.0)
    assert metres[0, 0] == 0.0
    # access legs are metres too, and the limit applies to the minimised time
    off = _pts([(X0 - 20, Y0)])
    assert cost_matrix(A, off, ends, measure="length")[0, 1] == pytest.approx(1520.0)
    assert np.isinf(cost_matrix(A, off, ends, measure="length", limit=60)[0, 1])
    with pytest.raises(ValidationError, match="measure"):
        cost_matrix(A, ends, ends, measure="km")  # type: ignore[arg-type]


def test_cost_matrix__length_unreachable_is_inf() -> None:
    """A node no path reaches stays inf when measured in metres."""
    G = _grid()
    G.add_node(99, x=X0 + 5000, y=Y0)
    A = GraphArrays.from_graph(G, weight="travel_time")
    C = cost_matrix(A, _pts([(X0, Y0)]), _pts([(X0 + 5000, Y0), (X0 + 300, Y0)]), measure="length")
    assert np.isinf(C[0, 0])
    assert C[0, 1] == pytest.approx(300.0)


def test_cost_matrix__length_on_real_network_agrees_with_networkx(hanoi_networks) -> None:
    """On the real Hanoi truck network, metres along fastest paths equal networkx's path lengths."""
    G = routable(hanoi_networks.truck)
    A = GraphArrays.from_graph(G, weight="travel_time")
    rng = np.random.default_rng(1)
    picks = rng.choice(len(A.nodes), 8, replace=False)
    pts = _pts(A.xy[picks])
    metres = cost_matrix(A, pts, pts, measure="length")
    shortest = cost_matrix(GraphArrays.from_graph(G, weight="length"), pts, pts)
    longer = 0
    for i, a in enumerate(A.nodes[picks]):
        paths = nx.single_source_dijkstra_path(G, int(a), weight="travel_time")
        for j, b in enumerate(A.nodes[picks]):
            path = paths[int(b)]
            expected = sum(
                min(G[u][v].values(), key=lambda d: (d["travel_time"], d["length"]))["length"]
                for u, v in pairwise(path)
            )
            assert metres[i, j] == pytest.approx(expected, rel=1e-9, abs=1e-6)
            assert metres[i, j] >= shortest[i, j] - 1e-6
            longer += metres[i, j] > shortest[i, j] + 1
    assert longer > 0  # the fastest path is often not the shortest one


def test_cost_matrix__length_on_a_graph_past_int32_keys() -> None:
    """Metres along fastest paths stay exact past 46,341 nodes (node × n overflows int32)."""
    n = 50_000
    G = nx.MultiDiGraph(crs="EPSG:32648")
    metres = 1.0 + np.arange(n - 1) % 7  # 1 … 7 m, so a wrong edge shows in the sum
    for k in range(n):
        G.add_node(k, x=X0 + k, y=Y0)
    for k in range(n - 1):
        G.add_edge(k, k + 1, length=metres[k], travel_time=metres[k] / 5)
        G.add_edge(k + 1, k, length=metres[k], travel_time=metres[k] / 5)
    A = GraphArrays.from_graph(G, weight="travel_time")
    ends = _pts([(X0, Y0), (X0 + n - 1, Y0)])
    C = cost_matrix(A, ends, ends, measure="length")
    assert C[0, 1] == pytest.approx(metres.sum())
    assert C[1, 0] == pytest.approx(metres.sum())
