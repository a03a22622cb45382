"""Parley serving uploads from S3 (moto's real server), and the cleanup removing uploads never
attached and the files of deleted messages, from the bucket as from the database."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.accounts import direct_chat, register
from tests.support.s3_server import S3Server
from tests.support.server import ServerProcess, start_server
from tests.uploads.test_uploads_api import png, upload


def s3_parley(
    tmp_path_factory: pytest.TempPathFactory, s3_server: S3Server, **extra: str
) -> tuple[ServerProcess, str]:
    bucket = f"parley-{uuid.uuid4().hex[:12]}"
    s3_server.create_bucket(bucket)
    server = start_server(
        Path(tmp_path_factory.mktemp("s3-parley")), {**s3_server.settings(bucket), **extra}
    )
    return server, bucket


@pytest.fixture(scope="module")
def on_s3(
    tmp_path_factory: pytest.TempPathFactory, s3_server: S3Server
) -> Iterator[tuple[ServerProcess, str]]:
    server, bucket = s3_parley(tmp_path_factory, s3_server)
    yield server, bucket
    server.stop()


@pytest.fixture(scope="module")
def cleaning(
    tmp_path_factory: pytest.TempPathFactory, s3_server: S3Server
) -> Iterator[tuple[ServerProcess, str]]:
    server, bucket = s3_parley(
        tmp_path_factory, s3_server, UPLOAD_UNATTACHED_TTL="3s", CLEANUP_INTERVAL="1s"
    )
    yield server, bucket
    server.stop()


def test_uploads_live_in_the_bucket_and_read_back_in_ranges(
    on_s3: tuple[ServerProcess, str], s3_server: S3Server
) -> None:
    server, bucket = on_s3
    with httpx.Client(base_url=server.base_url, timeout=15) as api:
        alice, bob = register(api), register(api)
        image = png(500, 100)
        uploaded = upload(api, alice, image, "wide.png").json()
        assert (uploaded["width"], uploaded["height"]) == (500, 100)
        hexed = uuid.UUID(uploaded["id"]).hex
        assert s3_server.list_keys(bucket) == [f"uploads/{hexed}", f"uploads/{hexed}.thumb"]
        part = api.get(uploaded["url"], headers={**alice.headers, "Range": "bytes=1-3"})
        assert (part.status_code, part.content) == (206, image[1:4])
        chat = direct_chat(api, alice, bob)
        sent = api.post(
            f"/api/v1/conversations/{chat}/messages",
            headers=alice.headers,
            json={"content": "", "attachments": [{"upload_id": uploaded["id"]}]},
        )
        assert sent.status_code == 201, sent.text
        assert api.get(uploaded["url"], headers=bob.headers).content == image
        thumb = api.get(uploaded["thumbnail_url"], headers=bob.headers)
        assert thumb.headers["content-type"] == "image/jpeg"


def cleanup_rounds(server: ServerProcess) -> Iterator[dict[str, Any]]:
    after = 0
    while True:
        line = server.wait_for_log('"cleanup.done"', after=after)
        after = server.log_lines.index(line) + 1
        yield json.loads(line)


def test_the_cleanup_removes_unattached_uploads_and_deleted_messages_files(
    cleaning: tuple[ServerProcess, str], s3_server: S3Server
) -> None:
    server, bucket = cleaning
    with httpx.Client(base_url=server.base_url, timeout=15) as api:
        alice, bob = register(api), register(api)
        chat = direct_chat(api, alice, bob)
        lonely = upload(api, alice, b"never attached").json()
        kept = upload(api, alice, b"attached and kept").json()
        dropped = upload(api, alice, b"attached, then deleted").json()
        sends = {}
        for item in (kept, dropped):
            sent = api.post(
                f"/api/v1/conversations/{chat}/messages",
                headers=alice.headers,
                json={"content": "f", "attachments": [{"upload_id": item["id"]}]},
            )
            assert sent.status_code == 201, sent.text  # attached within the 3 s TTL
            sends[item["id"]] = sent.json()["id"]
        deleted = api.delete(f"/api/v1/messages/{sends[dropped['id']]}", headers=alice.headers)
        assert deleted.status_code == 200
        removed = 0
        for report in cleanup_rounds(server):
            removed += report["uploads"]
            if removed >= 2:
                break
        keys = s3_server.list_keys(bucket)
        assert keys == [f"uploads/{uuid.UUID(kept['id']).hex}"]
        assert api.get(lonely["url"], headers=alice.headers).status_code == 404
        assert api.get(kept["url"], headers=bob.headers).content == b"attached and kept"
