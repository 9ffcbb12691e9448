"""Tests for analysis.hotspots: density, clusters, Gi*, summary and validation."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import stats

from gomrac.analysis.errors import CRSError, ValidationError
from gomrac.analysis.hotspots import (
    cluster_reports,
    getis_ord_hotspots,
    hotspot_summary,
    merge_hot_cells,
    peak_hours,
    planted_recall,
    report_density,
    spatial_cv_hit_rate,
)
from gomrac.analysis.scenario import synthetic_reports

X0, Y0 = 600_000.0, 2_300_000.0  # near Hai Phong in UTM 48N
CRS = "EPSG:32648"


@pytest.fixture
def area() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0, X0 + 2000, Y0 + 2000)], crs=CRS)


def _reports(
    xy: list[tuple[float, float]], times: list[str] | None = None, **cols
) -> gpd.GeoDataFrame:
    t = pd.to_datetime(times if times is not None else ["2025-01-06 21:00"] * len(xy))
    return gpd.GeoDataFrame(
        {"requested_datetime": t, **cols},
        geometry=[shapely.Point(x, y) for x, y in xy],
        crs=CRS,
    )


# ------------------------------------------------------------------------------------ density


def test_report_density__integrates_to_report_count(area) -> None:
    """The kernel surface sums to the number of reports and peaks at the cell holding them."""
    xy = [(X0 + 1010, Y0 + 1020), (X0 + 1030, Y0 + 1005), (X0 + 990, Y0 + 990)]
    cells = report_density(_reports(xy), area, cell_m=25, bandwidth_m=100)
    total = (cells["density_per_km2"] * cells["area_in_study_m2"] / 1e6).sum()
    assert total == pytest.approx(3.0, rel=0.01)
    assert cells["n_reports"].sum() == 3
    peak = cells.loc[cells["density_per_km2"].idxmax()]
    assert peak.geometry.distance(shapely.Point(X0 + 1010, Y0 + 1005)) < 40


def test_report_density__per_period_scaling(area) -> None:
    """Intensity per 30-day period is the window density scaled by 30 / window length."""
    xy = [(X0 + 500, Y0 + 500), (X0 + 1500, Y0 + 1500)]
    times = ["2025-01-01 20:00", "2025-03-02 20:00"]  # 60 days apart
    cells = report_density(_reports(xy, times), area, cell_m=100, period_days=30)
    assert cells.attrs["window_days"] == 60
    ratio = cells["reports_per_km2_per_period"] / cells["density_per_km2"]
    assert np.allclose(ratio[cells["density_per_km2"] > 0], 0.5)


def test_report_density__point_value_matches_gaussian(area) -> None:
    """One report gives 1/(2 pi h^2) per m2 at its own location (a cell centre)."""
    cells = report_density(_reports([(X0 + 1025, Y0 + 1025)]), area, cell_m=50, bandwidth_m=150)
    peak = cells["density_per_km2"].max()
    assert peak == pytest.approx(1e6 / (2 * math.pi * 150**2), rel=1e-9)


def test_report_density__scott_bandwidth(area) -> None:
    """Scott's rule gives sigma * n^(-1/6) with sigma the mean coordinate standard deviation."""
    rng = np.random.default_rng(0)
    xy = rng.uniform([X0 + 200, Y0 + 200], [X0 + 1800, Y0 + 1800], size=(64, 2))
    cells = report_density(_reports([tuple(p) for p in xy]), area, bandwidth_m="scott")
    sigma = math.sqrt((xy[:, 0].var(ddof=1) + xy[:, 1].var(ddof=1)) / 2)
    assert cells.attrs["bandwidth_m"] == pytest.approx(sigma * 64 ** (-1 / 6))


def test_report_density__geographic_crs(area) -> None:
    """Reports in degrees are refused with a CRSError."""
    reports = _reports([(X0 + 10, Y0 + 10)]).to_crs("EPSG:4326")
    with pytest.raises(CRSError):
        report_density(reports, area)


def test_report_density__missing_time(area) -> None:
    """Reports without requested_datetime are refused with a ValidationError."""
    reports = _reports([(X0 + 10, Y0 + 10)]).drop(columns="requested_datetime")
    with pytest.raises(ValidationError, match="requested_datetime"):
        report_density(reports, area)


# ------------------------------------------------------------------------------------ clusters


def test_cluster_reports__hand_made_profiles() -> None:
    """Six reports 10 m apart form one cluster with the right hour and weekday profile."""
    xy = [(X0 + 10 * i, Y0) for i in range(6)] + [(X0 + 900, Y0 + 900)]
    times = [
        "2025-01-06 21:10",
        "2025-01-06 21:40",
        "2025-01-07 22:05",  # Mon, Mon, Tue
        "2025-01-11 02:00",
        "2025-01-11 21:30",
        "2025-01-12 21:00",  # Sat, Sat, Sun
        "2025-01-08 10:00",
    ]
    who = ["a", "a", "b", "c", "a", "b", "z"]
    res = cluster_reports(_reports(xy, times, reporter_id=who), eps_m=60, min_samples=5)
    assert res.labels.tolist() == [0, 0, 0, 0, 0, 0, -1]
    row = res.clusters.iloc[0]
    assert row["n_reports"] == 6
    assert row["share_of_reports"] == pytest.approx(6 / 7)
    assert row["n_reporters"] == 3
    hours = np.zeros(24, dtype=int)
    for h in (21, 21, 22, 2, 21, 21):
        hours[h] += 1
    assert row["hour_profile"] == tuple(hours)
    assert row["weekday_profile"] == (2, 1, 0, 0, 0, 2, 1)
    assert row["peak_hour"] == 21
    assert row["first_report"] == pd.Timestamp("2025-01-06 21:10")
    assert row["last_report"] == pd.Timestamp("2025-01-12 21:00")
    # collinear reports: the hull is buffered into a polygon that holds them all
    assert row.geometry.geom_type == "Polygon"
    assert shapely.covers(row.geometry, shapely.multipoints(xy[:6]))


def test_cluster_reports__tz_aware_times_read_locally() -> None:
    """UTC times are profiled in Hai Phong time (UTC+7)."""
    xy = [(X0 + i, Y0) for i in range(5)]
    reports = _reports(xy)
    reports["requested_datetime"] = pd.to_datetime(["2025-01-06 14:30"] * 5).tz_localize("UTC")
    row = cluster_reports(reports, eps_m=10, min_samples=5).clusters.iloc[0]
    assert row["peak_hour"] == 21


@pytest.mark.parametrize("method", ["dbscan", "hdbscan"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cluster_reports__finds_planted_clusters(area, method, seed) -> None:
    """Both methods recover at least 5 of the 6 planted clusters.

    Each planted cluster has at least 12 reports with a 25 m spread, and the 200 background
    reports over 4 km2 put on average 0.9 reports in a 75 m disc, so DBSCAN(75 m, 5) should find
    every cluster; 5/6 leaves room for one cluster cut by the area edge or drawn small.
    """
    reports, planted = synthetic_reports(area, n=500, n_clusters=6, seed=seed)
    found = cluster_reports(reports, method=method, eps_m=75, min_samples=5, min_cluster_size=10)
    assert planted_recall(found.clusters, planted, tolerance_m=50) >= 5 / 6
    # the labels and the cluster table agree
    counts = found.labels[found.labels >= 0].value_counts().sort_index()
    assert counts.tolist() == found.clusters["n_reports"].tolist()


def test_cluster_reports__unknown_method(area) -> None:
    """An unknown method raises a ValidationError."""
    reports, _ = synthetic_reports(area, n=50, seed=0)
    with pytest.raises(ValidationError, match="method"):
        cluster_reports(reports, method="kmeans")  # type: ignore[arg-type]


def test_peak_hours__wraps_midnight() -> None:
    """The busiest 4-hour window may run past midnight."""
    prof = [0] * 24
    prof[22], prof[23], prof[0], prof[1] = 3, 4, 5, 2
    assert peak_hours(prof) == "22:00-02:00"


# ------------------------------------------------------------------------------------ Gi*


def test_getis_ord__planted_cells_are_hot(area) -> None:
    """The cell holding each planted centre is a hot spot after the FDR adjustment."""
    reports, planted = synthetic_reports(area, n=500, n_clusters=6, seed=0)
    cells = getis_ord_hotspots(reports, area, cell_m=100, permutations=999, seed=0)
    hot = cells.loc[cells["hot_fdr"]]
    hit = shapely.STRtree(hot.geometry.to_numpy()).query(
        planted.geometry.to_numpy(), predicate="intersects"
    )
    assert len(np.unique(hit[0])) == len(planted)
    assert set(hot["hotspot_class"]) <= {"hot_99", "hot_95", "hot_90"}
    merged = merge_hot_cells(cells)
    assert planted_recall(merged, planted, tolerance_m=0) == 1.0
    assert merged["n_cells"].sum() == len(hot)


def test_getis_ord__uniform_pattern_has_no_hot_cells(area) -> None:
    """A uniform random pattern gives (almost) no hot cell at FDR 5 %."""
    for seed in range(3):
        reports, _ = synthetic_reports(area, n=500, n_clusters=0, seed=seed)
        cells = getis_ord_hotspots(reports, area, cell_m=100, permutations=999, seed=seed)
        # 400 cells: FDR control keeps the expected share of false discoveries at 5 %,
        # and under the complete null any discovery at all happens with probability <= 5 %
        assert cells["hot_fdr"].sum() <= 2
        # without adjustment a random pattern still gets some per-cell "hot" classes
        assert (cells["p_value"] <= 0.10).sum() >= 1


def test_getis_ord__reproducible_and_classes(area) -> None:
    """The same seed gives the same p-values, and classes follow p-value and sign."""
    reports, _ = synthetic_reports(area, n=300, seed=3)
    a = getis_ord_hotspots(reports, area, permutations=199, seed=5)
    b = getis_ord_hotspots(reports, area, permutations=199, seed=5)
    assert np.array_equal(a["p_value"], b["p_value"])
    hot99 = a["hotspot_class"] == "hot_99"
    assert ((a.loc[hot99, "p_value"] <= 0.01) & (a.loc[hot99, "gi_z"] > 0)).all()
    ns = a["hotspot_class"] == "not_significant"
    assert (a.loc[ns, "p_value"] > 0.10).all()
    assert (a["q_value"] >= a["p_value"] - 1e-12).all()
    assert a["n_reports"].sum() == len(reports)


def test_getis_ord__z_matches_textbook_formula() -> None:
    """Gi* z-scores on a 5x5 grid equal Getis and Ord's formula computed by hand (queen + self)."""
    area = gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0, X0 + 500, Y0 + 500)], crs=CRS)
    counts = np.zeros((5, 5), dtype=int)
    counts[2, 2], counts[2, 3], counts[0, 0], counts[4, 1] = 6, 3, 1, 2
    xy = [
        (X0 + c * 100 + 50, Y0 + r * 100 + 50)
        for r in range(5)
        for c in range(5)
        for _ in range(counts[r, c])
    ]
    cells = getis_ord_hotspots(_reports(xy), area, cell_m=100, inference="normal")
    cells = cells.sort_values(["row", "col"])
    x = counts.ravel().astype(float)
    n = x.size
    rc = np.array([divmod(i, 5) for i in range(n)])
    w = (np.abs(rc[:, None, :] - rc[None, :, :]).max(axis=2) <= 1).astype(float)
    xbar, s = x.mean(), np.sqrt((x**2).mean() - x.mean() ** 2)
    sw, sw2 = w.sum(axis=1), (w**2).sum(axis=1)
    z = (w @ x - xbar * sw) / (s * np.sqrt((n * sw2 - sw**2) / (n - 1)))
    assert np.allclose(cells["gi_z"], z)
    assert np.allclose(cells["p_value"], 2 * stats.norm.sf(np.abs(z)))
    assert cells["n_reports"].to_numpy().reshape(5, 5).tolist() == counts.tolist()


# ------------------------------------------------------------------------------------ summary


def test_hotspot_summary__hand_made_counts() -> None:
    """Reports per hotspot, the top-N share and unique reporters come out as counted by hand."""
    boxes = [
        shapely.box(X0, Y0, X0 + 50, Y0 + 50),
        shapely.box(X0 + 100, Y0, X0 + 150, Y0 + 50),
        shapely.box(X0 + 200, Y0, X0 + 250, Y0 + 50),
    ]
    hotspots = gpd.GeoDataFrame({"name": ["a", "b", "c"]}, geometry=boxes, crs=CRS)
    xy = [(X0 + 10 + i, Y0 + 10) for i in range(3)]  # 3 in a
    xy += [(X0 + 110 + i, Y0 + 10) for i in range(5)]  # 5 in b
    xy += [(X0 + 210, Y0 + 10)]  # 1 in c
    xy += [(X0 + 500, Y0 + 500)]  # outside
    who = ["p", "q", "p", "r", "r", "r", "r", "s", "p", "t"]
    reports = _reports(xy, reporter_id=who, synthetic=[True] * 10)
    s = hotspot_summary(reports, hotspots, top_n=2)
    assert s.reports == 10
    assert s.hotspots == 3
    assert s.reports_per_hotspot.tolist() == [5, 3, 1]
    assert s.reports_per_hotspot.index.tolist() == [1, 0, 2]
    assert s.top_share_pct == pytest.approx(80.0)
    assert s.in_hotspots_pct == pytest.approx(90.0)
    assert s.unique_reporters == 5
    assert s.reporters_per_hotspot.tolist() == [2, 2, 1]
    assert s.synthetic_reports == 10


def test_hotspot_summary__without_reporter_column() -> None:
    """Without a reporter column the reporter counts are None."""
    hotspots = gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0, X0 + 50, Y0 + 50)], crs=CRS)
    s = hotspot_summary(_reports([(X0 + 1, Y0 + 1)]), hotspots)
    assert s.unique_reporters is None
    assert s.reporters_per_hotspot is None
    assert s.top_share_pct == 100.0


# ------------------------------------------------------------------------------------ validation


def test_spatial_cv__per_fold_figures(area) -> None:
    """Spatial CV returns one row per fold whose figures are consistent with each other."""
    reports, _ = synthetic_reports(area, n=600, n_clusters=6, seed=0)
    res = spatial_cv_hit_rate(reports, area, folds=4, block_m=500, area_share=0.05, seed=1)
    f = res.folds
    assert f["fold"].tolist() == [0, 1, 2, 3]
    assert f["n_blocks"].sum() == 16
    assert f["area_km2"].sum() == pytest.approx(4.0)
    # every test-period report is tested in exactly one fold
    assert f["n_test"].sum() == len(reports) - round(len(reports) * 2 / 3)
    ok = f["n_test"] > 0
    assert ((f.loc[ok, "hit_rate"] >= 0) & (f.loc[ok, "hit_rate"] <= 1)).all()
    share = f["flagged_km2"] / f["area_km2"]
    assert np.allclose(f.loc[ok, "pai"], f.loc[ok, "hit_rate"] / share[ok])
    assert (share >= 0.05 - 1e-9).all()
    assert res.mean_pai == pytest.approx(f.loc[ok, "pai"].mean())


def test_spatial_cv__persistent_clusters_beat_chance(area) -> None:
    """Planted clusters persist over time, so the KDE score beats chance (mean PAI > 2)."""
    reports, _ = synthetic_reports(area, n=600, n_clusters=6, seed=2)
    res = spatial_cv_hit_rate(reports, area, folds=4, block_m=500)
    assert res.mean_pai > 2.0
    assert res.split_time is not None


def test_spatial_cv__spatial_only_split(area) -> None:
    """With train_share=None each fold trains outside its blocks and tests inside them."""
    reports, _ = synthetic_reports(area, n=300, seed=0)
    res = spatial_cv_hit_rate(reports, area, folds=4, train_share=None)
    assert res.folds["n_test"].sum() == len(reports)
    assert (res.folds["n_train"] + res.folds["n_test"] == len(reports)).all()
    assert res.split_time is None


def test_spatial_cv__too_few_blocks(area) -> None:
    """More folds than blocks raise a ValidationError."""
    reports, _ = synthetic_reports(area, n=50, seed=0)
    with pytest.raises(ValidationError, match="blocks"):
        spatial_cv_hit_rate(reports, area, folds=5, block_m=1000)


def test_planted_recall__tolerance() -> None:
    """A centre inside a hotspot counts; one 80 m away counts only with tolerance >= 80 m."""
    found = gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0, X0 + 100, Y0 + 100)], crs=CRS)
    planted = gpd.GeoDataFrame(
        geometry=[shapely.Point(X0 + 50, Y0 + 50), shapely.Point(X0 + 180, Y0 + 50)], crs=CRS
    )
    assert planted_recall(found, planted, tolerance_m=50) == 0.5
    assert planted_recall(found, planted, tolerance_m=100) == 1.0
    assert planted_recall(found.iloc[:0], planted, tolerance_m=100) == 0.0
