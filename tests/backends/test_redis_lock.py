"""The lock that lets one instance at a time run the cleanup."""

from __future__ import annotations

import uuid

from parley.backends.redis import RedisBroker
from tests.support.services import REDIS_URL, require_tcp


async def test_only_one_holder_until_the_lock_expires() -> None:
    require_tcp("Redis", REDIS_URL)
    prefix = f"parley-test-{uuid.uuid4().hex[:8]}:"
    async with (
        RedisBroker(REDIS_URL, prefix=prefix) as first,
        RedisBroker(REDIS_URL, prefix=prefix) as second,
    ):
        assert await first.take_lock("cleanup", 30) is True
        assert await second.take_lock("cleanup", 30) is False
        assert await first.take_lock("cleanup", 30) is False  # not re-entrant either
        assert await second.take_lock("other-job", 30) is True
