"""Receiving uploads, reading them back for those allowed, and removing stale ones.

An upload is streamed into a temporary file while it is counted and hashed (refused as soon
as it passes the size limit), its type is read from its first bytes, an image gets its
dimensions and a thumbnail, and only then is it put in the file store and recorded. Any
failure on the way leaves no file and no row.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import tempfile
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import IO

import structlog

from parley.db import uploads as queries
from parley.db.database import Database
from parley.db.models import Upload
from parley.db.types import utcnow
from parley.domain.accounts.principal import Principal
from parley.domain.conversations import access
from parley.domain.ports import FileStore
from parley.domain.uploads.attach import upload_not_found
from parley.domain.uploads.images import inspect_image
from parley.domain.uploads.schemas import UploadPublic, upload_url
from parley.domain.uploads.sniff import SNIFF_BYTES, sniff
from parley.errors import (
    Forbidden,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)

log = structlog.get_logger(__name__)


def file_key(upload_id: uuid.UUID) -> str:
    return upload_id.hex


def thumbnail_key(upload_id: uuid.UUID) -> str:
    return f"{upload_id.hex}.thumb"


def upload_public(upload: Upload) -> UploadPublic:
    url = upload_url(upload.id)
    return UploadPublic(
        id=upload.id,
        url=url,
        thumbnail_url=f"{url}/thumbnail" if upload.has_thumbnail else None,
        filename=upload.filename,
        content_type=upload.content_type,
        size=upload.size,
        sha256=upload.sha256,
        width=upload.width,
        height=upload.height,
        created_at=upload.created_at,
        message_id=upload.message_id,
        conversation_id=upload.conversation_id,
    )


class IncomingFile:
    """The bytes of one upload as they arrive: counted, hashed, spooled to a temporary file."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.head = b""
        self._hash = hashlib.sha256()
        self.file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 -- closed by close()

    def write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise PayloadTooLarge(
                f"An upload holds at most {self.max_bytes} bytes.",
                code="upload_too_large",
                limit_bytes=self.max_bytes,
            )
        if len(self.head) < SNIFF_BYTES:
            self.head += data[: SNIFF_BYTES - len(self.head)]
        self._hash.update(data)
        self.file.write(data)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def close(self) -> None:
        self.file.close()


class UploadService:
    def __init__(
        self,
        db: Database,
        store: FileStore,
        *,
        max_bytes: int,
        allowed_types: Sequence[str],
        unattached_ttl_secs: float,
    ) -> None:
        self._db = db
        self._store = store
        self.max_bytes = max_bytes
        self._allowed = {t.strip().lower() for t in allowed_types}
        self._unattached_ttl = timedelta(seconds=unattached_ttl_secs)

    def begin(self) -> IncomingFile:
        return IncomingFile(self.max_bytes)

    def _content_type(self, head: bytes) -> str:
        content_type = sniff(head)
        if content_type is None or content_type not in self._allowed:
            raise UnsupportedMediaType(
                "This kind of file is not accepted.",
                detected=content_type,
                allowed=sorted(self._allowed),
            )
        return content_type

    async def finish(
        self, principal: Principal, incoming: IncomingFile, filename: str | None
    ) -> UploadPublic:
        """Store what arrived; the temporary file is closed whatever happens."""
        try:
            if incoming.size == 0:
                raise ValidationFailed("The file is empty.", code="upload_empty", field="file")
            content_type = self._content_type(incoming.head)
            image = None
            if content_type.startswith("image/"):
                image = await asyncio.to_thread(inspect_image, incoming.file)
            upload_id = uuid.uuid4()
            stored: list[str] = []
            try:
                await self._store.put(
                    file_key(upload_id),
                    incoming.file,
                    size=incoming.size,
                    content_type=content_type,
                )
                stored.append(file_key(upload_id))
                if image is not None and image.thumbnail is not None:
                    await self._store.put(
                        thumbnail_key(upload_id),
                        io.BytesIO(image.thumbnail),
                        size=len(image.thumbnail),
                        content_type="image/jpeg",
                    )
                    stored.append(thumbnail_key(upload_id))
                async with self._db.transaction() as tx:
                    upload = await queries.add_upload(
                        tx,
                        id=upload_id,
                        uploader_id=principal.user_id,
                        filename=_clean_filename(filename),
                        content_type=content_type,
                        size=incoming.size,
                        sha256=incoming.sha256,
                        width=image.width if image else None,
                        height=image.height if image else None,
                        has_thumbnail=len(stored) > 1,
                        created_at=utcnow(),
                    )
                    public = upload_public(upload)
            except BaseException:
                await asyncio.shield(self._forget(stored))
                raise
            log.info("upload.stored", upload_id=str(upload_id), size=incoming.size)
            return public
        finally:
            incoming.close()

    async def _forget(self, keys: list[str]) -> None:
        for key in keys:
            try:
                await self._store.delete(key)
            except Exception:
                log.exception("upload.cleanup_failed", key=key)

    async def get(self, principal: Principal, upload_id: uuid.UUID) -> UploadPublic:
        """The upload, for its uploader and the members of the conversation it is in;
        `upload_not_found` for everyone else (nothing says it exists)."""
        async with self._db.transaction() as tx:
            upload = await queries.find_upload(tx, upload_id)
            if upload is None or upload.deleted_at is not None:
                raise upload_not_found()
            if upload.uploader_id != principal.user_id:
                if upload.conversation_id is None:
                    raise upload_not_found()
                try:
                    await access.load(tx, upload.conversation_id, principal)
                except (NotFound, Forbidden):
                    raise upload_not_found() from None
            return upload_public(upload)

    def read(
        self, upload: UploadPublic, start: int, end: int | None, *, thumbnail: bool = False
    ) -> AsyncIterator[bytes]:
        key = thumbnail_key(upload.id) if thumbnail else file_key(upload.id)
        return self._store.read(key, start, end)

    async def thumbnail_size(self, upload: UploadPublic) -> int:
        size = await self._store.size(thumbnail_key(upload.id))
        if size is None:
            raise NotFound("This upload has no thumbnail.", code="thumbnail_not_found")
        return size

    async def delete_stale(self, *, limit: int = 500) -> int:
        """Remove uploads never attached within the TTL and those of deleted messages."""
        cutoff = utcnow() - self._unattached_ttl
        async with self._db.transaction() as tx:
            stale = await queries.list_stale(tx, created_before=cutoff, limit=limit)
            ids = [u.id for u in stale]
        removed: list[uuid.UUID] = []
        for upload_id in ids:
            try:
                await self._store.delete(file_key(upload_id))
                await self._store.delete(thumbnail_key(upload_id))
            except Exception:
                log.exception("upload.delete_failed", upload_id=str(upload_id))
                continue
            removed.append(upload_id)
        async with self._db.transaction() as tx:
            await queries.delete_uploads(tx, removed)
        return len(removed)


def _clean_filename(name: str | None) -> str | None:
    """The last path segment, without control characters, at most 255 characters."""
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(c for c in base if c >= " " and c != "\x7f").strip()
    return cleaned[:255] or None
