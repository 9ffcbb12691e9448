"""End to end in headless Chromium with the network cut off: the ward map and the residents' page.

Debian's ``chromium`` (``apt-get install -y chromium chromium-driver``) is driven by Playwright's
Python package, launched from ``/usr/bin/chromium`` (never ``playwright install``). Every
request that does not go to the test server is aborted and recorded; the tests assert there
was none. Screenshots go to ``artifacts/e2e/`` (git-ignored).
"""

from __future__ import annotations

import io
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select

from gomrac.api.main import create_app
from gomrac.api.planning import WardPlan
from gomrac.api.web import layers, pages
from gomrac.geo.db import make_sessionmaker
from gomrac.geo.models import Report
from gomrac.geo.settings import Settings

sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "e2e"
LE_CHAN_WARD = "11383"  # Phường Lê Chân (official 2025 code)
LE_CHAN = {"latitude": 20.8378, "longitude": 106.6854}  # inside Phường Lê Chân
HOTLINE = "0225 3842 000"

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="apt-get install -y chromium chromium-driver"
)


@dataclass
class Server:
    """A live app on a free local port."""

    url: str
    app: Any


@pytest.fixture(scope="module")
def server(
    vanmieu_plan: WardPlan, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The app (pages, layers, static files, Open311) served by uvicorn in a thread."""
    folder = tmp_path_factory.mktemp("e2e")
    settings = Settings(
        database_url=f"sqlite:///{folder / 'gomrac.sqlite'}",
        data_dir=data_dir,
        media_dir=folder / "media",
        publish_reports="immediately",
        post_limit=0,
        post_limit_per_device=0,
        ward_hotline=HOTLINE,
    )
    app = create_app(settings)
    layers.register_plan(app, layers.SAMPLE_KEY, vanmieu_plan)
    layers.register_plan(app, LE_CHAN_WARD, vanmieu_plan)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(600):  # up to 60 s for the startup migration
        if uv.started:
            break
        threading.Event().wait(0.1)
    assert uv.started, "the test server did not start"
    yield Server(url=f"http://127.0.0.1:{port}", app=app)
    uv.should_exit = True
    thread.join(timeout=10)
    sock.close()


@dataclass
class Watch:
    """What a page did that it should not: console errors and requests leaving the machine."""

    errors: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless."""
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _context(browser: Any, server: Server, watch: Watch, **options: Any) -> Any:
    """A browser context whose every non-local request is aborted and recorded."""
    context = browser.new_context(**options)

    def route(r: Any) -> None:
        if r.request.url.startswith(server.url):
            r.continue_()
        else:
            watch.outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    return context


def _watch(page: Any, watch: Watch) -> None:
    page.on("console", lambda m: watch.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watch.errors.append(str(e)))


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _kind_count(cat: dict[str, Any], kind: str) -> int:
    """Features of every layer of one kind (routes and stops come one layer per stream)."""
    return sum(layer["count"] for layer in cat["layers"] if layer["kind"] == kind)


def test_ward_map__layers_toggle_and_stop_pop_up(
    browser: Any, server: Server, vanmieu_plan: WardPlan
) -> None:
    """The map loads every layer offline, toggles hotspots, streams and vehicles, and a stop's
    pop-up is plain Vietnamese with the visit's stream, weekday and date."""
    watch = Watch()
    context = _context(browser, server, watch, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _watch(page, watch)
    page.goto(f"{server.url}/wards/{LE_CHAN_WARD}/map")
    page.wait_for_function("document.body.dataset.ready", timeout=60_000)
    assert page.evaluate("document.body.dataset.ready") == "1"
    cat = page.evaluate("window.gomracMap.catalogue")
    assert cat["day"] == 0
    counts = {layer["name"]: layer["count"] for layer in cat["layers"]}
    stops = _kind_count(cat, "stops")
    week = vanmieu_plan.week
    monday = week.visits[week.visits["service_day"] == 0]
    assert stops == len(monday) + int((week.trips["service_day"] == 0).sum())
    assert page.locator("path.gomrac-stop").count() == stops > 0
    assert page.locator("path.gomrac-hotspot").count() == counts["hotspots"] > 0
    assert page.locator("path.gomrac-route").count() == _kind_count(cat, "routes") > 0
    assert "© OpenStreetMap contributors" in page.inner_text(".leaflet-control-attribution")
    panel = page.inner_text("#layer-panel")
    assert "MẪU HÀ NỘI" in panel
    sample_badges = page.locator('#layer-panel .badge.sample[title="MẪU HÀ NỘI / Hanoi sample"]')
    assert sample_badges.count() == sum(1 for layer in cat["layers"] if layer["labels"])
    assert "SYNTHETIC" in panel
    assert "Rác tái chế" in panel
    _shot(page, "map_loaded.png")

    page.uncheck("#layer-hotspots")
    assert page.locator("path.gomrac-hotspot").count() == 0
    page.check("#layer-hotspots")
    assert page.locator("path.gomrac-hotspot").count() == counts["hotspots"]
    page.uncheck("#layer-stops-food")
    assert page.locator("path.gomrac-stop").count() == stops - counts["stops-food"]
    page.check("#layer-stops-food")
    first_truck = cat["trucks"][0]["vehicle"]
    page.uncheck(f"#truck-{first_truck}")
    hidden = page.locator("path.gomrac-stop").count()
    assert hidden < stops
    page.check(f"#truck-{first_truck}")
    assert page.locator("path.gomrac-stop").count() == stops

    # the streams stop at the same points: the last drawn is the one on top
    page.locator("path.gomrac-stop-client").last.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.inner_text()
    for label in ("Điểm dừng của xe", "Xe số", "Loại rác", "Giờ đến", "Thứ", "Ngày"):
        assert label in text
    assert any(name in text for name in week.stream_names_vi.values())
    assert any(d in text for d in set(monday["date"].map(lambda d: f"{d[8:]}/{d[5:7]}/{d[:4]}")))
    assert "Điểm tập kết đề xuất" in text  # the point's own name
    for internal in ("vehicle", "arrival", "stream", "{", "client", "undefined", "null"):
        assert internal not in text
    _shot(page, "map_stop_popup.png")

    page.goto(f"{server.url}/sample/map?lang=en&day=5")
    page.wait_for_function("document.body.dataset.ready", timeout=60_000)
    saturday = page.evaluate("window.gomracMap.catalogue")
    assert saturday["day"] == 5
    assert page.locator("path.gomrac-route").count() == _kind_count(saturday, "routes")
    page.locator("path.gomrac-stop-client").last.click()
    english = page.locator(".leaflet-popup-content").inner_text()
    for label in ("Route stops", "Vehicle", "Arrival", "collection at a gathering point"):
        assert label in english
    assert any(day in english for day in ("Saturday", "Sunday"))
    context.close()
    assert watch.errors == []
    assert watch.outside == []


def _photo_jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 90, 40)).save(buf, "JPEG")
    return buf.getvalue()


def test_resident_phone__schedule_and_report_with_photo(
    browser: Any, server: Server, tmp_path: Path
) -> None:
    """On a phone, a resident finds a group's collection times and posts a report with a photo
    at their GPS position; the report is stored with the photo."""
    watch = Watch()
    context = _context(
        browser,
        server,
        watch,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        geolocation=LE_CHAN,
        permissions=["geolocation"],
        locale="vi-VN",
    )
    page = context.new_page()
    _watch(page, watch)
    page.goto(f"{server.url}/wards/{LE_CHAN_WARD}")
    page.wait_for_function("document.body.dataset.ready", timeout=60_000)
    assert page.inner_text("#hotline") == HOTLINE
    plan = layers.plan_for(server.app.state, LE_CHAN_WARD)
    assert plan is not None
    groups = pages.schedule_by_group(plan)
    # tapping a gathering point on the ward's map shows the collections there
    schedule = page.locator("#schedule")
    points = page.locator("path.gomrac-point")
    tapped = None
    for i in range(points.count()):
        try:
            points.nth(i).click(timeout=2_000)
        except sync_api.TimeoutError:
            continue  # hidden under a neighbour at this zoom
        tapped = page.locator("#schedule h3.point-name").inner_text()
        break
    assert tapped
    at_point = {
        (r["waste"], r["days"], r["out_before"], r["truck"])
        for g in groups
        for r in g["rows"]
        if r["point"] == tapped
    }
    assert schedule.locator("dl").count() == len(at_point) > 0
    _shot(page, "resident_point.png")

    group = groups[0]
    page.select_option("#group-select", label=group["name"])
    schedule.locator("dl").first.wait_for()
    assert schedule.locator("dl").count() == len(group["rows"])
    first = group["rows"][0]
    assert schedule.locator("dd.days").first.inner_text() == first["days"]
    assert schedule.locator("dd.out-before").first.inner_text() == first["out_before"]
    _shot(page, "resident_schedule.png")

    photo = tmp_path / "rac.jpg"
    photo.write_bytes(_photo_jpeg())
    page.select_option("#service", "household_waste")
    page.fill("#description", "Rác để ở đầu ngõ hai ngày chưa được thu gom")
    page.set_input_files("#photo", str(photo))
    page.click("#gps")
    page.wait_for_function("document.getElementById('lat').value !== ''")
    page.click("#send")
    page.wait_for_function(
        "['ok', 'error'].includes(document.getElementById('report-result').className)",
        timeout=30_000,
    )
    result = page.locator("#report-result")
    assert result.get_attribute("class") == "ok", result.inner_text()
    request_id = int(result.get_attribute("data-request-id") or "0")
    assert f"Đã nhận phản ánh số {request_id}" in result.inner_text()
    _shot(page, "resident_report_sent.png")
    context.close()

    with make_sessionmaker(server.app.state.engine)() as session:
        report = session.scalars(select(Report).where(Report.id == request_id)).one()
        assert report.ward_code == LE_CHAN_WARD
        assert report.photo_path is not None
        assert report.description == "Rác để ở đầu ngõ hai ngày chưa được thu gom"
    assert watch.errors == []
    assert watch.outside == []


def test_chromium_is_debians() -> None:
    """The browser under test is the system Chromium, not a downloaded one."""
    assert shutil.which("chromium") == str(CHROMIUM)
