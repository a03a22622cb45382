"""The Redis broker: Pub/Sub on one channel per conversation, user and presence subscription.

Each instance subscribes only to the channels its hub asks for, so no instance decodes traffic
for conversations it has no client in. When Redis goes away the reader reconnects with capped
exponential backoff and subscribes again to every channel still needed; publishes fail while
it is gone (the caller's change is already committed, and clients catch up from history).
Publishing and the subscriber connection are `resp`'s (pipelined, parsed by hiredis: redis-py's
Pub/Sub reader cost several times as much per message); a subscribe returns once Redis has
confirmed it, so a message published after it returns reaches this instance.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.connection import parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from parley.backends.redis_client import redis_client
from parley.backends.resp import RespClient, Subscription, connect
from parley.domain.ports import Broker
from parley.lifecycle import stop_task

log = structlog.get_logger(__name__)

BACKOFF_START_SECS = 0.1
BACKOFF_MAX_SECS = 5.0
CONNECT_TIMEOUT_SECS = 2.0
CONFIRM_TIMEOUT_SECS = 5.0
"""How long a (un)subscribe waits for Redis to confirm it before counting the connection as
unresponsive."""


class RedisBroker(Broker):
    def __init__(self, url: str, *, prefix: str) -> None:
        super().__init__()
        self._prefix = prefix
        # Commands retry on a dropped connection, so the first command after Redis restarts
        # reconnects instead of failing on a stale pooled socket.
        self._redis: Redis = redis_client(
            url,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 3),
            retry_on_error=[RedisConnectionError, RedisTimeoutError],
            socket_connect_timeout=2,
        )
        self._commands = RespClient(url)  # a publish per event: pipelined (`resp`)
        self._options: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
        self._subscription: Subscription | None = None
        self._channels: set[str] = set()
        self._reader: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._lock = asyncio.Lock()

    async def __aenter__(self) -> RedisBroker:
        await self._redis.ping()  # fail fast at start-up if Redis is not there
        self._subscription = await self._subscribed()
        self._reader = asyncio.create_task(self._read(), name="redis-broker-reader")
        return self

    async def aclose(self) -> None:
        await stop_task(self._reader)
        if self._subscription is not None:
            self._subscription.close()
        await self._commands.aclose()
        await self._redis.aclose()

    async def publish(self, channel: str, payload: bytes) -> None:
        await self._commands.execute("PUBLISH", self._prefix + channel, payload)

    async def subscribe(self, channel: str) -> None:
        async with self._lock:
            self._channels.add(channel)
            await self._change(channel, subscribe=True)

    async def unsubscribe(self, channel: str) -> None:
        async with self._lock:
            self._channels.discard(channel)
            await self._change(channel, subscribe=False)

    async def _change(self, channel: str, *, subscribe: bool) -> None:
        subscription = self._subscription
        if subscription is None or not self._connected.is_set():
            return  # the reader subscribes to every needed channel when it reconnects
        # On a lost connection the reader reconnects and resubscribes; one that does not
        # confirm in time is closed, so that it does too.
        try:
            async with asyncio.timeout(CONFIRM_TIMEOUT_SECS):
                if subscribe:
                    await subscription.subscribe(self._prefix + channel)
                else:
                    await subscription.unsubscribe(self._prefix + channel)
        except TimeoutError:
            log.warning("redis.subscriber_unresponsive", channel=channel)
            subscription.close()
        except (RedisError, OSError):
            pass

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

    async def _subscribed(self) -> Subscription:
        """A new subscriber connection, subscribed to every needed channel."""
        async with asyncio.timeout(CONNECT_TIMEOUT_SECS):
            subscription = await connect(self._options, Subscription)
        subscription.on_message = self._on_message
        try:
            async with self._lock, asyncio.timeout(CONFIRM_TIMEOUT_SECS):
                # A placeholder channel: a connection subscribed to nothing leaves Pub/Sub mode.
                channels = [self._prefix + c for c in self._channels]
                await subscription.subscribe(self._prefix + "~", *channels)
                self._connected.set()
        except BaseException:
            subscription.close()
            raise
        return subscription

    def _on_message(self, channel: bytes, data: bytes) -> None:
        if self._handler is None:
            return
        try:
            self._handler(channel.decode()[len(self._prefix) :], data)
        except Exception:  # a handler bug must not stop delivery for everyone
            log.exception("redis.handler_failed")

    async def _read(self) -> None:
        """Watches the subscriber connection; when it is lost, makes a new one."""
        while True:
            assert self._subscription is not None
            await self._subscription.lost
            self._connected.clear()
            log.warning("redis.subscriber_lost", error="connection lost")
            self._subscription = await self._reconnect()

    async def _reconnect(self) -> Subscription:
        """A new subscriber connection with every needed channel, retrying with backoff."""
        backoff = BACKOFF_START_SECS
        while True:
            await asyncio.sleep(backoff)
            try:
                subscription = await self._subscribed()
            except (RedisError, OSError, TimeoutError) as exc:
                backoff = min(backoff * 2, BACKOFF_MAX_SECS)
                log.warning("redis.reconnect_failed", error=str(exc), retry_in_secs=backoff)
                continue
            log.info("redis.subscriber_restored", channels=len(self._channels))
            return subscription
