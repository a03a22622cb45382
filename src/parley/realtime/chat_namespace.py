"""The default Socket.IO namespace `/`: chat, with the WebSocket Chat Server seed's events.

Client events: `authenticate`, `join` / `leave` `{room_id}`, `message`, `typing`, `read`,
`subscribe_status` / `unsubscribe_status`, `edit_message`, `delete_message`, `heartbeat`.
Server events: `authenticated`, `message`, `room_users`, `user_joined` / `user_left`,
`typing`, `read_receipt`, `user_online` / `user_offline`, `message_updated`,
`message_deleted`, `conversation_joined`, `error`.

A client proves who it is at connect (auth `{token}`, `?token=`, or an `Authorization`
header) or afterwards with `authenticate {token}`; until then only `authenticate` works, and
a connection that never authenticates is closed after `WS_AUTH_TIMEOUT_SECS`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from pydantic import AliasChoices, Field, ValidationError

from parley.domain.accounts.otp import OtpService
from parley.domain.accounts.principal import Principal
from parley.domain.accounts.schemas import Lenient
from parley.errors import ParleyError, Unauthenticated
from parley.realtime import phone_events
from parley.realtime.commands import Commands, SyncCommand, validation_details
from parley.realtime.live import LiveService
from parley.realtime.protocol import CloseCode
from parley.realtime.socketio import ConnectRefused, Namespace, SocketIOConnection

log = structlog.get_logger(__name__)

Handler = Callable[["ChatNamespace", SocketIOConnection, dict[str, Any], bool], Awaitable[Any]]


class GatewayIdentity(Lenient):
    """The seed's `authenticate {user_id, username}`, honoured only behind a trusted gateway."""

    user_id: uuid.UUID = Field(validation_alias=AliasChoices("user_id", "userId"))


def token_from(auth: Any, socket: SocketIOConnection) -> str | None:
    if isinstance(auth, dict):
        token = auth.get("token") or auth.get("access_token")
        if isinstance(token, str) and token:
            return token
    from_query = socket.session.query.get("token")
    if from_query:
        return str(from_query)
    scheme, _, value = socket.session.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


class ChatNamespace(Namespace):
    name = "/"

    def __init__(
        self,
        live: LiveService,
        otp: OtpService,
        *,
        auth_timeout_secs: float,
        trust_gateway_identity: bool,
    ) -> None:
        self.live = live
        self.otp = otp
        self.commands = Commands(live)
        self._auth_timeout = auth_timeout_secs
        self._trust_gateway = trust_gateway_identity
        self._pending: dict[str, Principal] = {}
        self._since: dict[str, Any] = {}

    async def on_connect(self, socket: SocketIOConnection, auth: Any) -> dict[str, Any] | None:
        token = token_from(auth, socket)
        if token is None:
            loop = asyncio.get_running_loop()
            socket.auth_deadline = loop.call_later(self._auth_timeout, self._expire, socket)
            return None
        try:
            self._pending[socket.id] = await self.live.auth.authenticate(token)
            if isinstance(auth, dict) and auth.get("since"):
                self._since[socket.id] = auth["since"]
        except ParleyError as exc:
            raise ConnectRefused(exc.code, exc.message) from exc
        return None

    async def after_connect(self, socket: SocketIOConnection) -> None:
        socket.emit("connected", phone_events.greeting(socket))
        principal = self._pending.pop(socket.id, None)
        if principal is not None:
            await self.sign_in(socket, principal, self._since.pop(socket.id, None))

    async def on_disconnect(self, socket: SocketIOConnection) -> None:
        if socket.auth_deadline is not None:
            socket.auth_deadline.cancel()
        self._pending.pop(socket.id, None)
        self._since.pop(socket.id, None)
        await self.live.close(socket)

    async def on_event(
        self, socket: SocketIOConnection, event: str, args: list[Any], *, wants_ack: bool
    ) -> Any:
        data = args[0] if args and isinstance(args[0], dict) else {}
        handler = EVENTS.get(event)
        try:
            if handler is None:
                raise ParleyError(f"Unknown event {event!r}.", code="unknown_event")
            if socket.principal is None and event not in PRE_AUTH_EVENTS:
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
            log.exception("socketio.event_failed", event_name=event)
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
    ) -> dict[str, Any]:
        error = {
            "code": code,
            "message": message,
            "event": event,
            **({"details": details} if details else {}),
        }
        if not wants_ack:
            socket.emit("error", error)
        return {"error": error}

    async def sign_in(
        self, socket: SocketIOConnection, principal: Principal, since: Any = None
    ) -> dict[str, Any]:
        """Start delivering; with `since` ({conversation_id: last seq}), what was missed
        comes first (and `synced` reports it), before any new message of those chats."""
        if socket.auth_deadline is not None:
            socket.auth_deadline.cancel()
            socket.auth_deadline = None
        sync = SyncCommand.model_validate({"since": since}) if since else None
        if sync is not None:
            socket.hold([str(k) for k in sync.since])
        await self.live.open(socket, principal)
        greeting = {
            "user_id": str(principal.user_id),
            "username": principal.username,
            "socket_id": socket.id,
        }
        socket.emit("authenticated", greeting)
        if sync is not None:
            socket.emit("synced", await self.commands.sync(socket, {"since": sync.since}))
        return greeting

    def _expire(self, socket: SocketIOConnection) -> None:
        if socket.principal is None and not socket.session.closed:
            socket.emit("error", {"code": "auth_timeout", "message": "No authentication in time."})
            socket.auth_timer_task = asyncio.ensure_future(
                socket.close(CloseCode.AUTH_TIMEOUT, "authentication timeout")
            )

    # -- events ---------------------------------------------------------------------------------

    async def authenticate(
        self, socket: SocketIOConnection, data: dict[str, Any], ack: bool
    ) -> Any:
        if socket.principal is not None:
            raise Unauthenticated("Already authenticated.", code="already_authenticated")
        token = data.get("token") or data.get("access_token")
        if isinstance(token, str) and token:
            principal = await self.live.auth.authenticate(token)
        elif self._trust_gateway:
            identity = GatewayIdentity.model_validate(data)
            principal = await self.live.auth.trusted_principal(identity.user_id)
        else:
            raise Unauthenticated(
                "Send {token}: an access token from /api/v1/auth/login.", code="token_required"
            )
        return await self.sign_in(socket, principal, data.get("since"))

    async def join(self, socket: SocketIOConnection, data: dict[str, Any], ack: bool) -> Any:
        result = await self.commands.join(socket, data)
        socket.emit("room_users", {"room_id": result["room_id"], "users": result["users"]})
        return result

    async def message(self, socket: SocketIOConnection, data: dict[str, Any], ack: bool) -> Any:
        # Without an ack to carry the stored message, the sender gets it as an event.
        return await self.commands.send(socket, data, echo=not ack)

    async def subscribe_status(
        self, socket: SocketIOConnection, data: dict[str, Any], ack: bool
    ) -> Any:
        status = await self.commands.watch(socket, data)
        socket.emit(str(status["type"]), status)
        return status


def _command(
    run: Callable[[Commands, SocketIOConnection, dict[str, Any]], Awaitable[Any]],
) -> Handler:
    async def handler(
        namespace: ChatNamespace, socket: SocketIOConnection, data: dict[str, Any], ack: bool
    ) -> Any:
        return await run(namespace.commands, socket, data)

    return handler


PRE_AUTH_EVENTS = frozenset({"authenticate", "login", "verify_otp", "set_profile", "heartbeat"})
"""What a connection may do before it has signed in."""

EVENTS: dict[str, Handler] = {
    "authenticate": ChatNamespace.authenticate,
    "join": ChatNamespace.join,
    "join_room": ChatNamespace.join,
    "leave": _command(Commands.leave),
    "leave_room": _command(Commands.leave),
    "message": ChatNamespace.message,
    "send_message": ChatNamespace.message,
    "typing": _command(Commands.typing),
    "read": _command(Commands.read),
    "read_receipt": _command(Commands.read),
    "edit_message": _command(Commands.edit),
    "delete_message": _command(Commands.delete),
    "subscribe_status": ChatNamespace.subscribe_status,
    "unsubscribe_status": _command(Commands.unwatch),
    "heartbeat": phone_events.heartbeat,
    "login": phone_events.login,
    "verify_otp": phone_events.verify_otp,
    "set_profile": phone_events.set_profile,
    "device_info": phone_events.device_info,
    "sync": _command(Commands.sync),
}
