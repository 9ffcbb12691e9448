"""A ward's 2030 scorecard from its plan and its stored registers.

Planned indicators (groups with enough points, households within walking distance, hotspots
watched, collection km and CO₂ per week, households served by a route) are read from a
`WardPlan` and its weekly service plan (`WardPlan.week`);
measured ones (reports resolved and their time, dump sites closed) from the reports and the
dump-site register in the database, through `gomrac.geo.store`. The arithmetic is in
`gomrac.analysis.scorecard`; this module only gathers its inputs.

Over time (`scorecard_over_time`) every indicator is read from stored, timestamped records
only: reports and their workflow changes, dump sites and their status changes, and the
summaries of the ward's finished plans (`stored_records`). `group_rows` gives the table per
residential group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import Table, select

from gomrac.analysis import scorecard as sc
from gomrac.analysis.demand import assign_groups
from gomrac.geo import store
from gomrac.geo.db import session_scope
from gomrac.geo.models import (
    CLOSED_WORKFLOW_STATUSES,
    DumpSite,
    DumpSiteUpdate,
    Plan,
    Report,
    ReportUpdate,
)

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


# --------------------------------------------------------------------------------------------
# over time, and per residential group
# --------------------------------------------------------------------------------------------

#: Why a ward has no series: nothing with a date is stored for it.
NO_RECORDS: Final = "nothing with a date is stored for this ward (reports, dump sites, plans)"


@dataclass(frozen=True)
class StoredRecords:
    """A ward's timestamped records, as `gomrac.analysis.scorecard.scorecard_as_of` reads them."""

    reports: pd.DataFrame  # index report id: requested_datetime, expected_datetime
    report_events: pd.DataFrame  # report_id, at, status
    report_places: gpd.GeoDataFrame  # index report id: synthetic; EPSG:4326
    dump_sites: pd.DataFrame  # index site id: recorded
    dump_events: pd.DataFrame  # dump_site_id, at, status
    dump_places: gpd.GeoDataFrame  # index site id: synthetic; EPSG:4326
    plans: pd.DataFrame  # id, kind, created_at, summary (finished plans only)

    def first(self) -> pd.Timestamp | None:
        """Return the time of the ward's first record, None when it has none."""
        times = [
            pd.to_datetime(self.reports["requested_datetime"], utc=True).min(),
            pd.to_datetime(self.dump_sites["recorded"], utc=True).min(),
            pd.to_datetime(self.plans["created_at"], utc=True).min(),
        ]
        known = [t for t in times if pd.notna(t)]
        return min(known) if known else None


def stored_records(session: Session, ward_code: str) -> StoredRecords:
    """
    Read a ward's reports, dump sites and finished plans with their times.

    A plan counts when it is finished: a plan table with a ``status`` column keeps only the
    plans whose status is ``done``. Workflow changes come from ``report_update`` (field
    ``workflow_status``), status changes from ``dump_site_update`` (field ``status``); a dump
    site is recorded from its first sighting or its first audit row, whichever is earlier.
    """
    rep = store.load_layer(session, kind="reports", ward_code=ward_code)
    reports = pd.DataFrame(
        {
            "requested_datetime": pd.to_datetime(rep["requested_datetime"], utc=True),
            "expected_datetime": pd.to_datetime(rep["expected_datetime"], utc=True),
        },
        index=rep.index,
    )
    report_events = _status_events(
        session, ReportUpdate.report_id, Report, ward_code, "workflow_status", "report_id"
    )
    dumps = store.load_layer(session, kind="dump_sites", ward_code=ward_code)
    dump_events = _status_events(
        session, DumpSiteUpdate.dump_site_id, DumpSite, ward_code, "status", "dump_site_id"
    )
    first_row = pd.to_datetime(dump_events.groupby("dump_site_id")["at"].min(), utc=True)
    seen = pd.Series(
        [
            pd.Timestamp(d, tz=sc.LOCAL_TZ).tz_convert("UTC") if pd.notna(d) else pd.NaT
            for d in (dumps["first_seen"] if len(dumps) else [])
        ],
        index=dumps.index,
        dtype="datetime64[ns, UTC]",
    )
    recorded = pd.concat([seen, first_row.reindex(dumps.index)], axis=1).min(axis=1)
    dump_sites = pd.DataFrame({"recorded": recorded}, index=dumps.index)
    return StoredRecords(
        reports,
        report_events,
        gpd.GeoDataFrame(rep[["synthetic"]], geometry=rep.geometry, crs=4326),
        dump_sites,
        dump_events,
        gpd.GeoDataFrame(dumps[["synthetic"]], geometry=dumps.geometry, crs=4326),
        stored_plans(session, ward_code),
    )


def _status_events(
    session: Session,
    parent_id: Any,
    parent: type[Report | DumpSite],
    ward_code: str,
    field: str,
    key: str,
) -> pd.DataFrame:
    """Audited changes of one status field of a ward's reports or dump sites, oldest first.

    ``parent_id`` is the audit table's column naming the row (``ReportUpdate.report_id``).
    """
    update = parent_id.class_
    rows = session.execute(
        select(parent_id, update.at, update.new)
        .join(parent, parent.id == parent_id)
        .where(parent.ward_code == ward_code, update.field == field)
        .order_by(update.at, update.id)
    ).all()
    return pd.DataFrame([(r[0], r[1], r[2]) for r in rows], columns=[key, "at", "status"])


def stored_plans(session: Session, ward_code: str) -> pd.DataFrame:
    """Return the ward's finished plans: ``id, kind, created_at, summary`` (oldest first)."""
    table = Plan.__table__
    assert isinstance(table, Table)
    status = table.c.get("status")
    stmt = select(Plan.id, Plan.kind, Plan.created_at, Plan.summary).where(
        Plan.ward_code == ward_code
    )
    if status is not None:
        stmt = stmt.where(status == "done")
    rows = session.execute(stmt.order_by(Plan.created_at, Plan.id)).all()
    return pd.DataFrame(
        [(r[0], r[1], r[2], dict(r[3] or {})) for r in rows],
        columns=["id", "kind", "created_at", "summary"],
    )


def scorecard_over_time(
    engine: Engine,
    ward_code: str,
    *,
    freq: Literal["month", "quarter"] = "month",
    today: pd.Timestamp | None = None,
) -> list[sc.Snapshot]:
    """
    Return a ward's nine indicators at the end of each month (or quarter) since its first record.

    Parameters
    ----------
    engine
        The database (SpatiaLite or PostGIS).
    ward_code
        The ward's official code.
    freq
        ``month`` or ``quarter``.
    today
        The last date of the series (default: now); the series ends with it.

    Returns
    -------
    list of Snapshot
        Empty when nothing with a date is stored for the ward (`NO_RECORDS`).
    """
    with session_scope(engine) as session:
        records = stored_records(session, ward_code)
    return series_of(records, freq=freq, today=today)


def series_of(
    records: StoredRecords,
    *,
    freq: Literal["month", "quarter"] = "month",
    today: pd.Timestamp | None = None,
) -> list[sc.Snapshot]:
    """`scorecard_over_time` on records already read."""
    first = records.first()
    last = sc.as_utc(today) if today is not None else pd.Timestamp.now(tz="UTC")
    if first is None or first > last:
        return []
    return sc.scorecard_series(
        sc.period_ends(first, last, freq=freq),
        reports=records.reports,
        report_events=records.report_events,
        dump_sites=records.dump_sites,
        dump_events=records.dump_events,
        plans=records.plans,
    )


def group_rows(
    plan: WardPlan | None,
    records: StoredRecords | None,
    *,
    groups: gpd.GeoDataFrame | None = None,
    at: pd.Timestamp | None = None,
    register_reason: str | None = None,
    counts_only: bool = False,
) -> list[sc.GroupRow]:
    """
    Return the group-level indicators of each residential group of a ward.

    Parameters
    ----------
    plan
        The ward's plan: its groups, coverage, points and week (None: no planned figures).
    records
        The ward's stored records (None: no report or dump counts, `register_reason` says why).
    groups
        The groups when there is no plan (the ward's ``residential_groups`` layer): ``id``
        index, ``name``, ``households``, ``source``; EPSG:4326.
    at
        The moment of the report and dump counts (default: now).
    register_reason
        Why `records` is None.
    counts_only
        Only the report and dump counts at `at` (the planned figures, which do not depend on
        the date, are left None): what a group's trend needs.
    """
    at = sc.as_utc(at) if at is not None else pd.Timestamp.now(tz="UTC")
    plan_reason = None
    coverage = point_households = kg = None
    collected: set[str] | None = None
    capacity = None
    if plan is not None and plan.data.groups is not None and len(plan.data.groups):
        areas = plan.data.groups
        if not counts_only:
            coverage = plan.points.groups_table
            point_households = plan.week.groups
            collected = _collected_points(plan)
            demand = plan.data.demand
            if demand is not None and "waste_kg_day" in demand:
                gid = assign_groups(demand, areas)
                kg = demand["waste_kg_day"].groupby(gid.to_numpy()).sum()
            capacity = float(plan.points.summary.get("capacity_kg_per_point") or 0.0) or None
    elif groups is not None and len(groups):
        areas = gpd.GeoDataFrame(
            {
                "group_id": groups.index.to_numpy(),
                "name": groups["name"].to_numpy(),
                "households": groups["households"].to_numpy(),
                "source": groups["source"].to_numpy(),
            },
            geometry=groups.geometry.to_numpy(),
            crs=groups.crs,
        )
        plan_reason = "no plan for this ward yet"
    else:
        return []
    reports = dumps = None
    if records is not None:
        made = sc.reports_as_of(records.reports, records.report_events, at)
        places = records.report_places.geometry.reindex(made.index)
        reports = gpd.GeoDataFrame(made, geometry=places.to_numpy(), crs=4326).to_crs(areas.crs)
        status = sc.dump_statuses_as_of(records.dump_sites, records.dump_events, at)
        sites = records.dump_places.loc[status.index] if len(status) else records.dump_places
        dumps = gpd.GeoDataFrame(
            {"status": status.to_numpy()}, geometry=sites.geometry.to_numpy(), crs=4326
        ).to_crs(areas.crs)
    elif register_reason is None:
        register_reason = "no database"
    return sc.group_scorecard(
        areas,
        coverage=coverage,
        point_households=point_households,
        collected_points=collected,
        kg_per_day=kg,
        capacity_kg_per_point=capacity,
        reports=reports,
        dumps=dumps,
        plan_reason=plan_reason,
        register_reason=register_reason,
    )


def _collected_points(plan: WardPlan) -> set[str]:
    """Points the week visits for every waste stream (as `collected_households` counts them)."""
    week = plan.week
    streams = set(week.stream_names_vi) or set(week.totals)
    visited = week.visits.groupby("point_id")["stream"].agg(lambda s: set(s) >= streams)
    return {str(p) for p, ok in visited.items() if ok}
