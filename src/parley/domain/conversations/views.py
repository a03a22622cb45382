"""Rows to public shapes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from parley.db.models import Conversation, ConversationMember, User
from parley.db.types import utcnow
from parley.domain.accounts.principal import Principal
from parley.domain.conversations.access import ConversationLike
from parley.domain.conversations.schemas import (
    ConversationKind,
    ConversationPublic,
    MemberPublic,
    MemberRole,
    MessagePublic,
    SenderPublic,
)
from parley.domain.uploads.schemas import AttachmentPublic


def sender_of(user: User | None) -> SenderPublic | None:
    if user is None:
        return None
    return SenderPublic(id=user.id, username=user.username, name=user.name, role=user.role)


def sender_from_principal(principal: Principal) -> SenderPublic:
    return SenderPublic(
        id=principal.user_id,
        username=principal.username,
        name=principal.name,
        role=principal.role.value,
    )


def room_of(conversation: ConversationLike) -> str | None:
    """An open room's name, by which its clients know it (None for other conversations)."""
    if conversation.kind == ConversationKind.ROOM and conversation.name:
        return str(conversation.name)
    return None


class MessageLike(Protocol):
    """What `message_public` reads: an ORM row, or a `NewMessage` just stored."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def conversation_id(self) -> uuid.UUID: ...
    @property
    def seq(self) -> int: ...
    @property
    def sender_id(self) -> uuid.UUID | None: ...
    @property
    def sender_name(self) -> str | None: ...
    @property
    def type(self) -> str: ...
    @property
    def content(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def payload(self) -> dict[str, Any] | None: ...
    @property
    def attachment_urls(self) -> list[str] | None: ...
    @property
    def attachments(self) -> list[dict[str, Any]] | None: ...
    @property
    def reply_to_id(self) -> uuid.UUID | None: ...
    @property
    def client_msg_id(self) -> str | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def edited_at(self) -> datetime | None: ...
    @property
    def deleted_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message row as the send path stores it (`NewMessage(**row)`), without the cost of
    an ORM object (its instrumented constructor was ~6 % of a send's CPU)."""

    id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    sender_id: uuid.UUID | None
    sender_name: str | None
    type: str
    content: str
    title: str | None
    payload: dict[str, Any] | None
    attachment_urls: list[str] | None
    attachments: list[dict[str, Any]] | None
    reply_to_id: uuid.UUID | None
    client_msg_id: str | None
    created_at: datetime
    edited_at: datetime | None
    deleted_at: datetime | None


def message_public(
    message: MessageLike, sender: SenderPublic | None, room: str | None = None
) -> MessagePublic:
    """`room`: the open room's name (`room_of`), when the message is in one."""
    deleted = message.deleted_at is not None
    return MessagePublic(
        id=message.id,
        conversation_id=message.conversation_id,
        seq=message.seq,
        sender_id=message.sender_id,
        sender_username=sender.username if sender else message.sender_name,
        sender=sender,
        type=message.type,
        # A deleted message keeps its place in the history but not what it said.
        content="" if deleted else message.content,
        title=None if deleted else message.title,
        payload=None if deleted else message.payload,
        attachment_urls=[] if deleted else list(message.attachment_urls or []),
        attachments=[] if deleted else [AttachmentPublic(**a) for a in message.attachments or []],
        reply_to=message.reply_to_id,
        client_msg_id=message.client_msg_id,
        created_at=message.created_at,
        edited_at=message.edited_at,
        deleted_at=message.deleted_at,
        sent_at=int(message.created_at.timestamp() * 1000),
        room_id=room or str(message.conversation_id),
    )


def member_public(member: ConversationMember, user: User) -> MemberPublic:
    return MemberPublic(
        user_id=user.id,
        username=user.username,
        name=user.name,
        role=MemberRole(member.role),
        last_read_seq=member.last_read_seq,
        joined_at=member.joined_at,
    )


def conversation_public(
    conversation: Conversation,
    *,
    members: list[MemberPublic] | None = None,
    last_message: MessagePublic | None = None,
    read_seq: int | None = None,
    mine: ConversationMember | None = None,
) -> ConversationPublic:
    """`mine`: the caller's own membership, whose mute the caller sees."""
    unread = max(0, conversation.last_seq - read_seq) if read_seq is not None else 0
    muted, muted_until = mute_of(mine)
    return ConversationPublic(
        id=conversation.id,
        kind=conversation.kind,
        type=conversation.kind,
        name=conversation.name,
        owner_id=conversation.owner_id,
        customer_id=conversation.customer_id,
        agent_id=conversation.agent_id,
        status=conversation.status,
        topic=conversation.topic,
        private=bool(conversation.is_private),
        last_seq=conversation.last_seq,
        last_message_at=conversation.last_message_at,
        last_message=last_message,
        unread_count=unread,
        muted=muted,
        muted_until=muted_until,
        members=members or [],
        created_at=conversation.created_at,
        updated_at=conversation.updated_at,
    )


def mute_of(member: ConversationMember | None) -> tuple[bool, datetime | None]:
    """Whether the member has the conversation muted now, and until when (None: for good)."""
    if member is None or not member.muted:
        return False, None
    until = member.muted_until
    if until is not None and until <= utcnow():
        return False, None
    return True, until
