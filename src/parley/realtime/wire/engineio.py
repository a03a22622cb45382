"""Engine.IO v4, the transport under Socket.IO: long-polling, WebSocket, and the upgrade.

Parley speaks it itself rather than through python-engineio so that a broadcast is encoded
once and handed to each connection's outbox without a task or a queue per recipient. What it
implements (protocol v4, as socket.io-client 3.x/4.x and python-socketio 5.x clients speak):

- handshake: `0{"sid","upgrades","pingInterval","pingTimeout","maxPayload"}`;
- polling: GET returns queued packets joined by `\\x1e` (waiting for one when none is queued),
  POST carries client packets the same way;
- WebSocket, directly (`transport=websocket`) or as an upgrade from polling
  (`2probe` / `3probe` / `5`);
- heartbeat: the server pings every session `ping_interval` after it opened or last answered,
  whatever else it sends, as the Node server does (clients close a connection that gets no ping
  for `ping_interval + ping_timeout`); one that has not answered a ping within `ping_timeout`
  is closed;
- connect timeout: a session that the layer above has not taken into use (Socket.IO: no
  namespace CONNECT) within `connect_timeout` is closed.

One sweeper task serves every session's timers, from deadline queues (see `_sweep`).

Binary messages (Socket.IO's attachments) travel as binary WebSocket frames, and over
long-polling as `b<base64>` records of a payload (a `b` text frame on a WebSocket is one too, as
the reference parser reads it); base64 that does not decode is an invalid packet. They reach
the layer above through `EngineHandler.on_binary` and leave through `EngineSession.send_binary`;
one waiting in an outbox is kept in its `b<base64>` form (the form `engineio3` converts).

Engine.IO 3 (socket.io-client 1.x/2.x, `EIO=3`) is served too, chosen per session: what
differs (the open packet, the client's pings, the polling payload) is in `engineio3`.

Why one module: the handshake, both transports, the upgrade and the heartbeat all act on
one session's state; apart, its invariants would be spread over several files.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from abc import ABC, abstractmethod
from collections import deque
from typing import Any
from urllib.parse import parse_qs

import orjson
import structlog
from starlette.types import Message, Receive, Scope, Send

from parley.lifecycle import stop_task
from parley.logs import request_id_of
from parley.realtime.pending_sockets import Ticket, adopt
from parley.realtime.protocol import CloseCode
from parley.realtime.wire import engineio3
from parley.realtime.wire.binary import BINARY_RECORD, decode_record, decode_records, encode_record
from parley.realtime.wire.outbox import Outbox
from parley.realtime.wire.rawframes import RawWriter, raw_websocket
from parley.realtime.wire.websocket import OP_BINARY, frame

log = structlog.get_logger(__name__)

OPEN, CLOSE, PING, PONG, MESSAGE, UPGRADE, NOOP = "0", "1", "2", "3", "4", "5", "6"
CLIENT_PACKETS = frozenset("123456b")
"""What a client may send (`b`: a binary message as base64); anything else is an invalid
packet, which closes the session as the protocol says."""
# The reference server's 400 bodies (engine.io's error codes).
TRANSPORT_UNKNOWN = b'{"code":0,"message":"Transport unknown"}'
BAD_HANDSHAKE_METHOD = b'{"code":2,"message":"Bad handshake method"}'
BAD_REQUEST = b'{"code":3,"message":"Bad request"}'
SESSION_UNKNOWN = b'{"code":1,"message":"Session ID unknown"}'
UNSUPPORTED_PROTOCOL_VERSION = "Unsupported protocol version"
CLIENT_CLOSE = "client close"
"""The close reason of a client's own `1`: its pending poll is answered NOOP, not CLOSE."""
SEPARATOR = "\x1e"
TIMED_OUT = frozenset({"ping timeout", "connect timeout"})
"""Close reasons of a client that did nothing wrong but go quiet (see `_closed_polls`)."""
MAX_CLOSED_POLLS = 10_000
"""Closed polling sessions kept for their client's next poll (see `_closed_polls`)."""
SWEEP_TICK_SECS = 0.05
"""At most this late a ping, a ping timeout or a connect timeout (less with short intervals)."""


class EngineHandler(ABC):
    """What runs on top of Engine.IO (Socket.IO)."""

    @abstractmethod
    async def on_open(self, session: EngineSession) -> None: ...

    @abstractmethod
    async def on_message(self, session: EngineSession, data: str) -> None: ...

    @abstractmethod
    async def on_close(self, session: EngineSession, reason: str) -> None: ...

    async def on_binary(self, session: EngineSession, data: bytes) -> None:
        """A binary message (Socket.IO: an attachment); ignored unless the layer above uses
        them."""
        return


def first_values(query_string: bytes) -> dict[str, str]:
    """Each query parameter's first non-empty value, as `parse_qs` reads them. A plain query
    (`EIO=4&transport=websocket`: nothing escaped) is split directly; parse_qs and its
    unquoting were ~2 % of a connect, for a query parsed twice."""
    text = query_string.decode()
    if "%" in text or "+" in text:
        return {k: v[0] for k, v in parse_qs(text).items()}
    found: dict[str, str] = {}
    for pair in text.split("&"):
        name, equals, value = pair.partition("=")
        if equals and value:
            found.setdefault(name, value)
    return found


class EngineSession:
    """One Engine.IO client, on polling or WebSocket; its outbox holds encoded packets."""

    protocol = 4
    """Engine.IO 3 or 4, from `EIO=`. Set on the instance for v3 only (and `xhr2` with it),
    so a v4 session carries nothing more."""
    xhr2 = False
    """v3: the client takes binary poll answers (it sent no `b64=1` at the handshake)."""

    def __init__(
        self,
        sid: str,
        scope: Scope,
        *,
        outbox_limit: int,
        outbox_limit_bytes: int,
        server: EngineServer,
    ) -> None:
        self.sid = sid
        self.query: dict[str, str] = first_values(scope.get("query_string", b""))
        # The scope's own list, not a copy: a dict of every header cost 1.2 KiB a connection.
        self._headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        client = scope.get("client")
        self.client_ip: str | None = client[0] if client else None
        self.request_id = request_id_of(scope)
        """Of the handshake's request: the lifecycle log's link to the access log."""
        self.pending_ticket: Ticket | None = adopt(scope)
        """Counted among its address's sockets not signed in (MAX_UNAUTHENTICATED_…)."""
        self.transport = "polling"
        self.closed = False
        self.ping_sent_at: float | None = None
        self.in_use = False
        """Set by the layer above once the client really connected (Socket.IO: a namespace);
        a session still not in use after the connect timeout is closed."""
        self.outbox = Outbox(outbox_limit, self._too_slow, limit_bytes=outbox_limit_bytes)
        self.state: dict[str, Any] = {}
        """For the layer above (Socket.IO keeps its namespace sockets here)."""
        self._server = server
        self._ws_send: Send | None = None
        self._polling = False
        self._posting = False
        self._upgrading = False
        self.close_reason: str | None = None
        self.raw: RawWriter | None = None
        """Set while on WebSocket under Parley's server: packets skip the outbox."""

    def header(self, name: str) -> str | None:
        """A request header of the connection's first request (`name` in lower case)."""
        key = name.encode()
        for found, value in self._headers:
            if found == key:
                return value.decode("latin-1")
        return None

    def send_packet(self, packet: str) -> None:
        if self.raw is not None:
            self.raw.write_text(packet)
        else:
            self.outbox.push(packet)

    def heard_since(self, moment: float) -> bool:
        """Whether the client sent anything after `moment` that the layer above has not read
        yet (WebSocket under Parley's server only): its answer to a ping may be behind it."""
        return self.raw is not None and self.raw.heard_since(moment)

    def send_message(self, data: str) -> None:
        self.send_packet(MESSAGE + data)

    def send_binary(self, data: bytes) -> None:
        """A binary message: a binary frame on WebSocket, else `b<base64>` in the outbox."""
        if self.raw is not None:
            self.raw.write(frame(OP_BINARY, self._ws_binary(data)))
        else:
            self.outbox.push(encode_record(data))

    def _ws_binary(self, data: bytes) -> bytes:
        return engineio3.to_ws_binary(data) if self.protocol == 3 else data

    async def close(self, reason: str = "server close", code: CloseCode = CloseCode.NORMAL) -> None:
        await self._server.close_session(self, reason, code)

    async def _write_ws(self, packet: str) -> None:
        assert self._ws_send is not None
        if packet[:1] == BINARY_RECORD:  # a binary message: a binary frame
            data = self._ws_binary(decode_record(packet) or b"")
            await self._ws_send({"type": "websocket.send", "bytes": data})
        else:
            await self._ws_send({"type": "websocket.send", "text": packet})

    async def _too_slow(self) -> None:
        await self._server.close_session(self, "too slow", code=CloseCode.TOO_SLOW)


class EngineServer:
    """The ASGI app mounted at `/socket.io`."""

    def __init__(
        self,
        handler: EngineHandler,
        *,
        ping_interval_secs: float,
        ping_timeout_secs: float,
        connect_timeout_secs: float,
        max_payload_bytes: int,
        outbox_limit: int,
        outbox_limit_bytes: int,
        cors_origins: list[str],
    ) -> None:
        self.handler = handler
        self.sessions: dict[str, EngineSession] = {}
        self._ping_interval = ping_interval_secs
        self._ping_timeout = ping_timeout_secs
        self._connect_timeout = connect_timeout_secs
        self._max_payload = max_payload_bytes
        self._outbox_limit = outbox_limit
        self._outbox_limit_bytes = outbox_limit_bytes
        self._cors_origins = cors_origins
        self._sweeper: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Future[None]] = set()
        self._closed_polls: dict[str, tuple[float, EngineSession]] = {}
        """Polling sessions that timed out while no poll was waiting, by sid, until their
        client's next poll takes the CLOSE packet (as a waiting poll would have: socket.io
        clients then report "transport close" rather than "transport error"), or for a ping
        timeout. A session closed for a protocol error stays unknown at once (400)."""
        # (deadline, sid): when a session is due its next ping, due to have answered one, due
        # to be in use. Within each queue every deadline is "when queued + the same delay",
        # so appending keeps it sorted and the sweeper only looks at its head. An entry is a
        # tuple in a deque (~90 bytes), not a timer per session; sids, not sessions, so a
        # closed session is freed at once (its entries are skipped when they come up).
        self._due_ping: deque[tuple[float, str]] = deque()
        self._due_pong: deque[tuple[float, str]] = deque()
        self._due_in_use: deque[tuple[float, str]] = deque()
        self._client_pings = engineio3.ClientPings(ping_interval_secs + ping_timeout_secs)
        """v3 sessions: the client pings; one that stops is closed (engineio3.ClientPings)."""
        self._tick = min(SWEEP_TICK_SECS, ping_interval_secs / 100, ping_timeout_secs / 100)
        """The sweeper's shortest sleep: deadlines closer together than this are handled in
        one wake-up, not one each (sessions opened at 2 000/s came due 2 000 times a second,
        each a timer and a future)."""

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep(), name="engineio-heartbeat")

    async def stop(self) -> None:
        await stop_task(self._sweeper)
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
        for session in list(self.sessions.values()):
            await self.close_session(session, "server shutting down", code=CloseCode.NORMAL)

    async def _sweep(self) -> None:
        """Ping the sessions that are due, close those that did not answer or connect in time;
        sleep until the next deadline (a queue that is empty now gets nothing due sooner than
        its delay from now)."""
        queues = (
            (self._due_ping, self._ping_interval),
            (self._due_pong, self._ping_timeout),
            (self._due_in_use, self._connect_timeout),
        )
        while True:
            now = time.monotonic()
            wake = min(queue[0][0] if queue else now + delay for queue, delay in queues)
            v3_due = self._client_pings.next_deadline()
            if v3_due is not None:
                wake = min(wake, v3_due)
            await asyncio.sleep(max(self._tick, wake - now))
            now = time.monotonic()
            due_ping, due_pong, due_in_use = self._due_ping, self._due_pong, self._due_in_use
            while due_ping and due_ping[0][0] <= now:
                session = self.sessions.get(due_ping.popleft()[1])
                if session is not None:
                    session.ping_sent_at = now
                    due_pong.append((now + self._ping_timeout, session.sid))
                    session.send_packet(PING)
            while due_pong and due_pong[0][0] <= now:
                session = self.sessions.get(due_pong.popleft()[1])
                # Not answered, and not a later ping (whose own entry comes later).
                sent = session.ping_sent_at if session is not None else None
                if session is None or sent is None or sent + self._ping_timeout > now:
                    continue
                if session.heard_since(sent):
                    # Alive: it sent after the ping, but the layer above has not read that
                    # far (its sends are waiting for a commit, say), so the pong, if any,
                    # waits behind them. Counted as the answer; the next ping as after one.
                    session.ping_sent_at = None
                    due_ping.append((now + self._ping_interval, session.sid))
                else:
                    self._close_soon(session, "ping timeout")
            while due_in_use and due_in_use[0][0] <= now:
                session = self.sessions.get(due_in_use.popleft()[1])
                if session is not None and not session.in_use:
                    self._close_soon(session, "connect timeout", CloseCode.AUTH_TIMEOUT)
            for sid in self._client_pings.due(now):
                session = self.sessions.get(sid)
                if session is not None:
                    self._close_soon(session, "ping timeout")

    def _close_soon(
        self, session: EngineSession, reason: str, code: CloseCode = CloseCode.NORMAL
    ) -> None:
        """Close in a task of its own: the sweeper goes on pinging the others meanwhile (a
        close runs the layer above's disconnect, presence writes included; a mass timeout
        awaited one by one held up every other session's ping)."""
        task = asyncio.ensure_future(self.close_session(session, reason, code))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def close_session(
        self, session: EngineSession, reason: str, code: CloseCode = CloseCode.NORMAL
    ) -> None:
        if session.closed:
            return
        session.closed = True
        session.close_reason = reason
        self.sessions.pop(session.sid, None)
        if session.pending_ticket is not None:
            session.pending_ticket.release()
        if session.protocol == 3:
            self._client_pings.forget(session.sid)
        if session.transport == "polling" and not session._polling and reason in TIMED_OUT:
            self._keep_closed_poll(session)
        await session.outbox.stop_writer()
        session.outbox.close()
        if session._ws_send is not None:
            with contextlib.suppress(Exception):
                await session._ws_send(
                    {"type": "websocket.close", "code": int(code), "reason": reason}
                )
        try:
            await self.handler.on_close(session, reason)
        except Exception:
            log.exception("engineio.on_close_failed", sid=session.sid)

    # -- ASGI ----------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = first_values(scope.get("query_string", b""))
        protocol = query.get("EIO", "")
        if protocol not in ("4", engineio3.PROTOCOL):
            await self._refuse(scope, receive, send, UNSUPPORTED_PROTOCOL_VERSION)
            return
        sid = query.get("sid")
        transport = query.get("transport")  # mandatory, as the protocol says
        if scope["type"] == "websocket":
            if transport != "websocket":
                await self._refuse(scope, receive, send, "transport=websocket is required.")
                return
            await self._websocket(scope, receive, send, sid)
        elif scope["type"] == "http":
            if transport != "polling":
                # A WebSocket transport over plain HTTP is a known transport, badly used.
                body = BAD_REQUEST if transport == "websocket" else TRANSPORT_UNKNOWN
                await _http(send, 400, body, self._cors(scope))
            elif scope["method"] == "OPTIONS":
                await _http(send, 204, b"", self._cors(scope))
            elif sid is None and scope["method"] == "GET":
                await self._open_polling(scope, send)
            elif sid is not None and scope["method"] == "GET":
                await self._poll(scope, send, sid)
            elif sid is not None and scope["method"] == "POST":
                await self._post(scope, receive, send, sid)
            else:  # a handshake is a GET
                body = BAD_HANDSHAKE_METHOD if sid is None else BAD_REQUEST
                await _http(send, 400, body, self._cors(scope))

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, message: str) -> None:
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.close", "code": 1002, "reason": message[:120]})
        else:
            body = orjson.dumps({"code": 5, "message": message})
            await _http(send, 400, body, self._cors(scope))

    def _handshake(self, session: EngineSession, upgrades: list[str]) -> str:
        if session.protocol == 3:
            interval, timeout = int(self._ping_interval * 1000), int(self._ping_timeout * 1000)
            return engineio3.handshake(session.sid, upgrades, interval, timeout)
        return (
            OPEN
            + orjson.dumps(
                {
                    "sid": session.sid,
                    "upgrades": upgrades,
                    "pingInterval": int(self._ping_interval * 1000),
                    "pingTimeout": int(self._ping_timeout * 1000),
                    "maxPayload": self._max_payload,
                }
            ).decode()
        )

    def _new_session(self, scope: Scope) -> EngineSession:
        session = EngineSession(
            secrets.token_urlsafe(15),
            scope,
            outbox_limit=self._outbox_limit,
            outbox_limit_bytes=self._outbox_limit_bytes,
            server=self,
        )
        self.sessions[session.sid] = session
        now = time.monotonic()
        if session.query["EIO"] == engineio3.PROTOCOL:  # the client pings
            session.protocol, session.xhr2 = 3, "b64" not in session.query
            self._client_pings.watch(session.sid, now)
        else:
            self._due_ping.append((now + self._ping_interval, session.sid))
        self._due_in_use.append((now + self._connect_timeout, session.sid))
        return session

    # -- polling ---------------------------------------------------------------------------------

    async def _open_polling(self, scope: Scope, send: Send) -> None:
        session = self._new_session(scope)
        handshake = self._handshake(session, ["websocket"])
        if session.protocol == 3:  # a payload: `<length>:0{...}`
            body = engineio3.encode_payload([handshake], binary=False)[0]
        else:
            body = handshake.encode()
        await _http(send, 200, body, self._cors(scope), text=True)
        await self.handler.on_open(session)

    def _keep_closed_poll(self, session: EngineSession) -> None:
        now = time.monotonic()
        kept = self._closed_polls
        while kept:  # oldest first: drop what has expired, and the oldest past the cap
            sid, (until, _) = next(iter(kept.items()))
            if until > now and len(kept) < MAX_CLOSED_POLLS:
                break
            del kept[sid]
        kept[session.sid] = (now + self._ping_timeout, session)

    def _closed_poll(self, sid: str) -> EngineSession | None:
        kept = self._closed_polls.pop(sid, None)
        if kept is None or kept[0] <= time.monotonic():
            return None
        return kept[1]

    async def _poll(self, scope: Scope, send: Send, sid: str) -> None:
        session = self.sessions.get(sid) or self._closed_poll(sid)
        if session is None or session.transport != "polling":
            # Upgraded: a transport mismatch (Bad request), as the reference server answers.
            body = SESSION_UNKNOWN if session is None else BAD_REQUEST
            await _http(send, 400, body, self._cors(scope))
            return
        if session._polling:  # two GETs at once: the protocol closes the session
            await _http(send, 400, BAD_REQUEST, self._cors(scope))
            await self.close_session(session, "duplicate poll")
            return
        session._polling = True
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._ping_interval + self._ping_timeout):
                    await session.outbox.wait()
            packets = session.outbox.take_all()
            if session.closed and not packets:
                # The client's own close ends its poll with a NOOP; any other, with CLOSE.
                packets = [NOOP if session.close_reason == CLIENT_CLOSE else CLOSE]
            if session.protocol == 3:
                body, binary = engineio3.encode_payload(packets or [NOOP], binary=session.xhr2)
                mime = engineio3.BINARY_CONTENT_TYPE if binary else None
                await _http(send, 200, body, self._cors(scope), text=True, content_type=mime)
                return
            body = SEPARATOR.join(packets or [NOOP]).encode()
            await _http(send, 200, body, self._cors(scope), text=True)
        finally:
            session._polling = False

    async def _post(self, scope: Scope, receive: Receive, send: Send, sid: str) -> None:
        session = self.sessions.get(sid)
        if session is None or session.transport != "polling":
            refusal = SESSION_UNKNOWN if session is None else BAD_REQUEST
            await _http(send, 400, refusal, self._cors(scope))
            return
        if session._posting:  # two POSTs at once: the protocol closes the session
            await _http(send, 400, BAD_REQUEST, self._cors(scope))
            await self.close_session(session, "duplicate post")
            return
        session._posting = True
        try:
            body = await _read_body(receive, self._max_payload)
        finally:
            session._posting = False
        if body is None:
            await _http(send, 413, b'{"code":3,"message":"Payload too large"}', self._cors(scope))
            await self.close_session(session, "payload too large")
            return
        if session.protocol == 3:
            try:
                packets = engineio3.decode_payload(body, binary=_is_binary(scope))
            except engineio3.PayloadError:
                packets = [""]  # the protocol's parse error: an invalid packet, as below
        else:
            packets = body.decode("utf-8", "replace").split(SEPARATOR)
        received: list[str | bytes] = list(packets)
        valid = all(packet and packet[0] in CLIENT_PACKETS for packet in packets)
        if valid and any(packet[0] == BINARY_RECORD for packet in packets):
            valid = decode_records(received)  # base64 that does not decode: invalid too
        if not valid:
            await _http(send, 400, BAD_REQUEST, self._cors(scope))
            await self.close_session(session, "invalid packet")
            return
        await _http(send, 200, b"ok", self._cors(scope), text=True)
        for packet in received:
            if isinstance(packet, bytes):
                await self._on_binary(session, packet)
            else:
                await self._on_packet(session, packet)

    # -- websocket -------------------------------------------------------------------------------

    async def _websocket(self, scope: Scope, receive: Receive, send: Send, sid: str | None) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        if sid is None:
            session = self._new_session(scope)
            raw = raw_websocket(scope)
            if raw is not None:  # before the accept, which would start WebSocket pings
                raw.keep_alive_by_app()
            await send({"type": "websocket.accept"})
            await self._attach_ws(session, scope, send)
            session.send_packet(self._handshake(session, []))
            await self.handler.on_open(session)
        else:
            found = self.sessions.get(sid)
            await send({"type": "websocket.accept"})
            if found is None or found.transport != "polling" or found._upgrading:
                # Unknown, or upgraded (or upgrading) already: accepted, then closed, as the
                # reference server does; the session it names carries on.
                await send(
                    {"type": "websocket.close", "code": 1008, "reason": "Session ID unknown"}
                )
                return
            session = found
            session._upgrading = True
            try:
                upgraded = await self._upgrade(session, scope, receive, send)
            finally:
                session._upgrading = False
            if not upgraded:
                return
        try:
            while not session.closed:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    if not await self._on_binary_frame(session, message.get("bytes")):
                        break
                    continue
                if len(text) > self._max_payload:
                    await self.close_session(
                        session, "payload too large", code=CloseCode.FRAME_TOO_LARGE
                    )
                    break
                if session.protocol == 3:
                    try:
                        text = engineio3.from_ws_text(text)
                    except engineio3.PayloadError:
                        text = ""  # invalid: _on_packet closes the session
                await self._on_packet(session, text)
        finally:
            session._ws_send = None
            await self.close_session(session, "transport close")

    async def _upgrade(
        self, session: EngineSession, scope: Scope, receive: Receive, send: Send
    ) -> bool:
        """Polling → WebSocket: answer the probe, release the pending poll, await `5`."""
        try:
            async with asyncio.timeout(self._ping_timeout):
                probe = await receive()
                if probe.get("text") != PING + "probe":
                    return False
                await send({"type": "websocket.send", "text": PONG + "probe"})
                session.outbox.push(NOOP)  # ends a poll in flight, as the protocol asks
                upgrade = await receive()
                if upgrade.get("text") != UPGRADE:
                    return False
        except TimeoutError:
            return False
        session.transport = "websocket"
        pending = session.outbox.take_all()
        await self._attach_ws(session, scope, send)
        for packet in pending:
            if packet[:1] == BINARY_RECORD:
                session.send_binary(decode_record(packet) or b"")
            elif packet != NOOP:
                session.send_packet(packet)
        return True

    async def _attach_ws(self, session: EngineSession, scope: Scope, send: Send) -> None:
        session.transport = "websocket"
        session._ws_send = send
        raw = raw_websocket(scope)
        if raw is not None:
            await raw.raw_ready()
            raw.keep_alive_by_app()  # Engine.IO's own pings: see _sweep
            session.raw = RawWriter(
                raw,
                limit_bytes=self._outbox_limit_bytes,
                on_overflow=session._too_slow,
            )
        else:
            session.outbox.start_writer(session._write_ws, f"eio-writer-{session.sid}")

    # -- packets -----------------------------------------------------------------------------------

    async def _on_packet(self, session: EngineSession, packet: str) -> None:
        if session.closed:
            return
        if not packet or packet[0] not in CLIENT_PACKETS:
            await self.close_session(session, "invalid packet", code=CloseCode.PROTOCOL_ERROR)
            return
        kind = packet[0]
        if kind == PONG:
            if session.ping_sent_at is not None:  # the next ping: an interval from now
                session.ping_sent_at = None
                self._due_ping.append((time.monotonic() + self._ping_interval, session.sid))
        elif kind == MESSAGE:
            await self.handler.on_message(session, packet[1:])
        elif kind == CLOSE:
            await self.close_session(session, CLIENT_CLOSE)
        elif kind == PING:  # v3's heartbeat; not in v4 from clients, but harmless to answer
            if session.protocol == 3:
                self._client_pings.pinged(session.sid, time.monotonic())
            session.send_packet(PONG + packet[1:])
        elif kind == BINARY_RECORD:  # `b<base64>` in a WebSocket text frame, as engine.io reads it
            data = decode_record(packet)
            if data is None:
                await self.close_session(session, "invalid packet", code=CloseCode.PROTOCOL_ERROR)
            else:
                await self._on_binary(session, data)

    async def _on_binary_frame(self, session: EngineSession, data: bytes | None) -> bool:
        """A binary WebSocket frame; False once the session is closed for it."""
        if data is None:
            return True
        if len(data) > self._max_payload:
            await self.close_session(session, "payload too large", code=CloseCode.FRAME_TOO_LARGE)
            return False
        if session.protocol == 3:
            try:
                data = engineio3.from_ws_binary(data)
            except engineio3.PayloadError:
                await self.close_session(session, "invalid packet", code=CloseCode.PROTOCOL_ERROR)
                return False
        await self._on_binary(session, data)
        return True

    async def _on_binary(self, session: EngineSession, data: bytes) -> None:
        if not session.closed:
            await self.handler.on_binary(session, data)

    def _cors(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        origin = dict(scope.get("headers", [])).get(b"origin")
        if origin is None or not self._cors_origins:
            return []
        try:
            allowed = origin.decode("ascii")  # a serialized origin is ASCII (IDNs in punycode)
        except UnicodeDecodeError:
            return []  # not an origin anyone allowed: no CORS headers, like any other
        if "*" in self._cors_origins:  # any page, and so never with its credentials
            return [
                (b"access-control-allow-origin", b"*"),
                (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
                (b"access-control-allow-headers", b"content-type, authorization"),
            ]
        if allowed in self._cors_origins:
            return [
                (b"access-control-allow-origin", origin),
                (b"access-control-allow-credentials", b"true"),
                (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
                (b"access-control-allow-headers", b"content-type, authorization"),
            ]
        return []


async def _http(
    send: Send,
    status: int,
    body: bytes,
    extra: list[tuple[bytes, bytes]],
    *,
    text: bool = False,
    content_type: str | None = None,
) -> None:
    if content_type is not None:
        mime = content_type.encode()
    else:
        mime = b"text/plain; charset=UTF-8" if text else b"application/json"
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", mime),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _is_binary(scope: Scope) -> bool:
    """A v3 POST of an XHR2 binary payload."""
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            mime = value.split(b";")[0].strip().lower()
            return bool(mime == engineio3.BINARY_CONTENT_TYPE.encode())
    return False


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
