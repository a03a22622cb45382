"""Uploads and attachments as clients see them."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import AliasChoices, BaseModel, Field

from parley.domain.accounts.schemas import Lenient


def upload_url(upload_id: uuid.UUID) -> str:
    return f"/api/v1/uploads/{upload_id}"


class UploadPublic(BaseModel):
    id: uuid.UUID
    url: str
    """Where it is read back (with the uploader's or a member's token; Range requests work)."""
    thumbnail_url: str | None
    filename: str | None
    content_type: str
    size: int
    sha256: str
    width: int | None
    height: int | None
    created_at: datetime
    message_id: uuid.UUID | None
    conversation_id: uuid.UUID | None


class AttachmentPublic(BaseModel):
    """An upload as the message carrying it shows it."""

    id: uuid.UUID
    url: str
    thumbnail_url: str | None = None
    filename: str | None = None
    content_type: str
    size: int
    width: int | None = None
    height: int | None = None


class AttachmentRef(Lenient):
    """`{upload_id}` in a send: one of the sender's own uploads, not yet attached."""

    upload_id: uuid.UUID = Field(validation_alias=AliasChoices("upload_id", "uploadId", "id"))


class PresignRequest(Lenient):
    """`POST /api/v1/uploads/presign`: the file the client is about to send to the store."""

    filename: str | None = Field(None, max_length=1024)
    content_type: str | None = Field(
        None,
        max_length=255,
        validation_alias=AliasChoices("content_type", "contentType", "mime_type", "type"),
    )
    """What the client believes it is: refused early when not allowed; the bytes decide."""
    size: int = Field(ge=1, le=2**53)
    """The file's size: the store takes no more than this."""


class PresignedPublic(BaseModel):
    upload_id: uuid.UUID
    method: str
    """`POST`: an HTML-form upload of `fields`, then the file as the last part, named `file`."""
    url: str
    fields: dict[str, str]
    headers: dict[str, str]
    expires_at: datetime
    """The store takes the file until then; complete it (`complete_url`) once sent."""
    max_size: int
    complete_url: str
