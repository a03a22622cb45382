"""The Redis broker between two instances' worth of brokers, on real Redis servers."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from parley.backends.redis import RedisBroker
from tests.support.redis_server import broker_pair, own_redis
from tests.support.services import REDIS_URL


class Heard:
    def __init__(self) -> None:
        self.messages: list[tuple[str, bytes]] = []
        self.changed = asyncio.Event()

    def __call__(self, channel: str, payload: bytes) -> None:
        self.messages.append((channel, payload))
        self.changed.set()

    async def until(self, count: int) -> None:
        async with asyncio.timeout(10):
            while len(self.messages) < count:
                self.changed.clear()
                await self.changed.wait()


async def test_what_is_published_after_a_subscribe_returns_arrives_in_order() -> None:
    async with broker_pair() as (sender, receiver):
        heard = Heard()
        receiver.set_handler(heard)
        await receiver.subscribe("c:one")
        await asyncio.gather(*(sender.publish("c:one", b"%d" % n) for n in range(500)))
        await sender.publish("c:other", b"not subscribed")
        await heard.until(500)
        assert heard.messages == [("c:one", b"%d" % n) for n in range(500)]

        await receiver.unsubscribe("c:one")
        await receiver.subscribe("c:two")
        await sender.publish("c:one", b"after unsubscribe")
        await sender.publish("c:two", b"\x00binary\xff")
        await heard.until(501)
        assert heard.messages[500:] == [("c:two", b"\x00binary\xff")]


async def test_a_failing_handler_does_not_stop_delivery() -> None:
    prefix = f"parley-test:{uuid.uuid4().hex[:8]}:"
    async with RedisBroker(REDIS_URL, prefix=prefix) as broker:
        heard = Heard()

        def handler(channel: str, payload: bytes) -> None:
            if payload == b"bad":
                raise ValueError("a handler bug")
            heard(channel, payload)

        broker.set_handler(handler)
        await broker.subscribe("c:x")
        for payload in (b"bad", b"good"):
            await broker.publish("c:x", payload)
        await heard.until(1)
        assert heard.messages == [("c:x", b"good")]


async def test_subscriptions_come_back_after_redis_restarts(tmp_path: Path) -> None:
    server = own_redis(tmp_path)
    server.start()
    try:
        async with (
            RedisBroker(server.url, prefix="p:") as sender,
            RedisBroker(server.url, prefix="p:") as receiver,
        ):
            heard = Heard()
            receiver.set_handler(heard)
            await receiver.subscribe("c:kept")
            await sender.publish("c:kept", b"before")
            await heard.until(1)

            server.stop()
            server.start()
            # The receiver reconnects with backoff and subscribes again to what it needs:
            # publish until a message gets through (the sender's own connection reconnects).
            async with asyncio.timeout(15):
                while len(heard.messages) < 2:
                    await sender.publish("c:kept", b"after")
                    heard.changed.clear()
                    try:
                        async with asyncio.timeout(0.2):
                            await heard.changed.wait()
                    except TimeoutError:
                        continue
            assert heard.messages[1] == ("c:kept", b"after")
            await receiver.ping()
    finally:
        server.stop()
