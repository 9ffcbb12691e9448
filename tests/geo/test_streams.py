"""Stream definitions: the packaged defaults, a ward's own file, and bad files refused."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import Point

from gomrac.analysis.errors import ValidationError
from gomrac.geo.streams import DEFAULT_STREAMS_FILE, facilities_for_streams, load_streams

DEFAULT_TEXT = DEFAULT_STREAMS_FILE.read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "streams.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_streams__defaults() -> None:
    """The packaged file loads: three streams, shares summing to 1, food daily."""
    streams = load_streams()
    assert streams.codes == ("food", "recyclable", "residual")
    assert sum(s.share for s in streams.streams) == pytest.approx(1.0)
    assert streams["food"].frequencies_per_week == (7,)
    assert streams["residual"].facility_name == "Tràng Cát"
    assert streams["recyclable"].bin_types_l == (240, 660)


def test_load_streams__every_default_cites_a_source() -> None:
    """Every stream's share and density are preceded by a comment citing a source or assumption."""
    for key in ("share", "bulk_density_kg_m3", "frequencies_per_week"):
        for match in re.finditer(rf"^{key} = ", DEFAULT_TEXT, flags=re.MULTILINE):
            before = DEFAULT_TEXT[: match.start()].rstrip().splitlines()[-1]
            assert before.startswith("#"), key


def test_effective_shares__unsorted_goes_to_residual() -> None:
    """With a sorting rate of 0.6, 40 % of food and recyclables is collected as residual."""
    shares = load_streams().with_sorting_rate(0.6).effective_shares()
    assert shares["food"] == pytest.approx(0.55 * 0.6)
    assert shares["recyclable"] == pytest.approx(0.15 * 0.6)
    assert shares["residual"] == pytest.approx(0.30 + 0.4 * 0.70)
    assert sum(shares.values()) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("share = 0.55", "share = 0.65", "stream.share"),
        ('facility_kind = "recycling"', 'facility_kind = "incinerator"', "stream[1].facility_kind"),
        ("frequencies_per_week = [1, 2]", "frequencies_per_week = [0, 2]", "frequencies_per_week"),
        ("bulk_density_kg_m3 = 80.0", "bulk_density_kg_m3 = -80.0", "bulk_density_kg_m3"),
        ("max_bins = 6", "max_bins = -1", "stream[1].max_bins"),
        ("sorting_rate = 0.6", "sorting_rate = 1.6", "sorting_rate"),
    ],
)
def test_load_streams__bad_file(tmp_path: Path, old: str, new: str, field: str) -> None:
    """A bad value is refused with a one-line message naming the field."""
    assert old in DEFAULT_TEXT
    path = _write(tmp_path, DEFAULT_TEXT.replace(old, new, 1))
    with pytest.raises(ValidationError, match=re.escape(field)) as info:
        load_streams(path)
    assert "\n" not in str(info.value)


def test_load_streams__ward_override(tmp_path: Path) -> None:
    """A ward's file with recyclables three times a week is read as such."""
    text = DEFAULT_TEXT.replace("frequencies_per_week = [1, 2]", "frequencies_per_week = [3]")
    assert load_streams(_write(tmp_path, text))["recyclable"].frequencies_per_week == (3,)


def test_facilities_for_streams__kind_and_fallback() -> None:
    """Residual goes to the named landfill; food falls back to the nearest treatment site."""
    fac = gpd.GeoDataFrame(
        {
            "fid": ["trang_cat", "far_treat", "near_treat"],
            "name": ["Bãi chôn lấp Tràng Cát", "Xa", "Gần"],
            "kind": ["landfill", "treatment (unverified)", "treatment"],
        },
        geometry=[Point(106.746, 20.798), Point(106.2, 20.9), Point(106.70, 20.85)],
        crs=4326,
    )
    out = facilities_for_streams(load_streams(), fac, Point(106.68, 20.85))
    assert out["residual"][0]["fid"].iloc[0] == "trang_cat"
    assert out["food"][0]["fid"].iloc[0] == "near_treat"
    assert "fallback" in out["food"][1]
    assert out["recyclable"][0]["fid"].iloc[0] == "near_treat"
