"""Mutes on the wire: what a client sends and what it gets back."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AliasChoices, AwareDatetime, BaseModel, Field

from parley.domain.accounts.schemas import Lenient


class MuteSet(Lenient):
    """`PUT …/mute`: no pushes for the conversation, for good or `until` a moment (with a
    time zone, e.g. `2026-12-24T08:00:00Z`)."""

    until: AwareDatetime | None = Field(
        None, validation_alias=AliasChoices("until", "muted_until", "mute_until")
    )


class MuteState(BaseModel):
    conversation_id: uuid.UUID
    muted: bool
    muted_until: datetime | None
    """When the mute ends; null with `muted` true: until unmuted."""
