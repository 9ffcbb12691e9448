"""Layer import into the database: all or nothing, on SpatiaLite and PostGIS."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from gomrac.analysis.errors import ValidationError
from gomrac.api.layers import export_layer, import_layer
from gomrac.geo.layers import read_layer
from gomrac.geo.wards import find_ward


@pytest.fixture(scope="module")
def le_chan(settings):
    """Phường Lê Chân."""
    return find_ward("Lê Chân", settings=settings)


@pytest.fixture
def good_file(tmp_path, le_chan):
    """Three gathering points inside Lê Chân with Vietnamese headers."""
    c = le_chan.geometry.representative_point()
    path = tmp_path / "diem.csv"
    pd.DataFrame(
        {
            "Tên điểm": ["Điểm 1", "Điểm 2", "Điểm 3"],
            "Vĩ độ": [c.y, c.y, c.y + 0.002],
            "Kinh độ": [c.x, c.x + 0.002, c.x],
            "Số thùng 660L": [2, 4, 1],
            "Ghi chú": ["a", "b", "c"],
        }
    ).to_csv(path, index=False)
    return path


def _bad_files(tmp_path, le_chan) -> dict[str, object]:
    c = le_chan.geometry.representative_point()
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [{', encoding="utf-8")
    sea = tmp_path / "sea.geojson"
    gpd.GeoDataFrame(
        {"name": ["ok", "biển"]}, geometry=[Point(c.x, c.y), Point(107.2, 20.6)], crs=4326
    ).to_file(sea)
    nolon = tmp_path / "nolon.csv"
    pd.DataFrame({"name": ["x"], "lat": [c.y]}).to_csv(nolon, index=False)
    huge = tmp_path / "huge.geojson"
    with huge.open("wb") as fh:
        fh.truncate(200 * 2**20)
    return {"not valid JSON": broken, "km outside": sea, "missing column": nolon, "200 MB": huge}


def test_import__bad_files_change_nothing(db_url, tmp_path, le_chan, good_file) -> None:
    """Broken GeoJSON, a point in the sea, a missing column, a 200 MB file: refused, rows kept."""
    first = import_layer(good_file, kind="gathering_points", area=le_chan, database_url=db_url)
    assert first["rows_after"] == 3 and first["columns_ignored"] == ["Ghi chú"]
    for message, path in _bad_files(tmp_path, le_chan).items():
        with pytest.raises(ValidationError, match=message):
            import_layer(path, kind="gathering_points", area=le_chan, database_url=db_url)
    out = export_layer(
        tmp_path / "back.csv", kind="gathering_points", area=le_chan, database_url=db_url
    )
    assert out["rows"] == 3
    back = read_layer(tmp_path / "back.csv", kind="gathering_points", area=le_chan.geometry)
    assert sorted(back["name"]) == ["Điểm 1", "Điểm 2", "Điểm 3"]
    assert sorted(back["bins_660l"]) == [1, 2, 4]


def test_import__append_and_replace(db_url, le_chan, good_file) -> None:
    """Append adds rows; replace puts the ward's layer back to the file's rows."""
    import_layer(good_file, kind="gathering_points", area=le_chan, database_url=db_url)
    appended = import_layer(
        good_file, kind="gathering_points", area=le_chan, database_url=db_url, mode="append"
    )
    assert appended["rows_after"] == 6
    replaced = import_layer(good_file, kind="gathering_points", area=le_chan, database_url=db_url)
    assert (replaced["rows_before"], replaced["rows_after"]) == (6, 3)
