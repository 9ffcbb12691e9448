"""Mapbox Vector Tiles of a layer: the XYZ tile grid, clipping, simplifying and encoding.

Tiles follow the XYZ scheme of Web Mercator (EPSG:3857; tile ``0/0/0`` covers the world,
``y`` grows southwards) and the Mapbox Vector Tile 2.1 format, encoded by the
``mapbox-vector-tile`` package: coordinates quantised to `EXTENT` units per tile side, features
clipped `BUFFER` units beyond the tile's edges (so lines and outlines join across tiles) and
simplified by one unit (less than a screen pixel) at the tile's zoom.

Each feature keeps the id the GeoJSON endpoint gives it (its row in the layer, from 1) and its
properties, less those that are null (the format has no null).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Final

import mapbox_vector_tile
import numpy as np
import shapely
from mapbox_vector_tile.encoder import on_invalid_geometry_make_valid
from shapely.geometry import box

from gomrac.analysis.errors import ValidationError

if TYPE_CHECKING:
    import geopandas as gpd

#: Tile coordinates per tile side, as the format's default.
EXTENT: Final = 4096
#: How far features reach beyond a tile's edges (tile units).
BUFFER: Final = 64
#: The deepest zoom served; the map scales the last tiles up past it.
MAX_ZOOM: Final = 20
MEDIA_TYPE: Final = "application/vnd.mapbox-vector-tile"
#: Half the side of the Web Mercator square (metres), and its latitude limit (degrees).
MERCATOR_HALF: Final = 20037508.342789244
MAX_LATITUDE: Final = 85.05112878
_EARTH_RADIUS: Final = 6378137.0


def check_tile(z: str, x: str, y: str) -> tuple[int, int, int]:
    """Read a tile's ``z``, ``x`` and ``y`` from a URL, or raise `ValidationError` (400).

    Examples
    --------
    >>> check_tile("3", "7", "0")
    (3, 7, 0)
    """
    if not (z.isascii() and z.isdigit() and len(z) <= 2):
        msg = f"z must be a zoom level from 0 to {MAX_ZOOM}, got {z[:20]!r}"
        raise ValidationError(msg)
    zoom = int(z)
    if zoom > MAX_ZOOM:
        msg = f"z must be a zoom level from 0 to {MAX_ZOOM}, got {zoom}"
        raise ValidationError(msg)
    last = 2**zoom - 1
    out = []
    for name, text in (("x", x), ("y", y)):
        if not (text.isascii() and text.isdigit() and len(text) <= 7) or int(text) > last:
            msg = f"{name} must be a tile number from 0 to {last} at zoom {zoom}, got {text[:20]!r}"
            raise ValidationError(msg)
        out.append(int(text))
    return zoom, out[0], out[1]


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Return a tile's bounds in Web Mercator metres: ``minx, miny, maxx, maxy``."""
    size = 2 * MERCATOR_HALF / 2**z
    minx = -MERCATOR_HALF + x * size
    maxy = MERCATOR_HALF - y * size
    return minx, maxy - size, minx + size, maxy


def tile_lonlat_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Return a tile's bounds in WGS84 degrees: ``minlon, minlat, maxlon, maxlat``.

    Examples
    --------
    >>> [round(v, 4) for v in tile_lonlat_bounds(1, 1, 0)]
    [0.0, 0.0, 180.0, 85.0511]
    """
    n = 2**z

    def lat(row: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """Return the ``x, y`` of the tile holding a WGS84 point at zoom `z`.

    Examples
    --------
    >>> tile_of(105.8342, 21.0278, 15)  # Hanoi, Văn Miếu
    (26017, 14425)
    """
    n = 2**z
    lat = max(-MAX_LATITUDE, min(MAX_LATITUDE, lat))
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def to_mercator(geoms: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """Project WGS84 geometries to Web Mercator metres (latitudes clamped to the square)."""

    def project(xy: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        lon = np.radians(xy[:, 0])
        lat = np.radians(np.clip(xy[:, 1], -MAX_LATITUDE, MAX_LATITUDE))
        out = np.empty_like(xy, dtype=float)
        out[:, 0] = _EARTH_RADIUS * lon
        out[:, 1] = _EARTH_RADIUS * np.log(np.tan(np.pi / 4 + lat / 2))
        return out

    return np.asarray(shapely.transform(geoms, project))


def encode_tile(
    gdf: gpd.GeoDataFrame,
    name: str,
    z: int,
    x: int,
    y: int,
    *,
    properties: Any = None,
) -> bytes | None:
    """Encode the features of `gdf` (EPSG:4326) that reach tile `z/x/y` as a one-layer tile.

    Parameters
    ----------
    gdf
        The layer, in WGS84; feature ``i`` (from 0) gets the id ``i + 1``.
    name
        The tile layer's name.
    z, x, y
        The tile (XYZ scheme).
    properties
        Function from a value of `gdf` to a JSON-able one (the GeoJSON endpoint's); None keeps
        values as they are.

    Returns
    -------
    bytes or None
        The encoded tile, or None when no feature reaches the tile.
    """
    if gdf.empty:
        return None
    pad = BUFFER / EXTENT
    x0, y0, x1, y1 = tile_lonlat_bounds(z, x, y)
    dx, dy = (x1 - x0) * pad, (y1 - y0) * pad
    index = np.sort(gdf.sindex.query(box(x0 - dx, y0 - dy, x1 + dx, y1 + dy), "intersects"))
    if not len(index):
        return None
    bounds = tile_bounds(z, x, y)
    size = bounds[2] - bounds[0]
    margin = size * pad
    geoms = to_mercator(gdf.geometry.to_numpy()[index])
    geoms = shapely.clip_by_rect(
        geoms, bounds[0] - margin, bounds[1] - margin, bounds[2] + margin, bounds[3] + margin
    )
    lines = shapely.get_dimensions(geoms) > 0
    geoms[lines] = shapely.simplify(geoms[lines], size / EXTENT, preserve_topology=True)
    columns = [c for c in gdf.columns if c != "geometry"]
    values = {c: gdf[c].to_numpy() for c in columns}
    convert = properties if properties is not None else (lambda v: v)
    features = []
    for geom, i in zip(geoms, index, strict=True):
        if geom is None or geom.is_empty:
            continue
        props = {c: convert(values[c][i]) for c in columns}
        features.append(
            {
                "geometry": geom,
                "properties": {k: v for k, v in props.items() if v is not None},
                "id": int(i) + 1,
            }
        )
    if not features:
        return None
    data: bytes = mapbox_vector_tile.encode(
        {"name": name, "features": features},
        default_options={
            "quantize_bounds": bounds,
            "extents": EXTENT,
            "on_invalid_geometry": on_invalid_geometry_make_valid,
        },
    )
    return data
