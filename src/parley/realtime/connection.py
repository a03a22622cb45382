"""A live client connection as the hub sees it, whatever its protocol, and its outbox.

Delivery never blocks the hub: `deliver` puts the already-encoded frame in a bounded outbox
that a writer drains (or, for long-polling, the next poll takes). A client that stops reading
fills its outbox and is disconnected (close code 4429) instead of growing server memory.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from parley.domain.accounts.principal import Principal
from parley.domain.events import Event
from parley.errors import ParleyError
from parley.realtime.pipeline import CommandPipeline
from parley.realtime.protocol import CloseCode

log = structlog.get_logger(__name__)

MESSAGE_CREATED = "message.created"


class OutboundEvent:
    """A decoded event plus its wire encodings, made at most once per dialect."""

    __slots__ = ("_encoded", "event")

    def __init__(self, event: Event) -> None:
        self.event = event
        self._encoded: dict[str, Any] = {}

    def encoded(self, dialect: str, encode: Callable[[Event], Any]) -> Any:
        try:
            return self._encoded[dialect]
        except KeyError:
            value = self._encoded[dialect] = encode(self.event)
            return value


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


class Connection(ABC):
    """One authenticated (or authenticating) client connection, as the hub addresses it."""

    dialect: str

    def __init__(self, connection_id: str) -> None:
        self.id = connection_id
        self.principal: Principal | None = None
        self.viewing: set[str] = set()
        """Conversation ids this connection joined (actively views)."""
        self.member_of: set[str] = set()
        """Conversation channels whose messages this connection receives (hub bookkeeping)."""
        self.watching: set[str] = set()
        """Presence channels this connection subscribed to."""
        self.games: set[str] = set()
        """Game rooms (ids) whose events this connection receives."""
        self.held: dict[str, list[OutboundEvent]] | None = None
        """New messages held back per conversation while it catches up."""
        self.floor: dict[str, int] = {}
        """Per conversation, the highest seq a catch-up sent: live copies at or below it are
        duplicates."""
        self.live_from: dict[str, int] | None = None
        """Per conversation whose last catch-up was cut short (`has_more`): the first seq
        delivered live after it (0 until one is), so the next catch-up stops there instead
        of repeating what the client already has."""
        self.pipeline = CommandPipeline()
        """The client's commands in arrival order, its sends overlapping."""
        self.ended: ParleyError | None = None
        """Why its credentials stopped holding (session revoked, account disabled, token
        expired): the connection is closing and refuses every command meanwhile."""

    @property
    def user_id(self) -> str:
        assert self.principal is not None
        return str(self.principal.user_id)

    @abstractmethod
    def encode(self, event: OutboundEvent) -> Any | None:
        """The frame for this connection's dialect, or None when it has no such event."""

    @abstractmethod
    def push(self, frame: Any) -> None:
        """Queue a frame for the client; never blocks."""

    @abstractmethod
    async def close(self, code: CloseCode, reason: str) -> None: ...

    @abstractmethod
    async def end(self, code: str, message: str) -> None:
        """Tell the client why its credentials no longer hold (an `error` with `code`), then
        close: 4401 on plain WebSocket, a namespace DISCONNECT on Socket.IO."""

    def deliver(self, event: OutboundEvent) -> None:
        """An event from the hub: held back or dropped as a duplicate during a catch-up."""
        if self.ended is not None:  # revoked: closing, and hears nothing more meanwhile
            return
        if self.held is not None or self.floor or self.live_from:
            stream = _stream_of(event.event)
            if self.held is not None and stream in self.held:
                self.held[stream].append(event)
                return
            floor = self.floor.get(stream)
            if floor is not None and event.event.data["seq"] <= floor:
                return
            if self.live_from and self.live_from.get(stream) == 0:
                self.live_from[stream] = int(event.event.data["seq"])
        self.send_event(event)

    def send_event(self, event: OutboundEvent) -> None:
        frame = self.encode(event)
        if frame is not None:
            self.push(frame)

    # -- catching up after a reconnect ----------------------------------------------------------

    def hold(self, conversation_ids: list[str]) -> None:
        """Keep new messages of these conversations (or all events of these game rooms, by
        channel) back until `release`: the missed ones (or the snapshot) are sent first, so
        the client sees every conversation in order."""
        if not conversation_ids:
            return
        if self.held is None:
            self.held = {}
        for conversation_id in conversation_ids:
            self.held.setdefault(conversation_id, [])

    def release(
        self, conversation_id: str, missed: list[OutboundEvent], *, complete: bool = True
    ) -> None:
        """Send the missed messages (in seq order), then what was held, without repeats.

        An incomplete catch-up (`has_more`: the client fetches the rest) still lets live
        messages through after it; the first of them is remembered (`live_from`) so that a
        later catch-up ends where they began."""
        for event in missed:
            self.send_event(event)
        if missed:
            self.floor[conversation_id] = max(
                self.floor.get(conversation_id, 0), int(missed[-1].event.data["seq"])
            )
        held = self.held.pop(conversation_id, []) if self.held is not None else []
        if self.held == {}:
            self.held = None
        if complete:
            if self.live_from:
                self.live_from.pop(conversation_id, None)
        else:
            if self.live_from is None:
                self.live_from = {}
            if not self.live_from.get(conversation_id):  # the first gap's start stays
                self.live_from[conversation_id] = 0
        for event in held:
            self.deliver(event)

    def live_since(self, conversation_id: str) -> int | None:
        """Where live delivery took over after an incomplete catch-up (None: it did not)."""
        found = self.live_from.get(conversation_id) if self.live_from else None
        return found or None


def _stream_of(event: Event) -> str:
    """The ordered stream an event belongs to, for catch-up: a conversation's new messages
    (by conversation id) or everything in a game room (by channel); "" for the rest."""
    if event.name == MESSAGE_CREATED:
        return event.channel[2:]
    if event.channel.startswith("g:"):
        return event.channel
    return ""
