"""Room moderation: mutes and bans of a user in a conversation, and reports of messages."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from parley.db.models.base import Base
from parley.db.types import UtcDateTime, utcnow


class RoomRestriction(Base):
    """A mute (`kind` "mute": may read, may not send) or a ban ("ban": removed, may not
    rejoin) of one user in one group or room; `until` NULL means until lifted."""

    __tablename__ = "room_restrictions"

    conversation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # mute | ban
    until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reason: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class MessageReport(Base):
    """A member's report of a message, for staff to resolve. `open_key` is
    "<message>:<reporter>" while the report is open and NULL after: unique, so a reporter has
    at most one open report per message on every database (NULLs never collide)."""

    __tablename__ = "message_reports"
    __table_args__ = (Index("ix_message_reports_status_id", "status", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    """A UUIDv7: reports are listed newest first by id."""
    message_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("messages.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("conversations.id", ondelete="CASCADE")
    )
    reporter_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    reason: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|resolved|dismissed
    open_key: Mapped[str | None] = mapped_column(String(80), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="SET NULL")
    )
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
