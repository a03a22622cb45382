"""A sliding-window rate limiter, in memory (per instance)."""

from __future__ import annotations

import time
from collections import OrderedDict, deque

MAX_KEYS = 100_000


class RateLimiter:
    """At most `limit` hits per key in any `window_secs`. Memory is bounded: past MAX_KEYS the
    least recently seen keys are forgotten."""

    def __init__(self, *, limit: int, window_secs: float) -> None:
        self._limit = limit
        self._window = window_secs
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def hit(self, key: str) -> float | None:
        """Record a hit; None if allowed, else the seconds until the next one would be."""
        now = time.monotonic()
        hits = self._hits.pop(key, None) or deque()
        while hits and now - hits[0] >= self._window:
            hits.popleft()
        self._hits[key] = hits
        if len(self._hits) > MAX_KEYS:
            self._hits.popitem(last=False)
        if len(hits) >= self._limit:
            return self._window - (now - hits[0])
        hits.append(now)
        return None
