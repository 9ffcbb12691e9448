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
