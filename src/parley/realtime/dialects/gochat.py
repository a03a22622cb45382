"""The GoChat seed's (004) plain-WebSocket shape: new messages as the bare message object.

Chosen by `?dialect=flat`, or by a connection that sends the seed's bare
`{conversation_id, content}` frame (`transports.websocket`).
"""

from __future__ import annotations

from typing import Any

import orjson

from parley.domain.conversations.schemas import MessagePublic
from parley.domain.events import Shape

FLAT = "ws-flat"

BARE: dict[str, Shape] = {"message.created": MessagePublic}
"""Events sent as their data alone, with no envelope (every other one keeps it)."""


def encode_message(data: dict[str, Any]) -> str:
    return orjson.dumps(data).decode()
