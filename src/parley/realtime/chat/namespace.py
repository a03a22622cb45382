"""The default Socket.IO namespace `/`: chat, with the WebSocket Chat Server seed's events.

Client events: `authenticate`, `join` / `leave` `{room_id}`, `message`, `typing`, `read`,
`subscribe_status` / `unsubscribe_status`, `edit_message`, `delete_message`, `heartbeat`,
`sync`, and the GOSOCKET seed's phone sign-in (`login`, `verify_otp`, `set_profile`,
`device_info`). Server events: `connected`, `authenticated`, `message`, `room_users`,
`user_joined` / `user_left`, `typing`, `read_receipt`, `user_online` / `user_offline`,
`message_updated`, `message_deleted`, `conversation_joined`, `synced`, `error`.
Sign-in and errors: see `transports.socketio`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import AliasChoices, Field

from parley.domain.accounts.otp import OtpService
from parley.domain.accounts.principal import Principal
from parley.domain.accounts.schemas import Lenient
from parley.realtime.chat import phone_events
from parley.realtime.chat.commands import Commands
from parley.realtime.chat.live import LiveService
from parley.realtime.signin import SyncCommand
from parley.realtime.transports.socketio import AuthenticatedNamespace, Handler, SocketIOConnection


class GatewayIdentity(Lenient):
    """The seed's `authenticate {user_id, username}`, honoured only behind a trusted gateway."""

    user_id: str = Field(
        min_length=1, max_length=128, validation_alias=AliasChoices("user_id", "userId")
    )
    """A Parley user id, or the gateway's own (`user-123`): linked to an account on first sight."""
    username: str | None = Field(None, max_length=100)


class ChatNamespace(AuthenticatedNamespace):
    name = "/"
    pre_auth_events = frozenset(
        {"authenticate", "login", "verify_otp", "set_profile", "heartbeat", "device_info"}
    )

    def __init__(
        self,
        live: LiveService,
        otp: OtpService,
        *,
        auth_timeout_secs: float,
        trust_gateway_identity: bool,
    ) -> None:
        super().__init__(live.auth, auth_timeout_secs=auth_timeout_secs)
        self.live = live
        self.otp = otp
        self.commands = Commands(live)
        self._trust_gateway = trust_gateway_identity
        self.events = EVENTS
        if live.sends_may_overlap:
            self.overlapping_events = SEND_EVENTS

    async def greet(self, socket: SocketIOConnection) -> None:
        socket.emit("connected", phone_events.greeting(socket))

    async def signed_in(self, socket: SocketIOConnection, since: Any) -> dict[str, Any]:
        """Start delivering; with `since` ({conversation_id: last seq}), what was missed
        comes first (and `synced` reports it), before any new message of those chats."""
        principal = socket.principal
        assert principal is not None
        sync = SyncCommand.model_validate({"since": since}) if since else None
        if sync is not None:
            socket.hold([str(k) for k in sync.since])
        await self.live.open(socket, principal)
        await phone_events.store_pending_device_info(self, socket)
        greeting = {
            "user_id": str(principal.user_id),
            "username": principal.username or principal.name or None,
            "socket_id": socket.id,
        }
        socket.emit("authenticated", greeting)
        if sync is not None:
            socket.emit("synced", await self.commands.sync(socket, {"since": sync.since}))
        return greeting

    async def signed_out(self, socket: SocketIOConnection) -> None:
        await self.live.close(socket)

    async def renew(self, socket: SocketIOConnection, token: str) -> Principal:
        return await self.live.renew(socket, token)

    # -- events ---------------------------------------------------------------------------------

    async def authenticate(
        self, socket: SocketIOConnection, data: dict[str, Any], ack: bool
    ) -> Any:
        token = data.get("token") or data.get("access_token")
        if socket.principal is None and not token and self._trust_gateway:
            identity = GatewayIdentity.model_validate(data)
            principal = await self.live.auth.trusted_principal(identity.user_id, identity.username)
            return await self.sign_in(socket, principal, data.get("since"))
        return await super().authenticate(socket, data, ack)

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


SEND_EVENTS = frozenset({"message", "send_message"})

EVENTS: dict[str, Handler] = {
    "authenticate": ChatNamespace.authenticate,
    "join": ChatNamespace.join,
    "join_room": ChatNamespace.join,
    "leave": _command(Commands.leave_room),
    "leave_room": _command(Commands.leave_room),
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
    "friend_request": _command(Commands.friend_request),
    "accept_friend_request": _command(Commands.accept_friend_request),
    "reject_friend_request": _command(Commands.reject_friend_request),
    "cancel_friend_request": _command(Commands.cancel_friend_request),
    "remove_friend": _command(Commands.remove_friend),
    "list_friends": _command(Commands.list_friends),
    "list_friend_requests": _command(Commands.list_friend_requests),
    "block_user": _command(Commands.block_user),
    "unblock_user": _command(Commands.unblock_user),
    "list_blocks": _command(Commands.list_blocks),
    "react": _command(Commands.react),
    "add_reaction": _command(Commands.react),
    "unreact": _command(Commands.unreact),
    "remove_reaction": _command(Commands.unreact),
    "search_messages": _command(Commands.search_messages),
}
