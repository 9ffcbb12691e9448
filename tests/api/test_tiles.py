"""Mapbox Vector Tiles of the large layers, decoded and checked against the GeoJSON endpoint.

Tile numbers are computed here with pyproj's Web Mercator, independently of the server's own
arithmetic (`gomrac.api.web.tiles`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mapbox_vector_tile
import pytest
from pyproj import Transformer
from shapely.geometry import shape

from gomrac.api.main import create_app
from gomrac.api.planning import WardPlan
from gomrac.api.web import layers, tiles
from gomrac.geo.settings import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's notice about httpx, as in conftest
    from fastapi.testclient import TestClient

HALF = 20037508.342789244
TO_MERCATOR = Transformer.from_crs(4326, 3857, always_xy=True)
TO_LONLAT = Transformer.from_crs(3857, 4326, always_xy=True)
HAI_PHONG = (106.6854, 20.8378)  # (lon, lat), Phường Lê Chân: far from the Hanoi sample


@pytest.fixture(scope="module")
def web(
    vanmieu_plan: WardPlan, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """The app holding the Văn Miếu plan as the sample (the tiles need no database)."""
    folder = tmp_path_factory.mktemp("tiles")
    settings = Settings(database_url=f"sqlite:///{folder / 'gomrac.sqlite'}", data_dir=data_dir)
    app = create_app(settings)
    layers.register_plan(app, layers.SAMPLE_KEY, vanmieu_plan)
    with TestClient(app) as client:
        yield client


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """The XYZ tile of a point, from pyproj's Web Mercator."""
    x, y = TO_MERCATOR.transform(lon, lat)
    size = 2 * HALF / 2**z
    return int((x + HALF) // size), int((HALF - y) // size)


def lonlat_bounds(z: int, x: int, y: int, pad: float = 0.0) -> tuple[float, ...]:
    """A tile's WGS84 bounds (pyproj), widened by `pad` of its side on every edge."""
    size = 2 * HALF / 2**z
    x0, x1 = -HALF + (x - pad) * size, -HALF + (x + 1 + pad) * size
    y1, y0 = HALF - (y - pad) * size, HALF - (y + 1 + pad) * size
    lon0, lat0 = TO_LONLAT.transform(x0, y0)
    lon1, lat1 = TO_LONLAT.transform(x1, y1)
    return lon0, lat0, lon1, lat1


def decode(web: TestClient, url: str) -> dict[str, Any]:
    """Fetch a tile and decode it; an empty answer (204) is an empty dict."""
    answer = web.get(url)
    assert answer.status_code in (200, 204), answer.text
    if answer.status_code == 204:
        assert answer.content == b""
        return {}
    assert answer.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    return dict(mapbox_vector_tile.decode(answer.content))


def geojson(web: TestClient, layer: str, bbox: tuple[float, ...], query: str = "") -> list[Any]:
    """Every feature of a layer in a box, through the GeoJSON endpoint's pages."""
    box = ",".join(f"{v:.9f}" for v in bbox)
    url = f"/api/layers/sample/{layer}.geojson?bbox={box}&page_size=5000{query}"
    body = web.get(url).json()
    assert "next" not in body
    return list(body["features"])


def centre(plan: WardPlan) -> tuple[float, float]:
    c = plan.data.area.geometry.centroid
    return c.x, c.y


@pytest.mark.parametrize(("layer", "z"), [("streets", 16), ("buildings", 16), ("points", 15)])
def test_tile__same_features_and_properties_as_geojson(
    web: TestClient, vanmieu_plan: WardPlan, layer: str, z: int
) -> None:
    """A tile holds every feature the GeoJSON endpoint finds in the tile, at most those in the
    tile with its buffer, with the same ids and the same (non-null) properties."""
    x, y = tile_of(*centre(vanmieu_plan), z)
    tile = decode(web, f"/api/layers/sample/tiles/{layer}/{z}/{x}/{y}.mvt")
    assert list(tile) == [layer]
    assert tile[layer]["extent"] == tiles.EXTENT
    got = {f["id"]: f for f in tile[layer]["features"]}
    inside = {f["id"]: f for f in geojson(web, layer, lonlat_bounds(z, x, y))}
    padded = {f["id"]: f for f in geojson(web, layer, lonlat_bounds(z, x, y, 65 / 4096))}
    assert len(inside) > 0
    assert set(inside) <= set(got) <= set(padded)
    everything = web.get(f"/api/layers/sample/{layer}.geojson?page_size=5000").json()
    assert len(got) < len(everything["features"])  # a tile, not the whole layer
    for fid, feature in got.items():
        expected = {k: v for k, v in padded[fid]["properties"].items() if v is not None}
        assert feature["properties"] == expected, fid


def test_tile__points_where_the_geojson_puts_them(web: TestClient, vanmieu_plan: WardPlan) -> None:
    """Each point's tile coordinates, turned back into degrees, are within one tile unit of
    its GeoJSON position."""
    z = 17
    x, y = tile_of(*centre(vanmieu_plan), z - 2)
    seen = 0
    for col in range(4 * x, 4 * x + 4):
        for row in range(4 * y, 4 * y + 4):
            tile = decode(web, f"/api/layers/sample/tiles/points/{z}/{col}/{row}.mvt")
            if not tile:
                continue
            where = {
                f["id"]: f["geometry"]["coordinates"]
                for f in geojson(web, "points", lonlat_bounds(z, col, row, 0.02))
            }
            size = 2 * HALF / 2**z
            unit = size / tiles.EXTENT
            for f in tile["points"]["features"]:
                tx, ty = f["geometry"]["coordinates"]
                if not (0 <= tx <= tiles.EXTENT and 0 <= ty <= tiles.EXTENT):
                    continue  # in the buffer: checked in its own tile
                mx = -HALF + col * size + tx * unit
                my = HALF - (row + 1) * size + ty * unit  # decoded y grows northwards
                ex, ey = TO_MERCATOR.transform(*where[f["id"]])
                assert abs(mx - ex) <= unit and abs(my - ey) <= unit, f["id"]
                seen += 1
    assert seen == len(geojson(web, "points", lonlat_bounds(z - 2, x, y))) > 0


def test_tile__a_known_street_is_in_its_tile(web: TestClient, vanmieu_plan: WardPlan) -> None:
    """The tile holding the middle of a named street has that street; a tile in Hai Phong,
    far from the sample, is empty (204)."""
    streets = geojson(web, "streets", vanmieu_plan.data.area.geometry.bounds)
    named = next(f for f in streets if f["properties"]["name"] and f["id"] % 7 == 3)
    middle = shape(named["geometry"]).interpolate(0.5, normalized=True)
    x, y = tile_of(middle.x, middle.y, 18)
    tile = decode(web, f"/api/layers/sample/tiles/streets/18/{x}/{y}.mvt")
    ids = {f["id"]: f["properties"] for f in tile["streets"]["features"]}
    assert ids[named["id"]]["name"] == named["properties"]["name"]
    far_x, far_y = tile_of(*HAI_PHONG, 18)
    assert decode(web, f"/api/layers/sample/tiles/streets/18/{far_x}/{far_y}.mvt") == {}
    # a neighbour tile that the street does not reach does not carry it
    away = decode(web, f"/api/layers/sample/tiles/streets/18/{x + 40}/{y + 40}.mvt")
    assert named["id"] not in {f["id"] for f in away.get("streets", {}).get("features", [])}


def test_tile__routes_of_a_day_and_stream(web: TestClient, vanmieu_plan: WardPlan) -> None:
    """Routes tiles take the GeoJSON's stream and day: the same routes, vehicle by vehicle."""
    z = 14
    x, y = tile_of(*centre(vanmieu_plan), z)
    for query in ("?stream=food&day=2", "?day=5", ""):
        tile = decode(web, f"/api/layers/sample/tiles/routes/{z}/{x}/{y}.mvt{query}")
        body = web.get(f"/api/layers/sample/routes.geojson{query}").json()
        got = {f["id"]: f["properties"]["vehicle"] for f in tile["routes"]["features"]}
        assert got == {f["id"]: f["properties"]["vehicle"] for f in body["features"]}
        assert len(got) > 0


def test_tile__below_the_layers_zoom_is_empty(web: TestClient, vanmieu_plan: WardPlan) -> None:
    """Buildings are not drawn below their least zoom: 204 there, a tile from it on."""
    least = layers.TILE_MIN_ZOOM["buildings"]
    x, y = tile_of(*centre(vanmieu_plan), least - 1)
    answer = web.get(f"/api/layers/sample/tiles/buildings/{least - 1}/{x}/{y}.mvt")
    assert answer.status_code == 204
    x, y = tile_of(*centre(vanmieu_plan), least)
    assert decode(web, f"/api/layers/sample/tiles/buildings/{least}/{x}/{y}.mvt")["buildings"]


def test_tile__etag_and_cache_headers(web: TestClient, vanmieu_plan: WardPlan) -> None:
    """A tile has an ETag and may be cached; asking again with it answers 304, no body."""
    x, y = tile_of(*centre(vanmieu_plan), 16)
    url = f"/api/layers/sample/tiles/streets/16/{x}/{y}.mvt"
    first = web.get(url)
    etag = first.headers["etag"]
    assert etag.startswith('"') and len(etag) == 34
    assert first.headers["cache-control"] == f"public, max-age={layers.TILE_CACHE_S}"
    again = web.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert web.get(url, headers={"If-None-Match": '"other"'}).content == first.content
    other = web.get(f"/api/layers/sample/tiles/streets/16/{x + 1}/{y}.mvt")
    assert other.headers.get("etag") != etag


def test_catalogue__tile_urls_of_the_large_layers(web: TestClient) -> None:
    """The layer list gives a tile URL template for the tiled layers only."""
    cat = web.get("/api/layers/sample?day=3").json()
    by_name = {layer["name"]: layer for layer in cat["layers"]}
    assert by_name["streets"]["tiles"] == "/api/layers/sample/tiles/streets/{z}/{x}/{y}.mvt"
    assert by_name["streets"]["tiles_min_zoom"] == layers.TILE_MIN_ZOOM["streets"]
    assert by_name["routes-food"]["tiles"] == (
        "/api/layers/sample/tiles/routes/{z}/{x}/{y}.mvt?stream=food&day=3"
    )
    assert by_name["hotspots"]["tiles"] is None
    assert by_name["stops-food"]["tiles"] is None


@pytest.mark.parametrize(
    ("path", "status", "detail"),
    [
        ("streets/21/0/0.mvt", 400, "z must be a zoom level from 0 to 20"),
        ("streets/abc/0/0.mvt", 400, "z must be a zoom level"),
        ("streets/-1/0/0.mvt", 400, "z must be a zoom level"),
        ("streets/3/8/0.mvt", 400, "x must be a tile number from 0 to 7"),
        ("streets/3/0/8.mvt", 400, "y must be a tile number from 0 to 7"),
        ("streets/3/0/-1.mvt", 400, "y must be a tile number"),
        ("streets/3/1.5/0.mvt", 400, "x must be a tile number"),
        ("streets/99999999999/0/0.mvt", 400, "z must be a zoom level"),
        ("routes/14/0/0.mvt?stream=glass", 400, "stream 'glass' is not planned"),
        ("routes/14/0/0.mvt?day=7", 422, "day"),
        ("rivers/3/0/0.mvt", 404, "has no vector tiles"),
        ("hotspots/3/0/0.mvt", 404, "has no vector tiles"),
    ],
)
def test_tile__bad_input_is_4xx(web: TestClient, path: str, status: int, detail: str) -> None:
    """Malformed tile numbers, unknown or untiled layers answer 4xx with a one-line reason."""
    answer = web.get(f"/api/layers/sample/tiles/{path}")
    assert answer.status_code == status, answer.text
    assert detail in str(answer.json()["detail"])


def test_tile__unknown_plan_is_404(web: TestClient) -> None:
    """A ward with no plan in the server has no tiles."""
    answer = web.get("/api/layers/99999/tiles/streets/16/0/0.mvt")
    assert answer.status_code == 404
    assert "no plan for '99999'" in answer.json()["detail"]
