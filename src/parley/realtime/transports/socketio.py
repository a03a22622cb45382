"""What every Parley Socket.IO namespace shares: sign-in and typed event dispatch.

A client proves who it is at connect (auth `{token}`, `?token=`, or an `Authorization`
header) or afterwards with `authenticate {token}`; until then only the namespace's pre-auth
events work, and a connection that never authenticates is closed after
`WS_AUTH_TIMEOUT_SECS`. A signed-in socket renews its access token before it expires with
`authenticate {token}` (a fresh token of the same user); a socket whose session ends, whose
account is disabled or whose token expired gets `error {code, message}` and a DISCONNECT
of its namespace. Each event answers through its acknowledgement; a failure is the
ack `{error: {code, message, event}}`, or an `error` event when no ack was asked for. A bad
event never costs the connection.
"""

from __future__ import annotations

import asyncio
import os
from abc import abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NotRequired

import structlog
from pydantic import ValidationError
from typing_extensions import TypedDict

from parley.domain.accounts.auth import AuthService
from parley.domain.accounts.principal import Principal
from parley.domain.events import Event
from parley.domain.recent_errors import RecentErrors
from parley.errors import ParleyError, Unauthenticated
from parley.realtime.connection import Connection, OutboundEvent
from parley.realtime.dialects import encode_sio_event
from parley.realtime.protocol import CloseCode
from parley.realtime.signin import SyncCommand, renewal, validation_details
from parley.realtime.stats import SocketStats
from parley.realtime.transports.live_sessions import LiveSessions
from parley.realtime.wire.engineio import EngineSession
from parley.realtime.wire.socketio import (
    DISCONNECT,
    SOCKETS,
    ConnectRefused,
    Namespace,
    Socket,
    SocketIOServer,
    encode_packet,
)

log = structlog.get_logger(__name__)


class SocketIOConnection(Connection, Socket):
    protocol = "socketio"
    """A client's connection to one namespace; writes through its Engine.IO session."""

    def __init__(self, session: EngineSession, namespace: str, server: SocketIOServer) -> None:
        super().__init__(f"sio-{os.urandom(8).hex()}")  # uuid4().hex[:16] cost 4x more
        self.sid = self.id
        """The socket id the client knows; a resumed socket keeps its old one (`recovery`),
        while `id` stays this connection's own (presence and echo are counted by it)."""
        self.pid: str | None = None
        """Its private session id (connection-state recovery), once it has one."""
        self.offsets = True
        """Messages carry their recovery offset as a last argument (when recovery is on)."""
        self.session = session
        self.namespace = namespace
        self.server = server
        self.dialect = f"sio{namespace}"
        self.writer = session.raw
        self.auth_deadline: asyncio.TimerHandle | None = None
        self.auth_timer_task: asyncio.Future[None] | None = None

    def without_offsets(self) -> None:
        """Its client takes no extra event argument (`recovery`): messages come without."""
        self.dialect = f"sio{self.namespace}~"
        self.offsets = False

    def encode(self, event: OutboundEvent) -> str | None:
        namespace, offsets = self.namespace, self.offsets
        return event.encoded(self.dialect, lambda e: encode_sio_event(e, namespace, offsets))  # type: ignore[no-any-return]

    def send_event(self, event: OutboundEvent) -> None:
        if self.writer is None:  # a polling session may have upgraded since
            self.writer = self.session.raw
        super().send_event(event)

    def encode_text(self, event: Event) -> str | None:
        return encode_sio_event(event, self.namespace, self.offsets)

    def push(self, frame: Any) -> None:
        self.frames_out += 1
        self.session.send_packet(frame)

    async def close(self, code: CloseCode, reason: str) -> None:
        self.push("4" + encode_packet(DISCONNECT, self.namespace))
        await self.session.close(reason, code)

    async def end(self, code: str, message: str) -> None:
        ended: SocketError = {"code": code, "message": message}
        self.emit("error", ended)
        await self.server.disconnect(self)


class SocketError(TypedDict):
    """A refusal: the `error` event, or inside the acknowledgement `{error}`."""

    code: str
    """Stable: what a client branches on (README, Errors)."""
    message: str
    event: NotRequired[str]
    """The event refused (absent when the connection itself is ended or timed out)."""
    details: NotRequired[dict[str, Any]]
    """More about it: `{fields: [{field, message}]}` for a `validation_error`, `retry_after_ms`
    for a `rate_limited`, …"""


class AckError(TypedDict):
    """The acknowledgement of a refused event."""

    error: SocketError


Handler = Callable[[Any, SocketIOConnection, dict[str, Any], bool], Awaitable[Any]]
"""(namespace, socket, event data, wants ack) -> the acknowledgement's payload."""


def token_from(auth: Any, socket: SocketIOConnection) -> str | None:
    if isinstance(auth, dict):
        token = auth.get("token") or auth.get("access_token")
        if isinstance(token, str) and token:
            return token
    from_query = socket.session.query.get("token")
    if from_query:
        return str(from_query)
    scheme, _, value = (socket.session.header("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def implicit_root(socket: SocketIOConnection) -> bool:
    """A Socket.IO v2 client's `/`, which it never asked for, beside a namespace it did ask
    for: when `/` is not signed in, that namespace may well be (`/gameplay?token=…`)."""
    sockets = socket.session.state.get(SOCKETS, {})
    return socket.session.protocol == 3 and socket.namespace == "/" and len(sockets) > 1


def check_since(since: Any) -> None:
    """Raise ValidationError unless `since` is absent or `{conversation id: seq}`."""
    if since is not None:
        SyncCommand.model_validate({"since": since})


class AuthenticatedNamespace(Namespace[SocketIOConnection]):
    events: Mapping[str, Handler]
    pre_auth_events: frozenset[str] = frozenset({"authenticate"})
    recent_errors: RecentErrors | None = None
    """Where answered error codes are remembered (the admin dashboard); set by the app."""

    def __init__(self, auth: AuthService, stats: SocketStats, *, auth_timeout_secs: float) -> None:
        self.auth = auth
        self.stats = stats
        self._auth_timeout = auth_timeout_secs
        self._pending: dict[str, tuple[Principal, Any, Connection | None]] = {}
        """Signed in at connect, served once connected: (principal, since, the connection
        it was borrowed from, if any: `LiveSessions`)."""
        self.live_sessions = LiveSessions()
        """This namespace's signed-in sockets by device session."""

    @abstractmethod
    async def signed_in(self, socket: SocketIOConnection, since: Any) -> Mapping[str, Any]:
        """The socket has its principal: start serving it; returns the `authenticated` data."""

    @abstractmethod
    async def signed_out(self, socket: SocketIOConnection) -> None:
        """The socket is gone (it may never have signed in)."""

    @abstractmethod
    async def renew(self, socket: SocketIOConnection, token: str) -> Principal:
        """A fresh access token of the same user replaces the socket's (`live.renew_access`)."""

    def open_socket(self, session: EngineSession, server: SocketIOServer) -> SocketIOConnection:
        return SocketIOConnection(session, self.name, server)

    async def greet(self, socket: SocketIOConnection) -> None:
        """Runs when a connection arrives, before its sign-in."""
        return

    async def on_connect(self, socket: SocketIOConnection, auth: Any) -> dict[str, Any] | None:
        session = socket.session
        self.stats.connected(socket, client=session.client_ip, request_id=session.request_id)
        try:
            return await self._connect(socket, auth)
        except ConnectRefused as exc:  # the namespace never opens: no disconnect follows
            self.stats.sign_in_failed(socket, exc.code)
            self.stats.disconnected(socket, exc.code)
            raise

    async def _connect(self, socket: SocketIOConnection, auth: Any) -> dict[str, Any] | None:
        token = token_from(auth, socket)
        if token is None and (shared := _signed_in_sibling(socket)) is not None:
            self._pending[socket.id] = (shared, None, None)  # see `_share_sign_in`
            return None
        if token is None:
            loop = asyncio.get_running_loop()
            socket.auth_deadline = loop.call_later(self._auth_timeout, self._expire, socket)
            return None
        try:
            claims = self.auth.verify_access(token)
            borrowed = self.live_sessions.principal_for(claims)
            if borrowed is None:
                principal, donor = await self.auth.principal_of(claims), None
            else:
                principal, donor = borrowed
        except ParleyError as exc:
            raise ConnectRefused(exc.code, exc.message) from exc
        since = auth.get("since") if isinstance(auth, dict) else None
        try:
            check_since(since)
        except ValidationError as exc:
            message, details = validation_details(exc)
            raise ConnectRefused("validation_error", message, details) from exc
        self._pending[socket.id] = (principal, since, donor)
        return None

    async def after_connect(self, socket: SocketIOConnection) -> None:
        await self.greet(socket)
        pending = self._pending.pop(socket.id, None)
        if pending is None:
            return
        principal, since, donor = pending
        try:
            await self.sign_in(socket, principal, since)
        except ParleyError as exc:  # e.g. the database too busy to start serving it: retry
            await socket.end(exc.code, exc.message)
            return
        await LiveSessions.confirm(socket, donor)

    async def on_disconnect(self, socket: SocketIOConnection) -> None:
        if socket.auth_deadline is not None:
            socket.auth_deadline.cancel()
        self._pending.pop(socket.id, None)
        self.live_sessions.remove(socket)
        session = socket.session
        reason = (session.close_reason or "closed") if session.closed else "namespace disconnect"
        if socket.ended is not None:
            reason = socket.ended.code
        self.stats.disconnected(socket, reason)
        await self.signed_out(socket)

    async def sign_in(
        self, socket: SocketIOConnection, principal: Principal, since: Any = None
    ) -> Mapping[str, Any]:
        check_since(since)  # a bad one refuses the sign-in before anything changes
        if socket.auth_deadline is not None:
            socket.auth_deadline.cancel()
            socket.auth_deadline = None
        socket.principal = principal
        if socket.session.pending_ticket is not None:  # signed in: no longer pending
            socket.session.pending_ticket.release()
        greeting = await self.signed_in(socket, since)
        if socket.ended is None and _connected(socket):
            self.live_sessions.add(socket)  # the hub serves it: it ends it on a revocation
        self.stats.signed_in(socket)
        await _share_sign_in(socket, principal)
        return greeting

    async def authenticate(
        self, socket: SocketIOConnection, data: dict[str, Any], ack: bool
    ) -> Any:
        token = data.get("token") or data.get("access_token")
        if socket.principal is not None and not token:
            raise Unauthenticated("Already authenticated.", code="already_authenticated")
        if not isinstance(token, str) or not token:
            raise Unauthenticated(
                "Send {token}: an access token from /api/v1/auth/login.", code="token_required"
            )
        if socket.principal is not None:  # renewing before the signed-in token expires
            renewed = renewal(await self.renew(socket, token), socket_id=socket.sid)
            if not ack:
                socket.emit("authenticated", renewed)
            return renewed
        try:
            principal = await self.auth.authenticate(token)
        except ParleyError as exc:
            self.stats.sign_in_failed(socket, exc.code)
            raise
        return await self.sign_in(socket, principal, data.get("since"))

    async def on_event(
        self, socket: SocketIOConnection, event: str, args: list[Any], *, wants_ack: bool
    ) -> Any:
        socket.frames_in += 1
        data = args[0] if args and isinstance(args[0], dict) else {}
        handler = self.events.get(event)
        try:
            if handler is None:
                raise ParleyError(f"Unknown event {event!r}.", code="unknown_event")
            if socket.principal is None and event not in self.pre_auth_events:
                raise Unauthenticated(
                    "Authenticate first: emit 'authenticate' {token}.", code="not_authenticated"
                )
            return await handler(self, socket, data, wants_ack)
        except ValidationError as exc:
            message, details = validation_details(exc)
            return self._error(socket, event, "validation_error", message, details, wants_ack)
        except ParleyError as exc:
            return self._error(socket, event, exc.code, exc.message, exc.details, wants_ack)
        except Exception:  # a bug must cost one command, never the connection
            log.exception("socketio.event_failed", event_name=event, namespace=self.name)
            internal = ParleyError()
            return self._error(socket, event, internal.code, internal.message, {}, wants_ack)

    def _error(
        self,
        socket: SocketIOConnection,
        event: str,
        code: str,
        message: str,
        details: dict[str, Any],
        wants_ack: bool,
    ) -> AckError:
        error: SocketError = {"code": code, "message": message, "event": event}
        if details:
            error["details"] = details
        if self.recent_errors is not None:
            named = event if event in self.events else "(unknown event)"  # never input
            self.recent_errors.record(code, f"socket.io {self.name} {named}")
        if not wants_ack:
            socket.emit("error", error)
        return {"error": error}

    def _expire(self, socket: SocketIOConnection) -> None:
        if socket.principal is None and not socket.session.closed:
            self.stats.sign_in_failed(socket, "auth_timeout")
            socket.emit("error", {"code": "auth_timeout", "message": "No authentication in time."})
            if implicit_root(socket):  # its other namespaces carry on
                ending = socket.server.disconnect(socket)
            else:
                ending = socket.close(CloseCode.AUTH_TIMEOUT, "authentication timeout")
            socket.auth_timer_task = asyncio.ensure_future(ending)


def _siblings(socket: SocketIOConnection) -> list[SocketIOConnection]:
    """The client's sockets on its other namespaces, over the same Engine.IO connection."""
    sockets: dict[str, SocketIOConnection] = socket.session.state.get(SOCKETS, {})
    return [s for s in sockets.values() if s is not socket]


def _connected(socket: SocketIOConnection) -> bool:
    """Still its namespace's socket (`on_disconnect` has not run, and will run once)."""
    sockets: dict[str, SocketIOConnection] = socket.session.state.get(SOCKETS, {})
    return sockets.get(socket.namespace) is socket


def _signed_in_sibling(socket: SocketIOConnection) -> Principal | None:
    return next((s.principal for s in _siblings(socket) if s.principal is not None), None)


async def _share_sign_in(socket: SocketIOConnection, principal: Principal) -> None:
    """The namespaces of one Engine.IO connection are one client (`io()` and
    `io("/gameplay")` share it): a sign-in on one signs in those still waiting, and a
    namespace connected later without credentials starts signed in. The GOSOCKET seed signs
    in on `/` (`verify_otp`) and plays on `/gameplay`."""
    for sibling in _siblings(socket):
        namespace = socket.server.namespace(sibling.namespace)
        if sibling.principal is None and isinstance(namespace, AuthenticatedNamespace):
            await namespace.sign_in(sibling, principal)
