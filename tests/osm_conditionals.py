"""An independent reading of the time-limited closures in the Hanoi extract's raw XML.

The tests compare gomrac's parsed closures and its routes with this reading, which shares no
code with `gomrac.geo.restrictions`: it knows only the forms the extract holds,
``no @ (Dd[-Dd] HH:MM-HH:MM[,HH:MM-HH:MM]; ...)``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from functools import cache

from shapely.geometry import LineString

DAYS = {"Mo": 0, "Tu": 1, "We": 2, "Th": 3, "Fr": 4, "Sa": 5, "Su": 6}


@cache
def conditional_ways(path: str) -> dict[int, str]:
    """Return ``{way id: motor_vehicle:conditional}`` of the ways that have one."""
    out = {}
    for way in ET.parse(path).getroot().iter("way"):
        tags = {t.get("k"): t.get("v") for t in way.iter("tag")}
        if "motor_vehicle:conditional" in tags:
            out[int(way.get("id"))] = tags["motor_vehicle:conditional"]
    return out


@cache
def street_lines(path: str) -> dict[int, LineString]:
    """Return the line (lon, lat) of every way with a ``highway`` tag."""
    root = ET.parse(path).getroot()
    where = {n.get("id"): (float(n.get("lon")), float(n.get("lat"))) for n in root.iter("node")}
    return {
        int(way.get("id")): LineString([where[nd.get("ref")] for nd in way.iter("nd")])
        for way in root.iter("way")
        if any(t.get("k") == "highway" for t in way.iter("tag"))
    }


def way_lines(path: str) -> dict[int, LineString]:
    """Return the line (lon, lat) of every street with a ``motor_vehicle:conditional`` tag."""
    lines = street_lines(path)
    return {w: lines[w] for w in conditional_ways(path) if w in lines}


def closed_by_hand(value: str, weekday: int, hour: float) -> bool:
    """Whether a ``no @ (...)`` value closes the way on `weekday` (0 = Monday) at `hour`."""
    m = re.fullmatch(r"no @ \((.*)\)", value)
    if not m:
        return False
    for rule in m.group(1).split(";"):
        days, _, times = rule.strip().rpartition(" ")
        if days:
            a, _, b = days.partition("-")
            if not DAYS[a] <= weekday <= DAYS[b or a]:
                continue
        for span in times.split(","):
            start, end = span.split("-")
            h0 = int(start[:2]) + int(start[3:]) / 60
            h1 = int(end[:2]) + int(end[3:]) / 60
            if h0 <= hour < h1:
                return True
    return False
