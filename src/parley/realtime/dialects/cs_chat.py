"""The customer-service chat seed's (002) plain-WebSocket shapes, at `/api/ws`.

Its frames are `{type, data}` like Parley's envelope, with the seed's names and camelCase
fields: `new_message {id, chatId, senderId, content, timestamp, sender {id, name, role}}`,
`user_status_change {userId, isOnline}`, `chat_status_updated {chatId, status}`. Parley's own
fields stay beside the seed's, so one encoding serves every client of the path.
"""

from __future__ import annotations

from typing import Any

import orjson

from parley.domain.events import Event

CS = "ws-cs"


def encode(event: Event, frame_type: str) -> str | None:
    """The frame for an event, or None when the seed's shape is Parley's own."""
    data = event.data
    if event.name == "message.created":
        return _frame("new_message", {**data, **message_fields(data)})
    if event.name == "presence.changed":
        seed = {"userId": data["user_id"], "isOnline": data["is_online"]}
        return _frame("user_status_change", {**data, **seed})
    if event.name == "conversation.updated" and data.get("kind") == "support":
        return _frame("chat_status_updated", {**data, "chatId": data["id"]})
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
