"""Queries on friend requests, friendships and blocks."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, bindparam, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.db.database import Database
from parley.db.models import (
    Block,
    ConversationMember,
    FriendRequest,
    Friendship,
    User,
)


async def are_friends(tx: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> bool:
    found = await tx.scalar(
        select(Friendship.user_id).where(Friendship.user_id == a, Friendship.friend_id == b)
    )
    return found is not None


async def add_friendship(tx: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> None:
    tx.add_all([Friendship(user_id=a, friend_id=b), Friendship(user_id=b, friend_id=a)])
    await tx.flush()


async def remove_friendship(tx: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> bool:
    result = await tx.execute(
        delete(Friendship).where(
            or_(
                and_(Friendship.user_id == a, Friendship.friend_id == b),
                and_(Friendship.user_id == b, Friendship.friend_id == a),
            )
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def friends_of(tx: AsyncSession, user_id: uuid.UUID) -> Sequence[tuple[Friendship, User]]:
    query = (
        select(Friendship, User)
        .join(User, User.id == Friendship.friend_id)
        .where(Friendship.user_id == user_id)
        .order_by(Friendship.created_at, Friendship.friend_id)
    )
    return [(f, u) for f, u in (await tx.execute(query)).all()]


async def find_request(
    tx: AsyncSession, from_user: uuid.UUID, to_user: uuid.UUID
) -> FriendRequest | None:
    return await tx.scalar(
        select(FriendRequest).where(
            FriendRequest.from_user_id == from_user, FriendRequest.to_user_id == to_user
        )
    )


async def requests_of(
    tx: AsyncSession, user_id: uuid.UUID, *, incoming: bool
) -> Sequence[tuple[FriendRequest, User]]:
    mine, theirs = (
        (FriendRequest.to_user_id, FriendRequest.from_user_id)
        if incoming
        else (FriendRequest.from_user_id, FriendRequest.to_user_id)
    )
    query = (
        select(FriendRequest, User)
        .join(User, User.id == theirs)
        .where(mine == user_id)
        .order_by(FriendRequest.created_at, FriendRequest.id)
    )
    return [(r, u) for r, u in (await tx.execute(query)).all()]


async def drop_requests_between(
    tx: AsyncSession, a: uuid.UUID, b: uuid.UUID
) -> list[FriendRequest]:
    """Every pending request between the two, either way; returns them."""
    found = list(
        (
            await tx.scalars(
                select(FriendRequest).where(
                    or_(
                        and_(FriendRequest.from_user_id == a, FriendRequest.to_user_id == b),
                        and_(FriendRequest.from_user_id == b, FriendRequest.to_user_id == a),
                    )
                )
            )
        ).all()
    )
    for request in found:
        await tx.delete(request)
    await tx.flush()
    return found


async def block_between(tx: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> Block | None:
    """A block of either by the other."""
    return await tx.scalar(
        select(Block).where(
            or_(
                and_(Block.blocker_id == a, Block.blocked_id == b),
                and_(Block.blocker_id == b, Block.blocked_id == a),
            )
        )
    )


async def blocked_by(tx: AsyncSession, blocker: uuid.UUID) -> Sequence[tuple[Block, User]]:
    query = (
        select(Block, User)
        .join(User, User.id == Block.blocked_id)
        .where(Block.blocker_id == blocker)
        .order_by(Block.created_at, Block.blocked_id)
    )
    return [(b, u) for b, u in (await tx.execute(query)).all()]


async def block_sets(tx: AsyncSession, user_id: uuid.UUID) -> tuple[set[str], set[str]]:
    """(whom the user blocks, who blocks the user), as id strings."""
    rows = await tx.execute(
        select(Block.blocker_id, Block.blocked_id).where(
            or_(Block.blocker_id == user_id, Block.blocked_id == user_id)
        )
    )
    blocks, blocked_by_them = set(), set()
    for blocker, blocked in rows:
        if blocker == user_id:
            blocks.add(str(blocked))
        else:
            blocked_by_them.add(str(blocker))
    return blocks, blocked_by_them


BLOCKS_OF_USER = select(Block.blocker_id, Block.blocked_id).where(
    or_(Block.blocker_id == bindparam("user_id"), Block.blocked_id == bindparam("user_id"))
)
"""Built once: it runs on every sign-in (a socket connect)."""

NOBODY: frozenset[str] = frozenset()
"""Shared by every user who blocks nobody (or whom nobody blocks): most users."""


async def live_block_sets(
    db: Database, user_id: uuid.UUID
) -> tuple[frozenset[str], frozenset[str]]:
    """`block_sets` for a connection signing in: one read-only statement, no transaction
    (`Database.read_rows`: on SQLite on the loop, without a write turn to queue for), and the
    shared empty set for the usual user who blocks nobody."""
    rows: Sequence[Any] = await db.read_rows(BLOCKS_OF_USER, {"user_id": user_id})
    if not rows:
        return NOBODY, NOBODY
    blocks = frozenset(str(row[1]) for row in rows if row[0] == user_id)
    blocked_by_them = frozenset(str(row[0]) for row in rows if row[0] != user_id)
    return blocks or NOBODY, blocked_by_them or NOBODY


async def share_a_conversation(tx: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> bool:
    """Both are members of one conversation, of any kind."""
    mine = select(ConversationMember.conversation_id).where(ConversationMember.user_id == a)
    found = await tx.scalar(
        select(ConversationMember.conversation_id)
        .where(
            ConversationMember.user_id == b,
            ConversationMember.conversation_id.in_(mine),
        )
        .limit(1)
    )
    return found is not None
