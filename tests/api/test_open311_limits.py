"""Abuse controls: posting limits per client and per device (429 with Retry-After), block
lists (403), the limits stated in discovery, and CORS for browser apps on other sites."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gomrac.api.main import create_app
from gomrac.api.web.limits import BlockList, RateLimiter
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


def test_rate_limiter__sliding_window() -> None:
    """Hits older than the window no longer count; the wait is until the oldest leaves."""
    now = [100.0]
    limiter = RateLimiter(limit=2, window_s=60, clock=lambda: now[0])
    assert limiter.hit("a") is None
    now[0] = 130.0
    assert limiter.hit("a") is None
    assert limiter.hit("a") == 30
    assert limiter.hit("b") is None  # keys are separate
    now[0] = 160.0
    assert limiter.hit("a") is None  # the first hit left the window
    assert limiter.hit("a") == 30
    assert RateLimiter(limit=0, window_s=60).hit("a") is None  # 0: no limit


def test_discovery__states_the_limits(limited: Any) -> None:
    """discovery's key_service tells clients the posting limits."""
    body = limited.get("/open311/v2/discovery.json").json()
    assert body["key_service"] == (
        "No API key is needed to read or to post reports. Posting is limited to 3 reports per "
        "client address and 2 per device_id every 10 minutes (429 with Retry-After above that)."
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
