"""`gomrac plan`: a ward planned end to end, with every layer on one interactive map."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

from analysis.errors import DataNotFoundError
from api import maps
from api.cli import emit
from api.pipeline import HANOI_SAMPLE, load_ward_data, ward_summary
from geo.settings import get_settings

if TYPE_CHECKING:
    import argparse

    from api.pipeline import WardData


def load_or_sample(args: argparse.Namespace) -> tuple[WardData, bool]:
    """The ward's data; without road data and with ``--sample-if-missing``, the Hanoi sample's.

    Returns the data and whether it is the Hanoi stand-in.
    """
    kwargs: dict[str, Any] = {"osm_path": args.osm, "facilities_path": args.facilities,
                              "population": args.population}
    try:
        return load_ward_data(args.ward, boundary=args.boundary, **kwargs), False
    except DataNotFoundError as exc:
        if not args.sample_if_missing:
            raise
        sample = get_settings().data_dir / HANOI_SAMPLE
        sys.stderr.write(
            f"gomrac: no road data for {args.ward or args.boundary}: {exc}\n"
            f"gomrac: running the same plan on the HANOI SAMPLE AREA ({sample.name}, real OSM "
            "streets of central Hanoi) instead; every output is labelled as such.\n"
        )
        data = load_ward_data(boundary=sample, population=args.population)
        return data, True


def run_plan(args: argparse.Namespace) -> int:
    """Run every planning step for a ward and write the outputs under ``args.out``."""
    data, is_sample = load_or_sample(args)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    label = data.area.name + (" — MẪU HÀ NỘI / Hanoi sample, not Hai Phong" if is_sample else "")
    summary = ward_summary(data)
    summary["label"] = label
    summary["hanoi_sample"] = is_sample
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    m = maps.base_map(data, title=label)
    result: dict[str, Any] = {"label": label, "hanoi_sample": is_sample, "summary": summary}
    result["map"] = str(maps.finish(m, out / "map.html"))
    emit(result, as_json=args.json)
    return 0
