"""Files as Socket.IO binary attachments: `send_message` / `message` with bytes in
`attachments[i].data`, and `upload` with bytes in `data`, through python-socketio and the Node
socket.io-client 4.8; a member receives the message and downloads the files over REST; bad
binary is refused with a stable code, the connection stays, and nothing is stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.accounts import Account, direct_chat, register
from tests.support.js import run_js
from tests.support.server import ServerProcess, start_server
from tests.support.sio import SioClient
from tests.uploads.test_uploads_api import png, stored_files, upload

MAX_BYTES = 40_000
EXECUTABLE = b"MZ\x90\x00\x03\x00\x00\x00" + bytes(range(256))


@pytest.fixture(scope="module")
def files_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Its own data directory (so what it stores can be counted), a small upload limit, and
    room for more attachments in a packet than a message may carry."""
    server = start_server(
        Path(tmp_path_factory.mktemp("binary-files")),
        {"UPLOAD_MAX_BYTES": str(MAX_BYTES), "SIO_MAX_ATTACHMENTS": "16"},
    )
    yield server
    server.stop()


@pytest.fixture
def files_api(files_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=files_server.base_url, timeout=15) as client:
        yield client


async def signed_in(server: ServerProcess, who: Account, transport: str) -> SioClient:
    client = SioClient()
    await client.connect(server.base_url, auth={"token": who.access_token}, transports=[transport])
    await client.expect("authenticated")
    return client


def history(api: httpx.Client, who: Account, chat: str) -> list[dict[str, Any]]:
    answer = api.get(f"/api/v1/conversations/{chat}/messages", headers=who.headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["messages"])


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_python_socketio_sends_files_a_member_receives_and_downloads_them(
    files_server: ServerProcess, files_api: httpx.Client, transport: str
) -> None:
    api = files_api
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    earlier = upload(api, alice, b"uploaded before\n", "before.txt").json()
    image = png(300, 150)
    alice_sio = await signed_in(files_server, alice, transport)
    bob_sio = await signed_in(files_server, bob, "websocket")
    try:
        answer = await alice_sio.call(
            "send_message",
            {
                "room_id": chat,
                "content": "",
                "attachments": [
                    {"data": image, "filename": "cat.png"},
                    {"upload_id": earlier["id"]},
                    {"file": b"notes\n", "name": "notes.txt"},
                ],
            },
        )
        assert "error" not in answer, answer
        kinds = [(a["content_type"], a["filename"]) for a in answer["attachments"]]
        assert kinds == [
            ("image/png", "cat.png"),
            ("text/plain", "before.txt"),
            ("text/plain", "notes.txt"),
        ]
        heard = await bob_sio.expect_where("message", lambda m: m.get("id") == answer["id"])
        picture = heard["attachments"][0]
        assert (picture["width"], picture["height"], picture["size"]) == (300, 150, len(image))
        got = api.get(picture["url"], headers=bob.headers)
        assert (got.status_code, got.content) == (200, image)
        thumbnail = api.get(picture["thumbnail_url"], headers=bob.headers)
        assert thumbnail.headers["content-type"] == "image/jpeg"
        notes = api.get(heard["attachments"][2]["url"], headers=bob.headers)
        assert notes.content == b"notes\n"
        outsider = register(api)
        assert api.get(picture["url"], headers=outsider.headers).status_code == 404
        assert (await alice_sio.call("heartbeat"))["status"] == "alive"
    finally:
        await alice_sio.disconnect()
        await bob_sio.disconnect()


async def test_the_upload_event_answers_what_a_multipart_upload_does(
    files_server: ServerProcess, files_api: httpx.Client
) -> None:
    api = files_api
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    image = png(64, 48)
    alice_sio = await signed_in(files_server, alice, "polling")
    try:
        made = await alice_sio.call("upload", {"data": image, "filename": "dot.png"})
        assert "error" not in made, made
        assert set(made) == set(upload(api, alice, b"x\n").json())
        assert (made["content_type"], made["size"]) == ("image/png", len(image))
        assert made["sha256"] == hashlib.sha256(image).hexdigest()
        assert (made["width"], made["height"]) == (64, 48)
        assert api.get(made["url"], headers=alice.headers).content == image
        sent = await alice_sio.call(
            "message", {"room_id": chat, "attachments": [{"upload_id": made["id"]}]}
        )
        assert sent["attachments"][0]["id"] == made["id"]
        assert api.get(made["url"], headers=bob.headers).content == image

        as_text = await alice_sio.call("upload", {"data": "aGVsbG8=", "filename": "b64.txt"})
        assert as_text["error"]["code"] == "validation_error"
        in_name = await alice_sio.call("upload", {"data": b"hi\n", "filename": b"name"})
        assert in_name["error"]["code"] == "binary_not_supported"
        too_big = await alice_sio.call("upload", {"data": b"a" * (MAX_BYTES + 1)})
        assert too_big["error"]["code"] == "upload_too_large"
        assert (await alice_sio.call("heartbeat"))["status"] == "alive"
    finally:
        await alice_sio.disconnect()


def good(name: str = "ok.png") -> dict[str, Any]:
    return {"data": png(20, 20), "filename": name}


REFUSALS: list[tuple[str, Any, str]] = [
    (
        "too big",
        [good(), {"data": b"b" * (MAX_BYTES + 1), "filename": "big.txt"}],
        "upload_too_large",
    ),
    (
        "a type not allowed",
        [good(), {"data": EXECUTABLE, "filename": "x.exe"}],
        "unsupported_media_type",
    ),
    ("empty", [good(), {"data": b"", "filename": "empty.txt"}], "upload_empty"),
    ("too many", [{"data": b"%d\n" % i} for i in range(11)], "too_many_attachments"),
    ("bytes as the filename", [{"data": b"hi\n", "filename": b"n"}], "binary_not_supported"),
]


@pytest.mark.parametrize(("case", "attachments", "code"), REFUSALS, ids=[r[0] for r in REFUSALS])
async def test_bad_binary_is_refused_with_a_code_and_nothing_is_stored(
    files_server: ServerProcess,
    files_api: httpx.Client,
    case: str,
    attachments: list[dict[str, Any]],
    code: str,
) -> None:
    api = files_api
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    before = stored_files(files_server)
    alice_sio = await signed_in(files_server, alice, "websocket")
    try:
        refused = await alice_sio.call(
            "send_message", {"room_id": chat, "content": case, "attachments": attachments}
        )
        assert refused["error"]["code"] == code, refused
        assert refused["error"]["event"] == "send_message"
        assert (await alice_sio.call("heartbeat"))["status"] == "alive"
        sent = await alice_sio.call("send_message", {"room_id": chat, "content": "still here"})
        assert sent["content"] == "still here"
    finally:
        await alice_sio.disconnect()
    assert stored_files(files_server) == before
    assert [m["content"] for m in history(api, alice, chat)] == ["still here"]


async def test_bytes_elsewhere_and_sends_that_are_refused_leave_nothing(
    files_server: ServerProcess, files_api: httpx.Client
) -> None:
    api = files_api
    alice, bob, outsider = register(api), register(api), register(api)
    chat = direct_chat(api, alice, bob)
    before = stored_files(files_server)
    client = await signed_in(files_server, outsider, "polling")
    try:
        not_member = await client.call("send_message", {"room_id": chat, "attachments": [good()]})
        assert not_member["error"]["code"] in ("not_a_member", "conversation_not_found")
        in_content = await client.call("message", {"room_id": chat, "content": b"x"})
        assert in_content["error"]["code"] == "binary_not_supported"
        in_payload = await client.call(
            "message", {"room_id": chat, "attachments": [good()], "payload": {"b": b"\x00"}}
        )
        assert in_payload["error"]["code"] == "binary_not_supported"
        elsewhere = await client.call("typing", {"room_id": chat, "x": b"\x00"})
        assert elsewhere["error"]["code"] == "binary_not_supported"
        assert (await client.call("heartbeat"))["status"] == "alive"
    finally:
        await client.disconnect()
    alice_sio = await signed_in(files_server, alice, "websocket")
    try:
        first = await alice_sio.call(
            "send_message",
            {"room_id": chat, "client_msg_id": "once", "attachments": [good("a.png")]},
        )
        assert len(first["attachments"]) == 1
        files_after_first = stored_files(files_server)
        again = await alice_sio.call(
            "send_message",
            {"room_id": chat, "client_msg_id": "once", "attachments": [good("a.png")]},
        )
        assert again["id"] == first["id"]  # the resend's files are not kept
        assert stored_files(files_server) == files_after_first
    finally:
        await alice_sio.disconnect()
    assert len(stored_files(files_server)) == len(before) + 2  # one image and its thumbnail


def test_socket_io_client_sends_a_buffer_attachment_with_ack(
    files_server: ServerProcess, files_api: httpx.Client, tmp_path: Path
) -> None:
    api = files_api
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    image = png(120, 80)
    (tmp_path / "cat.png").write_bytes(image)
    outcome = run_js(
        "attachments.mjs",
        files_server.base_url,
        alice.access_token,
        bob.access_token,
        chat,
        str(tmp_path / "cat.png"),
    )
    for transport in ("websocket", "polling"):
        seen = outcome[transport]
        assert seen["transport"] == transport
        attachment = seen["sent"]["attachments"][0]
        assert (attachment["filename"], attachment["content_type"]) == (
            f"cat-{transport}.png",
            "image/png",
        )
        assert (attachment["width"], attachment["height"]) == (120, 80)
        assert seen["refused"]["error"]["code"] == "unsupported_media_type"
        assert seen["heartbeat"]["status"] == "alive"
        assert seen["connected"] is True
    received = outcome["bob_received"]
    assert [m["content"] for m in received] == ["a file over websocket", "a file over polling"]
    for message in received:
        got = api.get(message["attachments"][0]["url"], headers=bob.headers)
        assert (got.status_code, got.content) == (200, image)
    contents = [m["content"] for m in history(api, alice, chat)]
    assert sorted(contents) == ["a file over polling", "a file over websocket"]


async def test_a_send_with_files_keeps_its_place_among_sends_around_it(
    files_server: ServerProcess, files_api: httpx.Client
) -> None:
    """Sent back to back without waiting for acks: text, a file, text. The file's send
    stores its bytes before it is queued for commit; it must still be stored second."""
    api = files_api
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    alice_sio = await signed_in(files_server, alice, "websocket")
    bob_sio = await signed_in(files_server, bob, "websocket")
    try:
        await alice_sio.emit("send_message", {"room_id": chat, "content": "one"})
        await alice_sio.emit(
            "send_message",
            {"room_id": chat, "content": "two", "attachments": [good("big.png")]},
        )
        await alice_sio.emit("send_message", {"room_id": chat, "content": "three"})
        heard = [await bob_sio.expect("message") for _ in range(3)]
    finally:
        await alice_sio.disconnect()
        await bob_sio.disconnect()
    assert [m["content"] for m in heard] == ["one", "two", "three"]
    assert [m["seq"] for m in heard] == sorted(m["seq"] for m in heard)
    assert len(heard[1]["attachments"]) == 1
