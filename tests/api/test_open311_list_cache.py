"""The public list's cache: answers reused while nothing changed, rendered again after a change
made through this process (at once) or through another server (within ``fresh_s``), one render
per page at a time, and a bounded number of renders at once."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from shapely.geometry import Point
from sqlalchemy import update

from gomrac.api.web.open311 import REPORT_WRITES, _Posting
from gomrac.api.web.pagecache import PageCache, WriteGeneration
from gomrac.geo import store
from gomrac.geo.db import session_scope
from gomrac.geo.models import Report, utcnow


class _Source:
    """A page source counting its version reads and renders."""

    def __init__(self) -> None:
        self.version = 1
        self.version_reads = 0
        self.renders = 0
        self.fail = False

    def read_version(self) -> int:
        self.version_reads += 1
        return self.version

    def render(self) -> str:
        self.renders += 1
        if self.fail:
            msg = "database unreachable"
            raise RuntimeError(msg)
        return f"page v{self.version} #{self.renders}"


def test_cache__reuse_version_check_and_generation() -> None:
    """Within fresh_s no read at all; then one version read keeps the answer while the version
    holds; a new version or a write of this process renders again; errors are not cached."""
    now = [0.0]
    writes = WriteGeneration()
    cache: PageCache[str] = PageCache(
        writes, fresh_s=1.0, min_interval_s=0.0, max_age_s=60.0, clock=lambda: now[0]
    )
    src = _Source()

    async def get(key: str = "a") -> str:
        return await cache.get(key, src.read_version, src.render)

    async def scenario() -> None:
        assert await get() == "page v1 #1"
        assert (src.version_reads, src.renders) == (1, 1)
        now[0] = 0.5
        assert await get() == "page v1 #1"
        assert (src.version_reads, src.renders) == (1, 1)  # fresh: no database at all
        now[0] = 1.5
        assert await get() == "page v1 #1"  # the version is read while the answer is served
        await asyncio.sleep(0.05)
        assert (src.version_reads, src.renders) == (2, 1)
        assert await get() == "page v1 #1"  # the same version: kept
        assert (src.version_reads, src.renders) == (2, 1)
        src.version = 2  # changed through another server
        now[0] = 2.0
        assert await get() == "page v1 #1"  # still fresh since the check at 1.5
        now[0] = 2.6
        await get()  # the version read runs while the last answer is served
        await asyncio.sleep(0.05)
        assert src.version_reads == 3
        assert await get() == "page v2 #2"
        writes.bump()  # changed through this process: rendered at once
        assert await get() == "page v2 #3"
        assert await get("b") == "page v2 #4"  # another key, its own answer
        src.fail = True
        writes.bump()
        with pytest.raises(RuntimeError, match="unreachable"):
            await get()
        src.fail = False
        assert await get() == "page v2 #6"  # the error was not kept
        now[0] = 100.0  # older than max_age_s: rendered again whatever the version
        assert await get() == "page v2 #7"

    asyncio.run(scenario())


def test_cache__one_render_per_page_and_bounded_renders() -> None:
    """Ten concurrent reads of an uncached page cause one render; while a page renders after a
    change, readers get the previous answer; at most `renders` pages render at once."""
    writes = WriteGeneration()
    cache: PageCache[str] = PageCache(writes, renders=2, min_interval_s=0.0)
    lock = threading.Lock()
    running, most, rendered = [0], [0], [0]

    def slow_render() -> str:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            rendered[0] += 1
            n = rendered[0]
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return f"render {n}"

    async def scenario() -> None:
        same = await asyncio.gather(*(cache.get("p", lambda: 1, slow_render) for _ in range(10)))
        assert same == ["render 1"] * 10
        writes.bump()
        first = asyncio.ensure_future(cache.get("p", lambda: 1, slow_render))
        await asyncio.sleep(0.01)  # its render is running
        assert await cache.get("p", lambda: 1, slow_render) == "render 1"  # the previous one
        assert await first == "render 2"
        pages = await asyncio.gather(*(cache.get(k, lambda: 1, slow_render) for k in range(6)))
        assert len(set(pages)) == 6
        assert most[0] == 2

    asyncio.run(scenario())


def _store(engine: Any, n: int) -> None:
    with session_scope(engine) as session:
        for i in range(n):
            store.create_report(
                session,
                service_code="burning",
                point=Point(106.6854 + i * 0.0002, 20.8378),
                merge_duplicates=False,
            )


def test_list__another_servers_change_shows_after_fresh_s(client: Any) -> None:
    """A change this process did not make (another server's) is served stale until fresh_s
    has passed, then rendered; the answers in between come from the cache."""
    now = [0.0]
    cache: PageCache[Any] = PageCache(REPORT_WRITES, fresh_s=1.0, clock=lambda: now[0])
    client.app.state.list_cache = cache
    engine = client.app.state.engine
    _store(engine, 3)
    first = client.get("/open311/v2/requests.json")
    assert [r["description"] for r in first.json()] == [None] * 3
    with engine.begin() as conn:  # a Core statement, as another server's commit looks here
        conn.execute(update(Report).values(description="đã dọn", updated_datetime=utcnow()))
    for _ in range(5):
        assert client.get("/open311/v2/requests.json").content == first.content
    assert cache.renders_done == 1
    now[0] = 1.5
    client.get("/open311/v2/requests.json")  # starts the version read, answers the last copy
    deadline = time.monotonic() + 10
    while True:
        listed = client.get("/open311/v2/requests.json")
        if listed.content != first.content or time.monotonic() > deadline:
            break
    assert [r["description"] for r in listed.json()] == ["đã dọn"] * 3
    assert listed.headers["etag"] != first.headers["etag"]
    assert cache.renders_done == 2


def test_list__own_change_shows_at_once_and_304(client: Any) -> None:
    """A report stored through this process is in the next answer; a client holding the new
    ETag gets 304 from the cache."""
    _store(client.app.state.engine, 2)
    first = client.get("/open311/v2/requests.json")
    assert first.headers["x-total-count"] == "2"
    _store(client.app.state.engine, 1)
    second = client.get("/open311/v2/requests.json")
    assert second.headers["x-total-count"] == "3" and len(second.json()) == 3
    again = client.get(
        "/open311/v2/requests.json", headers={"If-None-Match": second.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""
    assert again.headers["x-total-count"] == "3"


def test_list__renders_while_a_writer_holds_the_database(client: Any) -> None:
    """The list reads beside a write transaction in progress (SQLite: a WAL snapshot, not the
    write lock; PostGIS: MVCC) and shows what was committed before it."""
    engine = client.app.state.engine
    _store(engine, 2)
    with engine.connect() as writer:
        writer.begin()  # SQLite: BEGIN IMMEDIATE, the write lock held until the end
        writer.execute(update(Report).values(description="chưa lưu", updated_datetime=utcnow()))
        listed = client.get("/open311/v2/requests.json?page_size=5")
        assert listed.status_code == 200
        assert [r["description"] for r in listed.json()] == [None, None]
        writer.rollback()


def test_reads__paced_while_posts_are_in_progress() -> None:
    """Without posts in progress reads never wait; with some, list reads get turns 1/rate
    apart in arrival order, and the pace restarts from now once the queue has drained."""
    now = [10.0]
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(round(seconds, 6))

    posting = _Posting(reads_per_s=50, clock=lambda: now[0], sleep=sleep)

    async def scenario() -> None:
        for _ in range(3):
            await posting.read_turn()
        assert waits == []
        posting.in_progress = 2
        for _ in range(4):
            await posting.read_turn()
        assert waits == [0.02, 0.04, 0.06]  # the first goes at once
        now[0] = 11.0  # the queue drained long ago
        await posting.read_turn()
        assert waits == [0.02, 0.04, 0.06]
        posting.in_progress = 0
        await posting.read_turn()
        assert len(waits) == 3

    asyncio.run(scenario())
