"""Vector tiles of the large layers under load: requests per second and latency, cold and warm.

```
python -m bench.tiles [--boundary F] [--zooms 14,15,16,17] [--layers streets,buildings]
                      [--requests 2000] [--concurrency 20] [--json]
```

A ward plan is made for the area of ``--boundary`` (default: a 1 km² area around Văn Miếu,
Hanoi, on the shared street extract; short searches) and served by uvicorn (one process, in a
thread of this interpreter) on 127.0.0.1. For each layer:

- ``cold``: every tile of the area at the ``--zooms``, each asked once (encoded on demand);
- ``warm``: ``--requests`` GETs of tiles drawn at random from the same set by ``--concurrency``
  client threads (keep-alive connections): the tiles are then kept encoded in memory;
- ``geojson``: for comparison, the same number of bbox GeoJSON requests of the same tiles' areas
  (the endpoint the map used before tiles).

Each row gives requests/s, p50 / p99 / max latency (ms), the tiles that had features (200) and
those that were empty (204), and the mean size of a non-empty answer.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx
import numpy as np
import uvicorn
from shapely.geometry import box

from bench._report import emit
from gomrac.api.main import create_app
from gomrac.api.web import layers, tiles
from gomrac.geo.settings import settings_from_env

VAN_MIEU = (105.8268, 21.0233, 105.8390, 21.0303)


def _plan(boundary: Path | None) -> Any:
    from gomrac.api.pipeline import load_ward_data
    from gomrac.api.planning import PlanOptions, plan_ward

    settings = settings_from_env()
    if boundary is None:
        boundary = Path(tempfile.mkdtemp(prefix="gomrac-bench-tiles-")) / "van_mieu.geojson"
        gpd.GeoDataFrame(
            {"name": ["Văn Miếu (Hà Nội, mẫu)"]}, geometry=[box(*VAN_MIEU)], crs=4326
        ).to_file(boundary)
    data = load_ward_data(boundary=boundary, settings=settings)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return plan_ward(
            data,
            settings=settings,
            options=PlanOptions(time_limit_s=5, camera_budget=4),
            is_sample=True,
        )


def _serve(plan: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    folder = Path(tempfile.mkdtemp(prefix="gomrac-bench-tiles-"))
    settings = settings_from_env().model_copy(
        update={"database_url": f"sqlite:///{folder / 'bench.sqlite'}"}
    )
    app = create_app(settings)
    layers.register_plan(app, layers.SAMPLE_KEY, plan)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if time.monotonic() > deadline:
            msg = "the bench server did not start"
            raise RuntimeError(msg)
        time.sleep(0.1)
    return server, thread, f"http://127.0.0.1:{port}"


def _tiles_of(bounds: tuple[float, ...], zooms: list[int]) -> list[tuple[int, int, int]]:
    out = []
    for z in zooms:
        x0, y0 = tiles.tile_of(bounds[0], bounds[3], z)
        x1, y1 = tiles.tile_of(bounds[2], bounds[1], z)
        out += [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    return out


def _run(base: str, urls: list[str], concurrency: int) -> dict[str, Any]:
    """GET every URL of `urls` from `concurrency` threads; rate, latency, statuses, sizes."""
    local = threading.local()

    def get(url: str) -> tuple[float, int, int]:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=base, timeout=60)
        t0 = time.perf_counter()
        answer = client.get(url)
        return time.perf_counter() - t0, answer.status_code, len(answer.content)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(get, urls))
    wall = time.perf_counter() - t0
    ms = np.array([r[0] for r in results]) * 1000
    sizes = [r[2] for r in results if r[1] == 200]
    return {
        "requests": len(urls),
        "req_per_s": len(urls) / wall,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "ok_200": sum(1 for r in results if r[1] == 200),
        "empty_204": sum(1 for r in results if r[1] == 204),
        "failed": sum(1 for r in results if r[1] not in (200, 204)),
        "mean_kib": (sum(sizes) / len(sizes) / 1024) if sizes else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the bench and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--boundary", type=Path, default=None, help="the area (GeoJSON polygon)")
    parser.add_argument("--zooms", default="14,15,16,17")
    parser.add_argument("--layers", default="streets,buildings")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    zooms = [int(z) for z in args.zooms.split(",")]
    plan = _plan(args.boundary)
    server, thread, base = _serve(plan)
    rng = np.random.default_rng(args.seed)
    rows: list[dict[str, Any]] = []
    try:
        grid = _tiles_of(plan.data.area.geometry.bounds, zooms)
        for layer in args.layers.split(","):
            urls = [f"/api/layers/sample/tiles/{layer}/{z}/{x}/{y}.mvt" for z, x, y in grid]
            rows.append({"layer": layer, "run": "cold", "tiles": len(grid)} | _run(base, urls, 1))
            picks = rng.integers(0, len(urls), args.requests)
            warm = [urls[i] for i in picks]
            rows.append(
                {"layer": layer, "run": "warm", "tiles": len(grid)}
                | _run(base, warm, args.concurrency)
            )
            boxes = []
            for i in picks:
                z, x, y = grid[i]
                bbox = ",".join(f"{v:.7f}" for v in tiles.tile_lonlat_bounds(z, x, y))
                boxes.append(f"/api/layers/sample/{layer}.geojson?bbox={bbox}&page_size=5000")
            rows.append(
                {"layer": layer, "run": "geojson", "tiles": len(grid)}
                | _run(base, boxes, args.concurrency)
            )
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    emit(rows, as_json=args.json, title="vector tiles under load")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
