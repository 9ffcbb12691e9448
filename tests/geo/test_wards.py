"""Wards by name, old names through the crosswalk, and study areas from files."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest

from gomrac.analysis.errors import DataNotFoundError, UnknownWardError, ValidationError
from gomrac.geo.wards import area_from_file, find_ward, list_wards, normalize_name

raises_unknown = pytest.raises(UnknownWardError)


@pytest.fixture(scope="module")
def official(data_dir):
    """The official-map ward layer, read directly (independent of geo.wards)."""
    return gpd.read_file(data_dir / "boundaries" / "haiphong_wards_2025_official_map.geojson")


@pytest.mark.parametrize("name", ["Lê Chân", "Phù Liễn", "Việt Hòa", "Kẻ Sặt"])
def test_find_ward__plan_wards_resolve(settings, name, official) -> None:
    """The four wards of the plans resolve to their official code and real polygon."""
    area = find_ward(name, settings=settings)
    row = official[official["name_modern_tone"] == name].iloc[0]
    assert area.code == str(row["code"])
    assert area.boundary_source == "official_map_2025"
    assert (
        area.geometry.equals_exact(row.geometry, tolerance=1e-9)
        or area.geometry.symmetric_difference(row.geometry).area < 1e-10
    )


@pytest.mark.parametrize(
    "variant",
    ["Lê Chân", "le chan", "Phuong Le Chan", "PHƯỜNG LÊ CHÂN", "  lê   chân ", "Phường Lê Chân"],
)
def test_find_ward__name_variants(settings, variant) -> None:
    """Case, diacritics, spacing and the Phường prefix do not matter."""
    assert find_ward(variant, settings=settings).code == "11383"


def test_find_ward__tone_placement(settings) -> None:
    """The old ("Hoà") and modern ("Hòa") tone placements find the same ward."""
    assert (
        find_ward("Việt Hoà", settings=settings).code
        == find_ward("Việt Hòa", settings=settings).code
        == find_ward("viet hoa", settings=settings).code
    )


def test_find_ward__official_area(settings, official) -> None:
    """Lê Chân's polygon area is within 2% of its official 5.65 km²."""
    area = find_ward("le chan", settings=settings)
    official_km2 = float(official.loc[official["code"] == "11383", "area_km2_official"].iloc[0])
    assert area.area_km2 == pytest.approx(official_km2, rel=0.02)


def test_find_ward__old_name_through_crosswalk(settings) -> None:
    """A pre-2025 ward in the official crosswalk resolves to its new ward with a note."""
    area = find_ward("Hàng Kênh", settings=settings)
    assert area.code == "11383"
    assert "crosswalk" in area.notes[0]


def test_find_ward__old_name_merged_before_2025(settings) -> None:
    """Trại Cau (merged before 2025, not in the crosswalk) resolves through its 2009 polygon."""
    area = find_ward("Trại Cau", settings=settings)
    assert area.name == "Phường Lê Chân"
    assert "2009 polygon" in area.notes[0]


def test_find_ward__unknown_lists_closest(settings) -> None:
    """An unknown name fails with the closest names in the message."""
    with pytest.raises(UnknownWardError, match="Lê Chân"):
        find_ward("Le Chanh", settings=settings)


def test_find_ward__ambiguous_without_diacritics(settings) -> None:
    """'cam giang' folds to two communes; the error names both, diacritics pick one."""
    with pytest.raises(UnknownWardError, match=r"Cẩm Giang.*Cẩm Giàng|Cẩm Giàng.*Cẩm Giang"):
        find_ward("cam giang", settings=settings)
    assert find_ward("Cẩm Giàng", settings=settings).name == "Xã Cẩm Giàng"


def test_find_ward__empty(settings) -> None:
    """An empty name is an unknown ward, not a crash."""
    with raises_unknown:
        find_ward("  ", settings=settings)


def test_list_wards__all_114(settings, official) -> None:
    """All 114 units are listed with their type."""
    wards = list_wards(settings=settings)
    assert len(wards) == len(official) == 114
    assert set(wards["unit_type"]) == {"phường", "xã", "đặc khu"}


def test_normalize_name() -> None:
    """Prefixes, case and diacritics are folded; đ becomes d."""
    assert normalize_name("Đặc khu Cát Hải") == "cat hai"
    assert normalize_name("Xã Kẻ Sặt") == "ke sat"


def test_area_from_file__hanoi(settings, hanoi_sample_file) -> None:
    """The Hanoi sample polygon loads as an area outside Hai Phong, named from the file."""
    area = area_from_file(hanoi_sample_file, settings=settings)
    assert not area.in_haiphong
    assert area.boundary_source == "file:hanoi_central_sample_area.geojson"
    assert 10 < area.area_km2 < 20


def test_area_from_file__bad_files(settings, tmp_path) -> None:
    """Missing, malformed and polygon-less files fail with a clear message."""
    with pytest.raises(DataNotFoundError):
        area_from_file(tmp_path / "none.geojson", settings=settings)
    broken = tmp_path / "broken.geojson"
    broken.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    with pytest.raises(ValidationError, match="cannot read"):
        area_from_file(broken, settings=settings)
    points = tmp_path / "points.geojson"
    points.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "properties": {},
                        "geometry": {"type": "Point", "coordinates": [106.7, 20.8]},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    with pytest.raises(ValidationError, match="no polygon"):
        area_from_file(points, settings=settings)


def test_area_from_file__haiphong_polygon(settings, tmp_path) -> None:
    """A polygon drawn inside Hai Phong counts as Hai Phong (census applies)."""
    poly = find_ward("Lê Chân", settings=settings).geometry.buffer(-0.002)
    path = tmp_path / "part.geojson"
    gpd.GeoDataFrame({"name": ["part"]}, geometry=[poly], crs=4326).to_file(path)
    area = area_from_file(path, settings=settings)
    assert area.in_haiphong
    assert area.name == "part"
