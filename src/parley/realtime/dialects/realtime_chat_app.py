"""The Realtime Chat App seed's (003) plain-WebSocket shapes: upper-case frame types.

A `/ws` connection that sends a frame type in upper case (`SEND_MESSAGE`, `JOIN_ROOM`, …)
gets every frame type back in upper case (`NEW_MESSAGE`, `USERS`, `JOIN_SUCCESS`,
`USER_JOINED`, `USER_LEFT`, `PONG`, …), and new messages in the seed's structure
`{type, sender_id, timestamp, data: {chat_room_id, content, mime_type, …}}` (the rest of
Parley's message fields ride along in `data`).
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

import orjson
from pydantic import BaseModel

from parley.domain.conversations.schemas import MessagePublic
from parley.domain.events import Event, Shape

UPPER = "ws-upper"


class SeedMessage(MessagePublic):
    """The message with the seed's fields beside Parley's."""

    chat_room_id: uuid.UUID
    mime_type: str
    """The `mime_type` it was sent with, else one for its type (`text/plain`, …)."""


class NewMessageFrame(BaseModel):
    """`NEW_MESSAGE`, the seed's own frame (not the `{type, data}` envelope)."""

    type: Literal["NEW_MESSAGE"]
    sender_id: uuid.UUID | None
    timestamp: int
    """Milliseconds since the epoch."""
    data: SeedMessage


WHOLE_FRAMES: dict[str, Shape] = {"message.created": NewMessageFrame}
"""Events sent as a frame of the seed's own structure; every other frame is the envelope with
its type in upper case."""

MIME_TYPES = {"text": "text/plain"}


def encode(event: Event, frame_type: str) -> str:
    if event.name == "message.created":
        return orjson.dumps(message_frame(event.data)).decode()
    return orjson.dumps({"type": frame_type.upper(), "data": event.data}).decode()


def message_frame(message: dict[str, Any]) -> dict[str, Any]:
    payload = message.get("payload") or {}
    mime_type = payload.get("mime_type") if isinstance(payload, dict) else None
    return {
        "type": "NEW_MESSAGE",
        "sender_id": message["sender_id"],
        "timestamp": message["sent_at"],
        "data": {
            **message,
            "chat_room_id": message["conversation_id"],
            "mime_type": mime_type or MIME_TYPES.get(message["type"], "application/octet-stream"),
        },
    }


def is_upper(frame_type: str) -> bool:
    """`SEND_MESSAGE`: the seed's spelling (letters, all upper case)."""
    return frame_type.isupper()
