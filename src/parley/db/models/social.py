"""Who knows whom: friend requests, friendships (one row per direction) and blocks."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from parley.db.models.base import Base
from parley.db.types import UtcDateTime, utcnow


def _user_ref(*, primary_key: bool = False, index: bool = False) -> Mapped[uuid.UUID]:
    return mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), primary_key=primary_key, index=index
    )


class FriendRequest(Base):
    __tablename__ = "friend_requests"
    __table_args__ = (UniqueConstraint("from_user_id", "to_user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    from_user_id: Mapped[uuid.UUID] = _user_ref()
    to_user_id: Mapped[uuid.UUID] = _user_ref(index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Friendship(Base):
    """Stored both ways (a→b and b→a), so listing a user's friends is one indexed range."""

    __tablename__ = "friendships"

    user_id: Mapped[uuid.UUID] = _user_ref(primary_key=True)
    friend_id: Mapped[uuid.UUID] = _user_ref(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Block(Base):
    __tablename__ = "blocks"

    blocker_id: Mapped[uuid.UUID] = _user_ref(primary_key=True)
    blocked_id: Mapped[uuid.UUID] = _user_ref(primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
