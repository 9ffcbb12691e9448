"""The 2030 scorecard's arithmetic on hand-made inputs whose answers are obvious."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from gomrac.analysis import scorecard as sc


def _reports(rows: list[tuple[str, str, str | None, str | None]]) -> pd.DataFrame:
    """Reports from (workflow_status, requested, closed, expected) ISO times."""
    return pd.DataFrame(
        rows,
        columns=["workflow_status", "requested_datetime", "closed_datetime", "expected_datetime"],
    )


def test_targets__the_appendix_order_and_values() -> None:
    """The nine targets read 100/100/100/100/100/100/30/>50/100 in the appendix's order."""
    texts = [t.target_text for t in sc.INDICATORS.values()]
    assert texts == ["100%", "100%", "100%", "100%", "100%", "100%", "−30%", ">50%", "100%"]
    assert all(t.lead_unit_vi for t in sc.INDICATORS.values())


def test_groups_with_points__one_group_short() -> None:
    """Two of three groups fully within walking distance give 66.7%, not met."""
    ind = sc.groups_with_points(pd.Series([1.0, 0.999, 0.8]))
    assert ind.value == 66.7
    assert (ind.numerator, ind.denominator) == (2, 3)
    assert ind.met is False
    assert ind.basis == "planned"


def test_groups_with_points__no_groups() -> None:
    """No groups gives no value and says why."""
    ind = sc.groups_with_points(pd.Series([], dtype=float))
    assert ind.value is None
    assert ind.met is None
    assert ind.reason == "no residential groups for this ward"


def test_households_within_walk__weighted_by_households() -> None:
    """10 of 40 households covered is 25%, whatever the number of units."""
    ind = sc.households_within_walk(np.array([10.0, 30.0]), np.array([True, False]))
    assert ind.value == 25.0
    assert (ind.numerator, ind.denominator) == (10, 40)


def test_reports_resolved__duplicates_left_out_and_median_time() -> None:
    """Two of three non-duplicate reports are closed; the median of 10 h and 30 h is 20 h."""
    reports = _reports(
        [
            ("cleaned", "2026-01-01T00:00Z", "2026-01-01T10:00Z", "2026-01-03T00:00Z"),
            ("rejected", "2026-01-01T00:00Z", "2026-01-02T06:00Z", "2026-01-02T00:00Z"),
            ("received", "2026-01-01T00:00Z", None, "2026-01-03T00:00Z"),
            ("duplicate", "2026-01-01T00:00Z", "2026-01-01T01:00Z", None),
        ]
    )
    resolved, on_time = sc.reports_resolved(reports)
    assert resolved.value == 66.7
    assert (resolved.numerator, resolved.denominator) == (2, 3)
    # only the first was closed before its due time (the second was 6 h late)
    assert on_time.value == 33.3
    assert on_time.detail == "median 20.0 h to resolve"


def test_reports_resolved__none_stored() -> None:
    """No stored reports gives no value for either indicator."""
    resolved, on_time = sc.reports_resolved(_reports([]))
    assert resolved.value is None
    assert on_time.value is None
    assert resolved.reason == "no reports stored for this ward"


def test_reports_resolved__no_due_times() -> None:
    """Without due times the on-time share is unknown, the median is still given."""
    reports = _reports([("cleaned", "2026-01-01T00:00Z", "2026-01-01T05:00Z", None)])
    resolved, on_time = sc.reports_resolved(reports)
    assert resolved.value == 100.0
    assert resolved.met is True
    assert on_time.value is None
    assert on_time.detail == "median 5.0 h to resolve"


def test_dumps_closed__closed_and_restored_count() -> None:
    """Closed and restored sites count as closed: 2 of 4 is 50%."""
    ind = sc.dumps_closed(pd.Series(["active", "being_cleaned", "closed", "restored"]))
    assert ind.value == 50.0
    assert sc.dumps_closed(pd.Series([], dtype=object)).value is None


def test_hotspots_watched__synthetic_hotspots_give_no_value() -> None:
    """Hotspots from synthetic reports give no value, the plan's figure only in the reason."""
    ind = sc.hotspots_watched(7, 11, synthetic=True)
    assert ind.value is None
    assert "7 of 11" in (ind.reason or "")
    assert sc.hotspots_watched(7, 10, synthetic=False).value == 70.0


def test_collection_cut__against_the_baseline() -> None:
    """70 km a week against 100 km is a 30% cut, which meets the target; CO₂ goes in the detail."""
    ind = sc.collection_cut(70.0, 100.0, co2_kg_per_week=18.0, baseline_co2_kg_per_week=24.0)
    assert ind.value == 30.0
    assert ind.met is True
    assert ind.detail == "CO₂ 18.0 kg/week against 24.0 kg/week (−25.0%)"
    assert (ind.numerator, ind.denominator) == (70.0, 100.0)
    assert sc.collection_cut(80.0, 100.0).met is False


def test_collection_cut__no_weekly_baseline() -> None:
    """Without a baseline there is no value, the reason says so, the plan's figures remain."""
    ind = sc.collection_cut(251.389, None, co2_kg_per_week=269.5)
    assert ind.value is None
    assert ind.met is None
    assert ind.reason == sc.NO_WEEKLY_BASELINE
    assert ind.basis == "planned"
    assert ind.numerator == 251.39
    assert ind.detail == "planned 251.4 km and 269.5 kg CO₂ per week"
    for baseline in (0.0, float("nan"), float("inf")):
        assert sc.collection_cut(70.0, baseline).value is None


def test_share_sorted__more_than_half() -> None:
    """Exactly 50% sorted does not meet a target of more than 50%."""
    assert sc.share_sorted(50.0, 100.0).met is False
    assert sc.share_sorted(51.0, 100.0).met is True
    assert sc.share_sorted(None, None).value is None


def test_households_collected__units_with_no_point() -> None:
    """Households whose point no route visits are not collected: 30 of 60."""
    ind = sc.households_collected(np.array([10.0, 20.0, 30.0]), np.array([True, True, False]))
    assert ind.value == 50.0


def test_scorecard__fills_missing_and_refuses_twice() -> None:
    """The scorecard lists nine indicators in order and refuses one given twice."""
    one = sc.share_sorted(60.0, 100.0)
    card = sc.scorecard([one])
    assert [i.target.key for i in card] == list(sc.INDICATORS)
    assert sum(i.value is not None for i in card) == 1
    assert card[0].reason == "not computed"
    with pytest.raises(ValueError, match="twice"):
        sc.scorecard([one, one])


def test_with_caveat__appends() -> None:
    """A caveat is added after an existing reason."""
    ind = sc.with_caveat(sc.collection_cut(70.0, 100.0, caveat="baseline X"), "sample")
    assert ind.reason == "baseline X; sample"


# --- over time -------------------------------------------------------------------------------

MARCH_END = pd.Timestamp("2026-03-31T17:00Z")  # midnight of 1 April in Hai Phong
FEB_END = pd.Timestamp("2026-02-28T17:00Z")
APRIL_END = pd.Timestamp("2026-04-30T17:00Z")


def _timeline() -> dict[str, pd.DataFrame]:
    """Report 1 made 10 Jan, cleaned 15 Mar; report 2 made 1 Feb, cleaned 3 Feb (48 h); report 3
    made 20 Feb, rejected 25 Feb then reopened 1 Mar; report 4 made 10 Apr. One dump site seen in
    January, closed 10 Apr. A points plan on 10 Feb (80%) and another on 5 Apr (95%)."""
    reports = pd.DataFrame(
        {
            "requested_datetime": pd.to_datetime(
                ["2026-01-10T00:00Z", "2026-02-01T00:00Z", "2026-02-20T00:00Z", "2026-04-10T00:00Z"]
            ),
            "expected_datetime": pd.to_datetime(
                ["2026-01-12T00:00Z", "2026-02-04T00:00Z", None, None], utc=True
            ),
        },
        index=[1, 2, 3, 4],
    )
    events = pd.DataFrame(
        [
            (1, "2026-01-10T00:00Z", "received"),
            (2, "2026-02-01T00:00Z", "received"),
            (2, "2026-02-03T00:00Z", "cleaned"),
            (3, "2026-02-20T00:00Z", "received"),
            (3, "2026-02-25T00:00Z", "rejected"),
            (3, "2026-03-01T00:00Z", "received"),
            (1, "2026-03-15T00:00Z", "cleaned"),
        ],
        columns=["report_id", "at", "status"],
    )
    sites = pd.DataFrame({"recorded": pd.to_datetime(["2026-01-05T00:00Z"])}, index=[7])
    dump_events = pd.DataFrame(
        [(7, "2026-01-05T00:00Z", "active"), (7, "2026-04-10T03:00Z", "closed")],
        columns=["dump_site_id", "at", "status"],
    )
    plans = pd.DataFrame(
        {
            "id": [1, 2],
            "kind": ["points", "points"],
            "created_at": pd.to_datetime(["2026-02-10T00:00Z", "2026-04-05T00:00Z"]),
            "summary": [
                {"covered_after_pct": 80.0, "households": 1000},
                {
                    "covered_after_pct": 95.0,
                    "households": 1000,
                    "groups": [{"covered_after": 1.0}, {"covered_after": 0.9}],
                },
            ],
        }
    )
    return {
        "reports": reports,
        "report_events": events,
        "dump_sites": sites,
        "dump_events": dump_events,
        "plans": plans,
    }


def test_scorecard_as_of__a_report_resolved_in_march_counts_from_march_end() -> None:
    """At February's end 1 of 3 reports is resolved (report 3 was rejected, later reopened),
    median 48 h; at March's end report 1 (closed 15 Mar) counts and report 3 is open again:
    2 of 3, median of 48 h and 1536 h."""
    t = _timeline()
    feb = sc.scorecard_as_of(FEB_END, **t)
    assert (feb.indicator("reports_resolved").numerator, feb.value("reports_resolved")) == (2, 66.7)
    assert feb.median_hours == pytest.approx((48 + 120) / 2)
    march = sc.scorecard_as_of(MARCH_END, **t)
    resolved = march.indicator("reports_resolved")
    assert (resolved.numerator, resolved.denominator) == (2, 3)
    assert march.median_hours == pytest.approx((48 + 64 * 24) / 2)
    assert march.indicator("reports_on_time").detail == "median 792.0 h to resolve"
    # on time: report 2 closed before its due time, report 1 two months late
    assert march.value("reports_on_time") == 50.0
    april = sc.scorecard_as_of(APRIL_END, **t)
    assert april.indicator("reports_resolved").denominator == 4  # report 4 made in April


def test_scorecard_as_of__before_anything() -> None:
    """Before the first report, dump and plan nothing has a value and each says why."""
    early = sc.scorecard_as_of(pd.Timestamp("2026-01-01T00:00Z"), **_timeline())
    assert all(i.value is None for i in early.indicators)
    assert early.indicator("reports_resolved").reason == "no report made by this date"
    assert early.indicator("dumps_closed").reason == "no dump site recorded by this date"
    assert early.indicator("households_within_walk").reason == sc.NO_PLAN_BY_DATE
    assert early.median_hours is None


def test_scorecard_as_of__dump_closed_at_its_closing_update_and_newest_plan() -> None:
    """The dump closed on 10 April is open at March's end and closed at April's; planned values
    come from the newest plan created by each date."""
    t = _timeline()
    march, april = (sc.scorecard_as_of(at, **t) for at in (MARCH_END, APRIL_END))
    assert (march.value("dumps_closed"), april.value("dumps_closed")) == (0.0, 100.0)
    assert march.value("households_within_walk") == 80.0
    assert march.indicator("households_within_walk").numerator == 800
    assert march.value("groups_with_points") is None  # the February plan has no group table
    assert april.value("households_within_walk") == 95.0
    assert april.value("groups_with_points") == 50.0
    assert april.indicator("hotspots_watched").reason == sc.NO_PLAN_BY_DATE


def test_scorecard_series__month_ends() -> None:
    """The series at the ends of January to April, then mid-May, from the first record."""
    t = _timeline()
    ends = sc.period_ends(pd.Timestamp("2026-01-05T00:00Z"), pd.Timestamp("2026-05-15T00:00Z"))
    series = sc.scorecard_series(ends, **t)
    assert [s.at for s in series][1:4] == [FEB_END, MARCH_END, APRIL_END]
    assert series[-1].at == pd.Timestamp("2026-05-15T00:00Z")
    values = [s.value("reports_resolved") for s in series]
    assert values == [0.0, 66.7, 66.7, 50.0, 50.0]


def test_period_ends__quarters_and_errors() -> None:
    """Quarters end at midnight of 1 April, 1 July... in Hai Phong; bad input says what is wrong."""
    ends = sc.period_ends(
        pd.Timestamp("2026-02-05T00:00Z"), pd.Timestamp("2026-12-06T00:00Z"), freq="quarter"
    )
    assert [e.isoformat() for e in ends] == [
        "2026-03-31T17:00:00+00:00",
        "2026-06-30T17:00:00+00:00",
        "2026-09-30T17:00:00+00:00",
        "2026-12-06T00:00:00+00:00",
    ]
    with pytest.raises(ValueError, match="after the last date"):
        sc.period_ends(pd.Timestamp("2026-05-01T00:00Z"), pd.Timestamp("2026-01-01T00:00Z"))
    with pytest.raises(ValueError, match="freq"):
        sc.period_ends(FEB_END, MARCH_END, freq="week")  # type: ignore[arg-type]


def test_indicators_from_plans__cameras_and_routes() -> None:
    """Hotspots from a cameras plan (none when synthetic), the cut against today's routes."""
    cams = {"hotspots_covered": "3/4", "reports_source": "file:reports.geojson"}
    routes = {"total_km": 42.0, "user_baseline_km": 60.0}
    card = {i.target.key: i for i in sc.indicators_from_plans({"cameras": cams, "routes": routes})}
    assert card["hotspots_watched"].value == 75.0
    assert card["collection_cut"].value == 30.0
    assert card["collection_cut"].detail == "42.0 km per day against 60.0 km of today's routes"
    assert card["households_collected"].value is None
    synthetic = sc.indicators_from_plans({"cameras": cams | {"reports_source": "synthetic"}})
    assert {i.target.key: i for i in synthetic}["hotspots_watched"].value is None


def test_group_scorecard__reports_and_dumps_inside_each_polygon() -> None:
    """Two square groups and one known only by a point: reports and dumps are counted in the
    square holding them; the point group has no counts and says why."""
    import geopandas as gpd
    from shapely.geometry import Point, box

    groups = gpd.GeoDataFrame(
        {"group_id": [1, 2, 3], "name": ["Tổ 1", "Tổ 2", "Tổ 3"]},
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100), Point(300, 50)],
        crs=32648,
    )
    t = _timeline()
    made = sc.reports_as_of(t["reports"], t["report_events"], MARCH_END)
    reports = gpd.GeoDataFrame(
        made, geometry=[Point(10, 10), Point(20, 20), Point(150, 50)], crs=32648
    )
    dumps = gpd.GeoDataFrame(
        {"status": ["closed", "active"]}, geometry=[Point(120, 20), Point(500, 500)], crs=32648
    )
    coverage = pd.DataFrame(
        {"households": [100.0, 50.0], "covered_after": [1.0, 0.6]}, index=[1, 2]
    )
    point_households = pd.DataFrame(
        {"group_id": [1, 1, 2], "point_id": ["a", "b", "b"], "households": [60.0, 40.0, 30.0]}
    )
    rows = sc.group_scorecard(
        groups,
        coverage=coverage,
        point_households=point_households,
        collected_points={"a"},
        kg_per_day=pd.Series([330.0, 100.0], index=[1, 2]),
        capacity_kg_per_point=160.0,
        reports=reports,
        dumps=dumps,
    )
    one, two, three = rows
    assert (one.reports, one.reports_resolved, one.median_hours) == (2, 2, 792.0)
    assert (two.reports, two.reports_resolved) == (1, 0)
    assert (one.dumps, one.dumps_closed, two.dumps, two.dumps_closed) == (0, 0, 1, 1)
    assert (one.points_serving, one.points_needed, two.points_serving, two.points_needed) == (
        2,
        3,
        1,
        1,
    )
    assert (one.covered_pct, one.enough, two.covered_pct, two.enough) == (100.0, True, 60.0, False)
    assert (one.collected_pct, two.collected_pct) == (60.0, 0.0)
    assert three.reports is None and three.dumps is None
    assert three.reasons == (sc.GROUP_HAS_NO_AREA,)
    assert three.covered_pct is None  # not in the plan's coverage: no made-up value


def test_planned_as_of__a_ward_plan_run_and_a_later_points_plan() -> None:
    """A ward plan run gives its stored planned indicators; a later points plan replaces only
    the two it gives; a measured-looking key in the records is not read as planned."""
    ward_run = {
        "scorecard": [
            {
                "key": "groups_with_points",
                "value": 50.0,
                "reason": None,
                "basis": "planned",
                "numerator": 1,
                "denominator": 2,
                "detail": None,
            },
            {
                "key": "households_within_walk",
                "value": 70.0,
                "reason": None,
                "basis": "planned",
                "numerator": 700,
                "denominator": 1000,
                "detail": None,
            },
            {
                "key": "hotspots_watched",
                "value": None,
                "reason": "no dumping hotspot found",
                "basis": "planned",
                "numerator": None,
                "denominator": None,
                "detail": None,
            },
            {
                "key": "collection_cut",
                "value": None,
                "reason": sc.NO_WEEKLY_BASELINE,
                "basis": "planned",
                "numerator": 251.39,
                "denominator": None,
                "detail": "planned 251.4 km and 269.5 kg CO₂ per week",
            },
            {
                "key": "reports_resolved",
                "value": 99.0,
                "reason": None,
                "basis": "measured",
                "numerator": 1,
                "denominator": 1,
                "detail": None,
            },
        ]
    }
    plans = pd.DataFrame(
        {
            "id": [5, 6],
            "kind": ["ward", "points"],
            "created_at": pd.to_datetime(["2026-03-01T00:00Z", "2026-04-01T00:00Z"]),
            "summary": [ward_run, {"covered_after_pct": 90.0, "households": 1000}],
        }
    )
    march = {i.target.key: i for i in sc.planned_as_of(plans, MARCH_END - pd.Timedelta(days=1))}
    assert list(march) == list(sc.PLANNED_KEYS)
    assert (march["households_within_walk"].value, march["households_within_walk"].numerator) == (
        70.0,
        700,
    )
    assert march["collection_cut"].detail == "planned 251.4 km and 269.5 kg CO₂ per week"
    assert march["households_collected"].reason == sc.NO_PLAN_BY_DATE
    april = {i.target.key: i for i in sc.planned_as_of(plans, APRIL_END)}
    assert april["households_within_walk"].value == 90.0
    assert april["hotspots_watched"].reason == "no dumping hotspot found"  # still the ward run's
    # the newer points plan covers the groups too: its missing group table is not filled with
    # the older run's figure
    assert april["groups_with_points"].value is None
    assert march["groups_with_points"].value == 50.0
    assert april["groups_with_points"].reason == (
        "the stored points plan does not record coverage per residential group"
    )
