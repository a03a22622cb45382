"""How each event looks on the wire, per protocol dialect. Encoded once per broadcast.

Plain WebSocket, `envelope` (default): `{"type": <frame type>, "data": {...}}` with the Realtime
Chat App seed's names. `flat` (the GoChat seed, chosen by `?dialect=flat` or by sending a bare
`{conversation_id, content}` frame): new messages arrive as the bare message object.
"""

from __future__ import annotations

from typing import Any

import orjson

from parley.domain.events import Event

WS_ENVELOPE = "ws"
FLAT = "ws-flat"

SIO_EVENT_NAMES = {
    "message.created": "message",
    "message.updated": "message_updated",
    "message.deleted": "message_deleted",
    "read.updated": "read_receipt",
    "typing.changed": "typing",
    "viewer.joined": "user_joined",
    "viewer.left": "user_left",
    "conversation.updated": "conversation_updated",
    "conversation.deleted": "conversation_deleted",
    "member.added": "conversation_joined",
    "member.removed": "member_removed",
    "game.state": "room_state",
    "game.action": "player_action",
    "game.player_joined": "player_joined",
    "game.player_left": "player_left",
    "game.player_disconnected": "player_disconnected",
    "game.player_reconnected": "player_reconnected",
    "game.over": "game_over",
}

# The same names on plain WebSocket, but for new messages (the Realtime Chat App seed's).
WS_FRAME_TYPES = {**SIO_EVENT_NAMES, "message.created": "new_message"}


def dump(value: Any) -> str:
    return orjson.dumps(value).decode()


def encode_sio_event(event: Event, namespace: str) -> str | None:
    """The Engine.IO packet for a Socket.IO event: `42["message",{...}]` on `/`."""
    if event.name == "presence.changed":
        name = str(event.data["type"])
    else:
        name = SIO_EVENT_NAMES.get(event.name, "")
        if not name:
            return None
    head = "42" if namespace == "/" else f"42{namespace},"
    return head + dump([name, event.data])


def encode_ws_event(event: Event, dialect: str) -> str | None:
    if event.name == "presence.changed":
        frame_type = str(event.data["type"])  # user_online / user_offline
    else:
        frame_type = WS_FRAME_TYPES.get(event.name, "")
        if not frame_type:
            return None
    if dialect == FLAT and frame_type == "new_message":
        return dump(event.data)
    return dump({"type": frame_type, "data": event.data})
