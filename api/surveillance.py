"""`gomrac hotspots` and `gomrac cameras plan`: reports → hotspots → a camera plan.

Reports come from a file (CSV, GeoJSON, …), from the database (the Open311 intake) or, for demos
only, from the scenario generator; synthetic reports are labelled in every output and warned
about with `SyntheticDataWarning`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gomrac.analysis.cameras import (
    CameraPlan,
    CameraSiting,
    camera_targets,
    candidate_poles,
    greedy_densest_cells,
    rotation_schedule,
)
from gomrac.analysis.errors import DataNotFoundError, SyntheticDataWarning, ValidationError
from gomrac.analysis.hotspots import (
    cluster_reports,
    getis_ord_hotspots,
    hotspot_summary,
    planted_recall,
    report_density,
    spatial_cv_hit_rate,
)
from gomrac.analysis.scenario import synthetic_existing_cameras, synthetic_reports
from gomrac.geo.crs import METRIC_CRS, to_metric
from gomrac.geo.layers import read_layer
from gomrac.geo.settings import DEFAULT_TIME_LIMIT_S

if TYPE_CHECKING:
    from gomrac.api.pipeline import WardData

log = logging.getLogger(__name__)


def scenario_anchors(data: WardData) -> gpd.GeoDataFrame:
    """Places that attract dumping, for the scenario generator: markets, water, the ward's edge."""
    parts = []
    for layer, kind in (("markets", "market"), ("water", "water")):
        if layer in data.metric_layers:
            g = data.metric_layers[layer]
            g = g[g.intersects(data.area.metric_geometry())]
            pts = g.geometry.representative_point().to_numpy()
            parts.append(
                gpd.GeoDataFrame({"kind": [kind] * len(pts)}, geometry=pts, crs=METRIC_CRS)
            )
    ring = data.area.metric_geometry().boundary
    pts = [ring.interpolate(f, normalized=True) for f in np.linspace(0, 1, 8, endpoint=False)]
    parts.append(gpd.GeoDataFrame({"kind": ["edge"] * len(pts)}, geometry=pts, crs=METRIC_CRS))
    return gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=METRIC_CRS)


@dataclass(frozen=True)
class ReportSet:
    """Reports (EPSG:32648), where they came from, and planted centres when synthetic."""

    reports: gpd.GeoDataFrame
    source: str
    planted: gpd.GeoDataFrame | None = None

    @property
    def synthetic(self) -> bool:
        """True when any report is synthetic."""
        return bool("synthetic" in self.reports and self.reports["synthetic"].fillna(False).any())


def load_reports(
    data: WardData,
    source: str,
    *,
    database_url: str | None = None,
    n: int = 600,
    seed: int = 0,
) -> ReportSet:
    """Load reports for a ward from ``synthetic``, ``db`` (`database_url`) or a file path."""
    area = data.area
    if source == "synthetic":
        warnings.warn(
            f"{area.name}: reports are synthetic (scenario generator), for demos only",
            SyntheticDataWarning,
            stacklevel=2,
        )
        out = synthetic_reports(data.area_gdf, anchors=scenario_anchors(data), n=n, seed=seed)
        return ReportSet(out.reports, "synthetic (scenario generator)", out.planted)
    if source == "db":
        from gomrac.api.layers import migrated_engine

        if database_url is None:
            msg = "reports from the database need its URL (Settings.database_url)"
            raise ValidationError(msg)
        from gomrac.geo.db import session_scope
        from gomrac.geo.store import load_layer

        with migrated_engine(database_url) as engine, session_scope(engine) as session:
            gdf = load_layer(session, kind="reports", ward_code=area.code)
        if gdf.empty:
            msg = f"no reports for {area.name} in the database"
            raise DataNotFoundError(msg)
        return ReportSet(to_metric(gdf), "database")
    gdf = read_layer(source, kind="reports", area=area.geometry, area_name=area.name)
    if "service_code" not in gdf:
        gdf["service_code"] = "household_waste"
    return ReportSet(to_metric(gdf), f"file:{Path(source).name}")


def _local_day(text: str, name: str) -> pd.Timestamp:
    """Midnight of a YYYY-MM-DD day in Hai Phong time, or a clear error."""
    try:
        return pd.Timestamp(dt.date.fromisoformat(text)).tz_localize("Asia/Ho_Chi_Minh")
    except ValueError as exc:
        msg = f"--{name} {text!r} is not a date (YYYY-MM-DD)"
        raise ValidationError(msg) from exc


@dataclass(frozen=True)
class Hotspots:
    """Hotspot analysis of a set of reports."""

    reports: ReportSet
    clusters: gpd.GeoDataFrame  # EPSG:32648
    gi_cells: gpd.GeoDataFrame
    density: gpd.GeoDataFrame
    summary: dict[str, Any]


def analyse_hotspots(
    data: WardData,
    reports: ReportSet,
    *,
    method: str = "dbscan",
    eps_m: float = 75.0,
    min_samples: int = 5,
    since: str | None = None,
    until: str | None = None,
) -> Hotspots:
    """Clusters, Gi* cells and density of the reports of a period, with honest counts."""
    r = reports.reports
    times = pd.to_datetime(r["requested_datetime"], utc=True)
    keep = pd.Series(True, index=r.index)
    if since:
        keep &= times >= _local_day(since, "since")
    if until:  # the whole last day, in Hai Phong time
        keep &= times < _local_day(until, "until") + pd.Timedelta(days=1)
    r = r[keep]
    if len(r) < min_samples:
        msg = f"only {len(r)} reports in the period; at least {min_samples} are needed for hotspots"
        raise ValidationError(msg)
    area = data.area_gdf
    found = cluster_reports(r, method=method, eps_m=eps_m, min_samples=min_samples)  # type: ignore[arg-type]
    gi = getis_ord_hotspots(r, area)
    density = report_density(r, area)
    s = hotspot_summary(r, found.clusters)
    summary: dict[str, Any] = {
        "ward": data.area.name,
        "reports_source": reports.source,
        "reports": s.reports,
        "synthetic_reports": s.synthetic_reports,
        "hotspots": s.hotspots,
        "top_n": s.top_n,
        "top_share_pct": round(s.top_share_pct, 2),
        "in_hotspots_pct": round(s.in_hotspots_pct, 2),
        "unique_reporters": s.unique_reporters,
        "gi_hot_cells_fdr": int(gi["hot_fdr"].sum()),
        "method": found.method,
    }
    if len(r) >= 50:
        cv = spatial_cv_hit_rate(r, area)
        summary["cv_mean_hit_rate"] = round(cv.mean_hit_rate, 3)
        summary["cv_mean_pai"] = round(cv.mean_pai, 2)
    if reports.planted is not None and len(found.clusters):
        summary["planted_clusters"] = len(reports.planted)
        summary["planted_recall"] = round(planted_recall(found.clusters, reports.planted), 3)
    return Hotspots(
        ReportSet(r, reports.source, reports.planted), found.clusters, gi, density, summary
    )


@dataclass(frozen=True)
class CamerasResult:
    """A camera plan with what it is compared with and how it is run."""

    plan: CameraPlan  # the optimal sites (maximal covering)
    baseline: CameraPlan  # the densest-cells baseline with the same budget
    rotation: pd.DataFrame  # the mobile cameras' weekly rotation
    poles: gpd.GeoDataFrame  # the candidate poles, EPSG:32648
    summary: dict[str, Any]

    def sites(self) -> gpd.GeoDataFrame:
        """Return the chosen sites with their targets (EPSG:4326)."""
        return chosen_sites(self.plan, self.poles)


def plan_cameras(
    data: WardData,
    hotspots: Hotspots,
    *,
    budget: int,
    gathering_points: gpd.GeoDataFrame | None = None,
    existing_cameras: gpd.GeoDataFrame | None = None,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    mobile_cameras: int = 2,
) -> CamerasResult:
    """Site `budget` cameras over hotspots, gathering points and sensitive sites."""
    streets = data.cart_edges
    area = data.area.metric_geometry()
    streets = streets[streets.intersects(area)]
    poles = candidate_poles(streets, spacing_m=40)
    poles = poles[poles.within(area.buffer(20))].reset_index(drop=True)
    sensitive_parts = [
        v.assign(kind=k)
        for k, v in data.metric_layers.items()
        if k in {"schools", "kindergartens", "markets", "water"}
    ]
    sensitive = (
        gpd.GeoDataFrame(
            pd.concat([s[["kind", "geometry"]] for s in sensitive_parts], ignore_index=True),
            crs=METRIC_CRS,
        )
        if sensitive_parts
        else None
    )
    if sensitive is not None:
        sensitive = sensitive[sensitive.intersects(area)]
        sensitive["geometry"] = sensitive.geometry.representative_point()
    targets = camera_targets(
        hotspots=hotspots.clusters if len(hotspots.clusters) else None,
        gathering_points=to_metric(gathering_points)
        if gathering_points is not None and len(gathering_points)
        else None,
        sensitive=sensitive,
    )
    buildings = data.metric_layers.get("buildings")
    model = CameraSiting.from_geodataframe(
        targets,
        poles,
        k=budget,
        existing=to_metric(existing_cameras)
        if existing_cameras is not None and len(existing_cameras)
        else None,
        streets=streets,
        buildings=buildings,
    )
    plan = model.solve(time_limit_s=time_limit_s)
    baseline = greedy_densest_cells(model, hotspots.density, k=budget)
    today = pd.Timestamp.now(tz="Asia/Ho_Chi_Minh").normalize().tz_localize(None)
    monday = today + pd.Timedelta(days=(7 - today.weekday()) % 7 or 7)
    rotation = rotation_schedule(plan, mobile_cameras=mobile_cameras, start=monday)
    summary = {
        "ward": data.area.name,
        "candidates": len(poles),
        "budget": budget,
        "chosen": len(plan.sites),
        "existing_cameras": 0 if existing_cameras is None else len(existing_cameras),
        "covered_weight_before_pct": round(plan.covered_weight_before_pct, 2),
        "covered_weight_pct": round(plan.covered_weight_after_pct, 2),
        "baseline_densest_cells_pct": round(baseline.covered_weight_after_pct, 2),
        "hotspots_covered": f"{plan.hotspots_covered}/{plan.hotspots_total}",
        "gathering_points_covered": (
            f"{plan.gathering_points_covered}/{plan.gathering_points_total}"
        ),
        "gap_pct": round(100 * plan.gap, 3) if np.isfinite(plan.gap) else None,
        "status": plan.status,
        "solve_s": round(plan.solve_s, 2),
        "mobile_rotation_weeks": int(rotation["week"].nunique())
        if "week" in rotation
        else len(rotation),
    }
    return CamerasResult(plan, baseline, rotation, poles, summary)


def chosen_sites(plan: CameraPlan, poles: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Return the chosen camera sites as points (EPSG:32648) with what each covers."""
    sites = plan.sites.copy()
    geom = poles.geometry.iloc[sites["candidate"].to_numpy()].to_numpy()
    cols = [c for c in ("candidate", "n_targets", "new_weight", "covers") if c in sites]
    out = gpd.GeoDataFrame(sites[cols].reset_index(drop=True), geometry=geom, crs=METRIC_CRS)
    out["covers"] = out["covers"].map(
        lambda d: (
            json.dumps({k: list(v) for k, v in d.items()}, ensure_ascii=False)
            if isinstance(d, dict)
            else str(d)
        )
    )
    return out


def demo_existing_cameras(data: WardData, *, seed: int = 0) -> gpd.GeoDataFrame:
    """Synthetic existing cameras (one dedicated, three security) for demos; labelled synthetic."""
    warnings.warn(
        f"{data.area.name}: existing cameras are synthetic, for demos only",
        SyntheticDataWarning,
        stacklevel=2,
    )
    return synthetic_existing_cameras(data.area_gdf, streets=data.truck_edges, seed=seed)


__all__ = [
    "Hotspots",
    "ReportSet",
    "analyse_hotspots",
    "chosen_sites",
    "demo_existing_cameras",
    "load_reports",
    "plan_cameras",
    "scenario_anchors",
]
