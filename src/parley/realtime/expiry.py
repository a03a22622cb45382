"""Ending live connections whose access token expires, with one timer for all of them.

A JWT's `exp` is a whole second, so connections wait in one bucket per second and a single
timer handle is armed for the earliest bucket. A connection costs a set entry; it has no task
and no timer of its own (idle connections are counted in bytes, connects per second).
"""

from __future__ import annotations

import asyncio
import heapq
import math
import time
from collections.abc import Callable

from parley.realtime.connection import Connection


class TokenExpiry:
    def __init__(self, on_expired: Callable[[Connection], None]) -> None:
        self._on_expired = on_expired
        self._buckets: dict[int, set[Connection]] = {}
        self._seconds: list[int] = []
        """A heap of bucket seconds; a bucket emptied early leaves its second to be skipped."""
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: int | None = None

    def track(self, connection: Connection) -> None:
        """Call `on_expired(connection)` when its principal's token expires (if it does)."""
        second = _expiry_second(connection)
        if second is None:
            return
        bucket = self._buckets.get(second)
        if bucket is None:
            bucket = self._buckets[second] = set()
            heapq.heappush(self._seconds, second)
            if self._timer_at is None or second < self._timer_at:
                self._arm(second)
        bucket.add(connection)

    def forget(self, connection: Connection) -> None:
        """The connection closed, or its principal is about to be replaced."""
        second = _expiry_second(connection)
        if second is None:
            return
        bucket = self._buckets.get(second)
        if bucket is not None:
            bucket.discard(connection)
            if not bucket:
                del self._buckets[second]

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = self._timer_at = None

    def _arm(self, second: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        delay = max(0.0, second - time.time())  # `exp` is wall-clock time
        self._timer = loop.call_at(loop.time() + delay, self._fire)
        self._timer_at = second

    def _fire(self) -> None:
        self._timer = self._timer_at = None
        now = time.time()
        while self._seconds and self._seconds[0] <= now:
            for connection in self._buckets.pop(heapq.heappop(self._seconds), ()):
                self._on_expired(connection)
        if self._seconds:
            self._arm(self._seconds[0])


def _expiry_second(connection: Connection) -> int | None:
    principal = connection.principal
    if principal is None or principal.expires_at is None:
        return None
    return math.ceil(principal.expires_at.timestamp())
