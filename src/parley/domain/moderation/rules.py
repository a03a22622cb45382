"""What a mute or a ban in force refuses, checked where sends, edits, reactions, typing and
joins happen, on one clock (`RoomRules.now`: a test turns it forward).

A muted member reads, marks read, leaves and takes back what they said (deletes their own
messages, removes their own reactions, stops typing); whatever would add to what the others
see is refused with `muted_in_room`: sends, edits, new reactions, typing starts, a room's
name or topic.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from parley.db import moderation as queries
from parley.db.models import Conversation
from parley.db.types import utcnow
from parley.errors import Forbidden

MODERATED_KINDS = frozenset({"group", "room"})

Clock = Callable[[], datetime]


def muted_in_room() -> Forbidden:
    return Forbidden(
        "You are muted in this conversation: you may read it, not add to it.",
        code="muted_in_room",
    )


def banned_from_room() -> Forbidden:
    return Forbidden("You are banned from this conversation.", code="banned_from_room")


class RoomRules:
    """The checks, on the deployment's clock (`until` is compared with `now()`)."""

    def __init__(self, clock: Clock = utcnow) -> None:
        self.now = clock

    async def require_not_banned(
        self, tx: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID
    ) -> None:
        if await queries.in_force(tx, conversation_id, user_id, "ban", self.now()) is not None:
            raise banned_from_room()

    async def require_not_muted(
        self, tx: AsyncSession, conversation: Conversation, user_id: uuid.UUID
    ) -> None:
        if conversation.kind not in MODERATED_KINDS:
            return
        if await queries.in_force(tx, conversation.id, user_id, "mute", self.now()) is not None:
            raise muted_in_room()

    async def sweep(self, tx: AsyncSession) -> int:
        """Delete the mutes and bans whose `until` has passed; how many went."""
        return await queries.delete_expired(tx, self.now())
