"""Coordinate reference systems: store and show in EPSG:4326, compute in EPSG:32648."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, TypeVar

from analysis.errors import CRSError

if TYPE_CHECKING:
    import geopandas as gpd

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
