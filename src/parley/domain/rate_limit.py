"""Rate limiters in memory (per instance): a sliding window, and token buckets; and the
counted limit the domain's per-caller limits share."""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

from parley.domain.ports import RateLimit
from parley.errors import RateLimited

MAX_KEYS = 100_000


class RateLimiter(RateLimit):
    """At most `limit` hits per key in any `window_secs`, in this process. Memory is bounded:
    past MAX_KEYS the least recently seen keys are forgotten."""

    def __init__(
        self, *, limit: int, window_secs: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limit = limit
        self._window = window_secs
        self._clock = clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    async def hit(self, key: str) -> float | None:
        return self._check(key, record=True)

    async def peek(self, key: str) -> float | None:
        return self._check(key, record=False)

    def _check(self, key: str, *, record: bool) -> float | None:
        now = self._clock()
        hits = self._hits.pop(key, None) or deque()
        while hits and now - hits[0] >= self._window:
            hits.popleft()
        if hits or record:
            self._hits[key] = hits
        if len(self._hits) > MAX_KEYS:
            self._hits.popitem(last=False)
        if len(hits) >= self._limit:
            return self._window - (now - hits[0])
        if record:
            hits.append(now)
        return None


class TokenBuckets:
    """At most `rate` hits per second per key, with bursts up to `burst` (default: `rate`): a
    bucket per key that refills continuously. Cheap enough to check on every game action.
    Memory is bounded like RateLimiter's."""

    def __init__(
        self,
        *,
        rate: float,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate = rate
        self._burst = burst if burst is not None else rate
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float | None:
        """Take a token; None if there was one, else the seconds until there will be."""
        now = self._clock()
        tokens, then = self._buckets.pop(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - then) * self._rate)
        if len(self._buckets) >= MAX_KEYS:
            self._buckets.popitem(last=False)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self._rate
        self._buckets[key] = (tokens - 1, now)
        return None


class CountedLimit:
    """A limit whose refusals are counted (`refused`, a metric) and answered 429 with
    `retry_after` in whole seconds; without a limit (None) nothing is refused."""

    def __init__(self, limit: RateLimit | None = None) -> None:
        self._limit = limit
        self.refused = 0

    async def _take(self, key: str, code: str, message: Callable[[int], str]) -> None:
        if self._limit is None:
            return
        retry_after = await self._limit.hit(key)
        if retry_after is None:
            return
        self.refused += 1
        seconds = max(1, int(retry_after + 0.999))
        raise RateLimited(message(seconds), code=code, retry_after=seconds)
