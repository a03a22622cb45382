"""What a mute or a ban in force refuses, checked where sends and joins happen."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from sqlalchemy.ext.asyncio import AsyncSession

from parley.db import moderation as queries
from parley.db.types import utcnow
from parley.errors import Forbidden

MODERATED_KINDS = frozenset({"group", "room"})


def muted_in_room() -> Forbidden:
    return Forbidden(
        "You are muted in this conversation: you may read it, not send in it.",
        code="muted_in_room",
    )


def banned_from_room() -> Forbidden:
    return Forbidden("You are banned from this conversation.", code="banned_from_room")


async def require_not_banned(
    tx: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    if await queries.in_force(tx, conversation_id, user_id, "ban", utcnow()) is not None:
        raise banned_from_room()


async def muted(
    tx: AsyncSession,
    conversation_ids: Collection[uuid.UUID],
    user_ids: Collection[uuid.UUID],
) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """The (conversation, user) pairs among these that are muted now: one query."""
    return await queries.muted_pairs(tx, conversation_ids, user_ids, utcnow())
