"""Receiving uploads, reading them back for those allowed, and removing stale ones.

An upload is streamed into a temporary file while it is counted and hashed (refused once
past the size limit), typed by its first bytes, an image measured and thumbnailed, and only
then stored and recorded: a failure leaves no file and no row. A presigned upload goes the
other way round: the client sends the file to the store (under a pending key naming its
uploader), then asks to complete it: read back and checked the same way, moved to its own
key and recorded, or deleted. The cleanup removes pending files older than the unattached
TTL (their id's time says when they were made).
"""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from urllib.parse import quote, unquote

import structlog
from sqlalchemy.exc import IntegrityError

from parley.db import uploads as queries
from parley.db.database import Database
from parley.db.models import Upload
from parley.db.types import utcnow
from parley.domain.accounts.principal import Principal
from parley.domain.conversations import access
from parley.domain.ids import uuid7, uuid7_time
from parley.domain.keyed_locks import KeyedLocks
from parley.domain.ports import FileStore
from parley.domain.uploads.attach import upload_not_found
from parley.domain.uploads.images import inspect_image
from parley.domain.uploads.incoming import IncomingFile, clean_filename, too_large
from parley.domain.uploads.keys import (
    FILENAME_META,
    PENDING_PREFIX,
    file_key,
    pending_key,
    pending_time,
    thumbnail_key,
)
from parley.domain.uploads.schemas import (
    PresignedPublic,
    PresignRequest,
    UploadPublic,
    upload_url,
)
from parley.domain.uploads.sniff import sniff
from parley.errors import (
    Conflict,
    Forbidden,
    NotFound,
    NotSupported,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)

log = structlog.get_logger(__name__)


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


class UploadService:
    def __init__(
        self,
        db: Database,
        store: FileStore,
        *,
        max_bytes: int,
        allowed_types: Sequence[str],
        unattached_ttl_secs: float,
        presign_expires_secs: float = 900,
    ) -> None:
        self._db = db
        self._store = store
        self.max_bytes = max_bytes
        self._allowed = {t.strip().lower() for t in allowed_types}
        self._unattached_ttl = timedelta(seconds=unattached_ttl_secs)  # and for presigned ones
        self._presign_expires_secs = max(1, int(presign_expires_secs))
        self._completing = KeyedLocks()

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
            return await self.keep(principal, incoming, filename, uuid.uuid4())
        finally:
            incoming.close()

    async def store_bytes(
        self, principal: Principal, data: bytes, filename: str | None
    ) -> UploadPublic:
        """An upload whose bytes came whole (a Socket.IO binary attachment): the same
        limits, sniffing and thumbnail as a streamed one."""
        incoming = self.begin()
        try:
            incoming.write(data)
        except BaseException:
            incoming.close()
            raise
        return await self.finish(principal, incoming, filename)

    async def keep(
        self,
        principal: Principal,
        incoming: IncomingFile,
        filename: str | None,
        upload_id: uuid.UUID,
        *,
        from_key: str | None = None,
    ) -> UploadPublic:
        """Check what arrived (empty, type), inspect an image, put the file in the store (or,
        from `from_key`, move it there: a presigned upload) and record it. Nothing is
        left behind on a failure, except the file of a concurrent completion that won."""
        if incoming.size == 0:
            raise ValidationFailed("The file is empty.", code="upload_empty", field="file")
        content_type = self._content_type(incoming.head)
        image = None
        if content_type.startswith("image/"):
            image = await asyncio.to_thread(inspect_image, incoming.file)
        stored: list[str] = []
        try:
            if from_key is None:
                await self._store.put(
                    file_key(upload_id),
                    incoming.file,
                    size=incoming.size,
                    content_type=content_type,
                )
            elif not await self._store.rename(
                from_key, file_key(upload_id), content_type=content_type
            ):
                raise Conflict(  # a concurrent completion moved it first, or it is gone
                    "Another request is completing this upload; ask again.",
                    code="upload_completing",
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
                    filename=clean_filename(filename),
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
            # Two completions of one presigned upload may both have copied it: the one
            # whose row is in keeps the files.
            if (
                from_key is None
                or await asyncio.shield(self.find_own(principal, upload_id)) is None
            ):
                await asyncio.shield(self._forget(stored))
            raise
        log.info("upload.stored", upload_id=str(upload_id), size=incoming.size)
        return public

    async def find_own(self, principal: Principal, upload_id: uuid.UUID) -> UploadPublic | None:
        async with self._db.transaction() as tx:
            upload = await queries.find_upload(tx, upload_id)
            if upload is None or upload.uploader_id != principal.user_id:
                return None
            if upload.deleted_at is not None:
                return None
            return upload_public(upload)

    async def discard(self, principal: Principal, upload_ids: Sequence[uuid.UUID]) -> None:
        """Remove uploads of `principal`'s that no message carries (a send that stored them
        and was then refused): their files, then their rows."""
        async with self._db.transaction() as tx:
            found = await queries.find_uploads(tx, upload_ids)
            ids = [
                u.id
                for u in found.values()
                if u.uploader_id == principal.user_id and u.message_id is None
            ]
        for upload_id in ids:
            await self._forget([file_key(upload_id), thumbnail_key(upload_id)])
        async with self._db.transaction() as tx:
            await queries.delete_uploads(tx, ids)

    # -- presigned: the client sends the bytes straight to the store ---------------------------

    async def presign(self, principal: Principal, request: PresignRequest) -> PresignedPublic:
        """Where the client may send one file of at most `request.size` bytes; 501
        `presign_not_supported` on a store without (a local directory)."""
        if request.size > self.max_bytes:
            raise too_large(self.max_bytes)
        claimed = (request.content_type or "").split(";")[0].strip().lower()
        if claimed and claimed not in self._allowed:
            raise UnsupportedMediaType(
                "This kind of file is not accepted.",
                detected=claimed,
                allowed=sorted(self._allowed),
            )
        upload_id = uuid7()  # its time is when the presign was made: see `complete`
        filename = clean_filename(request.filename)
        metadata = {FILENAME_META: quote(filename, safe="")} if filename else {}
        presigned = await self._store.presign_upload(
            pending_key(principal.user_id, upload_id),
            max_bytes=request.size,
            metadata=metadata,
            expires_in_secs=self._presign_expires_secs,
        )
        if presigned is None:
            raise NotSupported(
                "This server's file store takes no direct uploads: POST the file to "
                "/api/v1/uploads instead.",
                code="presign_not_supported",
            )
        return PresignedPublic(
            upload_id=upload_id,
            method=presigned.method,
            url=presigned.url,
            fields=presigned.fields,
            headers=presigned.headers,
            expires_at=utcnow() + timedelta(seconds=presigned.expires_in_secs),
            max_size=request.size,
            complete_url=f"{upload_url(upload_id)}/complete",
        )

    async def complete(
        self, principal: Principal, upload_id: uuid.UUID
    ) -> tuple[UploadPublic, bool]:
        """Check a presigned upload the client has sent to the store and record it; returns
        it and whether this call made it (a repeat returns the same upload). A refused file
        is deleted from the store. 404 `upload_not_found` for an id that is someone else's,
        never sent, or older than the pending TTL. One completion of an id at a time here;
        another instance's at the same moment gets 409 or the same upload."""
        async with self._completing.hold(upload_id):
            return await self._complete(principal, upload_id)

    async def _complete(
        self, principal: Principal, upload_id: uuid.UUID
    ) -> tuple[UploadPublic, bool]:
        existing = await self.find_own(principal, upload_id)
        if existing is not None:
            return existing, False
        key = pending_key(principal.user_id, upload_id)
        made = uuid7_time(upload_id)
        if made is None:
            raise upload_not_found()
        if utcnow() - made > self._unattached_ttl:
            await self._forget([key])
            raise upload_not_found()
        stat = await self._store.stat(key)
        if stat is None:
            return await self._completed_meanwhile(principal, upload_id), False
        try:
            if stat.size > self.max_bytes:
                raise too_large(self.max_bytes)
            incoming = self.begin()
            try:
                async for chunk in self._store.read(key):
                    incoming.write(chunk)
                filename = unquote(stat.metadata.get(FILENAME_META, "")) or None
                return await self.keep(principal, incoming, filename, upload_id, from_key=key), True
            finally:
                incoming.close()
        except (PayloadTooLarge, UnsupportedMediaType, ValidationFailed):
            log.info("upload.presigned_refused", upload_id=str(upload_id), size=stat.size)
            await asyncio.shield(self._forget([key]))
            raise
        except (NotFound, IntegrityError):
            # Taken meanwhile by a concurrent completion (recorded, or on its way).
            return await self._completed_meanwhile(principal, upload_id), False

    async def _completed_meanwhile(
        self, principal: Principal, upload_id: uuid.UUID
    ) -> UploadPublic:
        """No pending file: a concurrent completion took it (409 until its row is in), or none."""
        if (existing := await self.find_own(principal, upload_id)) is not None:
            return existing
        async with self._db.transaction() as tx:
            recorded = await queries.find_upload(tx, upload_id) is not None
        if not recorded and await self._store.stat(file_key(upload_id)) is not None:
            raise Conflict("Another request is completing this upload.", code="upload_completing")
        raise upload_not_found()

    async def delete_stale_pending(self, *, limit: int = 500) -> int:
        """Remove presigned uploads never completed within the TTL of their presign."""
        cutoff = utcnow() - self._unattached_ttl
        stale: list[str] = []
        async for key in self._store.list_keys(PENDING_PREFIX):
            made = pending_time(key)
            if made is None or made < cutoff:
                stale.append(key)
                if len(stale) >= limit:
                    break
        await self._forget(stale)
        return len(stale)

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
