"""Uploads over REST, through httpx multipart and Range requests, on every database."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.support.accounts import Account, direct_chat, register
from tests.support.server import ServerProcess, start_server


def png(width: int = 40, height: int = 30) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (width, height), (200, 10, 10, 128)).save(out, format="PNG")
    return out.getvalue()


def upload(
    api: httpx.Client, who: Account, data: bytes, name: str = "file.bin", claimed: str = ""
) -> httpx.Response:
    return api.post(
        "/api/v1/uploads",
        headers=who.headers,
        files={"file": (name, data, claimed or "application/octet-stream")},
    )


def stored_files(server: ServerProcess) -> list[str]:
    root = Path(server.env["PARLEY_DATA_DIR"]) / "uploads"
    return sorted(p.name for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_an_image_is_stored_with_its_type_size_hash_dimensions_and_thumbnail(
    api: httpx.Client,
) -> None:
    alice = register(api)
    data = png(640, 480)
    answer = upload(api, alice, data, "cat.png", claimed="text/html")  # the header is ignored
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["content_type"] == "image/png"
    assert (body["size"], body["sha256"]) == (len(data), hashlib.sha256(data).hexdigest())
    assert (body["width"], body["height"]) == (640, 480)
    assert body["url"] == f"/api/v1/uploads/{body['id']}"
    assert body["filename"] == "cat.png"
    back = api.get(body["url"], headers=alice.headers)
    assert back.status_code == 200
    assert back.content == data
    assert back.headers["content-type"] == "image/png"
    assert back.headers["accept-ranges"] == "bytes"
    thumb = api.get(body["thumbnail_url"], headers=alice.headers)
    assert thumb.status_code == 200
    with Image.open(io.BytesIO(thumb.content)) as image:
        assert image.format == "JPEG"
        assert max(image.size) == 320


def test_range_requests(api: httpx.Client) -> None:
    alice = register(api)
    data = b"0123456789" * 10_000
    url = upload(api, alice, data, "notes.txt").json()["url"]
    part = api.get(url, headers={**alice.headers, "Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == data[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
    assert part.headers["content-length"] == "10"
    tail = api.get(url, headers={**alice.headers, "Range": "bytes=-5"})
    assert (tail.status_code, tail.content) == (206, data[-5:])
    rest = api.get(url, headers={**alice.headers, "Range": f"bytes={len(data) - 3}-"})
    assert (rest.status_code, rest.content) == (206, data[-3:])
    past = api.get(url, headers={**alice.headers, "Range": f"bytes={len(data)}-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{len(data)}"
    assert past.json()["error"]["code"] == "range_not_satisfiable"
    odd = api.get(url, headers={**alice.headers, "Range": "lines=1-2"})
    assert (odd.status_code, odd.content) == (200, data)


def test_only_the_uploader_reads_an_upload_never_attached(api: httpx.Client) -> None:
    alice, mallory = register(api), register(api)
    url = upload(api, alice, b"secret plans").json()["url"]
    refused = api.get(url, headers=mallory.headers)
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "upload_not_found"
    assert api.get(url).status_code == 401


def test_bad_uploads_are_refused_and_leave_no_file(
    api: httpx.Client, server: ServerProcess
) -> None:
    alice = register(api)
    before = stored_files(server)
    cases = [
        (upload(api, alice, b"MZ\x90\x00\x03" + bytes(200)), 415, "unsupported_media_type"),
        (upload(api, alice, b""), 422, "upload_empty"),
        (
            api.post("/api/v1/uploads", headers=alice.headers, json={"file": "x"}),
            400,
            "multipart_required",
        ),
        (
            api.post("/api/v1/uploads", headers=alice.headers, files={"other": ("a", b"hi")}),
            422,
            "file_required",
        ),
        (
            api.post(
                "/api/v1/uploads",
                headers={**alice.headers, "Content-Type": "multipart/form-data; boundary=zz"},
                content=b"--zz\r\nnot a header line at all",
            ),
            400,
            "malformed_multipart",
        ),
    ]
    for answer, status, code in cases:
        assert answer.status_code == status, answer.text
        assert answer.json()["error"]["code"] == code
    assert stored_files(server) == before


def test_an_upload_over_the_limit_is_refused_while_it_streams(
    tmp_path_factory: pytest.TempPathFactory, database_url: str, server: ServerProcess
) -> None:
    limited = start_server(
        tmp_path_factory.mktemp("limited"),
        {"DATABASE_URL": database_url, "UPLOAD_MAX_BYTES": "100000"},
    )
    try:
        with httpx.Client(base_url=limited.base_url, timeout=15) as client:
            alice = register(client)
            fine = upload(client, alice, b"a" * 100_000)
            assert fine.status_code == 201, fine.text
            big = upload(client, alice, b"a" * 100_001)
            assert big.status_code == 413, big.text
            assert big.json()["error"]["code"] == "upload_too_large"

            def chunks() -> Iterator[bytes]:
                yield b'--b\r\nContent-Disposition: form-data; name="file"\r\n\r\n'
                for _ in range(30):
                    yield b"a" * 10_000

            streamed = client.post(
                "/api/v1/uploads",
                headers={**alice.headers, "Content-Type": "multipart/form-data; boundary=b"},
                content=chunks(),  # chunked: no Content-Length to refuse it by
            )
            assert streamed.status_code == 413, streamed.text
            assert streamed.json()["error"]["code"] == "upload_too_large"
        assert len(stored_files(limited)) == 1
    finally:
        limited.stop()


def test_members_of_the_conversation_read_attached_uploads(api: httpx.Client) -> None:
    alice, bob, carol = register(api), register(api), register(api)
    chat = direct_chat(api, alice, bob)
    data = png()
    uploaded = upload(api, alice, data, "dot.png").json()
    sent = api.post(
        f"/api/v1/conversations/{chat}/messages",
        headers=alice.headers,
        json={"content": "look", "attachments": [{"upload_id": uploaded["id"]}]},
    )
    assert sent.status_code == 201, sent.text
    attachment = sent.json()["attachments"][0]
    assert attachment == {
        "id": uploaded["id"],
        "url": uploaded["url"],
        "thumbnail_url": uploaded["thumbnail_url"],
        "filename": "dot.png",
        "content_type": "image/png",
        "size": len(data),
        "width": 40,
        "height": 30,
    }
    assert api.get(attachment["url"], headers=bob.headers).content == data
    assert api.get(attachment["url"], headers=carol.headers).status_code == 404
    history = api.get(f"/api/v1/conversations/{chat}/messages", headers=bob.headers).json()
    assert history["messages"][0]["attachments"] == [attachment]


def test_only_your_own_unattached_uploads_can_be_attached(api: httpx.Client) -> None:
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    mine = upload(api, alice, b"hello").json()["id"]
    theirs = upload(api, bob, b"hello").json()["id"]
    path = f"/api/v1/conversations/{chat}/messages"

    def send(upload_id: str) -> httpx.Response:
        return api.post(
            path,
            headers=alice.headers,
            json={"content": "", "attachments": [{"upload_id": upload_id}]},
        )

    refused = send(theirs)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "not_your_upload")
    missing = send("00000000-0000-4000-8000-000000000000")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "upload_not_found")
    assert send(mine).status_code == 201  # an attachment alone is a message
    again = send(mine)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "upload_already_attached")
    history = api.get(path, headers=alice.headers).json()["messages"]
    assert len(history) == 1  # the refused sends stored nothing


def test_deleting_a_message_hides_its_files(api: httpx.Client) -> None:
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    uploaded = upload(api, alice, b"soon gone").json()
    sent = api.post(
        f"/api/v1/conversations/{chat}/messages",
        headers=alice.headers,
        json={"content": "x", "attachments": [{"upload_id": uploaded["id"]}]},
    ).json()
    deleted = api.delete(f"/api/v1/messages/{sent['id']}", headers=alice.headers)
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["attachments"] == []
    for who in (alice, bob):
        assert api.get(uploaded["url"], headers=who.headers).status_code == 404
