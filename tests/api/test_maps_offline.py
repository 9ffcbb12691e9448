"""The written plan's map.html works offline: every script and style sheet is a local file."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import ClassVar

import folium
import pytest

from gomrac.analysis.errors import DataNotFoundError
from gomrac.api import maps
from gomrac.api.outputs import write_plan
from gomrac.api.planning import WardPlan

ASSET = re.compile(r"<(script|link)\b[^>]*?\b(?:src|href)=\"([^\"]+)\"", re.IGNORECASE)


@pytest.fixture(scope="module")
def written(vanmieu_plan: WardPlan, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plan written as ``gomrac plan`` writes it; the folder."""
    out = tmp_path_factory.mktemp("plan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_plan(vanmieu_plan, out)
    return out


def test_map_html__no_remote_script_or_style_sheet(written: Path) -> None:
    """No script or style sheet comes from another host; each one referenced is a file of
    ``lib/`` beside the page; the plugins our layers use are there, the unused ones are not."""
    page = (written / "map.html").read_text(encoding="utf-8")
    assets = ASSET.findall(page)
    assert assets
    for tag, url in assets:
        assert not url.startswith(("http:", "https:", "//")), (tag, url)
        assert url.startswith("lib/"), url
        assert (written / url).is_file(), url
    urls = {url for _, url in assets}
    assert "lib/leaflet/leaflet.js" in urls and "lib/leaflet/leaflet.css" in urls
    assert "lib/leaflet.heat/leaflet-heat.js" in urls  # the reports' heat map
    assert "lib/leaflet.markercluster/leaflet.markercluster.js" in urls  # uncovered households
    assert "lib/jquery/jquery.min.js" in urls  # folium's pop-ups
    for unused in ("bootstrap", "awesome-markers", "fontawesome", "glyphicons"):
        assert unused not in page.lower(), unused
    # Leaflet's style sheet finds its images in the copied folder
    assert (written / "lib" / "leaflet" / "images" / "layers.png").is_file()
    assert (written / "lib" / "leaflet" / "LICENSE").is_file()


def test_map_html__osm_credit_and_background_off(written: Path) -> None:
    """The OSM credit is on the map; the OSM raster background is an overlay, off at first."""
    page = (written / "map.html").read_text(encoding="utf-8")
    assert page.count("© OpenStreetMap contributors") >= 2  # the fixed credit and Leaflet's
    layer = re.search(r"L\.tileLayer\(\s*\"https://tile\.openstreetmap\.org[^;]*;", page, re.DOTALL)
    assert layer, "the OSM background layer"
    name = re.search(r"var (tile_layer_\w+) = L\.tileLayer", page)
    assert name
    assert f"{name[1]}.addTo(" not in page  # not shown when the map opens


def test_finish__unknown_plugin_is_refused(tmp_path: Path) -> None:
    """A plugin with no local copy stops the writing with the way to add one."""

    class Remote(folium.MacroElement):  # type: ignore[misc]
        default_js: ClassVar = [("remote_plugin", "https://cdn.example.org/plugin.js")]

    m = folium.Map(location=[21.0, 105.8], tiles=None)
    m.add_child(Remote())
    with pytest.raises(ValueError, match=r"remote_plugin.*scripts/setup\.sh"):
        maps.finish(m, tmp_path / "map.html")
    assert not (tmp_path / "map.html").exists()


def test_finish__missing_vendor_says_run_setup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the vendored Leaflet the map is not written half-broken: setup.sh is named."""
    monkeypatch.setattr(maps, "VENDOR_DIR", tmp_path / "nowhere")
    m = folium.Map(location=[21.0, 105.8], tiles=None)
    with pytest.raises(DataNotFoundError, match=r"run scripts/setup\.sh"):
        maps.finish(m, tmp_path / "out" / "map.html")
