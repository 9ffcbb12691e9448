"""Checks that every analysis entry point runs on its inputs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gomrac.analysis.errors import CRSError

if TYPE_CHECKING:
    import geopandas as gpd


def require_metric(gdf: gpd.GeoDataFrame | gpd.GeoSeries, name: str) -> None:
    """Raise `CRSError` unless `gdf` is in a projected CRS measured in metres.

    Parameters
    ----------
    gdf
        The frame or series to check.
    name
        Its parameter name, quoted in the message.
    """
    crs = gdf.crs
    if crs is None or not crs.is_projected or crs.axis_info[0].unit_name not in {"metre", "meter"}:
        msg = f"`{name}` must be in a projected CRS in metres (use geo.crs.to_metric); got {crs}."
        raise CRSError(msg)
