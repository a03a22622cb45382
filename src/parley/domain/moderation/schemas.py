"""Moderation on the wire: what a client sends and what it gets back."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AliasChoices, AwareDatetime, BaseModel, Field, StringConstraints

from parley.domain.accounts.schemas import Lenient


class RestrictionKind(StrEnum):
    MUTE = "mute"
    """May read the room, may not add to it (sends, edits, new reactions, typing)."""
    BAN = "ban"
    """Removed from the room and may not rejoin it."""


Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]


class RestrictionSet(Lenient):
    """`POST /rooms/{ref}/mutes` or `/bans`: who, until when (with a time zone; left out:
    until lifted), and why (shown to moderators)."""

    user_id: uuid.UUID = Field(validation_alias=AliasChoices("user_id", "userId", "id"))
    until: AwareDatetime | None = None
    reason: Reason | None = None


class RestrictionPublic(BaseModel):
    conversation_id: uuid.UUID
    user_id: uuid.UUID
    kind: RestrictionKind
    until: datetime | None
    """When it ends; null: until lifted."""
    reason: str | None
    created_by: uuid.UUID | None
    created_at: datetime


class RestrictionChanged(RestrictionPublic):
    """`member.muted`, `member.unmuted`, `member.banned`, `member.unbanned`."""

    room_id: str
    """How the room's clients name it: an open room's name, else the conversation id."""


class RestrictionList(BaseModel):
    items: list[RestrictionPublic]


class ReportReason(StrEnum):
    SPAM = "spam"
    ABUSE = "abuse"
    HARASSMENT = "harassment"
    ILLEGAL = "illegal"
    OTHER = "other"


class ReportStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class ReportCreate(Lenient):
    reason: ReportReason
    text: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None


class ReportResolve(Lenient):
    status: ReportStatus
    """`resolved` or `dismissed` (an open report is closed once, by staff)."""


class ReportPublic(BaseModel):
    id: uuid.UUID
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    reporter_id: uuid.UUID
    reason: ReportReason
    text: str | None
    status: ReportStatus
    created_at: datetime
    resolved_by: uuid.UUID | None
    resolved_at: datetime | None


class ReportPage(BaseModel):
    reports: list[ReportPublic]
    next_cursor: str | None
    has_more: bool
