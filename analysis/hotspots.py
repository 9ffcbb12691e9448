"""Illegal-dumping hotspots from citizen reports: density, clusters, Gi* and their validation.

Every function takes report points in a projected metric CRS (EPSG:32648) with a
``requested_datetime`` column (Open311 v2 name) and returns new frames; nothing is read or written.

Reports measure *reporting*, not dumping: they over-represent streets where people who report
live, walk or work, and under-represent places nobody watches. A hotspot here is a place with many
reports.
The functions therefore expose raw counts next to every intensity (reports per cell, per cluster,
unique reporters when a reporter id is present) so a reader can see how few observations a map
rests on, and a predictive score is never shown without `spatial_cv_hit_rate`.

Times are read in Hai Phong local time (Asia/Ho_Chi_Minh, UTC+7): timezone-aware datetimes are
converted to it before hour-of-day and weekday profiles are taken; naive datetimes count as local.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse, stats
from scipy.spatial import cKDTree

from gomrac.analysis._validate import require_metric
from gomrac.analysis.errors import ValidationError

if TYPE_CHECKING:
    import numpy.typing as npt

log = logging.getLogger(__name__)

LOCAL_TZ = "Asia/Ho_Chi_Minh"
DEFAULT_BANDWIDTH_M = 150.0
"""Default KDE bandwidth (metres); see `report_density` for the reasoning."""

HOTSPOT_CLASSES = ("hot_99", "hot_95", "hot_90", "not_significant", "cold_90", "cold_95", "cold_99")
"""Gi* classes, from the strongest hot spot to the strongest cold spot."""


# --------------------------------------------------------------------------------------------
# helpers


def _study_polygon(area: gpd.GeoDataFrame | gpd.GeoSeries) -> shapely.Geometry:
    require_metric(area, "area")
    geom = area.geometry.union_all() if isinstance(area, gpd.GeoDataFrame) else area.union_all()
    if geom is None or geom.is_empty or geom.area <= 0:
        msg = "`area` has no polygon with a positive area; pass the study area (ward) polygons."
        raise ValidationError(msg)
    return geom


def _check_reports(reports: gpd.GeoDataFrame, *, need_time: bool = True) -> None:
    require_metric(reports, "reports")
    if need_time and "requested_datetime" not in reports.columns:
        msg = "`reports` needs a `requested_datetime` column (pandas datetime, Open311 v2 name)."
        raise ValidationError(msg)
    if len(reports) and not bool(reports.geometry.geom_type.eq("Point").all()):
        msg = "`reports` must hold Point geometries (one point per report)."
        raise ValidationError(msg)


def _xy(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> npt.NDArray[np.float64]:
    geoms = gdf.geometry if isinstance(gdf, gpd.GeoDataFrame) else gdf
    if len(geoms) == 0:
        return np.empty((0, 2), dtype=np.float64)
    xy: npt.NDArray[np.float64] = shapely.get_coordinates(geoms.to_numpy()).astype(np.float64)
    return xy


def _local_times(times: pd.Series) -> pd.Series:
    t = pd.to_datetime(times)
    if t.dt.tz is not None:
        t = t.dt.tz_convert(LOCAL_TZ)
    return t


def _grid(area_geom: shapely.Geometry, cell_m: float) -> gpd.GeoDataFrame:
    """Square cells of side `cell_m` aligned on multiples of `cell_m` that meet the area."""
    if cell_m <= 0:
        msg = f"`cell_m` must be positive; got {cell_m}."
        raise ValidationError(msg)
    minx, miny, maxx, maxy = area_geom.bounds
    x0 = math.floor(minx / cell_m) * cell_m
    y0 = math.floor(miny / cell_m) * cell_m
    ncol = max(1, math.ceil((maxx - x0) / cell_m))
    nrow = max(1, math.ceil((maxy - y0) / cell_m))
    col_grid, row_grid = np.meshgrid(np.arange(ncol), np.arange(nrow))
    cols, rows = col_grid.ravel(), row_grid.ravel()
    xs, ys = x0 + cols * cell_m, y0 + rows * cell_m
    boxes = shapely.box(xs, ys, xs + cell_m, ys + cell_m)
    shapely.prepare(area_geom)
    keep = shapely.intersects(area_geom, boxes)
    inside = shapely.contains(area_geom, boxes)
    area_m2 = np.full(len(boxes), cell_m * cell_m)
    edge = keep & ~inside
    area_m2[edge] = shapely.area(shapely.intersection(boxes[edge], area_geom))
    keep &= area_m2 > 0
    cells = gpd.GeoDataFrame(
        {
            "cell_id": np.arange(int(keep.sum())),
            "row": rows[keep],
            "col": cols[keep],
            "area_in_study_m2": area_m2[keep],
        },
        geometry=boxes[keep],
        crs=None,
    )
    cells.attrs.update({"x0_m": x0, "y0_m": y0, "cell_m": cell_m, "nrow": nrow, "ncol": ncol})
    return cells


def _cell_index(cells: gpd.GeoDataFrame, xy: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    """Position in `cells` of the cell holding each point, or -1 when no kept cell holds it."""
    a = cells.attrs
    lookup = np.full((a["nrow"], a["ncol"]), -1, dtype=np.int64)
    lookup[cells["row"].to_numpy(), cells["col"].to_numpy()] = np.arange(len(cells))
    if len(xy) == 0:
        return np.empty(0, dtype=np.int64)
    col = np.floor((xy[:, 0] - a["x0_m"]) / a["cell_m"]).astype(np.int64)
    row = np.floor((xy[:, 1] - a["y0_m"]) / a["cell_m"]).astype(np.int64)
    ok = (col >= 0) & (col < a["ncol"]) & (row >= 0) & (row < a["nrow"])
    out = np.full(len(xy), -1, dtype=np.int64)
    out[ok] = lookup[row[ok], col[ok]]
    return out


def _counts(cells: gpd.GeoDataFrame, xy: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    idx = _cell_index(cells, xy)
    idx = idx[idx >= 0]
    return np.bincount(idx, minlength=len(cells)).astype(np.int64)


def _resolve_bandwidth(
    bandwidth_m: float | Literal["scott", "silverman"], xy: npt.NDArray[np.float64]
) -> float:
    if isinstance(bandwidth_m, str):
        if bandwidth_m not in {"scott", "silverman"}:
            msg = (
                "`bandwidth_m` must be a distance in metres, 'scott' or 'silverman'; "
                f"got {bandwidth_m!r}."
            )
            raise ValidationError(msg)
        if len(xy) < 2:
            msg = "A data-driven bandwidth needs two reports or more; pass `bandwidth_m` in metres."
            raise ValidationError(msg)
        sigma = math.sqrt(float(np.var(xy[:, 0], ddof=1) + np.var(xy[:, 1], ddof=1)) / 2.0)
        # in two dimensions Scott's n^(-1/(d+4)) and Silverman's (n(d+2)/4)^(-1/(d+4)) coincide
        n_factor: float = len(xy) ** (-1.0 / 6.0)
        return max(sigma * n_factor, 1e-6)
    if not bandwidth_m > 0:
        msg = f"`bandwidth_m` must be positive; got {bandwidth_m}."
        raise ValidationError(msg)
    return float(bandwidth_m)


def _kde_per_m2(
    points_xy: npt.NDArray[np.float64],
    at_xy: npt.NDArray[np.float64],
    bandwidth_m: float,
    *,
    cutoff_sd: float = 4.0,
) -> npt.NDArray[np.float64]:
    """Sum of isotropic Gaussian kernels (reports per m²) at `at_xy`; integrates to len(points)."""
    out = np.zeros(len(at_xy), dtype=np.float64)
    if len(points_xy) == 0 or len(at_xy) == 0:
        return out
    # the "ndarray" output keeps pairs at distance 0 (the dict/coo outputs would drop them)
    pairs = cKDTree(at_xy).sparse_distance_matrix(
        cKDTree(points_xy), max_distance=cutoff_sd * bandwidth_m, output_type="ndarray"
    )
    np.add.at(out, pairs["i"], np.exp(-0.5 * (pairs["v"] / bandwidth_m) ** 2))
    return out / (2.0 * math.pi * bandwidth_m**2)


def _window_days(times: pd.Series, window_days: float | None) -> float:
    if window_days is not None:
        if not window_days > 0:
            msg = f"`window_days` must be positive; got {window_days}."
            raise ValidationError(msg)
        return float(window_days)
    if len(times) == 0:
        return 1.0
    t = pd.to_datetime(times)
    span = (t.max() - t.min()) / pd.Timedelta(days=1)
    return max(1.0, float(math.ceil(span)))


# --------------------------------------------------------------------------------------------
# density


def report_density(
    reports: gpd.GeoDataFrame,
    area: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    cell_m: float = 50.0,
    bandwidth_m: float | Literal["scott", "silverman"] = DEFAULT_BANDWIDTH_M,
    period_days: float = 30.0,
    window_days: float | None = None,
) -> gpd.GeoDataFrame:
    """
    Planar Gaussian kernel density of reports on a square grid over the study area.

    Each report spreads one unit over an isotropic Gaussian of standard deviation `bandwidth_m`; the
    surface is evaluated at the centre of each `cell_m` cell and scaled to reports per km² per
    `period_days`. The default bandwidth is a fixed 150 m, not a data-driven rule: a dumping site is
    a spot of 10–50 m (a corner, a canal bank, a vacant plot), phone positions are off by 10–50 m,
    and 150 m (about a block face, two minutes' walk) merges reports about the same site while
    keeping sites 300 m apart distinct. Scott's/Silverman's rule (``"scott"`` or ``"silverman"``;
    identical in two dimensions, h = σ n^(-1/6) with σ the mean coordinate standard deviation) is
    offered but over-smooths a clustered pattern, since σ measures the spread of the whole ward.

    Parameters
    ----------
    reports
        Report points, EPSG:32648, with `requested_datetime`.
    area
        Study area polygons (e.g. a ward), EPSG:32648.
    cell_m
        Side of a grid cell, in metres.
    bandwidth_m
        Kernel standard deviation in metres, or ``"scott"`` / ``"silverman"``.
    period_days
        Length of the period the intensity is expressed per, in days.
    window_days
        Length of the observation window in days; by default the span from the first to the last
        report, rounded up to whole days (at least one day).

    Returns
    -------
    gpd.GeoDataFrame
        One row per cell meeting the area: ``cell_id``, ``row``, ``col``, ``area_in_study_m2``,
        ``n_reports`` (reports whose point falls in the cell), ``density_per_km2`` (smoothed
        reports per km² over the whole window) and ``reports_per_km2_per_period`` (the same per
        `period_days`). ``attrs`` records ``bandwidth_m``, ``period_days`` and ``window_days``.

    Raises
    ------
    CRSError
        If `reports` or `area` is not in a projected metric CRS.
    ValidationError
        If `requested_datetime` is missing or a parameter is out of range.

    Notes
    -----
    No edge correction is made: intensity in cells along the area boundary is biased low when
    reports outside the area were not passed. Reports count where they were filed, which depends on
    who reports (see the module notes).
    """
    _check_reports(reports)
    geom = _study_polygon(area)
    xy = _xy(reports)
    h = _resolve_bandwidth(bandwidth_m, xy)
    if not period_days > 0:
        msg = f"`period_days` must be positive; got {period_days}."
        raise ValidationError(msg)
    win = _window_days(reports["requested_datetime"], window_days)
    cells = _grid(geom, cell_m)
    centres = _xy(cells.geometry.centroid)
    per_m2 = _kde_per_m2(xy, centres, h)
    cells["n_reports"] = _counts(cells, xy)
    cells["density_per_km2"] = per_m2 * 1e6
    cells["reports_per_km2_per_period"] = per_m2 * 1e6 * period_days / win
    cells = cells.set_crs(area.crs)
    cells.attrs.update({"bandwidth_m": h, "period_days": period_days, "window_days": win})
    log.info(
        "report_density: %d reports on %d cells of %.0f m, bandwidth %.0f m, window %.0f d",
        len(reports),
        len(cells),
        cell_m,
        h,
        win,
    )
    return cells


# --------------------------------------------------------------------------------------------
# clusters


@dataclass(frozen=True)
class ReportClusters:
    """Result of `cluster_reports`.

    Attributes
    ----------
    labels
        Cluster id of each report (indexed like the input), -1 for noise.
    clusters
        One row per cluster; see `cluster_reports`.
    method
        ``"dbscan"`` or ``"hdbscan"``.
    """

    labels: pd.Series
    clusters: gpd.GeoDataFrame
    method: str


def _profiles(times: pd.Series) -> tuple[tuple[int, ...], tuple[int, ...]]:
    t = _local_times(times)
    hours = np.bincount(t.dt.hour.to_numpy(dtype=np.int64), minlength=24)
    days = np.bincount(t.dt.day_of_week.to_numpy(dtype=np.int64), minlength=7)
    return tuple(int(v) for v in hours), tuple(int(v) for v in days)


def peak_hours(hour_profile: tuple[int, ...] | list[int], *, window_h: int = 4) -> str:
    """
    Busiest `window_h`-hour window of a 24-bin hour-of-day profile, as ``"HH:00-HH:00"``.

    The window may wrap past midnight (``"22:00-02:00"``). Ties go to the earliest start hour.

    Parameters
    ----------
    hour_profile
        Report counts for hours 0..23 (local time).
    window_h
        Window length in hours, 1..24.

    Returns
    -------
    str
        The window, e.g. ``"20:00-00:00"``.

    Examples
    --------
    >>> peak_hours([0] * 20 + [1, 2, 3, 4])
    '20:00-00:00'
    """
    prof = np.asarray(hour_profile, dtype=np.float64)
    if prof.shape != (24,) or not 1 <= window_h <= 24:
        msg = "`hour_profile` must have 24 bins and `window_h` must lie in 1..24."
        raise ValidationError(msg)
    sums = np.array([prof[(np.arange(window_h) + s) % 24].sum() for s in range(24)])
    start = int(np.argmax(sums))
    return f"{start:02d}:00-{(start + window_h) % 24:02d}:00"


def cluster_reports(
    reports: gpd.GeoDataFrame,
    *,
    method: Literal["dbscan", "hdbscan"] = "dbscan",
    eps_m: float = 75.0,
    min_samples: int = 5,
    min_cluster_size: int | None = None,
    reporter_col: str = "reporter_id",
) -> ReportClusters:
    """
    Group reports into dumping sites with DBSCAN or HDBSCAN (scikit-learn).

    DBSCAN joins reports with at least `min_samples` reports (itself included) within `eps_m`;
    75 m is about half a block face, so two piles across a junction merge and two sites a block
    apart do not. HDBSCAN needs no radius: it keeps clusters of at least `min_cluster_size`
    reports that persist over density levels, and suits wards where urban and peri-urban densities
    differ; `eps_m` is then unused.

    Background reports also form clusters when they are dense: a disc of radius `eps_m` holds on
    average ρ π `eps_m`² reports at a background density ρ (about 0.9 at 50 reports/km² and 75 m),
    so keep `min_samples` well above that figure, and read ``n_reporters`` before acting on a
    cluster.

    Parameters
    ----------
    reports
        Report points, EPSG:32648, with `requested_datetime`.
    method
        ``"dbscan"`` or ``"hdbscan"``.
    eps_m
        DBSCAN neighbourhood radius, in metres.
    min_samples
        Core-point threshold (reports, including the point itself).
    min_cluster_size
        HDBSCAN smallest cluster, in reports; defaults to `min_samples` (at least 2).
    reporter_col
        Column with a reporter id; when present, clusters count unique reporters.

    Returns
    -------
    ReportClusters
        ``labels`` (-1 = noise) and ``clusters``, a GeoDataFrame with one row per cluster:
        ``cluster_id``, ``n_reports``, ``share_of_reports`` (0..1), ``n_reporters`` (when
        `reporter_col` exists, else missing), ``first_report``, ``last_report``, ``hour_profile``
        (24 counts, local time), ``weekday_profile`` (7 counts, Monday first), ``peak_hour``,
        ``peak_weekday`` (0 = Monday), ``peak_hours`` (busiest 4-hour window), ``area_m2``,
        ``centroid`` (a point column) and the convex hull of its reports as geometry (buffered to
        a small disc when the reports are collinear or coincide).

    Raises
    ------
    CRSError
        If `reports` is not in a projected metric CRS.
    ValidationError
        If `requested_datetime` is missing or `method` is unknown.
    """
    from sklearn.cluster import DBSCAN, HDBSCAN

    _check_reports(reports)
    if min_samples < 1:
        msg = f"`min_samples` must be at least 1; got {min_samples}."
        raise ValidationError(msg)
    xy = _xy(reports)
    if len(xy) == 0:
        raw = np.empty(0, dtype=np.int64)
    elif method == "dbscan":
        if not eps_m > 0:
            msg = f"`eps_m` must be positive; got {eps_m}."
            raise ValidationError(msg)
        raw = DBSCAN(eps=eps_m, min_samples=min_samples).fit_predict(xy)
    elif method == "hdbscan":
        mcs = min_cluster_size if min_cluster_size is not None else max(2, min_samples)
        if len(xy) < max(mcs, 2):
            raw = np.full(len(xy), -1, dtype=np.int64)
        else:
            raw = HDBSCAN(min_cluster_size=mcs, min_samples=min_samples, copy=True).fit_predict(xy)
    else:
        msg = f"`method` must be 'dbscan' or 'hdbscan'; got {method!r}."
        raise ValidationError(msg)
    # renumber clusters by size (largest first) so ids are stable for a given input
    ids, sizes = np.unique(raw[raw >= 0], return_counts=True)
    order = ids[np.lexsort((ids, -sizes))]
    remap = {int(old): new for new, old in enumerate(order)}
    labels_arr = np.array([remap.get(int(v), -1) for v in raw], dtype=np.int64)
    labels = pd.Series(labels_arr, index=reports.index, name="cluster_id")

    rows = []
    geoms = []
    centroids = []
    has_reporter = reporter_col in reports.columns
    n_total = len(reports)
    pts = reports.geometry.to_numpy()
    for cid in range(len(order)):
        mask = labels_arr == cid
        sub = reports.loc[mask]
        mp = shapely.multipoints(pts[mask])
        hull = shapely.convex_hull(mp)
        if hull.geom_type != "Polygon":
            hull = hull.buffer(max(eps_m / 4.0, 1.0))
        hours, days = _profiles(sub["requested_datetime"])
        t = pd.to_datetime(sub["requested_datetime"])
        row = {
            "cluster_id": cid,
            "n_reports": int(mask.sum()),
            "share_of_reports": float(mask.sum()) / n_total,
            "n_reporters": int(sub[reporter_col].nunique()) if has_reporter else pd.NA,
            "first_report": t.min(),
            "last_report": t.max(),
            "hour_profile": hours,
            "weekday_profile": days,
            "peak_hour": int(np.argmax(hours)),
            "peak_weekday": int(np.argmax(days)),
            "peak_hours": peak_hours(hours),
            "area_m2": float(hull.area),
        }
        rows.append(row)
        geoms.append(hull)
        centroids.append(shapely.centroid(mp))
    columns = [
        "cluster_id",
        "n_reports",
        "share_of_reports",
        "n_reporters",
        "first_report",
        "last_report",
        "hour_profile",
        "weekday_profile",
        "peak_hour",
        "peak_weekday",
        "peak_hours",
        "area_m2",
    ]
    clusters = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=columns), geometry=geoms, crs=reports.crs
    )
    clusters["centroid"] = gpd.GeoSeries(centroids, index=clusters.index, crs=reports.crs)
    log.info(
        "cluster_reports: %s on %d reports -> %d clusters, %d noise",
        method,
        n_total,
        len(clusters),
        int((labels_arr < 0).sum()),
    )
    return ReportClusters(labels=labels, clusters=clusters, method=method)


# --------------------------------------------------------------------------------------------
# Getis-Ord Gi*


def _gi_star_csr_p(
    y: npt.NDArray[np.float64],
    w: sparse.csr_array | sparse.csr_matrix,
    cell_area_m2: npt.NDArray[np.float64],
    simulations: int,
    seed: int,
) -> npt.NDArray[np.float64]:
    """Two-sided Monte Carlo p-values of Gi* when the reports fall at random over the area.

    Gi* of cell i is (W y)_i / sum(y) with W binary and holding the cell itself; the total is
    fixed in every simulation, so comparing neighbourhood sums is enough. Each simulation drops
    the same number of reports on the cells with probabilities proportional to their area in the
    study area (complete spatial randomness, a multinomial draw).
    """
    n = len(y)
    rng = np.random.default_rng(seed)
    total = round(y.sum())
    prob = cell_area_m2 / cell_area_m2.sum()
    obs = w @ y
    ge = np.zeros(n)
    le = np.zeros(n)
    batch = max(1, min(simulations, 2_000_000 // max(n, 1)))
    done = 0
    while done < simulations:
        b = min(batch, simulations - done)
        sims = w @ rng.multinomial(total, prob, size=b).T.astype(np.float64)
        ge += (sims >= obs[:, None] - 1e-9).sum(axis=1)
        le += (sims <= obs[:, None] + 1e-9).sum(axis=1)
        done += b
    p_hot = (ge + 1.0) / (simulations + 1.0)
    p_cold = (le + 1.0) / (simulations + 1.0)
    return np.minimum(1.0, 2.0 * np.minimum(p_hot, p_cold))


def getis_ord_hotspots(
    reports: gpd.GeoDataFrame,
    area: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    cell_m: float = 100.0,
    distance_band_m: float | None = None,
    inference: Literal["csr", "permutation", "normal"] = "csr",
    permutations: int = 9999,
    seed: int = 0,
    fdr_alpha: float = 0.05,
) -> gpd.GeoDataFrame:
    """
    Getis-Ord Gi* hot and cold spots of report counts on a square grid.

    Reports are counted in `cell_m` cells over the study area; each cell's neighbourhood is the
    cell itself plus every cell whose centre lies within `distance_band_m` (binary weights; by
    default 1.5 × `cell_m`, i.e. queen contiguity: the 8 surrounding cells). The statistic and its
    z-score come from ``esda.G_Local(star=True)``. The p-value depends on `inference`:

    ``"csr"`` (default)
        Monte Carlo with `permutations` simulations (fixed `seed`) of the same number of reports
        dropped at random on the study area (complete spatial randomness; a cell's chance is its
        area in the study area). This asks the planner's question, "are there more reports here
        than if reports fell anywhere?". Since most reports sit in a few sites, most other cells
        hold fewer reports than under randomness and many come out cold; that is expected.
    ``"permutation"``
        esda's conditional randomisation (`permutations`, fixed `seed`): the cell's own count is
        held and its neighbours' counts are shuffled among all cells, as GeoDa does. With report
        counts this test is weak: the few very large counts *are* the hot spots, so shuffled
        neighbourhoods often draw one of them, and a site whose reports fall in one or two cells
        is rarely significant. On `analysis.scenario.synthetic_reports` (500 reports, 6 planted
        sites, 100 m cells, seeds 0-2) it found no hot cell at FDR 5 %, where ``"csr"`` found
        all 6 sites every time.
    ``"normal"``
        The analytical normal approximation of the z-score (ArcGIS *Hot Spot Analysis*). The
        variance comes from the counts themselves, so a few very large sites inflate it and
        smaller sites are missed (3 to 5 of the 6 planted sites in the runs above).

    Parameters
    ----------
    reports
        Report points, EPSG:32648.
    area
        Study area polygons, EPSG:32648. Under ``"csr"`` this is where reports could have come
        from: pass built-up or populated land rather than a ward with paddy fields or river, or
        the whole populated core will come out hot merely for having people in it.
    cell_m
        Side of a grid cell, in metres.
    distance_band_m
        Neighbourhood radius between cell centres, in metres; default 1.5 × `cell_m` (queen).
    inference
        ``"csr"``, ``"permutation"`` or ``"normal"``; see above.
    permutations
        Number of simulations or permutations for ``"csr"`` and ``"permutation"``.
    seed
        Seed of the simulations or permutations; a run is reproducible.
    fdr_alpha
        False discovery rate for the ``hot_fdr`` / ``cold_fdr`` flags.

    Returns
    -------
    gpd.GeoDataFrame
        Cells with ``cell_id``, ``row``, ``col``, ``area_in_study_m2``, ``n_reports``,
        ``gi_z`` (standardised Gi*, analytical moments), ``p_value`` (two-sided: twice the smaller
        one-sided pseudo p-value, capped at 1; for ``"normal"`` from ``gi_z``), ``q_value``
        (Benjamini–Hochberg adjusted), ``hotspot_class`` (one of `HOTSPOT_CLASSES`, from
        ``p_value`` at 0.01 / 0.05 / 0.10 and the sign of ``gi_z``), and ``hot_fdr`` /
        ``cold_fdr`` (significant after the FDR adjustment at `fdr_alpha`).

    Raises
    ------
    CRSError
        If `reports` or `area` is not in a projected metric CRS.
    ValidationError
        If a parameter is out of range.

    Notes
    -----
    The classes at 90/95/99 % are per-cell tests: over a grid of a few hundred cells about
    10 % of cells of a random pattern get a class by chance at the 90 % level. Report hot spots
    with ``hot_fdr`` (Benjamini–Hochberg); the unadjusted classes are kept because planners read
    them on ArcGIS-style maps. The counts are reports, not dumping (see the module notes).
    """
    import esda
    from libpysal.weights import W

    _check_reports(reports, need_time=False)
    geom = _study_polygon(area)
    if inference not in {"csr", "permutation", "normal"}:
        msg = f"`inference` must be 'csr', 'permutation' or 'normal'; got {inference!r}."
        raise ValidationError(msg)
    if permutations < 1:
        msg = f"`permutations` must be at least 1; got {permutations}."
        raise ValidationError(msg)
    if not 0 < fdr_alpha < 1:
        msg = f"`fdr_alpha` must lie in (0, 1); got {fdr_alpha}."
        raise ValidationError(msg)
    band = 1.5 * cell_m if distance_band_m is None else float(distance_band_m)
    if not band > 0:
        msg = f"`distance_band_m` must be positive; got {distance_band_m}."
        raise ValidationError(msg)
    cells = _grid(geom, cell_m)
    y = _counts(cells, _xy(reports)).astype(np.float64)
    cells["n_reports"] = y.astype(np.int64)
    n = len(cells)
    z = np.zeros(n)
    p = np.ones(n)
    if n >= 3 and y.sum() > 0 and y.var() > 0:
        centres = _xy(cells.geometry.centroid)
        pairs = cKDTree(centres).query_pairs(r=band * (1 + 1e-9), output_type="ndarray")
        neighbours: dict[int, list[int]] = {i: [i] for i in range(n)}
        for a, b in pairs:
            neighbours[int(a)].append(int(b))
            neighbours[int(b)].append(int(a))
        w = W(neighbours, silence_warnings=True)
        with warnings.catch_warnings():
            # esda announces a change of its default alternative; we double the folded p ourselves
            warnings.filterwarnings(
                "ignore", message="The alternative hypothesis", category=DeprecationWarning
            )
            g = esda.G_Local(
                y,
                w,
                transform="B",
                star=True,
                permutations=permutations if inference == "permutation" else 0,
                seed=seed,
                n_jobs=1,
                keep_simulations=False,
            )
        z = np.nan_to_num(np.asarray(g.Zs, dtype=np.float64))
        if inference == "permutation":
            p = np.minimum(1.0, 2.0 * np.asarray(g.p_sim, dtype=np.float64))
        elif inference == "normal":
            p = np.minimum(1.0, 2.0 * stats.norm.sf(np.abs(z)))
        else:
            p = _gi_star_csr_p(
                y, w.sparse.tocsr(), cells["area_in_study_m2"].to_numpy(), permutations, seed
            )
    q = stats.false_discovery_control(p, method="bh") if n else p
    cls = np.full(n, "not_significant", dtype=object)
    for level, cut in (("90", 0.10), ("95", 0.05), ("99", 0.01)):
        cls[(p <= cut) & (z > 0)] = f"hot_{level}"
        cls[(p <= cut) & (z < 0)] = f"cold_{level}"
    cells["gi_z"] = z
    cells["p_value"] = p
    cells["q_value"] = q
    cells["hotspot_class"] = pd.Categorical(cls, categories=list(HOTSPOT_CLASSES))
    cells["hot_fdr"] = (q <= fdr_alpha) & (z > 0)
    cells["cold_fdr"] = (q <= fdr_alpha) & (z < 0)
    cells = cells.set_crs(area.crs)
    cells.attrs.update(
        {
            "distance_band_m": band,
            "inference": inference,
            "permutations": permutations,
            "seed": seed,
            "fdr_alpha": fdr_alpha,
        }
    )
    log.info(
        "getis_ord_hotspots: %d reports, %d cells of %.0f m, %s, %d hot / %d cold at FDR %.2f",
        len(reports),
        n,
        cell_m,
        inference,
        int(cells["hot_fdr"].sum()),
        int(cells["cold_fdr"].sum()),
        fdr_alpha,
    )
    return cells


def merge_hot_cells(cells: gpd.GeoDataFrame, *, flag_col: str = "hot_fdr") -> gpd.GeoDataFrame:
    """
    Merge touching flagged Gi* cells into hotspot polygons.

    Parameters
    ----------
    cells
        Output of `getis_ord_hotspots`, EPSG:32648.
    flag_col
        Boolean column selecting the cells to merge.

    Returns
    -------
    gpd.GeoDataFrame
        One polygon per group of edge- or corner-touching cells, largest count first:
        ``hotspot_id``, ``n_cells``, ``n_reports``, ``max_gi_z`` and ``area_m2``.
    """
    require_metric(cells, "cells")
    sel = cells.loc[cells[flag_col].astype(bool)]
    cols = ["hotspot_id", "n_cells", "n_reports", "max_gi_z", "area_m2"]
    if sel.empty:
        return gpd.GeoDataFrame(pd.DataFrame(columns=cols), geometry=[], crs=cells.crs)
    merged = shapely.get_parts(shapely.union_all(sel.geometry.buffer(1e-6).to_numpy()))
    tree = shapely.STRtree(merged)
    part = tree.query(sel.geometry.centroid.to_numpy(), predicate="within")
    owner = np.empty(len(sel), dtype=np.int64)
    owner[part[0]] = part[1]
    rows = []
    for k in range(len(merged)):
        m = owner == k
        rows.append(
            {
                "n_cells": int(m.sum()),
                "n_reports": int(sel["n_reports"].to_numpy()[m].sum()),
                "max_gi_z": float(sel["gi_z"].to_numpy()[m].max()),
                "area_m2": float(merged[k].area),
            }
        )
    out = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=list(merged), crs=cells.crs)
    out = out.sort_values(["n_reports", "max_gi_z"], ascending=False).reset_index(drop=True)
    out.insert(0, "hotspot_id", np.arange(len(out)))
    return out


# --------------------------------------------------------------------------------------------
# summary


@dataclass(frozen=True)
class HotspotSummary:
    """Honest counts behind a hotspot map; see `hotspot_summary`.

    Attributes
    ----------
    reports
        Number of reports considered.
    hotspots
        Number of hotspot polygons.
    top_n
        N used for `top_share_pct`.
    top_share_pct
        Share of reports (0..100) inside the N hotspots with most reports (each report once).
    in_hotspots_pct
        Share of reports (0..100) inside any hotspot.
    reports_per_hotspot
        Reports inside each hotspot, indexed like the hotspots, largest first.
    unique_reporters
        Distinct reporter ids overall, or None when there is no reporter column.
    reporters_per_hotspot
        Distinct reporter ids inside each hotspot, or None.
    synthetic_reports
        Reports flagged ``synthetic`` (0 when no such column).
    """

    reports: int
    hotspots: int
    top_n: int
    top_share_pct: float
    in_hotspots_pct: float
    reports_per_hotspot: pd.Series
    unique_reporters: int | None
    reporters_per_hotspot: pd.Series | None
    synthetic_reports: int


def hotspot_summary(
    reports: gpd.GeoDataFrame,
    hotspots: gpd.GeoDataFrame,
    *,
    top_n: int = 5,
    reporter_col: str = "reporter_id",
) -> HotspotSummary:
    """
    Count reports in hotspots, with the share held by the top N and unique reporters.

    N defaults to 5: a ward team can act on about five sites at once (a couple of mobile cameras,
    one clean-up crew, patrol visits), so the share in the top five says how far focusing on them
    goes. Reports are biased toward people who report: a hotspot backed by 40 reports from 2
    reporters is weaker evidence than one backed by 15 reporters, which is why distinct reporters
    are counted when `reporter_col` exists.

    Parameters
    ----------
    reports
        Report points, EPSG:32648.
    hotspots
        Hotspot polygons (clusters from `cluster_reports`, or `merge_hot_cells`), EPSG:32648.
    top_n
        Number of hotspots (by reports inside) for `top_share_pct`.
    reporter_col
        Column with a reporter id.

    Returns
    -------
    HotspotSummary
        The counts.

    Raises
    ------
    CRSError
        If an input is not in a projected metric CRS.
    """
    _check_reports(reports, need_time=False)
    require_metric(hotspots, "hotspots")
    if top_n < 1:
        msg = f"`top_n` must be at least 1; got {top_n}."
        raise ValidationError(msg)
    n = len(reports)
    polys = hotspots.geometry.to_numpy()
    if n and len(polys):
        hit = shapely.STRtree(polys).query(reports.geometry.to_numpy(), predicate="intersects")
    else:
        hit = np.empty((2, 0), dtype=np.int64)
    per = np.bincount(hit[1], minlength=len(polys)).astype(np.int64)
    order = np.argsort(-per, kind="stable")  # most reports first, ties in input order
    per_hotspot = pd.Series(per[order], index=hotspots.index[order], name="n_reports")
    in_top = np.unique(hit[0][np.isin(hit[1], order[:top_n])])
    in_any = np.unique(hit[0])
    reporters = None
    per_reporters = None
    if reporter_col in reports.columns:
        rid = reports[reporter_col].to_numpy()
        reporters = int(pd.Series(rid).nunique())
        frame = pd.DataFrame({"h": hit[1], "r": rid[hit[0]]})
        counts = frame.groupby("h")["r"].nunique().reindex(range(len(polys)), fill_value=0)
        per_reporters = pd.Series(
            counts.to_numpy()[order], index=hotspots.index[order], name="n_reporters"
        )
    synth = int(reports["synthetic"].astype(bool).sum()) if "synthetic" in reports.columns else 0
    out = HotspotSummary(
        reports=n,
        hotspots=len(polys),
        top_n=top_n,
        top_share_pct=100.0 * len(in_top) / n if n else 0.0,
        in_hotspots_pct=100.0 * len(in_any) / n if n else 0.0,
        reports_per_hotspot=per_hotspot,
        unique_reporters=reporters,
        reporters_per_hotspot=per_reporters,
        synthetic_reports=synth,
    )
    log.info(
        "hotspot_summary: %d reports, %d hotspots, top %d hold %.1f %%",
        n,
        len(polys),
        top_n,
        out.top_share_pct,
    )
    return out


# --------------------------------------------------------------------------------------------
# validation


@dataclass(frozen=True)
class SpatialCVResult:
    """Per-fold and mean hit rate and PAI of a KDE hotspot score; see `spatial_cv_hit_rate`.

    Attributes
    ----------
    folds
        One row per fold: ``fold``, ``n_blocks``, ``n_train``, ``n_test``, ``area_km2``,
        ``flagged_km2``, ``hit_rate`` (0..1, NaN without test reports) and ``pai``.
    mean_hit_rate
        Mean of the fold hit rates (folds without test reports left out).
    mean_pai
        Mean of the fold PAIs.
    area_share
        Target share of each fold's area flagged as hotspot.
    split_time
        Time separating training and test reports, or None for a purely spatial split.
    """

    folds: pd.DataFrame
    mean_hit_rate: float
    mean_pai: float
    area_share: float
    split_time: pd.Timestamp | None


def spatial_cv_hit_rate(
    reports: gpd.GeoDataFrame,
    area: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    folds: int = 5,
    block_m: float = 500.0,
    cell_m: float = 50.0,
    bandwidth_m: float = DEFAULT_BANDWIDTH_M,
    area_share: float = 0.05,
    train_share: float | None = 2.0 / 3.0,
    exclude_held_out_training: bool = False,
    seed: int = 0,
) -> SpatialCVResult:
    """
    Spatial block cross-validation of the KDE hotspot score: hit rate and PAI per fold.

    The area is cut into `block_m` square blocks, assigned at random (seeded) to `folds` folds.
    For each fold the KDE score is trained and then judged only on the fold's held-out blocks: the
    `area_share` of held-out cells with the highest score are flagged, the hit rate is the share of
    the held-out test reports falling in flagged cells, and the predictive accuracy index is
    PAI = hit rate / flagged share of the held-out area (1 = no better than chance).

    With `train_share` (default two thirds) the reports are split in time: the score is trained on
    the earliest `train_share` of reports and tested on the later ones, so a hotspot is credited
    only for predicting reports it has not seen. Training then uses all blocks (past reports in a
    place are known when predicting it) unless `exclude_held_out_training`, which also drops the
    held-out blocks' training reports (a pure transfer test). With ``train_share=None`` the split is
    purely spatial: train outside the held-out blocks, test inside.

    Parameters
    ----------
    reports
        Report points, EPSG:32648, with `requested_datetime`.
    area
        Study area polygons, EPSG:32648.
    folds
        Number of folds (at least 2 and at most the number of blocks).
    block_m
        Side of a spatial block, in metres (larger than the bandwidth, so neighbouring training
        reports barely leak into a held-out block).
    cell_m
        Side of a score cell, in metres.
    bandwidth_m
        KDE bandwidth, in metres.
    area_share
        Share of each fold's held-out area flagged as hotspot, in (0, 1).
    train_share
        Share of reports (earliest first) used for training, or None for a spatial-only split.
    exclude_held_out_training
        Drop training reports in the held-out blocks too.
    seed
        Seed of the block-to-fold assignment.

    Returns
    -------
    SpatialCVResult
        Per-fold table and means.

    Raises
    ------
    CRSError
        If `reports` or `area` is not in a projected metric CRS.
    ValidationError
        If a parameter is out of range or there are fewer blocks than folds.
    """
    _check_reports(reports)
    geom = _study_polygon(area)
    if folds < 2:
        msg = f"`folds` must be at least 2; got {folds}."
        raise ValidationError(msg)
    if not 0 < area_share < 1:
        msg = f"`area_share` must lie in (0, 1); got {area_share}."
        raise ValidationError(msg)
    if train_share is not None and not 0 < train_share < 1:
        msg = f"`train_share` must lie in (0, 1) or be None; got {train_share}."
        raise ValidationError(msg)
    if block_m < cell_m:
        msg = f"`block_m` ({block_m}) must be at least `cell_m` ({cell_m})."
        raise ValidationError(msg)

    cells = _grid(geom, cell_m)
    blocks = _grid(geom, block_m)
    if len(blocks) < folds:
        msg = f"Only {len(blocks)} blocks of {block_m:.0f} m for {folds} folds; use smaller blocks."
        raise ValidationError(msg)
    rng = np.random.default_rng(seed)
    block_fold = np.empty(len(blocks), dtype=np.int64)
    block_fold[rng.permutation(len(blocks))] = np.arange(len(blocks)) % folds
    centres = _xy(cells.geometry.centroid)
    cell_block = _cell_index(blocks, centres)
    cell_fold = np.where(cell_block >= 0, block_fold[np.maximum(cell_block, 0)], -1)
    cell_area = cells["area_in_study_m2"].to_numpy()

    xy = _xy(reports)
    rep_cell = _cell_index(cells, xy)
    rep_fold = np.where(rep_cell >= 0, cell_fold[np.maximum(rep_cell, 0)], -1)
    times = pd.to_datetime(reports["requested_datetime"]).to_numpy()
    split_time: pd.Timestamp | None = None
    if train_share is not None and len(reports):
        order = np.argsort(times, kind="stable")
        n_train = round(train_share * len(reports))
        is_train = np.zeros(len(reports), dtype=bool)
        is_train[order[:n_train]] = True
        split_time = pd.Timestamp(times[order[min(n_train, len(order) - 1)]])
    else:
        is_train = np.ones(len(reports), dtype=bool)

    rows = []
    for f in range(folds):
        held = cell_fold == f
        held_rep = rep_fold == f
        if train_share is None:
            train = ~held_rep
            test = held_rep
        else:
            train = is_train & (~held_rep if exclude_held_out_training else True)
            test = ~is_train & held_rep
        score = _kde_per_m2(xy[train], centres[held], bandwidth_m)
        held_idx = np.flatnonzero(held)
        area_held = float(cell_area[held].sum())
        order = np.lexsort((held_idx, -score))  # highest score first, ties by cell order
        cum = np.cumsum(cell_area[held_idx[order]])
        n_flag = int(np.searchsorted(cum, area_share * area_held, side="left")) + 1
        n_flag = min(max(n_flag, 1), len(held_idx))
        flagged = np.zeros(len(cells), dtype=bool)
        flagged[held_idx[order[:n_flag]]] = True
        flagged_area = float(cell_area[flagged].sum())
        n_test = int(test.sum())
        hits = int(flagged[rep_cell[test]].sum()) if n_test else 0
        hit_rate = hits / n_test if n_test else float("nan")
        pai = hit_rate / (flagged_area / area_held) if n_test and area_held > 0 else float("nan")
        rows.append(
            {
                "fold": f,
                "n_blocks": int((block_fold == f).sum()),
                "n_train": int(train.sum()),
                "n_test": n_test,
                "area_km2": area_held / 1e6,
                "flagged_km2": flagged_area / 1e6,
                "hit_rate": hit_rate,
                "pai": pai,
            }
        )
    table = pd.DataFrame(rows)
    valid = table["n_test"] > 0
    mean_hit = float(table.loc[valid, "hit_rate"].mean()) if valid.any() else float("nan")
    mean_pai = float(table.loc[valid, "pai"].mean()) if valid.any() else float("nan")
    log.info(
        "spatial_cv_hit_rate: %d folds over %d blocks of %.0f m, mean hit rate %.2f, mean PAI %.2f",
        folds,
        len(blocks),
        block_m,
        mean_hit,
        mean_pai,
    )
    return SpatialCVResult(
        folds=table,
        mean_hit_rate=mean_hit,
        mean_pai=mean_pai,
        area_share=area_share,
        split_time=split_time,
    )


def planted_recall(
    found_clusters: gpd.GeoDataFrame | gpd.GeoSeries,
    planted_centres: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    tolerance_m: float = 50.0,
) -> float:
    """
    Share of planted cluster centres lying inside, or within `tolerance_m` of, a found hotspot.

    Parameters
    ----------
    found_clusters
        Found hotspots (polygons or points), EPSG:32648.
    planted_centres
        Planted centres (points), EPSG:32648, e.g. from `analysis.scenario.synthetic_reports`.
    tolerance_m
        Largest distance from a centre to a found hotspot that still counts, in metres.

    Returns
    -------
    float
        Recall in [0, 1].

    Raises
    ------
    ValidationError
        If there is no planted centre.
    """
    require_metric(found_clusters, "found_clusters")
    require_metric(planted_centres, "planted_centres")
    if len(planted_centres) == 0:
        msg = "`planted_centres` is empty: recall is undefined."
        raise ValidationError(msg)
    found = found_clusters.geometry.to_numpy()
    if len(found) == 0:
        return 0.0
    hit = shapely.STRtree(found).query(
        planted_centres.geometry.to_numpy(), predicate="dwithin", distance=tolerance_m
    )
    return float(len(np.unique(hit[0]))) / len(planted_centres)
