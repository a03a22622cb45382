"""One-time codes for phone sign-in."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from parley.db.models.base import Base
from parley.db.types import UtcDateTime, utcnow


class OneTimeCode(Base):
    __tablename__ = "otps"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    mobile_no: Mapped[str] = mapped_column(String(20), index=True)  # E.164
    purpose: Mapped[str] = mapped_column(String(20), default="login")
    # Keyed hashes (HMAC with the server secret): a leaked table reveals neither the codes
    # nor the session tokens, and six digits cannot be brute-forced offline.
    code_hash: Mapped[str] = mapped_column(String(64))
    session_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    device_id: Mapped[str | None] = mapped_column(String(255))
    fcm_token: Mapped[str | None] = mapped_column(String(4096))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
