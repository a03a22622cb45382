"""What the sessions themselves send, beside domain events and acknowledgements: the sign-in's
answer, refusals, and the seeds' reply events and frames, each with the shape the code builds.

A note is (shape, summary). The reply events of the game commands come from `GAME_COMMANDS`
(which names them) and the catalog (which gives their shapes).
"""

from __future__ import annotations

from typing import Any

from parley.asyncapi.catalog import GAMEPLAY
from parley.realtime.chat.answers import LeaveAnswer, Synced
from parley.realtime.chat.namespace import RoomUsers, SignedIn
from parley.realtime.chat.phone_events import (
    Connected,
    DeviceInfoAnswer,
    HeartbeatAnswer,
    LoginAnswer,
    SetProfileAnswer,
    VerifyOtpAnswer,
)
from parley.realtime.chat.websocket import JoinSuccess, Viewers
from parley.realtime.gameplay.live import GAME_COMMANDS
from parley.realtime.gameplay.namespace import Alive, GameGreeting
from parley.realtime.signin import Renewal
from parley.realtime.transports.socketio import SocketError
from parley.realtime.transports.websocket_frames import ErrorFrame, WsSignedIn

Note = tuple[Any, str]

ANSWER = "The answer to a command sent without an acknowledgement (or an `id`)."
GAME_REPLIES: dict[str, Note] = {
    reply: (GAMEPLAY[name].reply, ANSWER)
    for name, (_, reply) in sorted(GAME_COMMANDS.items())
    if reply is not None
}

SIO_ERROR: Note = (
    SocketError,
    "A refused event without an acknowledgement, or why the connection ends "
    "(`session_revoked`, `token_expired`, `auth_timeout`, …).",
)

SIO_CHAT: dict[str, Note] = {
    "authenticated": (
        SignedIn | Renewal,
        "Signed in (with `recovered` when a dropped connection came back); after a renewal "
        "sent without an acknowledgement, the renewal.",
    ),
    "error": SIO_ERROR,
    "room_users": (RoomUsers, "Who views a conversation, sent to a joiner."),
    "synced": (Synced, "The catch-up's report (`since` at sign-in, or a recovered session)."),
    "connected": (Connected, "Phone sign-in: the greeting on arrival, before `login`."),
    "heartbeat": (HeartbeatAnswer, ANSWER),
    "login": (LoginAnswer, ANSWER),
    "verify_otp": (VerifyOtpAnswer, ANSWER),
    "set_profile": (SetProfileAnswer, ANSWER),
    "device_info": (DeviceInfoAnswer, ANSWER),
}
"""Socket.IO `/`."""

SIO_GAMEPLAY: dict[str, Note] = {
    "authenticated": (
        GameGreeting | Renewal,
        "Signed in; after a renewal sent without an acknowledgement, the renewal.",
    ),
    "error": SIO_ERROR,
    "heartbeat": (Alive, ANSWER),
    **GAME_REPLIES,
}
"""Socket.IO `/gameplay`."""

WS_ERROR: Note = (
    ErrorFrame,
    "A refused frame (with its `id`, when it had one; a malformed frame: `bad_frame`), or "
    "why the connection ends (then closed with 4401, or 4408 for `auth_timeout`).",
)
WS_PONG: Note = (dict[str, Any], "The answer to `ping` or `heartbeat` without an `id`: its data.")
WS_AUTHENTICATED: Note = (
    WsSignedIn | Renewal,
    "Signed in; the answer to a renewal (`auth`) without an `id`.",
)

WS_CHAT: dict[str, Note] = {
    "authenticated": WS_AUTHENTICATED,
    "synced": (Synced, "The catch-up's report, after an `auth` frame with `since`."),
    "pong": WS_PONG,
    "join_success": (JoinSuccess, "A join's answer to a frame without an `id`."),
    "users": (Viewers, "After `join_success`: who views the conversation now."),
    "leave_success": (LeaveAnswer, "A leave's answer to a frame without an `id`."),
}
"""`/ws` and `/api/ws`, in the `{type, data}` envelope (types upper case in `upper`); `error`
(`WS_ERROR`) carries its fields at the top."""

WS_GAMEPLAY: dict[str, Note] = {
    "authenticated": WS_AUTHENTICATED,
    "pong": WS_PONG,
    **GAME_REPLIES,
}
"""`/ws/gameplay`, in the envelope."""
