"""How each event looks on the wire, per protocol dialect, from the seeds' modules here.

Encoded once per broadcast. Socket.IO: `42["<event name>",{...}]`, named as the WebSocket
Chat Server (`websocket_chat_server`) and GOSOCKET (`gosocket`) seeds name them, Parley's own
names (`parley`) for the rest. Plain WebSocket, `envelope` (default): `{"type": <frame type>,
"data": {...}}`, the same names but the customer-service seed's `new_message`; `flat`
(`gochat`): new messages as the bare message object; `upper` (`realtime_chat_app`): frame
types in upper case and messages in that seed's structure; `cs` (`cs_chat`, at `/api/ws`):
the customer-service seed's names and fields beside Parley's.
"""

from __future__ import annotations

from typing import Any

import orjson

from parley.domain.events import POSITION, Event
from parley.realtime.dialects import (
    cs_chat,
    gochat,
    gosocket,
    parley,
    realtime_chat_app,
    websocket_chat_server,
)

WS_ENVELOPE = "ws"
FLAT = gochat.FLAT
UPPER = realtime_chat_app.UPPER
CS = cs_chat.CS
WS_DIALECTS = {"envelope": WS_ENVELOPE, "flat": FLAT, "upper": UPPER, "cs": CS}
"""The plain-WebSocket dialects by the names settings and `?dialect=` use."""

SIO_EVENT_NAMES = {
    **parley.EVENT_NAMES,
    **websocket_chat_server.EVENT_NAMES,
    **gosocket.EVENT_NAMES,
}
WS_FRAME_TYPES = {**SIO_EVENT_NAMES, "message.created": "new_message"}


def dump(value: Any) -> str:
    return orjson.dumps(value).decode()


def encode_sio_event(event: Event, namespace: str, offsets: bool = True) -> str | None:
    """The Engine.IO packet for a Socket.IO event: `42["message",{...}]` on `/`. A message
    logged for recovery carries its position as a last argument, the offset socket.io
    clients resume from: `42["message",{...},"1733051234567-0"]`."""
    if event.name == "presence.changed":
        name = str(event.data["type"])
    else:
        name = SIO_EVENT_NAMES.get(event.name, "")
        if not name:
            return None
    head = "42" if namespace == "/" else f"42{namespace},"
    position = event.extra.get(POSITION) if offsets else None
    if isinstance(position, str):
        return head + dump([name, event.data, position])
    return head + dump([name, event.data])


def encode_ws_event(event: Event, dialect: str) -> str | None:
    if event.name == "presence.changed":
        frame_type = str(event.data["type"])  # user_online / user_offline
    else:
        frame_type = WS_FRAME_TYPES.get(event.name, "")
        if not frame_type:
            return None
    if dialect == FLAT and event.name == "message.created":
        return gochat.encode_message(event.data)
    if dialect == UPPER:
        return realtime_chat_app.encode(event, frame_type)
    if dialect == CS:
        seed = cs_chat.encode(event, frame_type)
        if seed is not None:
            return seed
    return dump({"type": frame_type, "data": event.data})
