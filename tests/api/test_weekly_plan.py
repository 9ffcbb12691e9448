"""The weekly plan of the Văn Miếu sample on real streets: its files agree and the checker says so.

Provenance: the Văn Miếu fixture of tests/conftest.py (real OSM streets and buildings of central
Hanoi, a 1 km² box); no real facility is reachable, so every stream unloads at a labelled
stand-in.
"""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import gpxpy
import icalendar
import pandas as pd
import pytest
from dateutil.rrule import rrulestr

from gomrac.analysis.errors import InfeasibleError, ValidationError
from gomrac.analysis.routing import Fleet, VehicleType
from gomrac.api.check import check_week
from gomrac.api.pipeline import load_ward_data
from gomrac.api.points import PointsParams, plan_points
from gomrac.api.weekly import (
    SAMPLE_LABEL,
    WEEKDAYS_VI,
    assignment_from_points_plan,
    plan_week,
    write_week,
)
from gomrac.geo.settings import Settings
from gomrac.geo.streams import load_streams

WEEK = date(2026, 12, 7)  # a Monday
GPX_NS = "{http://www.topografix.com/GPX/1/1}"


@pytest.fixture(scope="module")
def vanmieu_data(vanmieu_boundary: Path):
    """The Văn Miếu area's data (here: tests/api overrides `settings` with the API's own)."""
    return load_ward_data(boundary=vanmieu_boundary, settings=Settings())


@pytest.fixture(scope="module")
def vanmieu_points(vanmieu_data):
    """The --cover-all gathering points of the Văn Miếu area."""
    return plan_points(vanmieu_data, params=PointsParams(time_limit_s=30))


@pytest.fixture(scope="module")
def week(vanmieu_data, vanmieu_points, tmp_path_factory: pytest.TempPathFactory):
    """The weekly plan of the Văn Miếu points and the folder it is written to."""
    plan = plan_week(
        vanmieu_data,
        vanmieu_points.proposed,
        assignment=assignment_from_points_plan(vanmieu_data, vanmieu_points),
        week_start=WEEK,
        time_limit_s=10,
        max_iterations=300,
    )
    out = tmp_path_factory.mktemp("week")
    files = write_week(plan, out, label=SAMPLE_LABEL, attribution=vanmieu_data.attribution())
    return plan, out, files


def test_check_week__no_violation(week) -> None:
    """The independent checker finds nothing wrong in the written files."""
    _, out, _ = week
    assert check_week(out) == []


def test_plan_week__every_point_visited(week, vanmieu_points) -> None:
    """Every proposed point is visited for every stream at least once a week."""
    plan, _, _ = week
    ids = set(vanmieu_points.proposed["point_id"])
    for stream in ("food", "recyclable", "residual"):
        assert set(plan.visits.loc[plan.visits["stream"] == stream, "point_id"]) == ids


def test_plan_week__assignment_used_once(week, vanmieu_points) -> None:
    """The households at each point are those of the points plan (the same assignment)."""
    _, out, _ = week
    written = pd.read_csv(out / "points.csv").set_index("point_id")["households"]
    sized = vanmieu_points.proposed.set_index("point_id")["households"]
    assert (written.reindex(sized.index) - sized).abs().max() <= 0.11


def test_plan_week__bins_hold_the_waste_between_visits(week) -> None:
    """At every point and stream the bins hold the waste of the longest interval between visits."""
    plan, _, _ = week
    streams = load_streams()
    pts = plan.points.set_index("point_id")
    for (pid, stream), grp in plan.visits.groupby(["point_id", "stream"]):
        t = sorted(grp["service_day"] * 86_400 + grp["arrival_s"])
        longest_s = max(b - a for a, b in zip(t, [*t[1:], t[0] + 7 * 86_400], strict=True))
        kg = pts.loc[pid, f"{stream}_kg_day"] * longest_s / 86_400
        s = streams[stream]
        litres = (
            240 * pts.loc[pid, f"{stream}_bins_240l"] + 660 * pts.loc[pid, f"{stream}_bins_660l"]
        )
        assert kg <= litres / 1000 * s.bulk_density_kg_m3 * streams.fill_factor + 1e-6


def test_plan_week__real_weekday_and_date(week) -> None:
    """Each visit carries the weekday and date of its arrival, the next day after midnight."""
    plan, _, _ = week
    v = plan.visits
    real = v["service_day"] + v["arrival_s"] // 86_400
    assert list(v["date"]) == [(WEEK + timedelta(days=int(d))).isoformat() for d in real]
    assert list(v["weekday"]) == [WEEKDAYS_VI[int(d) % 7] for d in real]


def test_plan_week__totals_match_visits(week) -> None:
    """Per-stream collections and km equal the visits and the drawn street lines."""
    plan, _, _ = week
    for stream, tot in plan.totals.items():
        assert tot["collections_per_week"] == int((plan.visits["stream"] == stream).sum())
        km = plan.routes.loc[plan.routes["stream"] == stream, "km"].sum()
        assert tot["km_per_week"] == pytest.approx(km, abs=1e-3)
    assert plan.overall["km_per_week"] == pytest.approx(plan.routes["km"].sum(), abs=1e-3)


def test_write_week__ics_hold_the_plan_events(week) -> None:
    """Each group's .ics parses and holds one weekly event per visit of its points."""
    plan, out, _ = week
    table = pd.read_csv(out / "lich_thu_gom" / "lich_thu_gom.csv", encoding="utf-8-sig")
    per_group = plan.groups.groupby("group_id")["point_id"].apply(set)
    files = sorted((out / "lich_thu_gom" / "ics").glob("to_*.ics"))
    assert len(files) == len(per_group)
    n_events = n_visits = 0
    for path in files:
        gid = int(path.stem.removeprefix("to_"))
        cal = icalendar.Calendar.from_ical(path.read_bytes())
        events = list(cal.walk("VEVENT"))
        assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Asia/Ho_Chi_Minh"]
        assert "COMMENT" not in cal.walk("VTIMEZONE")[0]  # icalendar's English note is dropped
        visits = plan.visits[plan.visits["point_id"].isin(per_group[gid])]
        # an event repeats weekly on each weekday its point and stream are collected at the
        # same time: its first week's occurrences are the visits
        starts = []
        for ev in events:
            first = ev.decoded("dtstart")
            rule = rrulestr(ev["rrule"].to_ical().decode(), dtstart=first)
            week = rule.between(first, first + timedelta(days=7, seconds=-1), inc=True)
            assert week[0] == first  # the rule's first occurrence is the event's start
            starts += [w.replace(tzinfo=None) for w in week]
        assert len(starts) == len(visits)
        n_events, n_visits = n_events + len(events), n_visits + len(visits)
        name = plan.groups.loc[plan.groups["group_id"] == gid, "group"].iloc[0]
        assert len(starts) == int((table["Tổ dân phố"] == name).sum())
        # each occurrence opens the announced window: 15 min before the arrival (to 5 min, down)
        starts.sort()
        want = sorted(
            datetime.fromisoformat(WEEK.isoformat())
            + timedelta(days=int(d), seconds=t // 300 * 300 - 900)
            for d, t in zip(visits["service_day"], visits["arrival_s"], strict=True)
        )
        assert starts == want
        ends = [ev.decoded("dtend") - ev.decoded("dtstart") for ev in events]
        assert set(ends) == {timedelta(minutes=30)}
        assert all(str(ev["rrule"]["FREQ"][0]).upper() == "WEEKLY" for ev in events)
    assert n_events < n_visits  # the same time on several days is one event


def test_write_week__html_in_vietnamese(week) -> None:
    """The printable schedule is Vietnamese, labelled as the Hanoi sample, with no English text."""
    _, out, _ = week
    page = (out / "lich_thu_gom" / "lich_thu_gom.html").read_text(encoding="utf-8")
    assert '<html lang="vi">' in page
    assert "Lịch thu gom rác sinh hoạt" in page
    assert "Rác thực phẩm" in page and "Thứ Hai" in page
    assert SAMPLE_LABEL in page and "OpenStreetMap" in page
    visible = re.sub(r"<style>.*?</style>|<[^>]+>", " ", page, flags=re.DOTALL)
    visible = visible.replace(SAMPLE_LABEL, "").replace("OpenStreetMap contributors", "")
    for word in ("collection", "vehicle", "Monday", "waste", "truck", "schedule", "None"):
        assert word not in visible


def test_write_week__gpx_schema_order(week) -> None:
    """GPX files put metadata name, desc, copyright in the GPX 1.1 order, then wpt, then trk."""
    _, _, files = week
    gpx_files = [Path(v) for k, v in files.items() if k.startswith("gpx_")]
    assert gpx_files
    for path in gpx_files:
        root = ET.parse(path).getroot()
        assert root.tag == f"{GPX_NS}gpx" and root.get("version") == "1.1"
        tags = [c.tag.removeprefix(GPX_NS) for c in root]
        assert tags[0] == "metadata"
        assert tags == sorted(tags, key=["metadata", "wpt", "rte", "trk", "extensions"].index)
        meta = [c.tag.removeprefix(GPX_NS) for c in root[0]]
        assert meta == ["name", "desc", "copyright"]
        doc = gpxpy.parse(path.read_text(encoding="utf-8"))
        assert "OpenStreetMap" in doc.copyright_author
        assert SAMPLE_LABEL in doc.description


@pytest.fixture(scope="module")
def late_week(vanmieu_data, vanmieu_points, tmp_path_factory: pytest.TempPathFactory):
    """A week driven 23:00-07:00: most collections fall after midnight."""
    late = Fleet((VehicleType(count=4, shift_start_s=23 * 3600.0, shift_end_s=31 * 3600.0),))
    plan = plan_week(
        vanmieu_data,
        vanmieu_points.proposed,
        assignment=assignment_from_points_plan(vanmieu_data, vanmieu_points),
        fleet=late,
        week_start=WEEK,
        time_limit_s=5,
        max_iterations=150,
    )
    out = tmp_path_factory.mktemp("late_week")
    write_week(plan, out, label=SAMPLE_LABEL)
    return plan, out


def test_plan_week__after_midnight_is_the_next_day(late_week) -> None:
    """A collection at 00:40 after Sunday's shift is published as Monday with Monday's date."""
    plan, out = late_week
    v = plan.visits
    late = v[v["arrival_s"] >= 86_400]
    assert len(late) > len(v) / 2
    assert list(late["weekday"]) == [WEEKDAYS_VI[(d + 1) % 7] for d in late["service_day"]]
    sunday = late[late["service_day"] == 6]
    assert set(sunday["date"]) == {(WEEK + timedelta(days=7)).isoformat()}
    table = pd.read_csv(out / "lich_thu_gom" / "lich_thu_gom.csv", encoding="utf-8-sig")
    for pid, rows in table.groupby("Mã điểm"):
        groups_here = rows["Tổ dân phố"].nunique()
        want = Counter(v.loc[v["point_id"] == pid, "weekday"])
        assert Counter(rows["Ngày thu gom"]) == Counter(
            {k: n * groups_here for k, n in want.items()}
        )
    assert check_week(out) == []


def _plant(out: Path, tmp_path: Path, how: str) -> Path:
    bad = tmp_path / how
    shutil.copytree(out, bad)
    if how == "missing_visit":
        v = pd.read_csv(bad / "visits.csv")
        v.drop(index=v.index[v["stream"] == "recyclable"][0]).to_csv(
            bad / "visits.csv", index=False
        )
    elif how == "overflow":
        p = pd.read_csv(bad / "points.csv")
        big = p["residual_kg_day"].idxmax()
        p.loc[big, ["residual_bins_240l", "residual_bins_660l"]] = [0, 1]
        p.to_csv(bad / "points.csv", index=False)
    elif how == "wrong_facility":
        t = pd.read_csv(bad / "trips.csv")
        t.loc[0, "unload_lon"] += 0.01
        t.to_csv(bad / "trips.csv", index=False)
    elif how == "off_rule":
        ics = max((bad / "lich_thu_gom" / "ics").glob("*.ics"), key=lambda p: p.stat().st_size)
        text = ics.read_text(encoding="utf-8")
        rule = re.search(r"RRULE:FREQ=WEEKLY;BYDAY=[A-Z,]+", text)
        assert rule is not None, "no event repeats on several days"
        start = re.findall(r"DTSTART;TZID=[^:]+:(\d{8})T", text[: rule.start()])[-1]
        weekday = date(int(start[:4]), int(start[4:6]), int(start[6:])).weekday()
        off = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[(weekday + 1) % 7]  # not its start day
        ics.write_text(
            text.replace(rule.group(0), f"RRULE:FREQ=WEEKLY;BYDAY={off}", 1), encoding="utf-8"
        )
    elif how == "km_mismatch":
        t = pd.read_csv(bad / "trips.csv")
        t.loc[0, "km"] *= 1.01
        t.to_csv(bad / "trips.csv", index=False)
    return bad


@pytest.mark.parametrize(
    ("how", "expect"),
    [
        ("missing_visit", "visits a week"),
        ("overflow", "accumulate in the longest interval"),
        ("wrong_facility", "m from the"),
        ("km_mismatch", "the street lines measure"),
        ("off_rule", "starts on a day its rule does not repeat on"),
    ],
)
def test_check_week__catches_planted_violation(week, tmp_path: Path, how: str, expect: str) -> None:
    """A planted fault in the written files is reported by the checker."""
    _, out, _ = week
    issues = check_week(_plant(out, tmp_path, how))
    assert any(expect in i for i in issues), issues


def test_write_week__again_over_an_older_run(week, tmp_path: Path) -> None:
    """Written again into a folder holding another run's files (a truck-day and a group this
    plan does not have), the folder holds this plan's GPX and calendars only, and the checker
    finds nothing; other files there are left alone."""
    plan, out, files = week
    again = tmp_path / "again"
    shutil.copytree(out, again)
    (again / "gpx" / "XE-99_6.gpx").write_bytes(next((out / "gpx").glob("*.gpx")).read_bytes())
    ics = next((out / "lich_thu_gom" / "ics").glob("*.ics"))
    (again / "lich_thu_gom" / "ics" / "to_no_such_group.ics").write_bytes(ics.read_bytes())
    (again / "gpx" / "notes.txt").write_text("a driver's note", encoding="utf-8")
    assert any("calendar events" in i for i in check_week(again))  # the copy counts twice
    written = write_week(plan, again, label=SAMPLE_LABEL)

    def names(folder: Path, pattern: str) -> set[str]:
        return {p.name for p in folder.glob(pattern)}

    assert names(again / "gpx", "*.gpx") == names(out / "gpx", "*.gpx")
    assert names(again / "lich_thu_gom" / "ics", "*.ics") == names(
        out / "lich_thu_gom" / "ics", "*.ics"
    )
    assert (again / "gpx" / "notes.txt").read_text(encoding="utf-8") == "a driver's note"
    assert set(written) == set(files)
    assert check_week(again) == []


def test_plan_week__point_larger_than_a_truck(vanmieu_data, vanmieu_points) -> None:
    """A point whose waste per collection exceeds every truck is refused, naming the point."""
    small = Fleet((VehicleType(count=2, capacity_kg=50.0),))
    with pytest.raises(InfeasibleError, match=r"point DTK-\d+: \d+ kg of \w+ waste"):
        plan_week(vanmieu_data, vanmieu_points.proposed, fleet=small, week_start=WEEK)


def test_plan_week__week_start_not_monday(vanmieu_data, vanmieu_points) -> None:
    """A week that does not start on a Monday is refused in one line."""
    with pytest.raises(ValidationError, match="must be a Monday"):
        plan_week(vanmieu_data, vanmieu_points.proposed, week_start=WEEK + timedelta(days=1))
