"""Abuse controls for posting: rate limits shared by every server worker, and the block lists.

`PostLimits` counts accepted posts per client address and per ``device_id`` in the database
(`gomrac.geo.store.rate_limit_hit`, table ``rate_limit``): every worker of a server, and every
server on the same database, counts in the same rows, so the limits in the discovery notes hold
for the whole service. A key's window opens at its first accepted post and lasts
``GOMRAC_POST_LIMIT_WINDOW_S``; the hit is counted in the transaction that stores the report,
so a refused or failed post counts nothing. Windows are wall-clock seconds: servers sharing a
database keep their clocks in step (NTP). Block lists hold client addresses or networks
(``ipaddress`` notation, e.g. ``203.0.113.0/24``) and device ids.
"""

from __future__ import annotations

import ipaddress
import itertools
import math
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Final

from starlette.exceptions import HTTPException

from gomrac.geo import store

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

PRUNE_EVERY: Final = 1000  # accepted posts of a process between deletions of expired windows


class PostLimits:
    """
    At most `per_client` posts per client address and `per_device` per device in a window.

    Parameters
    ----------
    per_client, per_device
        Posts allowed per window; 0 allows everything.
    window_s
        Window length in seconds.
    clock
        Seconds since the epoch (tests pass their own).
    """

    def __init__(
        self,
        *,
        per_client: int,
        per_device: int,
        window_s: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.per_client = per_client
        self.per_device = per_device
        self.window_s = window_s
        self._clock = clock
        self._accepted = itertools.count(1)

    @property
    def active(self) -> bool:
        """Whether any limit is set."""
        return self.per_client > 0 or self.per_device > 0

    def _keys(self, client: str, device: str | None) -> list[tuple[str, str, int]]:
        keys = [("client", client[:200], self.per_client)]
        if device is not None:
            keys.append(("device", device[:200], self.per_device))
        return [k for k in keys if k[2] > 0]

    def wait(self, session: Session, client: str, device: str | None) -> int | None:
        """Whole seconds until this client and device may post, or None (reads only)."""
        now = self._clock()
        waits = [
            store.rate_limit_wait(
                session, scope=scope, key=key, limit=limit, window_s=self.window_s, now=now
            )
            for scope, key, limit in self._keys(client, device)
        ]
        return _whole_seconds(max((w for w in waits if w is not None), default=None))

    def hit(self, session: Session, client: str, device: str | None) -> int | None:
        """
        Count a post of this client and device in `session`'s transaction, if allowed.

        Returns None when both limits allow it, else the whole seconds to wait; the caller then
        rolls the transaction back (a key counted before the refusing one is not kept).
        """
        now = self._clock()
        for scope, key, limit in self._keys(client, device):
            wait = store.rate_limit_hit(
                session, scope=scope, key=key, limit=limit, window_s=self.window_s, now=now
            )
            if wait is not None:
                return _whole_seconds(wait)
        if self.active and next(self._accepted) % PRUNE_EVERY == 0:
            store.prune_rate_limits(session, before=now - self.window_s)
        return None


def _whole_seconds(wait: float | None) -> int | None:
    return None if wait is None else max(1, math.ceil(wait))


def too_many_posts(wait: int) -> HTTPException:
    """Return the 429 answer (with ``Retry-After``) of a post over the limits."""
    msg = f"too many reports from this client or device; try again in {wait} s"
    return HTTPException(status_code=429, detail=msg, headers={"Retry-After": str(wait)})


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
