"""A bounded queue of frames for one client, drained by a writer task or by the next poll."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

log = structlog.get_logger(__name__)


def frame_bytes(frame: str | bytes) -> int:
    """The size of a frame on the wire (UTF-8); `isascii` is O(1) on str, so ASCII is free."""
    if isinstance(frame, bytes) or frame.isascii():
        return len(frame)
    return len(frame.encode())


class Outbox:
    """Frames waiting for one client: at most `limit` of them and `limit_bytes` in all.

    With a `write` function a writer task sends them in order; without one (long-polling)
    they wait for `take_all`. On overflow the outbox drops everything, refuses more, and calls
    `on_overflow` once: the owner closes the connection.
    """

    __slots__ = (
        "_bytes",
        "_closed",
        "_closer",
        "_frames",
        "_limit",
        "_limit_bytes",
        "_on_overflow",
        "_ready",
        "_writer",
    )

    def __init__(
        self, limit: int, on_overflow: Callable[[], Awaitable[None]], *, limit_bytes: int
    ) -> None:
        # The deque and the event come with the first use: a WebSocket on the fast path
        # never uses its outbox, and thousands of idle ones should not pay for it.
        self._frames: deque[tuple[Any, int]] | None = None
        self._ready: asyncio.Event | None = None
        self._limit = limit
        self._limit_bytes = limit_bytes
        self._bytes = 0
        self._on_overflow = on_overflow
        self._closed = False
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None

    @property
    def closed(self) -> bool:
        return self._closed

    def _signal(self) -> asyncio.Event:
        if self._ready is None:
            self._ready = asyncio.Event()
        return self._ready

    def push(self, frame: Any) -> None:
        if self._closed:
            return
        if self._frames is None:
            self._frames = deque()
        size = frame_bytes(frame)
        if len(self._frames) >= self._limit or self._bytes + size > self._limit_bytes:
            self._closed = True
            log.warning("connection.too_slow", queued=len(self._frames), queued_bytes=self._bytes)
            self._frames.clear()
            self._bytes = 0
            self._closer = asyncio.ensure_future(self._on_overflow())
            self._signal().set()
            return
        self._frames.append((frame, size))
        self._bytes += size
        self._signal().set()

    def start_writer(self, write: Callable[[Any], Awaitable[None]], name: str) -> None:
        self._writer = asyncio.create_task(self._drain(write), name=name)

    async def stop_writer(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            # Whatever the writer died of (a closed socket, typically) is moot now.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer
            self._writer = None

    async def wait(self) -> None:
        """Until there is something to take (or the outbox closed)."""
        await self._signal().wait()

    def take_all(self) -> list[Any]:
        if self._frames is None:
            return []
        frames = [frame for frame, _ in self._frames]
        self._frames.clear()
        self._bytes = 0
        self._signal().clear()
        return frames

    def close(self) -> None:
        self._closed = True
        self._signal().set()

    async def _drain(self, write: Callable[[Any], Awaitable[None]]) -> None:
        ready = self._signal()
        while True:
            await ready.wait()
            ready.clear()
            while self._frames:
                frame, size = self._frames.popleft()
                self._bytes -= size
                await write(frame)
