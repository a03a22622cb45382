"""The WebSocket Chat Server seed's (001) Socket.IO event names for chat events."""

from __future__ import annotations

from parley.domain.conversations.schemas import MessagePublic
from parley.domain.events import Shape
from parley.domain.presence import PresenceChanged, TypingChanged, ViewerChanged

EVENTS: dict[str, tuple[str, Shape]] = {
    "message.created": ("message", MessagePublic),
    "typing.changed": ("typing", TypingChanged),
    "viewer.joined": ("user_joined", ViewerChanged),
    "viewer.left": ("user_left", ViewerChanged),
}
"""Domain event → (event name, the shape of its data)."""
EVENT_NAMES = {domain: name for domain, (name, _) in EVENTS.items()}

PRESENCE: dict[str, Shape] = {"user_online": PresenceChanged, "user_offline": PresenceChanged}
"""`presence.changed` is named by its `type` (`user_online` / `user_offline`), as the seed's
status updates are."""
