"""Abuse controls for posting: a sliding-window rate limiter and the block lists.

The limiter counts accepted posts per key (a client address, a ``device_id``) in the last
``window_s`` seconds, in this process: with several server workers each worker keeps its own
count, so a client can post up to ``workers × limit`` reports per window; the limits in the
discovery notes are per worker. Block lists hold client addresses or networks (``ipaddress``
notation, e.g. ``203.0.113.0/24``) and device ids.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Final

_MAX_KEYS: Final = 100_000  # beyond this the emptiest keys are forgotten


class RateLimiter:
    """
    At most `limit` hits per key in any `window_s` seconds (a sliding window).

    Parameters
    ----------
    limit
        Hits allowed per window; 0 allows everything.
    window_s
        Window length in seconds.
    clock
        Monotonic seconds (tests pass their own).

    Examples
    --------
    >>> now = [0.0]
    >>> limiter = RateLimiter(limit=2, window_s=60, clock=lambda: now[0])
    >>> limiter.hit("a"), limiter.hit("a"), limiter.hit("a")
    (None, None, 60)
    >>> now[0] = 30.5
    >>> limiter.retry_after("a")
    30
    """

    def __init__(
        self, *, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _prune(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        return hits

    def retry_after(self, key: str) -> int | None:
        """Whole seconds until `key` may hit again, or None when it may now."""
        if self.limit <= 0:
            return None
        with self._lock:
            now = self._clock()
            hits = self._prune(key, now)
            if len(hits) < self.limit:
                return None
            return max(1, math.ceil(hits[0] + self.window_s - now))

    def hit(self, key: str) -> int | None:
        """Record a hit for `key` if allowed (None); otherwise the seconds to wait."""
        if self.limit <= 0:
            return None
        with self._lock:
            now = self._clock()
            hits = self._prune(key, now)
            if len(hits) >= self.limit:
                return max(1, math.ceil(hits[0] + self.window_s - now))
            if len(self._hits) > _MAX_KEYS:
                self._forget(now)
            hits.append(now)
            return None

    def _forget(self, now: float) -> None:
        for key in list(self._hits):
            hits = self._prune(key, now)
            if not hits:
                del self._hits[key]


class BlockList:
    """Client addresses and networks, and device ids, that may not post."""

    def __init__(self, clients: Iterable[str], devices: Iterable[str]) -> None:
        self.networks = tuple(ipaddress.ip_network(c.strip(), strict=False) for c in clients)
        self.devices = frozenset(d.strip() for d in devices if d.strip())

    def blocks_client(self, address: str | None) -> bool:
        """Whether the address lies in a blocked network (an unparsable one is not blocked)."""
        if address is None or not self.networks:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.networks if net.version == ip.version)

    def blocks_device(self, device_id: str | None) -> bool:
        """Whether the device id is blocked."""
        return device_id is not None and device_id in self.devices
