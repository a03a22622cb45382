"""Queries on uploads: add, find, claim for a message, hide with it, and the stale ones."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parley.db.models import Upload


async def add_upload(tx: AsyncSession, **fields: Any) -> Upload:
    upload = Upload(**fields)
    tx.add(upload)
    await tx.flush()
    return upload


async def find_upload(tx: AsyncSession, upload_id: uuid.UUID) -> Upload | None:
    return await tx.get(Upload, upload_id)


async def find_uploads(tx: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Upload]:
    wanted = list(ids)
    if not wanted:
        return {}
    rows = (await tx.execute(select(Upload).where(Upload.id.in_(wanted)))).scalars()
    return {row.id: row for row in rows}


async def claim_upload(
    tx: AsyncSession,
    upload_id: uuid.UUID,
    uploader_id: uuid.UUID,
    *,
    message_id: uuid.UUID,
    conversation_id: uuid.UUID,
    now: datetime,
) -> bool:
    """Attach an upload of this uploader's that no message has yet; False if it was taken."""
    result: CursorResult[Any] = await tx.execute(  # type: ignore[assignment]
        update(Upload)
        .where(
            Upload.id == upload_id,
            Upload.uploader_id == uploader_id,
            Upload.message_id.is_(None),
            Upload.deleted_at.is_(None),
        )
        .values(message_id=message_id, conversation_id=conversation_id, attached_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


async def hide_uploads_of(tx: AsyncSession, message_id: uuid.UUID, now: datetime) -> None:
    await tx.execute(
        update(Upload)
        .where(Upload.message_id == message_id, Upload.deleted_at.is_(None))
        .values(deleted_at=now)
        .execution_options(synchronize_session=False)
    )


async def list_stale(tx: AsyncSession, *, created_before: datetime, limit: int) -> Sequence[Upload]:
    """Uploads never attached that are older than the cutoff, and hidden ones (deleted
    messages'): what the cleanup removes."""
    query = (
        select(Upload)
        .where(
            or_(
                Upload.deleted_at.is_not(None),
                (Upload.message_id.is_(None)) & (Upload.created_at < created_before),
            )
        )
        .limit(limit)
    )
    return (await tx.execute(query)).scalars().all()


async def delete_uploads(tx: AsyncSession, ids: Sequence[uuid.UUID]) -> None:
    if ids:
        await tx.execute(delete(Upload).where(Upload.id.in_(list(ids))))


async def release_uploads_of(tx: AsyncSession, message_id: uuid.UUID) -> None:
    await tx.execute(
        update(Upload)
        .where(Upload.message_id == message_id)
        .values(message_id=None, conversation_id=None, attached_at=None)
        .execution_options(synchronize_session=False)
    )
