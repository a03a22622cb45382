"""The default Socket.IO namespace `/`: chat, with the WebSocket Chat Server seed's events.

Client events: `authenticate`, `join` / `leave` `{room_id}`, `message`, `typing`, `read`,
`subscribe_status` / `unsubscribe_status`, `edit_message`, `delete_message`, `heartbeat`,
`sync`, `upload` (bytes: see `accepts_binary`), and the GOSOCKET seed's phone sign-in
(`login`, `verify_otp`, `set_profile`, `device_info`). Server events: `connected`,
`authenticated`, `message`, `room_users`, `user_joined` / `user_left`, `typing`,
`read_receipt`, `user_online` / `user_offline`, `message_updated`, `message_deleted`,
`conversation_joined`, `synced`, `error`.
Sign-in and errors: see `transports.socketio`; a dropped socket coming back as itself
(`{pid, offset}` in its CONNECT): see `recovery`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, Literal, NotRequired

import structlog
from pydantic import AliasChoices, Field
from typing_extensions import TypedDict

from parley.domain.accounts.otp import OtpService
from parley.domain.accounts.principal import Principal
from parley.domain.accounts.schemas import Lenient
from parley.errors import ParleyError
from parley.realtime.chat import phone_events
from parley.realtime.chat.commands import Commands, binary_not_supported, stray_bytes
from parley.realtime.chat.live import LiveService
from parley.realtime.protocol import CloseCode
from parley.realtime.recovery import Recovery, Resumed
from parley.realtime.signin import SyncCommand
from parley.realtime.transports.socketio import AuthenticatedNamespace, Handler, SocketIOConnection

log = structlog.get_logger(__name__)


class GatewayIdentity(Lenient):
    """The seed's `authenticate {user_id, username}`, honoured only behind a trusted gateway."""

    user_id: str = Field(
        min_length=1, max_length=128, validation_alias=AliasChoices("user_id", "userId")
    )
    """A Parley user id, or the gateway's own (`user-123`): linked to an account on first sight."""
    username: str | None = Field(None, max_length=100)


class SignedIn(TypedDict):
    """`authenticated`, and the answer to a sign-in with `authenticate`."""

    user_id: str
    username: str | None
    socket_id: str
    recovered: NotRequired[Literal[True]]
    """A dropped connection came back as the same socket (see `recovery`)."""


class RoomUsers(TypedDict):
    """`room_users`, to a joiner: who views the conversation now (user ids)."""

    room_id: str
    users: list[str]


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
        recovery: Recovery | None = None,
    ) -> None:
        super().__init__(live.auth, live.stats, auth_timeout_secs=auth_timeout_secs)
        self.live = live
        self.recovery = recovery
        self._resumed: dict[str, Resumed] = {}
        self.otp = otp
        self.commands = Commands(live)
        self._trust_gateway = trust_gateway_identity
        self.events = EVENTS
        if live.sends_may_overlap:
            self.overlapping_events = SEND_EVENTS

    def accepts_binary(self, event: str) -> bool:
        """Bytes go in a send's `attachments[i].data` (stored as uploads in the send's flow)
        and in `upload`'s `data`; anywhere else in those events they are refused with
        `binary_not_supported` (`commands.split_files`), and every other event is refused
        before it runs."""
        return event in BINARY_EVENTS

    async def on_event(
        self, socket: SocketIOConnection, event: str, args: list[Any], *, wants_ack: bool
    ) -> Any:
        if event in BINARY_EVENTS and stray_bytes(args):
            refused = binary_not_supported("arguments")
            return self._error(
                socket, event, refused.code, refused.message, refused.details, wants_ack
            )
        return await super().on_event(socket, event, args, wants_ack=wants_ack)

    async def greet(self, socket: SocketIOConnection) -> None:
        socket.emit("connected", phone_events.greeting(socket))

    # -- connection-state recovery ---------------------------------------------------------------

    async def on_connect(self, socket: SocketIOConnection, auth: Any) -> dict[str, Any] | None:
        """As any namespace, plus the private session id in the answer; a CONNECT naming a
        session that may come back gets its old socket id (see `recovery`)."""
        extra = await super().on_connect(socket, auth)
        if self.recovery is None:
            return extra
        opted_out = isinstance(auth, dict) and auth.get("recovery") is False
        if opted_out or socket.session.protocol == 3:
            # A client library that takes no extra argument, or a v2 client (Engine.IO 3),
            # whose CONNECT answer has no room for a pid: no recovery, no offsets.
            socket.without_offsets()
            return extra
        pending = self._pending.get(socket.id)
        try:
            resumed = await self.recovery.resume(auth, self.name, pending and pending[0])
        except Exception:  # the store is down, say: a new session then
            log.exception("recovery.resume_failed")
            resumed = None
        if resumed is None:
            socket.pid = Recovery.new_pid()
            return {**(extra or {}), "pid": socket.pid}
        socket.pid, socket.sid = resumed.pid, resumed.record.sid
        if socket.auth_deadline is not None:
            socket.auth_deadline.cancel()
            socket.auth_deadline = None
        self._pending.pop(socket.id, None)
        self._resumed[socket.id] = resumed
        return {"sid": socket.sid, "pid": socket.pid}

    async def after_connect(self, socket: SocketIOConnection) -> None:
        resumed = self._resumed.pop(socket.id, None)
        if resumed is None:
            await super().after_connect(socket)
            return
        await self.greet(socket)
        try:
            await self._resume(socket, resumed)
        except Exception:
            # Told it was recovered, it would miss what it missed for good: its connection
            # ends instead, and the client's reconnect is a new session (the pid is used up).
            log.exception("recovery.replay_failed")
            await socket.session.close("recovery failed", CloseCode.SERVER_ERROR)

    async def _resume(self, socket: SocketIOConnection, resumed: Resumed) -> None:
        """Signed in as before, in the rooms it had joined, and what it missed replayed
        before anything new: every message of its conversations waits until then."""
        assert self.recovery is not None
        principal = socket.principal = resumed.principal
        try:
            await self.live.open(socket, principal, hold=True)
            for room in resumed.record.rooms:
                with contextlib.suppress(ParleyError):  # gone, or no longer a member
                    await self.live.join(socket, room)
            missed, end = await self.recovery.missed_since(resumed)
            since, only = Recovery.replay_plan(socket, missed)
            for conversation_id in list(socket.held or {}):
                if conversation_id not in since:
                    socket.release(conversation_id, [])
            resumed_greeting = self._greeting(socket)
            resumed_greeting["recovered"] = True
            socket.emit("authenticated", resumed_greeting)
            report = await self.live.catch_up(socket, since, only=only) if since else {}
        finally:
            for conversation_id in list(socket.held or {}):  # on an error, nothing stays held
                socket.release(conversation_id, [])
        if any(entry.get("has_more") for entry in report.values()):
            socket.emit("synced", {"conversations": report})  # the rest: from history
        await self._remember(socket, start=end)

    async def _remember(self, socket: SocketIOConnection, start: str | None = None) -> None:
        if self.recovery is not None and socket.pid is not None:
            await self.recovery.remember(socket, start=start)

    async def on_disconnect(self, socket: SocketIOConnection) -> None:
        self._resumed.pop(socket.id, None)
        if self.recovery is not None:
            # Its connection dropped (the Engine.IO session closed): it may come back. It
            # disconnected, or was disconnected: it may not.
            await self.recovery.gone(socket, recoverable=socket.session.closed)
        await super().on_disconnect(socket)

    def _greeting(self, socket: SocketIOConnection) -> SignedIn:
        principal = socket.principal
        assert principal is not None
        return {
            "user_id": str(principal.user_id),
            "username": principal.username or principal.name or None,
            "socket_id": socket.sid,
        }

    async def signed_in(self, socket: SocketIOConnection, since: Any) -> SignedIn:
        """Start delivering; with `since` ({conversation_id: last seq}), what was missed
        comes first (and `synced` reports it), before any new message of those chats."""
        principal = socket.principal
        assert principal is not None
        sync = SyncCommand.model_validate({"since": since}) if since else None
        if sync is not None:
            socket.hold([str(k) for k in sync.since])
        await self.live.open(socket, principal)
        await phone_events.store_pending_device_info(self, socket)
        await self._remember(socket)  # before `authenticated`: a client told so can come back
        greeting = self._greeting(socket)
        socket.emit("authenticated", greeting)
        if sync is not None:
            socket.emit("synced", await self.commands.sync(socket, {"since": sync.since}))
        return greeting

    async def signed_out(self, socket: SocketIOConnection) -> None:
        await self.live.close(socket)

    async def renew(self, socket: SocketIOConnection, token: str) -> Principal:
        principal = await self.live.renew(socket, token)
        if self.recovery is not None:
            await self.recovery.changed(socket)  # resumable until the new token expires
        return principal

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
        viewers: RoomUsers = {"room_id": result["room_id"], "users": result["users"]}
        socket.emit("room_users", viewers)
        if self.recovery is not None:
            await self.recovery.changed(socket)
        return result

    async def leave(self, socket: SocketIOConnection, data: dict[str, Any], ack: bool) -> Any:
        result = await self.commands.leave_room(socket, data)
        if self.recovery is not None:
            await self.recovery.changed(socket)
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
BINARY_EVENTS = SEND_EVENTS | {"upload"}

EVENTS: dict[str, Handler] = {
    "authenticate": ChatNamespace.authenticate,
    "join": ChatNamespace.join,
    "join_room": ChatNamespace.join,
    "leave": ChatNamespace.leave,
    "leave_room": ChatNamespace.leave,
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
    "upload": _command(Commands.upload),
    "mute_conversation": _command(Commands.mute_conversation),
    "unmute_conversation": _command(Commands.unmute_conversation),
    "mute_member": _command(Commands.mute_member),
    "unmute_member": _command(Commands.unmute_member),
    "ban_member": _command(Commands.ban_member),
    "unban_member": _command(Commands.unban_member),
    "list_mutes": _command(Commands.list_mutes),
    "list_bans": _command(Commands.list_bans),
    "report_message": _command(Commands.report_message),
    "list_reports": _command(Commands.list_reports),
    "resolve_report": _command(Commands.resolve_report),
    "set_push_token": _command(Commands.set_push_token),
    "clear_push_token": _command(Commands.clear_push_token),
}
