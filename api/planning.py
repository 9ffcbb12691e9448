"""The planning layer: the one place where a ward's data, the analyses and the settings meet.

Every interface is a thin adapter over these services: the command line parses its flags and
calls them, the web app's jobs call them, and a notebook calls them through ``import gomrac``.
Each service is handed the one `Settings` object, takes the ward's data loaded once (layers
projected to EPSG:32648 once, in `load_area`), and returns a frozen, typed result. Writing files
and drawing maps are the adapters' business (`gomrac.api.plan` for ``gomrac plan``).

`plan_ward` is the composition the main job runs: gathering points → the weekly service plan per
waste stream (bins, collection days, routes to each stream's facility, the published schedule)
→ dumping hotspots → cameras. Its defaults are declared once, in `PlanOptions`; the single
commands use the same ones.

Examples
--------
>>> import gomrac
>>> s = gomrac.Settings()
>>> area = gomrac.sample_area(settings=s)  # doctest: +SKIP
>>> plan = gomrac.plan_ward(area, settings=s)  # doctest: +SKIP
>>> plan.points.summary["new_points"], plan.cameras.summary["covered_weight_pct"]  # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from gomrac.analysis.errors import DataNotFoundError, SyntheticDataWarning
from gomrac.analysis.siting import SitingRules
from gomrac.api.pipeline import HANOI_SAMPLE, WardData, load_ward_data, ward_summary

if TYPE_CHECKING:
    from collections.abc import Callable

    import geopandas as gpd

    from gomrac.analysis.routing import Fleet
    from gomrac.analysis.weekly import WeeklyPlan
    from gomrac.api.points import PointsPlan
    from gomrac.api.surveillance import CamerasResult, Hotspots, ReportSet
    from gomrac.geo.network import NetworkRules
    from gomrac.geo.settings import Settings
    from gomrac.geo.streams import StreamSet

#: The label every output of the Hanoi stand-in carries.
SAMPLE_LABEL: Final = "MẪU HÀ NỘI / Hanoi sample, not Hai Phong"
#: Shares of `plan_ward`'s progress: the weekly plan starts at the first and takes the second.
WEEK_STARTS: Final = 0.3
WEEK_SHARE: Final = 0.4


@dataclass(frozen=True)
class PlanOptions:
    """What a ward plan is asked for; the defaults of ``gomrac plan`` and its single commands.

    ``time_limit_s`` and ``seed`` of None take the settings' values (``GOMRAC_TIME_LIMIT_S``,
    ``GOMRAC_SEED``).
    """

    walk_m: float = 300.0
    camera_budget: int = 10
    mobile_cameras: int = 2
    time_limit_s: float | None = None
    seed: int | None = None
    reports: str = "synthetic"  # a reports file, "db", or "synthetic" (labelled)
    existing_points: gpd.GeoDataFrame | None = None  # EPSG:4326, validated against the ward
    # the ward's cameras (EPSG:4326, ``camera_kind`` fixed/security); None: labelled demo ones
    existing_cameras: gpd.GeoDataFrame | None = None
    streams: StreamSet | None = None  # the stream definitions (else the packaged defaults)
    fleet: Fleet | None = None  # each stream's vehicle types (else one compactor type)
    garage_lonlat: tuple[float, float] | None = None  # else the residual-waste facility
    siting_rules: SitingRules | None = None  # else the documented defaults

    def time_limit(self, settings: Settings) -> float:
        """Return the seconds per optimisation: this plan's, else the settings'."""
        return self.time_limit_s if self.time_limit_s is not None else settings.time_limit_s

    def seed_of(self, settings: Settings) -> int:
        """Return the searches' random seed: this plan's, else the settings'."""
        return self.seed if self.seed is not None else settings.seed


@dataclass(frozen=True)
class WardPlan:
    """Everything `plan_ward` planned for one area, each part a frozen result of its service."""

    data: WardData
    label: str  # the area's name, with the sample label when it is the Hanoi stand-in
    is_sample: bool
    points: PointsPlan
    week: WeeklyPlan  # the weekly service plan per stream: every published view derives from it
    reports: ReportSet
    hotspots: Hotspots
    cameras: CamerasResult
    existing_cameras: gpd.GeoDataFrame  # EPSG:4326
    synthetic_layers: tuple[str, ...] = field(default=())

    def served_points(self) -> gpd.GeoDataFrame:
        """Return the points the routes serve: existing ones, then proposed (EPSG:4326)."""
        return _served_points(self.points)


def load_area(
    ward: str | None = None,
    *,
    settings: Settings,
    boundary: str | Path | None = None,
    osm: str | Path | None = None,
    facilities: str | Path | None = None,
    population: float | None = None,
    groups: gpd.GeoDataFrame | None = None,
    landfill: str | None = None,
    rules: NetworkRules | None = None,
    refresh_roads: bool = False,
    require_roads: bool = True,
    progress: bool = False,
) -> WardData:
    """Load a ward (by name) or any area (by boundary file): networks, features, demand.

    Parameters
    ----------
    ward
        A ward or commune name, with or without diacritics, or a pre-2025 name.
    settings
        Where the data and cache live, online access.
    boundary
        A polygon file to use instead of a ward.
    osm
        A local OSM extract (``.osm``, ``.osm.pbf``, ``.graphml``).
    facilities
        A facilities file overriding the shared one.
    population
        The area's persons (else the 2009 census by areal interpolation).
    groups
        Residential groups (EPSG:4326); else estimated from the demand.
    landfill
        The facility the trucks unload at (else Tràng Cát, or the nearest).
    rules
        Which ways the truck and handcart networks take (`gomrac.api.routes.truck_rules` builds
        them for a fleet's largest vehicle); the documented defaults when None.
    refresh_roads
        Rebuild the road networks instead of reading the cache.
    require_roads
        Raise `DataNotFoundError` when no road data covers the area (else load without).
    progress
        Show progress bars on stderr.
    """
    return load_ward_data(
        ward,
        settings=settings,
        boundary=boundary,
        osm_path=osm,
        facilities_path=facilities,
        population=population,
        groups=groups,
        landfill=landfill,
        rules=rules,
        refresh_roads=refresh_roads,
        require_roads=require_roads,
        progress=progress,
    )


def sample_area(*, settings: Settings, population: float | None = None) -> WardData:
    """Load the central-Hanoi sample area (real OSM streets), the stand-in without roads."""
    return load_area(
        boundary=settings.data_dir / HANOI_SAMPLE, settings=settings, population=population
    )


def load_or_sample(
    ward: str | None,
    *,
    settings: Settings,
    boundary: str | Path | None = None,
    sample_if_missing: bool = False,
    **kwargs: Any,
) -> tuple[WardData, str | None]:
    """Load an area; without road data, the Hanoi sample instead when `sample_if_missing`.

    Returns the data and, when the sample stands in, why (the missing-roads message).

    Raises
    ------
    DataNotFoundError
        No road data for the area and no fallback asked for (the message says how to get one).
    """
    data = load_area(ward, settings=settings, boundary=boundary, require_roads=False, **kwargs)
    if data.networks is not None:
        return data, None
    if not sample_if_missing:
        raise DataNotFoundError(data.roads_missing or "no road data")
    why = data.roads_missing or "no road data"
    return sample_area(settings=settings, population=kwargs.get("population")), why


def plan_ward(
    data: WardData,
    *,
    settings: Settings,
    options: PlanOptions | None = None,
    is_sample: bool = False,
    on_stage: Callable[[str, float], None] | None = None,
) -> WardPlan:
    """Plan one area end to end: points, the weekly service plan, hotspots and cameras.

    Reports and existing cameras with no public source come from the scenario generator when
    none are given, and are named in `WardPlan.synthetic_layers`. `on_stage` is called with
    each step's name (``points``, ``week``, ``hotspots``, ``cameras``) and the share of the plan
    done before it, and again with ``week`` after each day problem of the weekly routing; an
    exception it raises stops the plan there (how a job is cancelled).
    """
    from gomrac.api.points import PointsParams, plan_points
    from gomrac.api.weekly import WeekParams, assignment_from_points_plan, plan_week
    from gomrac.geo.facilities import load_facilities

    options = options or PlanOptions()
    limit, seed = options.time_limit(settings), options.seed_of(settings)
    label = data.area.name + (f" — {SAMPLE_LABEL}" if is_sample else "")
    stage = on_stage or _no_stage
    stage("points", 0.0)
    points = plan_points(
        data,
        existing=options.existing_points,
        params=PointsParams(
            walk_m=options.walk_m,
            time_limit_s=limit,
            rules=options.siting_rules or SitingRules(),
        ),
    )
    served = _served_points(points)
    stage("week", WEEK_STARTS)
    week = plan_week(
        data,
        served,
        streams=options.streams,
        fleet=options.fleet,
        assignment=assignment_from_points_plan(data, points),
        facilities=load_facilities(settings=settings) if data.area.in_haiphong else None,
        params=WeekParams(garage_lonlat=options.garage_lonlat),
        time_limit_s=limit,
        seed=seed,
        on_progress=lambda done: stage("week", WEEK_STARTS + WEEK_SHARE * done),
    )
    return _surveillance(
        data, settings, options, label, is_sample, points, week, served, limit, seed, stage
    )


def _no_stage(_name: str, _done: float) -> None:
    """Report nothing (`plan_ward` without `on_stage`)."""


def _surveillance(
    data: WardData,
    settings: Settings,
    options: PlanOptions,
    label: str,
    is_sample: bool,
    points: PointsPlan,
    week: WeeklyPlan,
    served: gpd.GeoDataFrame,
    limit: float,
    seed: int,
    stage: Callable[[str, float], None] = _no_stage,
) -> WardPlan:
    """Hotspots and cameras of a ward plan (its last two steps)."""
    from gomrac.api.surveillance import (
        analyse_hotspots,
        demo_existing_cameras,
        load_reports,
        plan_cameras,
    )

    synthetic: list[str] = []
    stage("hotspots", WEEK_STARTS + WEEK_SHARE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntheticDataWarning)
        reports = load_reports(data, options.reports, seed=seed, database_url=settings.database_url)
        if reports.synthetic:
            synthetic.append("dumping reports")
        hotspots = analyse_hotspots(data, reports)
        if options.existing_cameras is not None:
            existing_cameras = options.existing_cameras
            if "synthetic" in existing_cameras and existing_cameras["synthetic"].any():
                synthetic.append("existing cameras")
        else:
            existing_cameras = demo_existing_cameras(data, seed=seed)
            synthetic.append("existing cameras")
        stage("cameras", 0.8)
        cameras = plan_cameras(
            data,
            hotspots,
            budget=options.camera_budget,
            gathering_points=served,
            existing_cameras=existing_cameras,
            time_limit_s=limit,
            mobile_cameras=options.mobile_cameras,
        )
    return WardPlan(
        data=data,
        label=label,
        is_sample=is_sample,
        points=points,
        week=week,
        reports=reports,
        hotspots=hotspots,
        cameras=cameras,
        existing_cameras=existing_cameras,
        synthetic_layers=tuple(synthetic),
    )


def summarise(plan: WardPlan) -> dict[str, Any]:
    """Return a ward plan's figures by part (``plan.json`` without the file paths)."""
    out: dict[str, Any] = {
        "label": plan.label,
        "hanoi_sample": plan.is_sample,
        "ward": ward_summary(plan.data),
        "points": dict(plan.points.summary),
    }
    out["week"] = {
        "streams": {k: dict(v) for k, v in plan.week.totals.items()},
        **plan.week.overall,
        "notes": list(plan.week.notes),
    }
    out["hotspots"] = dict(plan.hotspots.summary)
    out["cameras"] = dict(plan.cameras.summary)
    out["synthetic_layers"] = list(plan.synthetic_layers)
    return out


def _served_points(points: PointsPlan) -> gpd.GeoDataFrame:
    import geopandas as gpd
    import pandas as pd

    served = points.proposed
    if points.existing is not None and len(points.existing):
        existing = points.existing.assign(status="existing").to_crs(served.crs)
        served = gpd.GeoDataFrame(pd.concat([existing, served], ignore_index=True), crs=served.crs)
    return served.to_crs(4326)
