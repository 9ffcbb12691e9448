"""GPX 1.1 files for drivers, written with gpxpy: one track per trip, a waypoint per stop.

gpxpy writes the elements in the order the GPX 1.1 schema requires (``metadata`` with ``name``,
``desc``, ``author``, ``copyright``, ``link``; then ``wpt``; then ``trk``), so the files validate
against http://www.topografix.com/GPX/1/1/gpx.xsd. The OSM attribution is the copyright author and
the ODbL the licence of every file, since the tracks follow OSM streets.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import gpxpy.gpx

from gomrac.geo.osm import OSM_ATTRIBUTION

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from shapely.geometry import LineString

ODBL_URL = "https://opendatacommons.org/licenses/odbl/1-0/"


def write_gpx(
    path: str | Path,
    *,
    name: str,
    tracks: Sequence[tuple[str, LineString]],
    waypoints: Iterable[tuple[str, float, float, str]],
    description: str = "",
    waypoint_types: Sequence[str] | None = None,
) -> Path:
    """Write a GPX 1.1 file.

    Parameters
    ----------
    path
        File to write.
    name
        Name of the file's content (the vehicle).
    tracks
        (name, LineString in EPSG:4326 lon/lat) per trip; each becomes a ``trk`` with one
        ``trkseg``.
    waypoints
        (name, lon, lat, description) per stop, in visiting order.
    description
        Text of the metadata ``desc`` (a data label, say); the attribution is appended.
    waypoint_types
        Optional ``type`` of each waypoint (e.g. ``"thu gom"``, ``"do tai"``), same order.

    Returns
    -------
    pathlib.Path
        The file written (UTF-8).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = gpxpy.gpx.GPX()
    doc.creator = "gomrac"
    doc.name = name
    doc.description = " – ".join(t for t in (description, f"Dữ liệu đường: {OSM_ATTRIBUTION}") if t)
    doc.copyright_author = OSM_ATTRIBUTION
    doc.copyright_license = ODBL_URL
    types = list(waypoint_types) if waypoint_types is not None else None
    for k, (wname, lon, lat, desc) in enumerate(waypoints):
        doc.waypoints.append(
            gpxpy.gpx.GPXWaypoint(
                latitude=round(float(lat), 7),
                longitude=round(float(lon), 7),
                name=wname,
                description=desc,
                type=types[k] if types is not None else None,
            )
        )
    for tname, line in tracks:
        track = gpxpy.gpx.GPXTrack(name=tname)
        segment = gpxpy.gpx.GPXTrackSegment()
        segment.points.extend(
            gpxpy.gpx.GPXTrackPoint(latitude=round(y, 7), longitude=round(x, 7))
            for x, y in line.coords
        )
        track.segments.append(segment)
        doc.tracks.append(track)
    path.write_text(doc.to_xml(version="1.1"), encoding="utf-8")
    return path
