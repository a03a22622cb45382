"""What friends and blocks allow others: the checks other services make before they act."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from parley.db import social as queries
from parley.db.models import User
from parley.errors import Forbidden


def blocked() -> Forbidden:
    return Forbidden("One of you has blocked the other.", code="blocked")


async def require_not_blocked(tx: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> None:
    if await queries.block_between(tx, a, b) is not None:
        raise blocked()


async def require_direct_allowed(tx: AsyncSession, sender: uuid.UUID, other: User) -> None:
    """A direct chat (opening one, or sending in one): not between a blocker and whom they
    block, and only from friends to someone who accepts direct messages from friends only."""
    await require_not_blocked(tx, sender, other.id)
    if other.dm_friends_only and not await queries.are_friends(tx, sender, other.id):
        raise Forbidden("This user accepts direct messages from friends only.", code="friends_only")


async def may_see_presence(
    tx: AsyncSession, viewer: uuid.UUID, user: uuid.UUID, *, is_admin: bool = False
) -> bool:
    """Presence is for friends and for people who share a conversation, never for someone
    the user blocked; admins see everyone's."""
    if viewer == user or is_admin:
        return True
    if await queries.block_between(tx, viewer, user) is not None:
        return False
    return await queries.are_friends(tx, viewer, user) or await queries.share_a_conversation(
        tx, viewer, user
    )
