"""The independent checker of a written weekly plan: it reads the files, never the solver.

`check_week` re-reads ``visits.csv``, ``points.csv``, ``trips.csv``, ``facilities.csv``, the GPX
files, the published schedule (CSV) and the .ics files, plus the stream definitions
(``streams.toml`` beside them), and lists every disagreement:

* every point × stream with a frequency is visited that many times a week, on evenly spaced days
  (cyclic gaps of ``floor(7/f)`` or ``ceil(7/f)`` days), and every point with waste is visited;
* no overflow: the bins of each point and stream hold the waste of the longest interval between
  two arrivals (``kg/day × hours / 24 ≤ bins × litres × density × fill factor``);
* each trip unloads at its stream's facility, after its last collection, and the driver's GPX
  shows the unload there;
* each trip's collected kg (summed from the visits) is within the vehicle's capacity, and every
  arrival and the return to the garage lie within the vehicle's shift;
* the km reported per trip equal the length of the drawn street line in the GPX (0.1 %);
* split-body trucks (a ``collection`` such as ``food+residual`` in ``trips.csv``): every stop
  collects all the collection's streams at once, each compartment's load per trip is within
  its capacity and the trip's total within the body's, and each compartment unloads at its own
  stream's facility (the trips rows and the GPX unload waypoints);
* each vehicle's GPX starts and ends at the garage of its vehicle type (``vehicle_types.csv``);
* the schedule has exactly one row per visit of each group's points, with the visit's real
  weekday, and each group's .ics holds exactly those events.

Nothing here imports the planner: the formulas are written again from the definitions.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import icalendar
import pandas as pd
import pyproj
from dateutil.rrule import rrulestr

from gomrac.analysis.errors import DataNotFoundError
from gomrac.geo.streams import StreamSet, load_streams

KM_TOLERANCE = 1e-3
"""Relative tolerance between the km reported and the GPX track length."""

GARAGE_TOLERANCE_M = 2.0
"""Farthest a vehicle's first or last track point may lie from its garage, metres."""

WINDOW_MIN = 15
"""A calendar event starts this many minutes before the published arrival (the window's start)."""

_GEOD = pyproj.Geod(ellps="WGS84")
_GPX = "{http://www.topografix.com/GPX/1/1}"
_WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật")


def _read(path: Path) -> pd.DataFrame:
    if not path.exists():
        msg = f"{path.name} not found in {path.parent}"
        raise DataNotFoundError(msg)
    return pd.read_csv(path, encoding="utf-8-sig", dtype={"point_id": str})


def _read_gpx(
    path: Path, ends: list[tuple[float, float]] | None = None
) -> tuple[float, list[tuple[str, str, float, float]]]:
    """Track length (km, geodesic on WGS84) and waypoints (type, name, lon, lat) of a GPX file.

    Read with the standard library's XML parser, independently of the writer (gpxpy). `ends`,
    when given, receives the first and the last track point (lon, lat).
    """
    root = ET.parse(path).getroot()
    km = 0.0
    track: list[tuple[float, float]] = []
    for seg in root.iter(f"{_GPX}trkseg"):
        pts = [(float(p.get("lon", "nan")), float(p.get("lat", "nan"))) for p in seg]
        track += pts
        if len(pts) > 1:
            lon, lat = zip(*pts, strict=True)
            km += _GEOD.line_length(lon, lat) / 1000.0
    if ends is not None and track:
        ends += [track[0], track[-1]]
    wpts = [
        (
            w.findtext(f"{_GPX}type", ""),
            w.findtext(f"{_GPX}name", ""),
            float(w.get("lon", "nan")),
            float(w.get("lat", "nan")),
        )
        for w in root.findall(f"{_GPX}wpt")
    ]
    return km, wpts


def check_week(out_dir: str | Path, *, streams_file: str | Path | None = None) -> list[str]:
    """List every violation found in the files of a written weekly plan.

    Parameters
    ----------
    out_dir
        The folder `gomrac.api.weekly.write_week` wrote.
    streams_file
        Stream definitions; default ``out_dir/streams.toml`` (else the packaged defaults).

    Returns
    -------
    list[str]
        One line per violation; empty when the plan's files agree with each other and with the
        rules.
    """
    out = Path(out_dir)
    src = Path(streams_file) if streams_file else out / "streams.toml"
    streams = load_streams(src if src.exists() else None)
    visits = _read(out / "visits.csv")
    points = _read(out / "points.csv")
    trips = _read(out / "trips.csv")
    facilities = {str(r["stream"]): r for r in _records(_read(out / "facilities.csv"))}
    issues: list[str] = []
    issues += _patterns(visits, points, streams.codes)
    issues += _overflow(visits, points, streams)
    types = _read(out / "vehicle_types.csv") if (out / "vehicle_types.csv").exists() else None
    issues += _trips(visits, trips, facilities)
    issues += _compartments(visits, trips)
    issues += _gpx(out, trips, visits, facilities, types)
    issues += _schedule(out, visits)
    return issues


def _arrivals(visits: pd.DataFrame) -> dict[tuple[str, str], list[tuple[int, float]]]:
    """(service day, arrival s) of each point x stream's visits, sorted."""
    out: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for r in _records(visits):
        key = (str(r["point_id"]), str(r["stream"]))
        out.setdefault(key, []).append((int(r["service_day"]), float(r["arrival_s"])))
    return {k: sorted(v) for k, v in out.items()}


def _patterns(visits: pd.DataFrame, points: pd.DataFrame, codes: tuple[str, ...]) -> list[str]:
    issues: list[str] = []
    seen = _arrivals(visits)
    for p in _records(points):
        pid = str(p["point_id"])
        for s in codes:
            f = int(p[f"{s}_per_week"])
            kg = float(p[f"{s}_kg_day"])
            days = [d for d, _ in seen.get((pid, s), [])]
            if kg > 0 and f == 0:
                issues.append(f"{pid} {s}: {kg:.1f} kg/day but no collection frequency")
            if len(days) != f:
                issues.append(f"{pid} {s}: {len(days)} visits a week, the plan says {f}")
                continue
            if len(set(days)) != len(days):
                issues.append(f"{pid} {s}: two visits on one service day")
                continue
            if f:
                gaps = [(days[(k + 1) % f] - days[k]) % 7 or 7 for k in range(f)]
                if not set(gaps) <= {7 // f, -(-7 // f)}:
                    issues.append(f"{pid} {s}: days {days} are not evenly spaced (gaps {gaps})")
    return issues


def _overflow(visits: pd.DataFrame, points: pd.DataFrame, streams: StreamSet) -> list[str]:
    issues: list[str] = []
    seen = _arrivals(visits)
    for p in _records(points):
        pid = str(p["point_id"])
        for sd in streams.streams:
            s = sd.code
            kg_day = float(p[f"{s}_kg_day"])
            t = [d * 86_400 + a for d, a in seen.get((pid, s), [])]
            if kg_day <= 0 or not t:
                continue
            longest_s = max(b - a for a, b in zip(t, [*t[1:], t[0] + 7 * 86_400], strict=True))
            waste_kg = kg_day * longest_s / 86_400
            cap_kg = sum(
                int(p.get(f"{s}_bins_{size}l", 0))
                * size
                / 1000
                * sd.bulk_density_kg_m3
                * streams.fill_factor
                for size in (240, 660)
            )
            # the files' precision: kg/day to 0.001 kg, arrivals to 0.1 s
            tol_kg = 0.0005 * longest_s / 86_400 + kg_day * 0.1 / 86_400 + 1e-6
            if waste_kg > cap_kg + tol_kg:
                issues.append(
                    f"{pid} {s}: bins hold {cap_kg:.0f} kg but {waste_kg:.0f} kg "
                    f"accumulate in the longest interval ({longest_s / 3600:.1f} h)"
                )
    return issues


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in r.items()} for r in df.to_dict("records")]


TripKey = tuple[str, int, str, int]
Facilities = dict[str, dict[str, Any]]


def _trip_key(r: dict[str, Any]) -> TripKey:
    return (str(r["stream"]), int(r["service_day"]), str(r["vehicle"]), int(r["trip"]))


def _tag(key: TripKey) -> str:
    return f"{key[0]} day {key[1] + 1} {key[2]} trip {key[3]}"


def _trips(visits: pd.DataFrame, trips: pd.DataFrame, fac: Facilities) -> list[str]:
    issues: list[str] = []
    unloads: dict[TripKey, list[dict[str, Any]]] = {}
    for r in _records(trips):
        unloads.setdefault(_trip_key(r), []).append(r)
    collected: dict[TripKey, list[dict[str, Any]]] = {}
    for r in _records(visits):
        collected.setdefault(_trip_key(r), []).append(r)
    for key, rows in collected.items():
        tag = _tag(key)
        if key not in unloads:
            issues.append(f"{tag}: collects {len(rows)} points but never unloads")
            continue
        if len(unloads[key]) > 1:
            issues.append(f"{tag}: unloads {len(unloads[key])} times")
        t = unloads[key][0]
        kg = sum(float(r["kg"]) for r in rows)
        cap = float(t["capacity_kg"])
        if kg > cap + 1e-6:
            issues.append(f"{tag}: carries {kg:.0f} kg > capacity {cap:.0f} kg")
        if abs(kg - float(t["kg"])) > 0.05 * max(1.0, len(rows)):
            issues.append(f"{tag}: unloads {float(t['kg']):.0f} kg, the visits sum to {kg:.0f} kg")
        start, end = float(t["shift_start_s"]), float(t["shift_end_s"])
        arrivals = [float(r["arrival_s"]) for r in rows]
        if min(arrivals) < start - 1 or max(arrivals) > end + 1:
            issues.append(f"{tag}: a collection lies outside the shift")
        if float(t["unload_arrival_s"]) < max(arrivals):
            issues.append(f"{tag}: unloads before its last collection")
        if float(t["garage_return_s"]) > end + 1:
            issues.append(f"{tag}: back at the garage after the shift ends")
        f = fac[key[0]]
        d_m = _GEOD.inv(
            float(t["unload_lon"]), float(t["unload_lat"]), float(f["lon"]), float(f["lat"])
        )[2]
        if d_m > 1.0:
            issues.append(
                f"{tag}: unloads {d_m:.0f} m from the {key[0]} facility ({f['facility']})"
            )
    issues.extend(f"{_tag(key)}: no visit" for key in unloads if key not in collected)
    return issues


def _compartments(visits: pd.DataFrame, trips: pd.DataFrame) -> list[str]:
    """Check split-body trucks: one stop for all their streams, within the body's capacity."""
    if "collection" not in trips:
        return []
    issues: list[str] = []
    carried: dict[tuple[int, str], set[str]] = {}
    body: dict[tuple[int, str, int], tuple[float, set[str]]] = {}
    for r in _records(trips):
        streams = set(str(r["collection"]).split("+"))
        carried[(int(r["service_day"]), str(r["vehicle"]))] = streams
        key = (int(r["service_day"]), str(r["vehicle"]), int(r["trip"]))
        body[key] = (float(r.get("body_capacity_kg", math.inf)), streams)
    stops: dict[tuple[str, int, str, float], set[str]] = {}
    load: dict[tuple[int, str, int], float] = {}
    for r in _records(visits):
        day, vehicle = int(r["service_day"]), str(r["vehicle"])
        if len(carried.get((day, vehicle), ())) < 2:
            continue
        stop = (str(r["point_id"]), day, vehicle, float(r["arrival_s"]))
        stops.setdefault(stop, set()).add(str(r["stream"]))
        at = (day, vehicle, int(r["trip"]))
        load[at] = load.get(at, 0.0) + float(r["kg"])
    for (pid, day, vehicle, _), got in sorted(stops.items()):
        want = carried[(day, vehicle)]
        if got != want:
            issues.append(
                f"{pid} day {day + 1} {vehicle}: a split-body stop collects {sorted(got)}, "
                f"not all of {sorted(want)} together"
            )
    for (day, vehicle, trip), kg in sorted(load.items()):
        cap, streams = body.get((day, vehicle, trip), (0.0, set()))
        if kg > cap + 1e-6:
            issues.append(
                f"day {day + 1} {vehicle} trip {trip}: carries {kg:.0f} kg of "
                f"{'+'.join(sorted(streams))} > body capacity {cap:.0f} kg"
            )
    return issues


def _gpx(
    out: Path,
    trips: pd.DataFrame,
    visits: pd.DataFrame,
    fac: Facilities,
    types: pd.DataFrame | None = None,
) -> list[str]:
    issues: list[str] = []
    by_vehicle: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for r in _records(trips):
        by_vehicle.setdefault((int(r["service_day"]), str(r["vehicle"])), []).append(r)
    stops_of: dict[tuple[int, str], Counter[str]] = {}
    seen: set[tuple[int, str, str, float]] = set()
    for r in _records(visits):
        key = (int(r["service_day"]), str(r["vehicle"]))
        stop = (*key, str(r["point_id"]), float(r["arrival_s"]))
        if stop not in seen:  # a split-body truck's stop serves several streams at once
            seen.add(stop)
            stops_of.setdefault(key, Counter())[str(r["point_id"])] += 1
    garages: dict[tuple[str, str], tuple[float, float]] = {}
    if types is not None:
        garages = {
            (str(r["collection"]), str(r["vehicle_type"])): (
                float(r["garage_lon"]),
                float(r["garage_lat"]),
            )
            for r in _records(types)
        }
    for (day, vehicle), rows in sorted(by_vehicle.items()):
        stream = str(rows[0].get("collection", rows[0]["stream"]))
        path = out / "gpx" / f"{vehicle}_{day}.gpx"
        if not path.exists():
            issues.append(f"{path.name}: missing GPX for {stream} day {day + 1}")
            continue
        ends: list[tuple[float, float]] = []
        drawn, wpts = _read_gpx(path, ends)
        reported = sum({int(r["trip"]): float(r["km"]) for r in rows}.values())
        if not math.isclose(drawn, reported, rel_tol=KM_TOLERANCE):
            issues.append(
                f"{path.name}: {reported:.3f} km reported, the street lines measure {drawn:.3f} km"
            )
        unloads = [w for w in wpts if w[0] == "do tai"]
        if len(unloads) != len(rows):
            issues.append(f"{path.name}: {len(unloads)} unloads shown, {len(rows)} unloads listed")
        # each unload listed is shown at its own stream's facility
        left = list(unloads)
        for r in rows:
            f = fac[str(r["stream"])]
            d_m = [
                _GEOD.inv(lon, lat, float(f["lon"]), float(f["lat"]))[2] for *_, lon, lat in left
            ]
            if not d_m or min(d_m) > 1.0:
                away = f"{min(d_m):.0f} m" if d_m else "no unload"
                issues.append(
                    f"{path.name}: an unload of {r['stream']} is {away} from the {r['stream']} "
                    "facility"
                )
                continue
            left.pop(d_m.index(min(d_m)))
        stops = Counter(name for kind, name, _, _ in wpts if kind == "thu gom")
        if stops != stops_of.get((day, vehicle), Counter()):
            issues.append(f"{path.name}: its stops are not the vehicle's visits")
        issues += _garage(path.name, rows, ends, garages)
    return issues


def _garage(
    name: str,
    rows: list[dict[str, Any]],
    ends: list[tuple[float, float]],
    garages: dict[tuple[str, str], tuple[float, float]],
) -> list[str]:
    """Check that the vehicle's day starts and ends at its garage, its vehicle type's."""
    if "garage_lon" not in rows[0]:
        return []
    home = (float(rows[0]["garage_lon"]), float(rows[0]["garage_lat"]))
    issues: list[str] = []
    key = (str(rows[0].get("collection", rows[0]["stream"])), str(rows[0].get("vehicle_type")))
    if key in garages and _GEOD.inv(*home, *garages[key])[2] > 1.0:
        issues.append(f"{name}: the trips name a garage that is not its vehicle type's")
    for where, (lon, lat) in zip(("starts", "ends"), ends, strict=False):
        d_m = _GEOD.inv(lon, lat, *home)[2]
        if d_m > GARAGE_TOLERANCE_M:
            issues.append(f"{name}: the route {where} {d_m:.0f} m from its garage")
    return issues


def _schedule(out: Path, visits: pd.DataFrame) -> list[str]:
    issues: list[str] = []
    path = out / "lich_thu_gom" / "lich_thu_gom.csv"
    if not path.exists():
        return [f"{path.name} not found"]
    table = pd.read_csv(path, encoding="utf-8-sig", dtype={"Mã điểm": str})
    days_at: dict[str, Counter[str]] = {}
    for r in _records(visits):
        days_at.setdefault(str(r["point_id"]), Counter())[str(r["weekday"])] += 1
    rows_of: dict[tuple[str, str], Counter[str]] = {}
    group_days: dict[str, Counter[str]] = {}
    for r in _records(table):
        group, point, day = str(r["Tổ dân phố"]), str(r["Mã điểm"]), str(r["Ngày thu gom"])
        rows_of.setdefault((group, point), Counter())[day] += 1
        group_days.setdefault(group, Counter())[day] += 1
    scheduled = {point for _, point in rows_of}
    issues.extend(f"{p}: visited but in no group's schedule" for p in set(days_at) - scheduled)
    for (group, point), got in rows_of.items():
        if point not in days_at:
            issues.append(f"{group}: schedule names {point}, which has no visit")
        elif got != days_at[point]:
            issues.append(
                f"{group} at {point}: schedule rows {dict(got)} differ from the visits "
                f"{dict(days_at[point])}"
            )
    found: dict[str, Counter[str]] = {}
    for ics in sorted((out / "lich_thu_gom" / "ics").glob("*.ics")):
        cal = icalendar.Calendar.from_ical(ics.read_bytes())
        name = str(cal.get("x-wr-calname", "")).removeprefix("Lịch thu gom rác – ")
        days = found.setdefault(name, Counter())
        for ev in cal.walk("VEVENT"):
            rule = ev.get("rrule")
            if rule is None or [str(x).upper() for x in rule.get("FREQ", [])] != ["WEEKLY"]:
                issues.append(f"{ics.name}: an event does not repeat weekly")
                continue
            # the event's first week, expanded by dateutil from its RRULE (BYDAY or not); each
            # occurrence opens the announced window, WINDOW_MIN before the (5-minute) arrival
            start = ev.decoded("dtstart")
            week = rrulestr(rule.to_ical().decode(), dtstart=start)
            firsts = week.between(start, start + timedelta(days=7, seconds=-1), inc=True)
            if not firsts or firsts[0] != start:
                firsts = [start, *firsts]
                issues.append(f"{ics.name}: an event starts on a day its rule does not repeat on")
            for when in firsts:
                arrival = when + timedelta(minutes=WINDOW_MIN)
                days[_WEEKDAYS[arrival.weekday()]] += 1
    for group, want in group_days.items():
        got = found.get(group, Counter())
        if got != want:
            issues.append(
                f"{group}: {sum(got.values())} calendar events for {sum(want.values())} "
                "schedule rows (or on other weekdays)"
            )
    issues.extend(
        f"{g}: a calendar for a group with no schedule" for g in set(found) - set(group_days)
    )
    return issues
