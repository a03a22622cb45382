"""A lean pipelined Redis client for the commands every message pays for.

Each message sent with Redis configured costs an instance a few Redis commands (the recovery
log's append-and-publish script, the shared send-rate count, a Pub/Sub publish): through
redis-py each one takes a pool checkout, a connection lock and its own write, ~60 us of CPU
an awaited command (`benchmarks/RESULTS.md`). Here one connection carries every command in
order, replies are matched to commands first in first out (Redis answers in order), the
commands of one pass of the event loop leave in one write, and hiredis (C) packs commands
and parses replies.

The same rules as the rest of Parley's Redis clients (`redis_client`): a command whose
connection is found closed, or drops while it waits, is sent once more on a fresh one
(a server that crashed after carrying it out is the one case where it runs twice), and a
second failure raises redis-py's `ConnectionError`; connecting gives up after
`connect_timeout_secs`. Scripts run by `EVALSHA`, loaded with `EVAL` the first time
Redis says it does not know them (after a restart, say).

Everything else (reads, sessions, scans, Pub/Sub subscriptions) stays on redis-py.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar, cast

import hiredis
from redis.connection import SSLConnection, UnixDomainSocketConnection, parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

Arg = str | bytes | int | float


class _Connection(asyncio.Protocol):
    """One RESP2 connection: commands written in order, replies matched in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._reader = hiredis.Reader()
        self._waiting: deque[asyncio.Future[Any]] = deque()
        self._out: list[bytes] = []
        self._transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        reader = self._reader
        reader.feed(data)
        while (reply := reader.gets()) is not False:
            self._reply(reply)

    def _reply(self, reply: Any) -> None:
        if not self._waiting:  # a reply to nothing: the stream is out of step
            self.close()
            return
        waiter = self._waiting.popleft()
        if waiter.done():  # its caller was cancelled; the reply is dropped
            return
        if isinstance(reply, hiredis.ReplyError):
            message = str(reply)
            error = NoScriptError if message.startswith("NOSCRIPT") else ResponseError
            waiter.set_exception(error(message))
        else:
            waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_exception(RedisConnectionError("the Redis connection was lost"))

    def send(self, args: tuple[Arg, ...]) -> asyncio.Future[Any]:
        waiter = self._loop.create_future()
        if self.closed:
            waiter.set_exception(RedisConnectionError("the Redis connection is closed"))
            return waiter
        self._waiting.append(waiter)
        self._enqueue(args)
        return waiter

    def _enqueue(self, args: tuple[Arg, ...]) -> None:
        """Packed now, written with the rest of this pass's commands at the next."""
        if not self._out:
            self._loop.call_soon(self._flush)
        self._out.append(hiredis.pack_command(args))  # type: ignore[arg-type]  # its stub: one-tuple

    def _flush(self) -> None:
        out, self._out = self._out, []
        if self._transport is not None and not self.closed:
            self._transport.write(out[0] if len(out) == 1 else b"".join(out))

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()


C = TypeVar("C", bound=_Connection)

PUSHED = frozenset({b"message", b"subscribe", b"unsubscribe"})


class Subscription(_Connection):
    """A connection in Pub/Sub mode: messages go to `on_message(channel, data)` as they
    come; `subscribe`/`unsubscribe` return once Redis has confirmed every channel (from then
    on a message published to it arrives here). `lost` is done when the connection ends."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.on_message: Callable[[bytes, bytes], None] = _ignore
        self._confirming: deque[list[Any]] = deque()  # [kind, channels left, waiter]
        self.lost: asyncio.Future[None] = loop.create_future()

    def _reply(self, reply: Any) -> None:
        if type(reply) is list and reply and reply[0] in PUSHED:
            kind = reply[0]
            if kind == b"message":
                self.on_message(reply[1], reply[2])
                return
            confirming = self._confirming
            if confirming and confirming[0][0] == kind:
                confirming[0][1] -= 1
                if confirming[0][1] == 0:
                    waiter = confirming.popleft()[2]
                    if not waiter.done():
                        waiter.set_result(None)
            return
        super()._reply(reply)

    async def subscribe(self, *channels: str) -> None:
        await self._change(b"subscribe", "SUBSCRIBE", channels)

    async def unsubscribe(self, *channels: str) -> None:
        await self._change(b"unsubscribe", "UNSUBSCRIBE", channels)

    async def _change(self, kind: bytes, command: str, channels: tuple[str, ...]) -> None:
        if not channels:
            return
        if self.closed:
            raise RedisConnectionError("the Redis connection is closed")
        waiter = self._loop.create_future()
        self._confirming.append([kind, len(channels), waiter])
        self._enqueue((command, *channels))
        await waiter

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        while self._confirming:
            waiter = self._confirming.popleft()[2]
            if not waiter.done():
                waiter.set_exception(RedisConnectionError("the Redis connection was lost"))
        if not self.lost.done():
            self.lost.set_result(None)


def _ignore(channel: bytes, data: bytes) -> None:
    return


class Script:
    """A Lua script known by its SHA-1, as `EVALSHA` runs it."""

    __slots__ = ("sha", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()  # noqa: S324 - Redis's script id


class RespClient:
    def __init__(self, url: str, *, connect_timeout_secs: float = 2.0) -> None:
        self._options: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
        self._connect_timeout_secs = connect_timeout_secs
        self._connection: _Connection | None = None
        self._connecting: asyncio.Lock | None = None

    async def execute(self, *args: Arg) -> Any:
        try:
            return await (await self._connected()).send(args)
        except RedisConnectionError:
            # Found closed (a Redis restart leaves the socket dead): once more on a new one.
            return await (await self._connected()).send(args)

    async def run(self, script: Script, keys: list[str], args: list[Arg]) -> Any:
        try:
            return await self.execute("EVALSHA", script.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await self.execute("EVAL", script.source, len(keys), *keys, *args)

    async def aclose(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def _connected(self) -> _Connection:
        connection = self._connection
        if connection is not None and not connection.closed:
            return connection
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            connection = self._connection
            if connection is None or connection.closed:
                async with asyncio.timeout(self._connect_timeout_secs):
                    connection = self._connection = await connect(self._options, _Connection)
        return connection


async def connect(options: dict[str, Any], kind_of: Callable[[asyncio.AbstractEventLoop], C]) -> C:
    """A connection (of protocol `kind_of`) to the Redis that `parse_url`'s `options` name,
    signed in and on its database."""
    loop = asyncio.get_running_loop()
    kind = options.get("connection_class")
    try:
        if kind is UnixDomainSocketConnection:
            _, connection = await loop.create_unix_connection(
                lambda: kind_of(loop), options["path"]
            )
        else:
            context = None
            if kind is SSLConnection:
                context = ssl.create_default_context()
                if str(options.get("ssl_cert_reqs", "required")).lower() == "none":
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
            _, connection = await loop.create_connection(
                lambda: kind_of(loop),
                options.get("host", "localhost"),
                int(options.get("port", 6379)),
                ssl=context,
            )
    except OSError as exc:
        raise RedisConnectionError(f"cannot connect to Redis: {exc}") from exc
    setup: list[tuple[Arg, ...]] = []
    if options.get("password"):
        user = options.get("username")
        setup.append(("AUTH", user, options["password"]) if user else ("AUTH", options["password"]))
    if options.get("db"):
        setup.append(("SELECT", int(options["db"])))
    for command in setup:
        try:
            await connection.send(command)
        except BaseException:
            connection.close()
            raise
    return connection
