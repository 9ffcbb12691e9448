"""GPX 1.1 files for drivers: one track per trip and a waypoint per stop, with OSM attribution."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape, quoteattr

from gomrac.geo.osm import OSM_ATTRIBUTION

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from shapely.geometry import LineString


def write_gpx(
    path: str | Path,
    *,
    name: str,
    tracks: Sequence[tuple[str, LineString]],
    waypoints: Iterable[tuple[str, float, float, str]],
) -> Path:
    """Write a GPX 1.1 file.

    Parameters
    ----------
    path
        File to write.
    name
        Name of the file's content (the vehicle).
    tracks
        (name, LineString in EPSG:4326 lon/lat) per trip.
    waypoints
        (name, lon, lat, description) per stop, in visiting order.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<gpx version="1.1" creator="gomrac" xmlns="http://www.topografix.com/GPX/1/1">',
        "  <metadata>",
        f"    <name>{escape(name)}</name>",
        (
            f"    <copyright author={quoteattr(OSM_ATTRIBUTION)}><license>"
            "https://opendatacommons.org/licenses/odbl/1-0/</license></copyright>"
        ),
        f"    <desc>{escape('Road data ' + OSM_ATTRIBUTION)}</desc>",
        "  </metadata>",
    ]
    for wname, lon, lat, desc in waypoints:
        lines.append(
            f'  <wpt lat="{lat:.7f}" lon="{lon:.7f}"><name>{escape(wname)}</name>'
            f"<desc>{escape(desc)}</desc></wpt>"
        )
    for tname, line in tracks:
        lines.append(f"  <trk><name>{escape(tname)}</name><trkseg>")
        lines.extend(f'    <trkpt lat="{y:.7f}" lon="{x:.7f}"/>' for x, y in line.coords)
        lines.append("  </trkseg></trk>")
    lines.append("</gpx>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
