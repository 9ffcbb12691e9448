"""Coordinate reference systems: store and show in EPSG:4326, compute in EPSG:32648."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, TypeVar

from gomrac.analysis.errors import CRSError

if TYPE_CHECKING:
    import geopandas as gpd
    from shapely.geometry.base import BaseGeometry

WGS84: Final = "EPSG:4326"
METRIC_CRS: Final = "EPSG:32648"  # WGS 84 / UTM zone 48N covers all of Hai Phong (and Hanoi)

_F = TypeVar("_F", "gpd.GeoDataFrame", "gpd.GeoSeries")


def to_metric(gdf: _F) -> _F:
    """Project `gdf` to UTM 48N (metres); raise `CRSError` if it has no CRS."""
    if gdf.crs is None:
        msg = "GeoDataFrame has no CRS; set it (EPSG:4326 for OSM/GeoJSON) before projecting."
        raise CRSError(msg)
    return gdf.to_crs(METRIC_CRS)


def to_wgs84(gdf: _F) -> _F:
    """Project `gdf` to WGS 84 longitude/latitude for files, the API and maps."""
    if gdf.crs is None:
        msg = "GeoDataFrame has no CRS; cannot convert it to WGS 84."
        raise CRSError(msg)
    return gdf.to_crs(WGS84)


def wgs84_geometry_problem(
    geom: BaseGeometry | None, geom_types: tuple[str, ...] | None = None
) -> str | None:
    """Say what keeps a geometry from being stored as longitude/latitude, or None if nothing.

    Checked in order: missing or empty, a type outside `geom_types` (None: any), invalid
    (with shapely's reason), coordinates outside the longitude/latitude ranges.
    """
    import shapely

    if geom is None or geom.is_empty:
        return "missing or empty geometry"
    if geom_types is not None and geom.geom_type not in geom_types:
        return f"geometry is a {geom.geom_type} where {' or '.join(geom_types)} is expected"
    if not geom.is_valid:
        return f"invalid geometry ({shapely.is_valid_reason(geom)})"
    x0, y0, x1, y1 = geom.bounds
    if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
        return f"coordinates {geom.bounds} are not longitude/latitude (EPSG:4326)"
    return None
