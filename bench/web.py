"""Report posting under load: rate and latency, with and without a read flood, and kill -9.

```
python -m bench.web [--databases sqlite,postgis] [--postgis-url URL] [--reports 2000]
                    [--concurrency 100] [--readers 20] [--workers 2] [--json]
```

Each database gets a fresh store (a SpatiaLite file, or a new schema on the PostGIS server) and
its own uvicorn server (``--workers`` processes) started from this interpreter on 127.0.0.1.
Three runs per database:

- ``post``: ``--reports`` POSTs from ``--concurrency`` client threads (keep-alive connections),
  random points inside five central wards; posting rate, p50 / p99 / max latency, failures;
- ``post+reads``: the same while ``--readers`` threads GET ``/open311/v2/requests.json`` (the
  default page) in a loop; the reads' rate and p99 too;
- ``kill -9``: posting at the same concurrency, the server killed with SIGKILL once half the
  reports are acknowledged; then every acknowledged id is looked up in the database and the
  missing ones counted (must be 0).

Rate limits are off for the bench (one client posts everything); reports are published at once.
The table names the PostgreSQL ``fsync`` setting of the server used: a durability figure only
holds for a server with ``fsync=on`` (the test server of ``scripts/postgis.sh`` runs with it off).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import shapely
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from bench._report import emit
from gomrac.geo.db import make_engine, make_sessionmaker
from gomrac.geo.models import Report
from gomrac.geo.settings import settings_from_env
from gomrac.geo.wards import list_wards

REPO_ROOT = Path(__file__).resolve().parents[1]
CENTRAL_WARDS = ("11383", "11311", "11359", "11407", "11689")  # Lê Chân, Hồng Bàng, ...
CODES = ("household_waste", "overflowing_point", "burning")


def _points(n: int, *, seed: int) -> list[tuple[float, float]]:
    wards = list_wards(settings=settings_from_env())
    polygons = list(wards[wards["code"].isin(CENTRAL_WARDS)].geometry)
    rng = np.random.default_rng(seed)
    out: list[tuple[float, float]] = []
    while len(out) < n:
        poly = polygons[len(out) % len(polygons)]
        minx, miny, maxx, maxy = poly.bounds
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(poly, x, y):
            out.append((y, x))
    return out


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(db_url: str, folder: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {
        **os.environ,
        "GOMRAC_DATABASE_URL": db_url,
        "GOMRAC_MEDIA_DIR": str(folder / "media"),
        "GOMRAC_PUBLISH_REPORTS": "immediately",
        "GOMRAC_POST_LIMIT": "0",
        "GOMRAC_POST_LIMIT_PER_DEVICE": "0",
    }
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "gomrac.api.main:create_app"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    cmd += ["--log-level", "warning", "--no-access-log"]
    log = (folder / f"uvicorn-{port}.log").open("wb")
    proc = subprocess.Popen(  # its own process group: kill -9 reaches the workers too
        cmd, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            msg = f"uvicorn exited: see {log.name}"
            raise RuntimeError(msg)
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    msg = "uvicorn did not start within 120 s"
    raise RuntimeError(msg)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


class _Clients(threading.local):
    client: httpx.Client | None = None


def _post_all(
    base: str,
    points: list[tuple[float, float]],
    concurrency: int,
    *,
    on_ack: Any = None,
) -> tuple[list[float], list[str], int, float]:
    local = _Clients()
    made: list[httpx.Client] = []
    lock = threading.Lock()

    def post(i: int) -> tuple[float, str | None]:
        if local.client is None:
            local.client = httpx.Client(base_url=base, timeout=60)
            with lock:
                made.append(local.client)
        lat, lon = points[i]
        data = {"service_code": CODES[i % 3], "lat": f"{lat:.7f}", "long": f"{lon:.7f}"}
        started = time.perf_counter()
        try:
            response = local.client.post(
                "/open311/v2/requests.json",
                data=data,
                headers={"Idempotency-Key": f"bench-{uuid.uuid4()}"},
            )
        except httpx.HTTPError:
            return time.perf_counter() - started, None
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            return elapsed, None
        rid = str(response.json()[0]["service_request_id"])
        if on_ack is not None:
            on_ack(rid)
        return elapsed, rid

    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            results = list(pool.map(post, range(len(points))))
    finally:
        for c in made:
            c.close()
    wall = time.perf_counter() - started
    latencies = [t for t, rid in results if rid is not None]
    ids = [rid for _, rid in results if rid is not None]
    return latencies, ids, len(results) - len(ids), wall


def _read_flood(base: str, readers: int, stop: threading.Event, out: list[float]) -> None:
    def loop() -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    client.get("/open311/v2/requests.json")
                except httpx.HTTPError:
                    continue
                out.append(time.perf_counter() - started)

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(readers)]
    for t in threads:
        t.start()
    stop.wait()
    for t in threads:
        t.join(timeout=70)


def _stored(db_url: str, ids: list[str]) -> int:
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine)() as session:
            found = set(session.scalars(select(Report.id)))
    finally:
        engine.dispose()
    return sum(1 for rid in ids if int(rid) in found)


def _row(
    db: str, run: str, fsync: str, lat: list[float], ids: list[str], failed: int, wall: float
) -> dict[str, Any]:
    return {
        "database": db,
        "fsync": fsync,
        "run": run,
        "posted": len(ids),
        "failed": failed,
        "posts/s": len(ids) / wall if wall else float("nan"),
        "p50 s": _percentile(lat, 50),
        "p99 s": _percentile(lat, 99),
        "max s": max(lat) if lat else float("nan"),
    }


def bench_database(
    db: str, db_url: str, fsync: str, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """The three runs on one database."""
    rows: list[dict[str, Any]] = []
    folder = Path(tempfile.mkdtemp(prefix=f"gomrac-bench-web-{db}-"))
    points = _points(args.reports, seed=311)
    proc, base = _start(db_url, folder, args.workers)
    try:
        lat, ids, failed, wall = _post_all(base, points, args.concurrency)
        rows.append(_row(db, "post", fsync, lat, ids, failed, wall))
        stop, reads = threading.Event(), []
        flood = threading.Thread(target=_read_flood, args=(base, args.readers, stop, reads))
        flood.start()
        time.sleep(1.0)  # the readers are busy before the first post
        try:
            lat, ids, failed, wall = _post_all(base, points, args.concurrency)
        finally:
            stop.set()
            flood.join()
        row = _row(db, "post+reads", fsync, lat, ids, failed, wall)
        row["reads/s"] = len(reads) / wall if wall else float("nan")
        row["read p99 s"] = _percentile(reads, 99)
        rows.append(row)
    finally:
        _stop(proc)

    proc, base = _start(db_url, folder, args.workers)
    acked: list[str] = []
    ack_lock = threading.Lock()
    half = args.reports // 2

    def on_ack(rid: str) -> None:
        with ack_lock:
            acked.append(rid)
            if len(acked) == half and proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)  # the server's group: master and workers

    try:
        _post_all(base, points, args.concurrency, on_ack=on_ack)
    finally:
        _stop(proc)
    with ack_lock:
        ids = list(acked)
    rows.append(
        {
            "database": db,
            "fsync": fsync,
            "run": "kill -9",
            "posted": len(ids),
            "missing after kill": len(ids) - _stored(db_url, ids),
        }
    )
    return rows


def _postgis_schema(url: str) -> tuple[str, str, str]:
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        fsync = str(conn.execute(text("SHOW fsync")).scalar())
    admin.dispose()
    with_path = make_url(url).update_query_dict({"options": f"-csearch_path={schema},public"})
    return with_path.render_as_string(hide_password=False), schema, fsync


def main(argv: list[str] | None = None) -> int:
    """Run the bench and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,postgis")
    parser.add_argument("--postgis-url", default=None, help="a PostGIS server (SQLAlchemy URL)")
    parser.add_argument("--reports", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    for db in args.databases.split(","):
        if db == "sqlite":
            folder = Path(tempfile.mkdtemp(prefix="gomrac-bench-web-"))
            rows += bench_database(db, f"sqlite:///{folder / 'bench.sqlite'}", "n/a", args)
        elif db == "postgis":
            if not args.postgis_url:
                sys.stderr.write("bench.web: --postgis-url is needed for postgis\n")
                return 2
            url, schema, fsync = _postgis_schema(args.postgis_url)
            try:
                rows += bench_database(db, url, fsync, args)
            finally:
                admin = create_engine(args.postgis_url)
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    emit(rows, as_json=args.json, title="report posting under load")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
