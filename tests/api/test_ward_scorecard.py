"""A ward's scorecard from its stored reports and dump sites (and a plan's planned values)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pytest
from shapely.geometry import Point

from gomrac.analysis.scorecard import NO_WEEKLY_BASELINE
from gomrac.api.planning import WardPlan
from gomrac.api.scorecard import (
    collected_households,
    plan_indicators,
    stored_reports,
    ward_scorecard,
)
from gomrac.geo import store
from gomrac.geo.db import session_scope

LE_CHAN_WARD = "11383"  # Phường Lê Chân (official 2025 code)
OTHER_WARD = "11948"  # Đặc khu Bạch Long Vĩ
LE_CHAN = Point(106.6854, 20.8378)


def _store_registers(engine: Any) -> None:
    """Three Lê Chân reports (two closed: one on time, one late), one elsewhere, two dumps."""
    reports = gpd.GeoDataFrame(
        {
            "service_code": ["household_waste"] * 3,
            "requested_datetime": ["2026-01-01T00:00:00+00:00"] * 3,
            "expected_datetime": [
                "2099-01-01T00:00:00+00:00",
                "2026-01-02T00:00:00+00:00",
                "2099-01-01T00:00:00+00:00",
            ],
        },
        geometry=[LE_CHAN] * 3,
        crs=4326,
    )
    dumps = gpd.GeoDataFrame(
        {"name": ["Bãi A", "Bãi B"], "status": ["active", "closed"]},
        geometry=[LE_CHAN, LE_CHAN],
        crs=4326,
    )
    with session_scope(engine) as session:
        store.replace_layer(
            session, kind="reports", ward_code=LE_CHAN_WARD, gdf=reports, source="test"
        )
        store.replace_layer(
            session, kind="reports", ward_code=OTHER_WARD, gdf=reports.iloc[:1], source="test"
        )
        store.replace_layer(
            session, kind="dump_sites", ward_code=LE_CHAN_WARD, gdf=dumps, source="test"
        )
    with session_scope(engine) as session:
        ids = list(store.load_layer(session, kind="reports", ward_code=LE_CHAN_WARD).index)
        store.set_report_status(session, int(ids[0]), workflow_status="cleaned", actor="lan")
        store.set_report_status(session, int(ids[1]), workflow_status="cleaned", actor="lan")


def test_stored_reports__closing_time_from_the_audit_trail(engine: Any) -> None:
    """The two closed reports get their closing time from the audit trail, the open one none."""
    _store_registers(engine)
    with session_scope(engine) as session:
        table = stored_reports(session, LE_CHAN_WARD)
    assert len(table) == 3
    assert table["closed_datetime"].notna().tolist() == [True, True, False]
    assert (table["closed_datetime"].dropna() > table["requested_datetime"].iloc[0]).all()


def test_ward_scorecard__measured_from_the_registers(engine: Any) -> None:
    """2 of 3 reports resolved, 1 of 3 on time, 1 of 2 dumps closed; no plan, no made-up value."""
    _store_registers(engine)
    card = {i.target.key: i for i in ward_scorecard(None, engine=engine, ward_code=LE_CHAN_WARD)}
    assert list(card)[:3] == ["groups_with_points", "households_within_walk", "reports_resolved"]
    assert (card["reports_resolved"].value, card["reports_resolved"].denominator) == (66.7, 3)
    assert card["reports_on_time"].value == 33.3
    assert (card["reports_on_time"].detail or "").startswith("median ")
    assert card["dumps_closed"].value == 50.0
    for key in ("groups_with_points", "collection_cut", "share_sorted"):
        assert card[key].value is None
        assert card[key].reason
    other = {i.target.key: i for i in ward_scorecard(None, engine=engine, ward_code=OTHER_WARD)}
    assert other["reports_resolved"].value == 0.0
    assert other["dumps_closed"].value is None


def test_plan_indicators__read_from_the_plan(vanmieu_plan: WardPlan) -> None:
    """Planned values equal the plan's own figures, and each carries the sample caveat."""
    card = {i.target.key: i for i in plan_indicators(vanmieu_plan)}
    walk = card["households_within_walk"]
    assert walk.value == round(vanmieu_plan.points.summary["covered_after_pct"], 1)
    table = vanmieu_plan.points.groups_table
    assert card["groups_with_points"].denominator == len(table)
    assert card["groups_with_points"].numerator == int((table["covered_after"] >= 0.995).sum())
    assert card["hotspots_watched"].value is None  # synthetic reports: no value
    assert all("MẪU HÀ NỘI" in (i.reason or "") for i in card.values())


def test_plan_indicators__collection_per_week_has_no_baseline(vanmieu_plan: WardPlan) -> None:
    """The week's km and CO₂ are given, but the cut has no value: there is no weekly baseline."""
    cut = {i.target.key: i for i in plan_indicators(vanmieu_plan)}["collection_cut"]
    overall = vanmieu_plan.week.overall
    assert cut.value is None
    assert cut.met is None
    assert (cut.reason or "").startswith(NO_WEEKLY_BASELINE)
    assert cut.numerator == round(overall["km_per_week"], 2)
    assert cut.denominator is None
    assert cut.detail == (
        f"planned {overall['km_per_week']:.1f} km and {overall['co2_kg_per_week']:.1f} kg CO₂ "
        "per week"
    )
    # the week's km are its street lines': the routes layer's figure, summed
    assert overall["km_per_week"] == pytest.approx(vanmieu_plan.week.routes["km"].sum(), abs=1e-3)


def test_plan_indicators__households_collected_every_stream(vanmieu_plan: WardPlan) -> None:
    """Households count as collected when their point is visited for all three streams; the
    ward's households with no planned point do not."""
    week = vanmieu_plan.week
    card = {i.target.key: i for i in plan_indicators(vanmieu_plan)}
    streams_at = week.visits.groupby("point_id")["stream"].agg(set)
    full = {p for p, s in streams_at.items() if s == {"food", "recyclable", "residual"}}
    expected = week.points.loc[week.points["point_id"].isin(full), "households"].sum()
    total = vanmieu_plan.data.require_demand()["households"].sum()
    ind = card["households_collected"]
    assert ind.numerator == round(expected)
    assert ind.denominator == round(total)
    assert ind.value == round(100 * expected / total, 1)
    households, served = collected_households(vanmieu_plan)
    assert households.sum() == pytest.approx(total)
    assert not served[-1]
    # households outside walking distance have no point, so fewer are collected than exist
    assert ind.value < 100.0
