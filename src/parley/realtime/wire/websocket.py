"""Parley's WebSocket server protocol: RFC 6455 on asyncio, under uvicorn, for every
WebSocket endpoint.

uvicorn hands a connection over at the upgrade (its `ws=` setting) with the request as bytes.
This protocol answers the handshake when the app accepts, parses the client's frames in
`data_received`, serves the ASGI app through a light `receive`/`send` pair, and lets the app
write pre-framed broadcasts straight to the transport (the `parley.raw_websocket` scope
extension; see `rawframes`).

Why not uvicorn's own (websockets' sans-I/O protocol): for every idle connection it kept an
asyncio.Queue (four deques), two Events, the request twice over (websockets' Headers and the
scope's list), the websockets protocol object with its parser generator, and a ping timer:
about 11 KiB of the 27 KiB an idle Socket.IO connection cost (tracemalloc,
`benchmarks/conn_memory.py`), and parsing the handshake in pure Python was a tenth of the
connect time. Here an idle connection is one object with slots and the scope.

Implemented: the version-13 handshake (no extensions, no subprotocol unless the app picks
one), text and binary messages, fragmentation, ping/pong, the closing handshake,
`ws_max_size`, keepalive pings every `ws_ping_interval` closed after `ws_ping_timeout`
without a pong (unless the app keeps the connection alive itself, as Engine.IO does).
Violations close with 1002, bad UTF-8 with 1007, an oversized message with 1009.

Frames written with `raw_write` in one pass of the event loop leave in one `transport.write`
at the start of the next, or a few milliseconds later when the process is busy (`flusher`:
one callback flushes every connection written to): under load a connection's frames of
several broadcasts then cost one system call instead of one each; when frames trickle in,
a pass holds one frame and nothing waits. What the app sends through ASGI goes after the
frames written before it.

Why one module: one protocol state machine (handshake, frame parser, ASGI bridge, close
handshake) over one connection's state.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import struct
import time
from collections import deque
from typing import Any
from urllib.parse import unquote

import structlog
from uvicorn.protocols.utils import ClientDisconnected, get_local_addr, get_remote_addr, is_ssl
from websockets.speedups import apply_mask  # C; ships in websockets' wheels

from parley.realtime.wire.flusher import flusher_for

log = structlog.get_logger(__name__)

RAW_EXTENSION = "parley.raw_websocket"
_ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
PROTOCOL_ERROR, INVALID_DATA, TOO_BIG, GOING_AWAY = 1002, 1007, 1009, 1001
NO_STATUS, ABNORMAL, SERVICE_RESTART, KEEPALIVE_TIMEOUT = 1005, 1006, 1012, 1011
CLOSE_TIMEOUT_SECS = 10.0
"""How long to wait for the client's answer to our close frame before dropping the TCP link."""
INBOX_LIMIT = 64
"""Messages read but not yet taken by the app; past this, reading pauses (back-pressure)."""
MAX_FRAGMENTS = 1024
"""Frames one message may be split into (empty continuations would otherwise pile up)."""


def frame(opcode: int, payload: bytes) -> bytes:
    """A complete, final, unmasked server frame (RFC 6455 §5.2)."""
    length = len(payload)
    if length < 126:
        return bytes((0x80 | opcode, length)) + payload
    if length < 65536:
        return struct.pack("!BBH", 0x80 | opcode, 126, length) + payload
    return struct.pack("!BBQ", 0x80 | opcode, 127, length) + payload


def close_payload(code: int, reason: str = "") -> bytes:
    # At most 123 bytes of reason, cut on a character boundary (clients reject broken UTF-8).
    return struct.pack("!H", code) + reason.encode()[:123].decode("utf-8", "ignore").encode()


def valid_close_code(code: int) -> bool:
    """Codes a client may send (RFC 6455 §7.4): 1004 to 1006 and 1015 are never sent."""
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def accept_key(key: bytes) -> bytes:
    return base64.b64encode(hashlib.sha1(key + _ACCEPT_GUID).digest())  # noqa: S324 - RFC 6455


class ParleyWebSocketProtocol(asyncio.Protocol):
    __slots__ = (
        "_buffer",
        "_buffered",
        "_close_timer",
        "_connect_pending",
        "_disconnect",
        "_drain",
        "_flusher",
        "_fragment_bytes",
        "_fragment_opcode",
        "_fragments",
        "_heard_at",
        "_inbox",
        "_keepalive",
        "_pending",
        "_pending_bytes",
        "_ping_payload",
        "_ping_timer",
        "_read_paused",
        "_refusal_status",
        "_waiter",
        "app",
        "app_state",
        "close_sent",
        "config",
        "handshake_complete",
        "loop",
        "scope",
        "server_state",
        "transport",
    )

    def __init__(
        self,
        config: Any,
        server_state: Any,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        if not config.loaded:
            config.load()
        self.config = config
        self.app = config.loaded_app
        self.server_state = server_state
        self.app_state = app_state
        self.loop = _loop or asyncio.get_event_loop()
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.scope: dict[str, Any] | None = None
        self.handshake_complete = False
        self.close_sent = False
        self._refusal_status = 403
        """The status of a refusal the app answers with `websocket.http.response.*`."""
        self._buffer = b""
        self._fragments: list[bytes] | None = None
        self._fragment_bytes = 0
        self._fragment_opcode = OP_TEXT
        self._connect_pending = True
        self._inbox: deque[dict[str, Any]] | None = None
        self._waiter: asyncio.Future[dict[str, Any]] | None = None
        self._disconnect: dict[str, Any] | None = None
        self._read_paused = False
        self._heard_at = 0.0
        """When the last message (text or binary, not a control frame) came in (monotonic)."""
        self._drain: asyncio.Future[None] | None = None
        self._close_timer: asyncio.TimerHandle | None = None
        self._keepalive = True
        self._ping_timer: asyncio.TimerHandle | None = None
        self._ping_payload: bytes | None = None
        self._pending: list[bytes] | None = None
        self._pending_bytes = 0
        self._buffered = 0
        """The transport's write buffer as of the last flush: an upper bound, since it
        only drains in between (see `raw_write`)."""
        self._flusher = flusher_for(self.loop)

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server_state.connections.add(self)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data if self._buffer else data
        if self.scope is None:
            head, found, rest = buffer.partition(b"\r\n\r\n")
            if not found:
                self._buffer = buffer
                return
            self._buffer = b""
            self._open(head)
            buffer = rest
        if buffer:
            self._buffer = self._parse(buffer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server_state.connections.discard(self)
        for timer in (self._close_timer, self._ping_timer):
            if timer is not None:
                timer.cancel()
        self._close_timer = self._ping_timer = None
        self._pending = None
        self._gone(NO_STATUS if self.handshake_complete else ABNORMAL)
        self.handshake_complete = True
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    def eof_received(self) -> bool | None:
        return None

    def pause_writing(self) -> None:
        if self._drain is None or self._drain.done():
            self._drain = self.loop.create_future()

    def resume_writing(self) -> None:
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    def shutdown(self) -> None:
        """uvicorn is stopping: tell the client the service restarts."""
        if self.handshake_complete and not self.close_sent and not self.transport.is_closing():
            self._write_close(SERVICE_RESTART)
        elif not self.handshake_complete:
            self._respond(500, b"Internal Server Error")
        self._gone(SERVICE_RESTART)
        self._hang_up()

    # -- the handshake ------------------------------------------------------------------------

    def take_over(
        self,
        transport: asyncio.Transport,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        *,
        server: tuple[str, int | None] | None,
        client: tuple[str, int] | None,
    ) -> None:
        """The HTTP protocol hands over an upgrade request it has parsed (header names in
        lower case), with the addresses it read: serialising it for `data_received` to parse
        again, and asking the socket for its addresses again, were ~5 % of a connect."""
        self.connection_made(transport)
        self._start(
            target, [(name, value.strip()) for name, value in headers], server=server, client=client
        )

    def _open(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        _, target, _ = [*lines[0].split(b" ", 2), b"", b""][:3]
        headers: list[tuple[bytes, bytes]] = []
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers.append((name.strip().lower(), value.strip()))
        transport = self.transport
        self._start(
            target, headers, server=get_local_addr(transport), client=get_remote_addr(transport)
        )

    def _start(
        self,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        *,
        server: tuple[str, int | None] | None,
        client: tuple[str, int] | None,
    ) -> None:
        raw_path, _, query = target.partition(b"?")
        root = self.config.root_path
        self.scope = {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "scheme": "wss" if is_ssl(self.transport) else "ws",
            "server": server,
            "client": client,
            "root_path": root,
            "path": root + unquote(raw_path.decode("latin-1")),
            "raw_path": root.encode() + raw_path,
            "query_string": query,
            "headers": headers,
            "subprotocols": [
                p.strip()
                for name, value in headers
                if name == b"sec-websocket-protocol"
                for p in value.decode("latin-1").split(",")
            ],
            "state": self.app_state.copy(),
            "extensions": {RAW_EXTENSION: self, "websocket.http.response": {}},
        }
        problem = self._handshake_problem()
        if problem is not None:  # refused before the app hears of it, as uvicorn's own does
            self._respond(*problem)
            self._gone(ABNORMAL)
            self._hang_up()
            return
        task = self.loop.create_task(self._run_asgi())
        self.server_state.tasks.add(task)
        task.add_done_callback(self.server_state.tasks.discard)

    def _handshake_problem(self) -> tuple[int, bytes] | None:
        assert self.scope is not None
        found = {name: value for name, value in self.scope["headers"]}
        if found.get(b"upgrade", b"").lower() != b"websocket" or b"upgrade" not in (
            found.get(b"connection", b"").lower()
        ):
            return 400, b"Not a WebSocket upgrade."
        if found.get(b"sec-websocket-version") != b"13":
            return 426, b"Only WebSocket version 13 is supported."
        try:
            if len(base64.b64decode(found.get(b"sec-websocket-key", b""), validate=True)) != 16:
                raise ValueError
        except ValueError:
            return 400, b"Missing or invalid Sec-WebSocket-Key."
        return None

    def _accept(self, message: dict[str, Any]) -> None:
        assert self.scope is not None
        key = next(v for n, v in self.scope["headers"] if n == b"sec-websocket-key")
        lines = [
            b"HTTP/1.1 101 Switching Protocols",
            b"Upgrade: websocket",
            b"Connection: Upgrade",
            b"Sec-WebSocket-Accept: " + accept_key(key),
        ]
        subprotocol = message.get("subprotocol")
        if subprotocol:
            lines.append(b"Sec-WebSocket-Protocol: " + subprotocol.encode())
        lines += [name + b": " + value for name, value in message.get("headers", [])]
        self.handshake_complete = True
        # Queued like a frame: the app's first frames (Engine.IO's open packet) leave with it.
        self.raw_write(b"\r\n".join(lines) + b"\r\n\r\n")
        self._schedule_ping()

    def _respond(
        self, status: int, body: bytes, content_type: bytes = b"text/plain; charset=utf-8"
    ) -> None:
        reasons = {
            400: b"Bad Request",
            403: b"Forbidden",
            426: b"Upgrade Required",
            429: b"Too Many Requests",
        }
        head = b"HTTP/1.1 %d %s\r\n" % (status, reasons.get(status, b"Internal Server Error"))
        extra = b"Sec-WebSocket-Version: 13\r\n" if status == 426 else b""
        self.transport.write(
            head
            + extra
            + b"Content-Type: "
            + content_type
            + b"\r\nConnection: close\r\n"
            + b"Content-Length: %d\r\n\r\n" % len(body)
            + body
        )
        self.close_sent = True
        self.handshake_complete = True

    # -- the app --------------------------------------------------------------------------------

    async def _run_asgi(self) -> None:
        try:
            await self.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except BaseException:
            log.exception("websocket.app_failed")
            if not self.handshake_complete:
                self._respond(500, b"Internal Server Error")
        else:
            if not self.handshake_complete:
                log.error("websocket.app_returned_without_handshake")
                self._respond(500, b"Internal Server Error")
        if self._close_timer is None:
            self.raw_flush()
            self._hang_up()

    async def receive(self) -> dict[str, Any]:
        if self._connect_pending:
            self._connect_pending = False
            return {"type": "websocket.connect"}
        inbox = self._inbox
        if inbox:
            message = inbox.popleft()
            if self._read_paused and len(inbox) <= INBOX_LIMIT // 2:
                self._read_paused = False
                self.transport.resume_reading()
            return message
        if self._disconnect is not None:
            return self._disconnect
        if self._waiter is not None:
            raise RuntimeError("Only one receive() at a time.")
        waiter: asyncio.Future[dict[str, Any]] = self.loop.create_future()
        self._waiter = waiter
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():  # handed a message, then cancelled
                if self._inbox is None:
                    self._inbox = deque()
                self._inbox.appendleft(waiter.result())
            raise
        finally:
            self._waiter = None

    async def send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if not self.handshake_complete:
            if kind == "websocket.accept":
                self._accept(message)
            elif kind == "websocket.close":
                self._respond(403, b"")
                self._gone(ABNORMAL)
                self._hang_up()
            elif kind == "websocket.http.response.start":  # a refusal with a status of its own
                self._refusal_status = int(message["status"])
            elif kind == "websocket.http.response.body":  # the whole body in one message
                self._respond(
                    self._refusal_status,
                    bytes(message.get("body", b"")),
                    b"application/json",
                )
                self._gone(ABNORMAL)
                self._hang_up()
            else:
                raise RuntimeError(
                    f"Expected 'websocket.accept' or 'websocket.close', got {kind!r}."
                )
            return
        if self._disconnect is not None and not self.close_sent:
            raise ClientDisconnected()
        if self.close_sent:
            if kind == "websocket.close":
                return
            raise ClientDisconnected()
        self.raw_flush()  # frames written before this message go first
        if kind == "websocket.send":
            if self._drain is not None and not self._drain.done():
                await self._drain  # the client reads slowly: wait for the buffer to drain
                if self.close_sent or self._disconnect is not None:
                    raise ClientDisconnected()  # it went away (or was closed) meanwhile
            text = message.get("text")
            if text is not None:
                self.transport.write(frame(OP_TEXT, text.encode()))
            else:
                self.transport.write(frame(OP_BINARY, message.get("bytes") or b""))
        elif kind == "websocket.close":
            code = message.get("code") or 1000
            reason = message.get("reason") or ""
            self._write_close(code, reason)
            self._gone(code, reason)
            # No answer in time: drop the link, even with unsent bytes (close() would wait
            # for a client that stopped reading).
            self._close_timer = self.loop.call_later(CLOSE_TIMEOUT_SECS, self.transport.abort)
            if self._read_paused:
                self._read_paused = False
                self.transport.resume_reading()
        else:
            raise RuntimeError(f"Expected websocket.send or websocket.close, not {kind!r}.")

    def _deliver(self, message: dict[str, Any]) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(message)
            return
        if self._inbox is None:
            self._inbox = deque()
        self._inbox.append(message)
        if len(self._inbox) >= INBOX_LIMIT and not self._read_paused:
            self._read_paused = True
            self.transport.pause_reading()

    def _gone(self, code: int, reason: str = "") -> None:
        """From now on the app hears that the connection is closed."""
        if self._disconnect is None:
            self._disconnect = {"type": "websocket.disconnect", "code": code, "reason": reason}
            self._deliver(self._disconnect)

    # -- frames -------------------------------------------------------------------------------

    def _parse(self, buffer: bytes) -> bytes:
        """Handle every complete frame in the buffer; returns what is left of it."""
        end = len(buffer)
        at = 0
        max_size = self.config.ws_max_size
        while end - at >= 2 and not self.transport.is_closing():
            first, second = buffer[at], buffer[at + 1]
            length = second & 0x7F
            start = at + 2
            if length == 126:
                if end - at < 4:
                    break
                (length,) = struct.unpack_from("!H", buffer, at + 2)
                start = at + 4
            elif length == 127:
                if end - at < 10:
                    break
                (length,) = struct.unpack_from("!Q", buffer, at + 2)
                start = at + 10
            if first & 0x70 or not second & 0x80:  # reserved bits, or an unmasked client frame
                self._fail(PROTOCOL_ERROR)
                return b""
            if length > max_size:
                self._fail(TOO_BIG)
                return b""
            if end - start < 4 + length:
                break
            payload = apply_mask(buffer[start + 4 : start + 4 + length], buffer[start : start + 4])
            at = start + 4 + length
            self._on_frame(bool(first & 0x80), first & 0x0F, payload)
        return buffer[at:] if at < end else b""

    def _on_frame(self, fin: bool, opcode: int, payload: bytes) -> None:
        if opcode >= OP_CLOSE:
            if not fin or len(payload) > 125:
                self._fail(PROTOCOL_ERROR)
            elif opcode == OP_CLOSE:
                self._on_close(payload)
            elif opcode == OP_PING:
                self.raw_flush()
                self.transport.write(frame(OP_PONG, payload))
            elif opcode == OP_PONG:
                if self._ping_payload is not None and payload == self._ping_payload:
                    self._ping_payload = None  # answered: the next ping after the interval
                    if self._ping_timer is not None:
                        self._ping_timer.cancel()
                    self._schedule_ping()
            else:
                self._fail(PROTOCOL_ERROR)
            return
        if opcode == OP_CONT:
            if self._fragments is None:
                self._fail(PROTOCOL_ERROR)
                return
            self._fragments.append(payload)
            self._fragment_bytes += len(payload)
            if (
                self._fragment_bytes > self.config.ws_max_size
                or len(self._fragments) > MAX_FRAGMENTS
            ):
                self._fail(TOO_BIG)
                return
            if fin:
                payload = b"".join(self._fragments)
                self._fragments = None
                self._on_message(self._fragment_opcode, payload)
        elif opcode in (OP_TEXT, OP_BINARY):
            if self._fragments is not None:
                self._fail(PROTOCOL_ERROR)
            elif fin:
                self._on_message(opcode, payload)
            else:
                self._fragments = [payload]
                self._fragment_bytes = len(payload)
                self._fragment_opcode = opcode
        else:
            self._fail(PROTOCOL_ERROR)

    def _on_message(self, opcode: int, payload: bytes) -> None:
        if self.close_sent:
            return  # the app is past `websocket.close`
        self._heard_at = time.monotonic()
        if opcode == OP_BINARY:
            self._deliver({"type": "websocket.receive", "bytes": payload})
            return
        try:
            text = payload.decode()
        except UnicodeDecodeError:
            self._fail(INVALID_DATA)
            return
        self._deliver({"type": "websocket.receive", "text": text})

    def _on_close(self, payload: bytes) -> None:
        if self.close_sent:  # the client answered our close: the handshake is done
            if self._close_timer is not None:
                self._close_timer.cancel()
                self._close_timer = None
            self._hang_up()
            return
        code, reason = NO_STATUS, ""
        if len(payload) == 1:
            self._fail(PROTOCOL_ERROR)
            return
        if len(payload) >= 2:
            (code,) = struct.unpack_from("!H", payload)
            if not valid_close_code(code):
                self._fail(PROTOCOL_ERROR)
                return
            try:
                reason = payload[2:].decode()
            except UnicodeDecodeError:
                self._fail(INVALID_DATA)
                return
        self._write_close(1000 if code == NO_STATUS else code)
        self._gone(code, reason)
        self._hang_up()

    def _fail(self, code: int) -> None:
        if not self.close_sent:
            self._write_close(code)
        self._gone(code)
        self._hang_up()

    def _write_close(self, code: int, reason: str = "") -> None:
        self.raw_flush()
        self.transport.write(frame(OP_CLOSE, close_payload(code, reason)))
        self.close_sent = True

    def _hang_up(self) -> None:
        """Close the TCP link once what is buffered has gone out. `close()` waits for a client
        that stopped reading, so after CLOSE_TIMEOUT_SECS the link is dropped regardless."""
        self.transport.close()
        if self._close_timer is None:
            self._close_timer = self.loop.call_later(CLOSE_TIMEOUT_SECS, self.transport.abort)

    # -- keepalive ----------------------------------------------------------------------------

    def keep_alive_by_app(self) -> None:
        """The app pings this client itself (Engine.IO does): no WebSocket pings."""
        self._keepalive = False
        if self._ping_timer is not None:
            self._ping_timer.cancel()
            self._ping_timer = None

    def _schedule_ping(self) -> None:
        interval = self.config.ws_ping_interval
        if self._keepalive and interval:
            self._ping_timer = self.loop.call_later(interval, self._ping)

    def _ping(self) -> None:
        self._ping_timer = None
        if self.close_sent or self.transport.is_closing():
            return
        if self._ping_payload is not None:  # the last ping was never answered
            log.info("websocket.keepalive_timeout")
            self._fail(KEEPALIVE_TIMEOUT)
            return
        self._ping_payload = os.urandom(4)
        self.raw_flush()
        self.transport.write(frame(OP_PING, self._ping_payload))
        # Fires again after the timeout: by then the pong has rescheduled it, or it closes.
        deadline = self.config.ws_ping_timeout or self.config.ws_ping_interval
        self._ping_timer = self.loop.call_later(deadline, self._ping)

    # -- pre-framed writes (see fastws) -----------------------------------------------------

    async def raw_ready(self) -> None:
        # The handshake response is written synchronously when the app accepts.
        return

    def raw_open(self) -> bool:
        return self.handshake_complete and not self.close_sent and not self.transport.is_closing()

    def raw_write(self, data: bytes) -> int:
        pending = self._pending
        if pending is None:
            self._pending = [data]
            self._pending_bytes = len(data)
            flusher = self._flusher  # inline: this runs once per recipient
            flusher.dirty.append(self)
            if not flusher.scheduled:
                flusher.schedule()
        else:
            pending.append(data)
            self._pending_bytes += len(data)
        return self._buffered + self._pending_bytes

    def raw_heard_since(self, moment: float) -> bool:
        return self._read_paused or self._heard_at > moment

    def raw_waiting(self) -> int:
        return int(self.transport.get_write_buffer_size()) + self._pending_bytes

    def raw_flush(self) -> None:
        pending = self._pending
        if pending is None:
            return
        self._pending = None
        self._pending_bytes = 0
        transport = self.transport
        if self.handshake_complete and not self.close_sent and not transport.is_closing():
            transport.write(pending[0] if len(pending) == 1 else b"".join(pending))
            self._buffered = transport.get_write_buffer_size()
