"""Users and their device sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from parley.db.models.base import Base
from parley.db.types import UtcDateTime, utcnow
from parley.domain.roles import AccountStatus, Role


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # Stored lower-cased; unique when present (a phone-only account has neither).
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    mobile_no: Mapped[str | None] = mapped_column(String(20), unique=True)  # E.164
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True, index=True)
    """The id a trusted gateway knows the user by (the WebSocket Chat Server seed's)."""
    password_hash: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(100), default="")
    role: Mapped[str] = mapped_column(String(20), default=Role.CUSTOMER.value)
    avatar: Mapped[str | None] = mapped_column(String(2048))
    state: Mapped[str | None] = mapped_column(String(100))
    language: Mapped[str | None] = mapped_column(String(35))
    status: Mapped[str] = mapped_column(String(20), default=AccountStatus.ACTIVE.value)
    is_online: Mapped[bool] = mapped_column(Boolean, default=False)
    dm_friends_only: Mapped[bool] = mapped_column(Boolean, default=False)
    """Direct messages from friends only (a privacy setting)."""
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (Index(None, "name"),)


class DeviceSession(Base):
    """One signed-in device. Logout revokes it; its refresh tokens form one rotation family."""

    __tablename__ = "device_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    device_id: Mapped[str | None] = mapped_column(String(255))
    fcm_token: Mapped[str | None] = mapped_column(String(4096))
    fcm_token_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    """SHA-256 (hex) of `fcm_token`: one device's token is kept on one session only."""
    user_agent: Mapped[str | None] = mapped_column(String(512))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    device_info: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The id (jti) of the one refresh token that may still be used; any other is a replay.
    refresh_jti: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(40))
    otp_session_hash: Mapped[str | None] = mapped_column(String(64), unique=True, index=True)
    """The keyed hash of the phone sign-in's `session_token` that opened it: the GOSOCKET
    seed's clients send that token as their credential (`player_action`)."""

    __table_args__ = (
        # Push planning asks, for every member of a conversation, whether the user has a
        # device with a push token: a probe of this index (only such devices are in it) instead
        # of every session of the user (measured: 10 000 members 29 -> 9.6 ms per message on
        # SQLite). MariaDB has no partial indexes: there it is a plain index on user_id.
        Index(
            "ix_device_sessions_push_user",
            "user_id",
            sqlite_where=text("fcm_token IS NOT NULL"),
            postgresql_where=text("fcm_token IS NOT NULL"),
        ),
    )
