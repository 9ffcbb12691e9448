"""gomrac: plan household-waste collection for Hai Phong's wards and communes.

The checkout is the package: ``gomrac.geo`` (data in and out, the database), ``gomrac.analysis``
(pure computation) and ``gomrac.api`` (the planning layer, the command line, the web app, maps).
This module offers the calls a notebook needs; each is the planning layer's
(`gomrac.api.planning`) or the settings' own, imported when first used so that
``import gomrac.analysis`` stays free of I/O libraries.

====================  ==========================================================================
name                  what it is
====================  ==========================================================================
`Settings`            the one settings object (``GOMRAC_*``), passed to every call below
`load_area`           a ward by name, or any area by boundary file: networks, features, demand
`sample_area`         the central-Hanoi sample area (real OSM streets), labelled as such
`plan_points`         gathering points: walking coverage, optimal new points, bins, siting rules
`plan_routes`         one collection's routes to the facility, handcart rounds
`plan_week`           the weekly service plan per waste stream: bins, days, routes, schedule
`write_week`,         its files (visits, points, GPX, the Vietnamese schedule, .ics) and the
`check_week`          independent checker that reads them back
`analyse_hotspots`    dumping hotspots (DBSCAN/HDBSCAN, Gi*, density) from reports
`plan_cameras`        camera sites maximising covered hotspots, points and sensitive sites
`plan_ward`           the main job: all of the above for one area, as a `WardPlan`
`PlanOptions`         what `plan_ward` is asked for (its defaults are the command line's)
`WardData`,           the frozen results
`PointsPlan`,
`RoutesResult`,
`Hotspots`,
`CamerasResult`,
`WardPlan`
`GomracError`, ...    the errors (`DataNotFoundError`, `UnknownWardError`, `ValidationError`,
                      `InfeasibleError`, `ConfigError`, `CRSError`)
====================  ==========================================================================

Examples
--------
>>> import gomrac
>>> sorted(gomrac.__all__)[:3]
['CRSError', 'CamerasResult', 'ConfigError']
>>> gomrac.Settings(cache_dir="/tmp/gomrac").database_url
'sqlite:////tmp/gomrac/gomrac.sqlite'
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: public name → the module that defines it
_EXPORTS: dict[str, str] = {
    "Settings": "gomrac.geo.settings",
    "settings_from_env": "gomrac.geo.settings",
    "load_area": "gomrac.api.planning",
    "sample_area": "gomrac.api.planning",
    "load_or_sample": "gomrac.api.planning",
    "plan_ward": "gomrac.api.planning",
    "PlanOptions": "gomrac.api.planning",
    "WardPlan": "gomrac.api.planning",
    "WardData": "gomrac.api.pipeline",
    "plan_points": "gomrac.api.points",
    "PointsParams": "gomrac.api.points",
    "PointsPlan": "gomrac.api.points",
    "plan_routes": "gomrac.api.routes",
    "plan_week": "gomrac.api.weekly",
    "write_week": "gomrac.api.weekly",
    "assignment_from_points_plan": "gomrac.api.weekly",
    "check_week": "gomrac.api.check",
    "WeeklyPlan": "gomrac.analysis.weekly",
    "load_streams": "gomrac.geo.streams",
    "RoutesParams": "gomrac.api.routes",
    "RoutesResult": "gomrac.api.routes",
    "analyse_hotspots": "gomrac.api.surveillance",
    "load_reports": "gomrac.api.surveillance",
    "Hotspots": "gomrac.api.surveillance",
    "plan_cameras": "gomrac.api.surveillance",
    "CamerasResult": "gomrac.api.surveillance",
    "GomracError": "gomrac.analysis.errors",
    "ConfigError": "gomrac.analysis.errors",
    "CRSError": "gomrac.analysis.errors",
    "DataNotFoundError": "gomrac.analysis.errors",
    "InfeasibleError": "gomrac.analysis.errors",
    "UnknownWardError": "gomrac.analysis.errors",
    "ValidationError": "gomrac.analysis.errors",
}

__all__ = [
    "CRSError",
    "CamerasResult",
    "ConfigError",
    "DataNotFoundError",
    "GomracError",
    "Hotspots",
    "InfeasibleError",
    "PlanOptions",
    "PointsParams",
    "PointsPlan",
    "RoutesParams",
    "RoutesResult",
    "Settings",
    "UnknownWardError",
    "ValidationError",
    "WardData",
    "WardPlan",
    "WeeklyPlan",
    "analyse_hotspots",
    "assignment_from_points_plan",
    "check_week",
    "load_area",
    "load_or_sample",
    "load_reports",
    "load_streams",
    "plan_cameras",
    "plan_points",
    "plan_routes",
    "plan_ward",
    "plan_week",
    "sample_area",
    "settings_from_env",
    "write_week",
]

if TYPE_CHECKING:
    from gomrac.analysis.errors import (
        ConfigError,
        CRSError,
        DataNotFoundError,
        GomracError,
        InfeasibleError,
        UnknownWardError,
        ValidationError,
    )
    from gomrac.analysis.weekly import WeeklyPlan
    from gomrac.api.check import check_week
    from gomrac.api.pipeline import WardData
    from gomrac.api.planning import (
        PlanOptions,
        WardPlan,
        load_area,
        load_or_sample,
        plan_ward,
        sample_area,
    )
    from gomrac.api.points import PointsParams, PointsPlan, plan_points
    from gomrac.api.routes import RoutesParams, RoutesResult, plan_routes
    from gomrac.api.surveillance import (
        CamerasResult,
        Hotspots,
        analyse_hotspots,
        load_reports,
        plan_cameras,
    )
    from gomrac.api.weekly import assignment_from_points_plan, plan_week, write_week
    from gomrac.geo.settings import Settings, settings_from_env
    from gomrac.geo.streams import load_streams


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562)."""
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    msg = f"module 'gomrac' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return [*globals(), *__all__]
