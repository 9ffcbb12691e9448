"""Load test: many concurrent reports against a real uvicorn server, on each backend."""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx
import numpy as np
import pytest
import shapely
from sqlalchemy import func, select

from gomrac.geo.db import make_engine, make_sessionmaker
from gomrac.geo.models import Report, ReportUpdate

N_REPORTS = 1000
N_CLIENTS = 16
LOAD_TIMEOUT_S = 240.0  # the whole burst; a request alone times out after 60 s


@pytest.fixture
def live_server(start_server: Any) -> str:
    """Base URL of uvicorn running the app on the test database (stopped afterwards)."""
    return str(start_server().base)


def _points_in_city(data_dir: Path, n: int, seed: int) -> list[tuple[float, float]]:
    """`n` random (lat, long) points spread over five central wards, each inside its polygon."""
    wards = gpd.read_file(data_dir / "boundaries" / "haiphong_wards_2025_official_map.geojson")
    # Lê Chân, Hồng Bàng, Gia Viên, An Biên, Hưng Đạo (official 2025 codes)
    central = wards[wards["code"].isin(["11383", "11311", "11359", "11407", "11689"])]
    assert len(central) == 5
    rng = np.random.default_rng(seed)
    out: list[tuple[float, float]] = []
    polygons = list(central.geometry)
    while len(out) < n:
        poly = polygons[len(out) % len(polygons)]
        minx, miny, maxx, maxy = poly.bounds
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if shapely.contains_xy(poly, x, y):
            out.append((y, x))
    return out


@pytest.mark.slow
def test_concurrent_reports__every_accepted_report_is_stored(
    live_server: str, db_url: str, data_dir: Path
) -> None:
    """1,000 reports from 16 concurrent clients are all accepted, and the DB holds exactly those."""
    points = _points_in_city(data_dir, N_REPORTS, seed=311)
    codes = ["household_waste", "overflowing_point", "burning"]
    local = threading.local()
    clients: list[httpx.Client] = []
    lock = threading.Lock()

    def post(i: int) -> tuple[int, str | None]:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(base_url=live_server, timeout=60)
            with lock:
                clients.append(client)
        lat, lon = points[i]
        data = {
            "service_code": codes[i % 3],
            "lat": f"{lat:.7f}",
            "long": f"{lon:.7f}",
            "description": f"load test report {i}",
        }
        response = client.post("/open311/v2/requests.json", data=data)
        rid = response.json()[0]["service_request_id"] if response.is_success else None
        return response.status_code, rid

    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=N_CLIENTS) as pool:
            results = list(pool.map(post, range(N_REPORTS), timeout=LOAD_TIMEOUT_S))
    finally:
        for client in clients:
            client.close()
    elapsed = time.monotonic() - started

    accepted = [rid for status, rid in results if 200 <= status < 300]
    statuses = sorted({status for status, _ in results})
    assert statuses == [200], statuses
    assert len(accepted) == N_REPORTS
    assert len(set(accepted)) == N_REPORTS  # no id handed out twice

    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine)() as session:
            n_rows = session.scalar(select(func.count()).select_from(Report))
            ids = set(session.scalars(select(Report.id)))
            n_created = session.scalar(
                select(func.count())
                .select_from(ReportUpdate)
                .where(ReportUpdate.field == "workflow_status", ReportUpdate.old.is_(None))
            )
    finally:
        engine.dispose()
    assert n_rows == len(accepted)
    assert ids == {int(rid) for rid in accepted if rid is not None}
    assert n_created == N_REPORTS  # one "received" audit row per report
    sys.stderr.write(f"\n{N_REPORTS} reports in {elapsed:.1f} s ({N_REPORTS / elapsed:.0f}/s)\n")
    assert elapsed < LOAD_TIMEOUT_S
