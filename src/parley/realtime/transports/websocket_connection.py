"""A plain WebSocket connection as the hub addresses it: raw pre-framed writes when the server
allows them, else a bounded outbox drained over ASGI."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from starlette.websockets import WebSocket, WebSocketState

from parley.domain.events import Event
from parley.realtime.connection import Connection, OutboundEvent
from parley.realtime.dialects import WS_ENVELOPE, dump, encode_ws_event
from parley.realtime.protocol import CloseCode
from parley.realtime.wire.outbox import Outbox
from parley.realtime.wire.rawframes import RawWriter, raw_websocket


class WebSocketConnection(Connection):
    protocol = "websocket"

    def __init__(self, websocket: WebSocket, *, outbox_limit: int, outbox_limit_bytes: int) -> None:
        super().__init__(f"ws-{os.urandom(8).hex()}")  # uuid4().hex[:16] cost 4x more
        self.websocket = websocket
        self.dialect = WS_ENVELOPE
        self.outbox = Outbox(outbox_limit, self._too_slow, limit_bytes=outbox_limit_bytes)
        raw = raw_websocket(websocket.scope)
        self.raw_socket = raw
        self.raw: RawWriter | None = None
        self._raw_limit = outbox_limit_bytes
        self.too_slow = False
        """Its outbox (or transport buffer) overflowed: closed with 4429."""

    async def start(self) -> None:
        """After accept: write straight to the transport when the server allows it, else
        through a writer task over ASGI."""
        if self.raw_socket is not None:
            await self.raw_socket.raw_ready()
            self.raw = self.writer = RawWriter(
                self.raw_socket, limit_bytes=self._raw_limit, on_overflow=self._too_slow
            )
        else:
            self.outbox.start_writer(self.write, f"writer-{self.id}")

    def encode(self, event: OutboundEvent) -> str | None:
        dialect = self.dialect
        return event.encoded(dialect, lambda e: encode_ws_event(e, dialect))  # type: ignore[no-any-return]

    def encode_text(self, event: Event) -> str | None:
        return encode_ws_event(event, self.dialect)

    def push(self, frame: Any) -> None:
        self.frames_out += 1
        if self.raw is not None:
            self.raw.write_text(frame)
        else:
            self.outbox.push(frame)

    async def write(self, frame: str) -> None:
        await self.websocket.send_text(frame)

    async def close(self, code: CloseCode, reason: str) -> None:
        if self.websocket.application_state is WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError):  # the client is already gone
                await self.websocket.close(int(code), reason)

    async def flush_and_close(self, code: CloseCode, reason: str) -> None:
        """Write what is queued (an error explaining why, typically), then close."""
        if self.raw is not None:
            # The close goes out after the raw frames written before it.
            await self.close(code, reason)
            return
        await self.outbox.stop_writer()
        for frame in self.outbox.take_all():
            await self.write(frame)
        await self.close(code, reason)

    async def end(self, code: str, message: str) -> None:
        self.push(dump({"type": "error", "code": code, "message": message}))
        await self.flush_and_close(CloseCode.UNAUTHENTICATED, code)

    async def _too_slow(self) -> None:
        self.too_slow = True
        await self.outbox.stop_writer()
        await self.close(CloseCode.TOO_SLOW, "too slow: outbox overflow")
