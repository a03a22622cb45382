"""The edge JSON policy on sockets: a frame or packet that could not be stored or delivered
gets an error (on its ack when it has one), the connection stays open, nothing is stored.
And one size limit per message: large messages reach every listener, too large ones are
refused on every transport."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import orjson
import pytest
import socketio.exceptions

from tests.api.test_input_policy import BAD_FIELDS, MAX_MESSAGE_BYTES, nested, payload_of_size
from tests.support.accounts import Account, register
from tests.support.clients import RECEIVE_TIMEOUT_SECS, WsClient
from tests.support.server import ServerProcess, start_server
from tests.support.sio import SioClient


@pytest.fixture
async def opened() -> AsyncIterator[list[WsClient | SioClient]]:
    clients: list[WsClient | SioClient] = []
    yield clients
    for client in clients:
        if isinstance(client, WsClient):
            await client.close()
        else:
            await client.disconnect()


def open_room(api: httpx.Client, owner: Account) -> str:
    room = api.post(
        "/api/v1/conversations",
        headers=owner.headers,
        json={"kind": "room", "name": f"edge-{uuid.uuid4().hex[:8]}"},
    )
    assert room.status_code == 201, room.text
    return str(room.json()["id"])


def history(api: httpx.Client, who: Account, room: str) -> list[dict[str, Any]]:
    page = api.get(f"/api/v1/conversations/{room}/messages", headers=who.headers)
    assert page.status_code == 200, page.text
    assert api.get("/api/v1/conversations", headers=who.headers).status_code == 200
    return page.json()["messages"]  # type: ignore[no-any-return]


async def sio_client(
    server: ServerProcess, who: Account, opened: list[WsClient | SioClient], transport: str
) -> SioClient:
    client = SioClient()
    opened.append(client)
    await client.connect(server.base_url, auth={"token": who.access_token}, transports=[transport])
    await client.expect("authenticated")
    return client


async def test_websocket_frames_that_break_the_policy_get_errors(
    api: httpx.Client, server: ServerProcess, opened: list[WsClient | SioClient]
) -> None:
    alice = register(api)
    room = open_room(api, alice)
    client = await WsClient.open(server.base_url, alice.access_token)
    opened.append(client)
    await client.ack("join_room", {"room_id": room})
    for number, (name, (fields, where)) in enumerate(BAD_FIELDS.items()):
        frame = (
            f'{{"type":"send_message","id":"bad{number}","data":{{"room_id":"{room}",{fields}}}}}'
        )
        await client.send(frame)
        error = await client.expect("error")
        assert error["code"] == "validation_error", (name, error)
        field = error["details"]["fields"][0]["field"]
        if where == "body":  # not decodable at all: no id to answer by
            assert "id" not in error, (name, error)
            assert field == "body", (name, error)
        else:
            assert error["id"] == f"bad{number}", (name, error)
            assert field.startswith(f"data.{where}"), (name, error)
    # An id that cannot be echoed is left out of the answer (the refusal is elsewhere).
    for bad_id in ("18446744073709551616", '"a\\ud800"', '"a\\u0000"'):
        await client.send(f'{{"type":"ping","data":{{"k":"\\ud800"}},"id":{bad_id}}}')
        error = await client.expect("error")
        assert error["code"] == "validation_error"
        assert "id" not in error, error
    # A bad field outside `data`, and one nested past the encoder's limit in `data`.
    await client.send(f'{{"type":"ping","id":"p1","extra":{nested(40)}}}')
    assert (await client.expect("error"))["details"]["fields"][0]["field"].startswith("extra.k")
    assert await client.ack("ping") == {"pong": True}
    assert await client.ack("send_message", {"room_id": room, "content": "fine"})
    assert [m["content"] for m in history(api, alice, room)] == ["fine"]


async def test_gameplay_frames_that_break_the_policy_get_errors(
    api: httpx.Client, server: ServerProcess, opened: list[WsClient | SioClient]
) -> None:
    alice = register(api)
    client = await WsClient.open(server.base_url, alice.access_token, path="/ws/gameplay")
    opened.append(client)
    for settings in (nested(300), '{"name":"a\\u0000"}', '{"n":18446744073709551616}'):
        await client.send(f'{{"type":"create_room","id":"c","data":{{"settings":{settings}}}}}')
        error = await client.expect("error")
        assert (error["code"], error["id"]) == ("validation_error", "c"), error
        assert error["details"]["fields"][0]["field"].startswith("data.settings")
    assert await client.ack("ping") == {"pong": True}
    assert await client.ack("list_rooms") is not None


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_socketio_packets_that_break_the_policy_get_errors(
    api: httpx.Client,
    server: ServerProcess,
    opened: list[WsClient | SioClient],
    transport: str,
) -> None:
    alice = register(api)
    room = open_room(api, alice)
    client = await sio_client(server, alice, opened, transport)
    await client.call("join", {"room_id": room})
    deep: dict[str, Any] = {"k": 1}
    for _ in range(40):
        deep = {"k": deep}
    # python-socketio encodes with the stdlib: all of these reach the server as sent.
    bad_payloads = {
        "lone surrogate": {"k": "\ud800"},
        "NUL": {"k": "a\x00b"},
        "too deep": deep,
        "integer past 64 bits": {"n": 2**64},
        "NaN": {"n": float("nan")},
    }
    for name, payload in bad_payloads.items():
        answer = await client.call("message", {"room_id": room, "content": "x", "payload": payload})
        error = answer["error"]
        assert (error["code"], error["event"]) == ("validation_error", "message"), (name, error)
        assert error["details"]["fields"][0]["field"].startswith("1.payload"), (name, error)
    # Without an ack the refusal comes as an `error` event.
    await client.emit("message", {"room_id": room, "content": "a\x00b"})
    assert (await client.expect("error"))["code"] == "validation_error"
    await client.emit("a\ud800", {"room_id": room})  # an event name that cannot be echoed
    assert "event" not in (await client.expect("error"))
    stored = await client.call("message", {"room_id": room, "content": "fine"})
    assert stored["content"] == "fine"
    assert [m["content"] for m in history(api, alice, room)] == ["fine"]


async def test_a_socketio_connect_that_breaks_the_policy_is_refused(
    server: ServerProcess,
) -> None:
    refused = SioClient()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.client.connect(
            server.base_url,
            auth={"token": "x\x00y"},
            transports=["websocket"],
            wait_timeout=RECEIVE_TIMEOUT_SECS,
        )
    refusal = await refused.expect("connect_error")
    assert refusal["data"]["code"] == "validation_error"


async def test_large_messages_reach_every_listener_and_too_large_ones_are_refused(
    api: httpx.Client, server: ServerProcess, opened: list[WsClient | SioClient]
) -> None:
    alice, sender = register(api), register(api)
    room = open_room(api, alice)
    ws = await WsClient.open(server.base_url, alice.access_token)
    opened.append(ws)
    await ws.ack("join_room", {"room_id": room})
    sio_ws = await sio_client(server, alice, opened, "websocket")
    sio_polling = await sio_client(server, alice, opened, "polling")
    for client in (sio_ws, sio_polling):
        await client.call("join", {"room_id": room})
    writer = await WsClient.open(server.base_url, sender.access_token)
    opened.append(writer)
    await writer.ack("join_room", {"room_id": room})

    largest = payload_of_size(MAX_MESSAGE_BYTES)
    for number in range(4):  # a few maximum-size messages in a row, from REST and /ws
        body = {"content": "x", "payload": {**largest}}
        if number % 2:
            stored = await writer.ack("send_message", {"room_id": room, **body})
        else:
            response = api.post(
                f"/api/v1/conversations/{room}/messages", headers=sender.headers, json=body
            )
            assert response.status_code == 201, response.text[:300]
            stored = response.json()
        assert stored["seq"] == number + 1
    for number in range(1, 5):
        frame = await ws.next(
            lambda f, n=number: f["type"] == "new_message" and f["data"]["seq"] == n
        )
        assert frame["data"]["payload"] == largest
        for client in (sio_ws, sio_polling):
            message = await client.expect_where("message", lambda m, n=number: m["seq"] == n)
            assert message["payload"] == largest

    # Too large, on every transport; the connection stays open.
    a_megabyte = payload_of_size(1_000_000)
    response = api.post(
        f"/api/v1/conversations/{room}/messages",
        headers=sender.headers,
        json={"content": "x", "payload": a_megabyte},
    )
    assert response.status_code == 413, response.text[:300]
    too_large = await writer.command(
        "send_message", {"room_id": room, "content": "x", "payload": payload_of_size(100_000)}
    )
    assert too_large["code"] == "message_too_large"
    # Just under the transports' own limits (1 MB), which end the connection.
    almost_a_megabyte = payload_of_size(900_000)
    await writer.send(
        {"type": "send_message", "data": {"room_id": room, "payload": almost_a_megabyte}}
    )
    assert (await writer.expect("error"))["code"] == "frame_too_large"
    for client in (sio_ws, sio_polling):
        answer = await client.call(
            "message", {"room_id": room, "content": "x", "payload": almost_a_megabyte}
        )
        assert answer["error"]["code"] == "message_too_large"

    # Everyone is still connected, and a reconnect catches up on the large ones.
    assert await ws.ack("ping") == {"pong": True}
    assert await writer.ack("ping") == {"pong": True}
    for client in (sio_ws, sio_polling):
        assert (await client.call("heartbeat"))["status"] == "alive"
    again = await WsClient.open(server.base_url)
    opened.append(again)
    await again.send({"type": "auth", "data": {"token": alice.access_token, "since": {room: 0}}})
    synced = await again.expect("synced")
    assert synced["data"]["conversations"][room]["delivered"] == 4
    assert len(history(api, alice, room)) == 4


@pytest.fixture(scope="module")
def byte_bound_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(
        tmp_path_factory.mktemp("outbox-bytes"), {"OUTBOX_LIMIT_BYTES": str(4 * MAX_MESSAGE_BYTES)}
    )
    yield server
    server.stop()


async def test_a_polling_outbox_is_bounded_in_bytes(byte_bound_server: ServerProcess) -> None:
    """A long-polling client that stops polling is closed once its outbox holds more than
    OUTBOX_LIMIT_BYTES, long before OUTBOX_LIMIT frames."""
    server = byte_bound_server
    sync_api = httpx.Client(base_url=server.base_url, timeout=RECEIVE_TIMEOUT_SECS)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=RECEIVE_TIMEOUT_SECS) as http:
        alice = register(sync_api)
        room = open_room(sync_api, alice)
        opened = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
        sid = orjson.loads(opened.text[1:])["sid"]
        params = {"EIO": "4", "transport": "polling", "sid": sid}

        async def post(*packets: str) -> None:
            answer = await http.post("/socket.io/", params=params, content="\x1e".join(packets))
            assert answer.text == "ok"

        async def poll() -> str:
            return (await http.get("/socket.io/", params=params)).text

        await post("40" + orjson.dumps({"token": alice.access_token}).decode())
        greeting = ""
        while '"authenticated"' not in greeting:
            greeting += await poll()
        await post("421" + orjson.dumps(["join", {"room_id": room}]).decode())
        while "431" not in await poll():
            pass
        # The client stops polling; five maximum-size messages arrive for it.
        body = {"content": "x", "payload": payload_of_size(MAX_MESSAGE_BYTES)}
        for _ in range(5):
            sent = sync_api.post(
                f"/api/v1/conversations/{room}/messages", headers=alice.headers, json=body
            )
            assert sent.status_code == 201
        line = await asyncio.to_thread(server.wait_for_log, "connection.too_slow")
        assert orjson.loads(line)["queued"] < 5, line  # OUTBOX_LIMIT is 1000 frames
        gone = await http.get("/socket.io/", params=params)
        assert gone.status_code == 400 or gone.text == "1", gone.text
    sync_api.close()


async def test_a_catch_up_larger_than_the_outbox_comes_in_parts(
    byte_bound_server: ServerProcess,
) -> None:
    """Reconnecting with `since` behind more bytes than OUTBOX_LIMIT_BYTES: each catch-up
    sends what fits (`has_more` says there is more), and the connection is not closed."""
    server = byte_bound_server
    with httpx.Client(base_url=server.base_url, timeout=RECEIVE_TIMEOUT_SECS) as api:
        alice = register(api)
        room = open_room(api, alice)
        body = {"content": "x", "payload": payload_of_size(MAX_MESSAGE_BYTES)}
        for _ in range(6):  # about 1.5 times OUTBOX_LIMIT_BYTES
            sent = api.post(
                f"/api/v1/conversations/{room}/messages", headers=alice.headers, json=body
            )
            assert sent.status_code == 201
    client = await WsClient.open(server.base_url)
    await client.send({"type": "auth", "data": {"token": alice.access_token, "since": {room: 0}}})
    report = (await client.expect("synced"))["data"]["conversations"][room]
    parts = 1
    while report["has_more"]:
        assert 0 < report["delivered"] < 6
        report = await client.ack("sync", {"since": {room: report["last_seq"]}})
        report = report["conversations"][room]
        parts += 1
    assert report["last_seq"] == 6
    assert parts > 1
    seqs = [f["data"]["seq"] for f in client.seen if f["type"] == "new_message"]
    assert seqs == [1, 2, 3, 4, 5, 6]
    assert await client.ack("ping") == {"pong": True}
    await client.close()


@pytest.fixture(scope="module")
def frame_bound_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(tmp_path_factory.mktemp("outbox-frames"), {"OUTBOX_LIMIT": "20"})
    yield server
    server.stop()


async def test_a_catch_up_longer_than_the_outbox_comes_in_parts(
    frame_bound_server: ServerProcess,
) -> None:
    """Reconnecting over long-polling behind more messages than OUTBOX_LIMIT frames."""
    server = frame_bound_server
    with httpx.Client(base_url=server.base_url, timeout=RECEIVE_TIMEOUT_SECS) as api:
        alice = register(api)
        room = open_room(api, alice)
        for number in range(30):
            sent = api.post(
                f"/api/v1/conversations/{room}/messages",
                headers=alice.headers,
                json={"content": f"m{number}"},
            )
            assert sent.status_code == 201
    client = SioClient()
    await client.connect(
        server.base_url,
        auth={"token": alice.access_token, "since": {room: 0}},
        transports=["polling"],
    )
    try:
        report = (await client.expect("synced"))["conversations"][room]
        parts = 1
        while report["has_more"]:
            assert 0 < report["delivered"] < 30
            answer = await client.call("sync", {"since": {room: report["last_seq"]}})
            report = answer["conversations"][room]
            parts += 1
        assert (report["last_seq"], parts > 1) == (30, True)
        seqs = [m["seq"] for m in client.drain("message")]
        assert seqs == list(range(1, 31))
        assert (await client.call("heartbeat"))["status"] == "alive"
    finally:
        await client.disconnect()


async def test_a_catch_up_in_parts_with_live_messages_between_repeats_nothing(
    frame_bound_server: ServerProcess,
) -> None:
    """Live messages flow after an incomplete catch-up; the next parts stop where they began,
    so every message arrives exactly once."""
    server = frame_bound_server
    with httpx.Client(base_url=server.base_url, timeout=RECEIVE_TIMEOUT_SECS) as api:
        alice = register(api)
        room = open_room(api, alice)

        def post(content: str) -> None:
            sent = api.post(
                f"/api/v1/conversations/{room}/messages",
                headers=alice.headers,
                json={"content": content},
            )
            assert sent.status_code == 201

        for number in range(30):
            post(f"m{number}")
        client = SioClient()
        await client.connect(
            server.base_url,
            auth={"token": alice.access_token, "since": {room: 0}},
            transports=["polling"],
        )
        try:
            report = (await client.expect("synced"))["conversations"][room]
            assert report["has_more"]
            for number in range(3):  # live, while the client still has a gap
                post(f"live{number}")
            seqs: list[int] = []
            while 33 not in seqs:
                seqs.append((await client.expect("message"))["seq"])
            while report["has_more"]:
                answer = await client.call("sync", {"since": {room: report["last_seq"]}})
                report = answer["conversations"][room]
            assert (await client.call("heartbeat"))["status"] == "alive"
            seqs += [m["seq"] for m in client.drain("message")]
        finally:
            await client.disconnect()
    assert sorted(seqs) == list(range(1, 34)), seqs  # each once
    first_part = seqs[: seqs.index(31)]
    assert first_part == list(range(1, len(first_part) + 1))
    assert seqs[len(first_part) : len(first_part) + 3] == [31, 32, 33]
