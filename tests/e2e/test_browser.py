"""End to end in headless Chromium with the network cut off: the ward map (its base layers from
vector tiles), the residents' page and a report's follow page, and the plan's written map.html
opened from disk.

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
from gomrac.geo import store
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
    # the service's notice is shown in Vietnamese, never the catalogue's English
    assert any(vi in result.inner_text() for vi in pages.NOTICES_VI.values())
    assert not any(en in result.inner_text() for en in pages.NOTICES_VI)
    _shot(page, "resident_report_sent.png")

    # the resident follows the report from the link given after posting
    follow = page.locator("#follow-link")
    assert follow.inner_text() == "Theo dõi phản ánh này"
    follow.click()
    page.wait_for_url(f"**/phan-anh/{request_id}")
    page.wait_for_function("document.body.dataset.ready", timeout=30_000)
    assert page.evaluate("document.body.dataset.ready") == "1"
    assert page.inner_text("#report-number") == str(request_id)
    assert page.inner_text("#report-step") == "Tình trạng: Đã tiếp nhận"
    assert page.inner_text("#report-status") == "Đang mở"
    assert page.inner_text("#report-description") == "Rác để ở đầu ngõ hai ngày chưa được thu gom"
    photo_size = page.evaluate(
        "(() => { const i = document.getElementById('report-photo');"
        " return i && i.complete ? [i.naturalWidth, i.naturalHeight] : null; })()"
    )
    assert photo_size == [64, 48]  # the stripped photo, served by the app
    assert page.locator("path.gomrac-report-place").count() == 1
    assert "© OpenStreetMap contributors" in page.inner_text(".leaflet-control-attribution")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # fits the phone: nothing scrolls sideways
    _shot(page, "resident_follow.png")

    # and finds it again by its number from the residents' page
    page.goto(f"{server.url}/wards/{LE_CHAN_WARD}")
    page.fill("#follow-number", str(request_id))
    page.click("#follow-go")
    page.wait_for_url(f"**/phan-anh/{request_id}")
    assert page.inner_text("#report-number") == str(request_id)
    context.close()

    with make_sessionmaker(server.app.state.engine)() as session:
        report = session.scalars(select(Report).where(Report.id == request_id)).one()
        assert report.ward_code == LE_CHAN_WARD
        assert report.photo_path is not None
        assert report.description == "Rác để ở đầu ngõ hai ngày chưa được thu gom"
    assert watch.errors == []
    assert watch.outside == []


def test_ward_map__base_layers_from_vector_tiles(browser: Any, server: Server) -> None:
    """Streets and buildings come as vector tiles (Leaflet.VectorGrid, served by the app) and
    are drawn; a street's pop-up reads its name and access in Vietnamese."""
    assert pages.vectorgrid_installed(), "Leaflet.VectorGrid is missing: run scripts/setup.sh"
    watch = Watch()
    context = _context(browser, server, watch, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _watch(page, watch)
    tiles: list[tuple[str, int, str]] = []
    page.on(
        "response",
        lambda r: (
            tiles.append((r.url, r.status, r.headers.get("content-type", "")))
            if ".mvt" in r.url
            else None
        ),
    )
    page.goto(f"{server.url}/sample/map")
    page.wait_for_function("document.body.dataset.ready", timeout=60_000)
    page.wait_for_function(
        "window.gomracMap.tilesLoaded.streets >= 1 && window.gomracMap.tilesLoaded.buildings >= 1",
        timeout=60_000,
    )
    fetched = {url.split("/tiles/")[1].split("/")[0] for url, status, _ in tiles if status == 200}
    assert fetched == {"streets", "buildings"}
    assert all(t == "application/vnd.mapbox-vector-tile" for _, s, t in tiles if s == 200)
    drawn = page.locator(".leaflet-base-pane svg path")
    assert drawn.count() > 100
    # no GeoJSON of the tiled layers was asked for
    urls = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert not [u for u in urls if "/streets.geojson" in u or "/buildings.geojson" in u]
    _shot(page, "map_vector_tiles.png")
    # a street drawn from the tiles opens its pop-up, in Vietnamese
    streets = page.locator(".leaflet-base-pane svg path.leaflet-interactive")
    assert streets.count() > 0
    opened = False
    for i in range(min(streets.count(), 40)):
        try:
            streets.nth(i).click(timeout=1_000, force=True)
        except sync_api.Error:
            continue
        popup = page.locator(".leaflet-popup-content", has_text="Đường phố, ngõ")
        if popup.count():
            assert "Loại" in popup.first.inner_text()
            opened = True
            break
    assert opened, "no street pop-up"
    page.uncheck("#layer-buildings")
    page.uncheck("#layer-streets")
    assert page.locator(".leaflet-base-pane svg path").count() == 0
    page.check("#layer-streets")
    page.wait_for_function("document.querySelectorAll('.leaflet-base-pane svg path').length > 0")
    context.close()
    assert watch.errors == []
    assert watch.outside == []


@pytest.fixture(scope="module")
def written_map(vanmieu_plan: WardPlan, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plan's map.html as ``gomrac plan`` writes it, with its ``lib/``."""
    import warnings

    from gomrac.api.outputs import write_plan

    out = tmp_path_factory.mktemp("written")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_plan(vanmieu_plan, out)
    return out / "map.html"


def test_written_map__opens_offline_from_disk(browser: Any, written_map: Path) -> None:
    """The written map.html, opened from file:// with the network cut off, loads Leaflet and its
    plugins from lib/, draws its layers with their panel, and logs no error."""
    watch = Watch()
    context = browser.new_context(viewport={"width": 1280, "height": 800})

    def route(r: Any) -> None:
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            watch.outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    _watch(page, watch)
    page.goto(written_map.as_uri())
    page.wait_for_load_state("load")
    assert page.evaluate("typeof L") == "object"
    assert page.evaluate("typeof L.markerClusterGroup") == "function"
    assert page.evaluate("typeof L.heatLayer") == "function"
    panel = page.locator(".leaflet-control-layers")
    assert panel.count() == 1
    names = panel.locator("label").all_inner_texts()
    assert any("Điểm tập kết đề xuất" in n for n in names)
    assert any("SYNTHETIC" in n for n in names)
    assert any("cần Internet" in n for n in names)  # the OSM background, off
    assert page.locator("path.leaflet-interactive").count() > 0
    assert "© OpenStreetMap contributors" in page.inner_text(".leaflet-control-attribution")
    _shot(page, "written_map_offline.png")
    # the heat map and the clustered households switch on without loading anything
    for label in panel.locator("label").all():
        text = label.inner_text()
        if "heat map" in text or "uncovered" in text:
            label.locator("input").check()
    page.wait_for_timeout(300)
    context.close()
    assert watch.errors == []
    assert watch.outside == []


def test_chromium_is_debians() -> None:
    """The browser under test is the system Chromium, not a downloaded one."""
    assert shutil.which("chromium") == str(CHROMIUM)


STAFF_PASSWORD = "mat khau cua can bo phuong"


def _post_report(server: Server, description: str, *, service: str = "overflowing_point") -> int:
    """Post a report in Lê Chân through the public Open311 intake; its number (of a service the
    residents' test does not post, so that the duplicate check leaves it open)."""
    import httpx

    form = {
        "service_code": service,
        "lat": str(LE_CHAN["latitude"]),
        "long": str(LE_CHAN["longitude"]),
        "description": description,
        "address_string": "Ngõ 12 Hàng Kênh",
    }
    response = httpx.post(f"{server.url}/open311/v2/requests.json", data=form, timeout=30)
    assert response.status_code == 200, response.text
    return int(response.json()[0]["service_request_id"])


def test_staff_desktop__sign_in_change_status_and_plans(browser: Any, server: Server) -> None:
    """A ward officer (an account made as ``gomrac users add`` makes it) signs in with the
    keyboard after a wrong password, finds a resident's report in the table, moves it to "đang
    xử lý" and then closes it with a note, assigns it to the collection company, sees each step
    in its history, and the public Open311 answer shows the change; the plans section lists
    the ward's runs; signing out clears the token, and a stale token sends back to sign-in."""
    import httpx

    from gomrac.api.web.accounts import add_user

    request_id = _post_report(server, "Rác tồn đọng ở đầu ngõ 12")
    add_user(
        server.app.state.settings,
        username="lan.nguyen",
        password=STAFF_PASSWORD,
        role="ward_office",
        ward_codes=[LE_CHAN_WARD],
        full_name="Nguyễn Thị Lan",
    )
    watch = Watch()
    context = _context(browser, server, watch, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _watch(page, watch)
    page.goto(f"{server.url}/")
    page.click("a.index-staff")
    page.wait_for_url("**/can-bo")
    page.wait_for_function("document.body.dataset.ready", timeout=30_000)
    assert page.locator("#sign-in").is_visible()

    # a wrong password: one Vietnamese line, still on the sign-in form
    page.fill("#username", "lan.nguyen")
    page.fill("#password", "sai mat khau roi")
    page.press("#password", "Enter")
    error = page.locator("#sign-in-error")
    error.wait_for(state="visible")
    assert error.inner_text() == "Sai tên đăng nhập hoặc mật khẩu."
    assert page.locator("#signed-in").is_hidden()
    _shot(page, "staff_sign_in_error.png")

    page.fill("#password", STAFF_PASSWORD)
    page.press("#password", "Enter")
    row = page.locator(f"#report-{request_id}")
    row.wait_for(timeout=30_000)
    assert page.inner_text("#account-name") == "Nguyễn Thị Lan (lan.nguyen)"
    assert page.inner_text("#account-role") == "Cán bộ UBND phường, xã"
    assert page.inner_text("#account-wards") == f"Phường Lê Chân ({LE_CHAN_WARD})"
    assert page.input_value("#password") == ""
    stored = page.evaluate("sessionStorage.getItem('gomrac.staff.token')")
    assert stored and stored not in page.url
    assert page.evaluate("localStorage.length") == 0
    assert row.locator("td.step").inner_text() == "Đã tiếp nhận"
    assert row.locator("td.publication").inner_text() == "Đã công khai"
    assert "Ngõ 12 Hàng Kênh" in row.inner_text()
    assert "Phường Lê Chân" in row.inner_text()
    _shot(page, "staff_reports.png")

    # open it from the keyboard and move it to "đang xử lý"
    row.locator("button.open-report").focus()
    page.keyboard.press("Enter")
    page.locator("#report-detail").wait_for(state="visible")
    assert page.inner_text("#detail-number") == str(request_id)
    page.wait_for_function("window.gomracStaff.historyLoaded >= 1")
    page.select_option("#status-select", label="Đang xử lý (đã xác minh)")
    page.fill("#status-note", "Cán bộ đã kiểm tra tại chỗ")
    page.click("#status-save")
    page.wait_for_function(
        "document.querySelectorAll('#history-table tbody tr').length === 2", timeout=30_000
    )
    assert page.inner_text("#detail-step") == "Đang xử lý (đã xác minh)"
    assert page.inner_text("#staff-message") == "Đã lưu."

    # assign it to the collection company
    page.select_option("#unit-select", "waste_company")
    page.click("#links-save")
    page.wait_for_function(
        "document.querySelectorAll('#history-table tbody tr').length === 5", timeout=30_000
    )
    assert page.inner_text("#detail-agency") == "Đơn vị thu gom, vận chuyển rác"
    assert page.inner_text("#detail-step") == "Đã lên lịch xử lý (đã giao đơn vị thu gom)"

    # and close it with a note
    page.select_option("#status-select", label="Đã xử lý xong")
    page.fill("#status-note", "Đã thu gom sạch")
    page.click("#status-save")
    page.wait_for_function(
        "document.querySelectorAll('#history-table tbody tr').length === 6", timeout=30_000
    )
    assert page.inner_text("#detail-step") == "Đã xử lý xong"
    last = page.locator("#history-table tbody tr").last
    cells = last.locator("td").all_inner_texts()
    assert cells[1:] == [
        "lan.nguyen",
        "Bước xử lý",
        "Đã lên lịch xử lý (đã giao đơn vị thu gom)",
        "Đã xử lý xong",
        "Đã thu gom sạch",
    ]
    first = page.locator("#history-table tbody tr").first.locator("td").all_inner_texts()
    assert first[1:3] == ["Người dân (gửi phản ánh)", "Bước xử lý"]  # the intake, in words
    page.wait_for_function(
        f"document.querySelector('#report-{request_id} td.step').textContent === 'Đã xử lý xong'"
    )
    _shot(page, "staff_report_history.png")

    wire = httpx.get(f"{server.url}/open311/v2/requests/{request_id}.json", timeout=30).json()[0]
    assert wire["status"] == "closed"
    assert wire["status_notes"] == "cleaned: Đã thu gom sạch"
    assert wire["extended_attributes"]["workflow_status"] == "cleaned"
    assert wire["agency_responsible"] == "Đơn vị thu gom, vận chuyển rác"
    assert "assigned_unit" not in wire

    # the ward's plans: the list, and a run queued from the page followed to its end
    page.wait_for_function("window.gomracStaff.plansLoaded >= 1")
    assert page.input_value("#plan-ward") == LE_CHAN_WARD
    assert page.locator("#no-plans").is_visible()
    # Lê Chân has no road data here: without the Hanoi sample the run fails, and says why
    assert page.is_checked("#plan-sample")
    page.uncheck("#plan-sample")
    page.click("#plan-queue")
    page.locator("#plan-table tbody tr").first.wait_for(timeout=30_000)
    message = page.inner_text("#staff-message")
    assert message.startswith("Đã xếp lượt lập kế hoạch số ")
    plan_id = int(message.rsplit(" ", 1)[1].rstrip("."))
    plan_row = page.locator(f"#plan-{plan_id}")
    page.wait_for_function(
        f"['done', 'failed', 'cancelled'].includes("
        f"document.getElementById('plan-{plan_id}').dataset.status)",
        timeout=240_000,
    )
    assert plan_row.get_attribute("data-status") == "failed"
    assert plan_row.locator("td.status").inner_text().startswith("Lỗi")
    assert plan_row.locator("progress").count() == 1
    _shot(page, "staff_plans.png")

    # the labelled Hanoi sample: its progress bar moves while it runs; cancel stops it
    page.check("#plan-sample")
    page.click("#plan-queue")
    page.wait_for_function(
        f"document.querySelector('#plan-table tbody tr:not(#plan-{plan_id})') !== null",
        timeout=30_000,
    )
    second_id = int(page.inner_text("#staff-message").rsplit(" ", 1)[1].rstrip("."))
    second_row = page.locator(f"#plan-{second_id}")
    # running, past its data (10 %): the bar shows what the worker stored
    page.wait_for_function(
        f"(() => {{ const r = document.getElementById('plan-{second_id}');"
        " return r && r.dataset.status === 'running'"
        " && Number(r.querySelector('progress').value) >= 10; })()",
        timeout=240_000,
    )
    shown = int(second_row.locator("progress").get_attribute("value") or "0")
    with make_sessionmaker(server.app.state.engine)() as session:
        run_now = store.get_plan(session, second_id)
    assert run_now.status in {"running", "done"}
    assert shown <= round(100 * run_now.progress)  # the page shows no more than was stored
    second_row.locator("button.cancel-plan").click()
    page.wait_for_function(
        f"document.getElementById('plan-{second_id}').dataset.status === 'cancelled'",
        timeout=60_000,
    )
    assert second_row.locator("td.status").inner_text().startswith("Đã hủy")
    assert second_row.locator("button.cancel-plan").count() == 0
    _shot(page, "staff_plan_cancelled.png")

    # sign out: the token is gone; a stale token sends back to the sign-in form
    page.click("#sign-out")
    page.locator("#sign-in").wait_for(state="visible")
    assert page.evaluate("sessionStorage.getItem('gomrac.staff.token')") is None
    page.evaluate(f"sessionStorage.setItem('gomrac.staff.token', {stored!r})")
    page.reload()
    page.wait_for_function("document.body.dataset.ready", timeout=30_000)
    assert page.locator("#sign-in").is_visible()
    assert page.inner_text("#sign-in-error") == "Phiên đăng nhập đã hết hạn; hãy đăng nhập lại."
    context.close()
    # the refused sign-in and the revoked token are the only failed requests
    assert [e for e in watch.errors if "status of 401" not in e] == []
    assert watch.outside == []


def test_staff_phone__police_reads_without_changing(browser: Any, server: Server) -> None:
    """On a phone, a police account of the ward signs in by tapping, reads the reports and a
    report's history, and is offered no change the API would refuse it; nothing scrolls
    sideways but the tables themselves."""
    from gomrac.api.web.accounts import add_user

    request_id = _post_report(server, "Đốt rác cạnh chợ", service="burning")
    add_user(
        server.app.state.settings,
        username="cong.an.lechan",
        password=STAFF_PASSWORD,
        role="police",
        ward_codes=[LE_CHAN_WARD],
    )
    watch = Watch()
    context = _context(
        browser,
        server,
        watch,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        locale="vi-VN",
    )
    page = context.new_page()
    _watch(page, watch)
    page.goto(f"{server.url}/can-bo")
    page.wait_for_function("document.body.dataset.ready", timeout=30_000)
    page.fill("#username", "cong.an.lechan")
    page.fill("#password", STAFF_PASSWORD)
    page.tap("#sign-in-button")
    row = page.locator(f"#report-{request_id}")
    row.wait_for(timeout=30_000)
    assert page.inner_text("#account-role") == "Công an"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    row.locator("button.open-report").tap()
    page.wait_for_function("window.gomracStaff.historyLoaded >= 1")
    for form in ("#status-form", "#publication-form", "#links-form", "#plan-queue"):
        assert page.locator(form).is_hidden(), form
    history = page.locator("#history-table tbody tr")
    assert history.count() == 1
    assert history.first.locator("td.new").inner_text() == "Đã tiếp nhận"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(page, "staff_phone_police.png")
    context.close()
    assert watch.errors == []
    assert watch.outside == []
