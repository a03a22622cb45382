"""The pipelined Redis client (`backends.resp`) against real Redis servers."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from parley.backends.resp import RespClient, Script
from tests.support.redis_server import own_redis
from tests.support.services import REDIS_URL

COUNT = Script("return redis.call('INCRBY', KEYS[1], ARGV[1])")


def key() -> str:
    return f"parley-test:resp:{uuid.uuid4().hex}"


async def test_concurrent_commands_get_their_own_replies_in_order() -> None:
    client = RespClient(REDIS_URL)
    try:
        name = key()
        replies = await asyncio.gather(*(client.execute("INCR", name) for _ in range(500)))
        assert replies == list(range(1, 501))  # one write carried many; each got its reply
        assert await client.execute("SET", name, b"\x00\xffbinary") == b"OK"
        assert await client.execute("GET", name) == b"\x00\xffbinary"
        assert await client.execute("GET", key()) is None
        await client.execute("DEL", name)
    finally:
        await client.aclose()


async def test_an_error_reply_raises_and_the_connection_goes_on() -> None:
    client = RespClient(REDIS_URL)
    try:
        name = key()
        await client.execute("SET", name, "text")
        with pytest.raises(ResponseError, match=r"WRONGTYPE|not an integer"):
            await client.execute("INCR", name)
        with pytest.raises(ResponseError, match="unknown command"):
            await client.execute("NO-SUCH-COMMAND")
        assert await client.execute("GET", name) == b"text"
        await client.execute("DEL", name)
    finally:
        await client.aclose()


async def test_a_cancelled_command_does_not_shift_the_replies_of_the_next() -> None:
    client = RespClient(REDIS_URL)
    try:
        name = key()
        waiting = asyncio.ensure_future(client.execute("BLPOP", name, "0.2"))
        await asyncio.sleep(0)  # sent (with the next pass's write)
        waiting.cancel()
        assert await client.execute("PING") == b"PONG"  # not BLPOP's nil
    finally:
        await client.aclose()


async def test_a_script_unknown_to_redis_is_loaded_and_run(tmp_path: Path) -> None:
    server = own_redis(tmp_path)
    server.start()
    client = RespClient(server.url)
    try:
        assert await client.run(COUNT, ["n"], [5]) == 5  # NOSCRIPT, then EVAL
        assert await client.run(COUNT, ["n"], [2]) == 7  # EVALSHA
        await client.execute("SCRIPT", "FLUSH")
        assert await client.run(COUNT, ["n"], [1]) == 8
    finally:
        await client.aclose()
        server.stop()


async def test_commands_after_a_redis_restart_run_on_a_new_connection(tmp_path: Path) -> None:
    server = own_redis(tmp_path)
    server.start()
    client = RespClient(server.url)
    try:
        assert await client.execute("INCR", "n") == 1
        server.stop()
        with pytest.raises(RedisConnectionError):
            await client.execute("INCR", "n")  # nothing to connect to: refused, twice
        server.start()
        assert await client.execute("INCR", "n") == 1  # a new, empty server: it ran once
        assert await client.run(COUNT, ["n"], [1]) == 2
    finally:
        await client.aclose()
        server.stop()


async def test_a_password_and_a_database_from_the_url(tmp_path: Path) -> None:
    server = own_redis(tmp_path)
    server.start()
    plain = RespClient(server.url)
    try:
        await plain.execute("SELECT", 3)
        await plain.execute("SET", "where", "db3")
        await plain.execute("CONFIG", "SET", "requirepass", "s3cret")
        await plain.aclose()  # from now on a connection must authenticate

        refused = RespClient(server.url)
        with pytest.raises(ResponseError, match="NOAUTH"):
            await refused.execute("GET", "where")
        await refused.aclose()

        signed_in = RespClient(f"redis://:s3cret@127.0.0.1:{server.port}/3")
        assert await signed_in.execute("GET", "where") == b"db3"
        await signed_in.aclose()
        wrong = RespClient(f"redis://:wrong@127.0.0.1:{server.port}/3")
        with pytest.raises(ResponseError):
            await wrong.execute("GET", "where")
        await wrong.aclose()
    finally:
        server.stop()


def test_it_runs_on_uvloop_as_the_server_does() -> None:
    """uvloop's transports are not asyncio.Transport subclasses."""
    import uvloop

    async def scenario() -> list[object]:
        client = RespClient(REDIS_URL)
        try:
            name = key()
            replies = await asyncio.gather(*(client.execute("INCR", name) for _ in range(3)))
            await client.execute("DEL", name)
            return [*replies, await client.run(COUNT, [key()], [4])]
        finally:
            await client.aclose()

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert runner.run(scenario()) == [1, 2, 3, 4]
