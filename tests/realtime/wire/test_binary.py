"""Socket.IO binary packets end to end, byte by byte over WebSocket and long-polling, with
python-socketio's client and with socket.io-client 4.8: against `parley serve` and against
`parley protocol-server` (binary echoed as binary).

Parley's own events take no bytes but as files (`tests/uploads/test_binary_attachments`): bytes
anywhere else are `binary_not_supported`, answered after the attachments, the connection alive,
nothing stored; the JSON input policy holds for the JSON part of a binary
packet; what the reference server treats as a decoding failure (an attachment nobody waits
for, a text packet before the last attachment, more attachments than `SIO_MAX_ATTACHMENTS`, an
illegal placeholder, base64 that is not) closes the connection; and a packet with its
attachments is bounded by `SIO_MAX_PAYLOAD_BYTES` as a whole.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.accounts import Account, register
from tests.support.clients import RECEIVE_TIMEOUT_SECS
from tests.support.js import run_js
from tests.support.server import ServerProcess, start_server
from tests.support.sio import SioClient

MAX_PAYLOAD_BYTES = 32_768
MAX_ATTACHMENTS = 3
P0 = '{"_placeholder":true,"num":0}'
P1 = '{"_placeholder":true,"num":1}'


@pytest.fixture(scope="module")
def binary_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {
        "SIO_MAX_PAYLOAD_BYTES": str(MAX_PAYLOAD_BYTES),
        "SIO_MAX_ATTACHMENTS": str(MAX_ATTACHMENTS),
    }
    server = start_server(Path(tmp_path_factory.mktemp("binary")), env)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api(binary_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=binary_server.base_url, timeout=15) as client:
        yield client


@pytest.fixture(scope="module")
def alice(api: httpx.Client) -> Account:
    return register(api)


@pytest.fixture
def room(api: httpx.Client, alice: Account) -> str:
    name = f"bin-{uuid.uuid4().hex[:8]}"
    created = api.post(
        "/api/v1/conversations", headers=alice.headers, json={"kind": "room", "name": name}
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def stored(api: httpx.Client, account: Account, room: str) -> list[str]:
    answer = api.get(f"/api/v1/conversations/{room}/messages", headers=account.headers)
    assert answer.status_code == 200, answer.text
    return [m["content"] for m in answer.json()["messages"]]


class BinarySocket:
    """Engine.IO over WebSocket by hand, signed in on `/`: text and binary frames as sent."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    @classmethod
    async def open(cls, server: ServerProcess, token: str) -> BinarySocket:
        url = f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket"
        socket = cls(await connect(url, open_timeout=RECEIVE_TIMEOUT_SECS))
        await socket.next(lambda p: p.startswith("0{"))
        await socket.send("40" + orjson.dumps({"token": token}).decode())
        await socket.next(lambda p: p.startswith('42["authenticated"'))
        return socket

    async def send(self, *frames: str | bytes) -> None:
        for frame in frames:
            await self.connection.send(frame)

    async def next(self, match: Any) -> str | bytes:
        async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
            while True:
                frame = await self.connection.recv()
                if frame == "2":
                    await self.send("3")
                elif match(frame):
                    return frame

    async def ack(self, ack_id: int) -> Any:
        prefix = f"43{ack_id}["
        frame = await self.next(lambda p: isinstance(p, str) and p.startswith(prefix))
        assert isinstance(frame, str)
        return orjson.loads(frame[len(prefix) - 1 :])[0]

    async def error_event(self) -> Any:
        frame = await self.next(lambda p: isinstance(p, str) and p.startswith('42["error"'))
        assert isinstance(frame, str)
        return orjson.loads(frame[2:])[1]

    async def alive(self, ack_id: int = 900) -> None:
        await self.send(f'42{ack_id}["heartbeat",{{}}]')
        assert (await self.ack(ack_id))["status"] == "alive"

    async def closed(self) -> int | None:
        try:
            await self.next(lambda _: False)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else None
        raise AssertionError("not closed")  # pragma: no cover: next() only ends by raising

    async def close(self) -> None:
        await self.connection.close()


@pytest.fixture
async def raw(binary_server: ServerProcess, alice: Account) -> AsyncIterator[BinarySocket]:
    socket = await BinarySocket.open(binary_server, alice.access_token)
    yield socket
    await socket.close()


# -- Parley's own events -------------------------------------------------------------------------


async def test_a_chat_command_with_bytes_is_refused_on_its_ack_and_nothing_is_stored(
    raw: BinarySocket, api: httpx.Client, alice: Account, room: str
) -> None:
    await raw.send(f'42["join",{{"room_id":"{room}"}}]')
    data = f'{{"room_id":"{room}","content":"with bytes","payload":{{"blob":{P0},"k":[{P1}]}}}}'
    await raw.send(f'452-5["message",{data}]', b"\x00\x01", b"\xff")
    error = (await raw.ack(5))["error"]
    assert (error["code"], error["event"]) == ("binary_not_supported", "message")
    await raw.send(f'451-6["message",{{"room_id":"{room}","content":{P0}}}]', b"x")
    assert (await raw.ack(6))["error"]["code"] == "binary_not_supported"
    await raw.alive()
    assert stored(api, alice, room) == []
    await raw.send(f'427["message",{{"room_id":"{room}","content":"text"}}]')
    assert (await raw.ack(7))["content"] == "text"  # the socket still sends


async def test_without_an_ack_the_refusal_is_the_error_event(raw: BinarySocket, room: str) -> None:
    await raw.send(f'451-["typing",{{"room_id":"{room}","is_typing":true,"x":{P0}}}]', b"\x01")
    error = await raw.error_event()
    assert (error["code"], error["event"]) == ("binary_not_supported", "typing")
    await raw.alive()


async def test_a_binary_packet_of_no_attachments_is_a_plain_event(raw: BinarySocket) -> None:
    await raw.send('450-8["heartbeat",{}]')
    assert (await raw.ack(8))["status"] == "alive"


async def test_the_input_policy_holds_for_the_json_of_a_binary_packet(
    raw: BinarySocket, api: httpx.Client, alice: Account, room: str
) -> None:
    # Answered once the attachments are in (they are the packet's, not strays).
    nul = f'{{"room_id":"{room}","content":"a\\u0000b","payload":{{"b":{P0}}}}}'
    await raw.send(f'451-9["message",{nul}]', b"\x01")
    error = (await raw.ack(9))["error"]
    assert (error["code"], error["event"]) == ("validation_error", "message")
    deep = "[" * 40 + "]" * 40
    await raw.send(f'451-10["message",{{"room_id":"{room}","payload":{deep},"b":{P0}}}]', b"1")
    assert (await raw.ack(10))["error"]["code"] == "validation_error"
    await raw.alive()
    assert stored(api, alice, room) == []


async def test_a_binary_ack_from_the_client_is_read_and_the_connection_stays(
    raw: BinarySocket,
) -> None:
    # Parley asks clients for no acknowledgement; one that comes anyway is read and dropped.
    await raw.send(f"461-3[{P0}]", b"\x01")
    await raw.alive()


async def test_an_attachment_as_a_base64_text_frame_counts_as_binary(raw: BinarySocket) -> None:
    # engine.io's parser reads `b<base64>` as a binary message on any transport.
    await raw.send(f'451-11["heartbeat",{P0}]', "b" + base64.b64encode(b"\x01\x02").decode())
    assert (await raw.ack(11))["error"]["code"] == "binary_not_supported"
    await raw.alive()


# -- what cannot be decoded closes the connection ------------------------------------------


@pytest.mark.parametrize(
    "frames",
    [
        [b"\x01"],  # an attachment nobody waits for
        [f'452-["heartbeat",{P0},{P1}]', b"\x01", '42["heartbeat"]'],  # text before the last
        [f'451-["heartbeat",{P0}]', "b!!!"],  # not base64: an invalid Engine.IO packet
        [f'45{MAX_ATTACHMENTS + 1}-["heartbeat"]'],  # too many
        ['451-["heartbeat",{"_placeholder":true,"num":1}]', b"\x01"],  # no such attachment
        ['451-["heartbeat",{"_placeholder":true,"num":0,"x":1}]', b"\x01"],
        ['450-["heartbeat",{"_placeholder":true,"num":0}]'],  # a placeholder, no attachment
        ['45-["heartbeat"]'],  # no count
        ['45x-["heartbeat"]'],
        ['451["heartbeat"]'],  # no dash
        ['451-{"not":"an event"}'],
        ["461-{}", b"\x01"],  # an ack's arguments are an array
        ["451-[", b"\x01"],  # not JSON
        ["45"],
        ["46"],
    ],
    ids=[
        "stray",
        "text-between",
        "not-base64",
        "too-many",
        "placeholder-past-count",
        "placeholder-extra-key",
        "placeholder-without-attachment",
        "no-count",
        "count-not-digits",
        "no-dash",
        "event-not-an-array",
        "ack-not-an-array",
        "not-json",
        "bare-5",
        "bare-6",
    ],
)
async def test_what_cannot_be_decoded_closes_the_connection(
    raw: BinarySocket, frames: list[str | bytes]
) -> None:
    # As the reference server does (it closes on each of these), and as Parley does for a
    # text packet that cannot be decoded.
    await raw.send(*frames)
    assert await raw.closed() == 1002


async def test_a_packet_and_its_attachments_are_bounded_together(
    binary_server: ServerProcess, alice: Account
) -> None:
    third = MAX_PAYLOAD_BYTES // 3
    fits = await BinarySocket.open(binary_server, alice.access_token)
    await fits.send(f'452-1["heartbeat",{P0},{P1}]', b"a" * third, b"b" * third)
    assert (await fits.ack(1))["error"]["code"] == "binary_not_supported"
    await fits.close()
    over = await BinarySocket.open(binary_server, alice.access_token)
    await over.send(f'453-["heartbeat",{P0},{P1},{P1}]', b"a" * third, b"b" * third, b"c" * third)
    assert await over.closed() == 4413
    one = await BinarySocket.open(binary_server, alice.access_token)
    await one.send(f'451-["heartbeat",{P0}]', b"x" * (MAX_PAYLOAD_BYTES + 1))
    assert await one.closed() == 4413


# -- long-polling ----------------------------------------------------------------------------------


class Polling:
    def __init__(self, http: httpx.AsyncClient, sid: str) -> None:
        self.http = http
        self.params = {"EIO": "4", "transport": "polling", "sid": sid}

    @classmethod
    async def open(cls, http: httpx.AsyncClient, token: str) -> Polling:
        opened = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
        polling = cls(http, orjson.loads(opened.text[1:])["sid"])
        assert (
            await polling.post("0" + orjson.dumps({"token": token}).decode())
        ).status_code == 200
        await polling.until('42["authenticated"')
        return polling

    async def post(self, *packets: str) -> httpx.Response:
        body = "\x1e".join("4" + p if not p.startswith("b") else p for p in packets)
        return await self.http.post("/socket.io/", params=self.params, content=body.encode())

    async def until(self, prefix: str) -> str:
        async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
            while True:
                answer = await self.http.get("/socket.io/", params=self.params)
                if answer.status_code != 200:
                    return f"HTTP {answer.status_code}"
                for packet in answer.text.split("\x1e"):
                    if packet == "2":
                        await self.post_raw("3")
                    elif packet.startswith(prefix) or packet == "1":
                        return packet

    async def post_raw(self, body: str) -> None:
        await self.http.post("/socket.io/", params=self.params, content=body.encode())


@pytest.fixture
async def http(binary_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=binary_server.base_url, timeout=30) as client:
        yield client


async def test_over_polling_attachments_are_base64_records(
    http: httpx.AsyncClient, alice: Account
) -> None:
    polling = await Polling.open(http, alice.access_token)
    record = "b" + base64.b64encode(b"\x00\xff").decode()
    assert (await polling.post(f'51-4["heartbeat",{P0}]', record)).status_code == 200
    answer = await polling.until("434[")
    assert orjson.loads(answer[3:])[0]["error"]["code"] == "binary_not_supported"
    assert (await polling.post('25["heartbeat",{}]')).status_code == 200
    assert orjson.loads((await polling.until("435["))[3:])[0]["status"] == "alive"


@pytest.mark.parametrize(
    ("packets", "status"),
    [
        ([f'51-["heartbeat",{P0}]', "b!!!"], 400),  # not base64: refused before it is read
        (["bAQID"], 200),  # a stray attachment: read, then the session closes
        ([f'52-["heartbeat",{P0},{P1}]', "bAQ==", '2["heartbeat"]'], 200),
    ],
    ids=["not-base64", "stray", "text-between"],
)
async def test_over_polling_what_cannot_be_decoded_closes_the_session(
    http: httpx.AsyncClient, alice: Account, packets: list[str], status: int
) -> None:
    polling = await Polling.open(http, alice.access_token)
    assert (await polling.post(*packets)).status_code == status
    assert await polling.until("43") in ("1", "HTTP 400")


# -- real clients ----------------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_python_socketio_gets_binary_not_supported(
    binary_server: ServerProcess, api: httpx.Client, alice: Account, room: str, transport: str
) -> None:
    client = SioClient()
    await client.connect(
        binary_server.base_url, auth={"token": alice.access_token}, transports=[transport]
    )
    await client.expect("authenticated")
    await client.call("join", {"room_id": room})
    answer = await client.call(
        "message", {"room_id": room, "content": "x", "payload": {"blob": b"\x00\x01"}}
    )
    assert answer["error"]["code"] == "binary_not_supported"
    assert (await client.call("heartbeat"))["status"] == "alive"
    assert stored(api, alice, room) == []
    await client.disconnect()


def test_socket_io_client_gets_binary_not_supported_and_bob_nothing(
    binary_server: ServerProcess, api: httpx.Client, alice: Account, room: str
) -> None:
    bob = register(api)  # joins the open room in the script
    outcome = run_js(
        "binary.mjs", "chat", binary_server.base_url, alice.access_token, bob.access_token, room
    )
    for transport in ("websocket", "polling"):
        seen = outcome[transport]
        assert seen["transport"] == transport
        assert seen["in_payload"]["error"]["code"] == "binary_not_supported"
        assert seen["as_content"]["error"]["code"] == "binary_not_supported"
        assert seen["without_ack"]["code"] == "binary_not_supported"
        assert seen["heartbeat"]["status"] == "alive"
        assert seen["connected"] is True
    assert outcome["bob_received"] == ["text over websocket", "text over polling"]
    assert stored(api, alice, room) == ["text over polling", "text over websocket"]


async def test_gameplay_takes_no_bytes_either(binary_server: ServerProcess, alice: Account) -> None:
    client = SioClient("/gameplay")
    await client.connect(
        binary_server.base_url, auth={"token": alice.access_token}, transports=["polling"]
    )
    name = f"bin-{uuid.uuid4().hex[:8]}"
    answer = await client.call("create_room", {"name": name, "settings": {"map": b"\x00\x01"}})
    assert (answer["error"]["code"], answer["error"]["event"]) == (
        "binary_not_supported",
        "create_room",
    )
    rooms = await client.call("list_rooms", {})
    assert name not in [room["name"] for room in rooms["rooms"]]
    await client.disconnect()


# -- binary echoed as binary: `parley protocol-server` ---------------------------------------------


@pytest.fixture(scope="module")
def echo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(
        Path(tmp_path_factory.mktemp("binary-echo")), {}, command="protocol-server"
    )
    yield server
    server.stop()


async def echo_socket(server: ServerProcess) -> ClientConnection:
    url = f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket"
    connection = await connect(url, open_timeout=RECEIVE_TIMEOUT_SECS)
    async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
        assert str(await connection.recv()).startswith("0{")
        await connection.send("40")
        assert str(await connection.recv()).startswith("40{")
        assert await connection.recv() == '42["auth",{}]'
    return connection


async def frames(connection: ClientConnection, count: int) -> list[str | bytes]:
    received: list[str | bytes] = []
    async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
        while len(received) < count:
            frame = await connection.recv()
            if frame == "2":
                await connection.send("3")
            else:
                received.append(frame)
    return received


@pytest.mark.parametrize(
    ("sent", "answer"),
    [
        (
            f'452-["message",{P0},{P1}]',
            f'452-["message-back",{P0},{P1}]',
        ),
        (
            f'452-789["message-with-ack",{P0},{P1}]',
            f"462-789[{P0},{P1}]",
        ),
    ],
    ids=["event", "ack"],
)
async def test_the_protocol_suites_binary_cases_byte_for_byte(
    echo_server: ServerProcess, sent: str, answer: str
) -> None:
    # socket.io-protocol's test-suite: "should send a packet with binary attachments (and an
    # ack)"; the reference server answers exactly this.
    connection = await echo_socket(echo_server)
    for frame in (sent, b"\x01\x02\x03", b"\x04\x05\x06"):
        await connection.send(frame)
    assert await frames(connection, 3) == [answer, b"\x01\x02\x03", b"\x04\x05\x06"]
    await connection.close()


async def polled_until(http: httpx.AsyncClient, params: dict[str, str], marker: str) -> str:
    """Poll until a body holds `marker`; that body (pings answered on the way)."""
    async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
        while True:
            body = (await http.get("/socket.io/", params=params)).text
            if "2" in body.split("\x1e"):
                await http.post("/socket.io/", params=params, content=b"3")
            if marker in body:
                return body


async def test_over_polling_the_echo_is_base64_records(echo_server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=echo_server.base_url, timeout=30) as http:
        opened = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
        params = {"EIO": "4", "transport": "polling", "sid": orjson.loads(opened.text[1:])["sid"]}
        await http.post("/socket.io/", params=params, content=b"40")
        await polled_until(http, params, '42["auth"')
        posted = await http.post(
            "/socket.io/", params=params, content=f'451-["message",{P0}]\x1ebAQID'.encode()
        )
        assert posted.text == "ok"
        body = await polled_until(http, params, "message-back")
    assert f'451-["message-back",{P0}]\x1ebAQID' in body


BYTES_NESTED = {"b": b"\x00\xff", "list": [b"", {"deep": b"x" * 1000}], "n": 1}


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_python_socketio_gets_its_bytes_back(
    echo_server: ServerProcess, transport: str
) -> None:
    client = SioClient()
    await client.connect(echo_server.base_url, transports=[transport])
    await client.emit("message", BYTES_NESTED)
    assert await client.expect("message-back") == BYTES_NESTED
    assert await client.call("message-with-ack", BYTES_NESTED) == BYTES_NESTED
    assert await client.call("message-with-ack", b"\x01") == b"\x01"
    await client.disconnect()


def without_classes(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_classes(v) for k, v in value.items() if k != "as"}
    if isinstance(value, list):
        return [without_classes(v) for v in value]
    return value


@pytest.mark.parametrize("mode", ["echo", "echo-v2"], ids=["client-4.8", "client-2.5"])
def test_socket_io_client_gets_buffers_and_arraybuffers_back(
    echo_server: ServerProcess, mode: str
) -> None:
    """socket.io-client 4.8, and 2.5 over Engine.IO 3 (binary frames led by the packet type,
    binary long-polling payloads), websocket-only and polling-only."""

    def hexed(data: bytes) -> dict[str, str]:
        return {"$bytes": data.hex()}

    sent = [
        hexed(b"\x01\x02\x03"),
        {
            "nested": {"ab": hexed(b"\x04\x05"), "list": [hexed(b"x"), "text", 7, None]},
            "empty": hexed(b""),
        },
        hexed(b"\x00\xff"),
        hexed(b"\xab" * 100_000),
    ]
    outcome = run_js("binary.mjs", mode, echo_server.base_url)
    for transport in ("websocket", "polling"):
        seen = outcome[transport]
        assert seen["transport"] == transport
        assert without_classes(seen["echoed"]) == sent
        assert without_classes(seen["acked"]) == sent
        assert seen["text_after"] == ["plain", 1]


async def test_binary_queued_for_polling_leaves_as_binary_frames_after_the_upgrade(
    echo_server: ServerProcess,
) -> None:
    async with httpx.AsyncClient(base_url=echo_server.base_url, timeout=30) as http:
        opened = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
        sid = orjson.loads(opened.text[1:])["sid"]
        params = {"EIO": "4", "transport": "polling", "sid": sid}
        await http.post("/socket.io/", params=params, content=b"40")
        await polled_until(http, params, '42["auth"')
        # The echo waits in the outbox as text (`b<base64>`) until the upgrade takes it.
        posted = await http.post(
            "/socket.io/", params=params, content=f'451-["message",{P0}]\x1ebAQID'.encode()
        )
        assert posted.text == "ok"
        url = f"ws://127.0.0.1:{echo_server.port}/socket.io/?EIO=4&transport=websocket&sid={sid}"
        async with connect(url, open_timeout=RECEIVE_TIMEOUT_SECS) as connection:
            await connection.send("2probe")
            assert await frames(connection, 1) == ["3probe"]
            await connection.send("5")
            echoed = await frames(connection, 2)
    assert echoed == [f'451-["message-back",{P0}]', b"\x01\x02\x03"]
