"""Chat over plain WebSocket at `/ws` and `/api/ws`: the session and its frame handlers.

Frame types are the Realtime Chat App seed's (`send_message`, `join_room`, …, any case), with
the CS chat seed's `join_chat` and the GoChat seed's bare `{conversation_id, content}` send as
synonyms; a frame without an `id` gets the seed's own reply frames. Framing, sign-in and
errors are `transports.websocket`'s.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any

from starlette.websockets import WebSocket
from typing_extensions import TypedDict

from parley.domain.accounts.principal import Principal
from parley.domain.conversations.schemas import ConversationJoined
from parley.domain.events import json_of
from parley.realtime.chat.commands import Commands
from parley.realtime.chat.live import LiveService
from parley.realtime.connection import Connection
from parley.realtime.transports.websocket import Handler, Reply, WebSocketSession, ping, renew
from parley.wirejson import JsonPolicy


class ChatWebSocketSession(WebSocketSession):
    """A `/ws` connection: conversations, presence and catch-up."""

    def __init__(
        self,
        websocket: WebSocket,
        live: LiveService,
        *,
        outbox_limit: int,
        outbox_limit_bytes: int,
        auth_timeout_secs: float,
        max_frame_bytes: int,
        json_policy: JsonPolicy,
        default_dialect: str,
    ) -> None:
        super().__init__(
            websocket,
            live,
            outbox_limit=outbox_limit,
            outbox_limit_bytes=outbox_limit_bytes,
            auth_timeout_secs=auth_timeout_secs,
            max_frame_bytes=max_frame_bytes,
            json_policy=json_policy,
            default_dialect=default_dialect,
        )
        self.live = live
        self.commands = Commands(live)
        if not live.sends_may_overlap:
            self._overlapping = frozenset()

    async def opened(self, principal: Principal, since: dict[str, int]) -> None:
        connection = self.connection
        connection.hold(list(since))  # missed messages first, then new ones
        await self.live.open(connection, principal)
        self.authenticated(principal)
        if since:
            report = await self.commands.sync(connection, {"since": since})
            self.send_frame("synced", report)

    async def closed(self) -> None:
        await self.live.close(self.connection)


# -- handlers: (session, data, wants_seed_replies) -> (ack data, seed-style replies) --------


class JoinSuccess(TypedDict):
    """`join_success`, a join's answer to a frame without an `id`."""

    conversation_id: str
    room_id: str
    conversation: Annotated[dict[str, Any], json_of(ConversationJoined)]


class Viewers(TypedDict):
    """`users`, after `join_success`: who views the conversation now (user ids)."""

    conversation_id: str
    room_id: str
    users: list[str]


async def _send(
    session: ChatWebSocketSession, data: dict[str, Any], seed: bool
) -> tuple[Any, Reply]:
    return await session.commands.send(session.connection, data, echo=seed), []


async def _join(
    session: ChatWebSocketSession, data: dict[str, Any], seed: bool
) -> tuple[Any, Reply]:
    result = await session.commands.join(session.connection, data)
    conversation_id, room_id = result["conversation_id"], result["room_id"]
    success: JoinSuccess = {
        "conversation_id": conversation_id,
        "room_id": room_id,
        "conversation": result["conversation"],
    }
    viewers: Viewers = {
        "conversation_id": conversation_id,
        "room_id": room_id,
        "users": result["users"],
    }
    return result, [("join_success", success), ("users", viewers)]


async def _leave(
    session: ChatWebSocketSession, data: dict[str, Any], seed: bool
) -> tuple[Any, Reply]:
    result = await session.commands.leave(session.connection, data)
    return result, [("leave_success", result)]


async def _watch(
    session: ChatWebSocketSession, data: dict[str, Any], seed: bool
) -> tuple[Any, Reply]:
    status = await session.commands.watch(session.connection, data)
    return status, [(str(status["type"]), status)]


def _plain(
    run: Callable[[Commands, Connection, dict[str, Any]], Awaitable[Mapping[str, Any]]],
) -> Handler:
    """A command whose only answer is its ack."""

    async def handler(
        session: ChatWebSocketSession, data: dict[str, Any], seed: bool
    ) -> tuple[Any, Reply]:
        return await run(session.commands, session.connection, data), []

    return handler


HANDLERS: dict[str, Handler] = {
    "send_message": _send,
    "message": _send,
    "send": _send,
    "join_room": _join,
    "join_chat": _join,
    "join": _join,
    "leave_room": _leave,
    "leave_chat": _leave,
    "leave": _leave,
    "typing": _plain(Commands.typing),
    "read_receipt": _plain(Commands.read),
    "read": _plain(Commands.read),
    "mark_read": _plain(Commands.read),
    "edit_message": _plain(Commands.edit),
    "delete_message": _plain(Commands.delete),
    "subscribe_status": _watch,
    "unsubscribe_status": _plain(Commands.unwatch),
    "sync": _plain(Commands.sync),
    "friend_request": _plain(Commands.friend_request),
    "accept_friend_request": _plain(Commands.accept_friend_request),
    "reject_friend_request": _plain(Commands.reject_friend_request),
    "cancel_friend_request": _plain(Commands.cancel_friend_request),
    "remove_friend": _plain(Commands.remove_friend),
    "list_friends": _plain(Commands.list_friends),
    "list_friend_requests": _plain(Commands.list_friend_requests),
    "block_user": _plain(Commands.block_user),
    "unblock_user": _plain(Commands.unblock_user),
    "list_blocks": _plain(Commands.list_blocks),
    "react": _plain(Commands.react),
    "add_reaction": _plain(Commands.react),
    "unreact": _plain(Commands.unreact),
    "remove_reaction": _plain(Commands.unreact),
    "search_messages": _plain(Commands.search_messages),
    "mute_conversation": _plain(Commands.mute_conversation),
    "unmute_conversation": _plain(Commands.unmute_conversation),
    "mute_member": _plain(Commands.mute_member),
    "unmute_member": _plain(Commands.unmute_member),
    "ban_member": _plain(Commands.ban_member),
    "unban_member": _plain(Commands.unban_member),
    "list_mutes": _plain(Commands.list_mutes),
    "list_bans": _plain(Commands.list_bans),
    "report_message": _plain(Commands.report_message),
    "list_reports": _plain(Commands.list_reports),
    "resolve_report": _plain(Commands.resolve_report),
    "set_push_token": _plain(Commands.set_push_token),
    "clear_push_token": _plain(Commands.clear_push_token),
    "ping": ping,
    "heartbeat": ping,
    "auth": renew,
    "authenticate": renew,
}

ChatWebSocketSession.handlers = HANDLERS
ChatWebSocketSession.overlapping_kinds = frozenset(k for k, run in HANDLERS.items() if run is _send)
