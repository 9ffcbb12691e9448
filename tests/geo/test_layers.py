"""Layer files: Vietnamese/English headers, formats, and bad files rejected whole with a reason."""

from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon

from gomrac.analysis.errors import ValidationError
from gomrac.geo.layers import read_layer, save_layer
from gomrac.geo.wards import find_ward


@pytest.fixture(scope="module")
def le_chan(settings):
    """Phường Lê Chân from the official map."""
    return find_ward("Lê Chân", settings=settings)


@pytest.fixture(scope="module")
def inside(le_chan) -> list[tuple[float, float]]:
    """Three (lon, lat) points well inside Lê Chân, 100+ m apart."""
    c = le_chan.geometry.representative_point()
    return [(c.x, c.y), (c.x + 0.002, c.y), (c.x, c.y + 0.002)]


def test_read_layer__vietnamese_csv(tmp_path, le_chan, inside) -> None:
    """A CSV with Vietnamese headers (diacritics and BOM) loads with canonical columns."""
    path = tmp_path / "diem.csv"
    pd.DataFrame(
        {
            "Tên điểm": ["Điểm 1", "Điểm 2", "Điểm 3"],
            "Vĩ độ": [p[1] for p in inside],
            "Kinh độ": [p[0] for p in inside],
            "Số thùng 660L": [2, 3, 1],
        }
    ).to_csv(path, index=False, encoding="utf-8-sig")
    gdf = read_layer(path, kind="gathering_points", area=le_chan.geometry)
    assert list(gdf["name"]) == ["Điểm 1", "Điểm 2", "Điểm 3"]
    assert gdf["bins_660l"].tolist() == [2, 3, 1]
    assert gdf.crs.to_epsg() == 4326
    assert gdf.geometry.x.tolist() == pytest.approx([p[0] for p in inside])


def test_read_layer__excel_and_geojson_roundtrip(tmp_path, le_chan, inside) -> None:
    """What save_layer writes (Excel, GeoJSON, GeoPackage) reads back the same, with attribution."""
    gdf = gpd.GeoDataFrame(
        {"name": ["a", "b", "c"], "bins_240l": [1, 2, 3]},
        geometry=[Point(p) for p in inside],
        crs=4326,
    )
    for suffix in (".xlsx", ".geojson", ".gpkg", ".csv"):
        path = save_layer(gdf, tmp_path / f"points{suffix}")
        back = read_layer(path, kind="gathering_points", area=le_chan.geometry)
        assert back["name"].tolist() == ["a", "b", "c"]
        assert back["bins_240l"].tolist() == [1, 2, 3]
    doc = json.loads((tmp_path / "points.geojson").read_text(encoding="utf-8"))
    assert "OpenStreetMap contributors" in doc["attribution"]


def test_read_layer__broken_geojson(tmp_path) -> None:
    """Broken JSON is refused with the parser's reason."""
    path = tmp_path / "broken.geojson"
    path.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature",', encoding="utf-8"
    )
    with pytest.raises(ValidationError, match="not valid JSON"):
        read_layer(path, kind="gathering_points")


def test_read_layer__point_in_the_sea(tmp_path, le_chan, inside) -> None:
    """A point in the Gulf of Tonkin is refused, naming the feature and the distance."""
    path = tmp_path / "sea.geojson"
    pts = [Point(p) for p in inside[:2]] + [Point(107.2, 20.6)]
    gpd.GeoDataFrame({"name": ["a", "b", "biển"]}, geometry=pts, crs=4326).to_file(path)
    with pytest.raises(
        ValidationError, match=r"feature 3 \(biển\): \d+\.\d+ km outside Phường Lê Chân"
    ):
        read_layer(path, kind="gathering_points", area=le_chan.geometry, area_name=le_chan.name)


def test_read_layer__csv_missing_column(tmp_path) -> None:
    """A CSV without a longitude column names what is missing and the accepted headers."""
    path = tmp_path / "nolon.csv"
    pd.DataFrame({"name": ["x"], "lat": [20.84]}).to_csv(path, index=False)
    with pytest.raises(ValidationError, match=r"missing column\(s\) lon .*kinh do"):
        read_layer(path, kind="gathering_points")


def test_read_layer__non_numeric_coordinate(tmp_path) -> None:
    """A coordinate that is not a number names its spreadsheet row."""
    path = tmp_path / "bad.csv"
    pd.DataFrame({"lat": [20.84, "abc"], "lon": [106.68, 106.68]}).to_csv(path, index=False)
    with pytest.raises(ValidationError, match="row 3: latitude/longitude 'abc'"):
        read_layer(path, kind="gathering_points")


def test_read_layer__huge_upload(tmp_path) -> None:
    """A 200 MB file is refused before it is read."""
    path = tmp_path / "huge.geojson"
    with path.open("wb") as fh:
        fh.truncate(200 * 2**20)  # sparse file: no 200 MB written to disk
    with pytest.raises(ValidationError, match="200 MB, over the 50 MB limit"):
        read_layer(path, kind="gathering_points")


def test_read_layer__invalid_polygon(tmp_path, le_chan) -> None:
    """A self-intersecting group polygon is refused with the reason."""
    c = le_chan.geometry.representative_point()
    bowtie = Polygon(
        [(c.x, c.y), (c.x + 0.001, c.y + 0.001), (c.x + 0.001, c.y), (c.x, c.y + 0.001)]
    )
    path = tmp_path / "groups.geojson"
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"name": "Tổ 1"},
                        "geometry": bowtie.__geo_interface__,
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(ValidationError, match=r"feature 1: invalid geometry .*Self-intersection"):
        read_layer(path, kind="groups", area=le_chan.geometry)


def test_read_layer__duplicates(tmp_path, inside) -> None:
    """Two gathering points at the same place are duplicates."""
    path = tmp_path / "dup.csv"
    pd.DataFrame({"lat": [inside[0][1], inside[0][1]], "lon": [inside[0][0], inside[0][0]]}).to_csv(
        path, index=False
    )
    with pytest.raises(ValidationError, match="row 3: duplicate of row 2"):
        read_layer(path, kind="gathering_points")


def test_read_layer__reports_need_time(tmp_path, inside) -> None:
    """Reports need a date/time; one that cannot be parsed names its row."""
    path = tmp_path / "reports.csv"
    pd.DataFrame({"lat": [inside[0][1]], "lon": [inside[0][0]]}).to_csv(path, index=False)
    with pytest.raises(ValidationError, match="requested_datetime"):
        read_layer(path, kind="reports")
    pd.DataFrame({"lat": [inside[0][1]], "lon": [inside[0][0]], "thời gian": ["hôm qua"]}).to_csv(
        path, index=False
    )
    with pytest.raises(ValidationError, match="row 2: date/time 'hôm qua' not understood"):
        read_layer(path, kind="reports")


def test_read_layer__wrong_geometry_type(tmp_path, le_chan) -> None:
    """A polygon in a gathering-point file is refused."""
    path = tmp_path / "poly.geojson"
    gpd.GeoDataFrame({"name": ["x"]}, geometry=[le_chan.geometry.buffer(-0.005)], crs=4326).to_file(
        path
    )
    with pytest.raises(ValidationError, match="where Point is expected"):
        read_layer(path, kind="gathering_points")


def test_read_layer__report_times_are_local(tmp_path, inside) -> None:
    """A report time without a zone is Hai Phong time (UTC+7); one with a zone is kept."""
    path = tmp_path / "reports.csv"
    pd.DataFrame(
        {
            "lat": [inside[0][1], inside[1][1]],
            "lon": [inside[0][0], inside[1][0]],
            "thời gian": ["2026-01-05 21:00", "2026-01-05T21:00:00+00:00"],
        }
    ).to_csv(path, index=False)
    gdf = read_layer(path, kind="reports")
    times = gdf["requested_datetime"].dt.tz_convert("UTC")
    assert times.iloc[0] == pd.Timestamp("2026-01-05 14:00", tz="UTC")
    assert times.iloc[1] == pd.Timestamp("2026-01-05 21:00", tz="UTC")
