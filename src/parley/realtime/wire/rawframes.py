"""The fan-out fast path: pre-framed WebSocket messages written straight to the transport.

Through ASGI, every message to every recipient would cost an `await send(...)`: a writer
task wake-up, the ASGI event dict, and websockets' own framing. For a broadcast Parley frames
the payload once (server frames are unmasked, so the bytes are the same for everyone) and
hands those bytes to each connection's transport with one synchronous `write`.

Parley's WebSocket protocol (`wire.websocket`) offers itself to the app as an ASGI scope
extension, `parley.raw_websocket`. Under any other server the extension is absent and the
transports fall back to plain ASGI sends.

A slow reader shows up as bytes piling up in the transport's write buffer; past the limit
the connection counts as too slow and is closed (4429), exactly as an overflowing outbox is.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import structlog

from parley.realtime.wire.websocket import RAW_EXTENSION

log = structlog.get_logger(__name__)


def text_frame(payload: bytes) -> bytes:
    """A complete, final, unmasked text frame (RFC 6455 §5.2)."""
    length = len(payload)
    if length < 126:
        return bytes((0x81, length)) + payload
    if length < 65536:
        return struct.pack("!BBH", 0x81, 126, length) + payload
    return struct.pack("!BBQ", 0x81, 127, length) + payload


class RawWebSocket(Protocol):
    async def raw_ready(self) -> None:
        """Until the opening handshake has been written (frames must follow it)."""
        ...

    def raw_open(self) -> bool: ...

    def raw_write(self, frame: bytes) -> int:
        """Write a complete frame (within this pass of the loop); returns at least the bytes
        now waiting to be sent (an upper bound: `raw_waiting` tells exactly)."""
        ...

    def raw_waiting(self) -> int:
        """The bytes waiting to be sent, exactly."""
        ...

    def raw_heard_since(self, moment: float) -> bool:
        """Whether a message came in after `moment` (time.monotonic), or reading is paused
        because the app has not taken what came (the client may have answered behind it)."""
        ...

    def keep_alive_by_app(self) -> None:
        """The app pings this client itself: no WebSocket-level pings needed."""
        ...


def raw_websocket(scope: Any) -> RawWebSocket | None:
    extensions = scope.get("extensions") or {}
    raw: RawWebSocket | None = extensions.get(RAW_EXTENSION)
    return raw


class RawWriter:
    """Writes pre-framed messages to one connection; closes it when the client falls behind.

    `put` and `limit` are public so that a broadcast's delivery loop can write with one call
    per recipient (`Connection.deliver`): `if not w.closed and w.put(frame) > w.limit:
    w.overflowing()` is `w.write(frame)`."""

    __slots__ = ("_closer", "_on_overflow", "_raw", "closed", "limit", "put")

    def __init__(
        self, raw: RawWebSocket, *, limit_bytes: int, on_overflow: Callable[[], Awaitable[None]]
    ) -> None:
        self._raw = raw
        self.put = raw.raw_write
        """`raw_write`: at least the bytes now waiting to be sent."""
        self.limit = limit_bytes
        self._on_overflow = on_overflow
        self._closer: asyncio.Future[None] | None = None
        self.closed = False

    def write(self, frame: bytes) -> None:
        # Not asking `raw_open` here: a frame written to a connection that is closing is
        # dropped when its writes are flushed (`raw_flush` asks), in this pass or the next.
        if not self.closed and self.put(frame) > self.limit:
            self.overflowing()

    def overflowing(self) -> None:
        """`put` said more than `limit` may be waiting (an upper bound): if the exact count
        agrees, the client is too slow and the connection is closed."""
        raw = self._raw
        if self.closed or not raw.raw_open() or raw.raw_waiting() <= self.limit:
            return
        self.closed = True
        log.warning("connection.too_slow", buffered_limit=self.limit)
        self._closer = asyncio.ensure_future(self._on_overflow())

    def heard_since(self, moment: float) -> bool:
        return self._raw.raw_heard_since(moment)

    def write_text(self, text: str) -> None:
        self.write(text_frame(text.encode()))
