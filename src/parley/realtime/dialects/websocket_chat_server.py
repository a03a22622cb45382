"""The WebSocket Chat Server seed's (001) Socket.IO event names for chat events."""

from __future__ import annotations

EVENT_NAMES = {
    "message.created": "message",
    "typing.changed": "typing",
    "viewer.joined": "user_joined",
    "viewer.left": "user_left",
}
"""Domain event → event name. Presence events are named by their `type` (`user_online` /
`user_offline`), as the seed's status updates are."""
