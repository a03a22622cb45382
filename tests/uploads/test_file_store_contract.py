"""One contract, two file stores: the local directory and S3 (against moto's real server)."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from parley.backends import create_file_store
from parley.domain.ports import FileStore
from parley.errors import NotFound
from tests.support.s3_server import S3Server

DATA = bytes(range(256)) * 1000  # 256 000 bytes: several read chunks


@pytest.fixture(params=["local", "s3"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, s3_server: S3Server
) -> AsyncIterator[FileStore]:
    if request.param == "local":
        made = create_file_store("", local_root=tmp_path / "files")
    else:
        bucket = f"contract-{uuid.uuid4().hex[:12]}"
        s3_server.create_bucket(bucket)
        s3 = s3_server.settings(bucket)
        made = create_file_store(
            s3["FILE_STORE_URL"],
            local_root=tmp_path,
            endpoint_url=s3["S3_ENDPOINT_URL"],
            region=s3["S3_REGION"],
            access_key_id=s3["S3_ACCESS_KEY_ID"],
            secret_access_key=s3["S3_SECRET_ACCESS_KEY"],
        )
    async with made as opened:
        yield opened


async def _read(store: FileStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in store.read(key, start, end)])


async def test_put_then_read_whole_and_ranges(store: FileStore) -> None:
    await store.put("abc123", io.BytesIO(DATA), size=len(DATA), content_type="image/png")
    assert await store.size("abc123") == len(DATA)
    assert await _read(store, "abc123") == DATA
    assert await _read(store, "abc123", 0, 0) == DATA[:1]
    assert await _read(store, "abc123", 1000, 200_999) == DATA[1000:201_000]
    assert await _read(store, "abc123", len(DATA) - 10) == DATA[-10:]


async def test_put_replaces_and_reads_only_the_given_size(store: FileStore) -> None:
    await store.put("k1", io.BytesIO(b"first version"), size=13, content_type="text/plain")
    source = io.BytesIO(b"second-and-more")
    source.seek(7)  # put reads from the start, whatever the position
    await store.put("k1", source, size=6, content_type="text/plain")
    assert await _read(store, "k1") == b"second"


async def test_missing_keys(store: FileStore) -> None:
    assert await store.size("nothing-here") is None
    with pytest.raises(NotFound) as caught:
        await _read(store, "nothing-here")
    assert caught.value.code == "upload_not_found"
    await store.delete("nothing-here")  # not an error


async def test_delete(store: FileStore) -> None:
    await store.put("gone", io.BytesIO(b"x" * 10), size=10, content_type="text/plain")
    await store.delete("gone")
    assert await store.size("gone") is None


@pytest.mark.parametrize("key", ["../escape", "a/b", "", ".hidden", "a\x00b", "x" * 300])
async def test_keys_cannot_leave_the_store(store: FileStore, key: str) -> None:
    with pytest.raises(ValueError, match="not a file store key"):
        await store.put(key, io.BytesIO(b"x"), size=1, content_type="text/plain")
    with pytest.raises(ValueError, match="not a file store key"):
        await _read(store, key)


async def test_presigned_upload_where_supported(store: FileStore) -> None:
    body = b"straight to storage"
    presigned = await store.presign_upload(
        "direct", max_bytes=len(body), metadata={"filename": "a%20b.txt"}, expires_in_secs=60
    )
    if presigned is None:  # the local directory: uploads go through Parley
        return
    assert presigned.method == "POST"
    async with httpx.AsyncClient(timeout=10) as client:
        answer = await client.post(
            presigned.url, data=presigned.fields, files={"file": ("x", body, "text/plain")}
        )
    assert answer.status_code == 204, answer.text
    assert await _read(store, "direct") == body
    found = await store.stat("direct")
    assert found is not None
    assert (found.size, found.metadata) == (len(body), {"filename": "a%20b.txt"})


async def test_rename_moves_a_file_and_says_when_there_was_none(store: FileStore) -> None:
    await store.put("pending-a", io.BytesIO(DATA), size=len(DATA), content_type="text/plain")
    assert await store.rename("pending-a", "final-a", content_type="image/png") is True
    assert await store.size("pending-a") is None
    assert await _read(store, "final-a") == DATA
    assert await store.rename("pending-a", "final-a", content_type="image/png") is False
    assert await _read(store, "final-a") == DATA


async def test_list_keys_by_prefix(store: FileStore) -> None:
    for key in ("pending-1", "pending-2", "other"):
        await store.put(key, io.BytesIO(b"x"), size=1, content_type="text/plain")
    assert sorted([key async for key in store.list_keys("pending-")]) == ["pending-1", "pending-2"]
    assert [key async for key in store.list_keys("none-")] == []


async def test_stat_gives_size_and_metadata(store: FileStore) -> None:
    await store.put("plain", io.BytesIO(b"12345"), size=5, content_type="text/plain")
    found = await store.stat("plain")
    assert found is not None
    assert found.size == 5
    assert await store.stat("missing") is None
