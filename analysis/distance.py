"""Network distances and travel times, vectorised over many origins at once.

A graph is turned once into a sparse matrix (`GraphArrays`); shortest paths then run in C with
`scipy.sparse.csgraph.dijkstra`, from all origins in one call (in blocks, to bound memory),
instead of one networkx call per pair. Points are snapped to their nearest graph node; the
straight access leg from the point to that node is added to every distance (at walking or
driving speed for travel times), so two points on one long street are not counted as zero apart.

Inputs are metric (EPSG:32648) GeoSeries; graphs are osmnx graphs with node ``x``/``y`` in the
CRS named by ``G.graph["crs"]``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import shapely
import shapely.ops
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree
from shapely.geometry import LineString

from gomrac.analysis._validate import require_metric
from gomrac.analysis.errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import networkx as nx

log = logging.getLogger(__name__)

Weight = Literal["length", "travel_time"]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Origins per Dijkstra block: bounds memory at block × nodes × 8 bytes.
BLOCK = 256


@dataclass(frozen=True)
class GraphArrays:
    """A graph as arrays: node ids, projected node coordinates and a sparse weight matrix.

    Attributes
    ----------
    nodes
        Graph node ids, in matrix order.
    xy
        Node coordinates in metres (EPSG:32648), shape (n, 2).
    matrix
        CSR matrix; ``matrix[i, j]`` is the smallest `weight` over parallel edges i → j.
    weight
        ``length`` (metres) or ``travel_time`` (seconds).
    speed_m_s
        Speed used for the straight access leg when `weight` is a time (metres per second).
    lengths
        Length in metres of the edge behind each stored entry of `matrix` (aligned with
        ``matrix.data``), so a path chosen by time can be measured in metres.
    """

    nodes: IntArray
    xy: FloatArray
    matrix: csr_array
    weight: Weight
    speed_m_s: float
    lengths: FloatArray

    @classmethod
    def from_graph(cls, G: nx.MultiDiGraph, *, weight: Weight = "length") -> GraphArrays:
        """Build the arrays of an osmnx graph.

        Parameters
        ----------
        G
            Graph with node ``x``/``y`` and edge `weight` attributes.
        weight
            Edge attribute to minimise.
        """
        nodes = np.fromiter(G.nodes, dtype=np.int64, count=len(G))
        index = {n: i for i, n in enumerate(nodes.tolist())}
        lon = np.fromiter((G.nodes[n]["x"] for n in nodes.tolist()), float, len(nodes))
        lat = np.fromiter((G.nodes[n]["y"] for n in nodes.tolist()), float, len(nodes))
        pts = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs=G.graph.get("crs", "EPSG:4326"))
        pts = pts.to_crs("EPSG:32648") if not pts.crs.is_projected else pts
        xy = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
        m = G.number_of_edges()
        rows = np.empty(m, np.int64)
        cols = np.empty(m, np.int64)
        vals = np.empty(m, float)
        lengths = np.empty(m, float)
        for k, (u, v, d) in enumerate(G.edges(data=True)):
            rows[k], cols[k] = index[u], index[v]
            vals[k] = float(d[weight])
            lengths[k] = float(d.get("length", d[weight]))
        # keep the cheapest of parallel edges (the shorter on a tie): sort so the first one wins
        order = np.lexsort((lengths, vals, cols, rows))
        rows, cols, vals, lengths = rows[order], cols[order], vals[order], lengths[order]
        first = np.ones(m, bool)
        first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
        rows, cols, vals, lengths = rows[first], cols[first], vals[first], lengths[first]
        # csgraph treats explicit zeros as missing edges: use a tiny positive cost instead
        vals = np.where(vals <= 0, 1e-9, vals)
        # CSR built from its parts: entries stay in (row, col) order, aligned with `lengths`
        indptr = np.searchsorted(rows, np.arange(len(nodes) + 1))
        matrix = csr_array((vals, cols, indptr), shape=(len(nodes), len(nodes)))
        if weight == "travel_time":
            total_t = vals.sum()
            speed = float(lengths.sum() / total_t) if total_t > 0 else 1.0
        else:
            speed = 1.0
        return cls(
            nodes=nodes, xy=xy, matrix=matrix, weight=weight, speed_m_s=speed, lengths=lengths
        )

    def tree_lengths(self, costs: FloatArray, predecessors: IntArray) -> FloatArray:
        """Metres from each search root to every node along its shortest-path tree.

        Parameters
        ----------
        costs, predecessors
            ``(k, n)`` distances and predecessors from `scipy.sparse.csgraph.dijkstra` on
            `matrix` (predecessors negative at the root and where a node is unreachable).

        Returns
        -------
        numpy.ndarray
            ``(k, n)`` path lengths in metres (0 at the root, ``inf`` where unreachable).
        """
        k, n = predecessors.shape
        has = predecessors >= 0
        col = np.broadcast_to(np.arange(n), (k, n))
        # the tree edge pred -> v is found by its (row, col) key among the sorted CSR entries
        row_of = np.repeat(np.arange(n), np.diff(self.matrix.indptr))
        keys = row_of * n + self.matrix.indices
        total = np.zeros((k, n))
        # int64: scipy's int32 predecessors times n overflow beyond 46,340 nodes
        key = predecessors[has].astype(np.int64) * n + col[has]
        total[has] = self.lengths[np.searchsorted(keys, key)]
        # pointer jumping: after round r, `up` is the 2^r-th ancestor and `total` the metres to
        # it; roots (and unreachable nodes) point at themselves with 0 m, so all ends at a root
        up = np.where(has, predecessors, col)
        while True:
            total += np.take_along_axis(total, up, axis=1)
            nxt = np.take_along_axis(up, up, axis=1)
            if np.array_equal(nxt, up):
                break
            up = nxt
        return np.where(np.isinf(costs), np.inf, total)

    def snap(self, points: gpd.GeoSeries) -> tuple[IntArray, FloatArray]:
        """Nearest node (matrix index) of each metric point and the straight distance to it (m)."""
        require_metric(points, "points")
        if len(points) == 0:
            return np.empty(0, np.int64), np.empty(0, float)
        if points.is_empty.any() or points.isna().any():
            msg = "points contain empty or missing geometries"
            raise ValidationError(msg)
        xy = np.column_stack([points.x.to_numpy(), points.y.to_numpy()])
        dist, idx = cKDTree(self.xy).query(xy)
        return idx.astype(np.int64), dist.astype(float)

    def access_cost(self, snap_m: FloatArray) -> FloatArray:
        """Return the cost of the straight access legs, in the units of `weight`."""
        return snap_m if self.weight == "length" else snap_m / self.speed_m_s


def cost_matrix(
    arrays: GraphArrays,
    origins: gpd.GeoSeries,
    targets: gpd.GeoSeries,
    *,
    limit: float = np.inf,
    include_access: bool = True,
    measure: Literal["weight", "length"] = "weight",
) -> FloatArray:
    """Shortest-path costs from every origin to every target over the network.

    Parameters
    ----------
    arrays
        The graph, from `GraphArrays.from_graph`.
    origins, targets
        Points in EPSG:32648.
    limit
        Stop searching beyond this cost (metres or seconds): farther pairs are ``inf``. A finite
        limit makes coverage matrices (300 m walks) much faster.
    include_access
        Add the straight legs from each point to its snapped node.
    measure
        ``weight``: the minimised cost itself. ``length``: the metres of the paths that
        minimise the weight (a truck's kilometres along its fastest paths, so distance and
        time describe the same drive); `limit` still applies to the weight.

    Returns
    -------
    numpy.ndarray
        ``(len(origins), len(targets))`` costs in metres or seconds; ``inf`` = unreachable.
    """
    if measure not in ("weight", "length"):
        msg = f"measure must be 'weight' or 'length', not {measure!r}"
        raise ValidationError(msg)
    t0 = time.perf_counter()
    o_idx, o_snap = arrays.snap(origins)
    t_idx, t_snap = arrays.snap(targets)
    in_metres = measure == "length" and arrays.weight != "length"
    unique_o, inverse = np.unique(o_idx, return_inverse=True)
    cost = np.empty((len(o_idx), len(t_idx)), float)  # the minimised weight
    # what is returned: the metres along those paths, or the weight itself
    out = np.empty_like(cost) if in_metres else cost
    for start in range(0, len(unique_o), BLOCK):
        block = unique_o[start : start + BLOCK]
        rows = np.nonzero((inverse >= start) & (inverse < start + len(block)))[0]
        if in_metres:
            dist, pred = dijkstra(
                arrays.matrix, directed=True, indices=block, limit=limit, return_predecessors=True
            )
            out[rows] = arrays.tree_lengths(dist, pred)[:, t_idx][inverse[rows] - start]
        else:
            dist = dijkstra(arrays.matrix, directed=True, indices=block, limit=limit)
        cost[rows] = dist[:, t_idx][inverse[rows] - start]
    if include_access:
        cost += arrays.access_cost(o_snap)[:, None] + arrays.access_cost(t_snap)[None, :]
        if in_metres:
            out += o_snap[:, None] + t_snap[None, :]
    if np.isfinite(limit):
        out[cost > limit] = np.inf
    log.info(
        "cost_matrix: %d x %d %s%s on %d nodes in %.2f s",
        len(o_idx),
        len(t_idx),
        arrays.weight,
        " (measured in metres)" if in_metres else "",
        len(arrays.nodes),
        time.perf_counter() - t0,
    )
    return out


def nearest_source_cost(
    arrays: GraphArrays,
    sources: gpd.GeoSeries,
    targets: gpd.GeoSeries,
    *,
    limit: float = np.inf,
) -> tuple[FloatArray, IntArray]:
    """Cost from each target to its nearest source, in one multi-source Dijkstra.

    The search runs on the reversed graph from all sources at once, so the cost is that of the
    walk *from* the target *to* the source (the direction a resident walks). Access legs are
    included at both ends.

    Returns
    -------
    tuple
        ``(cost, source)``: cost per target (``inf`` when no source is reachable within `limit`)
        and the position in `sources` of the nearest one (−1 when none).
    """
    t0 = time.perf_counter()
    n_t = len(targets)
    if len(sources) == 0:
        return np.full(n_t, np.inf), np.full(n_t, -1, np.int64)
    s_idx, s_snap = arrays.snap(sources)
    t_idx, t_snap = arrays.snap(targets)
    s_acc = arrays.access_cost(s_snap)
    t_acc = arrays.access_cost(t_snap)
    # several sources may share a node: keep the one with the shortest access leg
    order = np.lexsort((s_acc, s_idx))
    first = np.ones(len(order), bool)
    first[1:] = s_idx[order][1:] != s_idx[order][:-1]
    keep = order[first]
    # Access legs of the sources differ, so add a virtual super-source with edges of that cost.
    n = arrays.matrix.shape[0]
    coo = arrays.matrix.T.tocoo()  # reversed graph: walk from target to source
    rows = np.concatenate([coo.row, np.full(len(keep), n)])
    cols = np.concatenate([coo.col, s_idx[keep]])
    vals = np.concatenate([coo.data, np.maximum(s_acc[keep], 1e-9)])
    big = csr_array((vals, (rows, cols)), shape=(n + 1, n + 1))
    dist, preds = dijkstra(big, directed=True, indices=[n], limit=limit, return_predecessors=True)
    dist, preds = np.asarray(dist).ravel(), np.asarray(preds).ravel()
    # which source each node hangs from: the ancestor just below the super-source
    owner = _tree_owner(preds, n)
    node_to_source = np.full(n + 1, -1, np.int64)
    node_to_source[s_idx[keep]] = keep
    cost = dist[t_idx] + t_acc
    which = np.where(owner[t_idx] >= 0, node_to_source[np.maximum(owner[t_idx], 0)], -1)
    unreachable = ~np.isfinite(cost) | (cost > limit)
    cost[unreachable] = np.inf
    which[unreachable] = -1
    log.info(
        "nearest_source_cost: %d sources -> %d targets on %d nodes in %.2f s",
        len(sources),
        n_t,
        n,
        time.perf_counter() - t0,
    )
    return cost, which


def _tree_owner(preds: IntArray, root: int) -> IntArray:
    """For each node of a shortest-path tree from a virtual root, its ancestor just below the root.

    Nodes outside the tree get −1. Pointer jumping: log(depth) vectorised passes.
    """
    parent = preds.astype(np.int64).copy()
    entry = parent == root  # the nodes the root's own edges lead to
    parent[entry] = np.nonzero(entry)[0]
    unreached = parent < 0
    parent[unreached] = np.nonzero(unreached)[0]
    parent[root] = root
    for _ in range(64):
        nxt = parent[parent]
        if np.array_equal(nxt, parent):
            break
        parent = nxt
    owner = np.where(entry[parent], parent, -1)
    owner[root] = -1
    return owner


def path_nodes(arrays: GraphArrays, stops: Sequence[int]) -> list[int]:
    """Node ids of the shortest path through a sequence of node ids (consecutive legs joined).

    Raises
    ------
    ValidationError
        If a leg has no path.
    """
    index = {int(n): i for i, n in enumerate(arrays.nodes.tolist())}
    idx = [index[int(s)] for s in stops]
    uniq = sorted(set(idx[:-1]))
    if not uniq:
        return [int(s) for s in stops]
    _, preds = dijkstra(arrays.matrix, directed=True, indices=uniq, return_predecessors=True)
    row_of = {u: r for r, u in enumerate(uniq)}
    out: list[int] = [idx[0]]
    for a, b in pairwise(idx):
        if a == b:
            continue
        leg = [b]
        pred = preds[row_of[a]]
        while leg[-1] != a:
            p = pred[leg[-1]]
            if p < 0:
                msg = f"no path between nodes {arrays.nodes[a]} and {arrays.nodes[b]}"
                raise ValidationError(msg)
            leg.append(int(p))
        out.extend(reversed(leg[:-1]))
    return [int(arrays.nodes[i]) for i in out]


def path_line(G: nx.MultiDiGraph, nodes: Sequence[int], *, weight: Weight = "length") -> LineString:
    """Build the geometry of a node path, following each edge's own geometry (graph CRS).

    Between consecutive nodes the cheapest parallel edge by `weight` is used, the one the
    shortest-path search took; its ``geometry`` (or the straight segment for an edge without
    one) is oriented from u to v.
    """
    coords: list[tuple[float, float]] = []
    if len(nodes) == 1:
        n = G.nodes[nodes[0]]
        return LineString([(n["x"], n["y"]), (n["x"], n["y"])])
    for u, v in pairwise(nodes):
        data = min(G[u][v].values(), key=lambda d: (d.get(weight, 0.0), d.get("length", 0.0)))
        if "geometry" in data:
            part = list(data["geometry"].coords)
            start = (G.nodes[u]["x"], G.nodes[u]["y"])
            if _sqdist(part[-1], start) < _sqdist(part[0], start):
                part.reverse()
        else:
            part = [(G.nodes[u]["x"], G.nodes[u]["y"]), (G.nodes[v]["x"], G.nodes[v]["y"])]
        coords.extend(part if not coords else part[1:])
    return LineString(coords)


def _sqdist(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2


@dataclass(frozen=True)
class TruckStops:
    """Where the truck stops for each gathering point: a node on a street of the truck network.

    `graph` is the truck network with a node inserted where each stop falls on a street (the
    street's edges split there, both ways on a two-way street), so the truck's kilometres and
    times between stops are those of the drawn street lines. The crew walks between the stop and
    the point (`walk_m`, along the walk network).
    """

    graph: nx.MultiDiGraph
    node: IntArray  # the stop's node id in `graph`; -1 when no street is within reach
    walk_m: FloatArray  # the crew's walk from the point to its stop, metres (inf: none)
    straight_m: FloatArray  # straight distance from the point to the nearest truck street
    reasons: tuple[str | None, ...]  # why a point has no stop (None when it has one)
    straight_walk: npt.NDArray[np.bool_]  # the walk is the straight line (no building in between)

    @property
    def reachable(self) -> npt.NDArray[np.bool_]:
        """Return which points have a stop within the walking limit."""
        return self.node >= 0


def truck_stops(
    G: nx.MultiDiGraph,
    walk: GraphArrays,
    points_m: gpd.GeoSeries,
    *,
    max_walk_m: float,
    obstacles: gpd.GeoSeries | None = None,
) -> TruckStops:
    """Choose for each gathering point the place on a truck street its crew walks to.

    The candidates are the points of the truck network's streets within `max_walk_m` of the
    gathering point in a straight line, one per street edge (the edge's point nearest to it);
    the stop is the candidate with the shortest walk. The walk is the straight line when no
    obstacle (a building footprint) stands between the point and the street, else the path along
    the walk network; so a point on a street is served where it stands, and an alley system
    behind a row of houses and reached only by a footway does not count as near. A point with no
    candidate within `max_walk_m` on foot gets no stop and a reason naming the nearest street.

    Parameters
    ----------
    G
        The truck network (osmnx graph, EPSG:4326 coordinates), every node reaching every
        other (`gomrac.geo.network.routable`).
    walk
        The walk network in metres.
    points_m
        Gathering points, in the projected CRS of `walk` (EPSG:32648).
    max_walk_m
        Farthest the crew wheels the bins, metres on foot.
    obstacles
        Polygons a straight walk may not cross (building footprints), same CRS as `points_m`.

    Returns
    -------
    TruckStops
        A copy of `G` with the stops inserted, and each point's stop and walk.
    """
    require_metric(points_m, "points_m")
    keys = list(G.edges(keys=True))
    lines = [_edge_line(G, u, v, k) for u, v, k in keys]
    crs = G.graph.get("crs", "EPSG:4326")
    metric = gpd.GeoSeries(lines, crs=crs).to_crs(points_m.crs).to_numpy()
    tree = shapely.STRtree(metric)
    pts = points_m.reset_index(drop=True).to_numpy()
    near_idx, near_m = tree.query_nearest(pts, return_distance=True, all_matches=False)
    straight = np.full(len(pts), np.inf)
    straight[near_idx[0]] = near_m
    p_of, e_of = tree.query(pts, predicate="dwithin", distance=max_walk_m)
    offsets = shapely.line_locate_point(metric[e_of], pts[p_of])
    proj = shapely.line_interpolate_point(metric[e_of], offsets)
    walk_m = cost_matrix(
        walk, gpd.GeoSeries(pts, crs=points_m.crs), gpd.GeoSeries(proj, crs=points_m.crs)
    )
    pair_walk = walk_m[p_of, np.arange(len(p_of))]
    straight_pair = shapely.distance(pts[p_of], proj)
    clear = np.ones(len(p_of), bool)
    if obstacles is not None and len(obstacles):
        segments = shapely.linestrings(
            np.stack([shapely.get_coordinates(pts[p_of]), shapely.get_coordinates(proj)], axis=1)
        )
        crossed, _ = shapely.STRtree(obstacles.to_numpy()).query(segments, predicate="crosses")
        clear[crossed] = False
    pair_straight = clear & (straight_pair <= pair_walk)
    pair_walk = np.where(pair_straight, straight_pair, pair_walk)
    chosen: dict[int, tuple[int, float]] = {}  # point → (edge, offset in metres)
    where: dict[int, int] = {}  # point → its pair
    best = np.full(len(pts), np.inf)
    straight_walk = np.zeros(len(pts), bool)
    for k in np.argsort(pair_walk, kind="stable"):
        p = int(p_of[k])
        if p not in chosen and pair_walk[k] <= max_walk_m:
            chosen[p] = (int(e_of[k]), float(offsets[k]))
            where[p] = int(k)
            best[p] = float(pair_walk[k])
            straight_walk[p] = bool(pair_straight[k])
    # the stops' positions in the graph's CRS, exactly where the walk ends
    on_graph = gpd.GeoSeries(proj[[where[p] for p in chosen]], crs=points_m.crs).to_crs(crs)
    position = dict(zip(chosen, on_graph.to_numpy(), strict=True))
    G2, node_of = _split_edges(G, keys, lines, metric, chosen, position)
    node = np.full(len(pts), -1, dtype=np.int64)
    reasons: list[str | None] = []
    for p in range(len(pts)):
        if p in chosen:
            node[p] = node_of[p]
            reasons.append(None)
        else:
            reasons.append(
                f"no truck street within {max_walk_m:g} m on foot (the nearest is "
                f"{straight[p]:.0f} m away in a straight line)"
            )
    log.info(
        "truck_stops: %d of %d points reach a truck street within %.0f m on foot",
        len(chosen),
        len(pts),
        max_walk_m,
    )
    return TruckStops(G2, node, best, straight, tuple(reasons), straight_walk)


def _edge_line(G: nx.MultiDiGraph, u: int, v: int, k: int) -> LineString:
    """Return the edge's geometry oriented from u to v (graph CRS)."""
    data = G.edges[u, v, k]
    start = (G.nodes[u]["x"], G.nodes[u]["y"])
    end = (G.nodes[v]["x"], G.nodes[v]["y"])
    if "geometry" not in data:
        return LineString([start, end])
    coords = list(data["geometry"].coords)
    if _sqdist(coords[-1], start) < _sqdist(coords[0], start):
        coords.reverse()
    return LineString(coords)


def _split_edges(
    G: nx.MultiDiGraph,
    keys: list[tuple[int, int, int]],
    lines: list[LineString],
    metric: npt.NDArray[np.object_],
    chosen: dict[int, tuple[int, float]],
    position: dict[int, shapely.Point],
) -> tuple[nx.MultiDiGraph, dict[int, int]]:
    """Copy `G` with a node at each chosen point of an edge, that edge (and its twin) split."""
    G2 = G.copy()
    next_id = max(int(n) for n in G.nodes) + 1
    by_edge: dict[int, list[tuple[float, int]]] = {}
    for p, (e, off) in chosen.items():
        by_edge.setdefault(e, []).append((off, p))
    node_of: dict[int, int] = {}
    index = {key: i for i, key in enumerate(keys)}
    done: set[int] = set()
    for e in sorted(by_edge):
        if e in done:  # the twin of a street already split
            continue
        u, v, k = keys[e]
        length_m = float(metric[e].length)
        twin = _twin(G, u, v, k, lines[e])
        stops = list(by_edge[e])
        if twin:
            back = index[twin[0][:3]]
            stops += [(length_m - off, p) for off, p in by_edge.get(back, [])]
            done.add(back)
        at: dict[float, int] = {}  # offset from u (m) → node
        cut_at: dict[float, float] = {}  # offset from u (m) → where on the graph-CRS line (0..1)
        for off, p in sorted(stops):
            if off <= 1e-6:
                node_of[p] = u
            elif off >= length_m - 1e-6:
                node_of[p] = v
            else:
                key = round(off, 3)
                if key not in at:
                    at[key] = next_id
                    pt = position[p]
                    cut_at[key] = float(shapely.line_locate_point(lines[e], pt, normalized=True))
                    G2.add_node(next_id, x=pt.x, y=pt.y, street_count=2, gomrac_stop=True)
                    next_id += 1
                node_of[p] = at[key]
        if not at:
            continue
        cuts = sorted(at)
        for a, b, kk, line, forward in ((u, v, k, lines[e], True), *twin):
            data = G.edges[a, b, kk]
            order = cuts if forward else cuts[::-1]
            share = [c / length_m if forward else 1 - c / length_m for c in order]
            on_line = [cut_at[c] if forward else 1 - cut_at[c] for c in order]
            path = [a, *(at[c] for c in order), b]
            G2.remove_edge(a, b, kk)
            for (s, t), (f0, f1), (g0, g1) in zip(
                pairwise(path),
                pairwise([0.0, *share, 1.0]),
                pairwise([0.0, *on_line, 1.0]),
                strict=True,
            ):
                part = dict(data)
                for attr in ("length", "travel_time"):
                    if attr in part:
                        part[attr] = float(part[attr]) * (f1 - f0)
                part["geometry"] = shapely.ops.substring(line, g0, g1, normalized=True)
                G2.add_edge(s, t, **part)
    return G2, node_of


def _twin(
    G: nx.MultiDiGraph, u: int, v: int, k: int, line: LineString
) -> list[tuple[int, int, int, LineString, bool]]:
    """Return the opposite edge of a two-way street (v → u along the same line), if any."""
    if not G.has_edge(v, u):
        return []
    osmid = G.edges[u, v, k].get("osmid")
    for kk, data in G[v][u].items():
        if (v, u, kk) == (u, v, k):  # a loop is not its own twin
            continue
        back = _edge_line(G, v, u, kk)
        same_way = data.get("osmid") == osmid
        same_line = abs(back.length - line.length) <= 1e-9 + 1e-6 * line.length
        if same_way and same_line:
            return [(v, u, kk, back, False)]
    return []
