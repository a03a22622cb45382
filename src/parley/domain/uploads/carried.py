"""A send whose attachments bring their own bytes (Socket.IO binary): each file is stored as
an upload first, through the same path as any other (limits, sniffing, thumbnails), then the
message is sent referring to them; if any file or the send itself is refused, the files this
send stored are removed again, so a refused send leaves neither a message nor an upload.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from parley.domain.accounts.principal import Principal
from parley.domain.conversations.messages import MessageService
from parley.domain.conversations.schemas import MAX_ATTACHMENTS, MessagePublic, MessageSend
from parley.domain.uploads.schemas import AttachmentRef
from parley.domain.uploads.service import UploadService
from parley.errors import ValidationFailed


@dataclass(frozen=True, slots=True)
class NewFile:
    """One attachment's bytes, and where it stands among the send's `attachments`."""

    position: int
    data: bytes
    filename: str | None


def too_many_attachments(count: int) -> ValidationFailed:
    return ValidationFailed(
        f"A message carries at most {MAX_ATTACHMENTS} attachments.",
        code="too_many_attachments",
        field="attachments",
        limit=MAX_ATTACHMENTS,
        count=count,
    )


async def send_with_files(
    messages: MessageService,
    uploads: UploadService,
    principal: Principal,
    command: MessageSend,
    files: Sequence[NewFile],
    *,
    origin: str | None,
) -> MessagePublic:
    """`command.attachments` holds the send's references to earlier uploads; `files` go in
    among them at their positions."""
    count = len(command.attachments) + len(files)
    if count > MAX_ATTACHMENTS:
        raise too_many_attachments(count)
    made: list[uuid.UUID] = []
    try:
        for file in files:  # one at a time: at most one file's temporary copy at once
            made.append((await uploads.store_bytes(principal, file.data, file.filename)).id)
        refs = list(command.attachments)
        for file, upload_id in sorted(zip(files, made, strict=True), key=lambda p: p[0].position):
            refs.insert(file.position, AttachmentRef(upload_id=upload_id))
        message, created = await messages.send(
            principal,
            command.model_copy(update={"attachments": refs}),
            origin=origin,
            rate_checked=True,
        )
    except BaseException:
        await asyncio.shield(uploads.discard(principal, made))
        raise
    if not created:  # a resend of a stored message (its client_msg_id): these are spare
        await uploads.discard(principal, made)
    return message
