"""python-socketio's official AsyncClient, recording every server event in a queue per name."""

from __future__ import annotations

import asyncio
from typing import Any

import socketio

from tests.support.clients import RECEIVE_TIMEOUT_SECS


class SioClient:
    def __init__(self, namespace: str = "/") -> None:
        self.namespace = namespace
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: dict[str, asyncio.Queue[Any]] = {}
        self.client.on("*", self._record, namespace=namespace)
        self.client.on("connect_error", self._refused, namespace=namespace)

    async def _refused(self, data: Any) -> None:
        self.queue("connect_error").put_nowait(data)

    async def _record(self, event: str, *args: Any) -> None:
        self.queue(event).put_nowait(args[0] if args else None)

    def queue(self, event: str) -> asyncio.Queue[Any]:
        return self.events.setdefault(event, asyncio.Queue())

    async def connect(
        self, base_url: str, *, auth: Any = None, transports: list[str] | None = None, **kw: Any
    ) -> None:
        await self.client.connect(
            base_url,
            auth=auth,
            namespaces=[self.namespace],
            transports=transports or ["websocket"],
            wait_timeout=RECEIVE_TIMEOUT_SECS,
            **kw,
        )

    async def expect(self, event: str, timeout: float = RECEIVE_TIMEOUT_SECS) -> Any:
        return await asyncio.wait_for(self.queue(event).get(), timeout)

    async def expect_where(
        self, event: str, match: Any, timeout: float = RECEIVE_TIMEOUT_SECS
    ) -> Any:
        """The next `event` for which `match(data)` holds; others of that name are skipped."""
        async with asyncio.timeout(timeout):
            while True:
                data = await self.queue(event).get()
                if match(data):
                    return data

    def drain(self, event: str) -> list[Any]:
        """Everything of that name received so far."""
        queue, items = self.queue(event), []
        while not queue.empty():
            items.append(queue.get_nowait())
        return items

    async def call(self, event: str, data: Any = None) -> Any:
        return await self.client.call(
            event,
            data if data is not None else {},
            namespace=self.namespace,
            timeout=RECEIVE_TIMEOUT_SECS,
        )

    async def emit(self, event: str, data: Any) -> None:
        await self.client.emit(event, data, namespace=self.namespace)

    async def disconnect(self) -> None:
        await self.client.disconnect()
