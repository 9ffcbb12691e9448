"""Idempotent posting: a retried POST with the client's key answers the first report."""

from __future__ import annotations

import io
import os
import signal
import socket
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import func, select

from gomrac.geo.db import make_engine, make_sessionmaker
from gomrac.geo.models import Report

LE_CHAN = (20.8378, 106.6854)
FORM = {"service_code": "burning", "lat": str(LE_CHAN[0]), "long": str(LE_CHAN[1])}
COMMIT_TIMEOUT_S = 60.0


def test_retry__header_key_gives_one_report(client: Any, count_reports: Any) -> None:
    """Three POSTs with one Idempotency-Key store one report and all answer its id."""
    key = str(uuid.uuid4())
    answers = [
        client.post("/open311/v2/requests.json", data=FORM, headers={"Idempotency-Key": key})
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [200, 200, 200]
    ids = {a.json()[0]["service_request_id"] for a in answers}
    assert len(ids) == 1
    assert count_reports() == 1
    other = client.post("/open311/v2/requests.json", data={**FORM, "lat": "20.8478"})
    assert other.json()[0]["service_request_id"] not in ids  # no key: a new report
    assert count_reports() == 2


def test_retry__form_key_and_xml(client: Any, count_reports: Any, read_xml: Any) -> None:
    """The key may be a form field; the XML retry names the same report as the JSON post."""
    data = {**FORM, "idempotency_key": "phone-7f3a-0001"}
    first = client.post("/open311/v2/requests.json", data=data).json()[0]["service_request_id"]
    root = read_xml(client.post("/open311/v2/requests.xml", data=data), "service_requests")
    assert root.findtext("request/service_request_id") == first
    assert count_reports() == 1


def test_retry__with_photo_leaves_one_file(
    client: Any, count_reports: Any, api_settings: Any, png_image: bytes
) -> None:
    """A retried multipart POST stores neither a second report nor a second photo."""
    headers = {"Idempotency-Key": "retry-with-photo"}
    for _ in range(2):
        response = client.post(
            "/open311/v2/requests.json",
            data=FORM,
            files={"media": ("rac.png", io.BytesIO(png_image), "image/png")},
            headers=headers,
        )
        assert response.status_code == 200
    assert count_reports() == 1
    files = [p for p in api_settings.media_path.rglob("*") if p.is_file()]
    assert len(files) == 1


def test_token__answers_the_request_id(client: Any) -> None:
    """GET tokens/{key} answers the request id of the POST made with that key; unknown: 404."""
    key = "token-4e1b-0007"
    rid = client.post(
        "/open311/v2/requests.json", data=FORM, headers={"Idempotency-Key": key}
    ).json()[0]["service_request_id"]
    response = client.get(f"/open311/v2/tokens/{key}.json")
    assert response.status_code == 200
    assert response.json() == [{"token": key, "service_request_id": rid}]
    missing = client.get("/open311/v2/tokens/no-such-token.json")
    assert missing.status_code == 404
    assert missing.json() == [{"code": 404, "description": "token 'no-such-token' not found"}]


def test_retry__bad_key_refused(client: Any, count_reports: Any) -> None:
    """A key with spaces or over 200 characters is a 400 that says what a key may be."""
    for key in ("two words", "k" * 201):
        response = client.post(
            "/open311/v2/requests.json", data=FORM, headers={"Idempotency-Key": key}
        )
        assert response.status_code == 400
        assert response.json()[0]["description"].startswith(
            "Idempotency-Key must be 1 to 200 printable ASCII characters"
        )
    assert count_reports() == 0


def _count(db_url: str, key: str) -> tuple[int, int | None]:
    engine = make_engine(db_url)
    try:
        with make_sessionmaker(engine)() as session:
            total = int(session.scalar(select(func.count()).select_from(Report)) or 0)
            rid = session.scalar(select(Report.id).where(Report.idempotency_key == key))
    finally:
        engine.dispose()
    return total, rid


def test_retry__after_kill_9_between_commit_and_answer(start_server: Any, db_url: str) -> None:
    """The server is killed (SIGKILL) as soon as the report is committed, before the client
    reads an answer; the client's retry to the restarted server gets the same report."""
    key = str(uuid.uuid4())
    server = start_server()
    body = urlencode(FORM).encode()
    request = (
        f"POST /open311/v2/requests.json HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nIdempotency-Key: {key}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    with socket.create_connection(("127.0.0.1", server.port), timeout=COMMIT_TIMEOUT_S) as sock:
        sock.sendall(request)
        deadline = time.monotonic() + COMMIT_TIMEOUT_S
        while _count(db_url, key)[1] is None:  # wait for the commit, not reading the answer
            assert time.monotonic() < deadline, server.log_path.read_text(errors="replace")
            time.sleep(0.005)
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(timeout=15)
    total, stored_id = _count(db_url, key)
    assert total == 1

    restarted = start_server()
    with httpx.Client(base_url=restarted.base, timeout=60) as http:
        retry = http.post("/open311/v2/requests.json", data=FORM, headers={"Idempotency-Key": key})
        assert retry.status_code == 200
        assert retry.json()[0]["service_request_id"] == str(stored_id)
        token = http.get(f"/open311/v2/tokens/{key}.json").json()
        assert token == [{"token": key, "service_request_id": str(stored_id)}]
    assert _count(db_url, key) == (1, stored_id)


def test_retry__concurrent_posts_with_one_key(start_server: Any, db_url: str) -> None:
    """Eight POSTs with one key sent at once to a real server store one report; every answer
    names it (the unique index settles the race)."""
    from concurrent.futures import ThreadPoolExecutor

    key = str(uuid.uuid4())
    server = start_server()

    def post(_: int) -> tuple[int, str]:
        with httpx.Client(base_url=server.base, timeout=60) as http:
            response = http.post(
                "/open311/v2/requests.json", data=FORM, headers={"Idempotency-Key": key}
            )
            return response.status_code, response.json()[0]["service_request_id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(post, range(8)))
    total, stored_id = _count(db_url, key)
    assert total == 1
    assert results == [(200, str(stored_id))] * 8
