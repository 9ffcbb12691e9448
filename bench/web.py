"""Report posting under load: rate and latency, with and without a read flood, and kill -9.

```
python -m bench.web [--databases sqlite,postgis] [--postgis-url URL | --durable]
                    [--reports 2000] [--concurrency 100] [--readers 20] [--workers 2] [--json]
```

Each database gets a fresh store (a SpatiaLite file, or a new schema on the PostGIS server) and
its own server, ``gomrac serve --workers N`` started from this interpreter on 127.0.0.1 (access
log on, as it ships). Three runs per database:

- ``post``: ``--reports`` POSTs from ``--concurrency`` client threads (keep-alive connections),
  random points inside five central wards; posting rate, p50 / p99 / max latency, failures;
- ``post+reads``: the same while ``--readers`` threads of a separate client process GET
  ``/open311/v2/requests.json`` (the default page, no conditional headers) in a loop as fast
  as answers come; the reads' rate and p99 too (the flood runs in its own process so that its
  threads do not slow the posting client's own timing through the GIL);
- ``kill -9``: posting at the same concurrency, the server killed with SIGKILL once half the
  reports are acknowledged; then every acknowledged id is looked up in the database and the
  missing ones counted (must be 0).

Rate limits are off for the bench (one client posts everything); reports are published at once.
The table names the durability setting of the database used (PostgreSQL ``fsync`` and
``synchronous_commit``, SQLite's ``synchronous``): a durability figure only holds for a server
that syncs its commits. The test server of ``scripts/postgis.sh`` runs with ``fsync=off``;
``--durable`` starts (if needed) and uses its second cluster, ``scripts/postgis.sh start
--durable``, which runs with ``fsync=on`` and ``synchronous_commit=on``.

Client, server and database share the machine's cores: on a small machine the posting rate and
the latencies measure that sharing as much as the server.
"""

from __future__ import annotations

import argparse
import multiprocessing
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
    cmd = [sys.executable, "-c", "import sys; from gomrac.api.cli import main; sys.exit(main())"]
    cmd += ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    log = (folder / f"server-{port}.log").open("wb")
    proc = subprocess.Popen(  # its own process group: kill -9 reaches the workers too
        cmd, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            msg = f"gomrac serve exited: see {log.name}"
            raise RuntimeError(msg)
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    msg = "gomrac serve did not start within 120 s"
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


def _read_flood(
    base: str, readers: int, stop: Any, started: Any, out: Any
) -> None:  # in its own process
    times: list[float] = []
    lock = threading.Lock()

    def loop() -> None:
        mine: list[float] = []
        with httpx.Client(base_url=base, timeout=60) as client:
            while not stop.is_set():
                began = time.perf_counter()
                try:
                    client.get("/open311/v2/requests.json").raise_for_status()
                except httpx.HTTPError:
                    continue
                mine.append(time.perf_counter() - began)
        with lock:
            times.extend(mine)

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(readers)]
    for t in threads:
        t.start()
    started.set()
    stop.wait()
    for t in threads:
        t.join(timeout=70)
    out.put(times)


def _stored(db_url: str, ids: list[str]) -> int:
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine)() as session:
            found = set(session.scalars(select(Report.id)))
    finally:
        engine.dispose()
    return sum(1 for rid in ids if int(rid) in found)


def _row(
    db: str, run: str, durability: str, lat: list[float], ids: list[str], failed: int, wall: float
) -> dict[str, Any]:
    return {
        "database": db,
        "durability": durability,
        "run": run,
        "posted": len(ids),
        "failed": failed,
        "posts/s": len(ids) / wall if wall else float("nan"),
        "p50 s": _percentile(lat, 50),
        "p99 s": _percentile(lat, 99),
        "max s": max(lat) if lat else float("nan"),
    }


def bench_database(
    db: str, db_url: str, durability: str, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """The three runs on one database."""
    rows: list[dict[str, Any]] = []
    folder = Path(tempfile.mkdtemp(prefix=f"gomrac-bench-web-{db}-"))
    points = _points(args.reports, seed=311)
    proc, base = _start(db_url, folder, args.workers)
    try:
        lat, ids, failed, wall = _post_all(base, points, args.concurrency)
        rows.append(_row(db, "post", durability, lat, ids, failed, wall))
        ctx = multiprocessing.get_context("spawn")
        stop, ready, out = ctx.Event(), ctx.Event(), ctx.Queue()
        flood = ctx.Process(target=_read_flood, args=(base, args.readers, stop, ready, out))
        flood.start()
        ready.wait(timeout=120)
        time.sleep(1.0)  # the readers are busy before the first post
        try:
            lat, ids, failed, wall = _post_all(base, points, args.concurrency)
        finally:
            stop.set()
            reads: list[float] = out.get(timeout=120)
            flood.join(timeout=60)
        row = _row(db, "post+reads", durability, lat, ids, failed, wall)
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
            "durability": durability,
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
        sync_commit = str(conn.execute(text("SHOW synchronous_commit")).scalar())
    admin.dispose()
    with_path = make_url(url).update_query_dict({"options": f"-csearch_path={schema},public"})
    durability = f"fsync={fsync} synchronous_commit={sync_commit}"
    return with_path.render_as_string(hide_password=False), schema, durability


def _sqlite_durability(url: str) -> str:
    engine = make_engine(url)  # the server's own connection set-up (WAL, busy timeout)
    try:
        with engine.connect() as conn:
            journal = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
            level = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    finally:
        engine.dispose()
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    return f"journal={journal} synchronous={names.get(int(level or 0), level)}"


def _durable_url() -> str:
    script = REPO_ROOT / "scripts" / "postgis.sh"
    done = subprocess.run(
        ["bash", str(script), "start", "--durable"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        msg = f"scripts/postgis.sh start --durable failed: {done.stderr.strip()}"
        raise RuntimeError(msg)
    return done.stdout.strip().splitlines()[-1]


def main(argv: list[str] | None = None) -> int:
    """Run the bench and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,postgis")
    parser.add_argument("--postgis-url", default=None, help="a PostGIS server (SQLAlchemy URL)")
    parser.add_argument(
        "--durable",
        action="store_true",
        help="PostGIS on the fsync=on cluster of scripts/postgis.sh (started when needed)",
    )
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
            url = f"sqlite:///{folder / 'bench.sqlite'}"
            rows += bench_database(db, url, _sqlite_durability(url), args)
        elif db == "postgis":
            if args.durable and not args.postgis_url:
                args.postgis_url = _durable_url()
            if not args.postgis_url:
                sys.stderr.write("bench.web: --postgis-url or --durable is needed for postgis\n")
                return 2
            url, schema, durability = _postgis_schema(args.postgis_url)
            try:
                rows += bench_database(db, url, durability, args)
            finally:
                admin = create_engine(args.postgis_url)
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
        else:
            sys.stderr.write(f"bench.web: unknown database {db!r}; use sqlite or postgis\n")
            return 2
    emit(rows, as_json=args.json, title="report posting under load")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
