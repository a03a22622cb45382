"""What the server sends on each channel: the domain events as each dialect names and frames
them (realtime/dialects), each with the shape of its data."""

from __future__ import annotations

from typing import Any, NamedTuple

from parley.realtime.dialects import (
    WS_FRAME_TYPES,
    cs_chat,
    gochat,
    gosocket,
    realtime_chat_app,
    websocket_chat_server,
)
from parley.realtime.dialects import parley as parley_names


class Event(NamedTuple):
    domain: str
    name: str
    shape: Any


class Frame(NamedTuple):
    """A server message: its name, its data's shape, and whether that data goes in the
    `{type, data}` envelope (else the shape is the whole frame)."""

    name: str
    shape: Any
    summary: str
    enveloped: bool = True


CHAT_EVENTS = [
    *(
        Event(domain, name, shape)
        for table in (parley_names.EVENTS, websocket_chat_server.EVENTS)
        for domain, (name, shape) in table.items()
    ),
    *(Event("presence.changed", n, s) for n, s in websocket_chat_server.PRESENCE.items()),
]
"""The chat events on Socket.IO `/`, as the dialects name them."""
GAME_EVENTS = [Event(domain, name, shape) for domain, (name, shape) in gosocket.EVENTS.items()]

WS_CHANNELS = {
    "ws": (
        "envelope",
        "/ws",
        "Plain WebSocket chat: JSON frames `{type, id?, "
        "data}` (a frame without `data` carries its fields at the top), the types in any "
        "case. The default dialect, `envelope` (`WS_DIALECT`, `?dialect=envelope`): every "
        "server frame is `{type, data}`, new messages are `new_message`.",
    ),
    "ws_flat": (
        "flat",
        "/ws",
        "`/ws` in the GoChat seed's `flat` dialect, chosen by `?dialect=flat` (or "
        "`WS_DIALECT=flat`) or by sending a bare `{conversation_id, content}` frame: new "
        "messages come as the bare message object; everything else as in `envelope`.",
    ),
    "ws_upper": (
        "upper",
        "/ws",
        "`/ws` in the Realtime Chat App seed's `upper` dialect, chosen by sending a frame type "
        "in upper case (`SEND_MESSAGE`), by `?dialect=upper` or `WS_DIALECT=upper`: every "
        "server frame type is upper case (`ack` and `error` keep theirs), new messages come "
        "in the seed's own `NEW_MESSAGE` frame.",
    ),
    "ws_cs": (
        "cs",
        "/api/ws",
        "The customer-service seed's path (also `/ws?dialect=cs`): the `envelope` frames, "
        "with the seed's names and camelCase fields beside Parley's for new messages, "
        "presence and a support chat's status.",
    ),
}
"""Channel → (the dialect's name in `WS_DIALECTS`, address, description)."""


def check_events(events: list[Event]) -> None:
    shapeless = sorted(event.domain for event in events if event.shape is None)
    if shapeless:
        raise LookupError(f"events without a shape in realtime/dialects: {shapeless}")


def ws_chat_frames(dialect: str) -> list[Frame]:
    """The domain events on `/ws` in a dialect, as `dialects.encode_ws_event` frames them."""
    frames: list[Frame] = []
    for domain, name, shape in CHAT_EVENTS:
        name = WS_FRAME_TYPES.get(domain, name)
        summary = f"The domain event `{domain}`."
        if dialect == "flat" and domain in gochat.BARE:
            summary += " The bare message object, not an envelope (its `type` is the message's)."
            frames.append(Frame(name, gochat.BARE[domain], summary, enveloped=False))
        elif dialect == "upper":
            whole = realtime_chat_app.WHOLE_FRAMES.get(domain)
            frames.append(Frame(name.upper(), whole or shape, summary, enveloped=whole is None))
        elif dialect == "cs" and domain in cs_chat.INSTEAD:
            seed_name, seed_shape = cs_chat.INSTEAD[domain]
            if all(frame.name != seed_name for frame in frames):
                frames.append(Frame(seed_name, seed_shape, summary))
        else:
            frames.append(Frame(name, shape, summary))
        if dialect == "cs" and domain == "conversation.updated":
            seed_name, seed_shape = cs_chat.SUPPORT_STATUS
            summary = f"The domain event `{domain}` of a support chat."
            frames.append(Frame(seed_name, seed_shape, summary))
    return frames
