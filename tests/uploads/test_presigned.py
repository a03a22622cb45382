"""Presigned uploads: presign over REST, the file sent straight to the S3 API (moto's real
server) as the HTML-form POST the answer describes, then completed over REST; and the local
store's refusal.

moto's server does not check a presigned POST's policy or signature (its size range, key,
expiry): whatever it lets through, `complete` holds to the same limits as a multipart upload,
and these tests say which of the two refused.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.accounts import Account, direct_chat, register
from tests.support.s3_server import S3Server
from tests.support.server import ServerProcess
from tests.uploads.test_s3_and_cleanup import cleanup_rounds, s3_parley
from tests.uploads.test_uploads_api import png, upload

MAX_BYTES = 64 * 1024


@pytest.fixture(scope="module")
def presigning(
    tmp_path_factory: pytest.TempPathFactory, s3_server: S3Server
) -> Iterator[tuple[ServerProcess, str]]:
    server, bucket = s3_parley(tmp_path_factory, s3_server, UPLOAD_MAX_BYTES=str(MAX_BYTES))
    yield server, bucket
    server.stop()


@pytest.fixture(scope="module")
def expiring(
    tmp_path_factory: pytest.TempPathFactory, s3_server: S3Server
) -> Iterator[tuple[ServerProcess, str]]:
    server, bucket = s3_parley(
        tmp_path_factory, s3_server, UPLOAD_UNATTACHED_TTL="2s", CLEANUP_INTERVAL="1s"
    )
    yield server, bucket
    server.stop()


def presign(
    api: httpx.Client, who: Account, size: int, filename: str = "cat.png", **extra: Any
) -> httpx.Response:
    return api.post(
        "/api/v1/uploads/presign",
        headers=who.headers,
        json={"filename": filename, "content_type": "image/png", "size": size, **extra},
    )


def send_to_store(presigned: dict[str, Any], data: bytes) -> httpx.Response:
    """What a browser's form does: the fields, then the file as the last part."""
    assert presigned["method"] == "POST"
    return httpx.post(
        presigned["url"],
        data=presigned["fields"],
        files={"file": ("blob", data, "application/octet-stream")},
        timeout=15,
    )


def complete(api: httpx.Client, who: Account, presigned: dict[str, Any]) -> httpx.Response:
    return api.post(presigned["complete_url"], headers=who.headers)


def pending(s3_server: S3Server, bucket: str) -> list[str]:
    return [k for k in s3_server.list_keys(bucket) if k.startswith("uploads/pending-")]


def test_presign_send_complete_then_read_as_a_multipart_upload_is_read(
    presigning: tuple[ServerProcess, str], s3_server: S3Server
) -> None:
    server, bucket = presigning
    with httpx.Client(base_url=server.base_url, timeout=15) as api:
        alice, bob, carol = register(api), register(api), register(api)
        image = png(400, 200)
        answer = presign(api, alice, len(image), filename="Ünïcode cat.png")
        assert answer.status_code == 201, answer.text
        presigned = answer.json()
        assert presigned["max_size"] == len(image)
        assert presigned["headers"] == {}
        assert presigned["complete_url"] == f"/api/v1/uploads/{presigned['upload_id']}/complete"
        # The policy Parley signed: this key only, 1..size bytes, the filename as metadata.
        policy = json.loads(base64.b64decode(presigned["fields"]["policy"]))
        assert ["content-length-range", 1, len(image)] in policy["conditions"]
        assert {"key": presigned["fields"]["key"]} in policy["conditions"]
        assert presigned["fields"]["key"].startswith("uploads/pending-")

        stored = send_to_store(presigned, image)
        assert stored.status_code == 204, stored.text
        assert (
            api.get(f"/api/v1/uploads/{presigned['upload_id']}", headers=alice.headers).status_code
            == 404
        )

        done = complete(api, alice, presigned)
        assert done.status_code == 201, done.text
        body = done.json()
        assert body["id"] == presigned["upload_id"]
        assert (body["content_type"], body["size"]) == ("image/png", len(image))
        assert body["sha256"] == hashlib.sha256(image).hexdigest()
        assert (body["width"], body["height"]) == (400, 200)
        assert body["filename"] == "Ünïcode cat.png"
        assert set(body) == set(upload(api, alice, b"same shape\n").json())
        hexed = uuid.UUID(body["id"]).hex
        keys = s3_server.list_keys(bucket)
        assert f"uploads/{hexed}" in keys
        assert f"uploads/{hexed}.thumb" in keys
        assert pending(s3_server, bucket) == []

        again = complete(api, alice, presigned)  # idempotent: the same upload, nothing new
        assert again.status_code == 200
        assert again.json() == body

        # Reading: the uploader; the members of a conversation it is attached to; no one else.
        assert api.get(body["url"], headers=alice.headers).content == image
        assert api.get(body["url"], headers=bob.headers).status_code == 404
        chat = direct_chat(api, alice, bob)
        sent = api.post(
            f"/api/v1/conversations/{chat}/messages",
            headers=alice.headers,
            json={"content": "", "attachments": [{"upload_id": body["id"]}]},
        )
        assert sent.status_code == 201, sent.text
        assert sent.json()["attachments"][0]["id"] == body["id"]
        assert api.get(body["url"], headers=bob.headers).content == image
        assert api.get(body["thumbnail_url"], headers=bob.headers).status_code == 200
        assert api.get(body["url"], headers=carol.headers).status_code == 404
        assert api.get(body["url"]).status_code == 401


def test_only_the_one_who_presigned_completes(
    presigning: tuple[ServerProcess, str], s3_server: S3Server
) -> None:
    server, bucket = presigning
    with httpx.Client(base_url=server.base_url, timeout=15) as api:
        alice, mallory = register(api), register(api)
        data = b"a note for later\n"
        presigned = presign(api, alice, len(data), filename="note.txt").json()
        assert send_to_store(presigned, data).status_code == 204
        stolen = complete(api, mallory, presigned)
        assert (stolen.status_code, stolen.json()["error"]["code"]) == (404, "upload_not_found")
        assert len(pending(s3_server, bucket)) == 1  # untouched: still alice's to complete
        done = complete(api, alice, presigned)
        assert done.status_code == 201, done.text
        assert done.json()["content_type"] == "text/plain"
        assert complete(api, mallory, presigned).status_code == 404
        unknown = api.post(f"/api/v1/uploads/{uuid.uuid4()}/complete", headers=alice.headers)
        assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "upload_not_found")
        far_future = "f8463cd1-8389-7c06-8827-ecebc299f156"  # a UUIDv7 of the year 10 000 +
        assert (
            api.post(f"/api/v1/uploads/{far_future}/complete", headers=alice.headers).status_code
            == 404
        )
        never_sent = presign(api, alice, 10).json()
        assert complete(api, alice, never_sent).status_code == 404
        assert api.post(presigned["complete_url"]).status_code == 401


def test_an_oversized_file_is_refused_by_the_store_or_by_complete(
    presigning: tuple[ServerProcess, str], s3_server: S3Server
) -> None:
    server, bucket = presigning
    with httpx.Client(base_url=server.base_url, timeout=15) as api:
        alice = register(api)
        too_big = presign(api, alice, MAX_BYTES + 1)
        assert (too_big.status_code, too_big.json()["error"]["code"]) == (413, "upload_too_large")
        assert too_big.json()["error"]["details"]["limit_bytes"] == MAX_BYTES

        # A client that sends more than it presigned, and more than the limit (S3 refuses it
        # by the signed content-length-range; moto stores it).
        presigned = presign(api, alice, 100, filename="small.txt").json()
        sent = send_to_store(presigned, b"x" * (MAX_BYTES + 10))
        if sent.status_code >= 400:
            assert pending(s3_server, bucket) == []  # refused by the store itself
            return
        refused = complete(api, alice, presigned)
        assert (refused.status_code, refused.json()["error"]["code"]) == (413, "upload_too_large")
        assert pending(s3_server, bucket) == []  # deleted when refused
        assert complete(api, alice, presigned).status_code == 404


def test_a_file_of_a_type_not_allowed_is_refused_and_deleted(
    presigning: tuple[ServerProcess, str], s3_server: S3Server
) -> None:
    server, bucket = presigning
    with httpx.Client(base_url=server.base_url, timeout=15) as api:
        alice = register(api)
        claimed = presign(api, alice, 10, content_type="application/x-msdownload")
        assert (claimed.status_code, claimed.json()["error"]["code"]) == (
            415,
            "unsupported_media_type",
        )
        # Presigned as a PNG, then swapped for an executable: the bytes decide.
        executable = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(range(256))
        presigned = presign(api, alice, len(executable)).json()
        assert send_to_store(presigned, executable).status_code == 204
        refused = complete(api, alice, presigned)
        assert refused.status_code == 415, refused.text
        assert refused.json()["error"]["code"] == "unsupported_media_type"
        assert pending(s3_server, bucket) == []
        assert (
            api.get(f"/api/v1/uploads/{presigned['upload_id']}", headers=alice.headers).status_code
            == 404
        )
        assert complete(api, alice, presigned).status_code == 404


def test_pending_uploads_never_completed_are_removed_and_then_unknown(
    expiring: tuple[ServerProcess, str], s3_server: S3Server
) -> None:
    server, bucket = expiring
    with httpx.Client(base_url=server.base_url, timeout=15) as api:
        alice = register(api)
        data = b"sent, never completed\n"
        presigned = presign(api, alice, len(data), filename="late.txt").json()
        assert send_to_store(presigned, data).status_code == 204
        assert len(pending(s3_server, bucket)) == 1
        removed = 0
        for report in cleanup_rounds(server):
            removed += report["pending_uploads"]
            if removed >= 1:
                break
        assert pending(s3_server, bucket) == []
        late = complete(api, alice, presigned)
        assert (late.status_code, late.json()["error"]["code"]) == (404, "upload_not_found")
        assert s3_server.list_keys(bucket) == []


def test_the_local_store_answers_presign_not_supported(api: httpx.Client) -> None:
    alice = register(api)
    answer = presign(api, alice, 100)
    assert answer.status_code == 501, answer.text
    assert answer.json()["error"]["code"] == "presign_not_supported"
    assert (
        api.post(f"/api/v1/uploads/{uuid.uuid4()}/complete", headers=alice.headers).status_code
        == 404
    )
    bad = api.post("/api/v1/uploads/presign", headers=alice.headers, json={"size": "lots"})
    assert bad.status_code == 422


async def test_completions_at_once_make_one_upload_and_keep_its_files(
    presigning: tuple[ServerProcess, str], s3_server: S3Server
) -> None:
    server, bucket = presigning
    with httpx.Client(base_url=server.base_url, timeout=15) as api:
        alice = register(api)
        image = png(200, 200)
        presigned = presign(api, alice, len(image)).json()
        assert send_to_store(presigned, image).status_code == 204
    async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as client:
        answers = await asyncio.gather(
            *(client.post(presigned["complete_url"], headers=alice.headers) for _ in range(4))
        )
    # One makes it; the others get it (200) or, caught mid-move, 409 `upload_completing`.
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(201) == 1, [a.text for a in answers]
    assert set(statuses) <= {200, 201, 409}, [a.text for a in answers]
    for answer in answers:
        if answer.status_code == 409:
            assert answer.json()["error"]["code"] == "upload_completing"
    assert len({a.json()["id"] for a in answers if a.status_code != 409}) == 1
    with httpx.Client(base_url=server.base_url, timeout=15) as api:
        assert complete(api, alice, presigned).status_code == 200  # asked again: made
    hexed = uuid.UUID(presigned["upload_id"]).hex
    assert f"uploads/{hexed}" in s3_server.list_keys(bucket)
    assert pending(s3_server, bucket) == []
    with httpx.Client(base_url=server.base_url, timeout=15) as api:
        made = next(a for a in answers if a.status_code == 201).json()
        assert api.get(made["url"], headers=alice.headers).content == image
