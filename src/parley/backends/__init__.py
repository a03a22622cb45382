"""Pluggable backends, each a small interface with an in-process default.

Chosen by URL: an empty URL means the in-process implementation; `redis://` (or `rediss://`)
the Redis one, imported only when asked for.
"""

from __future__ import annotations

from parley.backends.base import Broker


def create_broker(redis_url: str) -> Broker:
    if not redis_url:
        from parley.backends.memory import MemoryBroker

        return MemoryBroker()
    if redis_url.startswith(("redis://", "rediss://", "unix://")):
        from parley.backends.redis import RedisBroker

        return RedisBroker(redis_url)
    raise ValueError(f"REDIS_URL must be a redis:// URL, not {redis_url!r}")
