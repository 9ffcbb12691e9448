"""Where to put cameras against illegal dumping: candidate poles, line of sight, siting, rotation.

The chain is: `candidate_poles` (junctions and regular points along streets) -> `camera_targets`
(weighted hotspots, gathering points and sensitive places) -> `visibility` (range, field of view,
street corridor and building occlusion) -> `CameraSiting` (maximal covering with k cameras, solved
exactly with HiGHS) -> `rotation_schedule` for mobile cameras over what stays uncovered.
`greedy_densest_cells` is the naive baseline a plan is compared with.

All geometry is in a projected metric CRS (EPSG:32648). Bearings are compass bearings in degrees:
0 = north, 90 = east, clockwise. Visibility is planar line of sight, not network distance: a camera
sees across a junction or a canal, not along the streets.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from gomrac.analysis._validate import require_metric
from gomrac.analysis.errors import ValidationError
from gomrac.analysis.location import MaximalCoverage

if TYPE_CHECKING:
    from typing import Self

    import numpy.typing as npt

log = logging.getLogger(__name__)

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

Incidence: TypeAlias = sparse.csr_array
"""Camera × target boolean matrix: entry (c, t) is True when camera c sees target t."""


# --------------------------------------------------------------------------------------------
# candidate poles


def _lines(streets: gpd.GeoDataFrame | gpd.GeoSeries) -> npt.NDArray[np.object_]:
    require_metric(streets, "streets")
    parts: npt.NDArray[np.object_] = shapely.get_parts(_geoms(streets))
    parts = parts[np.isin(shapely.get_type_id(parts), [1, 2])]  # LineString, LinearRing
    parts = parts[shapely.length(parts) > 0]
    if len(parts) == 0:
        msg = "`streets` holds no line with a positive length."
        raise ValidationError(msg)
    # osmnx edge frames list two-way streets twice (u->v and v->u): keep one
    wkb = shapely.to_wkb(shapely.normalize(parts))
    _, first = np.unique(wkb, return_index=True)
    return parts[np.sort(first)]


def _geoms(frame: gpd.GeoDataFrame | gpd.GeoSeries) -> npt.NDArray[np.object_]:
    geo = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
    geoms: npt.NDArray[np.object_] = geo.to_numpy()
    return geoms


def _bearing_deg(
    dx: npt.NDArray[np.float64], dy: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    return np.degrees(np.arctan2(dx, dy)) % 360.0


def candidate_poles(
    streets: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    nodes: gpd.GeoDataFrame | None = None,
    spacing_m: float = 40.0,
    min_degree: int = 3,
    headings: Literal["ptz", "street"] = "ptz",
    snap_m: float = 0.5,
) -> gpd.GeoDataFrame:
    """
    Candidate camera poles at street junctions and every `spacing_m` along streets.

    Junctions are nodes where at least `min_degree` street segments meet. Without `nodes`, they
    are found from the segments' end points (end points within `snap_m` of each other are one
    node), so `streets` should be split at junctions (an osmnx edge frame is). Points along each
    segment are placed at `spacing_m`, 2 `spacing_m`, ... from its start; then candidates closer
    than `spacing_m` / 2 to an earlier one are dropped, junctions first, so poles are roughly
    `spacing_m` apart. 40 m is the spacing of lamp and power poles in Vietnamese urban streets, the
    usual mounts for ward cameras.

    With ``headings="ptz"`` each pole is one candidate with no heading: a PTZ or 360° camera.
    With ``headings="street"`` each pole gives one candidate per street direction leaving it (two
    along a street, one per arm at a junction) with that heading, for fixed directional cameras;
    `visibility` then applies their field of view. Choosing two headings at one pole means two
    cameras on it.

    Parameters
    ----------
    streets
        Street centre lines, EPSG:32648 (LineStrings; MultiLineStrings are split).
    nodes
        Optional junction points, EPSG:32648, with a ``street_count`` (osmnx) or ``degree``
        column; without such a column the degree is counted from segment end points.
    spacing_m
        Distance between poles along a street, in metres.
    min_degree
        Smallest number of segments meeting at a node for it to be a junction pole.
    headings
        ``"ptz"`` or ``"street"``; see above.
    snap_m
        Tolerance for matching end points to nodes, in metres.

    Returns
    -------
    gpd.GeoDataFrame
        One row per candidate, index 0..n-1: ``pole_id``, ``pole_kind`` (``"junction"`` or
        ``"street"``), ``degree``, ``street_bearing_deg`` (axis of the street, 0..180; at a
        junction, the axis of the arm with the smallest bearing), ``heading_deg`` (NaN for PTZ)
        and the point.

    Raises
    ------
    CRSError
        If `streets` or `nodes` is not in a projected metric CRS.
    ValidationError
        If `streets` has no line or a parameter is out of range.
    """
    if not spacing_m > 0 or min_degree < 1 or not snap_m > 0:
        msg = "`spacing_m` and `snap_m` must be positive and `min_degree` at least 1."
        raise ValidationError(msg)
    if headings not in {"ptz", "street"}:
        msg = f"`headings` must be 'ptz' or 'street'; got {headings!r}."
        raise ValidationError(msg)
    lines = _lines(streets)
    crs = streets.crs
    ends = np.vstack(
        [
            shapely.get_coordinates(shapely.get_point(lines, 0)),
            shapely.get_coordinates(shapely.get_point(lines, -1)),
        ]
    )
    if nodes is not None and len(nodes):
        require_metric(nodes, "nodes")
        node_xy = shapely.get_coordinates(nodes.geometry.to_numpy())
        if "street_count" in nodes.columns:
            degree = nodes["street_count"].to_numpy(dtype=np.int64)
        elif "degree" in nodes.columns:
            degree = nodes["degree"].to_numpy(dtype=np.int64)
        else:
            tree = shapely.STRtree(shapely.points(ends))
            hit = tree.query(nodes.geometry.to_numpy(), predicate="dwithin", distance=snap_m)
            degree = np.bincount(hit[0], minlength=len(nodes)).astype(np.int64)
    else:
        key = np.round(ends / snap_m).astype(np.int64)
        uniq, inverse, degree = np.unique(key, axis=0, return_inverse=True, return_counts=True)
        inverse = inverse.ravel()
        node_xy = np.zeros((len(uniq), 2))
        np.add.at(node_xy, inverse, ends)
        node_xy /= degree[:, None]
    junction = degree >= min_degree
    j_xy = node_xy[junction]
    j_deg = degree[junction]

    # points along each segment
    lengths = shapely.length(lines)
    counts = np.maximum(0, np.floor((lengths - spacing_m / 2.0) / spacing_m).astype(np.int64))
    seg = np.repeat(np.arange(len(lines)), counts)
    if counts.sum():
        offs = np.concatenate([np.arange(1, c + 1) * spacing_m for c in counts])
        s_xy = shapely.get_coordinates(shapely.line_interpolate_point(lines[seg], offs))
    else:
        s_xy = np.empty((0, 2))

    all_xy = np.vstack([j_xy, s_xy])
    kinds = np.array(["junction"] * len(j_xy) + ["street"] * len(s_xy), dtype=object)
    degs = np.concatenate([j_deg, np.full(len(s_xy), 2, dtype=np.int64)])
    # thin: keep a candidate unless an earlier kept one lies within spacing_m / 2
    pts = shapely.points(all_xy)
    keep = np.ones(len(pts), dtype=bool)
    if len(pts):
        pairs = shapely.STRtree(pts).query(pts, predicate="dwithin", distance=spacing_m / 2.0)
        later = pairs[1] > pairs[0]
        a, b = pairs[0][later], pairs[1][later]
        order = np.argsort(a, kind="stable")
        a, b = a[order], b[order]
        starts = np.searchsorted(a, np.arange(len(pts)))
        ends_ = np.searchsorted(a, np.arange(len(pts)), side="right")
        for i in range(len(pts)):
            if keep[i]:
                keep[b[starts[i] : ends_[i]]] = False
    pts, kinds, degs = pts[keep], kinds[keep], degs[keep]

    # directions leaving each pole along its incident segments
    ltree = shapely.STRtree(lines)
    hit = ltree.query(pts, predicate="dwithin", distance=max(snap_m, 1e-6))
    dirs: list[list[float]] = [[] for _ in range(len(pts))]
    if hit.shape[1]:
        p_g, l_g = pts[hit[0]], lines[hit[1]]
        s = shapely.line_locate_point(l_g, p_g)
        step = np.minimum(5.0, shapely.length(l_g) / 2.0)
        base = shapely.get_coordinates(shapely.line_interpolate_point(l_g, s))
        for sign in (1.0, -1.0):
            t = s + sign * step
            ok = (t >= -1e-9) & (t <= shapely.length(l_g) + 1e-9)
            q = shapely.get_coordinates(shapely.line_interpolate_point(l_g, np.clip(t, 0, None)))
            moved = np.hypot(*(q - base).T) > 1e-6
            brg = _bearing_deg(q[:, 0] - base[:, 0], q[:, 1] - base[:, 1])
            for i, b_, o in zip(hit[0], brg, ok & moved, strict=True):
                if o:
                    dirs[int(i)].append(float(b_))
    rows = []
    geoms = []
    for i, p in enumerate(pts):
        ds: list[float] = []
        for d in sorted(dirs[i]):
            if all(abs((d - e + 180.0) % 360.0 - 180.0) > 10.0 for e in ds):
                ds.append(d)
        axis = float(ds[0] % 180.0) if ds else float("nan")
        base_row = {
            "pole_id": i,
            "pole_kind": kinds[i],
            "degree": int(degs[i]),
            "street_bearing_deg": axis,
        }
        if headings == "ptz" or not ds:
            rows.append({**base_row, "heading_deg": float("nan")})
            geoms.append(p)
        else:
            for d in ds:
                rows.append({**base_row, "heading_deg": d})
                geoms.append(p)
    cols = ["pole_id", "pole_kind", "degree", "street_bearing_deg", "heading_deg"]
    out = gpd.GeoDataFrame(pd.DataFrame(rows, columns=cols), geometry=geoms, crs=crs)
    log.info(
        "candidate_poles: %d segments -> %d poles (%d junctions), %d candidates, %s",
        len(lines),
        len(pts),
        int((kinds == "junction").sum()),
        len(out),
        headings,
    )
    return out


# --------------------------------------------------------------------------------------------
# visibility


def _target_points(targets: gpd.GeoDataFrame | gpd.GeoSeries) -> npt.NDArray[np.object_]:
    geoms = _geoms(targets)
    pts = geoms.copy()
    not_point = shapely.get_type_id(geoms) != 0
    if not_point.any():
        pts[not_point] = shapely.point_on_surface(geoms[not_point])
    return pts


def _column(
    frame: gpd.GeoDataFrame | gpd.GeoSeries, name: str, default: float
) -> npt.NDArray[np.float64]:
    if isinstance(frame, gpd.GeoDataFrame) and name in frame.columns:
        vals = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64)
        return np.where(np.isnan(vals), default, vals) if name != "heading_deg" else vals
    return np.full(len(frame), default, dtype=np.float64)


def visibility(
    cameras: gpd.GeoDataFrame | gpd.GeoSeries,
    targets: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    range_m: float = 60.0,
    fov_deg: float = 360.0,
    streets: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    corridor_m: float | None = 15.0,
    buildings: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    open_areas: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
) -> Incidence:
    """
    Which camera sees which target: range, field of view, street corridor and occlusion.

    Camera c sees target t when all of these hold:

    1. the distance is at most the camera's range (``range_m`` column, else `range_m`); 60 m is
       about the distance at which a 4–8 MP street camera still shows a person and a handcart
       well enough to act on (less at night under infrared);
    2. the bearing to the target lies within half the field of view of the heading (columns
       ``heading_deg`` and ``fov_deg``, else `fov_deg`). A camera with no heading (missing column
       or NaN) is a PTZ/360° camera and sees all round: candidate poles from `candidate_poles`
       default to that; use ``headings="street"`` there for fixed cameras along the street axis;
    3. with `streets` and `corridor_m`, the target lies within `corridor_m` of a street, or else
       the whole sight line runs over the street corridor (streets buffered by `corridor_m`) and
       `open_areas` (water, squares, vacant land). A pile behind a row of houses is not visible
       from the street even where the houses are missing from the building layer;
    4. with `buildings`, the straight sight line does not pass through the inside of a building
       footprint. A footprint holding the target or the camera itself does not occlude it (a
       market hall target, a camera on a wall); running along a wall does not occlude.

    Polygon and line targets (hotspot cells, canal banks) are represented by a point on their
    surface.

    Parameters
    ----------
    cameras
        Camera or candidate points, EPSG:32648; optional ``heading_deg``, ``fov_deg``,
        ``range_m`` columns.
    targets
        Targets, EPSG:32648.
    range_m
        Default range, in metres.
    fov_deg
        Default horizontal field of view of cameras with a heading, in degrees (0, 360].
    streets
        Street centre lines, EPSG:32648, for the corridor rule; None skips the rule.
    corridor_m
        Half-width of the street corridor, in metres; None skips the rule.
    buildings
        Building footprints, EPSG:32648; None skips occlusion.
    open_areas
        Polygons a camera sees across (water, open land), EPSG:32648.

    Returns
    -------
    scipy.sparse.csr_array
        Boolean cameras × targets incidence, rows and columns in input order.

    Raises
    ------
    CRSError
        If an input is not in a projected metric CRS.
    ValidationError
        If a camera is not a point or a parameter is out of range.
    """
    require_metric(cameras, "cameras")
    require_metric(targets, "targets")
    if not range_m > 0 or not 0 < fov_deg <= 360:
        msg = "`range_m` must be positive and `fov_deg` in (0, 360]."
        raise ValidationError(msg)
    cam_geoms = _geoms(cameras)
    if len(cam_geoms) and not (shapely.get_type_id(cam_geoms) == 0).all():
        msg = "`cameras` must be points."
        raise ValidationError(msg)
    n_c, n_t = len(cam_geoms), len(targets)
    if n_c == 0 or n_t == 0:
        return sparse.csr_array((n_c, n_t), dtype=bool)
    tgt = _target_points(targets)
    ranges = _column(cameras, "range_m", range_m)
    fovs = _column(cameras, "fov_deg", fov_deg)
    heads = _column(cameras, "heading_deg", float("nan"))
    if (ranges <= 0).any() or ((fovs <= 0) | (fovs > 360)).any():
        msg = "Camera `range_m` must be positive and `fov_deg` in (0, 360]."
        raise ValidationError(msg)

    ci, ti = shapely.STRtree(tgt).query(
        cam_geoms, predicate="dwithin", distance=float(ranges.max())
    )
    cxy = shapely.get_coordinates(cam_geoms)
    txy = shapely.get_coordinates(tgt)
    dx = txy[ti, 0] - cxy[ci, 0]
    dy = txy[ti, 1] - cxy[ci, 1]
    dist = np.hypot(dx, dy)
    ok = dist <= ranges[ci] + 1e-9
    head = heads[ci]
    directional = ~np.isnan(head) & (fovs[ci] < 360)
    off = np.abs((_bearing_deg(dx, dy) - np.nan_to_num(head) + 180.0) % 360.0 - 180.0)
    ok &= ~directional | (off <= fovs[ci] / 2.0 + 1e-9) | (dist < 1e-9)
    ci, ti = ci[ok], ti[ok]

    if streets is not None and corridor_m is not None and len(ci):
        require_metric(streets, "streets")
        lines = _lines(streets)
        near = np.zeros(n_t, dtype=bool)
        near_hit = shapely.STRtree(lines).query(tgt, predicate="dwithin", distance=corridor_m)
        near[np.unique(near_hit[0])] = True
        far_pair = ~near[ti]
        if far_pair.any():
            clear = shapely.union_all(shapely.buffer(lines, corridor_m))
            if open_areas is not None and len(open_areas):
                require_metric(open_areas, "open_areas")
                clear = shapely.union(clear, open_areas.geometry.union_all())
            shapely.prepare(clear)
            sight = shapely.linestrings(np.stack([cxy[ci[far_pair]], txy[ti[far_pair]]], axis=1))
            seen = shapely.covers(clear, sight)
            keep = np.ones(len(ci), dtype=bool)
            keep[np.flatnonzero(far_pair)[~seen]] = False
            ci, ti = ci[keep], ti[keep]

    if buildings is not None and len(buildings) and len(ci):
        require_metric(buildings, "buildings")
        bgeoms = _geoms(buildings)
        bgeoms = bgeoms[~shapely.is_empty(bgeoms)]
        sight = shapely.linestrings(np.stack([cxy[ci], txy[ti]], axis=1))
        # a zero-length sight line (target at the camera) is never occluded
        degenerate = np.abs(cxy[ci] - txy[ti]).sum(axis=1) < 1e-9
        li, bi = shapely.STRtree(bgeoms).query(sight, predicate="intersects")
        li_ok = ~degenerate[li]
        li, bi = li[li_ok], bi[li_ok]
        own = shapely.covers(bgeoms[bi], tgt[ti[li]])
        own |= shapely.covers(bgeoms[bi], cam_geoms[ci[li]])
        li, bi = li[~own], bi[~own]
        inside = shapely.relate_pattern(sight[li], bgeoms[bi], "T********")
        blocked = np.zeros(len(ci), dtype=bool)
        blocked[li[inside]] = True
        ci, ti = ci[~blocked], ti[~blocked]

    inc = sparse.csr_array((np.ones(len(ci), dtype=bool), (ci, ti)), shape=(n_c, n_t))
    inc.sum_duplicates()
    log.info(
        "visibility: %d cameras x %d targets -> %d camera-target pairs seen", n_c, n_t, inc.nnz
    )
    return inc


# --------------------------------------------------------------------------------------------
# targets


def camera_targets(
    *,
    hotspots: gpd.GeoDataFrame | None = None,
    gathering_points: gpd.GeoDataFrame | None = None,
    sensitive: gpd.GeoDataFrame | None = None,
    hotspot_value_col: str = "n_reports",
    hotspot_weight: float = 1.0,
    gathering_weight: float = 5.0,
    sensitive_weight: float = 3.0,
) -> gpd.GeoDataFrame:
    """
    Weighted camera targets from hotspots, gathering points and sensitive places.

    Weights are in "report equivalents": a hotspot weighs `hotspot_weight` × its
    `hotspot_value_col` (reports in a cluster or cell, or an intensity), a gathering point weighs
    `gathering_weight` and a sensitive place (school, market, canal bank) `sensitive_weight`,
    times its own ``weight`` column when it has one. The defaults (5 and 3) say a gathering point
    matters like a site with five reports; they are the planner's choice, not data.

    Parameters
    ----------
    hotspots
        Hotspot clusters or cells (e.g. from `analysis.hotspots`), EPSG:32648.
    gathering_points
        Gathering points, EPSG:32648.
    sensitive
        Sensitive places, EPSG:32648, with an optional ``kind`` column (kept as ``subkind``).
    hotspot_value_col
        Column of `hotspots` giving a hotspot's size.
    hotspot_weight
        Weight per unit of `hotspot_value_col`.
    gathering_weight
        Weight of one gathering point.
    sensitive_weight
        Weight of one sensitive place.

    Returns
    -------
    gpd.GeoDataFrame
        ``kind`` (``"hotspot"``, ``"gathering_point"``, ``"sensitive"``), ``subkind``,
        ``weight``, ``source_index`` (the row label in its input), hotspot profile columns when
        present (``hour_profile``, ``weekday_profile``, ``peak_hour``, ``peak_weekday``) and a
        point, index 0..n-1. A polygon or line becomes a point on its surface; a cluster with a
        ``centroid`` column (from `analysis.hotspots.cluster_reports`) becomes that centroid.
    """
    parts = []
    crs = None
    keep_cols = ["hour_profile", "weekday_profile", "peak_hour", "peak_weekday"]
    for kind, gdf, wt in (
        ("hotspot", hotspots, hotspot_weight),
        ("gathering_point", gathering_points, gathering_weight),
        ("sensitive", sensitive, sensitive_weight),
    ):
        if gdf is None or len(gdf) == 0:
            continue
        require_metric(gdf, kind)
        crs = gdf.crs if crs is None else crs
        if kind == "hotspot":
            if hotspot_value_col not in gdf.columns:
                msg = f"`hotspots` has no `{hotspot_value_col}` column (set `hotspot_value_col`)."
                raise ValidationError(msg)
            weight = wt * pd.to_numeric(gdf[hotspot_value_col]).to_numpy(dtype=np.float64)
        else:
            own = (
                pd.to_numeric(gdf["weight"]).to_numpy(dtype=np.float64)
                if "weight" in gdf.columns
                else np.ones(len(gdf))
            )
            weight = wt * own
        frame = pd.DataFrame(
            {
                "kind": kind,
                "subkind": gdf["kind"].astype(str).to_numpy() if "kind" in gdf.columns else kind,
                "weight": weight,
                "source_index": list(gdf.index),
            }
        )
        for c in keep_cols:
            if c in gdf.columns:
                frame[c] = list(gdf[c])
        geoms = gdf.geometry.to_numpy()
        if "centroid" in gdf.columns:  # clusters from cluster_reports: the reports' centroid
            geoms = gpd.GeoSeries(gdf["centroid"]).to_numpy()
        not_point = shapely.get_type_id(geoms) != 0
        if not_point.any():
            geoms = geoms.copy()
            geoms[not_point] = shapely.point_on_surface(geoms[not_point])
        frame["geometry"] = geoms
        parts.append(frame)
    if not parts:
        msg = "No target given: pass hotspots, gathering points or sensitive places."
        raise ValidationError(msg)
    df = pd.concat(parts, ignore_index=True)
    if (~np.isfinite(df["weight"])).any() or (df["weight"] < 0).any():
        msg = "Target weights must be finite and non-negative."
        raise ValidationError(msg)
    out = gpd.GeoDataFrame(df, geometry="geometry", crs=crs)
    log.info("camera_targets: %d targets (%s)", len(out), out["kind"].value_counts().to_dict())
    return out


# --------------------------------------------------------------------------------------------
# siting


@dataclass(frozen=True)
class CameraPlan:
    """A set of camera sites and what it covers; see `CameraSiting`.

    Attributes
    ----------
    sites
        Chosen candidates (their rows when the model has candidate geometries) with
        ``candidate`` (position in the candidates), ``n_targets`` (targets it sees),
        ``new_weight`` (weight of the targets it sees that were not fully covered before) and
        ``covers`` (kind -> tuple of target labels).
    targets
        Every target with ``kind``, ``weight``, ``value_before`` / ``value_after`` (1 = seen by a
        dedicated camera, the security credit when only a security camera sees it, 0 unseen),
        ``covered_before`` / ``covered_after`` (seen by a dedicated camera) and
        ``credited_security``.
    by_kind
        Per kind: ``targets``, ``weight``, ``covered_before``, ``covered_after``,
        ``weight_before_pct``, ``weight_after_pct``.
    covered_weight_before_pct
        Covered weight (0..100) with the existing cameras only.
    covered_weight_after_pct
        Covered weight (0..100) with the new sites added.
    covered_weight_before
        Covered weight with existing cameras only.
    covered_weight_after
        Covered weight with the new sites.
    total_weight
        Weight of all targets.
    hotspots_covered
        Hotspot targets seen by a dedicated camera after the plan.
    hotspots_total
        Hotspot targets.
    gathering_points_covered
        Gathering points seen by a dedicated camera after the plan.
    gathering_points_total
        Gathering points.
    k
        Camera budget.
    gap
        Relative optimality gap (0 when proven optimal, inf when HiGHS has no bound yet, NaN for
        a heuristic).
    solve_s
        Solver wall time, in seconds.
    status
        ``"optimal"``, ``"time_limit"`` or ``"heuristic"``.
    method
        ``"highs"`` or the baseline's name.
    """

    sites: pd.DataFrame
    targets: pd.DataFrame
    by_kind: pd.DataFrame
    covered_weight_before_pct: float
    covered_weight_after_pct: float
    covered_weight_before: float
    covered_weight_after: float
    total_weight: float
    hotspots_covered: int
    hotspots_total: int
    gathering_points_covered: int
    gathering_points_total: int
    k: int
    gap: float
    solve_s: float
    status: str
    method: str

    @property
    def chosen(self) -> tuple[int, ...]:
        """Positions of the chosen candidates."""
        return tuple(int(c) for c in self.sites["candidate"])


def _as_csr(m: object, shape: tuple[int, int] | None, name: str) -> sparse.csr_array:
    arr = sparse.csr_array(m) if sparse.issparse(m) else sparse.csr_array(np.asarray(m, dtype=bool))
    arr = arr.astype(bool)
    if shape is not None and arr.shape[1] != shape[1]:
        msg = f"`{name}` has {arr.shape[1]} target columns; expected {shape[1]}."
        raise ValidationError(msg)
    return arr


class CameraSiting:
    r"""
    Maximal covering of weighted targets with a budget of k new cameras (MCLP), exact with HiGHS.

    Existing dedicated (fixed) cameras stay and are not counted in k; targets they see are
    covered. Existing security cameras give partial credit: a target seen by one counts
    `security_credit` (e.g. 0.5: they are not aimed at dumping, nobody watches them for it; 1.0
    treats them as dedicated). With :math:`a_{ij}=1` when candidate j sees target i,
    :math:`b_i \in [0,1]` the value of target i before (1 if a fixed camera sees it, else the
    credit if a security camera sees it, else 0) and weights :math:`w_i \ge 0`:

    .. math::

        \max \sum_i w_i \bigl(b_i + (1-b_i)\,y_i\bigr)
        \quad\text{s.t.}\quad y_i \le \sum_j a_{ij} x_j,\;
        \sum_j x_j \le k,\; x_j \in \{0,1\},\; 0 \le y_i \le 1.

    The :math:`y_i` may be continuous: for integral :math:`x` an optimum has them in {0, 1}.
    Targets already fully covered, of zero weight or seen by no candidate are dropped from the
    model first; chosen sites that add nothing are removed from the answer.

    Build with `from_geodataframe` (computes `visibility`), `from_cost_matrix` (a distance matrix
    and a range) or `from_incidence` (the core), then call `solve`; `evaluate` scores any given
    set of sites the same way (used by `greedy_densest_cells`).
    """

    def __init__(
        self,
        incidence: sparse.csr_array,
        weights: npt.NDArray[np.float64],
        *,
        k: int,
        value_before: npt.NDArray[np.float64],
        covered_fixed: npt.NDArray[np.bool_],
        credited_security: npt.NDArray[np.bool_],
        kinds: npt.NDArray[np.object_],
        candidates: pd.DataFrame | None,
        targets: pd.DataFrame | None,
        security_credit: float,
    ) -> None:
        self.incidence = incidence
        self.weights = weights
        self.k = k
        self.value_before = value_before
        self.covered_fixed = covered_fixed
        self.credited_security = credited_security
        self.kinds = kinds
        self.candidates = candidates
        self.targets = targets
        self.security_credit = security_credit

    @classmethod
    def from_incidence(
        cls,
        incidence: sparse.sparray | sparse.spmatrix | npt.ArrayLike,
        weights: npt.ArrayLike,
        *,
        k: int,
        kinds: Sequence[str] | None = None,
        fixed_incidence: sparse.sparray | sparse.spmatrix | npt.ArrayLike | None = None,
        security_incidence: sparse.sparray | sparse.spmatrix | npt.ArrayLike | None = None,
        security_credit: float = 0.5,
        candidates: pd.DataFrame | None = None,
        targets: pd.DataFrame | None = None,
    ) -> Self:
        """
        Build the model from candidate × target visibility.

        Parameters
        ----------
        incidence
            Candidates × targets, truthy where the candidate sees the target.
        weights
            Target weights, non-negative (see `camera_targets`).
        k
            Number of new cameras, at least 0.
        kinds
            Target kinds (``"hotspot"``, ``"gathering_point"``, ``"sensitive"``, ...); default
            the targets' ``kind`` column, else ``"target"``.
        fixed_incidence
            Existing dedicated cameras × targets; they are kept and cover fully.
        security_incidence
            Existing security cameras × targets; they credit `security_credit`.
        security_credit
            Value in [0, 1] of a target seen only by a security camera.
        candidates
            Candidate rows (e.g. from `candidate_poles`), aligned with the incidence rows.
        targets
            Target rows, aligned with the incidence columns.

        Returns
        -------
        CameraSiting
            The model.

        Raises
        ------
        ValidationError
            If shapes disagree or a value is out of range.
        """
        inc = _as_csr(incidence, None, "incidence")
        n_c, n_t = inc.shape
        w = np.asarray(weights, dtype=np.float64).ravel()
        if w.shape != (n_t,) or (~np.isfinite(w)).any() or (w < 0).any():
            msg = f"`weights` must hold {n_t} finite non-negative values."
            raise ValidationError(msg)
        if int(k) != k or k < 0:
            msg = f"`k` must be a non-negative integer; got {k}."
            raise ValidationError(msg)
        if not 0 <= security_credit <= 1:
            msg = f"`security_credit` must lie in [0, 1]; got {security_credit}."
            raise ValidationError(msg)
        fixed = np.zeros(n_t, dtype=bool)
        if fixed_incidence is not None:
            fixed = _as_csr(fixed_incidence, (0, n_t), "fixed_incidence").sum(axis=0) > 0
        sec = np.zeros(n_t, dtype=bool)
        if security_incidence is not None:
            sec = _as_csr(security_incidence, (0, n_t), "security_incidence").sum(axis=0) > 0
        before = np.where(fixed, 1.0, np.where(sec, security_credit, 0.0))
        if kinds is None:
            kinds_arr = (
                targets["kind"].astype(str).to_numpy(dtype=object)
                if targets is not None and "kind" in targets.columns
                else np.full(n_t, "target", dtype=object)
            )
        else:
            kinds_arr = np.asarray(list(kinds), dtype=object)
        if kinds_arr.shape != (n_t,):
            msg = f"`kinds` must hold {n_t} values."
            raise ValidationError(msg)
        if candidates is not None and len(candidates) != n_c:
            msg = f"`candidates` has {len(candidates)} rows; the incidence has {n_c}."
            raise ValidationError(msg)
        if targets is not None and len(targets) != n_t:
            msg = f"`targets` has {len(targets)} rows; the incidence has {n_t} columns."
            raise ValidationError(msg)
        return cls(
            inc,
            w,
            k=int(k),
            value_before=before,
            covered_fixed=fixed,
            credited_security=sec & ~fixed,
            kinds=kinds_arr,
            candidates=candidates,
            targets=targets,
            security_credit=float(security_credit),
        )

    @classmethod
    def from_cost_matrix(
        cls,
        cost_m: npt.ArrayLike,
        weights: npt.ArrayLike,
        *,
        range_m: float,
        k: int,
        kinds: Sequence[str] | None = None,
        fixed_cost_m: npt.ArrayLike | None = None,
        security_cost_m: npt.ArrayLike | None = None,
        security_credit: float = 0.5,
        candidates: pd.DataFrame | None = None,
        targets: pd.DataFrame | None = None,
    ) -> Self:
        """
        Build the model from candidate × target distances: a camera sees what is within range.

        Parameters
        ----------
        cost_m
            Candidates × targets distances, in metres (inf or NaN = never seen).
        weights
            Target weights, non-negative.
        range_m
            Camera range, in metres.
        k
            Number of new cameras.
        kinds
            Target kinds.
        fixed_cost_m
            Fixed cameras × targets distances, in metres.
        security_cost_m
            Security cameras × targets distances, in metres.
        security_credit
            Value in [0, 1] of a target seen only by a security camera.
        candidates
            Candidate rows aligned with the matrix rows.
        targets
            Target rows aligned with the matrix columns.

        Returns
        -------
        CameraSiting
            The model.
        """

        def _inc(c: npt.ArrayLike | None) -> npt.NDArray[np.bool_] | None:
            if c is None:
                return None
            a = np.atleast_2d(np.asarray(c, dtype=np.float64))
            return np.nan_to_num(a, nan=np.inf) <= range_m

        return cls.from_incidence(
            _inc(cost_m),
            weights,
            k=k,
            kinds=kinds,
            fixed_incidence=_inc(fixed_cost_m),
            security_incidence=_inc(security_cost_m),
            security_credit=security_credit,
            candidates=candidates,
            targets=targets,
        )

    @classmethod
    def from_geodataframe(
        cls,
        targets: gpd.GeoDataFrame,
        candidates: gpd.GeoDataFrame,
        *,
        k: int,
        weight_col: str = "weight",
        existing: gpd.GeoDataFrame | None = None,
        security_credit: float = 0.5,
        streets: gpd.GeoDataFrame | None = None,
        buildings: gpd.GeoDataFrame | None = None,
        open_areas: gpd.GeoDataFrame | None = None,
        range_m: float = 60.0,
        fov_deg: float = 360.0,
        corridor_m: float | None = 15.0,
    ) -> Self:
        """
        Build the model from geometries: visibility by `visibility`, then `from_incidence`.

        Parameters
        ----------
        targets
            Weighted targets (see `camera_targets`) with `weight_col` and ``kind``, EPSG:32648.
        candidates
            Candidate poles (see `candidate_poles`), EPSG:32648.
        k
            Number of new cameras.
        weight_col
            Target weight column.
        existing
            Existing cameras, EPSG:32648, with ``camera_kind`` ``"fixed"`` (dedicated, kept) or
            ``"security"`` (credited), and optional ``heading_deg``, ``fov_deg``, ``range_m``.
        security_credit
            Value in [0, 1] of a target seen only by a security camera.
        streets
            Street centre lines for the corridor rule.
        buildings
            Building footprints for occlusion.
        open_areas
            Open polygons a camera sees across.
        range_m
            Default camera range, in metres.
        fov_deg
            Default field of view of cameras with a heading, in degrees.
        corridor_m
            Street corridor half-width, in metres.

        Returns
        -------
        CameraSiting
            The model.

        Raises
        ------
        CRSError
            If an input is not in a projected metric CRS.
        ValidationError
            If a column is missing.
        """
        require_metric(targets, "targets")
        require_metric(candidates, "candidates")
        if weight_col not in targets.columns:
            msg = f"`targets` has no `{weight_col}` column (see camera_targets)."
            raise ValidationError(msg)

        def seen_by(cameras: gpd.GeoDataFrame) -> Incidence:
            return visibility(
                cameras,
                targets,
                range_m=range_m,
                fov_deg=fov_deg,
                streets=streets,
                corridor_m=corridor_m,
                buildings=buildings,
                open_areas=open_areas,
            )

        inc = seen_by(candidates)
        fixed_inc = sec_inc = None
        if existing is not None and len(existing):
            require_metric(existing, "existing")
            if "camera_kind" not in existing.columns:
                msg = "`existing` needs a `camera_kind` column ('fixed' or 'security')."
                raise ValidationError(msg)
            kind = existing["camera_kind"].astype(str).str.lower()
            bad = ~kind.isin(["fixed", "security"])
            if bad.any():
                msg = f"Unknown camera_kind {sorted(set(kind[bad]))}; use 'fixed' or 'security'."
                raise ValidationError(msg)
            fixed_inc = seen_by(existing.loc[(kind == "fixed").to_numpy()])
            sec_inc = seen_by(existing.loc[(kind == "security").to_numpy()])
        return cls.from_incidence(
            inc,
            targets[weight_col].to_numpy(dtype=np.float64),
            k=k,
            fixed_incidence=fixed_inc,
            security_incidence=sec_inc,
            security_credit=security_credit,
            candidates=candidates,
            targets=targets,
        )

    # ----------------------------------------------------------------------------------------

    def _gain(self) -> npt.NDArray[np.float64]:
        return self.weights * (1.0 - self.value_before)

    def _covered_by(self, chosen: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        if len(chosen) == 0:
            return np.zeros(self.incidence.shape[1], dtype=bool)
        return np.asarray(self.incidence[chosen].sum(axis=0)).ravel() > 0

    def _objective(self, chosen: npt.NDArray[np.int64]) -> float:
        return float(self._gain()[self._covered_by(chosen)].sum())

    def _prune(self, chosen: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Drop chosen sites whose removal loses no weight (weakest first)."""
        gain = self._gain()
        keep = list(chosen)
        for j in sorted(chosen, key=lambda c: float(gain[self.incidence[[c]].indices].sum())):
            rest = np.array([c for c in keep if c != j], dtype=np.int64)
            if self._objective(rest) >= self._objective(np.array(keep, dtype=np.int64)) - 1e-9:
                keep = list(rest)
        return np.array(sorted(keep), dtype=np.int64)

    def solve(
        self,
        *,
        time_limit_s: float = 60.0,
        mip_rel_gap: float = 0.0,
        threads: int | None = None,
        seed: int = 0,
    ) -> CameraPlan:
        """
        Solve the MCLP exactly within a time limit, with the location engine's model.

        Targets already fully covered, of zero weight or seen by no candidate are dropped; the
        rest go to `gomrac.analysis.location.MaximalCoverage.from_coverage` with the weight each
        target would add (:math:`w_i (1 - b_i)`) and ``p = k``. That model starts HiGHS from its
        greedy plan (best marginal site first, a 1 − 1/e approximation) improved by vertex
        substitution, so a plan at least that good comes back when the time limit strikes early.

        Parameters
        ----------
        time_limit_s
            Wall-clock limit, in seconds; past it the best plan found is returned with its gap.
        mip_rel_gap
            Relative gap at which HiGHS may stop (0 = prove optimality).
        threads
            HiGHS threads; None leaves HiGHS's default.
        seed
            HiGHS random seed, for reproducible runs.

        Returns
        -------
        CameraPlan
            The plan; ``status`` is ``"optimal"`` or ``"time_limit"``; ``gap`` is relative to
            the whole covered weight (the weight covered before included).
        """
        t0 = time.perf_counter()
        gain = self._gain()
        inc = self.incidence
        live_t = np.flatnonzero((gain > 0) & (np.asarray(inc.sum(axis=0)).ravel() > 0))
        sub = inc[:, live_t].tocsr() if len(live_t) else sparse.csr_array((inc.shape[0], 0))
        live_c = np.flatnonzero(np.asarray(sub.sum(axis=1)).ravel() > 0)
        status, gap = "optimal", 0.0
        if self.k == 0 or len(live_c) == 0:
            chosen = np.empty(0, dtype=np.int64)
        elif self.k >= len(live_c):
            chosen = live_c
        else:
            # the maximal covering model of analysis.location, over targets x candidates
            model = MaximalCoverage.from_coverage(sub[live_c].T, gain[live_t], p=self.k)
            res = model.solve(
                time_limit_s=max(float(time_limit_s), 1e-3),
                mip_rel_gap=mip_rel_gap,
                threads=threads,
                seed=seed,
            )
            chosen = live_c[res.new_sites]
            if res.status != "optimal":
                status = "time_limit"
                # relative to all covered weight, the value before the new cameras included
                before = float((self.weights * self.value_before).sum())
                total = res.objective + before
                gap = (res.bound - res.objective) / total if total > 0 else math.inf
        chosen = self._prune(np.asarray(chosen, dtype=np.int64))
        plan = self.evaluate(
            chosen, method="highs", status=status, gap=gap, solve_s=time.perf_counter() - t0
        )
        log.info(
            "CameraSiting.solve: k=%d, %d candidates x %d targets, %s, %.1f%% -> %.1f%% in %.2f s",
            self.k,
            inc.shape[0],
            inc.shape[1],
            status,
            plan.covered_weight_before_pct,
            plan.covered_weight_after_pct,
            plan.solve_s,
        )
        return plan

    def evaluate(
        self,
        chosen: Sequence[int] | npt.NDArray[np.int64],
        *,
        method: str = "given",
        status: str = "heuristic",
        gap: float = float("nan"),
        solve_s: float = 0.0,
    ) -> CameraPlan:
        """
        Score a given set of new sites the same way `solve` scores its own.

        Parameters
        ----------
        chosen
            Positions of the chosen candidates (at most k are expected but not enforced).
        method
            Name recorded in the plan.
        status
            Status recorded in the plan.
        gap
            Gap recorded in the plan.
        solve_s
            Time recorded in the plan, in seconds.

        Returns
        -------
        CameraPlan
            The plan.
        """
        ch = np.asarray(sorted({int(c) for c in chosen}), dtype=np.int64)
        n_c, n_t = self.incidence.shape
        if len(ch) and (ch.min() < 0 or ch.max() >= n_c):
            msg = f"Chosen candidates must lie in 0..{n_c - 1}."
            raise ValidationError(msg)
        seen_new = self._covered_by(ch)
        after = np.where(seen_new, 1.0, self.value_before)
        covered_after = self.covered_fixed | seen_new
        labels = (
            np.asarray(self.targets.index, dtype=object)
            if self.targets is not None
            else np.arange(n_t, dtype=object)
        )
        tframe = pd.DataFrame(
            {
                "kind": self.kinds,
                "weight": self.weights,
                "value_before": self.value_before,
                "value_after": after,
                "covered_before": self.covered_fixed,
                "covered_after": covered_after,
                "credited_security": self.credited_security & ~covered_after,
            },
            index=self.targets.index if self.targets is not None else pd.RangeIndex(n_t),
        )
        if self.targets is not None:
            extra = self.targets.drop(
                columns=[c for c in tframe.columns if c in self.targets.columns]
            )
            tframe = pd.concat([extra, tframe], axis=1)
            if isinstance(self.targets, gpd.GeoDataFrame):
                tframe = gpd.GeoDataFrame(
                    tframe, geometry=self.targets.geometry.name, crs=self.targets.crs
                )
        gain = self._gain()
        site_rows = []
        for c in ch:
            idx = self.incidence[[c]].indices
            covers: dict[str, tuple[object, ...]] = {}
            for t in idx:
                kd = str(self.kinds[t])
                covers[kd] = (*covers.get(kd, ()), labels[t])
            site_rows.append(
                {
                    "candidate": int(c),
                    "n_targets": len(idx),
                    "new_weight": float(gain[idx].sum()),
                    "covers": covers,
                }
            )
        sites = pd.DataFrame(site_rows, columns=["candidate", "n_targets", "new_weight", "covers"])
        if self.candidates is not None:
            cand = self.candidates.iloc[ch].reset_index(drop=True)
            cand = cand.drop(columns=[c for c in sites.columns if c in cand.columns])
            sites = pd.concat([cand, sites], axis=1)
            if isinstance(self.candidates, gpd.GeoDataFrame):
                sites = gpd.GeoDataFrame(
                    sites, geometry=self.candidates.geometry.name, crs=self.candidates.crs
                )
        total = float(self.weights.sum())
        before_w = float((self.weights * self.value_before).sum())
        after_w = float((self.weights * after).sum())
        kinds_u = list(dict.fromkeys(self.kinds.tolist()))
        by_kind = []
        for kd in kinds_u:
            mk = self.kinds == kd
            wk = float(self.weights[mk].sum())
            wb = float((self.weights * self.value_before)[mk].sum())
            wa = float((self.weights * after)[mk].sum())
            by_kind.append(
                {
                    "kind": kd,
                    "targets": int(mk.sum()),
                    "weight": wk,
                    "covered_before": int(self.covered_fixed[mk].sum()),
                    "covered_after": int(covered_after[mk].sum()),
                    "weight_before_pct": 100.0 * wb / wk if wk else 0.0,
                    "weight_after_pct": 100.0 * wa / wk if wk else 0.0,
                }
            )
        hot = self.kinds == "hotspot"
        gp = self.kinds == "gathering_point"
        return CameraPlan(
            sites=sites,
            targets=tframe,
            by_kind=pd.DataFrame(by_kind),
            covered_weight_before_pct=100.0 * before_w / total if total else 0.0,
            covered_weight_after_pct=100.0 * after_w / total if total else 0.0,
            covered_weight_before=before_w,
            covered_weight_after=after_w,
            total_weight=total,
            hotspots_covered=int(covered_after[hot].sum()),
            hotspots_total=int(hot.sum()),
            gathering_points_covered=int(covered_after[gp].sum()),
            gathering_points_total=int(gp.sum()),
            k=self.k,
            gap=gap,
            solve_s=solve_s,
            status=status,
            method=method,
        )


def greedy_densest_cells(
    model: CameraSiting,
    density: gpd.GeoDataFrame,
    *,
    k: int | None = None,
    value_col: str = "reports_per_km2_per_period",
) -> CameraPlan:
    """
    Baseline: a camera at the candidate nearest each of the k densest report cells.

    Cells are taken in decreasing `value_col` (ties by row order); each gets the nearest candidate
    not yet used. This is what a ward does by hand from a heat map; its plan is scored by
    `CameraSiting.evaluate`, the same way as the optimal plan, so the two can be compared.

    Parameters
    ----------
    model
        A model built with candidate geometries (`CameraSiting.from_geodataframe`, or
        `from_incidence` with a GeoDataFrame of candidates).
    density
        Density cells, e.g. from `analysis.hotspots.report_density`, EPSG:32648.
    k
        Number of cameras; default the model's k.
    value_col
        Column ranking the cells.

    Returns
    -------
    CameraPlan
        The baseline's plan, ``method="greedy_densest_cells"``, ``status="heuristic"``.

    Raises
    ------
    ValidationError
        If the model has no candidate geometries or `value_col` is missing.
    """
    t0 = time.perf_counter()
    cand = model.candidates
    if not isinstance(cand, gpd.GeoDataFrame):
        msg = "The model has no candidate geometries; build it with candidate points."
        raise ValidationError(msg)
    require_metric(density, "density")
    if value_col not in density.columns:
        msg = f"`density` has no `{value_col}` column."
        raise ValidationError(msg)
    kk = model.k if k is None else int(k)
    order = np.lexsort((np.arange(len(density)), -density[value_col].to_numpy(dtype=np.float64)))
    centres = shapely.centroid(density.geometry.to_numpy()[order])
    cxy = shapely.get_coordinates(cand.geometry.to_numpy())
    used = np.zeros(len(cand), dtype=bool)
    chosen: list[int] = []
    for c in shapely.get_coordinates(centres):
        if len(chosen) >= min(kk, len(cand)):
            break
        d = np.hypot(cxy[:, 0] - c[0], cxy[:, 1] - c[1])
        d[used] = np.inf
        j = int(np.argmin(d))
        used[j] = True
        chosen.append(j)
    plan = model.evaluate(
        chosen,
        method="greedy_densest_cells",
        status="heuristic",
        solve_s=time.perf_counter() - t0,
    )
    log.info(
        "greedy_densest_cells: k=%d, covered %.1f%% -> %.1f%%",
        kk,
        plan.covered_weight_before_pct,
        plan.covered_weight_after_pct,
    )
    return plan


# --------------------------------------------------------------------------------------------
# rotation


def rotation_schedule(
    plan: CameraPlan,
    *,
    mobile_cameras: int = 2,
    weeks: int = 8,
    start: str | pd.Timestamp | None = None,
    kinds: Sequence[str] = ("hotspot",),
    top_sites: int | None = None,
    window_h: int = 4,
) -> pd.DataFrame:
    """
    Weekly rotation of mobile cameras over the hotspots the plan leaves weakest.

    Sites are the targets of `kinds` not fully covered after the plan (uncovered, or only credited
    by a security camera), ranked by unmet weight = weight × (1 − value after). Each mobile camera
    stays one week at a site; the cameras move down the ranking together and start over at the top
    after `top_sites` (default all) sites, so the heaviest sites come round first. When a target has
    an hour-of-day profile (``hour_profile``, from `analysis.hotspots.cluster_reports`) the busiest
    `window_h`-hour window and weekday are given, to aim the camera and time patrols.

    Parameters
    ----------
    plan
        A plan from `CameraSiting.solve` or `CameraSiting.evaluate`.
    mobile_cameras
        Number of mobile cameras, at least 1.
    weeks
        Number of weeks to schedule, at least 1.
    start
        Monday of the first week; None leaves ``week_start`` empty.
    kinds
        Target kinds to rotate over.
    top_sites
        Rotate over the first `top_sites` ranked sites only.
    window_h
        Length of the peak window, in hours.

    Returns
    -------
    pd.DataFrame
        One row per week and camera: ``week`` (1-based), ``week_start``, ``camera``
        (``"mobile-1"``...), ``target`` (target label), ``rank`` (1 = heaviest), ``kind``,
        ``weight``, ``unmet_weight``, ``peak_weekday``, ``peak_hours`` and the target geometry
        (a GeoDataFrame when the plan's targets have geometries). Empty when nothing is left
        uncovered.
    """
    from gomrac.analysis.hotspots import peak_hours

    if mobile_cameras < 1 or weeks < 1:
        msg = "`mobile_cameras` and `weeks` must be at least 1."
        raise ValidationError(msg)
    t = plan.targets
    weight = t["weight"].to_numpy(dtype=np.float64)
    unmet = weight * (1.0 - t["value_after"].to_numpy(dtype=np.float64))
    mask = t["kind"].isin(list(kinds)).to_numpy() & (unmet > 1e-12)
    pos = np.flatnonzero(mask)
    pos = pos[np.lexsort((pos, -unmet[pos]))]
    if top_sites is not None:
        pos = pos[: max(0, int(top_sites))]
    cols = [
        "week",
        "week_start",
        "camera",
        "target",
        "rank",
        "kind",
        "weight",
        "unmet_weight",
        "peak_weekday",
        "peak_hours",
    ]
    rows = []
    geoms = []
    has_geom = isinstance(t, gpd.GeoDataFrame)
    first = pd.Timestamp(start).normalize() if start is not None else None
    n_sites = len(pos)
    per_week = min(mobile_cameras, n_sites)
    for w in range(weeks):
        for c in range(per_week):
            r = (w * per_week + c) % n_sites
            p = int(pos[r])
            row = t.iloc[p]
            ph: str | None = None
            pw: str | None = None
            if "hour_profile" in t.columns and isinstance(row["hour_profile"], tuple | list):
                ph = peak_hours(row["hour_profile"], window_h=window_h)
            elif "peak_hour" in t.columns and pd.notna(row["peak_hour"]):
                h0 = int(row["peak_hour"])
                ph = f"{h0:02d}:00-{(h0 + window_h) % 24:02d}:00"
            if "weekday_profile" in t.columns and isinstance(row["weekday_profile"], tuple | list):
                pw = WEEKDAYS[int(np.argmax(row["weekday_profile"]))]
            elif "peak_weekday" in t.columns and pd.notna(row["peak_weekday"]):
                pw = WEEKDAYS[int(row["peak_weekday"]) % 7]
            rows.append(
                {
                    "week": w + 1,
                    "week_start": first + pd.Timedelta(weeks=w) if first is not None else pd.NaT,
                    "camera": f"mobile-{c + 1}",
                    "target": t.index[p],
                    "rank": r + 1,
                    "kind": row["kind"],
                    "weight": float(row["weight"]),
                    "unmet_weight": float(unmet[p]),
                    "peak_weekday": pw,
                    "peak_hours": ph,
                }
            )
            if has_geom:
                geoms.append(t.geometry.iloc[p])
    out = pd.DataFrame(rows, columns=cols)
    if has_geom:
        out = gpd.GeoDataFrame(out, geometry=geoms if rows else [], crs=t.crs)
    log.info(
        "rotation_schedule: %d sites, %d mobile cameras, %d weeks -> %d assignments",
        n_sites,
        mobile_cameras,
        weeks,
        len(out),
    )
    return out
