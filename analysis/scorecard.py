"""The 2030 scorecard: the indicators of the ward plan's appendix, each against its target.

The appendix of the Kẻ Sặt plan sets nine targets, in order 100/100/100/100/100/100/30/>50/100
per cent. We read them as the nine `INDICATORS` below (the order of the appendix; the reading
of the seventh as a cut in collection km and CO₂ against the baseline, of the eighth as the
share of waste sorted at source, and of the ninth as households served by a collection route
is ours, to be confirmed against the signed appendix). Each indicator names its lead unit.

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
