"""The one way Parley's backends open a Redis client: a pool of at most `max_connections`
(100 unless the URL says otherwise: `redis://host:6379/0?max_connections=200`) whose commands
wait up to POOL_WAIT_SECS for a free connection when all are busy.

redis-py's default pool raises `MaxConnectionsError` at once instead: a burst of a thousand
sign-ins publishing their events at the same moment then failed one in ten of them.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis

MAX_CONNECTIONS = 100
POOL_WAIT_SECS = 10.0


def redis_client(url: str, **options: Any) -> Redis:
    """A client owning its pool (closed with it); `options` go to each connection."""
    pool = BlockingConnectionPool.from_url(
        url, max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT_SECS, **options
    )
    return Redis.from_pool(pool)
