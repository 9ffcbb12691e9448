"""Plumbing of the command line: the command registry, the common area arguments, output.

The command modules (`gomrac.api.cli`, `gomrac.api.commands`, `gomrac.api.plan`) register their
handlers here with `command`; `gomrac.api.cli.main` builds the parser and dispatches.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gomrac.geo.settings import Settings

_Command = Callable[[argparse.Namespace, Settings], int]

COMMANDS: dict[str, _Command] = {}


def command(name: str) -> Callable[[_Command], _Command]:
    """Register a command function under a space-separated name ("ward summary")."""

    def deco(fn: _Command) -> _Command:
        COMMANDS[name] = fn
        return fn

    return deco


def area_args(p: argparse.ArgumentParser, *, ward_required: bool = False) -> None:
    p.add_argument("ward", nargs=None if ward_required else "?", help="ward or commune name")
    p.add_argument("--boundary", type=Path, help="a polygon file to use instead of a ward")
    p.add_argument("--osm", type=Path, help="a local OSM extract (.osm, .osm.pbf, .graphml)")
    p.add_argument(
        "--refresh-roads",
        action="store_true",
        help="rebuild the road networks instead of reading data/osm's cache "
        "(online: download them again)",
    )
    p.add_argument("--population", type=float, help="persons living in the area (else census)")
    p.add_argument("--facilities", type=Path, help="a facilities file overriding the shared one")
    p.add_argument(
        "--groups",
        type=Path,
        help="residential groups (tổ dân phố) polygons; else estimated from the demand",
    )
    p.add_argument("--json", action="store_true", help="print JSON on stdout")


def emit(result: dict[str, Any] | list[Any], *, as_json: bool) -> None:
    """Print a result: JSON on stdout, or ``key: value`` lines."""
    if as_json:
        sys.stdout.write(
            json.dumps(result, ensure_ascii=False, indent=2, default=_json_default) + "\n"
        )
        return
    if isinstance(result, list):
        for row in result:
            sys.stdout.write(json.dumps(row, ensure_ascii=False, default=_json_default) + "\n")
        return
    for k, v in result.items():
        text = (
            json.dumps(v, ensure_ascii=False, default=_json_default)
            if isinstance(v, dict | list)
            else v
        )
        sys.stdout.write(f"{k}: {text}\n")


def _json_default(value: object) -> object:
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, Path):
        return str(value)
    return str(value)


def read_groups(args: argparse.Namespace, settings: Settings) -> Any:
    """Read the residential groups of ``--groups FILE`` (validated against the ward), or None."""
    path = getattr(args, "groups", None)
    if not path:
        return None
    from gomrac.geo.layers import read_layer
    from gomrac.geo.wards import resolve_area

    area = resolve_area(args.ward, boundary=args.boundary, settings=settings)
    groups = read_layer(path, kind="groups", area=area.geometry, area_name=area.name)
    groups["group_id"] = range(len(groups))
    return groups


def fleet_rules(args: argparse.Namespace) -> Any:
    """Return the truck network's rules for ``--fleet FILE``'s largest vehicle (or None)."""
    if not getattr(args, "fleet", None):
        return None
    from gomrac.api.routes import fleet_from_file, truck_rules

    return truck_rules(fleet_from_file(args.fleet))


def load(
    args: argparse.Namespace,
    settings: Settings,
    *,
    require_roads: bool = True,
    progress: bool = True,
) -> Any:
    """Load a ward's data from the common area arguments (see `api.pipeline.load_ward_data`)."""
    from gomrac.api.pipeline import load_ward_data

    return load_ward_data(
        args.ward,
        settings=settings,
        rules=fleet_rules(args),
        boundary=args.boundary,
        osm_path=args.osm,
        facilities_path=args.facilities,
        population=args.population,
        require_roads=require_roads,
        refresh_roads=args.refresh_roads,
        landfill=getattr(args, "landfill", None),
        groups=read_groups(args, settings),
        progress=progress and sys.stderr.isatty(),
    )
