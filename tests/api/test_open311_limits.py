"""Abuse controls: posting limits per client and per device (429 with Retry-After), shared by
every server on the database, block lists (403), the limits stated in discovery, and CORS for
browser apps on other sites."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from gomrac.api.main import create_app
from gomrac.api.web.limits import BlockList, PostLimits
from gomrac.geo.db import init_db, make_engine, session_scope
from gomrac.geo.models import RateLimit, Report
from gomrac.geo.settings import Settings

LE_CHAN = (20.8378, 106.6854)
FORM = {"service_code": "burning", "lat": str(LE_CHAN[0]), "long": str(LE_CHAN[1])}


@pytest.fixture
def limited(api_settings: Settings) -> Iterator[Any]:
    """A client on an app allowing 3 posts per client and 2 per device every 10 minutes,
    blocking one network and one device."""
    from fastapi.testclient import TestClient  # imported quietly by conftest

    settings = api_settings.model_copy(
        update={
            "post_limit": 3,
            "post_limit_per_device": 2,
            "post_limit_window_s": 600.0,
            "blocked_clients": ("203.0.113.0/24",),
            "blocked_devices": ("dev-spam",),
        }
    )
    with TestClient(create_app(settings)) as client:
        yield client


def test_limit__per_client_429_with_retry_after(limited: Any, count_reports: Any) -> None:
    """The 4th post from one address in the window is a 429 with Retry-After; nothing stored."""
    for i in range(3):
        response = limited.post("/open311/v2/requests.json", data={**FORM, "lat": f"20.83{i}"})
        assert response.status_code == 200, response.text
    refused = limited.post("/open311/v2/requests.json", data=FORM)
    assert refused.status_code == 429
    retry_after = int(refused.headers["retry-after"])
    assert 590 <= retry_after <= 600
    assert refused.json() == [
        {
            "code": 429,
            "description": "too many reports from this client or device; "
            f"try again in {retry_after} s",
        }
    ]
    assert limited.get("/open311/v2/requests.json").status_code == 200  # reading still works


def test_limit__per_device(limited: Any) -> None:
    """The 3rd post of one device_id is refused even though the address has posts left."""
    codes = [
        limited.post("/open311/v2/requests.json", data={**FORM, "device_id": "dev-7"}).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]


def test_limit__xml_error(limited: Any, read_xml: Any) -> None:
    """A refused .xml post answers the spec's XML error list with code 429."""
    for _ in range(3):
        limited.post("/open311/v2/requests.json", data=FORM)
    root = read_xml(limited.post("/open311/v2/requests.xml", data=FORM), "errors", status=429)
    assert root.findtext("error/code") == "429"


def test_block__device_403(limited: Any, count_reports: Any) -> None:
    """A blocked device_id is refused with 403 and nothing is stored."""
    response = limited.post("/open311/v2/requests.json", data={**FORM, "device_id": "dev-spam"})
    assert response.status_code == 403
    assert response.json() == [{"code": 403, "description": "this device may not post reports"}]
    assert count_reports() == 0


def test_block__client_network() -> None:
    """An address inside a blocked network is blocked, one outside is not, junk never is."""
    blocks = BlockList(["203.0.113.0/24", "2001:db8::/32"], ["dev-spam"])
    assert blocks.blocks_client("203.0.113.77")
    assert blocks.blocks_client("2001:db8::1")
    assert not blocks.blocks_client("198.51.100.1")
    assert not blocks.blocks_client("testclient")
    assert blocks.blocks_device("dev-spam") and not blocks.blocks_device(None)


def test_block__client_403(api_settings: Settings, count_reports: Any) -> None:
    """The test client's own address, once blocked, may read but not post (403)."""
    from fastapi.testclient import TestClient  # imported quietly by conftest

    settings = api_settings.model_copy(update={"blocked_clients": ("0.0.0.0/0", "::/0")})
    with TestClient(create_app(settings), client=("192.0.2.10", 50000)) as client:
        response = client.post("/open311/v2/requests.json", data=FORM)
        assert response.status_code == 403
        assert response.json()[0]["description"] == "this client may not post reports"
        assert client.get("/open311/v2/services.json").status_code == 200
    assert count_reports() == 0


def test_post_limits__window_in_the_database(api_settings: Settings) -> None:
    """A key's window opens at its first accepted hit; the wait is until it ends; a refused
    device rolls back with the client's count; 0 means no limit."""
    engine = make_engine(api_settings.database_url)
    init_db(engine)
    now = [1_000.0]
    limits = PostLimits(per_client=2, per_device=1, window_s=60, clock=lambda: now[0])
    try:
        with session_scope(engine) as session:
            assert limits.hit(session, "192.0.2.1", None) is None
        now[0] = 1_030.5
        with session_scope(engine) as session:
            assert limits.hit(session, "192.0.2.1", None) is None
            assert limits.hit(session, "192.0.2.1", None) == 30  # 29.5 s, rounded up
            assert limits.wait(session, "192.0.2.1", None) == 30
            assert limits.hit(session, "192.0.2.2", None) is None  # keys are separate
        with session_scope(engine) as session:
            assert limits.hit(session, "192.0.2.3", "dev-1") is None
            assert limits.hit(session, "192.0.2.3", "dev-1") == 60  # the device's limit
            session.rollback()  # as the refused post's transaction is
        with session_scope(engine) as session:
            hits = session.scalar(select(RateLimit.hits).where(RateLimit.key == "192.0.2.3"))
            assert hits is None  # nothing of the refused transaction was kept
        now[0] = 1_060.0  # the first window has ended: a new one opens
        with session_scope(engine) as session:
            assert limits.wait(session, "192.0.2.1", None) is None
            assert limits.hit(session, "192.0.2.1", None) is None
            row = session.get(RateLimit, ("client", "192.0.2.1"))
            assert row is not None and (row.window_start, row.hits) == (1_060.0, 1)
        unlimited = PostLimits(per_client=0, per_device=0, window_s=60)
        with session_scope(engine) as session:
            assert not unlimited.active
            assert all(unlimited.hit(session, "192.0.2.1", "d") is None for _ in range(5))
    finally:
        engine.dispose()


def test_limit__two_servers_share_one_limit(start_server: Any, db_url: str) -> None:
    """Two server processes on one database accept 5 posts of one client in all, not 5 each:
    24 concurrent posts spread over both get 5 answers 200 and 19 answers 429 with Retry-After,
    and 5 reports are stored."""
    env = {"post_limit": "5", "post_limit_per_device": "0", "post_limit_window_s": "600"}
    servers = [start_server(**env), start_server(**env)]

    def post(i: int) -> httpx.Response:
        form = {**FORM, "lat": f"{LE_CHAN[0] + i * 1e-4:.6f}"}
        url = f"{servers[i % 2].base}/open311/v2/requests.json"
        return httpx.post(url, data=form, timeout=60)

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(post, range(24)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] * 5 + [429] * 19
    waits = [int(a.headers["retry-after"]) for a in answers if a.status_code == 429]
    assert all(1 <= w <= 600 for w in waits)
    engine = make_engine(db_url)
    try:
        with session_scope(engine) as session:
            assert session.scalar(select(func.count()).select_from(Report)) == 5
            assert session.scalar(select(RateLimit.hits).where(RateLimit.scope == "client")) == 5
    finally:
        engine.dispose()


def test_limit__two_apps_answer_429_after_the_shared_limit(api_settings: Settings) -> None:
    """Two app instances on one database: posts alternate between them; the 4th in all is
    refused by whichever app gets it, with the Retry-After of the window both share."""
    from fastapi.testclient import TestClient  # imported quietly by conftest

    settings = api_settings.model_copy(update={"post_limit": 3, "post_limit_per_device": 0})
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        codes = [
            c.post("/open311/v2/requests.json", data=FORM).status_code
            for c in (one, two, one, two, one)
        ]
        assert codes == [200, 200, 200, 429, 429]
        refused = two.post("/open311/v2/requests.xml", data=FORM)
        assert refused.status_code == 429
        assert 590 <= int(refused.headers["retry-after"]) <= 600


def test_discovery__states_the_limits(limited: Any) -> None:
    """discovery's key_service tells clients the posting limits."""
    body = limited.get("/open311/v2/discovery.json").json()
    assert body["key_service"] == (
        "No API key is needed to read or to post reports. Posting is limited to 3 reports per "
        "client address and 2 per device_id every 10 minutes, counted across all of this "
        "service's servers (429 with Retry-After above that)."
    )


def test_cors__configured_origin_may_post(api_settings: Settings) -> None:
    """With CORS_ORIGINS set, a browser app on that origin gets the CORS headers; others not."""
    from fastapi.testclient import TestClient  # imported quietly by conftest

    settings = api_settings.model_copy(update={"cors_origins": ("https://rac.example.vn",)})
    with TestClient(create_app(settings)) as client:
        preflight = client.options(
            "/open311/v2/requests.json",
            headers={
                "Origin": "https://rac.example.vn",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "Idempotency-Key",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://rac.example.vn"
        posted = client.post(
            "/open311/v2/requests.json", data=FORM, headers={"Origin": "https://rac.example.vn"}
        )
        assert posted.headers["access-control-allow-origin"] == "https://rac.example.vn"
        assert "x-total-count" in posted.headers["access-control-expose-headers"].lower()
        other = client.get("/open311/v2/services.json", headers={"Origin": "https://evil.test"})
        assert "access-control-allow-origin" not in other.headers
