"""Pluggable backends, each a small interface with an in-process default.

Chosen by URL: an empty URL means the in-process implementation; `redis://` (or `rediss://`)
the Redis one, imported only when asked for.
"""

from __future__ import annotations

from parley.backends.base import Broker, PresenceStore


def create_broker(redis_url: str, *, prefix: str) -> Broker:
    if not redis_url:
        from parley.backends.memory import MemoryBroker

        return MemoryBroker()
    if redis_url.startswith(("redis://", "rediss://", "unix://")):
        from parley.backends.redis import RedisBroker

        return RedisBroker(redis_url, prefix=prefix)
    raise ValueError(f"REDIS_URL must be a redis:// URL, not {redis_url!r}")


def create_presence_store(
    redis_url: str, *, instance_ttl_secs: float, prefix: str
) -> PresenceStore:
    if not redis_url:
        from parley.backends.memory import MemoryPresenceStore

        return MemoryPresenceStore()
    from parley.backends.redis_presence import RedisPresenceStore

    return RedisPresenceStore(redis_url, instance_ttl_secs=instance_ttl_secs, prefix=prefix)
