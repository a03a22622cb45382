"""The Redis client every backend uses, across a restart of its server."""

from __future__ import annotations

from pathlib import Path

from parley.backends.redis_client import redis_client
from tests.support.redis_server import own_redis


async def test_the_first_commands_after_a_redis_restart_succeed(tmp_path: Path) -> None:
    """Every idle connection of the pool died with the old server; each is replaced on its
    first use instead of failing the command it was given."""
    server = own_redis(tmp_path)
    server.start()
    client = redis_client(server.url)
    try:
        # Several connections in the pool, all idle when the server goes away.
        assert await client.incr("n") == 1
        pipes = [client.pipeline() for _ in range(3)]
        for pipe in pipes:
            pipe.incr("n")
        for pipe in pipes:
            await pipe.execute()
        server.stop()
        server.start()
        assert await client.incr("n") == 1  # a new, empty server: each command ran once
        assert await client.incr("n") == 2
        assert await client.set("k", "v")
        assert await client.get("k") == b"v"
    finally:
        await client.aclose()
        server.stop()
