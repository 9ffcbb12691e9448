"""The spontaneous dump register: import, status changes with dates and audit, share closed."""

from __future__ import annotations

import pandas as pd
import pytest

from gomrac.analysis.errors import DataNotFoundError, ValidationError
from gomrac.api.dumps import register_summary, set_status
from gomrac.api.layers import import_layer
from gomrac.geo.wards import find_ward


def test_register__closed_share(settings, db_url, tmp_path) -> None:
    """Four sites, one closed and one restored: 50% closed, open volume from the other two."""
    ward = find_ward("Lê Chân", settings=settings)
    c = ward.geometry.representative_point()
    path = tmp_path / "dumps.csv"
    pd.DataFrame(
        {
            "name": [f"Bãi {i}" for i in range(4)],
            "lat": [c.y + i * 1e-3 for i in range(4)],
            "lon": [c.x] * 4,
            "khối lượng": [2.0, 5.0, 1.5, 3.0],
            "ngày phát hiện": ["2025-01-10", "2025-03-02", "2025-05-20", "2025-06-01"],
        }
    ).to_csv(path, index=False)
    import_layer(path, kind="dump_sites", area=ward, database_url=db_url)
    before = register_summary(ward_code=ward.code, ward_name=ward.name, database_url=db_url)
    assert before["sites"] == 4 and before["closed_pct"] == 0.0
    assert before["open_volume_m3"] == pytest.approx(11.5)
    closed = set_status(
        1,
        status="closed",
        actor="cán bộ phường",
        note="đã dọn",
        on="2026-02-01",
        database_url=db_url,
    )
    assert closed["closed_on"] == "2026-02-01" and closed["history"] >= 2
    set_status(2, status="restored", actor="cán bộ phường", note=None, on=None, database_url=db_url)
    after = register_summary(ward_code=ward.code, ward_name=ward.name, database_url=db_url)
    assert after["closed_pct"] == 50.0
    assert after["by_status"]["closed"] == 1 and after["by_status"]["restored"] == 1
    assert after["open_volume_m3"] == pytest.approx(4.5)


def test_register__bad_changes(db_url) -> None:
    """An unknown site or status is refused with a message."""
    with pytest.raises(DataNotFoundError, match="not found"):
        set_status(99, status="closed", actor="x", note=None, on=None, database_url=db_url)
    with pytest.raises(ValidationError, match="not one of"):
        set_status(1, status="gone", actor="x", note=None, on=None, database_url=db_url)
