"""A per-process cache of rendered public pages, checked against a cheap data version.

The public Open311 list is read far more often than reports change, and rendering a page (a
query of up to a page of reports with their geometry, then serialisation) costs tens of
milliseconds and, on SQLite, the database's write lock for the query. `PageCache` keeps each
rendered answer with what it was rendered at: the process's own write generation (a counter
this process moves when it commits a change, see `WriteGeneration`) and the data version read
from the database (for reports: their count and latest ``updated_datetime``, which every
change of a report moves, whichever server made it):

* an answer of the current generation checked less than ``fresh_s`` ago is served without
  touching the database; after that the data version is read again (once for all pages of the
  process, at most every ``fresh_s``) and an answer of the same version is kept, up to
  ``max_age_s`` (the default date range of the list moves with the clock);
* otherwise the page is rendered again by one request, at most once every ``min_interval_s``
  per page (that request waits for its turn), while the others asking for the page are served
  the previous answer: a client that wrote through this process then reads gets its change,
  a change made through another server shows within ``fresh_s``;
* at most ``renders`` pages are rendered at once in the process, so a flood of reads asking for
  pages that are not cached waits here instead of taking the server's threads and database
  connections from the posts.

Each server worker keeps its own cache.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from starlette.concurrency import run_in_threadpool

T = TypeVar("T")


class WriteGeneration:
    """A counter of this process's committed changes (moved by whoever commits them)."""

    def __init__(self) -> None:
        self.value = 0
        self._lock = threading.Lock()

    def bump(self) -> None:
        """Count one committed change."""
        with self._lock:
            self.value += 1


@dataclass
class _Entry(Generic[T]):
    value: T
    generation: int
    version: Hashable
    rendered: float
    checked: float


@dataclass
class _LoopState:
    """The asyncio objects of one event loop (a test client may run the app in several)."""

    renders: asyncio.Semaphore
    rendering: dict[Hashable, asyncio.Future[object]] = field(default_factory=dict)
    version_task: asyncio.Future[Hashable] | None = None


class PageCache(Generic[T]):
    """
    Rendered answers by key, served while neither this process nor the data changed.

    Parameters
    ----------
    generation
        This process's write generation.
    fresh_s
        How long an answer, or the data version, is trusted without asking the database.
    min_interval_s
        The shortest time between two renders of one page.
    max_age_s
        The longest an answer is served, whatever the version.
    max_entries
        Answers kept; the least recently used is dropped beyond that.
    renders
        Pages rendered at the same time in this process.
    clock
        Monotonic seconds (tests pass their own).
    """

    def __init__(
        self,
        generation: WriteGeneration,
        *,
        fresh_s: float = 1.0,
        min_interval_s: float = 0.25,
        max_age_s: float = 60.0,
        max_entries: int = 256,
        renders: int = 2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.generation = generation
        self.fresh_s = fresh_s
        self.min_interval_s = min_interval_s
        self.max_age_s = max_age_s
        self.max_entries = max_entries
        self.renders = renders
        self._clock = clock
        self._entries: OrderedDict[Hashable, _Entry[T]] = OrderedDict()
        self._version: Hashable | None = None
        self._version_at = -float("inf")
        self._loops: dict[asyncio.AbstractEventLoop, _LoopState] = {}
        self.hits = 0
        self.renders_done = 0

    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            for old in [lp for lp in self._loops if lp.is_closed()]:
                del self._loops[old]
            state = self._loops[loop] = _LoopState(renders=asyncio.Semaphore(self.renders))
        return state

    async def _current_version(self, read_version: Callable[[], Hashable]) -> Hashable:
        # read at most every fresh_s, one read at a time; the last version while a read runs
        state = self._state()
        if self._version is not None and self._clock() - self._version_at < self.fresh_s:
            return self._version
        task = state.version_task
        if task is None:
            task = state.version_task = asyncio.ensure_future(
                run_in_threadpool(self._read_version, read_version)
            )
            task.add_done_callback(lambda _t: setattr(state, "version_task", None))
        if self._version is not None:
            return self._version
        return await asyncio.shield(task)

    def _read_version(self, read_version: Callable[[], Hashable]) -> Hashable:
        version = read_version()
        self._version, self._version_at = version, self._clock()
        return version

    def _render(
        self, read_version: Callable[[], Hashable], render: Callable[[], T]
    ) -> tuple[Hashable, T]:
        version = self._read_version(read_version)  # before the render: never newer than it
        return version, render()

    async def get(
        self, key: Hashable, read_version: Callable[[], Hashable], render: Callable[[], T]
    ) -> T:
        """
        Return the answer of `key`: cached while current, else from `render` (in a thread).

        Parameters
        ----------
        key
            What identifies the answer (the query, its format, the server's base URL).
        read_version
            Reads the data version from the database (blocking; run in a thread).
        render
            Renders the answer (blocking; run in a thread, at most ``renders`` at once). Its
            exceptions reach every request waiting for it and nothing is cached.
        """
        now = self._clock()
        generation = self.generation.value
        entry = self._entries.get(key)
        if entry is not None and now - entry.rendered >= self.max_age_s:
            entry = None
        if entry is not None:
            self._entries.move_to_end(key)
            if entry.generation == generation:
                if now - entry.checked < self.fresh_s:
                    self.hits += 1
                    return entry.value
                if await self._current_version(read_version) == entry.version:
                    entry.checked = self._version_at  # when that version was read
                    self.hits += 1
                    return entry.value
        state = self._state()
        running = state.rendering.get(key)
        while running is not None:
            if entry is not None:  # the previous answer while the new one renders
                self.hits += 1
                return entry.value
            await asyncio.wait([running])  # its outcome, not its cancellation, reaches us
            if not running.cancelled():
                return running.result()  # type: ignore[return-value]  # a T, or its error
            running = state.rendering.get(key)  # the renderer was cancelled: render here
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        state.rendering[key] = future
        try:
            if entry is not None:  # this page's turn
                await asyncio.sleep(max(0.0, entry.rendered + self.min_interval_s - now))
            async with state.renders:
                generation = self.generation.value
                version, value = await run_in_threadpool(self._render, read_version, render)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        finally:
            del state.rendering[key]
        future.set_result(value)
        self.renders_done += 1
        stamp = self._clock()
        self._entries[key] = _Entry(value, generation, version, rendered=stamp, checked=stamp)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return value
