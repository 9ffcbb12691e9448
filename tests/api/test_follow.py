"""Following a report: ``/phan-anh/{id}`` shows what the public Open311 lookup shows, in words.

Every test runs on SpatiaLite and on PostGIS (the ``api_settings`` fixture). The page is
checked against ``GET /open311/v2/requests/{id}.json`` for the same report, through the staff
workflow (verified, assigned with a note, cleaned, duplicate, rejected) and the publication
states (pending, published, hidden).
"""

from __future__ import annotations

import html
import io
import re
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from gomrac.api.main import create_app
from gomrac.api.planning import WardPlan
from gomrac.api.web import layers, pages
from gomrac.geo import store
from gomrac.geo.db import session_scope
from gomrac.geo.settings import Settings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's notice about httpx, as in conftest
    from fastapi.testclient import TestClient

LE_CHAN = (20.8378, 106.6854)  # (lat, long), inside Phường Lê Chân
LE_CHAN_WARD = "11383"
PERSONAL = {
    "email": "nguyen.thi.hoa@example.vn",
    "phone": "0912345678",
    "first_name": "Hoa",
    "last_name": "Nguyễn Thị",
    "device_id": "device-7f3a9c",
    "account_id": "acct-55821",
}


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (90, 140, 60)).save(buf, "JPEG")
    return buf.getvalue()


def _client(settings: Settings, plan: WardPlan | None = None) -> TestClient:
    app = create_app(settings)
    if plan is not None:
        layers.register_plan(app, LE_CHAN_WARD, plan)
    return TestClient(app)


@pytest.fixture
def web(api_settings: Settings) -> Iterator[TestClient]:
    """The app, reports published at once (the ``api_settings`` default)."""
    with _client(api_settings) as client:
        yield client


@pytest.fixture
def reviewed(api_settings: Settings) -> Iterator[TestClient]:
    """The app with reports held for the ward's review first (the production default)."""
    with _client(api_settings.model_copy(update={"publish_reports": "after_review"})) as client:
        yield client


def _post(client: TestClient, *, photo: bool = False, **fields: str) -> int:
    data = {
        "service_code": "household_waste",
        "lat": str(LE_CHAN[0]),
        "long": str(LE_CHAN[1]),
        "description": "Rác ở đầu ngõ 12 chưa được thu gom",
        **PERSONAL,
        **fields,
    }
    files = {"media": ("rac.jpg", io.BytesIO(_jpeg()), "image/jpeg")} if photo else None
    answer = client.post("/open311/v2/requests.json", data=data, files=files)
    assert answer.status_code == 200, answer.text
    return int(answer.json()[0]["service_request_id"])


def _staff(client: TestClient, action: Any, report_id: int, **kwargs: Any) -> None:
    with session_scope(client.app.state.engine) as session:  # type: ignore[attr-defined]
        action(session, report_id, actor="lan.nguyen", **kwargs)


def _text(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(?:dd|p|span)>', page, re.DOTALL)
    assert match, element_id
    return html.unescape(re.sub(r"<[^>]+>", "", match[1])).strip()


def _wire(client: TestClient, report_id: int) -> dict[str, Any]:
    answer = client.get(f"/open311/v2/requests/{report_id}.json")
    assert answer.status_code == 200, answer.text
    return dict(answer.json()[0])


def test_follow__a_posted_report_as_the_public_lookup_shows_it(web: TestClient) -> None:
    """A report posted with a photo: the page shows its number, the workflow step and Open311
    status in Vietnamese, the description, the sent date in Hai Phong time, the stripped photo
    (the URL the Open311 lookup gives, which serves it), and its place."""
    rid = _post(web, photo=True)
    page = web.get(f"/phan-anh/{rid}")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    wire = _wire(web, rid)
    assert _text(text, "report-number") == str(rid)
    assert _text(text, "report-step") == "Tình trạng: Đã tiếp nhận"
    assert _text(text, "report-status") == "Đang mở" and wire["status"] == "open"
    assert _text(text, "report-description") == wire["description"]
    sent = wire["requested_datetime"]  # 2026-12-06T11:20:05+07:00
    assert _text(text, "report-requested") == f"{sent[11:16]} {sent[8:10]}/{sent[5:7]}/{sent[:4]}"
    assert wire["media_url"]
    assert f'id="report-photo" class="report-photo" src="{wire["media_url"]}"' in text
    photo = web.get(wire["media_url"])
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert f'"lat": {round(wire["lat"], 6)}' in text and f'"lon": {round(wire["long"], 6)}' in text
    assert "© OpenStreetMap contributors" in text
    assert '<html lang="vi">' in text
    english = web.get(f"/phan-anh/{rid}?lang=en").text
    assert '<html lang="en">' in english
    assert _text(english, "report-step") == "Status: Received"


def test_follow__personal_fields_never_in_the_page(web: TestClient) -> None:
    """The reporter's e-mail, phone, names, device and account ids appear nowhere."""
    rid = _post(web, photo=True)
    _staff(web, store.set_report_status, rid, workflow_status="verified", note="Đã kiểm tra")
    for url in (f"/phan-anh/{rid}", f"/phan-anh/{rid}?lang=en"):
        text = web.get(url).text
        for value in PERSONAL.values():
            assert value not in text, value
            assert html.escape(value) not in text, value


@pytest.mark.parametrize(
    ("step", "vietnamese", "status"),
    [
        ("verified", "Đang xử lý (đã xác minh)", "Đang mở"),
        ("assigned", "Đã lên lịch xử lý (đã giao đơn vị thu gom)", "Đang mở"),
        ("cleaned", "Đã xử lý xong", "Đã đóng"),
        ("rejected", "Không thuộc trách nhiệm của phường", "Đã đóng"),
    ],
)
def test_follow__workflow_steps_in_plain_vietnamese(
    web: TestClient, step: str, vietnamese: str, status: str
) -> None:
    """Each step of the ward's workflow reads in plain words, with the ward's public note
    (without the ``<step>: `` prefix of ``status_notes``) and the update date."""
    rid = _post(web)
    note = f"Ghi chú công khai cho bước {step}"
    _staff(web, store.set_report_status, rid, workflow_status=step, note=note)
    wire = _wire(web, rid)
    assert wire["status_notes"] == f"{step}: {note}"
    text = web.get(f"/phan-anh/{rid}").text
    assert _text(text, "report-step") == f"Tình trạng: {vietnamese}"
    assert _text(text, "report-status") == status
    assert _text(text, "report-note") == note
    updated = wire["updated_datetime"]
    shown = f"{updated[11:16]} {updated[8:10]}/{updated[5:7]}/{updated[:4]}"
    assert text.count(shown) >= 1


def test_follow__duplicate_links_the_original(web: TestClient) -> None:
    """A duplicate says so and links the original report's follow page; the officer's note is
    shown without the generated "duplicate of report N" text."""
    original = _post(web)
    copy = _post(web)
    _staff(web, store.link_duplicate, copy, duplicate_of=original, note="cùng một đống rác")
    wire = _wire(web, copy)
    assert wire["extended_attributes"]["duplicate_of"] == str(original)
    text = web.get(f"/phan-anh/{copy}").text
    assert _text(text, "report-step") == "Tình trạng: Trùng với một phản ánh khác"
    assert f'id="duplicate-of" href="/phan-anh/{original}"' in text
    assert "duplicate of report" not in text
    assert _text(text, "report-note") == "cùng một đống rác"
    assert web.get(f"/phan-anh/{original}").status_code == 200
    english = web.get(f"/phan-anh/{copy}?lang=en").text
    assert f'href="/phan-anh/{original}?lang=en"' in english


def test_follow__pending_shows_only_that_it_was_received(reviewed: TestClient) -> None:
    """Awaiting review: the number and "received, awaiting review"; no description, photo,
    place or note, while the Open311 lookup answers 404 for it. Once published, all shows."""
    rid = _post(reviewed, photo=True)
    assert reviewed.get(f"/open311/v2/requests/{rid}.json").status_code == 404
    page = reviewed.get(f"/phan-anh/{rid}")
    assert page.status_code == 200
    text = page.text
    assert _text(text, "report-step") == "Tình trạng: Đã tiếp nhận, đang chờ phường duyệt"
    assert "sau khi cán bộ phường duyệt" in text
    assert "Rác ở đầu ngõ 12" not in text
    for absent in ("report-photo", "report-description", "/open311/v2/media/", 'id="map"'):
        assert absent not in text, absent
    assert str(LE_CHAN[0]) not in text and str(LE_CHAN[1]) not in text
    _staff(reviewed, store.set_report_publication, rid, publication="published")
    text = reviewed.get(f"/phan-anh/{rid}").text
    assert _text(text, "report-description") == "Rác ở đầu ngõ 12 chưa được thu gom"
    assert 'id="report-photo"' in text


def test_follow__hidden_report_is_a_404_page(web: TestClient) -> None:
    """A hidden report is as unknown as one that does not exist, in the page as in Open311."""
    rid = _post(web)
    _staff(web, store.set_report_publication, rid, publication="hidden", note="spam")
    page = web.get(f"/phan-anh/{rid}")
    assert page.status_code == 404
    assert "Không tìm thấy phản ánh có số này." in page.text
    assert "Rác ở đầu ngõ" not in page.text
    assert web.get(f"/open311/v2/requests/{rid}.json").status_code == 404


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/phan-anh/999999", "Không tìm thấy phản ánh có số này."),
        ("/phan-anh/0", "Số phản ánh không hợp lệ"),
        ("/phan-anh/abc", "Số phản ánh không hợp lệ"),
        ("/phan-anh/-3", "Số phản ánh không hợp lệ"),
        ("/phan-anh/99999999999999999999", "Số phản ánh không hợp lệ"),
        ("/phan-anh/%3Cscript%3E", "Số phản ánh không hợp lệ"),
        ("/phan-anh?so=12x", "Số phản ánh không hợp lệ"),
        ("/phan-anh?so=", "Số phản ánh không hợp lệ"),
    ],
)
def test_follow__bad_or_unknown_number_is_a_404_page(
    web: TestClient, url: str, message: str
) -> None:
    """Unknown and malformed numbers answer a Vietnamese 404 page, never a traceback."""
    page = web.get(url)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert message in page.text
    assert "Traceback" not in page.text and "<script>" not in page.text


def test_follow__lookup_box_goes_to_the_report(web: TestClient) -> None:
    """The residents' page has the lookup box; its form sends to the report's page."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        resident = web.get(f"/wards/{LE_CHAN_WARD}").text
    assert 'action="/phan-anh" method="get"' in resident
    assert 'name="so"' in resident and "Theo dõi phản ánh" in resident
    assert '"follow_url": "/phan-anh/"' in resident
    rid = _post(web)
    hop = web.get(f"/phan-anh?so=%20{rid}%20", follow_redirects=False)
    assert hop.status_code == 303
    assert hop.headers["location"] == f"/phan-anh/{rid}"
    english = web.get(f"/phan-anh?so={rid}&lang=en", follow_redirects=False)
    assert english.headers["location"] == f"/phan-anh/{rid}?lang=en"
    assert web.get(f"/phan-anh?so={rid}").status_code == 200


def test_follow__map_draws_the_wards_streets_when_planned(
    api_settings: Settings, vanmieu_plan: WardPlan
) -> None:
    """With the ward's plan in the server, the map asks for the streets around the report
    (the plan is the Hanoi sample here: labelled so)."""
    with _client(api_settings, vanmieu_plan) as client:
        rid = _post(client)
        text = client.get(f"/phan-anh/{rid}").text
        match = re.search(r'"streets_url": "([^"]+)"', text)
        assert match
        url = match[1]
        assert url.startswith(f"/api/layers/{LE_CHAN_WARD}/streets.geojson?bbox=")
        x0, y0, x1, y1 = (float(v) for v in url.split("bbox=")[1].split(","))
        assert x0 < LE_CHAN[1] < x1 and y0 < LE_CHAN[0] < y1
        assert client.get(url).status_code == 200
        assert "MẪU HÀ NỘI" in text


def test_public_note__keeps_only_the_wards_words() -> None:
    """The workflow prefix and the generated duplicate text are dropped; other text is kept."""
    assert pages.public_note("assigned: xe CL-2 chiều nay") == "xe CL-2 chiều nay"
    assert pages.public_note("cleaned") is None
    assert pages.public_note(None) is None
    assert pages.public_note("duplicate: duplicate of report 7") is None
    assert pages.public_note("duplicate: duplicate of report 7 (đã gộp)") == "đã gộp"
    assert pages.public_note("Ghi chú tự do") == "Ghi chú tự do"


def test_follow__notice_in_vietnamese(web: TestClient) -> None:
    """The service's notice (English in the catalogue) reads in Vietnamese; every notice of the
    catalogue has its Vietnamese words."""
    from gomrac.api.web.catalogue import catalogue

    notices = {s.service_notice for s in catalogue().services.values()}
    assert notices <= set(pages.NOTICES_VI)
    rid = _post(web)
    notice = _wire(web, rid)["service_notice"]
    text = web.get(f"/phan-anh/{rid}").text
    assert pages.NOTICES_VI[notice] in text and notice not in text
    assert notice in web.get(f"/phan-anh/{rid}?lang=en").text


def test_follow__photo_only_as_the_public_lookup_gives_it(api_settings: Settings) -> None:
    """With photos not published, the page shows none (the lookup gives no media_url); a
    media_url the reporter sent is a link, never an image the page loads from elsewhere."""
    with _client(api_settings.model_copy(update={"publish_photos": False})) as client:
        rid = _post(client, photo=True)
        assert _wire(client, rid)["media_url"] is None
        text = client.get(f"/phan-anh/{rid}").text
        assert "report-photo" not in text and "/open311/v2/media/" not in text
        assert _text(text, "report-description") == "Rác ở đầu ngõ 12 chưa được thu gom"
        link = "https://anh.example.vn/rac-ngo-12.jpg"
        other = _post(client, photo=True, media_url=link)
        text = client.get(f"/phan-anh/{other}").text
        assert f'id="report-media" href="{link}"' in text
        assert "<img" not in text
