"""Tests for analysis.scenario: synthetic reports, cameras, gathering points and streets."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from gomrac.analysis.errors import CRSError, ValidationError
from gomrac.analysis.scenario import (
    NIGHT_HOURS,
    SERVICE_CODES,
    SIZES,
    synthetic_existing_cameras,
    synthetic_gathering_points,
    synthetic_reports,
    synthetic_street_grid,
)

X0, Y0 = 600_000.0, 2_300_000.0  # near Hai Phong in UTM 48N
SQUARE = shapely.box(X0, Y0, X0 + 2000, Y0 + 2000)


@pytest.fixture
def area() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": ["test ward"]}, geometry=[SQUARE], crs="EPSG:32648")


@pytest.fixture
def anchors() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"kind": ["market", "canal", "vacant_land", "ward_edge"]},
        geometry=[
            shapely.Point(X0 + 500, Y0 + 500),
            shapely.box(X0 + 1100, Y0 + 1200, X0 + 1700, Y0 + 1260),
            shapely.Point(X0 + 1600, Y0 + 400),
            shapely.LineString([(X0 + 300, Y0 + 1800), (X0 + 900, Y0 + 1800)]),
        ],
        crs="EPSG:32648",
    )


def test_synthetic_reports__all_labelled_and_inside(area, anchors) -> None:
    """Every report is flagged synthetic, lies inside the area and uses the known codes."""
    reports, planted = synthetic_reports(area, anchors=anchors, n=400, seed=3)
    assert len(reports) == 400
    assert reports["synthetic"].all()
    assert planted["synthetic"].all()
    assert shapely.covers(SQUARE, reports.geometry.to_numpy()).all()
    assert set(reports["service_code"]) <= set(SERVICE_CODES)
    assert set(reports["size"]) <= set(SIZES)
    assert reports["report_id"].is_unique
    assert reports["requested_datetime"].is_monotonic_increasing


def test_synthetic_reports__reproducible_by_seed(area, anchors) -> None:
    """The same seed gives identical output and another seed a different one."""
    a = synthetic_reports(area, anchors=anchors, seed=7)
    b = synthetic_reports(area, anchors=anchors, seed=7)
    c = synthetic_reports(area, anchors=anchors, seed=8)
    assert_geodataframe_equal(a.reports, b.reports)
    assert_geodataframe_equal(a.planted, b.planted)
    assert not a.reports.geometry.geom_equals(c.reports.geometry).all()


def test_synthetic_reports__planted_clusters(area, anchors) -> None:
    """Cluster sizes add up, centres keep their separation and cluster reports stay near them."""
    reports, planted = synthetic_reports(
        area,
        anchors=anchors,
        n=500,
        n_clusters=6,
        cluster_share=0.6,
        seed=1,
        min_separation_m=300,
        cluster_sd_m=25,
    )
    clustered = reports.loc[reports["planted_cluster"] >= 0]
    assert len(clustered) == round(0.6 * 500)
    assert sorted(reports["planted_cluster"].unique()) == [-1, 0, 1, 2, 3, 4, 5]
    assert (planted["n_reports"] >= 12).all()
    assert planted.set_index("planted_cluster")["n_reports"].to_dict() == (
        clustered["planted_cluster"].value_counts().to_dict()
    )
    xy = shapely.get_coordinates(planted.geometry.to_numpy())
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    assert d[np.triu_indices(len(xy), 1)].min() >= 300
    # with sd 25 m, almost all cluster reports lie within 4 sd of their centre
    centre = planted.set_index("planted_cluster").geometry
    own = centre.loc[clustered["planted_cluster"]].set_axis(clustered.index)
    dist = clustered.geometry.distance(own)
    assert (dist <= 100).mean() > 0.99


def test_synthetic_reports__anchored_centres_and_dry_reports(area, anchors) -> None:
    """Anchored centres lie within 20 m of their anchor and no report falls in the canal."""
    reports, planted = synthetic_reports(area, anchors=anchors, n=600, n_clusters=4, seed=2)
    by_kind = anchors.set_index("kind").geometry
    anchored = planted.loc[planted["anchor_kind"] != "random"]
    assert len(anchored) >= 1
    for _, row in anchored.iterrows():
        assert row.geometry.distance(by_kind[row["anchor_kind"]]) <= 20.0 + 1e-6
    canal = by_kind["canal"]
    assert not shapely.within(reports.geometry.to_numpy(), canal).any()


def test_synthetic_reports__night_heavy(area) -> None:
    """More than half of the reports fall in the 19:00-05:00 night window."""
    reports, _ = synthetic_reports(area, n=1000, seed=4)
    night = reports["requested_datetime"].dt.hour.isin(NIGHT_HOURS)
    # the night window is 10 of 24 hours: a flat profile would give 42 %
    assert night.mean() > 0.5


def test_synthetic_reports__window(area) -> None:
    """All reports fall within `days` of the start date."""
    reports, _ = synthetic_reports(area, n=200, start="2025-03-03", days=30, seed=5)
    t = reports["requested_datetime"]
    assert t.min() >= np.datetime64("2025-03-03")
    assert t.max() < np.datetime64("2025-04-02")


def test_synthetic_reports__no_anchor_and_no_cluster(area) -> None:
    """Without anchors the centres are random; with no cluster every report is background."""
    reports, planted = synthetic_reports(area, n=100, n_clusters=0, seed=0)
    assert (reports["planted_cluster"] == -1).all()
    assert planted.empty
    _, planted = synthetic_reports(area, n=100, n_clusters=2, seed=0)
    assert set(planted["anchor_kind"]) == {"random"}


def test_synthetic_reports__geographic_crs(area) -> None:
    """An area in degrees is refused with a CRSError."""
    with pytest.raises(CRSError, match="projected CRS"):
        synthetic_reports(area.to_crs("EPSG:4326"))


def test_synthetic_reports__too_many_clusters(area) -> None:
    """Clusters that cannot keep their separation raise a ValidationError."""
    with pytest.raises(ValidationError, match="Could not place"):
        synthetic_reports(area, n=500, n_clusters=40, min_separation_m=900, seed=0)


def test_synthetic_cameras_and_points__on_streets(area) -> None:
    """Cameras and gathering points are synthetic, on the street grid and inside the area."""
    streets = synthetic_street_grid(area, spacing_m=250)
    cams = synthetic_existing_cameras(area, streets=streets, n_fixed=2, n_security=3, seed=1)
    pts = synthetic_gathering_points(area, streets=streets, n=8, seed=1)
    assert cams["synthetic"].all()
    assert pts["synthetic"].all()
    assert cams["camera_kind"].tolist() == ["fixed", "fixed", "security", "security", "security"]
    assert cams.loc[cams["camera_kind"] == "fixed", "heading_deg"].isna().all()
    net = streets.geometry.union_all()
    assert (cams.geometry.distance(net) < 1e-6).all()
    assert (pts.geometry.distance(net) < 1e-6).all()
    assert shapely.covers(SQUARE, pts.geometry.to_numpy()).all()
    xy = shapely.get_coordinates(pts.geometry.to_numpy())
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    assert d[np.triu_indices(len(xy), 1)].min() >= 150


def test_synthetic_street_grid__segments(area) -> None:
    """A 2 km square with 500 m spacing gives 5 lines each way cut into 4 segments."""
    streets = synthetic_street_grid(area, spacing_m=500)
    assert len(streets) == 2 * 5 * 4
    assert np.allclose(streets.length, 500.0)
    assert streets["synthetic"].all()
