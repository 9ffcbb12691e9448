"""Which ward a point lies in: one lookup over the official ward polygons for all of gomrac.

The polygons are those of `gomrac.geo.wards.list_wards` (the same units every other part of
gomrac names), indexed once per data folder in an STR-tree. A point inside a polygon (or on
its edge) belongs to it; a point within `SNAP_M` metres of a ward (a coastline or a boundary
drawn a little off, a GPS fix a few metres out) belongs to the nearest ward; any other point
is outside Hai Phong, and the answer says how far away the nearest ward is and names it.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, NamedTuple

import shapely
from pyproj import Geod
from shapely.geometry import Point
from shapely.ops import nearest_points

from gomrac.geo.wards import list_wards

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from gomrac.geo.settings import Settings

log = logging.getLogger(__name__)

SNAP_M: Final = 100.0  # a point this close to a ward belongs to it
_SEARCH_DEG: Final = 0.5  # nearest-ward search radius for the message (~50 km)
_GEOD: Final = Geod(ellps="WGS84")


class WardRef(NamedTuple):
    """A ward's official code and full name (``Phường Lê Chân``)."""

    code: str
    name: str


@dataclass(frozen=True)
class WardIndex:
    """The ward polygons (EPSG:4326) with their codes and names, in an STR-tree."""

    refs: tuple[WardRef, ...]
    geoms: tuple[BaseGeometry, ...]
    tree: shapely.STRtree

    def locate(self, lon: float, lat: float) -> WardRef | str:
        """See `ward_at`."""
        point = Point(lon, lat)
        hits = self.tree.query(point, predicate="intersects")
        if len(hits) > 0:
            return self.refs[min(int(i) for i in hits)]  # deterministic on overlaps
        nearest = self.tree.query_nearest(point, max_distance=_SEARCH_DEG)
        if len(nearest) == 0:
            return (
                f"the location lat={lat}, long={lon} is outside Hai Phong (no ward within "
                "about 50 km); this service takes reports inside the city only"
            )
        best = min(int(i) for i in nearest)
        near = nearest_points(self.geoms[best], point)[0]
        _, _, distance_m = _GEOD.inv(lon, lat, near.x, near.y)
        ref = self.refs[best]
        if distance_m <= SNAP_M:
            return ref
        return (
            f"the location lat={lat}, long={lon} is outside Hai Phong's wards: "
            f"{_distance_text(distance_m)} from the nearest, {ref.name} (code {ref.code}); "
            "check the position, this service takes reports inside the city only"
        )


def _distance_text(distance_m: float) -> str:
    if distance_m < 1000:
        return f"{math.ceil(distance_m)} m"
    return f"{distance_m / 1000:.1f} km"


_INDEXES: dict[Path, WardIndex] = {}
_LOCK: Final = threading.Lock()


def ward_index(*, settings: Settings) -> WardIndex:
    """
    Return the ward index of `settings`'s data folder, built once per folder.

    Raises
    ------
    DataNotFoundError
        If the data folder holds no ward boundaries.
    """
    data_dir = settings.require_data_dir()
    with _LOCK:
        index = _INDEXES.get(data_dir)
        if index is None:
            wards = list_wards(settings=settings)
            geoms = tuple(wards.geometry)
            pairs = zip(wards["code"], wards["full_name"], strict=True)
            refs = tuple(WardRef(str(c), str(n)) for c, n in pairs)
            index = _INDEXES[data_dir] = WardIndex(
                refs=refs, geoms=geoms, tree=shapely.STRtree(geoms)
            )
            log.info("ward_index: %d ward polygons from %s", len(refs), data_dir)
    return index


def ward_at(lon: float, lat: float, *, settings: Settings) -> WardRef | str:
    """
    Find the ward of a point (WGS 84 degrees).

    Parameters
    ----------
    lon, lat
        Longitude and latitude in decimal degrees (EPSG:4326).
    settings
        Settings naming the data folder with the ward polygons.

    Returns
    -------
    WardRef or str
        The ward's code and full name when the point is inside a ward or within `SNAP_M`
        metres of one; otherwise a one-line message for the person who sent the point, naming
        the nearest ward and how far it is.

    Raises
    ------
    DataNotFoundError
        If the data folder holds no ward boundaries.

    Examples
    --------
    >>> ward_at(106.6854, 20.8378, settings=Settings())  # doctest: +SKIP
    WardRef(code='11383', name='Phường Lê Chân')
    """
    return ward_index(settings=settings).locate(lon, lat)
