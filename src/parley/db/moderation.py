"""Queries for room mutes and bans, and message reports."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.db.models import MessageReport, RoomRestriction


def _in_force(now: datetime) -> object:
    return or_(RoomRestriction.until.is_(None), RoomRestriction.until > now)


async def find_restriction(
    tx: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID, kind: str
) -> RoomRestriction | None:
    return await tx.get(RoomRestriction, (conversation_id, user_id, kind))


async def in_force(
    tx: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID, kind: str, now: datetime
) -> RoomRestriction | None:
    found = await find_restriction(tx, conversation_id, user_id, kind)
    if found is None or (found.until is not None and found.until <= now):
        return None
    return found


async def list_in_force(
    tx: AsyncSession, conversation_id: uuid.UUID, kind: str, now: datetime
) -> Sequence[RoomRestriction]:
    rows = await tx.execute(
        select(RoomRestriction)
        .where(
            RoomRestriction.conversation_id == conversation_id,
            RoomRestriction.kind == kind,
            _in_force(now),  # type: ignore[arg-type]
        )
        .order_by(RoomRestriction.created_at, RoomRestriction.user_id)
    )
    return rows.scalars().all()


async def lift(tx: AsyncSession, conversation_id: uuid.UUID, user_id: uuid.UUID, kind: str) -> bool:
    result = await tx.execute(
        delete(RoomRestriction).where(
            RoomRestriction.conversation_id == conversation_id,
            RoomRestriction.user_id == user_id,
            RoomRestriction.kind == kind,
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def delete_expired(tx: AsyncSession, now: datetime) -> int:
    """Mutes and bans that ended by themselves: they refuse nothing any more."""
    result = await tx.execute(
        delete(RoomRestriction).where(
            RoomRestriction.until.is_not(None), RoomRestriction.until <= now
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def find_open_report(tx: AsyncSession, open_key: str) -> MessageReport | None:
    rows = await tx.execute(select(MessageReport).where(MessageReport.open_key == open_key))
    return rows.scalars().first()


async def page_reports(
    tx: AsyncSession, *, status: str | None, before: uuid.UUID | None, limit: int
) -> Sequence[MessageReport]:
    """Newest first, by id (a UUIDv7); `before`: the last one of the previous page."""
    query = select(MessageReport)
    if status is not None:
        query = query.where(MessageReport.status == status)
    if before is not None:
        query = query.where(MessageReport.id < before)
    query = query.order_by(MessageReport.id.desc()).limit(limit)
    return (await tx.execute(query)).scalars().all()
