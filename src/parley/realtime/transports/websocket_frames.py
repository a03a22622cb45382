"""The frames a plain-WebSocket session sends of its own, beside events and acknowledgements
(`{type: "ack", id, data}`, whose data is the command's answer)."""

from __future__ import annotations

from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict


class ErrorFrame(TypedDict):
    """A refused frame (or the reason the connection ends): the fields at the top."""

    type: Literal["error"]
    code: str
    """Stable: what a client branches on (README, Errors)."""
    message: str
    id: NotRequired[str | int]
    """The refused frame's `id`, when it had one."""
    details: NotRequired[dict[str, Any]]
    """More about it: `{fields: [{field, message}]}` for a `validation_error`, …"""


class WsSignedIn(TypedDict):
    """`authenticated`: signed in."""

    user_id: str
    username: str | None
    connection_id: str
    rooms: NotRequired[list[str]]
    """`/ws/gameplay`: the rooms the player is seated in (each has had its `room_state`)."""


class Pong(TypedDict):
    """The acknowledgement of `ping` and `heartbeat` (without an `id`: a `pong` frame
    echoing the frame's data)."""

    pong: Literal[True]
