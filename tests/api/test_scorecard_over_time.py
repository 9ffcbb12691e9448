"""A ward's scorecard over time and per residential group from the stored registers and plans,
on SpatiaLite and PostGIS."""

from __future__ import annotations

import datetime as dt
from typing import Any

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point, box
from sqlalchemy import update

from gomrac.analysis import scorecard as sc
from gomrac.api.scorecard import group_rows, scorecard_over_time, stored_records
from gomrac.api.web.pages import GROUP_TREND_POINTS, scorecard_context
from gomrac.geo import store
from gomrac.geo.db import session_scope
from gomrac.geo.models import DumpSiteUpdate, Plan, ReportUpdate

LE_CHAN_WARD = "11383"  # Phường Lê Chân (official 2025 code)
WEST = box(106.6840, 20.8370, 106.6860, 20.8390)  # holds the first two reports and the dump
EAST = box(106.6860, 20.8370, 106.6880, 20.8390)
TODAY = pd.Timestamp("2026-05-15T00:00Z")
FEB_END = pd.Timestamp("2026-02-28T17:00Z")  # midnight of 1 March in Hai Phong
MARCH_END = pd.Timestamp("2026-03-31T17:00Z")
APRIL_END = pd.Timestamp("2026-04-30T17:00Z")


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def _store_history(engine: Any) -> None:
    """Three reports (made 10 Jan, 1 Feb, 10 Apr; cleaned 15 Mar and 3 Feb), a dump site closed
    on 10 Apr, two residential groups, and points plans of 10 Feb (80%) and 5 Apr (95%)."""
    reports = gpd.GeoDataFrame(
        {
            "service_code": ["household_waste"] * 3,
            "requested_datetime": [
                "2026-01-10T00:00:00+00:00",
                "2026-02-01T00:00:00+00:00",
                "2026-04-10T00:00:00+00:00",
            ],
        },
        geometry=[Point(106.6845, 20.8375), Point(106.6850, 20.8380), Point(106.6870, 20.8380)],
        crs=4326,
    )
    dumps = gpd.GeoDataFrame(
        {"name": ["Bãi A"], "status": ["active"], "first_seen": ["2026-01-05"]},
        geometry=[Point(106.6855, 20.8385)],
        crs=4326,
    )
    groups = gpd.GeoDataFrame(
        {"name": ["Tổ 1", "Tổ 2"], "households": [120, 80]}, geometry=[WEST, EAST], crs=4326
    )
    with session_scope(engine) as session:
        store.replace_layer(
            session, kind="reports", ward_code=LE_CHAN_WARD, gdf=reports, source="test"
        )
        store.replace_layer(
            session, kind="dump_sites", ward_code=LE_CHAN_WARD, gdf=dumps, source="test"
        )
        store.replace_layer(
            session, kind="residential_groups", ward_code=LE_CHAN_WARD, gdf=groups, source="test"
        )
    with session_scope(engine) as session:
        ids = [
            int(i) for i in store.load_layer(session, kind="reports", ward_code=LE_CHAN_WARD).index
        ]
        site = int(store.load_layer(session, kind="dump_sites", ward_code=LE_CHAN_WARD).index[0])
        for report_id, made in zip(ids, reports["requested_datetime"], strict=True):
            session.execute(
                update(ReportUpdate)
                .where(ReportUpdate.report_id == report_id)
                .values(at=dt.datetime.fromisoformat(made))
            )
        for report_id, when in ((ids[0], "2026-03-15T00:00"), (ids[1], "2026-02-03T00:00")):
            store.set_report_status(session, report_id, workflow_status="cleaned", actor="lan")
            session.execute(
                update(ReportUpdate)
                .where(ReportUpdate.report_id == report_id, ReportUpdate.new == "cleaned")
                .values(at=_utc(when))
            )
        session.execute(
            update(DumpSiteUpdate)
            .where(DumpSiteUpdate.dump_site_id == site)
            .values(at=_utc("2026-01-05T00:00"))
        )
        store.set_dump_site_status(session, site, status="closed", actor="lan")
        session.execute(
            update(DumpSiteUpdate)
            .where(DumpSiteUpdate.dump_site_id == site, DumpSiteUpdate.new == "closed")
            .values(at=_utc("2026-04-10T03:00"))
        )
        for pct, when in ((80.0, "2026-02-10T00:00"), (95.0, "2026-04-05T00:00")):
            plan = store.save_plan(
                session,
                ward_code=LE_CHAN_WARD,
                kind="points",
                params={},
                summary={"covered_after_pct": pct, "households": 200},
            )
            plan.created_at = _utc(when)
            if hasattr(plan, "status"):
                plan.status = "done"
        # a later, unfinished plan (when plans carry a status) or another ward's: never read
        store.save_plan(
            session,
            ward_code="11948",
            kind="points",
            params={},
            summary={"covered_after_pct": 10.0, "households": 5},
        )


def _by_date(series: list[sc.Snapshot]) -> dict[pd.Timestamp, sc.Snapshot]:
    return {s.at: s for s in series}


def test_scorecard_over_time__values_at_two_month_ends(engine: Any) -> None:
    """At February's end 1 of 2 reports is resolved, the dump open, the February plan's 80%; at
    April's end 2 of 3 are resolved (median of 48 h and 1536 h), the dump closed, the April
    plan's 95%."""
    _store_history(engine)
    series = scorecard_over_time(engine, LE_CHAN_WARD, today=TODAY)
    dates = [s.at for s in series]
    assert dates[0] == pd.Timestamp("2026-01-31T17:00Z")  # first record: the dump, 5 January
    assert dates[-1] == TODAY
    by_date = _by_date(series)
    feb, april = by_date[FEB_END], by_date[APRIL_END]
    assert (feb.indicator("reports_resolved").numerator, feb.value("reports_resolved")) == (1, 50.0)
    assert feb.median_hours == 48.0
    assert feb.value("dumps_closed") == 0.0
    assert feb.value("households_within_walk") == 80.0
    resolved = april.indicator("reports_resolved")
    assert (resolved.numerator, resolved.denominator, resolved.value) == (2, 3, 66.7)
    assert april.median_hours == (48.0 + 64 * 24) / 2
    assert april.value("dumps_closed") == 100.0
    assert april.value("households_within_walk") == 95.0
    assert by_date[MARCH_END].value("households_within_walk") == 80.0
    quarters = scorecard_over_time(engine, LE_CHAN_WARD, freq="quarter", today=TODAY)
    assert [s.at for s in quarters] == [MARCH_END, TODAY]
    assert quarters[0].value("reports_resolved") == 100.0 * 2 / 2


def test_scorecard_over_time__a_ward_with_nothing_stored(engine: Any) -> None:
    """A ward with no report, dump or plan has no series."""
    assert scorecard_over_time(engine, "11950", today=TODAY) == []


def test_group_rows__reports_and_dumps_inside_each_stored_group(engine: Any) -> None:
    """With no plan, the stored groups get the register's counts at the date; planned figures
    are None with the reason."""
    _store_history(engine)
    with session_scope(engine) as session:
        records = stored_records(session, LE_CHAN_WARD)
        groups = store.load_layer(session, kind="residential_groups", ward_code=LE_CHAN_WARD)
    rows = {r.name: r for r in group_rows(None, records, groups=groups, at=APRIL_END)}
    west, east = rows["Tổ 1"], rows["Tổ 2"]
    assert (west.reports, west.reports_resolved, west.dumps, west.dumps_closed) == (2, 2, 1, 1)
    assert (east.reports, east.reports_resolved, east.dumps) == (1, 0, 0)
    assert west.median_hours == (48.0 + 64 * 24) / 2
    assert west.households == 120
    assert west.covered_pct is None and west.points_serving is None
    assert "no plan for this ward yet" in west.reasons
    march = {r.name: r for r in group_rows(None, records, groups=groups, at=MARCH_END)}
    assert (march["Tổ 1"].dumps_closed, march["Tổ 2"].reports) == (0, 0)


def test_scorecard_page__each_group_over_time(engine: Any) -> None:
    """The group table's trend column gives each group's counts at the series' last points,
    the same as the group rows at those dates."""
    _store_history(engine)
    ctx = scorecard_context(
        title="Lê Chân", key=LE_CHAN_WARD, plan=None, engine=engine, lang="vi", today=TODAY
    )
    west = next(g for g in ctx["groups"] if g["name"] == "Tổ 1")
    trend = {t["label"]: t for t in west["trend"]}
    assert 1 <= len(trend) <= GROUP_TREND_POINTS
    assert trend["03/2026"]["dumps"] == "0 / 1"  # closed in April
    assert (trend["04/2026"]["reports"], trend["04/2026"]["dumps"]) == ("2 / 2", "1 / 1")


def test_stored_plans__unfinished_plans_are_absent(engine: Any) -> None:
    """Only the ward's own plans are read; when plans carry a status, only finished ones."""
    _store_history(engine)
    with session_scope(engine) as session:
        if "status" in Plan.__table__.c:
            store.save_plan(
                session,
                ward_code=LE_CHAN_WARD,
                kind="points",
                params={},
                summary={"covered_after_pct": 1.0, "households": 200},
            ).status = "running"
        records = stored_records(session, LE_CHAN_WARD)
    assert sorted(records.plans["summary"].map(lambda s: s["covered_after_pct"])) == [80.0, 95.0]
