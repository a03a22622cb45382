"""The Redis broker: Pub/Sub on one channel per conversation, user and presence subscription.

Each instance subscribes only to the channels its hub asks for, so no instance decodes traffic
for conversations it has no client in. When Redis goes away the reader reconnects with capped
exponential backoff and subscribes again to every channel still needed; publishes fail while
it is gone (the caller's change is already committed, and clients catch up from history).
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from parley.backends.redis_client import redis_client
from parley.backends.resp import RespClient
from parley.domain.ports import Broker
from parley.lifecycle import stop_task

log = structlog.get_logger(__name__)

BACKOFF_START_SECS = 0.1
BACKOFF_MAX_SECS = 5.0


class RedisBroker(Broker):
    def __init__(self, url: str, *, prefix: str) -> None:
        super().__init__()
        self._prefix = prefix
        # Commands retry on a dropped connection, so the first publish after Redis restarts
        # reconnects instead of failing on a stale pooled socket.
        self._redis: Redis = redis_client(
            url,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 3),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            socket_connect_timeout=2,
        )
        self._commands = RespClient(url)  # a publish per event: pipelined (`resp`)
        self._pubsub: PubSub | None = None
        self._channels: set[str] = set()
        self._reader: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> RedisBroker:
        await self._redis.ping()  # fail fast at start-up if Redis is not there
        self._pubsub = await self._fresh_pubsub()
        self._reader = asyncio.create_task(self._read(), name="redis-broker-reader")
        return self

    async def aclose(self) -> None:
        await stop_task(self._reader)
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self._commands.aclose()
        await self._redis.aclose()

    async def publish(self, channel: str, payload: bytes) -> None:
        await self._commands.execute("PUBLISH", self._prefix + channel, payload)

    async def subscribe(self, channel: str) -> None:
        async with self._lock:
            self._channels.add(channel)
            if self._pubsub is not None and self._connected.is_set():
                with contextlib.suppress(RedisError, OSError):  # the reader resubscribes
                    await self._pubsub.subscribe(self._prefix + channel)

    async def unsubscribe(self, channel: str) -> None:
        async with self._lock:
            self._channels.discard(channel)
            if self._pubsub is not None and self._connected.is_set():
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.unsubscribe(self._prefix + channel)

    async def take_lock(self, name: str, ttl_secs: float) -> bool:
        """A lock that expires by itself: True if this instance got it."""
        return bool(
            await self._redis.set(
                self._prefix + "lock:" + name, "1", nx=True, px=max(1, int(ttl_secs * 1000))
            )
        )

    async def ping(self) -> None:
        await self._redis.ping()
        if not self._connected.is_set():
            raise RedisConnectionError("the subscriber connection is down")

    async def _fresh_pubsub(self) -> PubSub:
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        async with self._lock:
            channels = [self._prefix + c for c in self._channels]
            # A PubSub only holds a connection once it subscribes; a placeholder channel keeps
            # it connected while the hub needs nothing.
            await pubsub.subscribe(self._prefix + "~", *channels)
            self._connected.set()
        return pubsub

    async def _read(self) -> None:
        prefix = len(self._prefix)
        while True:
            try:
                assert self._pubsub is not None
                message = await self._pubsub.get_message(timeout=None)
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                self._connected.clear()
                log.warning("redis.subscriber_lost", error=str(exc))
                with contextlib.suppress(RedisError, OSError):
                    if self._pubsub is not None:
                        await self._pubsub.aclose()  # type: ignore[no-untyped-call]
                self._pubsub = await self._reconnect()
                continue
            if message is None or message.get("type") != "message" or self._handler is None:
                continue
            try:
                self._handler(message["channel"].decode()[prefix:], message["data"])
            except Exception:  # a handler bug must not stop delivery for everyone
                log.exception("redis.handler_failed")

    async def _reconnect(self) -> PubSub:
        """A new subscriber connection with every needed channel, retrying with backoff."""
        backoff = BACKOFF_START_SECS
        while True:
            await asyncio.sleep(backoff)
            try:
                pubsub = await self._fresh_pubsub()
            except (RedisError, OSError) as exc:
                backoff = min(backoff * 2, BACKOFF_MAX_SECS)
                log.warning("redis.reconnect_failed", error=str(exc), retry_in_secs=backoff)
                continue
            log.info("redis.subscriber_restored", channels=len(self._channels))
            return pubsub
