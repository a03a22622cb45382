"""Socket clients for tests: every receive has a timeout, nothing sleeps."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect

RECEIVE_TIMEOUT_SECS = 5.0
_ids = itertools.count(1)


class WsClient:
    """A plain WebSocket client speaking Parley's `{type, id?, data}` frames."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.seen: list[dict[str, Any]] = []

    @classmethod
    async def open(
        cls,
        base_url: str,
        token: str | None = None,
        *,
        path: str = "/ws",
        query: str = "",
        expect_auth: bool = True,
        headers: dict[str, str] | None = None,
    ) -> WsClient:
        url = base_url.replace("http://", "ws://") + path
        params = [p for p in (f"token={token}" if token else "", query) if p]
        if params:
            url += "?" + "&".join(params)
        client = cls(
            await connect(url, open_timeout=RECEIVE_TIMEOUT_SECS, additional_headers=headers)
        )
        if (token or headers) and expect_auth:
            await client.expect("authenticated")
        return client

    async def send(self, frame: dict[str, Any] | str | bytes) -> None:
        if isinstance(frame, dict):
            frame = orjson.dumps(frame).decode()
        await self.connection.send(frame)

    async def command(self, kind: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send a command with an id and return its ack or error frame."""
        request_id = f"r{next(_ids)}"
        await self.send({"type": kind, "id": request_id, "data": data or {}})
        return await self.next(lambda f: f.get("id") == request_id)

    async def ack(self, kind: str, data: dict[str, Any] | None = None) -> Any:
        reply = await self.command(kind, data)
        assert reply["type"] == "ack", reply
        return reply["data"]

    async def next(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = RECEIVE_TIMEOUT_SECS
    ) -> dict[str, Any]:
        """The next frame that matches; frames before it are kept in `seen`."""
        async with asyncio.timeout(timeout):
            while True:
                frame = orjson.loads(await self.connection.recv())
                self.seen.append(frame)
                if match(frame):
                    return frame  # type: ignore[no-any-return]

    async def expect(
        self, frame_type: str, timeout: float = RECEIVE_TIMEOUT_SECS
    ) -> dict[str, Any]:
        return await self.next(lambda f: f.get("type") == frame_type, timeout)

    async def seen_by_now(self, frame_type: str) -> list[dict[str, Any]]:
        """Every frame of this type received so far, after a ping round trip.

        With one instance an event is in every recipient's outbox before the action that
        caused it is acknowledged; a ping sent after that ack is answered after the event, so
        "not seen by now" means "not sent". Clear `seen` before the action to look at.
        """
        await self.ack("ping")
        return [f for f in self.seen if f.get("type") == frame_type]

    async def close(self) -> None:
        await self.connection.close()
