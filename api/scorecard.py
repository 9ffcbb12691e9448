"""A ward's 2030 scorecard from its plan and its stored registers.

Planned indicators (groups with enough points, households within walking distance, hotspots
watched, collection km and CO₂ per week, households served by a route) are read from a
`WardPlan` and its weekly service plan (`WardPlan.week`);
measured ones (reports resolved and their time, dump sites closed) from the reports and the
dump-site register in the database, through `gomrac.geo.store`. The arithmetic is in
`gomrac.analysis.scorecard`; this module only gathers its inputs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd

from gomrac.analysis import scorecard as sc
from gomrac.geo import store
from gomrac.geo.db import session_scope
from gomrac.geo.models import CLOSED_WORKFLOW_STATUSES

if TYPE_CHECKING:
    import numpy.typing as npt
    from sqlalchemy.engine import Engine
    from sqlalchemy.orm import Session

    from gomrac.api.planning import WardPlan

SAMPLE_CAVEAT: Final = "MẪU HÀ NỘI / Hanoi sample, not Hai Phong"


def stored_reports(session: Session, ward_code: str) -> pd.DataFrame:
    """
    Read the ward's stored reports with the time each was closed (from its audit trail).

    Returns
    -------
    pd.DataFrame
        ``workflow_status``, ``requested_datetime``, ``expected_datetime`` and
        ``closed_datetime`` (the last change to a closed status; NaT while open), one row per
        report.
    """
    gdf = store.load_layer(session, kind="reports", ward_code=ward_code)
    columns = ["workflow_status", "requested_datetime", "expected_datetime", "closed_datetime"]
    if gdf.empty:
        return pd.DataFrame(columns=columns)
    closed_at: list[object] = []
    for report_id, status in zip(gdf.index, gdf["workflow_status"], strict=True):
        when = None
        if status in CLOSED_WORKFLOW_STATUSES:
            for row in store.report_history(session, int(report_id)):
                if row.field == "workflow_status" and row.new in CLOSED_WORKFLOW_STATUSES:
                    when = row.at
        closed_at.append(when)
    out = pd.DataFrame(
        {
            "workflow_status": gdf["workflow_status"].to_numpy(),
            "requested_datetime": pd.to_datetime(gdf["requested_datetime"], utc=True).to_numpy(),
            "expected_datetime": pd.to_datetime(gdf["expected_datetime"], utc=True).to_numpy(),
            "closed_datetime": pd.to_datetime(pd.Series(closed_at, dtype=object), utc=True),
        }
    )
    return out[columns]


def stored_dump_statuses(session: Session, ward_code: str) -> pd.Series:
    """Return the status of each of the ward's recorded spontaneous dump sites."""
    gdf = store.load_layer(session, kind="dump_sites", ward_code=ward_code)
    return pd.Series(gdf["status"].to_numpy() if len(gdf) else [], dtype=object)


def plan_indicators(plan: WardPlan) -> list[sc.Indicator]:
    """Return the indicators a plan gives (planned values), with the sample's caveat if any.

    Collection km and CO₂ per week are the weekly plan's (``week.overall``); there is no weekly
    baseline yet, so the cut against it has no value (`gomrac.analysis.scorecard.collection_cut`
    says why). A household is collected when its gathering point is visited for every waste
    stream of the week; households with no planned point are not.
    """
    demand = plan.data.demand
    week = plan.week
    out: list[sc.Indicator] = []
    table = plan.points.groups_table
    out.append(sc.groups_with_points(table["covered_after"]))
    after = plan.points.after
    out.append(sc.households_within_walk(after.households, after.covered))
    cams = plan.cameras.plan
    out.append(
        sc.hotspots_watched(
            int(cams.hotspots_covered), int(cams.hotspots_total), synthetic=plan.reports.synthetic
        )
    )
    out.append(
        sc.collection_cut(
            float(week.overall["km_per_week"]),
            None,
            co2_kg_per_week=float(week.overall["co2_kg_per_week"]),
        )
    )
    if demand is not None:
        out.append(sc.households_collected(*collected_households(plan)))
    if plan.is_sample:
        out = [sc.with_caveat(i, SAMPLE_CAVEAT) for i in out]
    return out


def collected_households(
    plan: WardPlan,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Households per planned point (then the rest of the ward's) and whether each is collected.

    A point is collected when the week visits it for every stream; the last entry holds the
    ward's households that no planned point serves, never collected.
    """
    week = plan.week
    streams = list(week.stream_names_vi) or list(week.totals)
    visited = week.visits.groupby("point_id")["stream"].agg(lambda s: set(s) >= set(streams))
    households = week.points["households"].to_numpy(dtype=float)
    served = np.array(
        [bool(visited.get(pid, False)) for pid in week.points["point_id"]], dtype=bool
    )
    demand = plan.data.demand
    total = float(demand["households"].sum()) if demand is not None else float(households.sum())
    rest = max(0.0, total - float(households.sum()))
    return np.append(households, rest), np.append(served, False)


def ward_scorecard(
    plan: WardPlan | None, *, engine: Engine | None, ward_code: str | None
) -> list[sc.Indicator]:
    """
    Return the nine indicators of a ward: planned ones from `plan`, measured ones from the database.

    Parameters
    ----------
    plan
        The ward's plan (None: the planned indicators say there is no plan).
    engine
        The app's database (None: the measured indicators say nothing is stored).
    ward_code
        The ward's official code (None for the Hanoi sample, which has no register).
    """
    indicators = plan_indicators(plan) if plan is not None else []
    if plan is None:
        for key in (
            "groups_with_points",
            "households_within_walk",
            "hotspots_watched",
            "collection_cut",
            "households_collected",
        ):
            indicators.append(
                sc.Indicator(sc.INDICATORS[key], None, "no plan for this ward yet", "planned")
            )
    if engine is None or ward_code is None:
        why = "the Hanoi sample has no stored register" if ward_code is None else "no database"
        reports = pd.DataFrame(
            columns=["workflow_status", "requested_datetime", "expected_datetime"]
        )
        resolved, on_time = sc.reports_resolved(reports)
        indicators += [
            sc.Indicator(resolved.target, None, why),
            sc.Indicator(on_time.target, None, why),
            sc.Indicator(sc.INDICATORS["dumps_closed"], None, why),
        ]
    else:
        with session_scope(engine) as session:
            reports = stored_reports(session, ward_code)
            dumps = stored_dump_statuses(session, ward_code)
        indicators += [*sc.reports_resolved(reports), sc.dumps_closed(dumps)]
    indicators.append(sc.share_sorted(None, None))
    return sc.scorecard(indicators)
