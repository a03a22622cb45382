"""Queries for the admin dashboard: conversations counted by kind and status, recent messages."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.db.models import Conversation, Message, User


async def conversations_by_kind_and_status(tx: AsyncSession) -> dict[str, dict[str, int]]:
    rows = await tx.execute(
        select(Conversation.kind, Conversation.status, func.count()).group_by(
            Conversation.kind, Conversation.status
        )
    )
    counts: dict[str, dict[str, int]] = {}
    for kind, status, count in rows.all():
        counts.setdefault(kind, {})[status] = int(count)
    return counts


async def users_by_status(tx: AsyncSession) -> dict[str, int]:
    rows = await tx.execute(select(User.status, func.count()).group_by(User.status))
    return {status: int(count) for status, count in rows.all()}


def uuid7_floor(moment: datetime) -> uuid.UUID:
    """The smallest UUIDv7 made at `moment`: message ids are UUIDv7, so `id >= floor` is a
    range on the primary key (no scan of a time column)."""
    unix_ms = int(moment.timestamp() * 1000)
    return uuid.UUID(int=((unix_ms & 0xFFFF_FFFF_FFFF) << 80) | (0x7 << 76) | (0b10 << 62))


async def messages_since(tx: AsyncSession, moment: datetime) -> int:
    query = select(func.count()).select_from(Message).where(Message.id >= uuid7_floor(moment))
    return int(await tx.scalar(query) or 0)
