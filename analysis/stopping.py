"""Stopping long solves early: a caller says when to stop, the solvers look.

A plan run is cancelled by its user or its worker shuts down while a HiGHS model or a PyVRP
search is running with a time limit of minutes. `stop_when` sets, for the code run inside its
block (in this thread or task), a check that every solver of the package polls: the HiGHS
callbacks of `gomrac.analysis._highs.Mip.solve` interrupt the model, and the PyVRP stopping
rule of `gomrac.analysis._routing_search` ends the search. Both then return their best
solution so far, as when their time limit is reached, and the caller decides what to do with
it (a cancelled plan run discards it at its next stage).

The check may be slow (a database read): it is called at most once per `every_s` seconds,
and once it has said stop, it says stop from then on without being called again.

Examples
--------
>>> asked = []
>>> with stop_when(lambda: bool(asked), every_s=0.0):
...     before = stop_requested()
...     asked.append("cancel")
...     after = stop_requested()
>>> before, after, stop_requested()
(False, True, False)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Final

#: Seconds between two calls of a slow check (`stop_when`'s default).
EVERY_S: Final = 1.0


class StopCheck:
    """A check called at most once per `every_s` seconds that stays True once it was True.

    Parameters
    ----------
    check
        Returns True when the work should stop.
    every_s
        Least time between two calls of `check`, seconds (0: every time).
    """

    def __init__(self, check: Callable[[], bool], *, every_s: float = EVERY_S) -> None:
        self._check = check
        self._every_s = float(every_s)
        self._next = -float("inf")
        self.stopped = False

    def __call__(self) -> bool:
        """Return True when the work should stop."""
        if self.stopped:
            return True
        now = time.monotonic()
        if now >= self._next:
            self._next = now + self._every_s
            self.stopped = bool(self._check())
        return self.stopped


_CURRENT: ContextVar[StopCheck | None] = ContextVar("gomrac_stop_check", default=None)


@contextmanager
def stop_when(check: Callable[[], bool], *, every_s: float = EVERY_S) -> Iterator[StopCheck]:
    """Make the solvers run inside the block stop early once `check` returns True.

    Parameters
    ----------
    check
        Returns True when the work should stop (a cancel was asked, the worker is stopping).
    every_s
        Least time between two calls of `check`, seconds.

    Yields
    ------
    StopCheck
        The throttled check; its ``stopped`` says whether it fired.
    """
    stop = StopCheck(check, every_s=every_s)
    token = _CURRENT.set(stop)
    try:
        yield stop
    finally:
        _CURRENT.reset(token)


def _never() -> bool:
    return False


def current_stop() -> Callable[[], bool]:
    """Return the check of the enclosing `stop_when` block (one that never stops outside one).

    A solver takes it when it starts, in the caller's thread, and may call it from any thread.
    """
    return _CURRENT.get() or _never


def stop_requested() -> bool:
    """Return True when the enclosing `stop_when` block's check says stop."""
    return current_stop()()


def in_time(deadline: float) -> bool:
    """Return True while ``time.perf_counter()`` is before `deadline` and no stop was asked.

    What a heuristic's loop asks before each round.
    """
    return time.perf_counter() < deadline and not stop_requested()


__all__ = ["EVERY_S", "StopCheck", "current_stop", "in_time", "stop_requested", "stop_when"]
