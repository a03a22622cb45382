"""A Parley connection over plain WebSocket: JSON frames `{type, id?, data}`, signed in.

The session reads frames, answers a bad one with an `error` frame (the connection stays open)
and dispatches the rest to its handlers; a frame with an `id` is answered `{type: "ack", id,
data}` or `{type: "error", id, code, message}`, one without gets the handler's reply frames.
Chat (`chat.websocket`) and game rooms (`gameplay.websocket`) are sessions of this kind.

Authentication: `?token=`, an `Authorization: Bearer` header, or a first frame
`{type: "auth", data: {token}}` within `WS_AUTH_TIMEOUT_SECS`. A later `auth` frame with a
fresh access token of the same user renews it. When the session ends, the account is disabled
or the token expires unrenewed, the client gets an `error` frame and the close code 4401.

Why one module: one session's life on `/ws` (handshake query, sign-in, dispatch, close)
reads best in one place.
"""

from __future__ import annotations

import asyncio
import weakref
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import structlog
from pydantic import ValidationError
from starlette.websockets import WebSocket, WebSocketDisconnect

from parley.domain.accounts.auth import AuthService
from parley.domain.accounts.principal import Principal
from parley.domain.recent_errors import RecentErrors
from parley.errors import MalformedRequest, ParleyError, ServiceUnavailable, Unauthenticated
from parley.logs import request_id_of
from parley.realtime.connection import Connection
from parley.realtime.dialects import (
    CS,
    FLAT,
    UPPER,
    WS_DIALECTS,
    WS_ENVELOPE,
    dump,
    realtime_chat_app,
)
from parley.realtime.pending_sockets import release_of
from parley.realtime.protocol import BAD_FRAME, UNKNOWN_TYPE, CloseCode
from parley.realtime.signin import AuthCommand, renewal, validation_details
from parley.realtime.stats import TOO_SLOW, SocketStats
from parley.realtime.transports.live_sessions import LiveSessions
from parley.realtime.transports.websocket_connection import WebSocketConnection
from parley.realtime.transports.websocket_frames import ErrorFrame, Pong, WsSignedIn
from parley.wirejson import JsonPolicy, JsonRefused, deliverable

log = structlog.get_logger(__name__)

_LIVE: weakref.WeakKeyDictionary[Any, LiveSessions] = weakref.WeakKeyDictionary()
"""The signed-in `/ws` connections by device session, per sign-in service (one per app and
endpoint: chat's, the game rooms'), which every session of that endpoint shares."""


Reply = list[tuple[str, Any]]
Handler = Callable[[Any, dict[str, Any], bool], Awaitable[tuple[Any, Reply]]]
"""(session, data, wants the seed's reply frames) -> (ack data, reply frames)."""


class SignIn(Protocol):
    """What a session signs its connection in with, and renews its token through."""

    @property
    def auth(self) -> AuthService: ...

    async def renew(self, connection: Connection, token: str) -> Principal: ...

    @property
    def stats(self) -> SocketStats: ...


class WebSocketSession(ABC):
    """One connection's read loop: authenticate, then dispatch frames until it closes."""

    handlers: Mapping[str, Handler]
    overlapping_kinds: frozenset[str] = frozenset()
    recent_errors: RecentErrors | None = None
    """Where answered error codes are remembered (the admin dashboard); set by the app."""
    """Frames that may run while the next ones are read (sends: see `pipeline`)."""

    def __init__(
        self,
        websocket: WebSocket,
        signin: SignIn,
        *,
        outbox_limit: int,
        outbox_limit_bytes: int,
        auth_timeout_secs: float,
        max_frame_bytes: int,
        json_policy: JsonPolicy,
        default_dialect: str = WS_ENVELOPE,
    ) -> None:
        self.connection = WebSocketConnection(
            websocket, outbox_limit=outbox_limit, outbox_limit_bytes=outbox_limit_bytes
        )
        self.websocket = websocket
        self.connection.dialect = _dialect_of(websocket, default_dialect)
        self.signin = signin
        self._auth_timeout = auth_timeout_secs
        self._max_frame = max_frame_bytes
        self._json = json_policy
        self._overlapping = self.overlapping_kinds

    async def run(self) -> None:
        await self.websocket.accept()
        connection = self.connection
        await connection.start()
        stats = self.signin.stats
        client = self.websocket.scope.get("client")
        stats.connected(
            connection,
            client=client[0] if client else None,
            request_id=request_id_of(self.websocket.scope),
        )
        reason = "server close"
        live: LiveSessions | None = None
        held: Connection | None = None
        try:
            token = _token_from_request(self.websocket)
            since: dict[str, int] = {}
            if token is None:
                auth = await self._await_auth_frame()
                if auth is None:
                    reason = "auth_timeout"
                    stats.sign_in_failed(connection, reason)
                    return
                token = auth.token
                since = {str(k): v for k, v in (auth.since or {}).items()}
            live = _LIVE.get(self.signin)
            if live is None:
                live = _LIVE[self.signin] = LiveSessions()
            try:
                accounts = self.signin.auth
                claims = accounts.verify_access(token)
                borrowed = live.principal_for(claims)
                principal, donor = borrowed or (await accounts.principal_of(claims), None)
                release_of(self.websocket.scope)  # signed in: no longer pending
                await self.opened(principal, since)
            except ParleyError as exc:  # signing in (or starting to serve) did not happen
                reason = exc.code
                stats.sign_in_failed(connection, exc.code)
                self._send_error(None, exc.code, exc.message)
                # A busy or unreachable database says nothing about the token: try again.
                unchecked = isinstance(exc, ServiceUnavailable)
                code = CloseCode.TRY_AGAIN_LATER if unchecked else CloseCode.UNAUTHENTICATED
                await self._flush_and_close(code, exc.code)
                return
            if connection.ended is None:
                live.add(connection)  # the hub serves it: it ends it on a revocation
            held = connection
            await LiveSessions.confirm(connection, donor)
            stats.signed_in(connection)
            await self._read_loop()
        except WebSocketDisconnect as exc:
            reason = f"client close {exc.code}"
        finally:
            if held is not None and live is not None:
                live.remove(held)
            connection.pipeline.cancel()
            if connection.too_slow:
                reason = TOO_SLOW
            elif connection.ended is not None:
                reason = connection.ended.code
            stats.disconnected(connection, reason)
            await self.closed()
            await connection.outbox.stop_writer()

    @abstractmethod
    async def opened(self, principal: Principal, since: dict[str, int]) -> None:
        """Signed in (with the client's catch-up map, if any): start delivering, say so."""

    def authenticated(self, principal: Principal, rooms: list[str] | None = None) -> None:
        data: WsSignedIn = {
            "user_id": str(principal.user_id),
            "username": principal.username,
            "connection_id": self.connection.id,
        }
        if rooms is not None:
            data["rooms"] = rooms
        self.send_frame("authenticated", data)

    @abstractmethod
    async def closed(self) -> None:
        """The connection is gone (it may never have signed in)."""

    async def _await_auth_frame(self) -> AuthCommand | None:
        try:
            async with asyncio.timeout(self._auth_timeout):
                while True:
                    frame = await self._receive_frame()
                    if frame is None:
                        continue
                    kind = str(frame.get("type", "")).lower()
                    if kind in ("auth", "authenticate"):
                        try:
                            return AuthCommand.model_validate(_data(frame))
                        except ValidationError as exc:
                            self._send_validation_error(frame.get("id"), exc)
                            continue
                    self._send_error(
                        frame.get("id"),
                        "not_authenticated",
                        "Authenticate first: {type: 'auth', data: {token}}.",
                    )
        except TimeoutError:
            self._send_error(None, "auth_timeout", "No authentication in time.")
            await self._flush_and_close(CloseCode.AUTH_TIMEOUT, "authentication timeout")
            return None

    async def _read_loop(self) -> None:
        pipeline = self.connection.pipeline
        while True:
            frame = await self._receive_frame()
            if frame is None:
                continue
            kind, request_id = self._kind_of(frame)
            if kind in self._overlapping:
                await pipeline.overlap(self._dispatch(kind, request_id, frame))
            else:
                await pipeline.run(self._dispatch(kind, request_id, frame))

    async def _receive_frame(self) -> dict[str, Any] | None:
        """The next JSON object frame; a malformed one is answered here and skipped."""
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        self.connection.frames_in += 1
        raw = message.get("text")
        if raw is None:
            raw = message.get("bytes") or b""
        if len(raw) > self._max_frame:
            self._send_error(
                None, "frame_too_large", f"Frames are limited to {self._max_frame} bytes."
            )
            return None
        try:
            frame = self._json.loads(raw)
        except JsonRefused as exc:  # valid JSON that could not be stored or delivered
            self._send_error(_refused_id(exc), exc.code, exc.message, exc.details)
            return None
        except MalformedRequest:
            self._send_error(None, BAD_FRAME, "The frame is not valid JSON.")
            return None
        if not isinstance(frame, dict):
            self._send_error(None, BAD_FRAME, "A frame is a JSON object.")
            return None
        if not _valid_id(frame.get("id")):  # it is echoed in the answer: nothing odd
            self._send_error(
                None,
                BAD_FRAME,
                f"A frame's id is a string of at most {MAX_ID_CHARS} characters or a 64-bit "
                "integer.",
            )
            return None
        if not isinstance(frame.get("type", ""), str | None):  # str() of a deep list fails
            self._send_error(None, BAD_FRAME, "A frame's type is a string.")
            return None
        return frame

    def _kind_of(self, frame: dict[str, Any]) -> tuple[str, Any]:
        """The frame's command (lower case) and request id."""
        raw_type = frame.get("type")
        connection = self.connection
        if raw_type is None and ("conversation_id" in frame or "content" in frame):
            # The GoChat seed's bare send frame; its clients read bare message objects too.
            if connection.dialect != CS:
                connection.dialect = FLAT
            return "send_message", None
        kind = str(raw_type or "")
        lowered = kind.lower()
        if (
            connection.dialect != CS
            and lowered in self.handlers
            and realtime_chat_app.is_upper(kind)
        ):
            connection.dialect = UPPER  # the Realtime Chat App seed's: answered in kind
        return lowered, frame.get("id")

    async def _dispatch(self, kind: str, request_id: Any, frame: dict[str, Any]) -> None:
        handler = self.handlers.get(kind)
        if handler is None:
            self._send_error(request_id, UNKNOWN_TYPE, f"Unknown frame type {frame.get('type')!r}.")
            return
        try:
            result, replies = await handler(self, _data(frame), request_id is None)
        except ValidationError as exc:
            self._send_validation_error(request_id, exc)
            return
        except ParleyError as exc:
            self._send_error(request_id, exc.code, exc.message, exc.details)
            return
        except Exception:  # a bug must cost one command, never the connection
            log.exception("websocket.command_failed", frame_type=kind)
            internal = ParleyError()
            self._send_error(request_id, internal.code, internal.message)
            return
        if request_id is not None:
            self.connection.push(dump({"type": "ack", "id": request_id, "data": result}))
        else:
            for reply_type, data in replies:
                self.send_frame(reply_type, data)

    def _send_error(
        self, request_id: Any, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        error: ErrorFrame = {"type": "error", "code": code, "message": message}
        if self.recent_errors is not None:
            self.recent_errors.record(code, f"ws {self.websocket.url.path}")
        if request_id is not None:
            error["id"] = request_id
        if details:
            error["details"] = details
        self.connection.push(dump(error))

    def send_frame(self, frame_type: str, data: Any) -> None:
        """A server frame `{type, data}`, its type in the client's case (`ack` and `error`,
        Parley's own answers, keep theirs)."""
        self.connection.push(dump({"type": self._cased(frame_type), "data": data}))

    def _cased(self, frame_type: str) -> str:
        return frame_type.upper() if self.connection.dialect == UPPER else frame_type

    def _send_validation_error(self, request_id: Any, exc: ValidationError) -> None:
        message, details = validation_details(exc)
        self._send_error(request_id, "validation_error", message, details)

    async def _flush_and_close(self, code: CloseCode, reason: str) -> None:
        await self.connection.flush_and_close(code, reason)


MAX_ID_CHARS = 128


def _valid_id(request_id: Any) -> bool:
    """No id, a short string, or an integer in int64 range (not a bool)."""
    if request_id is None:
        return True
    if isinstance(request_id, str):
        return len(request_id) <= MAX_ID_CHARS
    return type(request_id) is int and -(2**63) <= request_id < 2**63


def _data(frame: dict[str, Any]) -> dict[str, Any]:
    """The command's fields: `data` when present, else the frame's own fields."""
    data = frame.get("data")
    if isinstance(data, dict):
        return data
    return {k: v for k, v in frame.items() if k not in ("type", "id")}


def _refused_id(refused: JsonRefused) -> str | int | None:
    """The request id of a refused frame, when the id itself is not what was refused."""
    frame = refused.value
    request_id = frame.get("id") if isinstance(frame, dict) else None
    if not _valid_id(request_id):
        return None
    return request_id if deliverable(request_id) else None


def query_of(websocket: WebSocket) -> Mapping[str, str]:
    """The handshake's query parameters as `websocket.query_params` reads them (the last
    value of a name wins, blank ones kept). A plain query (nothing escaped: `?token=<jwt>`)
    is split directly: Starlette's QueryParams cost ~3 % of a connect."""
    raw: bytes = websocket.scope.get("query_string", b"")
    if b"%" in raw or b"+" in raw:
        return websocket.query_params
    found: dict[str, str] = {}
    for pair in raw.decode("latin-1").split("&"):
        if pair:
            name, _, value = pair.partition("=")
            found[name] = value
    return found


def _dialect_of(websocket: WebSocket, default: str) -> str:
    """`/api/ws` is the customer-service seed's; elsewhere `?dialect=` or the setting."""
    if websocket.scope.get("path", "").rstrip("/") == "/api/ws":
        return CS
    return WS_DIALECTS.get(query_of(websocket).get("dialect", ""), default)


def _token_from_request(websocket: WebSocket) -> str | None:
    token = query_of(websocket).get("token")
    if token:
        return token
    scheme, _, value = websocket.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


# -- handlers every session has --------------------------------------------------------------


async def ping(session: WebSocketSession, data: dict[str, Any], seed: bool) -> tuple[Any, Reply]:
    pong: Pong = {"pong": True}
    return pong, [("pong", data or {})]


async def renew(session: WebSocketSession, data: dict[str, Any], seed: bool) -> tuple[Any, Reply]:
    """`auth` on a signed-in connection: a fresh access token of the same user keeps it open
    past the expiry of the one it signed in with."""
    if not (data.get("token") or data.get("access_token")):
        raise Unauthenticated(
            "This connection is already authenticated.", code="already_authenticated"
        )
    token = AuthCommand.model_validate(data).token
    principal = await session.signin.renew(session.connection, token)
    renewed = renewal(principal, connection_id=session.connection.id)
    return renewed, [("authenticated", renewed)]
