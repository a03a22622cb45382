"""`parley protocol-server`: the protocol test suites' reference application on Parley's engine.

The Engine.IO and Socket.IO protocol repositories (socketio/engine.io-protocol,
socketio/socket.io-protocol) each ship a test suite that a server passes when it runs a small
reference application: an Engine.IO echo at `/engine.io/`, and at `/socket.io/` the namespaces
`/` and `/custom`, each emitting the CONNECT payload back as `auth`, `/` echoing `message` as
`message-back` and acknowledging `message-with-ack` with its own arguments (bytes among them
go back as binary, as they came). Both run with
pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1 000 000 and (Socket.IO) connectTimeout
1 000 ms, any origin allowed.

This module builds that application from the same `EngineServer` and `SocketIOServer` that
`parley serve` mounts, so the suites (and client authors) test the very code Parley runs. It
has no database, no sign-in and no hub; it is never part of the real app.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from starlette.types import Receive, Scope, Send

from parley.realtime.pipeline import CommandPipeline
from parley.realtime.wire.engineio import EngineHandler, EngineServer, EngineSession
from parley.realtime.wire.socketio import (
    Acknowledgement,
    Namespace,
    Socket,
    SocketIOServer,
)

log = structlog.get_logger(__name__)

PING_INTERVAL_SECS = 0.3
PING_TIMEOUT_SECS = 0.2
CONNECT_TIMEOUT_SECS = 1.0
MAX_PAYLOAD_BYTES = 1_000_000
OUTBOX_LIMIT = 1000
OUTBOX_LIMIT_BYTES = 4 * MAX_PAYLOAD_BYTES
"""Room for a few maximum-size echoes queued for one client before it counts as too slow."""
ENGINE_IO_PATH = "/engine.io"
SOCKET_IO_PATH = "/socket.io"


class EchoHandler(EngineHandler):
    """`/engine.io/`: every message a client sends comes straight back to it."""

    async def on_open(self, session: EngineSession) -> None:
        session.in_use = True  # plain Engine.IO: no namespace CONNECT will come

    async def on_message(self, session: EngineSession, data: str) -> None:
        session.send_message(data)

    async def on_close(self, session: EngineSession, reason: str) -> None:
        return


class EchoSocket(Socket):
    """A socket of the reference application: no sign-in, nothing but its namespace."""

    def __init__(self, session: EngineSession, namespace: str) -> None:
        self.id = uuid.uuid4().hex[:20]
        self.session = session
        self.namespace = namespace
        self.pipeline = CommandPipeline()
        self.auth: Any = {}
        """The CONNECT payload, sent back as `auth` once connected."""

    def push(self, frame: Any) -> None:
        self.session.send_packet(frame)


class EchoNamespace(Namespace[EchoSocket]):
    """A namespace that greets each socket with its CONNECT payload (`auth`) and, with
    `echo`, answers `message` and `message-with-ack` as the reference application does."""

    def __init__(self, name: str, *, echo: bool) -> None:
        self.name = name
        self._echo = echo

    def accepts_binary(self, event: str) -> bool:
        return True  # binary is echoed as binary

    def open_socket(self, session: EngineSession, server: SocketIOServer) -> EchoSocket:
        return EchoSocket(session, self.name)

    async def on_connect(self, socket: EchoSocket, auth: Any) -> dict[str, Any] | None:
        socket.auth = {} if auth is None else auth
        return None

    async def after_connect(self, socket: EchoSocket) -> None:
        socket.emit("auth", socket.auth)

    async def on_event(
        self, socket: EchoSocket, event: str, args: list[Any], *, wants_ack: bool
    ) -> Any:
        if not self._echo:
            return None
        if event == "message":
            socket.emit("message-back", *args)
        elif event == "message-with-ack":
            return Acknowledgement(tuple(args))
        return None

    async def on_disconnect(self, socket: EchoSocket) -> None:
        return


class ProtocolServer:
    """The ASGI app: `/engine.io/` and `/socket.io/`, with a lifespan that runs their
    heartbeats; anything else is 404 (a WebSocket elsewhere is refused)."""

    def __init__(self) -> None:
        self.engine_io = _engine(EchoHandler())
        self.socket_io = _engine(
            SocketIOServer(
                [EchoNamespace("/", echo=True), EchoNamespace("/custom", echo=False)],
                max_packet_bytes=MAX_PAYLOAD_BYTES,
            )
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        path: str = scope.get("path", "")
        for prefix, engine in ((ENGINE_IO_PATH, self.engine_io), (SOCKET_IO_PATH, self.socket_io)):
            if path == prefix or path.startswith(prefix + "/"):
                await engine(scope, receive, send)
                return
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.close", "code": 1008})
            return
        body = b"Not found: this server answers /engine.io/ and /socket.io/ only."
        await send(
            {
                "type": "http.response.start",
                "status": 404,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.engine_io.start()
                self.socket_io.start()
                log.info("protocol_server.started", paths=[ENGINE_IO_PATH, SOCKET_IO_PATH])
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.engine_io.stop()
                await self.socket_io.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _engine(handler: EngineHandler) -> EngineServer:
    return EngineServer(
        handler,
        ping_interval_secs=PING_INTERVAL_SECS,
        ping_timeout_secs=PING_TIMEOUT_SECS,
        connect_timeout_secs=CONNECT_TIMEOUT_SECS,
        max_payload_bytes=MAX_PAYLOAD_BYTES,
        outbox_limit=OUTBOX_LIMIT,
        outbox_limit_bytes=OUTBOX_LIMIT_BYTES,
        cors_origins=["*"],
    )
