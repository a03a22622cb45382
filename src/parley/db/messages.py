"""Queries on messages."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from parley.db.models import Message, User


async def add_message(tx: AsyncSession, **fields: Any) -> Message:
    message = Message(**fields)
    tx.add(message)
    await tx.flush()
    return message


async def add_messages_once(tx: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Insert messages, skipping any whose id (or conversation and seq) is already stored."""
    dialect = tx.get_bind().dialect.name
    statement: Any
    if dialect == "postgresql":
        statement = pg_insert(Message).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite_insert(Message).on_conflict_do_nothing()
    else:
        statement = insert(Message).prefix_with("IGNORE")
    await tx.execute(statement, rows)


async def find_message(tx: AsyncSession, message_id: uuid.UUID) -> Message | None:
    return await tx.get(Message, message_id)


async def find_by_client_id(
    tx: AsyncSession, conversation_id: uuid.UUID, sender_id: uuid.UUID, client_msg_id: str
) -> Message | None:
    query = select(Message).where(
        Message.conversation_id == conversation_id,
        Message.sender_id == sender_id,
        Message.client_msg_id == client_msg_id,
    )
    return (await tx.execute(query)).scalar_one_or_none()


async def find_by_seq(tx: AsyncSession, conversation_id: uuid.UUID, seq: int) -> Message | None:
    query = select(Message).where(Message.conversation_id == conversation_id, Message.seq == seq)
    return (await tx.execute(query)).scalar_one_or_none()


async def page_before(
    tx: AsyncSession, conversation_id: uuid.UUID, *, before_seq: int | None, limit: int
) -> Sequence[tuple[Message, User | None]]:
    """Newest first, strictly older than `before_seq` when given."""
    query = (
        select(Message, User)
        .outerjoin(User, User.id == Message.sender_id)
        .where(Message.conversation_id == conversation_id)
    )
    if before_seq is not None:
        query = query.where(Message.seq < before_seq)
    query = query.order_by(Message.seq.desc()).limit(limit)
    return [(row[0], row[1]) for row in await tx.execute(query)]


async def page_after(
    tx: AsyncSession, conversation_id: uuid.UUID, *, after_seq: int, limit: int
) -> Sequence[tuple[Message, User | None]]:
    """Oldest first, strictly newer than `after_seq`: what a reconnecting client missed."""
    query = (
        select(Message, User)
        .outerjoin(User, User.id == Message.sender_id)
        .where(Message.conversation_id == conversation_id, Message.seq > after_seq)
        .order_by(Message.seq)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in await tx.execute(query)]


async def latest_of(
    tx: AsyncSession, heads: Sequence[tuple[uuid.UUID, int]]
) -> dict[uuid.UUID, tuple[Message, User | None]]:
    """The message at each (conversation, seq) given: the conversations' last messages."""
    heads = [h for h in heads if h[1] > 0]
    if not heads:
        return {}
    query = (
        select(Message, User)
        .outerjoin(User, User.id == Message.sender_id)
        .where(tuple_(Message.conversation_id, Message.seq).in_(heads))
    )
    return {row[0].conversation_id: (row[0], row[1]) for row in await tx.execute(query)}
