"""The 2030 scorecard: the indicators of the ward plan's appendix, each against its target.

The appendix of the Kẻ Sặt plan sets nine targets, in order 100/100/100/100/100/100/30/>50/100
per cent. We read them as the nine `INDICATORS` below (the order of the appendix; the reading
of the seventh as a cut in collection km and CO₂ against the baseline, of the eighth as the
share of waste sorted at source, and of the ninth as households served by a collection route
is ours, to be confirmed against the signed appendix). Each indicator names its lead unit.

Over time, `scorecard_as_of` evaluates the nine indicators at one moment from timestamped
records (reports and their workflow changes, dump sites and their status changes, stored plan
summaries) and `scorecard_series` at the ends of months or quarters (`period_ends`).
`group_scorecard` gives the indicators that have a meaning per residential group.

Every function is pure: it takes counts, arrays or frames and returns an `Indicator`. A value
that the data cannot give is ``None`` with the reason, never a guessed number; a value read
from a plan rather than measured says so in its `basis`.

Examples
--------
>>> ind = households_within_walk(np.array([10.0, 30.0]), np.array([True, False]))
>>> ind.value, ind.met
(25.0, False)
>>> share_sorted(None, None).reason
'no weighing of sorted waste is recorded for this ward'
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import geopandas as gpd
    import numpy.typing as npt

log = logging.getLogger(__name__)

Basis = Literal["measured", "planned"]
Comparison = Literal["at_least", "more_than", "cut_at_least"]


@dataclass(frozen=True)
class Target:
    """An indicator's definition: names, lead unit and the appendix target (per cent)."""

    key: str
    name_vi: str
    name_en: str
    lead_unit_vi: str
    lead_unit_en: str
    target_pct: float
    comparison: Comparison = "at_least"

    @property
    def target_text(self) -> str:
        """The target as the appendix writes it (``100%``, ``>50%``, ``−30%``)."""
        if self.comparison == "more_than":
            return f">{self.target_pct:g}%"
        if self.comparison == "cut_at_least":
            return f"−{self.target_pct:g}%"
        return f"{self.target_pct:g}%"


@dataclass(frozen=True)
class Indicator:
    """One line of the scorecard: definition, value, and why a value is missing."""

    target: Target
    value: float | None  # per cent (a cut for ``cut_at_least``); None when unknown
    reason: str | None = None  # why `value` is None, or a caveat on it
    basis: Basis = "measured"
    numerator: float | None = None
    denominator: float | None = None
    detail: str | None = None  # a second figure (median hours, CO₂ kg, ...)

    @property
    def met(self) -> bool | None:
        """Whether the value reaches the target (None when the value is unknown)."""
        if self.value is None:
            return None
        t = self.target
        if t.comparison == "more_than":
            return self.value > t.target_pct
        return self.value >= t.target_pct - 1e-9


_WARD: Final = ("UBND phường", "Ward People's Committee")
_COMPANY: Final = ("Công ty môi trường đô thị", "Urban environment company")
_POLICE: Final = ("Công an phường", "Ward police")
_GROUPS: Final = ("Tổ dân phố, UBND phường", "Residential groups, ward committee")

INDICATORS: Final[dict[str, Target]] = {
    t.key: t
    for t in (
        Target(
            "groups_with_points",
            "Tổ dân phố có đủ điểm tập kết",
            "Residential groups with enough gathering points",
            *_WARD,
            100.0,
        ),
        Target(
            "households_within_walk",
            "Hộ gia đình trong tầm đi bộ tới điểm tập kết",
            "Households within walking distance of a gathering point",
            *_WARD,
            100.0,
        ),
        Target(
            "reports_resolved",
            "Phản ánh về rác được xử lý xong",
            "Waste reports resolved",
            *_WARD,
            100.0,
        ),
        Target(
            "reports_on_time",
            "Phản ánh được xử lý đúng hạn (và thời gian xử lý trung vị)",
            "Reports resolved by their due time (and median time to resolve)",
            *_WARD,
            100.0,
        ),
        Target(
            "dumps_closed",
            "Điểm đổ rác tự phát được xóa bỏ",
            "Spontaneous dump sites closed",
            *_WARD,
            100.0,
        ),
        Target(
            "hotspots_watched",
            "Điểm nóng đổ rác có camera giám sát",
            "Dumping hotspots covered by cameras",
            *_POLICE,
            100.0,
        ),
        Target(
            "collection_cut",
            "Giảm quãng đường thu gom (km) và CO₂ so với hiện trạng",
            "Cut in collection km and CO₂ against the baseline",
            *_COMPANY,
            30.0,
            "cut_at_least",
        ),
        Target(
            "share_sorted",
            "Tỷ lệ rác được phân loại tại nguồn",
            "Share of waste sorted at source",
            *_GROUPS,
            50.0,
            "more_than",
        ),
        Target(
            "households_collected",
            "Hộ gia đình được thu gom theo tuyến",
            "Households served by a collection route",
            *_COMPANY,
            100.0,
        ),
    )
}


def _pct(part: float, whole: float) -> float:
    return round(100.0 * part / whole, 1)


def _missing(key: str, reason: str, *, basis: Basis = "measured") -> Indicator:
    return Indicator(INDICATORS[key], None, reason, basis=basis)


def groups_with_points(
    covered_share: pd.Series, *, min_covered_share: float = 1.0, tolerance: float = 0.005
) -> Indicator:
    """
    Share of residential groups whose households all walk to a gathering point within reach.

    Parameters
    ----------
    covered_share
        Per group, the share (0..1) of its households within walking distance of a point.
    min_covered_share
        A group has "enough" points when at least this share is covered.
    tolerance
        Slack on the share for rounding of fractional households (0.005 = half a per cent).

    Returns
    -------
    Indicator
        Planned value (the groups of the plan); None when there are no groups.
    """
    shares = covered_share.dropna()
    if shares.empty:
        return _missing(
            "groups_with_points", "no residential groups for this ward", basis="planned"
        )
    enough = int((shares >= min_covered_share - tolerance).sum())
    return Indicator(
        INDICATORS["groups_with_points"],
        _pct(enough, len(shares)),
        basis="planned",
        numerator=enough,
        denominator=len(shares),
    )


def households_within_walk(
    households: npt.NDArray[np.float64], covered: npt.NDArray[np.bool_]
) -> Indicator:
    """
    Share of households within walking distance of a gathering point.

    Parameters
    ----------
    households
        Households per demand unit.
    covered
        Whether each unit's walk to its nearest point is within the limit.
    """
    total = float(np.sum(households))
    if total <= 0:
        return _missing("households_within_walk", "no households estimated", basis="planned")
    within = float(np.sum(np.asarray(households)[np.asarray(covered, dtype=bool)]))
    return Indicator(
        INDICATORS["households_within_walk"],
        _pct(within, total),
        basis="planned",
        numerator=round(within),
        denominator=round(total),
    )


def reports_resolved(reports: pd.DataFrame) -> tuple[Indicator, Indicator]:
    """
    Share of reports resolved, and share resolved by their due time with the median time.

    Parameters
    ----------
    reports
        One row per stored report with ``workflow_status``, ``requested_datetime``,
        ``closed_datetime`` (when it was closed, NaT while open) and ``expected_datetime``
        (the due time, NaT when the service sets none). Duplicates (``workflow_status ==
        "duplicate"``) count once, through the report they duplicate, so they are left out.

    Returns
    -------
    tuple of Indicator
        ``reports_resolved`` and ``reports_on_time`` (whose `detail` is the median hours to
        resolve).
    """
    if reports.empty:
        reason = "no reports stored for this ward"
        return _missing("reports_resolved", reason), _missing("reports_on_time", reason)
    r = reports[reports["workflow_status"] != "duplicate"]
    if r.empty:
        reason = "every stored report is a duplicate of another"
        return _missing("reports_resolved", reason), _missing("reports_on_time", reason)
    closed = r["workflow_status"].isin(("cleaned", "rejected"))
    resolved = Indicator(
        INDICATORS["reports_resolved"],
        _pct(int(closed.sum()), len(r)),
        numerator=int(closed.sum()),
        denominator=len(r),
    )
    requested = pd.to_datetime(r["requested_datetime"], utc=True)
    done = pd.to_datetime(r["closed_datetime"], utc=True)
    due = pd.to_datetime(r["expected_datetime"], utc=True)
    hours = ((done - requested).dt.total_seconds() / 3600.0)[closed & done.notna()]
    median = float(hours.median()) if len(hours) else None
    detail = f"median {median:.1f} h to resolve" if median is not None else None
    with_due = due.notna()
    if not with_due.any():
        on_time = Indicator(
            INDICATORS["reports_on_time"],
            None,
            "no stored report has a due time (the services set no expected hours)",
            detail=detail,
        )
        return resolved, on_time
    ok = (closed & done.notna() & (done <= due))[with_due]
    on_time = Indicator(
        INDICATORS["reports_on_time"],
        _pct(int(ok.sum()), int(with_due.sum())),
        numerator=int(ok.sum()),
        denominator=int(with_due.sum()),
        detail=detail,
    )
    return resolved, on_time


def dumps_closed(statuses: pd.Series) -> Indicator:
    """
    Share of recorded spontaneous dump sites that are closed or restored.

    Parameters
    ----------
    statuses
        The register's ``status`` per site (``active``, ``being_cleaned``, ``closed``,
        ``restored``).
    """
    if statuses.empty:
        return _missing("dumps_closed", "no spontaneous dump sites recorded for this ward")
    done = int(statuses.isin(("closed", "restored")).sum())
    return Indicator(
        INDICATORS["dumps_closed"],
        _pct(done, len(statuses)),
        numerator=done,
        denominator=len(statuses),
    )


def hotspots_watched(covered: int, total: int, *, synthetic: bool) -> Indicator:
    """
    Share of dumping hotspots within view of a camera of the plan.

    Parameters
    ----------
    covered, total
        Hotspots in view of a chosen (or existing) camera, and all hotspots.
    synthetic
        Whether the hotspots come from synthetic reports: then no value is given.
    """
    if synthetic:
        return _missing(
            "hotspots_watched",
            f"hotspots come from synthetic reports (the plan would watch {covered} of {total})",
            basis="planned",
        )
    if total <= 0:
        return _missing("hotspots_watched", "no dumping hotspot found", basis="planned")
    return Indicator(
        INDICATORS["hotspots_watched"],
        _pct(covered, total),
        basis="planned",
        numerator=covered,
        denominator=total,
    )


#: Why the cut in collection km has no value yet (`collection_cut` without a baseline).
NO_WEEKLY_BASELINE: Final = (
    "no weekly baseline yet: today's collection km per week are not recorded, "
    "so there is nothing to measure the cut against"
)


def collection_cut(
    km_per_week: float | None,
    baseline_km_per_week: float | None,
    *,
    co2_kg_per_week: float | None = None,
    baseline_co2_kg_per_week: float | None = None,
    caveat: str | None = None,
) -> Indicator:
    """
    Cut in collection km per week against the baseline, per cent (km and CO₂ in the detail).

    Without a baseline the value is None and the reason says so (`NO_WEEKLY_BASELINE`); the
    plan's own km and CO₂ per week are still given in `Indicator.detail`.

    Parameters
    ----------
    km_per_week, baseline_km_per_week
        Kilometres driven per week by the plan and by the baseline (today's collection).
    co2_kg_per_week, baseline_co2_kg_per_week
        CO₂ per week (kg) of the plan and of the baseline.
    caveat
        What the baseline is, when it is not a record of today's routes.
    """
    planned = None
    if km_per_week is not None and co2_kg_per_week is not None:
        planned = f"planned {km_per_week:.1f} km and {co2_kg_per_week:.1f} kg CO₂ per week"
    elif km_per_week is not None:
        planned = f"planned {km_per_week:.1f} km per week"
    if (
        km_per_week is None
        or baseline_km_per_week is None
        or not math.isfinite(baseline_km_per_week)
        or baseline_km_per_week <= 0
    ):
        return Indicator(
            INDICATORS["collection_cut"],
            None,
            NO_WEEKLY_BASELINE,
            basis="planned",
            numerator=None if km_per_week is None else round(km_per_week, 2),
            detail=planned,
        )
    detail = planned
    if co2_kg_per_week is not None and baseline_co2_kg_per_week:
        cut = 100.0 * (baseline_co2_kg_per_week - co2_kg_per_week) / baseline_co2_kg_per_week
        detail = (
            f"CO₂ {co2_kg_per_week:.1f} kg/week against {baseline_co2_kg_per_week:.1f} kg/week "
            f"(−{cut:.1f}%)"
        )
    return Indicator(
        INDICATORS["collection_cut"],
        round(100.0 * (baseline_km_per_week - km_per_week) / baseline_km_per_week, 1),
        caveat,
        basis="planned",
        numerator=round(km_per_week, 2),
        denominator=round(baseline_km_per_week, 2),
        detail=detail,
    )


def share_sorted(sorted_kg: float | None, total_kg: float | None) -> Indicator:
    """
    Share of waste sorted at source, where weighings are recorded.

    Parameters
    ----------
    sorted_kg, total_kg
        Waste handed over sorted, and all waste, over the same period (kg).
    """
    if sorted_kg is None or total_kg is None:
        return _missing("share_sorted", "no weighing of sorted waste is recorded for this ward")
    if total_kg <= 0:
        return _missing("share_sorted", "the recorded total waste is zero")
    return Indicator(
        INDICATORS["share_sorted"],
        _pct(sorted_kg, total_kg),
        numerator=sorted_kg,
        denominator=total_kg,
    )


def households_collected(
    households: npt.NDArray[np.float64], point_served: npt.NDArray[np.bool_]
) -> Indicator:
    """
    Share of households whose gathering point a collection route visits.

    Parameters
    ----------
    households
        Households per demand unit.
    point_served
        Per demand unit, whether the point it walks to is on a route (False when it reaches
        no point).
    """
    total = float(np.sum(households))
    if total <= 0:
        return _missing("households_collected", "no households estimated", basis="planned")
    served = float(np.sum(np.asarray(households)[np.asarray(point_served, dtype=bool)]))
    return Indicator(
        INDICATORS["households_collected"],
        _pct(served, total),
        basis="planned",
        numerator=round(served),
        denominator=round(total),
    )


def with_caveat(indicator: Indicator, caveat: str) -> Indicator:
    """Return `indicator` with `caveat` added to its reason (e.g. "Hanoi sample")."""
    reason = f"{indicator.reason}; {caveat}" if indicator.reason else caveat
    return replace(indicator, reason=reason)


def scorecard(indicators: list[Indicator]) -> list[Indicator]:
    """Order indicators as the appendix does and check that each appears once."""
    by_key = {i.target.key: i for i in indicators}
    if len(by_key) != len(indicators):
        msg = "an indicator appears twice in the scorecard"
        raise ValueError(msg)
    out = [by_key.get(k) or _missing(k, "not computed") for k in INDICATORS]
    log.info(
        "scorecard: %d indicators, %d with a value, %d met",
        len(out),
        sum(i.value is not None for i in out),
        sum(bool(i.met) for i in out),
    )
    return out


# --------------------------------------------------------------------------------------------
# the scorecard over time, from timestamped records
# --------------------------------------------------------------------------------------------

#: The time zone in which a month or a quarter ends (Hai Phong).
LOCAL_TZ: Final = "Asia/Ho_Chi_Minh"
#: The plan kinds whose summary figures give planned indicators (`indicators_from_plans`).
PLAN_KINDS_READ: Final = ("points", "cameras", "routes")


@dataclass(frozen=True)
class Snapshot:
    """The nine indicators as they stood at one moment (the end of a month or a quarter)."""

    at: pd.Timestamp  # aware UTC
    indicators: list[Indicator]
    median_hours: float | None = None  # median time to resolve the reports resolved by then

    def value(self, key: str) -> float | None:
        """Return the value of indicator `key` at this moment (None when unknown)."""
        return next(i.value for i in self.indicators if i.target.key == key)

    def indicator(self, key: str) -> Indicator:
        """Return indicator `key` at this moment."""
        return next(i for i in self.indicators if i.target.key == key)


def period_ends(
    first: pd.Timestamp, last: pd.Timestamp, *, freq: Literal["month", "quarter"] = "month"
) -> list[pd.Timestamp]:
    """
    Return the ends of the months (or quarters) from the one holding `first` to `last`.

    A period ends at midnight of its last day in Hai Phong time (`LOCAL_TZ`); the last entry
    is `last` itself when it falls inside a period (today, in the middle of a month).

    Parameters
    ----------
    first, last
        Aware (or UTC) timestamps, `first` <= `last`.
    freq
        ``month`` or ``quarter``.

    Returns
    -------
    list of pd.Timestamp
        Aware UTC timestamps, increasing.

    Examples
    --------
    >>> [t.isoformat() for t in period_ends(pd.Timestamp("2026-01-05", tz="UTC"),
    ...                                     pd.Timestamp("2026-02-10", tz="UTC"))]
    ['2026-01-31T17:00:00+00:00', '2026-02-10T00:00:00+00:00']
    """
    if freq not in ("month", "quarter"):
        msg = f"freq must be 'month' or 'quarter', not {freq!r}"
        raise ValueError(msg)
    first, last = as_utc(first), as_utc(last)
    if first > last:
        msg = f"the first record ({first}) is after the last date ({last})"
        raise ValueError(msg)
    local = first.tz_convert(LOCAL_TZ)
    months = 3 if freq == "quarter" else 1
    start_month = ((local.month - 1) // months) * months + 1
    start = pd.Timestamp(year=local.year, month=start_month, day=1, tz=LOCAL_TZ)
    out: list[pd.Timestamp] = []
    k = 1
    while True:
        end = (start + pd.DateOffset(months=months * k)).tz_convert("UTC")
        if end > last:
            break
        out.append(end)
        k += 1
    if not out or out[-1] < last:
        out.append(last)
    return out


def as_utc(t: pd.Timestamp | str) -> pd.Timestamp:
    """Return `t` as an aware UTC timestamp (a naive one is taken as UTC)."""
    ts = pd.Timestamp(t)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _status_at(events: pd.DataFrame, ids: pd.Index, at: pd.Timestamp, key: str) -> pd.DataFrame:
    """Last status (and when it was set) of each id in `ids` among `events` up to `at`."""
    if events.empty:
        return pd.DataFrame({"status": pd.Series(None, index=ids, dtype=object), "since": pd.NaT})
    e = events[pd.to_datetime(events["at"], utc=True) <= at]
    e = e.assign(at=pd.to_datetime(e["at"], utc=True)).sort_values("at", kind="stable")
    last = e.groupby(key).tail(1).set_index(key)
    return pd.DataFrame(
        {"status": last["status"].reindex(ids), "since": last["at"].reindex(ids)}, index=ids
    )


def reports_as_of(reports: pd.DataFrame, events: pd.DataFrame, at: pd.Timestamp) -> pd.DataFrame:
    """
    Return the reports made by `at`, each with its workflow status at `at` and when it was closed.

    Parameters
    ----------
    reports
        One row per report, indexed by report id: ``requested_datetime`` and
        ``expected_datetime`` (NaT when there is no due time).
    events
        The workflow changes of the audit trail: ``report_id``, ``at``, ``status`` (the new
        workflow status). A report is ``received`` until its first change.
    at
        The moment.

    Returns
    -------
    pd.DataFrame
        The input of `reports_resolved`: ``workflow_status``, ``requested_datetime``,
        ``closed_datetime`` (the time of the change to the closed status it has at `at`, NaT
        while open) and ``expected_datetime``.
    """
    at = as_utc(at)
    columns = ["workflow_status", "requested_datetime", "closed_datetime", "expected_datetime"]
    if reports.empty:
        return pd.DataFrame(columns=columns)
    requested = pd.to_datetime(reports["requested_datetime"], utc=True)
    made = reports[requested <= at]
    state = _status_at(events, made.index, at, "report_id")
    status = state["status"].fillna("received")
    closed = status.isin(CLOSED_STATUSES_ALL)
    return pd.DataFrame(
        {
            "workflow_status": status.to_numpy(),
            "requested_datetime": pd.to_datetime(made["requested_datetime"], utc=True).to_numpy(),
            "closed_datetime": pd.to_datetime(state["since"].where(closed), utc=True).to_numpy(),
            "expected_datetime": pd.to_datetime(made["expected_datetime"], utc=True).to_numpy(),
        },
        index=made.index,
    )[columns]


#: Workflow statuses that close a report (a duplicate closes it too, but is left out).
CLOSED_STATUSES_ALL: Final = ("cleaned", "rejected", "duplicate")


def dump_statuses_as_of(sites: pd.DataFrame, events: pd.DataFrame, at: pd.Timestamp) -> pd.Series:
    """
    Return the status at `at` of each dump site recorded by then.

    Parameters
    ----------
    sites
        One row per site, indexed by site id, with ``recorded`` (when it entered the register:
        its first sighting or its first audit row, whichever is earlier).
    events
        The status changes of the audit trail: ``dump_site_id``, ``at``, ``status`` (new).
        A site is ``active`` until its first change.
    """
    at = as_utc(at)
    if sites.empty:
        return pd.Series([], dtype=object)
    recorded = pd.to_datetime(sites["recorded"], utc=True)
    known = sites[recorded <= at]
    state = _status_at(events, known.index, at, "dump_site_id")
    return state["status"].fillna("active").astype(object)


#: The indicators a plan gives (the others are measured from the registers).
PLANNED_KEYS: Final = (
    "groups_with_points",
    "households_within_walk",
    "hotspots_watched",
    "collection_cut",
    "households_collected",
)
#: Why a planned indicator has no value at a date: no finished plan stored by then gives it.
NO_PLAN_BY_DATE: Final = "no finished plan stored by this date gives this indicator"


def planned_as_of(plans: pd.DataFrame, at: pd.Timestamp) -> list[Indicator]:
    """
    Return the planned indicators at `at`, each from the newest plan made by then that covers it.

    A ``ward`` plan (a whole ward plan run) gives the indicators stored in its summary's
    ``scorecard`` (one record per indicator: ``key, value, reason, basis, numerator,
    denominator, detail``); a ``points``, ``cameras`` or ``routes`` plan those its summary's
    figures give (`indicators_from_plans`).

    Parameters
    ----------
    plans
        ``kind``, ``created_at``, ``summary`` (a mapping) and optionally ``id`` per stored plan
        that is finished (done).
    at
        The moment.
    """
    at = as_utc(at)
    got: dict[str, Indicator] = {}
    if not plans.empty:
        created = pd.to_datetime(plans["created_at"], utc=True)
        p = plans.assign(created_at=created)[created <= at]
        p = p.sort_values(["created_at", "id"] if "id" in p else ["created_at"], kind="stable")
        for kind, summary in zip(p["kind"], p["summary"], strict=True):
            for ind in plan_summary_indicators(str(kind), dict(summary or {})):
                got[ind.target.key] = ind
    return [got.get(k) or _missing(k, NO_PLAN_BY_DATE, basis="planned") for k in PLANNED_KEYS]


def _number_in(summary: dict[str, object], key: str) -> float | None:
    value = summary.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def plan_summary_indicators(kind: str, summary: dict[str, object]) -> list[Indicator]:
    """Return the planned indicators one stored plan's summary gives (see `planned_as_of`)."""
    records = summary.get("scorecard")
    if isinstance(records, list):
        out = []
        for r in records:
            if not isinstance(r, dict) or r.get("key") not in PLANNED_KEYS:
                continue
            value = r.get("value")
            out.append(
                Indicator(
                    INDICATORS[str(r["key"])],
                    float(value) if isinstance(value, int | float) else None,
                    r.get("reason") if isinstance(r.get("reason"), str) else None,
                    basis="measured" if r.get("basis") == "measured" else "planned",
                    numerator=_number_in(r, "numerator"),
                    denominator=_number_in(r, "denominator"),
                    detail=r.get("detail") if isinstance(r.get("detail"), str) else None,
                )
            )
        return out
    if kind not in PLAN_KINDS_READ:
        return []
    return [i for i in indicators_from_plans({kind: summary}) if i.reason != NO_PLAN_BY_DATE]


def indicators_from_plans(summaries: dict[str, dict[str, object]]) -> list[Indicator]:
    """
    Return the planned indicators read from plan summaries, one per kind.

    Keys read: a ``points`` plan's ``covered_after_pct`` and ``households`` (households within
    walking distance) and its ``groups`` (a list of ``{"covered_after": share}``, one per
    residential group) or ``groups_with_points`` and ``groups_total``; a ``cameras`` plan's
    ``hotspots_covered`` (``"3/5"``), synthetic when its ``reports_source`` says so or it
    counts ``synthetic_reports``; a ``routes`` plan's ``total_km`` against
    ``user_baseline_km`` (today's routes, when they were given), else ``km_per_week`` against
    ``baseline_km_per_week``, and ``households_collected`` of ``households``. A key that is
    absent gives no value and says so.
    """
    out: list[Indicator] = []
    points = summaries.get("points")
    if points is None:
        out.append(_missing("groups_with_points", NO_PLAN_BY_DATE, basis="planned"))
        out.append(_missing("households_within_walk", NO_PLAN_BY_DATE, basis="planned"))
    else:
        groups = points.get("groups")
        enough, total = _number_in(points, "groups_with_points"), _number_in(points, "groups_total")
        if isinstance(groups, list):
            shares = [g.get("covered_after") for g in groups if isinstance(g, dict)]
            out.append(groups_with_points(pd.Series(shares, dtype=float)))
        elif enough is not None and total:
            out.append(
                Indicator(
                    INDICATORS["groups_with_points"],
                    _pct(enough, total),
                    basis="planned",
                    numerator=enough,
                    denominator=total,
                )
            )
        else:
            out.append(
                _missing(
                    "groups_with_points",
                    "the stored points plan does not record coverage per residential group",
                    basis="planned",
                )
            )
        pct, households = _number_in(points, "covered_after_pct"), _number_in(points, "households")
        if pct is None:
            out.append(
                _missing(
                    "households_within_walk",
                    "the stored points plan does not record its coverage",
                    basis="planned",
                )
            )
        else:
            out.append(
                Indicator(
                    INDICATORS["households_within_walk"],
                    round(pct, 1),
                    basis="planned",
                    numerator=None if households is None else round(households * pct / 100),
                    denominator=households,
                )
            )
    out.append(_hotspots_from(summaries.get("cameras")))
    out += _routes_from(summaries.get("routes"))
    return out


def _hotspots_from(cams: dict[str, object] | None) -> Indicator:
    if cams is None:
        return _missing("hotspots_watched", NO_PLAN_BY_DATE, basis="planned")
    text = str(cams.get("hotspots_covered", ""))
    covered, _, total = text.partition("/")
    if not (covered.strip().isdigit() and total.strip().isdigit()):
        return _missing(
            "hotspots_watched",
            "the stored cameras plan does not record the hotspots it covers",
            basis="planned",
        )
    source = str(cams.get("reports_source", ""))
    synthetic = "synthetic" in source.lower() or bool(_number_in(cams, "synthetic_reports"))
    return hotspots_watched(int(covered), int(total), synthetic=synthetic)


def _routes_from(routes: dict[str, object] | None) -> list[Indicator]:
    if routes is None:
        return [
            _missing("collection_cut", NO_PLAN_BY_DATE, basis="planned"),
            _missing("households_collected", NO_PLAN_BY_DATE, basis="planned"),
        ]
    total_km, user_km = _number_in(routes, "total_km"), _number_in(routes, "user_baseline_km")
    if total_km is not None and user_km is not None:
        cut = replace(
            collection_cut(total_km, user_km),
            detail=f"{total_km:.1f} km per day against {user_km:.1f} km of today's routes",
        )
    else:
        cut = collection_cut(
            _number_in(routes, "km_per_week"),
            _number_in(routes, "baseline_km_per_week"),
            co2_kg_per_week=_number_in(routes, "co2_kg_per_week"),
            baseline_co2_kg_per_week=_number_in(routes, "baseline_co2_kg_per_week"),
        )
    served, households = (
        _number_in(routes, "households_collected"),
        _number_in(routes, "households"),
    )
    if served is None or not households:
        collected = _missing(
            "households_collected",
            "the stored routes plan does not record the households it serves",
            basis="planned",
        )
    else:
        collected = Indicator(
            INDICATORS["households_collected"],
            _pct(served, households),
            basis="planned",
            numerator=served,
            denominator=households,
        )
    return [cut, collected]


def scorecard_as_of(
    at: pd.Timestamp,
    *,
    reports: pd.DataFrame,
    report_events: pd.DataFrame,
    dump_sites: pd.DataFrame,
    dump_events: pd.DataFrame,
    plans: pd.DataFrame,
) -> Snapshot:
    """
    Return the nine indicators as they stood at `at`, from timestamped records only.

    A report counts from its ``requested_datetime`` and is resolved from the time of the
    change that closed it; a dump site counts from when it was recorded and is closed from its
    closing change; planned indicators come from the newest plan of each kind created on or
    before `at`. Nothing is carried back: a record made later does not count earlier.

    Parameters
    ----------
    at
        The moment (aware, or naive UTC).
    reports, report_events
        See `reports_as_of`.
    dump_sites, dump_events
        See `dump_statuses_as_of`.
    plans
        See `planned_as_of`.

    Returns
    -------
    Snapshot
        The indicators in the appendix's order.
    """
    at = as_utc(at)
    made = reports_as_of(reports, report_events, at)
    measured = list(reports_resolved(made))
    if reports.empty:
        measured = [replace(i, reason="no reports stored for this ward") for i in measured]
    elif made.empty:
        measured = [replace(i, reason="no report made by this date") for i in measured]
    statuses = dump_statuses_as_of(dump_sites, dump_events, at)
    dumps = dumps_closed(statuses)
    if statuses.empty and not dump_sites.empty:
        dumps = replace(dumps, reason="no dump site recorded by this date")
    indicators = [
        *planned_as_of(plans, at),
        *measured,
        dumps,
        share_sorted(None, None),
    ]
    return Snapshot(at, scorecard(indicators), median_hours(made))


def median_hours(reports: pd.DataFrame) -> float | None:
    """Return the median hours from request to closing of the resolved reports.

    `reports` is `reports_resolved`'s input; None when no report is resolved.
    """
    if reports.empty:
        return None
    done = reports["workflow_status"].isin(("cleaned", "rejected"))
    hours = (
        pd.to_datetime(reports["closed_datetime"], utc=True)
        - pd.to_datetime(reports["requested_datetime"], utc=True)
    ).dt.total_seconds()[done] / 3600.0
    hours = hours.dropna()
    return round(float(hours.median()), 1) if len(hours) else None


def scorecard_series(
    ends: list[pd.Timestamp],
    *,
    reports: pd.DataFrame,
    report_events: pd.DataFrame,
    dump_sites: pd.DataFrame,
    dump_events: pd.DataFrame,
    plans: pd.DataFrame,
) -> list[Snapshot]:
    """Return `scorecard_as_of` at each of `ends` (e.g. `period_ends`), in order."""
    return [
        scorecard_as_of(
            t,
            reports=reports,
            report_events=report_events,
            dump_sites=dump_sites,
            dump_events=dump_events,
            plans=plans,
        )
        for t in ends
    ]


# --------------------------------------------------------------------------------------------
# per residential group
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupRow:
    """The indicators of one residential group that have a meaning at group level.

    A figure is None when the data cannot give it; `reasons` says why (and notes caveats such
    as estimated group boundaries).
    """

    group_id: int
    name: str
    households: float | None
    points_serving: int | None  # planned points its households walk to
    points_needed: int | None  # points its waste needs at the plan's capacity per point
    covered_pct: float | None  # households within walking distance, per cent
    enough: bool | None  # covered_pct reaches 100% (within half a per cent)
    collected_pct: float | None  # households whose point a route visits for every stream
    reports: int | None  # reports inside its area (duplicates left out)
    reports_resolved: int | None
    median_hours: float | None  # median time to resolve its resolved reports
    dumps: int | None  # dump sites inside its area
    dumps_closed: int | None
    reasons: tuple[str, ...] = ()


#: Why a group has no report or dump counts: its area is only a point.
GROUP_HAS_NO_AREA: Final = "the group's area is a point, not a polygon"
PROXY_GROUPS: Final = "group areas estimated from the buildings, not the official boundaries"


def group_scorecard(
    groups: gpd.GeoDataFrame,
    *,
    coverage: pd.DataFrame | None = None,
    point_households: pd.DataFrame | None = None,
    collected_points: set[str] | None = None,
    kg_per_day: pd.Series | None = None,
    capacity_kg_per_point: float | None = None,
    reports: gpd.GeoDataFrame | None = None,
    dumps: gpd.GeoDataFrame | None = None,
    plan_reason: str | None = None,
    register_reason: str | None = None,
) -> list[GroupRow]:
    """
    Return the group-level indicators of each residential group.

    Parameters
    ----------
    groups
        ``group_id``, ``name``, the area (polygon, or a point when only the place is known)
        and optionally ``households`` and ``source`` (``proxy...`` for estimated areas).
    coverage
        Indexed by group id: ``households`` and ``covered_after`` (share 0..1 within walking
        distance of a planned point). None without a plan.
    point_households
        ``group_id, point_id, households``: the group's households at each planned point.
    collected_points
        Points a route visits for every waste stream of the week.
    kg_per_day, capacity_kg_per_point
        Waste per group (kg/day, indexed by group id) and what one point takes.
    reports
        The reports at the date (`reports_as_of`) with their positions, same CRS as `groups`.
    dumps
        The dump sites' ``status`` at the date with their positions, same CRS as `groups`.
    plan_reason, register_reason
        Why the plan's figures, or the register's, are missing (None when they are given).

    Returns
    -------
    list of GroupRow
        One per group, in the order of `groups`.
    """
    polygons = groups.geometry.geom_type.isin(("Polygon", "MultiPolygon")).to_numpy()
    report_group = _group_of(reports, groups, polygons)
    dump_group = _group_of(dumps, groups, polygons)
    cov_households: dict[int, float] = {}
    cov_share: dict[int, float] = {}
    if coverage is not None:
        households_of = coverage["households"].astype(float)
        share_of = coverage["covered_after"].dropna().astype(float)
        cov_households = dict(zip(households_of.index.astype(int), households_of, strict=True))
        cov_share = dict(zip(share_of.index.astype(int), share_of, strict=True))
    rows: list[GroupRow] = []
    for k, (gid, name) in enumerate(zip(groups["group_id"], groups["name"], strict=True)):
        gid = int(gid)
        reasons: list[str] = []
        if "source" in groups and str(groups["source"].iloc[k]).startswith("proxy"):
            reasons.append(PROXY_GROUPS)
        households = None
        if "households" in groups and pd.notna(groups["households"].iloc[k]):
            households = float(groups["households"].iloc[k])
        covered = enough = collected = None
        serving = needed = None
        if gid in cov_households:
            households = cov_households[gid]
            share = cov_share.get(gid)
            if share is not None:
                covered = round(100.0 * share, 1)
                enough = bool(share >= 1.0 - 0.005)
        if point_households is not None:
            mine = point_households[point_households["group_id"] == gid]
            mine = mine[mine["households"] > 0]
            serving = int(mine["point_id"].nunique())
            if collected_points is not None and households:
                done = mine.loc[mine["point_id"].isin(collected_points), "households"].sum()
                collected = _pct(float(done), households)
        if kg_per_day is not None and capacity_kg_per_point and gid in kg_per_day.index:
            needed = math.ceil(float(kg_per_day.loc[gid]) / capacity_kg_per_point - 1e-9)
        if plan_reason:
            reasons.append(plan_reason)
        n_rep = n_res = n_dump = n_closed = None
        median = None
        if register_reason:
            reasons.append(register_reason)
        elif not polygons[k]:
            reasons.append(GROUP_HAS_NO_AREA)
        else:
            if reports is not None:
                mine_r = reports[(report_group == k) & (reports["workflow_status"] != "duplicate")]
                done_r = mine_r["workflow_status"].isin(("cleaned", "rejected"))
                n_rep, n_res = len(mine_r), int(done_r.sum())
                hours = (
                    pd.to_datetime(mine_r["closed_datetime"], utc=True)
                    - pd.to_datetime(mine_r["requested_datetime"], utc=True)
                ).dt.total_seconds()[done_r] / 3600.0
                median = round(float(hours.median()), 1) if hours.notna().any() else None
            if dumps is not None:
                mine_d = dumps[dump_group == k]
                n_dump = len(mine_d)
                n_closed = int(mine_d["status"].isin(("closed", "restored")).sum())
        rows.append(
            GroupRow(
                gid,
                str(name),
                households,
                serving,
                needed,
                covered,
                enough,
                collected,
                n_rep,
                n_res,
                median,
                n_dump,
                n_closed,
                tuple(reasons),
            )
        )
    return rows


def _group_of(
    things: gpd.GeoDataFrame | None, groups: gpd.GeoDataFrame, polygons: npt.NDArray[np.bool_]
) -> npt.NDArray[np.int64]:
    """Position in `groups` of the polygon holding each of `things` (−1 when none)."""
    if things is None or things.empty:
        return np.full(0 if things is None else len(things), -1, dtype=np.int64)
    out = np.full(len(things), -1, dtype=np.int64)
    areas = groups.geometry.to_numpy()
    for k in np.flatnonzero(polygons):
        inside = things.geometry.intersects(areas[k]).to_numpy() & (out < 0)
        out[inside] = k
    return out
