"""The RateLimit port's two backends, with the same contract: at most `limit` hits per key in
a sliding window, `peek` answering as `hit` would without recording. The in-process one runs
on a clock the test turns forward; the Redis one on Redis's own clock, so its window test
only checks what needs no waiting."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from parley.backends.redis_rate_limit import RedisRateLimit
from parley.domain.ports import RateLimit
from parley.domain.rate_limit import RateLimiter, TokenBuckets
from tests.support.services import REDIS_URL, require_tcp


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[RateLimit]:
    if request.param == "memory":
        yield RateLimiter(limit=3, window_secs=60)
        return
    require_tcp("Redis", REDIS_URL)
    redis = RedisRateLimit(
        REDIS_URL, prefix=f"parley-test-{uuid.uuid4().hex[:8]}:", name="t", limit=3, window_secs=60
    )
    yield redis
    await redis.aclose()


async def test_the_limit_per_key_and_peek_records_nothing(limiter: RateLimit) -> None:
    for _ in range(5):
        assert await limiter.peek("a") is None  # peeking never uses the allowance up
    assert [await limiter.hit("a") for _ in range(3)] == [None, None, None]
    wait = await limiter.hit("a")
    assert wait is not None
    assert 0 < wait <= 60
    peeked = await limiter.peek("a")
    assert peeked is not None
    assert 0 < peeked <= 60
    assert await limiter.hit("b") is None  # keys are counted apart


async def test_the_window_slides_with_the_clock() -> None:
    clock = Clock()
    limiter = RateLimiter(limit=2, window_secs=10, clock=clock)
    assert await limiter.hit("k") is None
    clock.now += 4
    assert await limiter.hit("k") is None
    assert await limiter.hit("k") == pytest.approx(6)
    clock.now += 6  # the first hit leaves the window
    assert await limiter.peek("k") is None
    assert await limiter.hit("k") is None
    assert await limiter.peek("k") == pytest.approx(4)
    clock.now += 10
    assert await limiter.peek("k") is None


def test_token_buckets_allow_a_burst_then_the_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=2, burst=4, clock=clock)
    assert [buckets.take("k") for _ in range(4)] == [None] * 4
    assert buckets.take("k") == pytest.approx(0.5)
    clock.now += 0.5  # one token back
    assert buckets.take("k") is None
    assert buckets.take("k") == pytest.approx(0.5)
    clock.now += 100  # refilled, but never past the burst
    assert [buckets.take("k") for _ in range(5)][-1] is not None
    assert buckets.take("other") is None
