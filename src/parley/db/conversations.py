"""Queries on conversations and their members."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, and_, bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parley.db.database import Database
from parley.db.models import Conversation, ConversationMember, User


async def find_conversation(tx: AsyncSession, conversation_id: uuid.UUID) -> Conversation | None:
    return await tx.get(Conversation, conversation_id)


async def find_by_key(
    tx: AsyncSession, *, direct_key: str | None = None, room_key: str | None = None
) -> Conversation | None:
    column, value = (
        (Conversation.direct_key, direct_key) if direct_key else (Conversation.room_key, room_key)
    )
    return (await tx.execute(select(Conversation).where(column == value))).scalar_one_or_none()


async def add_conversation(tx: AsyncSession, **fields: Any) -> Conversation:
    conversation = Conversation(**fields)
    tx.add(conversation)
    await tx.flush()
    return conversation


async def find_member(
    tx: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID
) -> ConversationMember | None:
    return await tx.get(ConversationMember, (conversation_id, user_id))


async def add_member(
    tx: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID, role: str, read_seq: int
) -> ConversationMember:
    member = ConversationMember(
        conversation_id=conversation_id, user_id=user_id, role=role, last_read_seq=read_seq
    )
    tx.add(member)
    await tx.flush()
    return member


async def remove_member(tx: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID) -> bool:
    result = await tx.execute(
        delete(ConversationMember).where(
            ConversationMember.conversation_id == conversation_id,
            ConversationMember.user_id == user_id,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def list_members(
    tx: AsyncSession, conversation_ids: Sequence[uuid.UUID]
) -> Sequence[tuple[ConversationMember, User]]:
    if not conversation_ids:
        return []
    query = (
        select(ConversationMember, User)
        .join(User, User.id == ConversationMember.user_id)
        .where(ConversationMember.conversation_id.in_(conversation_ids))
        .order_by(ConversationMember.joined_at, User.id)
    )
    return [(row[0], row[1]) for row in await tx.execute(query)]


async def member_user_ids(tx: AsyncSession, conversation_id: uuid.UUID) -> list[uuid.UUID]:
    query = select(ConversationMember.user_id).where(
        ConversationMember.conversation_id == conversation_id
    )
    return list((await tx.execute(query)).scalars())


@dataclass(frozen=True)
class ActivityPosition:
    """Where a page of a user's conversations ended, in their order (most recent activity
    first, those without messages last, then newest first, then by id)."""

    last_message_at: datetime | None
    created_at: datetime
    id: uuid.UUID


async def list_for_user(
    tx: AsyncSession,
    user_id: uuid.UUID,
    *,
    kinds: Sequence[str] | None = None,
    statuses: Sequence[str] | None = None,
    after: ActivityPosition | None = None,
    limit: int | None = None,
) -> Sequence[tuple[Conversation, ConversationMember]]:
    """The user's conversations, most recently active first; `after` a position, at most
    `limit` of them."""
    query = (
        select(Conversation, ConversationMember)
        .join(ConversationMember, ConversationMember.conversation_id == Conversation.id)
        .where(ConversationMember.user_id == user_id)
    )
    if kinds:
        query = query.where(Conversation.kind.in_(kinds))
    if statuses:
        query = query.where(Conversation.status.in_(statuses))
    if after is not None:
        query = query.where(_after(after))
    # Portable NULLS LAST (MariaDB has no such clause): conversations without messages last.
    query = query.order_by(
        Conversation.last_message_at.is_(None),
        Conversation.last_message_at.desc(),
        Conversation.created_at.desc(),
        Conversation.id.desc(),
    )
    if limit is not None:
        query = query.limit(limit)
    return [(row[0], row[1]) for row in await tx.execute(query)]


def _after(position: ActivityPosition) -> ColumnElement[bool]:
    """Rows past `position` in list_for_user's order (a keyset condition)."""
    older = or_(
        Conversation.created_at < position.created_at,
        and_(Conversation.created_at == position.created_at, Conversation.id < position.id),
    )
    if position.last_message_at is None:  # among those without messages: only older ones
        return and_(Conversation.last_message_at.is_(None), older)
    return or_(
        Conversation.last_message_at.is_(None),
        Conversation.last_message_at < position.last_message_at,
        and_(Conversation.last_message_at == position.last_message_at, older),
    )


CONVERSATION_IDS_OF_USER = select(ConversationMember.conversation_id).where(
    ConversationMember.user_id == bindparam("user_id")
)


async def conversation_ids_for_user(db: Database, user_id: uuid.UUID) -> list[uuid.UUID]:
    rows = await db.read_rows(CONVERSATION_IDS_OF_USER, {"user_id": user_id})
    return [row[0] for row in rows]


async def next_seq(tx: AsyncSession, conversation_id: uuid.UUID, now: datetime) -> int:
    """Take the conversation's next message sequence number."""
    return await take_seqs(tx, conversation_id, 1, now)


# Taking seqs, built once (the send path runs them every batch: see db/send_batch.py).
_CONVERSATIONS = cast(Table, Conversation.__table__)
TAKE_SEQS = (
    update(Conversation)
    .where(Conversation.id == bindparam("t_id"))
    .values(
        last_seq=Conversation.last_seq + bindparam("t_count", type_=_CONVERSATIONS.c.last_seq.type),
        last_message_at=bindparam("t_now", type_=_CONVERSATIONS.c.last_message_at.type),
        updated_at=bindparam("t_now"),  # given, not left to `onupdate`: see db/prepared.py
    )
    .execution_options(synchronize_session=False)
)
TAKE_SEQS_RETURNING = TAKE_SEQS.returning(Conversation.last_seq)
LAST_SEQ = select(Conversation.last_seq).where(Conversation.id == bindparam("t_id"))


async def take_seqs(tx: AsyncSession, conversation_id: uuid.UUID, count: int, now: datetime) -> int:
    """Reserve the conversation's next `count` sequence numbers; returns the last of them.

    The UPDATE locks the conversation row until commit, so concurrent senders get consecutive
    numbers in commit order on every database, and a reader that sees seq n also sees every
    seq below it. MariaDB has no UPDATE … RETURNING, hence the separate read there.
    """
    params = {"t_id": conversation_id, "t_count": count, "t_now": now}
    seq: int | None
    if tx.get_bind().dialect.update_returning:
        seq = (await tx.execute(TAKE_SEQS_RETURNING, params)).scalar_one()
    else:
        await tx.execute(TAKE_SEQS, params)
        seq = await tx.scalar(LAST_SEQ, {"t_id": conversation_id})
    assert seq is not None
    return int(seq)


async def raise_last_seq(
    tx: AsyncSession, conversation_id: uuid.UUID, seq: int, at: datetime
) -> None:
    """Move the conversation's last seq up to `seq` (write-behind: the seqs came from Redis)."""
    await tx.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.last_seq < seq)
        .values(last_seq=seq, last_message_at=at)
        .execution_options(synchronize_session=False)
    )


async def advance_read(
    tx: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID, seq: int
) -> bool:
    """Move the member's read pointer forward to `seq` (never back)."""
    result = await tx.execute(
        update(ConversationMember)
        .where(
            ConversationMember.conversation_id == conversation_id,
            ConversationMember.user_id == user_id,
            ConversationMember.last_read_seq < seq,
        )
        .values(last_read_seq=seq)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def delete_conversation(tx: AsyncSession, conversation_id: uuid.UUID) -> None:
    await tx.execute(delete(Conversation).where(Conversation.id == conversation_id))


async def count_owned(tx: AsyncSession, user_id: uuid.UUID) -> int:
    """Groups and rooms the user owns (support chats are their customers' but not counted)."""
    query = select(func.count()).where(
        Conversation.owner_id == user_id, Conversation.kind.in_(("group", "room"))
    )
    return int((await tx.execute(query)).scalar_one())


async def count_memberships(tx: AsyncSession, user_id: uuid.UUID, kind: str) -> int:
    query = (
        select(func.count())
        .select_from(ConversationMember)
        .join(Conversation, Conversation.id == ConversationMember.conversation_id)
        .where(ConversationMember.user_id == user_id, Conversation.kind == kind)
    )
    return int((await tx.execute(query)).scalar_one())


async def count_members(tx: AsyncSession, conversation_id: uuid.UUID) -> int:
    query = select(func.count()).where(ConversationMember.conversation_id == conversation_id)
    return int((await tx.execute(query)).scalar_one())
