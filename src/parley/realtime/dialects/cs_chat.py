"""The customer-service chat seed's (002) plain-WebSocket shapes, at `/api/ws`.

Its frames are `{type, data}` like Parley's envelope, with the seed's names and camelCase
fields: `new_message {id, chatId, senderId, content, timestamp, sender {id, name, role}}`,
`user_status_change {userId, isOnline}`, `chat_status_updated {chatId, status}`. Parley's own
fields stay beside the seed's, so one encoding serves every client of the path.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson
from pydantic import BaseModel, create_model

from parley.domain.conversations.schemas import ConversationChange, MessagePublic, SenderPublic
from parley.domain.events import Event, Shape
from parley.domain.presence import PresenceChanged

CS = "ws-cs"


class NamedOnly(BaseModel):
    """The sender of a message without one (a system message): its name, if any."""

    name: str | None


class CsMessage(MessagePublic):
    """`new_message`: the message with the seed's fields beside Parley's."""

    chatId: uuid.UUID  # the seed's spelling
    senderId: uuid.UUID | None
    timestamp: datetime
    """When it was sent (`created_at`)."""
    sender: SenderPublic | NamedOnly  # type: ignore[assignment]


class CsUserStatus(PresenceChanged):
    """`user_status_change`: presence with the seed's fields beside Parley's."""

    userId: str
    isOnline: bool


CsChatStatus = create_model(
    "CsChatStatus",
    __base__=ConversationChange,
    __doc__="`chat_status_updated`: a support chat's change, with the seed's `chatId`.",
    chatId=(uuid.UUID, ...),
)

INSTEAD: dict[str, tuple[str, Shape]] = {
    "message.created": ("new_message", CsMessage),
    "presence.changed": ("user_status_change", CsUserStatus),
}
"""The frames that replace the envelope's for these events on this path."""
SUPPORT_STATUS: tuple[str, Shape] = ("chat_status_updated", CsChatStatus)
"""`conversation.updated` of a support chat (any other conversation's stays
`conversation_updated`)."""


def encode(event: Event, frame_type: str) -> str | None:
    """The frame for an event, or None when the seed's shape is Parley's own."""
    data = event.data
    if event.name == "message.created":
        return _frame(INSTEAD[event.name][0], {**data, **message_fields(data)})
    if event.name == "presence.changed":
        seed = {"userId": data["user_id"], "isOnline": data["is_online"]}
        return _frame(INSTEAD[event.name][0], {**data, **seed})
    if event.name == "conversation.updated" and data.get("kind") == "support":
        return _frame(SUPPORT_STATUS[0], {**data, "chatId": data["id"]})
    return None


def message_fields(message: dict[str, Any]) -> dict[str, Any]:
    """The seed's fields of a message (its REST shape has the same ones)."""
    sender = message.get("sender") or {}
    return {
        "chatId": message["conversation_id"],
        "senderId": message["sender_id"],
        "timestamp": message["created_at"],
        "sender": {**sender, "name": sender.get("name") or message.get("sender_username")},
    }


def _frame(frame_type: str, data: dict[str, Any]) -> str:
    return orjson.dumps({"type": frame_type, "data": data}).decode()
