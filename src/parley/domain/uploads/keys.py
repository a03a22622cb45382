"""The file store keys of uploads: a file, its thumbnail, a presigned upload waiting."""

from __future__ import annotations

import uuid
from datetime import datetime

from parley.domain.ids import uuid7_time


def file_key(upload_id: uuid.UUID) -> str:
    return upload_id.hex


def thumbnail_key(upload_id: uuid.UUID) -> str:
    return f"{upload_id.hex}.thumb"


PENDING_PREFIX = "pending-"
FILENAME_META = "filename"


def pending_key(uploader_id: uuid.UUID, upload_id: uuid.UUID) -> str:
    """Where a presigned upload waits to be completed: named by its uploader, so that only
    they can complete it, and by its id, whose time says when it may be removed."""
    return f"{PENDING_PREFIX}{uploader_id.hex}-{upload_id.hex}"


def pending_time(key: str) -> datetime | None:
    try:
        return uuid7_time(uuid.UUID(hex=key.rsplit("-", 1)[-1]))
    except ValueError:
        return None
