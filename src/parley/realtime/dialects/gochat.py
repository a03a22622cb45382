"""The GoChat seed's (004) plain-WebSocket shape: new messages as the bare message object.

Chosen by `?dialect=flat`, or by a connection that sends the seed's bare
`{conversation_id, content}` frame (`transports.websocket`).
"""

from __future__ import annotations

from typing import Any

import orjson

FLAT = "ws-flat"


def encode_message(data: dict[str, Any]) -> str:
    return orjson.dumps(data).decode()
