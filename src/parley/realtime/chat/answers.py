"""What the chat commands answer, where it is not a REST shape: the acknowledgement's data
(and, without one, the seed-style reply events and frames that carry the same).

TypedDicts, so that the dicts built for the wire are checked where they are built; the
AsyncAPI document gives their JSON Schema (asyncapi/catalog.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel
from typing_extensions import TypedDict

from parley.domain.conversations.schemas import ConversationJoined
from parley.domain.events import json_of
from parley.domain.social.schemas import BlockPublic, FriendPublic, FriendRequestPublic


class JoinAnswer(TypedDict):
    conversation_id: str
    room_id: str
    """How the room's clients name it: an open room's name, else the conversation id."""
    conversation: Annotated[dict[str, Any], json_of(ConversationJoined)]
    """The conversation but its members."""
    users: list[str]
    """Who views it now (user ids), you included."""


class LeaveAnswer(TypedDict):
    conversation_id: str
    room_id: str
    left_room: bool
    """Whether an open room's membership ended too (Socket.IO `leave`)."""


class TypingAnswer(TypedDict):
    conversation_id: str
    is_typing: bool


class UnwatchAnswer(TypedDict):
    target_user_id: str


class RejectAnswer(TypedDict):
    request_id: str
    rejected: bool


class CancelAnswer(TypedDict):
    request_id: str
    cancelled: bool


class UnfriendAnswer(TypedDict):
    user_id: str
    removed: bool


class UnblockAnswer(TypedDict):
    user_id: str
    blocked: bool


class FriendList(BaseModel):
    friends: list[FriendPublic]


class FriendRequestList(BaseModel):
    requests: list[FriendRequestPublic]


class BlockList(BaseModel):
    blocks: list[BlockPublic]


# -- catching up ------------------------------------------------------------------------------


class Refusal(TypedDict):
    code: str
    message: str


class CaughtUp(TypedDict):
    """How a conversation's catch-up went."""

    delivered: int
    """Messages sent, in order, before any new one."""
    has_more: bool
    """More were missed than one catch-up sends: fetch them with `GET
    /api/v1/conversations/{id}/messages?after_seq=`."""
    last_seq: int


class CatchUpRefused(TypedDict):
    """A conversation that could not be caught up (gone, or not yours)."""

    error: Refusal


class Synced(TypedDict):
    """`synced`, and the answer to `sync`: the catch-up's report per conversation id."""

    conversations: dict[str, CaughtUp | CatchUpRefused]
