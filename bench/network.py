"""Network build time (cold and cached) and peak memory per study area.

    python -m bench.network [--ward "Lê Chân" ...] [--boundary FILE ...] [--json]

With no argument it measures the Hanoi sample area and the four wards of the plans; a ward with
no road data is listed with the reason instead of figures.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench._report import emit, max_rss_mib, measure
from gomrac.analysis.errors import DataNotFoundError
from gomrac.geo.network import networks_for
from gomrac.geo.settings import Settings, settings_from_env
from gomrac.geo.wards import resolve_area

PLAN_WARDS = ("Lê Chân", "Phù Liễn", "Việt Hòa", "Kẻ Sặt")


def run(ward: str | None, boundary: Path | None, settings: Settings) -> dict[str, object]:
    """Build one area's networks cold (empty cache) then cached; return the figures."""
    area = resolve_area(ward, boundary=boundary, settings=settings)
    row: dict[str, object] = {"area": area.name}

    def build_twice(*, trace_memory: bool) -> tuple[Any, Any, Any]:
        with tempfile.TemporaryDirectory() as tmp:
            cold_cache = settings.model_copy(update={"cache_dir": Path(tmp)})
            try:
                with measure(trace_memory=trace_memory) as cold:
                    nets = networks_for(area, settings=cold_cache)
                with measure(trace_memory=trace_memory) as warm:
                    cached = networks_for(area, settings=cold_cache)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        assert cached.from_cache
        return nets, cold, warm

    try:
        # timings without tracemalloc (it slows Python allocation a lot); memory in a second run
        nets, cold, warm = build_twice(trace_memory=False)
        _, cold_mem, warm_mem = build_twice(trace_memory=True)
    except DataNotFoundError as exc:
        row["status"] = "no road data: " + str(exc).split(".")[0]
        return row
    cold.peak_mib, warm.peak_mib = cold_mem.peak_mib, warm_mem.peak_mib
    row.update(
        {
            "source": nets.source.label,
            "truck_nodes": len(nets.truck),
            "truck_edges": nets.truck.number_of_edges(),
            "cart_nodes": len(nets.cart),
            "cart_edges": nets.cart.number_of_edges(),
            "cold_s": round(cold.seconds, 2),
            "cold_peak_mib": round(cold.peak_mib, 1),
            "cached_s": round(warm.seconds, 2),
            "cached_peak_mib": round(warm.peak_mib, 1),
            "process_max_rss_mib": round(max_rss_mib(), 1),
            "status": "ok",
        }
    )
    return row


def main(argv: list[str] | None = None) -> None:
    """Measure every requested area and print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ward", action="append", default=[])
    p.add_argument("--boundary", action="append", type=Path, default=[])
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    settings = settings_from_env(offline=True)
    boundaries = args.boundary or (
        []
        if args.ward
        else [settings.data_dir / "boundaries" / "hanoi_central_sample_area.geojson"]
    )
    wards = args.ward or ([] if args.boundary else list(PLAN_WARDS))
    rows = [run(None, b, settings) for b in boundaries] + [run(w, None, settings) for w in wards]
    emit(rows, as_json=args.json, title="Road networks: build time cold / cached, peak memory")


if __name__ == "__main__":
    main()
