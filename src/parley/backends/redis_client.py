"""The one way Parley's backends open a Redis client: a pool of at most `max_connections`
(100 unless the URL says otherwise: `redis://host:6379/0?max_connections=200`) whose commands
wait up to POOL_WAIT_SECS for a free connection when all are busy.

redis-py's default pool raises `MaxConnectionsError` at once instead: a burst of a thousand
sign-ins publishing their events at the same moment then failed one in ten of them.

A client built on a pool does not get redis-py's default retry policy: its connections try
once. After a Redis restart every idle connection of the pool is dead, so the first command on
each failed (a sign-in after a restart answered `internal_error`). Here a command whose
connection is found closed is sent once more on a fresh one, straight away. Only connection
errors are retried, never timeouts; a server that crashed in the middle of a command it had
already carried out is the one case where a command can run twice.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

MAX_CONNECTIONS = 100
POOL_WAIT_SECS = 10.0


def redis_client(url: str, **options: Any) -> Redis:
    """A client owning its pool (closed with it); `options` go to each connection (a
    `retry` of the caller's replaces the one here)."""
    options.setdefault("retry", Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)))
    pool = BlockingConnectionPool.from_url(
        url, max_connections=MAX_CONNECTIONS, timeout=POOL_WAIT_SECS, **options
    )
    return Redis.from_pool(pool)
