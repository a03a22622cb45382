"""Attaching uploads to a message as it is sent, and hiding them when it is deleted.

Called inside the send's transaction: the sender's own uploads that no message has yet are
claimed by a conditional update, so two sends can never take the same one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from parley.db import uploads as queries
from parley.db.models import Upload
from parley.domain.accounts.principal import Principal
from parley.domain.uploads.schemas import AttachmentPublic, AttachmentRef, upload_url
from parley.errors import Conflict, Forbidden, NotFound


def upload_not_found() -> NotFound:
    return NotFound("No upload with that id.", code="upload_not_found")


def _taken() -> Conflict:
    return Conflict("That upload is attached to a message already.", code="upload_already_attached")


def attachment_of(upload: Upload) -> AttachmentPublic:
    return AttachmentPublic(
        id=upload.id,
        url=upload_url(upload.id),
        thumbnail_url=f"{upload_url(upload.id)}/thumbnail" if upload.has_thumbnail else None,
        filename=upload.filename,
        content_type=upload.content_type,
        size=upload.size,
        width=upload.width,
        height=upload.height,
    )


async def attach_uploads(
    tx: AsyncSession,
    principal: Principal,
    refs: Sequence[AttachmentRef],
    *,
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    now: datetime,
) -> list[dict[str, Any]] | None:
    """The attachment objects to store on the message; raises (changing nothing) when one
    is missing (`upload_not_found`), someone else's (`not_your_upload`) or taken."""
    ids = list(dict.fromkeys(ref.upload_id for ref in refs))
    if not ids:
        return None
    found = await queries.find_uploads(tx, ids)
    for upload_id in ids:
        upload = found.get(upload_id)
        if upload is None:
            raise upload_not_found()
        if upload.uploader_id != principal.user_id:
            raise Forbidden("Only your own uploads can be attached.", code="not_your_upload")
        if upload.message_id is not None or upload.deleted_at is not None:
            raise _taken()
    for upload_id in ids:
        claimed = await queries.claim_upload(
            tx,
            upload_id,
            principal.user_id,
            message_id=message_id,
            conversation_id=conversation_id,
            now=now,
        )
        if not claimed:  # a concurrent send took it: give back what this one took
            await queries.release_uploads_of(tx, message_id)
            raise _taken()
    return [attachment_of(found[i]).model_dump(mode="json") for i in ids]


async def hide_attachments(tx: AsyncSession, message_id: uuid.UUID, now: datetime) -> None:
    """A deleted message's files: unreadable from now on, removed by the next cleanup."""
    await queries.hide_uploads_of(tx, message_id, now)
