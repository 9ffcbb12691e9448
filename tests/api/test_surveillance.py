"""Hotspots from reports and the camera plan, end to end on real boundaries and streets."""

from __future__ import annotations

import warnings

import pytest

from gomrac.analysis.errors import SyntheticDataWarning
from gomrac.api.pipeline import load_ward_data
from gomrac.api.surveillance import analyse_hotspots, load_reports, plan_cameras


@pytest.fixture(scope="module")
def le_chan(settings):
    """Phường Lê Chân: real boundary and POIs, no roads (none are needed for hotspots)."""
    return load_ward_data("Lê Chân", require_roads=False, settings=settings)


def test_hotspots__planted_clusters_found_on_le_chan(le_chan) -> None:
    """Generated reports on Lê Chân: the planted clusters are found (recall ≥ 5/6) and labelled."""
    with pytest.warns(SyntheticDataWarning):
        reports = load_reports(le_chan, "synthetic", seed=3)
    assert reports.reports["synthetic"].all()
    inside = reports.reports.to_crs(4326).within(le_chan.area.geometry.buffer(1e-6))
    assert inside.all()
    h = analyse_hotspots(le_chan, reports)
    assert h.summary["synthetic_reports"] == h.summary["reports"] == len(reports.reports)
    assert h.summary["planted_recall"] >= 5 / 6
    assert 0 < h.summary["top_share_pct"] <= 100
    assert h.summary["cv_mean_pai"] > 1  # the density score beats random cells out of sample


def test_cameras__beat_densest_cells(vanmieu_data) -> None:
    """The exact camera plan covers at least the weight of cameras at the densest report cells."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticDataWarning)
        h = analyse_hotspots(vanmieu_data, load_reports(vanmieu_data, "synthetic", seed=1))
    cams = plan_cameras(vanmieu_data, h, budget=6, time_limit_s=20)
    s, rotation = cams.summary, cams.rotation
    assert s["chosen"] == 6 and s["candidates"] == len(cams.poles) > 50
    assert len(cams.sites()) == 6
    assert s["covered_weight_pct"] >= s["baseline_densest_cells_pct"]
    assert s["status"] == "optimal" and s["gap_pct"] == 0
    assert len(rotation) > 0


def test_hotspots__too_few_reports(le_chan, tmp_path) -> None:
    """Three reports are too few for hotspots: a clear message."""
    from gomrac.analysis.errors import ValidationError

    c = le_chan.area.geometry.representative_point()
    path = tmp_path / "r.csv"
    path.write_text(
        "lat,lon,time\n"
        + "".join(f"{c.y + i * 1e-3},{c.x},2026-01-0{i + 1} 21:00\n" for i in range(3)),
        encoding="utf-8",
    )
    reports = load_reports(le_chan, str(path))
    with pytest.raises(ValidationError, match="only 3 reports"):
        analyse_hotspots(le_chan, reports)


def test_hotspots__reports_from_the_database(db_url, le_chan, tmp_path) -> None:
    """Reports stored in the database (imported here) feed the hotspot analysis unchanged."""
    from gomrac.api.layers import import_layer
    from gomrac.geo.layers import save_layer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticDataWarning)
        generated = load_reports(le_chan, "synthetic", n=200, seed=5).reports
    table = generated[["service_code", "requested_datetime", "geometry"]].to_crs(4326)
    save_layer(table, tmp_path / "reports.geojson")
    stored = import_layer(
        tmp_path / "reports.geojson", kind="reports", area=le_chan.area, database_url=db_url
    )
    assert stored["rows_after"] == 200
    reports = load_reports(le_chan, "db", database_url=db_url)
    assert reports.source == "database" and len(reports.reports) == 200
    h = analyse_hotspots(le_chan, reports)
    assert h.summary["reports"] == 200 and h.summary["hotspots"] >= 1
