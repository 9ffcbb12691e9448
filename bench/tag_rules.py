"""Which ways each tag rule excludes from the truck and handcart networks, in ways and km.

    python -m bench.tag_rules [--boundary FILE] [--ward W] [--no-name-fallback] [--json]

With no argument it reports on the Hanoi sample area (the real central-Hanoi OSM extract). The
first table has one row per mode and rule (``ways``/``km`` the rule closes all week,
``only_ways``/``only_km`` closed by it alone), then the ways kept but closed part of the week
(``time-limited``), those open but cut off from the truck network, those kept, and all ways. The
second lists the tag values the rules could not read, counted, never raised.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import pandas as pd

from bench._report import emit
from gomrac.geo.network import NetworkRules, exclusion_report
from gomrac.geo.settings import settings_from_env
from gomrac.geo.wards import resolve_area


def _clean(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            k: ("" if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else v)
            for k, v in row.items()
        }
        for row in rows
    ]


def main(argv: list[str] | None = None) -> None:
    """Print the exclusion table and the unreadable tag values of one area."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ward")
    p.add_argument("--boundary", type=Path)
    p.add_argument("--no-name-fallback", action="store_true")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    settings = settings_from_env(offline=True)
    boundary = args.boundary
    if boundary is None and args.ward is None:
        boundary = settings.data_dir / "boundaries" / "hanoi_central_sample_area.geojson"
    area = resolve_area(args.ward, boundary=boundary, settings=settings)
    rules = NetworkRules(name_fallback=not args.no_name_fallback)
    report = exclusion_report(area, settings=settings, rules=rules)
    emit(
        _clean(report.summary.to_dict("records")),
        as_json=args.json,
        title=f"Tag rules on {area.name}: ways and km each rule excludes",
    )
    emit(
        _clean(report.problems.to_dict("records")),
        as_json=args.json,
        title="Tag values the rules could not read (counted, not applied)",
    )


if __name__ == "__main__":
    main()
