"""Conversations, who is in them, and what they said."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from parley.db.models.base import Base
from parley.db.types import UtcDateTime, utcnow


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(16))  # direct | group | room | support
    name: Mapped[str | None] = mapped_column(String(100))
    # "<smaller user id>:<larger user id>" for direct chats, so a pair has exactly one.
    direct_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    # Open rooms are found by name; unique among rooms only (NULL for the other kinds).
    room_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="active")
    topic: Mapped[str | None] = mapped_column(String(300))
    """Rooms: what the room is about."""
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    """Rooms: not listed, and joined only by invitation (by a member's owner or admins)."""
    # The last sequence number handed out; each message takes the next one.
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_message_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ConversationMember(Base):
    __tablename__ = "conversation_members"

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16), default="member")  # owner | admin | member
    # Messages with seq ≤ last_read_seq count as read by this member.
    last_read_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    muted: Mapped[bool] = mapped_column(Boolean, default=False)
    """No pushes for this conversation to this member (until `muted_until`, if set)."""
    muted_until: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Message(Base):
    __tablename__ = "messages"

    # UUIDv7: time-ordered, so ids sort like the messages they name.
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    seq: Mapped[int] = mapped_column(BigInteger)
    sender_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )
    # Who a server broadcast is from, when no user sent it (sender_id is then NULL).
    sender_name: Mapped[str | None] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(16), default="text")
    content: Mapped[str] = mapped_column(Text, default="")
    title: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attachment_urls: Mapped[list[str] | None] = mapped_column(JSON)
    # The uploads it carries, as shown to readers ({id, url, content_type, size, ...}).
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    reply_to_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    client_msg_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        UniqueConstraint("conversation_id", "seq"),
        # A resend with the same client id finds the stored message instead of duplicating it.
        UniqueConstraint("conversation_id", "sender_id", "client_msg_id"),
        Index(None, "sender_id"),
    )


class Reaction(Base):
    """One user's emoji on one message (each emoji once per user)."""

    __tablename__ = "message_reactions"

    message_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # The emoji's UTF-8 bytes in hex: MariaDB's default collations weigh every character
    # beyond U+FFFF alike (so 👍 would equal 🎉); hex compares as bytes everywhere.
    emoji_hex: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
