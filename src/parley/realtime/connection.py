"""A live client connection as the hub sees it, whatever its protocol.

Delivery never blocks the hub: `deliver` puts the already-encoded frame in a bounded outbox
and a writer task per connection drains it. A client that stops reading fills its outbox and
is disconnected (close code 4429) instead of growing the server's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections import deque
from typing import Any

import structlog

from parley.domain.accounts.principal import Principal
from parley.domain.events import Event
from parley.realtime.protocol import CloseCode

log = structlog.get_logger(__name__)


class OutboundEvent:
    """A decoded event plus its wire encodings, made at most once per protocol."""

    __slots__ = ("_encoded", "event")

    def __init__(self, event: Event) -> None:
        self.event = event
        self._encoded: dict[str, Any] = {}

    def encoded(self, dialect: str, encode: Any) -> Any:
        try:
            return self._encoded[dialect]
        except KeyError:
            value = self._encoded[dialect] = encode(self.event)
            return value


class Connection(ABC):
    """One client connection. Subclasses say how a frame is written and how to close."""

    def __init__(self, connection_id: str, *, outbox_limit: int) -> None:
        self.id = connection_id
        self.principal: Principal | None = None
        self.viewing: set[str] = set()
        """Conversation ids this connection joined (actively views)."""
        self.member_of: set[str] = set()
        """Conversation channels whose messages this connection receives (hub bookkeeping)."""
        self.watching: set[str] = set()
        """Presence channels this connection subscribed to."""
        self._outbox: deque[Any] = deque()
        self._outbox_limit = outbox_limit
        self._wakeup = asyncio.Event()
        self._closed = False
        self._writer: asyncio.Task[None] | None = None
        self._closer: asyncio.Future[None] | None = None

    @property
    def user_id(self) -> str:
        assert self.principal is not None
        return str(self.principal.user_id)

    @abstractmethod
    def encode(self, event: OutboundEvent) -> Any | None:
        """The frame for this protocol, or None when the protocol has no such event."""

    @abstractmethod
    async def write(self, frame: Any) -> None: ...

    @abstractmethod
    async def close(self, code: CloseCode, reason: str) -> None: ...

    def deliver(self, event: OutboundEvent) -> None:
        frame = self.encode(event)
        if frame is not None:
            self.push(frame)

    def push(self, frame: Any) -> None:
        if self._closed:
            return
        if len(self._outbox) >= self._outbox_limit:
            self._closed = True
            log.warning("connection.too_slow", connection_id=self.id, queued=len(self._outbox))
            self._outbox.clear()
            self._closer = asyncio.ensure_future(self.close(CloseCode.TOO_SLOW, "outbox overflow"))
            return
        self._outbox.append(frame)
        self._wakeup.set()

    def start_writer(self) -> None:
        self._writer = asyncio.create_task(self._drain(), name=f"writer-{self.id}")

    async def stop_writer(self) -> None:
        self._closed = True
        if self._writer is not None:
            self._writer.cancel()
            # Whatever the writer died of (a closed socket, typically) is moot now.
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._writer

    async def flush_and_close(self, code: CloseCode, reason: str) -> None:
        """Write what is queued (an error explaining why, typically), then close."""
        await self.stop_writer()
        while self._outbox:
            await self.write(self._outbox.popleft())
        await self.close(code, reason)

    async def _drain(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._outbox:
                await self.write(self._outbox.popleft())
