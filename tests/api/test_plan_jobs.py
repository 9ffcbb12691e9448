"""Plan runs as background jobs, on SpatiaLite (the app's thread) and PostGIS (procrastinate).

The PostGIS runs go through a real procrastinate worker, started in a thread of the test on
the test's schema; the SpatiaLite runs through the web app's in-process worker.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import pytest
from shapely.geometry import Point
from sqlalchemy import text

import gomrac
from gomrac.api.jobs import run_worker_async, wait_for_plan
from gomrac.api.plan_runs import PlanRequest, load_ward_plan, stored_ward_scorecard
from gomrac.geo import store
from gomrac.geo.db import session_scope
from gomrac.geo.settings import Settings
from tests.api.conftest import LE_CHAN_WARD

OTHER_WARD = "11948"
JOB_TIMEOUT_S = 900.0
#: How long a cancelled run may take to stop: far below the 600 s its models may run.
STOP_TIMEOUT_S = 120.0
# the Văn Miếu box of tests/conftest.py: three points inside, one far outside (Hai Phong)
POINTS_INSIDE = [(105.8300, 21.0260), (105.8340, 21.0280), (105.8370, 21.0250)]
POINT_OUTSIDE = (106.6800, 20.8600)


@pytest.fixture
def api_settings(api_settings: Settings, tmp_path: Path) -> Settings:
    """The API settings with a plans folder of the test's own."""
    return api_settings.model_copy(update={"plans_dir": tmp_path / "plans"})


@pytest.fixture
def engine(client: Any) -> Any:
    """The app's engine (schema migrated by the app's start)."""
    return client.app.state.engine


@pytest.fixture
def worker(client: Any, api_settings: Settings) -> Iterator[None]:
    """On PostGIS, a procrastinate worker in a thread for the test; nothing on SpatiaLite."""
    if client.app.state.engine.dialect.name != "postgresql":
        yield
        return
    loop = asyncio.new_event_loop()
    task: asyncio.Task[None] | None = None
    failure: list[BaseException] = []

    def run() -> None:
        nonlocal task
        asyncio.set_event_loop(loop)
        task = loop.create_task(
            run_worker_async(
                api_settings, install_signal_handlers=False, poll_s=0.5, name="test-worker"
            )
        )
        try:
            loop.run_until_complete(task)
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # noqa: BLE001  (reported by the test's teardown)
            failure.append(exc)
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="procrastinate-test-worker", daemon=True)
    thread.start()
    yield
    while task is None and thread.is_alive():
        time.sleep(0.05)
    if task is not None and not loop.is_closed():
        loop.call_soon_threadsafe(task.cancel)
    thread.join(120)
    assert not thread.is_alive(), "the procrastinate worker did not stop"
    assert not failure, failure


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _wait_status(engine: Any, plan_id: int, statuses: set[str], timeout_s: float = 300) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        with session_scope(engine) as session:
            plan = store.get_plan(session, plan_id)
        if plan.status in statuses:
            return plan
        assert time.monotonic() < deadline, f"plan {plan_id} still {plan.status}"
        time.sleep(0.05)


def _wait_stage(engine: Any, plan_id: int, stage: str, timeout_s: float = 300) -> Any:
    """Wait until a run is at `stage` (or has finished) and return it."""
    deadline = time.monotonic() + timeout_s
    while True:
        with session_scope(engine) as session:
            plan = store.get_plan(session, plan_id)
        if plan.stage == stage or plan.status not in {"queued", "running"}:
            return plan
        assert time.monotonic() < deadline, f"plan {plan_id} still {plan.status} {plan.stage}"
        time.sleep(0.05)


def _store_points(engine: Any) -> None:
    points = [*POINTS_INSIDE, POINT_OUTSIDE]
    gdf = gpd.GeoDataFrame(
        {
            "name": [f"Điểm {i} (thử)" for i in range(len(points))],
            "status": "existing",
            "bins_660l": [2, 3, 0, 2],
        },
        geometry=[Point(p) for p in points],
        crs=4326,
    )
    with session_scope(engine) as session:
        store.replace_layer(
            session, kind="gathering_points", ward_code=LE_CHAN_WARD, gdf=gdf, source="test"
        )


def _store_cameras(engine: Any) -> None:
    """Two sited cameras and a mobile one in the area, and a fixed one elsewhere in the ward."""
    gdf = gpd.GeoDataFrame(
        {
            "name": ["Cam cố định (thử)", "Cam an ninh (thử)", "Cam lưu động (thử)", "Xa (thử)"],
            "kind": ["fixed", "security", "mobile", "fixed"],
            "status": "existing",
            "heading_deg": [None, 90.0, None, None],
            "fov_deg": [360.0, 90.0, 360.0, 360.0],
            "range_m": [60.0, 40.0, 60.0, 60.0],
        },
        geometry=[
            Point(105.8310, 21.0270),
            Point(105.8350, 21.0290),
            Point(105.8330, 21.0250),
            Point(*POINT_OUTSIDE),
        ],
        crs=4326,
    )
    with session_scope(engine) as session:
        store.replace_layer(session, kind="cameras", ward_code=LE_CHAN_WARD, gdf=gdf, source="test")


def test_plan_job__stored_with_inputs_files_and_scorecard(
    client: Any,
    engine: Any,
    worker: None,
    api_settings: Settings,
    staff_headers: dict[str, str],
    vanmieu_boundary: Path,
    hanoi_streets_file: Path,
) -> None:
    """A plan run as a job is stored done with its inputs' versions, files (SHA-256 checked)
    and summary, uses the ward's stored gathering points, and its scorecard reads back."""
    _store_points(engine)
    _store_cameras(engine)
    assert client.get(f"/api/layers/{LE_CHAN_WARD}").status_code == 404  # no plan yet
    request = PlanRequest(time_limit_s=2, camera_budget=4, boundary=str(vanmieu_boundary))
    queue = client.app.state.plan_queue
    queued = queue.enqueue(LE_CHAN_WARD, request, created_by="lan.nguyen")
    assert queued.status == "queued"
    assert queued.job_id
    plan = wait_for_plan(engine, queued.id, timeout_s=JOB_TIMEOUT_S)

    assert (plan.status, plan.error, plan.stage, plan.progress) == ("done", None, "done", 1.0)
    assert plan.kind == "ward"
    assert plan.created_by == "lan.nguyen"
    assert plan.worker
    assert plan.started_at is not None
    assert plan.finished_at is not None
    assert plan.started_at <= plan.finished_at
    assert PlanRequest.from_params(plan.params) == request

    registers = plan.inputs["registers"]
    assert registers["gathering_points"]["rows"] == 4
    assert registers["gathering_points"]["used"] == 3
    assert registers["gathering_points"]["bins_unknown"] == 1
    assert registers["residential_groups"]["rows"] == 0
    assert (registers["cameras"]["rows"], registers["cameras"]["used"]) == (4, 2)
    assert "existing cameras" not in plan.summary["synthetic_layers"]  # the register's, not demo
    assert plan.summary["points"]["existing_points"] == 3
    area = plan.inputs["area"]
    assert area["hanoi_sample"] is True
    assert area["boundary_file"]["sha256"] == _sha256(vanmieu_boundary)
    assert area["roads"]["file"] == hanoi_streets_file.name
    assert area["roads"]["bytes"] == hanoi_streets_file.stat().st_size
    assert plan.inputs["gomrac"] == gomrac.__version__
    assert plan.inputs["options"]["time_limit_s"] == 2
    assert "MẪU HÀ NỘI" in plan.summary["label"]

    # the files: recorded, present, same bytes; served to the ward's staff
    body = client.get(f"/plans/{plan.id}", headers=staff_headers).json()
    assert body["status"] == "done"
    assert body["inputs"] == plan.inputs
    files = {f["path"]: f for f in body["files"]}
    assert {"plan.json", "map.html", "week/visits.csv"} <= set(files)
    folder = api_settings.plans_path / plan.output_dir
    on_disk = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert sorted(files) == on_disk
    for rel, f in files.items():
        assert f["sha256"] == _sha256(folder / rel), rel
        assert f["bytes"] == (folder / rel).stat().st_size
    download = client.get(files["plan.json"]["url"], headers=staff_headers)
    assert download.status_code == 200
    assert hashlib.sha256(download.content).hexdigest() == files["plan.json"]["sha256"]

    # the ward's pages show the finished run: its points and its residents' calendars
    assert "ward_plan.pickle" in files
    points = client.get(f"/api/layers/{LE_CHAN_WARD}/points.geojson").json()["features"]
    want = plan.summary["points"]["existing_points"] + plan.summary["points"]["new_points"]
    assert len(points) == want
    page = client.get(f"/wards/{LE_CHAN_WARD}")
    assert page.status_code == 200
    assert "MẪU HÀ NỘI" in page.text
    ics = re.search(rf"/wards/{LE_CHAN_WARD}/lich/(to_\d+\.ics)", page.text)
    assert ics is not None
    cal = client.get(ics.group(0))
    assert cal.status_code == 200
    assert cal.content == (folder / "week" / "lich_thu_gom" / "ics" / ics.group(1)).read_bytes()

    # the scorecard read back from the database carries the stored plan's figures
    read, card = stored_ward_scorecard(engine, LE_CHAN_WARD)
    assert read is not None
    assert read.id == plan.id
    by_key = {i.target.key: i for i in card}
    assert len(card) == 9
    week, points = plan.summary["week"], plan.summary["points"]
    cut = by_key["collection_cut"]
    assert cut.numerator == round(week["km_per_week"], 2)
    assert f"{week['co2_kg_per_week']:.1f} kg CO₂" in (cut.detail or "")
    walk = by_key["households_within_walk"]
    assert walk.value == pytest.approx(points["covered_after_pct"], abs=0.05)  # 1 vs 2 decimals
    covered, total = plan.summary["cameras"]["hotspots_covered"].split("/")
    assert f"watch {covered} of {total}" in (by_key["hotspots_watched"].reason or "")
    assert {by_key[k].basis for k in ("collection_cut", "households_within_walk")} == {"planned"}
    assert by_key["reports_resolved"].basis == "measured"

    # a bundle changed after the run is not read back
    found = load_ward_plan(engine, api_settings, LE_CHAN_WARD)
    assert found is not None
    assert found[0] == plan.id
    bundle = folder / "ward_plan.pickle"
    bundle.write_bytes(bundle.read_bytes() + b"\0")
    assert load_ward_plan(engine, api_settings, LE_CHAN_WARD) is None


def test_plan_job__cancel_queued_and_running(
    client: Any, engine: Any, worker: None, api_settings: Settings, staff_headers: dict[str, str]
) -> None:
    """A queued job is cancelled at once; a running one (10-minute solver limits) stops soon
    after the cancel, not at its solvers' time limits; its files are gone."""
    body = {"time_limit_s": 600, "camera_budget": 2, "sample_if_missing": True}
    first = client.post(f"/wards/{LE_CHAN_WARD}/plans", json=body, headers=staff_headers)
    second = client.post(f"/wards/{LE_CHAN_WARD}/plans", json=body, headers=staff_headers)
    assert first.status_code == 202, first.text
    assert second.status_code == 202, second.text
    first_id, second_id = first.json()["id"], second.json()["id"]
    assert first.json()["created_by"] == "lan.nguyen"

    running = _wait_stage(engine, first_id, "points")
    assert running.status == "running", running.error
    cancelled = client.post(f"/plans/{second_id}/cancel", headers=staff_headers)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"

    asked = client.post(f"/plans/{first_id}/cancel", headers=staff_headers)
    assert asked.status_code == 200, asked.text
    assert asked.json()["cancel_requested"] is True
    # the model polls the cancel: the run stops long before the model's time limit would
    stopped = wait_for_plan(engine, first_id, timeout_s=STOP_TIMEOUT_S)
    assert stopped.status == "cancelled"
    assert stopped.stage == "cancelled"
    assert stopped.progress < 0.9
    assert not (api_settings.plans_path / f"plan_{first_id}").exists()
    second_plan = wait_for_plan(engine, second_id, timeout_s=5)
    assert (second_plan.status, second_plan.started_at) == ("cancelled", None)

    again = client.post(f"/plans/{first_id}/cancel", headers=staff_headers)
    assert again.status_code == 400
    assert (
        again.json()["detail"]
        == f"plan {first_id} is already cancelled; there is nothing to cancel"
    )

    if engine.dialect.name == "postgresql":  # procrastinate's own record of the two jobs
        with engine.connect() as conn:
            rows = dict(
                conn.execute(
                    text("SELECT id, status::text FROM procrastinate_jobs WHERE id IN (:a, :b)"),
                    {"a": int(stopped.job_id), "b": int(second_plan.job_id)},
                ).all()
            )
        assert rows == {int(stopped.job_id): "aborted", int(second_plan.job_id): "cancelled"}

    history = client.get(f"/wards/{LE_CHAN_WARD}/plans", headers=staff_headers).json()
    assert [r["id"] for r in history["data"]] == [second_id, first_id]
    assert [r["status"] for r in history["data"]] == ["cancelled", "cancelled"]


def test_plan_job__unknown_ward_fails_with_one_line(
    client: Any, engine: Any, worker: None, sign_in: Any
) -> None:
    """A job for a ward that does not exist is stored failed with a one-line error."""
    admin = sign_in("admin.hp", "admin", [])
    response = client.post("/wards/99999/plans", json={"time_limit_s": 1}, headers=admin)
    assert response.status_code == 202, response.text
    plan = wait_for_plan(engine, response.json()["id"], timeout_s=JOB_TIMEOUT_S)
    assert plan.status == "failed"
    assert plan.error == ("no ward with code '99999' in Hai Phong's 2025 units (gomrac wards)")
    assert plan.finished_at is not None
    detail = client.get(f"/plans/{plan.id}", headers=admin).json()
    assert (detail["status"], detail["error"], detail["files"]) == ("failed", plan.error, [])


def _finished_plan(engine: Any, settings: Settings, ward_code: str) -> int:
    """A done plan run with two files, stored directly (no job runs)."""
    with session_scope(engine) as session:
        plan = store.create_plan_run(
            session, ward_code=ward_code, params={"time_limit_s": 1}, created_by="lan.nguyen"
        )
        assert store.claim_plan_run(session, plan.id, worker="test")
        folder = settings.plans_path / f"plan_{plan.id}"
        (folder / "week").mkdir(parents=True)
        (folder / "plan.json").write_text('{"label": "MẪU"}', encoding="utf-8")
        (folder / "week" / "visits.csv").write_text("point_id,day\n1,0\n", encoding="utf-8")
        store.finish_plan_run(
            session,
            plan.id,
            summary={"label": "MẪU HÀ NỘI", "hanoi_sample": True},
            inputs={"gomrac": gomrac.__version__},
            output_dir=folder.name,
            files=[
                (p.relative_to(folder).as_posix(), p.stat().st_size, _sha256(p))
                for p in sorted(folder.rglob("*"))
                if p.is_file()
            ],
        )
        return plan.id


def test_plan_endpoints__refuse_anonymous_wrong_role_and_other_ward(
    client: Any, engine: Any, api_settings: Settings, sign_in: Any, staff_headers: dict[str, str]
) -> None:
    """Every plan endpoint refuses anonymous (401) and other-ward (403) callers; queueing and
    cancelling also refuse the police (403); nothing is queued by a refused call."""
    plan_id = _finished_plan(engine, api_settings, LE_CHAN_WARD)
    other = sign_in("hoa.tran", "ward_office", [OTHER_WARD])
    police = sign_in("cong.an", "police", [LE_CHAN_WARD])
    company = sign_in("cty.mt", "waste_company", [LE_CHAN_WARD])
    body = {"time_limit_s": 1}
    calls = [
        ("post", f"/wards/{LE_CHAN_WARD}/plans", body),
        ("get", f"/wards/{LE_CHAN_WARD}/plans", None),
        ("get", f"/plans/{plan_id}", None),
        ("post", f"/plans/{plan_id}/cancel", None),
        ("get", f"/plans/{plan_id}/files/plan.json", None),
    ]
    for method, url, payload in calls:
        anonymous = client.request(method, url, json=payload)
        assert anonymous.status_code == 401, (url, anonymous.text)
        assert anonymous.headers["www-authenticate"] == "Bearer"
        refused = client.request(method, url, json=payload, headers=other)
        assert refused.status_code == 403, (url, refused.text)
        assert "account 'hoa.tran' works for ward(s) 11948" in refused.json()["detail"]
    for method, url, payload in calls[:1] + calls[3:4]:
        response = client.request(method, url, json=payload, headers=police)
        assert response.status_code == 403, (url, response.text)
        assert response.json()["detail"] == (
            "a police account may not do this; it needs one of ward_office, waste_company, admin"
        )
    assert client.get(f"/plans/{plan_id}", headers=police).status_code == 200
    assert client.get(f"/plans/{plan_id}", headers=company).status_code == 200
    history = client.get(f"/wards/{LE_CHAN_WARD}/plans", headers=staff_headers).json()
    assert [r["id"] for r in history["data"]] == [plan_id]
    with session_scope(engine) as session:
        assert [p.id for p in store.list_plans(session)] == [plan_id]


def test_plan_files__recorded_paths_only(
    client: Any, engine: Any, api_settings: Settings, staff_headers: dict[str, str]
) -> None:
    """Only a file the run recorded is served: a path out of its folder is a 404."""
    plan_id = _finished_plan(engine, api_settings, LE_CHAN_WARD)
    secret = api_settings.plans_path / "secret.txt"
    secret.write_text("not a plan file", encoding="utf-8")
    ok = client.get(f"/plans/{plan_id}/files/week/visits.csv", headers=staff_headers)
    assert ok.status_code == 200
    assert ok.content == b"point_id,day\n1,0\n"
    for path in ("../secret.txt", "..%2Fsecret.txt", "%2e%2e/secret.txt", "/etc/passwd", "x.csv"):
        response = client.get(f"/plans/{plan_id}/files/{path}", headers=staff_headers)
        assert response.status_code == 404, (path, response.status_code)
        assert b"not a plan file" not in response.content
    missing = client.get(f"/plans/{plan_id}/files/x.csv", headers=staff_headers)
    assert missing.json()["detail"] == f"plan {plan_id} has no file 'x.csv'"
    assert client.get("/plans/999999", headers=staff_headers).status_code == 404


def test_plan_history_page__sends_to_the_staff_page(client: Any) -> None:
    """The old history address sends the browser to the staff page's plans section for the
    ward, which lists the runs with the signed-in account's token; the page itself holds no
    plan data, so it is served without a token."""
    response = client.get(f"/wards/{LE_CHAN_WARD}/plans/history", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == f"/can-bo?ward={LE_CHAN_WARD}#ke-hoach"
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "Kế hoạch thu gom của phường" in page.text
    assert f'"ward": "{LE_CHAN_WARD}"' in page.text
    assert 'src="/static/staff.js"' in page.text
