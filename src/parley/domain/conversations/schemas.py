"""Conversations and messages as every transport sees them.

Commands accept the field names of all five seed systems (`room_id`, `conversation_id`,
`chat_room_id`, `chatId`; `type` or `messageType`), so their clients work unchanged; unknown
fields are ignored rather than refused for the same reason.
"""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    field_validator,
    model_validator,
)
from typing_extensions import TypedDict

from parley.domain.accounts.schemas import Lenient
from parley.domain.events import without
from parley.domain.uploads.schemas import AttachmentPublic, AttachmentRef


class ConversationKind(StrEnum):
    DIRECT = "direct"
    GROUP = "group"
    ROOM = "room"
    SUPPORT = "support"


class ConversationStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"
    ARCHIVED = "archived"


class MemberRole(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


class MessageType(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    FILE = "file"
    SYSTEM = "system"
    CUSTOM = "custom"


ConversationRef = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)
]
"""A conversation id, or an open room's name."""

CONVERSATION_REF = AliasChoices(
    "conversation_id", "room_id", "chat_room_id", "chatId", "chat_id", "room"
)
RoomName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Topic = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
MAX_ATTACHMENTS = 10


class ConversationCreate(Lenient):
    """GoChat's `{participant_id}` (direct) and `{name, participant_ids}` (group), the CS
    chat's `{customerId, agentId}` (support), or any of them with an explicit `kind`."""

    kind: ConversationKind | None = Field(None, validation_alias=AliasChoices("kind", "type"))
    participant_id: uuid.UUID | None = None
    participant_ids: list[uuid.UUID] = Field(default_factory=list, max_length=500)
    name: RoomName | None = None
    customer_id: uuid.UUID | None = Field(
        None, validation_alias=AliasChoices("customer_id", "customerId")
    )
    agent_id: uuid.UUID | None = Field(None, validation_alias=AliasChoices("agent_id", "agentId"))
    topic: Topic | None = None
    """Rooms: what the room is about."""
    private: StrictBool = Field(False, validation_alias=AliasChoices("private", "is_private"))
    """Rooms: unlisted, joined by invitation only."""

    def resolved_kind(self) -> ConversationKind:
        if self.kind is not None:
            return self.kind
        if self.customer_id is not None or self.agent_id is not None:
            return ConversationKind.SUPPORT
        if self.participant_id is not None:
            return ConversationKind.DIRECT
        return ConversationKind.GROUP


class ConversationUpdate(Lenient):
    name: RoomName | None = None
    status: ConversationStatus | None = None
    topic: Topic | None = None
    """Rooms only; an empty string clears it."""
    private: StrictBool | None = Field(None, validation_alias=AliasChoices("private", "is_private"))
    """Rooms only."""


class MemberAdd(Lenient):
    user_id: uuid.UUID = Field(validation_alias=AliasChoices("user_id", "userId", "id"))
    role: MemberRole = MemberRole.MEMBER


class MessageSend(Lenient):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"conversation_id": "room-lobby", "content": "Hello!", "client_msg_id": "c-1"}
            ]
        }
    )

    conversation: ConversationRef = Field(validation_alias=CONVERSATION_REF)
    content: str = ""
    type: MessageType = Field(
        MessageType.TEXT, validation_alias=AliasChoices("type", "messageType", "message_type")
    )
    title: Annotated[str, StringConstraints(max_length=200)] | None = None
    payload: dict[str, Any] | None = None
    attachment_urls: list[Annotated[str, StringConstraints(max_length=2048)]] = Field(
        default_factory=list, max_length=MAX_ATTACHMENTS
    )
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    """Uploads of the sender's (`POST /api/v1/uploads`) that no message carries yet."""
    reply_to: uuid.UUID | None = None
    client_msg_id: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        None, validation_alias=AliasChoices("client_msg_id", "clientMsgId")
    )
    mime_type: Annotated[str, StringConstraints(max_length=255)] | None = Field(
        None, validation_alias=AliasChoices("mime_type", "mimeType"), exclude=True
    )
    """The Realtime Chat App seed's `mime_type`: kept in the payload, and its message type."""

    @field_validator("type", mode="before")
    @classmethod
    def _mime_type_means_text(cls, value: Any) -> Any:
        # The Realtime Chat App seed sends a MIME type ("text/plain") where others send "text".
        if isinstance(value, str) and "/" in value:
            return _type_of_mime(value)
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _keep_mime_type(self) -> Self:
        if self.mime_type is not None:
            if "type" not in self.model_fields_set:
                self.type = MessageType(_type_of_mime(self.mime_type))
            self.payload = {**(self.payload or {}), "mime_type": self.mime_type}
        return self


def _type_of_mime(mime_type: str) -> str:
    return {"image": "image", "text": "text"}.get(mime_type.split("/")[0].lower(), "file")


class BroadcastSend(MessageSend):
    """The WebSocket Chat Server seed's `POST /messages` body: a message from the server (or
    from whoever the trusted caller names) to everyone in a conversation or open room."""

    user_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    username: Annotated[str, StringConstraints(max_length=100)] | None = None


class MessageEdit(Lenient):
    content: str


class ReadMark(Lenient):
    """Up to which message the reader has read; omitted = everything so far."""

    seq: int | None = Field(None, ge=0, validation_alias=AliasChoices("seq", "last_read_seq"))
    message_id: uuid.UUID | None = Field(
        None, validation_alias=AliasChoices("message_id", "messageId")
    )


class SenderPublic(BaseModel):
    id: uuid.UUID
    username: str | None
    name: str
    role: str


class ReactionCount(BaseModel):
    emoji: str
    count: int
    mine: bool = False
    """Whether the reader added it (in events, which go to everyone: false)."""


def _valid_emoji(value: str) -> str:
    if not value or len(value) > MAX_EMOJI_CHARS or len(value.encode()) > MAX_EMOJI_BYTES:
        raise ValueError(
            f"a reaction is 1 to {MAX_EMOJI_CHARS} characters ({MAX_EMOJI_BYTES} bytes)"
        )
    if any(c.isspace() or unicodedata.category(c) in ("Cc", "Cs") for c in value):
        raise ValueError("a reaction holds no spaces or control characters")
    return value


MAX_EMOJI_CHARS = 16
MAX_EMOJI_BYTES = 32
Emoji = Annotated[str, AfterValidator(_valid_emoji)]


class ReactionCommand(Lenient):
    message_id: uuid.UUID = Field(validation_alias=AliasChoices("message_id", "messageId", "id"))
    emoji: Emoji = Field(validation_alias=AliasChoices("emoji", "reaction"))


class ReactionChange(BaseModel):
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    emoji: str
    user_id: uuid.UUID
    count: int
    """How many have that emoji on the message now."""
    mine: bool
    """For the one who changed it: whether they have it now."""


ReactionEvent = without(ReactionChange, "ReactionEvent", "mine")
"""`reaction.added` / `reaction.removed`, which go to everyone: the change less `mine`."""


class MessagePublic(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    sender_id: uuid.UUID | None
    sender_username: str | None
    sender: SenderPublic | None
    type: MessageType
    content: str
    title: str | None
    payload: dict[str, Any] | None
    attachment_urls: list[str]
    attachments: list[AttachmentPublic] = Field(default_factory=list)
    """The uploads it carries (none once it is deleted)."""
    reply_to: uuid.UUID | None
    client_msg_id: str | None
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None
    sent_at: int
    """Milliseconds since the epoch (the GoChat seed's field)."""
    room_id: str
    """How the WebSocket Chat Server seed's clients name the conversation: an open room's
    name, any other conversation's id."""
    reactions: list[ReactionCount] = Field(default_factory=list)


class MessagePage(BaseModel):
    messages: list[MessagePublic]
    next_cursor: str | None
    has_more: bool


class MemberPublic(BaseModel):
    user_id: uuid.UUID
    username: str | None
    name: str
    role: MemberRole
    last_read_seq: int
    joined_at: datetime


class ConversationPublic(BaseModel):
    id: uuid.UUID
    kind: ConversationKind
    type: ConversationKind
    name: str | None
    owner_id: uuid.UUID | None
    customer_id: uuid.UUID | None
    agent_id: uuid.UUID | None
    status: ConversationStatus
    topic: str | None = None
    private: bool = False
    last_seq: int
    last_message_at: datetime | None
    last_message: MessagePublic | None = None
    unread_count: int = 0
    muted: bool = False
    """Whether you muted it (no pushes for it to your devices)."""
    muted_until: datetime | None = None
    """When your mute ends; null with `muted` true: until you unmute."""
    members: list[MemberPublic] = Field(default_factory=list)
    member_count: int | None = None
    """In the room directory: how many members the room has."""
    created_at: datetime
    updated_at: datetime


ConversationChange = without(ConversationPublic, "ConversationChange", "members", "last_message")
"""`conversation.updated`: the conversation less its members and its last message."""
ConversationJoined = without(ConversationPublic, "ConversationJoined", "members")
"""The conversation a join answers with: all but its members (an open room may have many)."""


class MemberAdded(TypedDict):
    """`member.added`, to the new member's own connections."""

    conversation_id: str
    user_id: str
    kind: ConversationKind
    name: str | None


class MemberRemoved(TypedDict):
    """`member.removed`: a member left, or was removed or banned."""

    conversation_id: str
    user_id: str


class ConversationDeleted(TypedDict):
    conversation_id: str


class ConversationPage(BaseModel):
    conversations: list[ConversationPublic]
    next_cursor: str | None = None
    """Pass it back as `cursor` for the next page; null on the last one."""
    has_more: bool = False


class RoomPage(BaseModel):
    rooms: list[ConversationPublic]
    next_cursor: str | None
    has_more: bool


class ReadReceipt(BaseModel):
    conversation_id: uuid.UUID
    user_id: uuid.UUID
    username: str | None
    last_read_seq: int
    message_id: uuid.UUID | None
    read_at: datetime
