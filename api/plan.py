"""`gomrac plan`: a ward planned end to end, with every layer on one interactive map.

Steps: ward data → gathering points (cover every household within the walk) → collection routes
for the daily (food + residual) and twice-weekly (recyclable) collections, with handcart rounds
→ the published schedule → dumping hotspots → a camera plan. Layers with no public source
(existing points, reports, cameras) come from files when given, else from the scenario generator,
labelled synthetic everywhere.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any, Final, TextIO

from gomrac.api._cli import emit, fleet_rules, read_groups
from gomrac.api.commands import service_options, siting_rules
from gomrac.api.outputs import write_plan
from gomrac.api.planning import PlanOptions, load_or_sample, plan_ward

if TYPE_CHECKING:
    import argparse

    from gomrac.geo.settings import Settings


def run_plan(args: argparse.Namespace, settings: Settings) -> int:
    """Plan a ward end to end (`gomrac.api.planning.plan_ward`) and write it under ``args.out``."""
    from gomrac.geo.layers import read_layer

    data, why = load_or_sample(
        args.ward,
        settings=settings,
        boundary=args.boundary,
        sample_if_missing=args.sample_if_missing,
        osm=args.osm,
        facilities=args.facilities,
        refresh_roads=args.refresh_roads,
        population=args.population,
        landfill=args.landfill,
        rules=fleet_rules(args),
        groups=read_groups(args, settings),
        progress=sys.stderr.isatty(),
    )
    if why is not None:
        sys.stderr.write(
            f"gomrac: no road data for {args.ward or args.boundary}: {why}\n"
            "gomrac: running the same plan on the HANOI SAMPLE AREA (real OSM streets of central "
            "Hanoi) instead; every output is labelled as such.\n"
        )
    existing = (
        read_layer(
            args.existing,
            kind="gathering_points",
            area=data.area.geometry,
            area_name=data.area.name,
        )
        if getattr(args, "existing", None)
        else None
    )
    options = PlanOptions(
        walk_m=args.walk_m,
        camera_budget=args.budget,
        time_limit_s=args.time_limit,
        reports=getattr(args, "reports", None) or "synthetic",
        existing_points=existing,
        **service_options(args),
        siting_rules=siting_rules(args).get("rules"),
    )
    sys.stderr.write("gomrac plan: points, the weekly plan per stream, hotspots, cameras…\n")
    stages = StageLog(sys.stderr)
    plan = plan_ward(
        data, settings=settings, options=options, is_sample=why is not None, on_stage=stages
    )
    stages("files", 1.0)
    result = write_plan(plan, args.out)
    emit(_headline(result) if not args.json else result, as_json=args.json)
    return 0


#: What each step of `plan_ward` is called on the terminal.
STAGE_NAMES: Final = {
    "points": "gathering points",
    "week": "weekly plan per stream",
    "hotspots": "dumping hotspots",
    "cameras": "cameras",
    "files": "writing the files",
}


class StageLog:
    """Write a line per step of a plan, and one per tenth of the plan within a long step.

    Parameters
    ----------
    out
        Where the lines go (the terminal's standard error).
    """

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._t0 = time.perf_counter()
        self._stage = ""
        self._tenth = -1

    def __call__(self, stage: str, done: float) -> None:
        """Note that `stage` is running with `done` (0 to 1) of the plan behind it."""
        tenth = int(10 * done + 1e-9)
        if stage == self._stage and tenth <= self._tenth:
            return
        self._stage, self._tenth = stage, tenth
        elapsed = time.perf_counter() - self._t0
        name = STAGE_NAMES.get(stage, stage)
        self._out.write(f"gomrac plan: {elapsed:5.0f} s {100 * done:3.0f} %  {name}\n")
        self._out.flush()


def _headline(result: dict[str, Any]) -> dict[str, Any]:
    """Pick the figures a ward official reads first."""
    w, p, week, h, c = (
        result["ward"],
        result["points"],
        result["week"],
        result["hotspots"],
        result["cameras"],
    )
    return {
        "area": result["label"],
        "households": w["households"],
        "waste_t_per_day": w["waste_t_per_day"],
        "gathering_points_new": p["new_points"],
        "households_within_walk_pct": p["covered_after_pct"],
        "tonnes_per_week": {k: v["tonnes_per_week"] for k, v in week["streams"].items()},
        "km_per_week": week["km_per_week"],
        "co2_kg_per_week": week["co2_kg_per_week"],
        "check_violations": week["check_violations"],
        "hotspots": h["hotspots"],
        "cameras_covered_weight_pct": c["covered_weight_pct"],
        "synthetic_layers": result["synthetic_layers"],
        "map": result["map"],
    }
