"""`/api/v1/uploads`: upload a file (multipart, streamed, or presigned: straight to the store,
then completed), read it or its thumbnail back (Range requests), for the uploader and the
members of the conversation it is attached to."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from fastapi import APIRouter, Request, Response, status

from parley.api.deps import CurrentUser, RuntimeDep
from parley.api.multipart_stream import read_file_part
from parley.api.ranges import ranged_response
from parley.domain.uploads.schemas import PresignedPublic, PresignRequest, UploadPublic

router = APIRouter(prefix="/api/v1/uploads", tags=["uploads"])

UPLOAD_PATH = "/api/v1/uploads"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file"],
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                }
            },
        }
    },
)
async def upload(request: Request, runtime: RuntimeDep, user: CurrentUser) -> UploadPublic:
    """The file in the part named `file`. Its type is read from its bytes; images get their
    `width`, `height` and a thumbnail. Attach it to a message with `attachments: [{upload_id}]`."""
    incoming = runtime.uploads.begin()
    try:
        filename = await read_file_part(
            request, incoming.write, max_file_bytes=runtime.uploads.max_bytes
        )
    except BaseException:
        incoming.close()
        raise
    return await runtime.uploads.finish(user, incoming, filename)


@router.post("/presign", status_code=status.HTTP_201_CREATED)
async def presign(body: PresignRequest, runtime: RuntimeDep, user: CurrentUser) -> PresignedPublic:
    """Where to send a file straight to the store (S3): a form POST of `fields` and then the
    file (at most `size` bytes, the store enforces it) to `url` before `expires_at`; then
    `POST complete_url`. 501 `presign_not_supported` on a local file store."""
    return await runtime.uploads.presign(user, body)


@router.post("/{upload_id}/complete", status_code=status.HTTP_201_CREATED)
async def complete(
    upload_id: uuid.UUID, response: Response, runtime: RuntimeDep, user: CurrentUser
) -> UploadPublic:
    """Check and record a presigned upload sent to the store: the same body as a multipart
    upload (201; 200 when it was completed before). A refused file is deleted from the store
    (413 `upload_too_large`, 415 `unsupported_media_type`, 422 `upload_empty`); an id that is
    not the caller's, was never sent, or is past `UPLOAD_UNATTACHED_TTL`: 404."""
    upload, created = await runtime.uploads.complete(user, upload_id)
    if not created:
        response.status_code = status.HTTP_200_OK
    return upload


@router.get("/{upload_id}", response_class=Response)
async def download(
    upload_id: uuid.UUID, request: Request, runtime: RuntimeDep, user: CurrentUser
) -> Response:
    """The file's bytes (`Range: bytes=…` gives 206; past the end, 416)."""
    found = await runtime.uploads.get(user, upload_id)
    disposition = "inline" if found.content_type.startswith("image/") else "attachment"
    if found.filename:
        disposition += f"; filename*=UTF-8''{quote(found.filename)}"
    return await ranged_response(
        request,
        size=found.size,
        content_type=found.content_type,
        read=lambda first, last: runtime.uploads.read(found, first, last),
        headers={
            "ETag": f'"{found.sha256}"',
            "Content-Disposition": disposition,
            "Cache-Control": "private, max-age=86400",
        },
    )


@router.get("/{upload_id}/thumbnail", response_class=Response)
async def thumbnail(
    upload_id: uuid.UUID, request: Request, runtime: RuntimeDep, user: CurrentUser
) -> Response:
    """An image's thumbnail (at most 320 px a side); 404 `thumbnail_not_found` otherwise."""
    found = await runtime.uploads.get(user, upload_id)
    size = await runtime.uploads.thumbnail_size(found)
    return await ranged_response(
        request,
        size=size,
        content_type="image/jpeg",
        read=lambda first, last: runtime.uploads.read(found, first, last, thumbnail=True),
        headers={"Cache-Control": "private, max-age=86400"},
    )
