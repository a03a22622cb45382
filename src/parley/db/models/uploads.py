"""Uploaded files: who uploaded them, what they are, and the message they are attached to."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from parley.db.models.base import Base
from parley.db.types import UtcDateTime, utcnow


class Upload(Base):
    __tablename__ = "uploads"

    # uuid4: 122 random bits, so an id cannot be guessed from another.
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    uploader_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    has_thumbnail: Mapped[bool] = mapped_column(Boolean, default=False)
    # Set once, when a message takes the upload: then its conversation's members may read it.
    # No foreign key: it is set in the send's transaction before the message row is inserted
    # (the batch inserts every message at once, after each send's checks).
    message_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("conversations.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    attached_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Its message was deleted: nobody reads it any more, and the cleanup removes its bytes.
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    __table_args__ = (
        Index(None, "message_id"),
        Index(None, "created_at"),
    )
