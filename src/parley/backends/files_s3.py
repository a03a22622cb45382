"""Files in S3-compatible storage (AWS S3, MinIO, any S3 API) through aiobotocore.

`FILE_STORE_URL=s3://bucket/prefix`; the endpoint, region and credentials come from their own
settings (or botocore's usual environment and files when those are empty). One client is
opened at start-up and shared; a ranged read is one GET with a `Range` header.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import IO, Any
from urllib.parse import urlsplit

from aiobotocore.session import get_session
from botocore.config import Config
from botocore.exceptions import ClientError

from parley.domain.ports import FileStore, PresignedUpload, StoredFile, check_file_key
from parley.errors import NotFound

CHUNK_BYTES = 64 * 1024
_MISSING = {"404", "NoSuchKey", "NotFound"}


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` → ("bucket", "some/prefix/")."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"FILE_STORE_URL must look like s3://bucket/prefix, not {url!r}")
    prefix = parts.path.strip("/")
    return parts.netloc, f"{prefix}/" if prefix else ""


def _is_missing(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code")) in _MISSING


class S3FileStore(FileStore):
    def __init__(
        self,
        url: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
    ) -> None:
        self._bucket, self._prefix = parse_s3_url(url)
        self._options: dict[str, Any] = {
            "endpoint_url": endpoint_url or None,
            "region_name": region or None,
            "aws_access_key_id": access_key_id or None,
            "aws_secret_access_key": secret_access_key or None,
            # Path-style addressing works with every S3 API server (MinIO, moto, Ceph).
            "config": Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}),
        }
        self._stack = AsyncExitStack()
        self._client: Any = None

    async def __aenter__(self) -> S3FileStore:
        self._client = await self._stack.enter_async_context(
            get_session().create_client("s3", **self._options)
        )
        return self

    async def aclose(self) -> None:
        await self._stack.aclose()
        self._client = None

    def _key(self, key: str) -> str:
        return self._prefix + check_file_key(key)

    async def put(self, key: str, source: IO[bytes], *, size: int, content_type: str) -> None:
        source.seek(0)
        # One PUT is atomic on S3: the object appears whole or not at all.
        await self._client.put_object(
            Bucket=self._bucket,
            Key=self._key(key),
            Body=source.read(size),
            ContentLength=size,
            ContentType=content_type,
        )

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        ranged = f"bytes={start}-{'' if end is None else end}"
        try:
            answer = await self._client.get_object(
                Bucket=self._bucket, Key=self._key(key), Range=ranged
            )
        except ClientError as exc:
            if _is_missing(exc):
                raise NotFound("No such file.", code="upload_not_found") from None
            raise
        async with answer["Body"] as body:
            async for chunk in body.iter_chunks(CHUNK_BYTES):
                yield chunk

    async def size(self, key: str) -> int | None:
        stored = await self.stat(key)
        return None if stored is None else stored.size

    async def delete(self, key: str) -> None:
        await self._client.delete_object(Bucket=self._bucket, Key=self._key(key))

    async def presign_upload(
        self, key: str, *, max_bytes: int, metadata: dict[str, str], expires_in_secs: int
    ) -> PresignedUpload | None:
        # A presigned POST: its policy, signed, holds the key, the metadata and the size
        # range, so S3 itself refuses a larger file (a presigned PUT cannot bound a size).
        fields = {f"x-amz-meta-{name}": value for name, value in metadata.items()}
        conditions: list[Any] = [{name: value} for name, value in fields.items()]
        conditions.append(["content-length-range", 1, max_bytes])
        answer = await self._client.generate_presigned_post(
            Bucket=self._bucket,
            Key=self._key(key),
            Fields=fields,
            Conditions=conditions,
            ExpiresIn=expires_in_secs,
        )
        return PresignedUpload(
            url=str(answer["url"]),
            method="POST",
            fields={str(k): str(v) for k, v in answer["fields"].items()},
            headers={},
            expires_in_secs=expires_in_secs,
        )

    async def stat(self, key: str) -> StoredFile | None:
        try:
            head = await self._client.head_object(Bucket=self._bucket, Key=self._key(key))
        except ClientError as exc:
            if _is_missing(exc):
                return None
            raise
        metadata = {str(k).lower(): str(v) for k, v in (head.get("Metadata") or {}).items()}
        return StoredFile(int(head["ContentLength"]), metadata)

    async def rename(self, key: str, new_key: str, *, content_type: str) -> bool:
        # S3 has no rename: a copy inside the store (no bytes through Parley), then a delete.
        try:
            await self._client.copy_object(
                Bucket=self._bucket,
                Key=self._key(new_key),
                CopySource={"Bucket": self._bucket, "Key": self._key(key)},
                MetadataDirective="REPLACE",
                ContentType=content_type,
            )
        except ClientError as exc:
            if _is_missing(exc):
                return False
            raise
        await self.delete(key)
        return True

    async def list_keys(self, prefix: str) -> AsyncIterator[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self._bucket, Prefix=self._key(prefix)):
            for item in page.get("Contents", []):
                yield str(item["Key"])[len(self._prefix) :]
