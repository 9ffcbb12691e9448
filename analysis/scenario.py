"""Synthetic dumping reports, cameras, gathering points and streets for demos and tests ONLY.

Nothing here is observed data. Every record carries ``synthetic=True``; this module does not warn,
so the code that shows a synthetic layer to a person (CLI, API, maps) must emit
`analysis.errors.SyntheticDataWarning` or label the output. The generators are plausible, not
calibrated: clusters sit near the kinds of places where dumping is commonly reported in Hai Phong
(markets, canal and lake banks, vacant land, ward edges), reports are night-heavy and uneven over
the week, and a few reporters file most reports, as in real reporting systems. All inputs and
outputs are in a projected metric CRS (EPSG:32648); a given `seed` reproduces the output exactly.
"""

from __future__ import annotations

import logging
import math
from itertools import pairwise
from typing import TYPE_CHECKING, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gomrac.analysis._validate import require_metric
from gomrac.analysis.errors import ValidationError

if TYPE_CHECKING:
    import numpy.typing as npt

log = logging.getLogger(__name__)

SERVICE_CODES = (
    "household_waste",
    "construction_debris",
    "burning",
    "overflowing_point",
    "spontaneous_dump",
)
"""Service codes (Open311 ``service_code``) used for dumping reports."""

SIZES = ("bag", "handcart", "truckload")
"""Reported size of a dump, from smallest to largest."""

NIGHT_HOURS = (19, 20, 21, 22, 23, 0, 1, 2, 3, 4)
"""Hours (local time) of the 19:00–05:00 night window in which most dumping is reported."""

# relative weight of each weekday (Monday first): more dumping reported over the weekend
_WEEKDAY_WEIGHTS = np.array([1.0, 0.9, 0.9, 1.0, 1.1, 1.4, 1.5])
# relative weight of each hour: night hours three times a daytime hour (about 68 % at night)
_HOUR_WEIGHTS = np.array([3.0 if h in NIGHT_HOURS else 1.0 for h in range(24)])

_CODE_MIX = {
    "market": (0.45, 0.0, 0.05, 0.35, 0.15),
    "water": (0.40, 0.10, 0.15, 0.0, 0.35),
    "vacant": (0.10, 0.45, 0.25, 0.0, 0.20),
    "edge": (0.20, 0.30, 0.10, 0.0, 0.40),
    "other": (0.35, 0.10, 0.10, 0.20, 0.25),
}
_SIZE_MIX = {
    "household_waste": (0.70, 0.25, 0.05),
    "construction_debris": (0.10, 0.40, 0.50),
    "burning": (0.50, 0.40, 0.10),
    "overflowing_point": (0.50, 0.40, 0.10),
    "spontaneous_dump": (0.40, 0.40, 0.20),
}
_WATER_WORDS = ("water", "canal", "lake", "river", "pond", "ditch")


class SyntheticReports(NamedTuple):
    """Synthetic reports and the cluster centres planted in them.

    Attributes
    ----------
    reports
        One synthetic report a row; see `synthetic_reports`.
    planted
        One row per planted cluster: ``planted_cluster``, ``anchor_kind``, ``n_reports``,
        ``sd_m``, ``peak_hour``, ``peak_weekday``, ``synthetic`` and the centre point.
    """

    reports: gpd.GeoDataFrame
    planted: gpd.GeoDataFrame


def _anchor_family(kind: str) -> str:
    k = str(kind).lower()
    if "market" in k or "chợ" in k:
        return "market"
    if any(w in k for w in _WATER_WORDS):
        return "water"
    if "vacant" in k or "empty" in k or "construction" in k:
        return "vacant"
    if "edge" in k or "boundary" in k or "border" in k:
        return "edge"
    return "other"


def _area_geom(area: gpd.GeoDataFrame | gpd.GeoSeries) -> shapely.Geometry:
    require_metric(area, "area")
    geom = area.union_all() if isinstance(area, gpd.GeoSeries) else area.geometry.union_all()
    if geom is None or geom.is_empty or geom.area <= 0:
        msg = "`area` has no polygon with a positive area."
        raise ValidationError(msg)
    return geom


def _random_in(
    geom: shapely.Geometry,
    n: int,
    rng: np.random.Generator,
    *,
    avoid: shapely.Geometry | None = None,
) -> npt.NDArray[np.float64]:
    """`n` uniform points inside `geom` (and outside `avoid`), by rejection from its bounds."""
    out = np.empty((0, 2))
    minx, miny, maxx, maxy = geom.bounds
    shapely.prepare(geom)
    if avoid is not None:
        shapely.prepare(avoid)
    for _ in range(1000):
        if len(out) >= n:
            break
        k = max(64, 2 * (n - len(out)))
        xy = np.column_stack([rng.uniform(minx, maxx, k), rng.uniform(miny, maxy, k)])
        pts = shapely.points(xy)
        ok = shapely.contains_xy(geom, xy[:, 0], xy[:, 1])
        if avoid is not None:
            ok &= ~shapely.intersects(avoid, pts)
        out = np.vstack([out, xy[ok]])
    if len(out) < n:
        msg = "Could not draw points inside `area`; is it mostly covered by water anchors?"
        raise ValidationError(msg)
    return out[:n]


def _around(
    centre: npt.NDArray[np.float64],
    sd_m: float,
    n: int,
    inside: shapely.Geometry,
    rng: np.random.Generator,
    avoid: shapely.Geometry | None,
) -> npt.NDArray[np.float64]:
    """`n` points from an isotropic normal around `centre`, redrawn until inside `inside`."""
    out = np.empty((0, 2))
    for _ in range(1000):
        if len(out) >= n:
            break
        k = max(16, 2 * (n - len(out)))
        xy = centre + rng.normal(0.0, sd_m, size=(k, 2))
        ok = shapely.contains_xy(inside, xy[:, 0], xy[:, 1])
        if avoid is not None:
            ok &= ~shapely.intersects(avoid, shapely.points(xy))
        out = np.vstack([out, xy[ok]])
    if len(out) < n:
        msg = "Could not place cluster reports inside `area`."
        raise ValidationError(msg)
    return out[:n]


def _near_anchor(
    geom: shapely.Geometry, rng: np.random.Generator, avoid: shapely.Geometry | None
) -> npt.NDArray[np.float64]:
    """Draw a candidate dump site by an anchor.

    The site lies on a bank, along a line, or a few metres off a point.
    """
    if geom.geom_type in {"Polygon", "MultiPolygon"}:
        ring = geom.boundary
        p = ring.interpolate(rng.uniform(0, 1), normalized=True)
        # step off the bank, away from the water/market footprint
        angles = rng.permutation(8) * (math.pi / 4)
        for a in angles:
            q = np.array([p.x + 15.0 * math.cos(a), p.y + 15.0 * math.sin(a)])
            if not geom.contains(shapely.Point(q)) and (
                avoid is None or not avoid.contains(shapely.Point(q))
            ):
                return q
        return np.array([p.x, p.y])
    if geom.geom_type in {"LineString", "MultiLineString", "LinearRing"}:
        p = geom.interpolate(rng.uniform(0, 1), normalized=True)
        return np.array([p.x, p.y])
    c: npt.NDArray[np.float64] = shapely.get_coordinates(geom)[0]
    r, a = 20.0 * math.sqrt(rng.uniform()), rng.uniform(0, 2 * math.pi)
    return c + np.array([r * math.cos(a), r * math.sin(a)], dtype=np.float64)


def _mix(
    rng: np.random.Generator, weights: tuple[float, ...] | npt.NDArray[np.float64], n: int
) -> npt.NDArray[np.int64]:
    w = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(w), size=n, p=w / w.sum())


def synthetic_reports(
    area: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    anchors: gpd.GeoDataFrame | None = None,
    n: int = 500,
    n_clusters: int = 6,
    start: str | pd.Timestamp = "2025-01-06",
    days: int = 90,
    seed: int = 0,
    cluster_share: float = 0.6,
    cluster_sd_m: float = 25.0,
    min_separation_m: float = 300.0,
    n_reporters: int | None = None,
) -> SyntheticReports:
    """
    Plausible illegal-dumping reports with planted clusters, for demos and tests ONLY.

    ``round(cluster_share * n)`` reports are split among `n_clusters` clusters (each at least
    12 reports when possible, the rest by a Dirichlet draw); each cluster is a normal scatter of
    standard deviation `cluster_sd_m` around a centre placed by an anchor chosen at random: on the
    bank of a water body (a point 15 m off its edge), along a line (ward edge), or within 20 m of a
    point (market, vacant plot). Centres keep `min_separation_m` from each other and two standard
    deviations inside the area; when no anchor allows that, a random centre is used (anchor kind
    ``"random"``). The other reports are a uniform background. No report falls inside a polygon
    anchor whose kind names water (canal, lake, river, pond, ditch).

    Hours are night-heavy (19:00–05:00 weighs three times a daytime hour) and weekends heavier;
    each cluster has its own peak hour and weekday (80 % of its reports within about ±1.5 h of
    the peak hour, half on the peak weekday). Service codes depend on the anchor kind (markets:
    household waste and overflowing points; vacant land: construction debris and burning; ...),
    sizes (bag, handcart, truckload) on the service code. Reporters are drawn from a pool where a
    few people file most reports, and each cluster has three regular local reporters.

    Parameters
    ----------
    area
        Study area polygons, EPSG:32648. Every report falls inside.
    anchors
        Places that attract dumping, EPSG:32648, with a ``kind`` column (``market``, ``canal``,
        ``lake``, ``vacant_land``, ``ward_edge``, ...); points, lines or polygons. None or empty:
        random centres.
    n
        Number of reports.
    n_clusters
        Number of planted clusters.
    start
        First day of the window (local time).
    days
        Length of the window, in days.
    seed
        Random seed; the same seed gives the same output.
    cluster_share
        Share of reports in planted clusters, in [0, 1].
    cluster_sd_m
        Standard deviation of a cluster's scatter, in metres.
    min_separation_m
        Smallest distance between two planted centres, in metres.
    n_reporters
        Size of the reporter pool; default max(10, n // 5).

    Returns
    -------
    SyntheticReports
        ``reports``: ``report_id``, ``requested_datetime`` (naive local time), ``service_code``,
        ``size``, ``reporter_id``, ``planted_cluster`` (-1 for background), ``anchor_kind``,
        ``synthetic`` (always True) and the point; ``planted``: the planted centres.

    Raises
    ------
    CRSError
        If `area` or `anchors` is not in a projected metric CRS.
    ValidationError
        If a parameter is out of range or the clusters cannot be placed.
    """
    geom = _area_geom(area)
    if n < 0 or n_clusters < 0 or days < 1:
        msg = "`n` and `n_clusters` must be non-negative and `days` at least 1."
        raise ValidationError(msg)
    if not 0 <= cluster_share <= 1:
        msg = f"`cluster_share` must lie in [0, 1]; got {cluster_share}."
        raise ValidationError(msg)
    rng = np.random.default_rng(seed)
    crs = area.crs

    water = None
    anchor_geoms: list[shapely.Geometry] = []
    anchor_kinds: list[str] = []
    if anchors is not None and len(anchors):
        require_metric(anchors, "anchors")
        if "kind" not in anchors.columns:
            msg = "`anchors` needs a `kind` column (market, canal, lake, vacant_land, ward_edge)."
            raise ValidationError(msg)
        anchor_geoms = list(anchors.geometry.to_numpy())
        anchor_kinds = [str(k) for k in anchors["kind"]]
        wet = [
            g
            for g, k in zip(anchor_geoms, anchor_kinds, strict=True)
            if _anchor_family(k) == "water" and g.geom_type in {"Polygon", "MultiPolygon"}
        ]
        water = shapely.union_all(wet) if wet else None
    if water is not None:
        free = geom.difference(water)
        if free.is_empty:
            msg = "`area` lies entirely under water anchors."
            raise ValidationError(msg)
    else:
        free = geom
    shapely.prepare(geom)
    shrunk = geom.buffer(-2.0 * cluster_sd_m)
    if shrunk.is_empty:
        shrunk = geom
    shapely.prepare(shrunk)

    n_clustered = round(cluster_share * n) if n_clusters else 0
    k = n_clusters if n_clustered else 0
    # planted centres
    centres: list[npt.NDArray[np.float64]] = []
    kinds: list[str] = []
    order = rng.permutation(len(anchor_geoms)) if anchor_geoms else np.empty(0, dtype=np.int64)
    pos = 0
    for _ in range(k):
        placed = False
        for _attempt in range(60):
            if len(order) == 0:
                break
            j = int(order[pos % len(order)])
            pos += 1
            c = _near_anchor(anchor_geoms[j], rng, water)
            if not shrunk.contains(shapely.Point(c)):
                continue
            if water is not None and water.contains(shapely.Point(c)):
                continue
            if centres and np.min(np.hypot(*(np.array(centres) - c).T)) < min_separation_m:
                continue
            centres.append(c)
            kinds.append(anchor_kinds[j])
            placed = True
            break
        if not placed:
            for _attempt in range(500):
                c = _random_in(shrunk, 1, rng, avoid=water)[0]
                if not centres or np.min(np.hypot(*(np.array(centres) - c).T)) >= min_separation_m:
                    centres.append(c)
                    kinds.append("random")
                    placed = True
                    break
        if not placed:
            msg = (
                f"Could not place {k} clusters {min_separation_m:.0f} m apart in `area`; "
                "lower `n_clusters` or `min_separation_m`."
            )
            raise ValidationError(msg)

    # cluster sizes: a floor of 12 (so a cluster is detectable), the rest by Dirichlet shares
    if k:
        floor = min(12, n_clustered // k)
        rest = n_clustered - floor * k
        sizes = floor + rng.multinomial(rest, rng.dirichlet(np.full(k, 3.0)))
    else:
        sizes = np.empty(0, dtype=np.int64)
    n_background = n - int(sizes.sum())

    # reporters: Zipf-like pool (a few file most reports); three regulars per cluster
    pool = n_reporters if n_reporters is not None else max(10, n // 5)
    zipf = 1.0 / np.arange(1, pool + 1) ** 1.1
    regulars = [rng.choice(pool, size=min(3, pool), replace=False) for _ in range(k)]

    day_index = np.arange(days)
    start_ts = pd.Timestamp(start).normalize()
    weekday_of_day = (start_ts.day_of_week + day_index) % 7

    def _times(m: int, peak_hour: int | None, peak_weekday: int | None) -> pd.DatetimeIndex:
        w_day = _WEEKDAY_WEIGHTS[weekday_of_day]
        d = rng.choice(days, size=m, p=w_day / w_day.sum())
        h = rng.choice(24, size=m, p=_HOUR_WEIGHTS / _HOUR_WEIGHTS.sum())
        if peak_weekday is not None:
            same = np.flatnonzero(weekday_of_day == peak_weekday)
            use = rng.uniform(size=m) < 0.5
            if len(same):
                d[use] = rng.choice(same, size=int(use.sum()))
        if peak_hour is not None:
            use = rng.uniform(size=m) < 0.8
            h[use] = (peak_hour + np.rint(rng.normal(0, 1.5, size=int(use.sum())))).astype(int) % 24
        minutes = rng.integers(0, 60, size=m)
        seconds = rng.integers(0, 60, size=m)
        return (
            start_ts
            + pd.to_timedelta(d, unit="D")
            + pd.to_timedelta(h, unit="h")
            + pd.to_timedelta(minutes, unit="min")
            + pd.to_timedelta(seconds, unit="s")
        )

    frames = []
    planted_rows = []
    for c_id in range(k):
        m = int(sizes[c_id])
        fam = _anchor_family(kinds[c_id])
        peak_h = int(rng.choice(NIGHT_HOURS))
        peak_d = int(rng.integers(0, 7))
        xy = _around(centres[c_id], cluster_sd_m, m, geom, rng, water)
        codes = np.array(SERVICE_CODES)[_mix(rng, _CODE_MIX[fam], m)]
        local = rng.uniform(size=m) < 0.7
        rep = rng.choice(pool, size=m, p=zipf / zipf.sum())
        rep[local] = rng.choice(regulars[c_id], size=int(local.sum()))
        frames.append(
            pd.DataFrame(
                {
                    "x": xy[:, 0],
                    "y": xy[:, 1],
                    "requested_datetime": _times(m, peak_h, peak_d),
                    "service_code": codes,
                    "reporter": rep,
                    "planted_cluster": c_id,
                    "anchor_kind": kinds[c_id],
                }
            )
        )
        planted_rows.append(
            {
                "planted_cluster": c_id,
                "anchor_kind": kinds[c_id],
                "n_reports": m,
                "sd_m": cluster_sd_m,
                "peak_hour": peak_h,
                "peak_weekday": peak_d,
                "x": centres[c_id][0],
                "y": centres[c_id][1],
            }
        )
    if n_background > 0:
        xy = _random_in(free, n_background, rng)
        frames.append(
            pd.DataFrame(
                {
                    "x": xy[:, 0],
                    "y": xy[:, 1],
                    "requested_datetime": _times(n_background, None, None),
                    "service_code": np.array(SERVICE_CODES)[
                        _mix(rng, _CODE_MIX["other"], n_background)
                    ],
                    "reporter": rng.choice(pool, size=n_background, p=zipf / zipf.sum()),
                    "planted_cluster": -1,
                    "anchor_kind": "background",
                }
            )
        )
    cols = [
        "x",
        "y",
        "requested_datetime",
        "service_code",
        "reporter",
        "planted_cluster",
        "anchor_kind",
    ]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    sizes_idx = np.array(
        [_mix(rng, _SIZE_MIX[str(code)], 1)[0] for code in df["service_code"]], dtype=np.int64
    )
    df["size"] = np.array(SIZES)[sizes_idx] if len(df) else []
    df = df.sort_values("requested_datetime", kind="stable").reset_index(drop=True)
    reports = gpd.GeoDataFrame(
        {
            "report_id": [f"SYN-{i + 1:05d}" for i in range(len(df))],
            "requested_datetime": pd.to_datetime(df["requested_datetime"]),
            "service_code": df["service_code"].astype(str),
            "size": df["size"].astype(str),
            "reporter_id": [f"SYN-R{int(r):04d}" for r in df["reporter"]],
            "planted_cluster": df["planted_cluster"].astype(np.int64),
            "anchor_kind": df["anchor_kind"].astype(str),
            "synthetic": np.ones(len(df), dtype=bool),
        },
        geometry=gpd.points_from_xy(df["x"].astype(float), df["y"].astype(float)),
        crs=crs,
    )
    pdf = pd.DataFrame(
        planted_rows,
        columns=[
            "planted_cluster",
            "anchor_kind",
            "n_reports",
            "sd_m",
            "peak_hour",
            "peak_weekday",
            "x",
            "y",
        ],
    )
    planted = gpd.GeoDataFrame(
        pdf.drop(columns=["x", "y"]).assign(synthetic=True),
        geometry=gpd.points_from_xy(pdf["x"].astype(float), pdf["y"].astype(float)),
        crs=crs,
    )
    log.info(
        "synthetic_reports: %d reports (%d in %d planted clusters), %d days, seed %d",
        len(reports),
        int(sizes.sum()),
        k,
        days,
        seed,
    )
    return SyntheticReports(reports=reports, planted=planted)


def _points_on(
    streets: gpd.GeoDataFrame | None,
    geom: shapely.Geometry,
    n: int,
    rng: np.random.Generator,
    min_separation_m: float,
) -> npt.NDArray[np.float64]:
    """`n` points on the streets (length-weighted) or in the area, `min_separation_m` apart."""
    lines = None
    if streets is not None and len(streets):
        require_metric(streets, "streets")
        lines = shapely.get_parts(streets.geometry.to_numpy())
        lines = lines[shapely.length(lines) > 0]
        if len(lines) == 0:
            lines = None
    out: list[npt.NDArray[np.float64]] = []
    for _ in range(200 * max(n, 1)):
        if len(out) >= n:
            break
        if lines is not None:
            w = shapely.length(lines)
            line = lines[rng.choice(len(lines), p=w / w.sum())]
            p = shapely.line_interpolate_point(line, rng.uniform(), normalized=True)
            c = shapely.get_coordinates(p)[0]
            if not geom.covers(p):
                continue
        else:
            c = _random_in(geom, 1, rng)[0]
        if out and np.min(np.hypot(*(np.array(out) - c).T)) < min_separation_m:
            continue
        out.append(c)
    if len(out) < n:
        msg = f"Could not place {n} points {min_separation_m:.0f} m apart; lower the separation."
        raise ValidationError(msg)
    return np.array(out).reshape(-1, 2)


def synthetic_existing_cameras(
    area: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    streets: gpd.GeoDataFrame | None = None,
    n_fixed: int = 1,
    n_security: int = 3,
    security_fov_deg: float = 90.0,
    security_range_m: float = 40.0,
    seed: int = 0,
) -> gpd.GeoDataFrame:
    """
    Existing cameras for demos and tests ONLY: dedicated dumping cameras and security cameras.

    Fixed dumping cameras are PTZ (no heading, 360°); security cameras (shops, gates, traffic)
    face a random heading with a narrower field of view and a shorter useful range.

    Parameters
    ----------
    area
        Study area polygons, EPSG:32648.
    streets
        Street lines, EPSG:32648; cameras are placed on them when given, else anywhere in `area`.
    n_fixed
        Number of fixed dumping cameras.
    n_security
        Number of security cameras.
    security_fov_deg
        Field of view of a security camera, in degrees.
    security_range_m
        Useful range of a security camera, in metres.
    seed
        Random seed.

    Returns
    -------
    gpd.GeoDataFrame
        ``camera_id``, ``camera_kind`` (``"fixed"`` or ``"security"``), ``heading_deg`` (compass,
        NaN = 360° PTZ), ``fov_deg``, ``range_m``, ``synthetic`` (True) and the point.
    """
    geom = _area_geom(area)
    rng = np.random.default_rng(seed)
    xy = _points_on(streets, geom, n_fixed + n_security, rng, 60.0)
    kind = ["fixed"] * n_fixed + ["security"] * n_security
    heading = np.concatenate([np.full(n_fixed, np.nan), rng.uniform(0, 360, n_security)])
    out = gpd.GeoDataFrame(
        {
            "camera_id": [f"SYN-CAM{i + 1:03d}" for i in range(len(kind))],
            "camera_kind": kind,
            "heading_deg": heading,
            "fov_deg": [360.0] * n_fixed + [float(security_fov_deg)] * n_security,
            "range_m": [60.0] * n_fixed + [float(security_range_m)] * n_security,
            "synthetic": True,
        },
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=area.crs,
    )
    log.info("synthetic_existing_cameras: %d fixed, %d security", n_fixed, n_security)
    return out


def synthetic_gathering_points(
    area: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    streets: gpd.GeoDataFrame | None = None,
    n: int = 10,
    min_separation_m: float = 150.0,
    seed: int = 0,
) -> gpd.GeoDataFrame:
    """
    Household-waste gathering points for demos and tests ONLY.

    Parameters
    ----------
    area
        Study area polygons, EPSG:32648.
    streets
        Street lines, EPSG:32648; points are placed on them when given, else anywhere in `area`.
    n
        Number of points.
    min_separation_m
        Smallest distance between two points, in metres.
    seed
        Random seed.

    Returns
    -------
    gpd.GeoDataFrame
        ``point_id``, ``kind`` (``"gathering_point"``), ``synthetic`` (True) and the point.
    """
    geom = _area_geom(area)
    rng = np.random.default_rng(seed)
    xy = _points_on(streets, geom, n, rng, min_separation_m)
    out = gpd.GeoDataFrame(
        {
            "point_id": [f"SYN-GP{i + 1:03d}" for i in range(n)],
            "kind": "gathering_point",
            "synthetic": True,
        },
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs=area.crs,
    )
    log.info("synthetic_gathering_points: %d points", n)
    return out


def synthetic_street_grid(
    area: gpd.GeoDataFrame | gpd.GeoSeries, *, spacing_m: float = 200.0
) -> gpd.GeoDataFrame:
    """
    Build a square street grid clipped to the area, one LineString per block face.

    For demos and tests.

    Parameters
    ----------
    area
        Study area polygons, EPSG:32648.
    spacing_m
        Distance between parallel streets, in metres.

    Returns
    -------
    gpd.GeoDataFrame
        ``street_id``, ``synthetic`` (True) and the LineString of each segment between junctions.
    """
    geom = _area_geom(area)
    if not spacing_m > 0:
        msg = f"`spacing_m` must be positive; got {spacing_m}."
        raise ValidationError(msg)
    minx, miny, maxx, maxy = geom.bounds
    xs = np.arange(math.ceil(minx / spacing_m), math.floor(maxx / spacing_m) + 1) * spacing_m
    ys = np.arange(math.ceil(miny / spacing_m), math.floor(maxy / spacing_m) + 1) * spacing_m
    segs = [shapely.LineString([(x0, y), (x1, y)]) for y in ys for x0, x1 in pairwise(xs)]
    segs += [shapely.LineString([(x, y0), (x, y1)]) for x in xs for y0, y1 in pairwise(ys)]
    empty = np.empty(0, dtype=object)
    arr = shapely.intersection(np.array(segs, dtype=object), geom) if segs else empty
    parts = shapely.get_parts(arr) if len(arr) else empty
    parts = [p for p in parts if p.geom_type == "LineString" and p.length > 0]
    out = gpd.GeoDataFrame(
        {"street_id": np.arange(len(parts)), "synthetic": True}, geometry=parts, crs=area.crs
    )
    log.info("synthetic_street_grid: %d segments at %.0f m spacing", len(out), spacing_m)
    return out
