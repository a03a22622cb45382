"""Engine.IO over WebSocket by hand (v4, or v3 with `eio=3`): every packet as sent, pings
answered only if asked, for tests of the heartbeat and of malformed Socket.IO packets."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.clients import RECEIVE_TIMEOUT_SECS
from tests.support.server import ServerProcess


class EioSocket:
    def __init__(self, connection: ClientConnection, handshake: dict[str, Any]) -> None:
        self.connection = connection
        self.handshake = handshake
        self.opened_at = time.monotonic()
        self.answer_pings = True
        self.pings: list[float] = []
        """When each Engine.IO PING arrived (time.monotonic)."""
        self.seen: list[str] = []

    @classmethod
    async def open(
        cls, server: ServerProcess, path: str = "/socket.io/", *, eio: int = 4, query: str = ""
    ) -> EioSocket:
        """`query` is appended as it is (`&token=…`)."""
        url = f"ws://127.0.0.1:{server.port}{path}?EIO={eio}&transport=websocket{query}"
        connection = await connect(url, open_timeout=RECEIVE_TIMEOUT_SECS)
        async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
            first = await connection.recv()
        assert isinstance(first, str)
        assert first.startswith("0"), first
        return cls(connection, orjson.loads(first[1:]))

    async def send(self, packet: str) -> None:
        await self.connection.send(packet)

    async def next(
        self, match: Callable[[str], bool], timeout: float = RECEIVE_TIMEOUT_SECS
    ) -> str:
        """The next packet that matches; PINGs are recorded (and answered, unless told not to)."""
        async with asyncio.timeout(timeout):
            while True:
                packet = await self.connection.recv()
                assert isinstance(packet, str)
                if packet == "2":
                    self.pings.append(time.monotonic())
                    if self.answer_pings:
                        # The server may have closed meanwhile: what it sent first is still read.
                        with contextlib.suppress(ConnectionClosed):
                            await self.send("3")
                self.seen.append(packet)
                if match(packet):
                    return packet

    async def starting(self, prefix: str, timeout: float = RECEIVE_TIMEOUT_SECS) -> str:
        """The next packet that starts with `prefix`."""
        return await self.next(lambda p: p.startswith(prefix), timeout)

    async def event(self, name: str, timeout: float = RECEIVE_TIMEOUT_SECS) -> Any:
        """The data of the next Socket.IO event `name` on `/`."""
        prefix = f'42["{name}"'
        packet = await self.next(lambda p: p.startswith(prefix), timeout)
        return orjson.loads(packet[2:])[1]

    async def closed(self, timeout: float = RECEIVE_TIMEOUT_SECS) -> int | None:
        """Read on until the server closes; the close code it sent."""
        try:
            await self.next(lambda _: False, timeout)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else None
        raise AssertionError("not closed")  # pragma: no cover: next() only ends by raising

    async def close(self) -> None:
        await self.connection.close()
