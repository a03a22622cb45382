"""Engine.IO 3 and Socket.IO v2 at byte level, by hand: the open packet and the implicit `/`,
`<length>:<packet>` payloads both ways (lengths in UTF-16 units), the client's pings and the
server's close of a client that stops, the upgrade, and v2's CONNECT query, answer and ERROR.
The server's heartbeat runs at 1 s + 1 s."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from parley.realtime.wire.engineio3 import decode_payload
from tests.support.accounts import Account, register
from tests.support.clients import RECEIVE_TIMEOUT_SECS
from tests.support.eio import EioSocket
from tests.support.server import ServerProcess, start_server

PATH = "/socket.io/"
INTERVAL_SECS = TIMEOUT_SECS = 1.0
LATE_SECS = 0.5
"""How late the server's close may come on a busy machine."""


@pytest.fixture(scope="module")
def v3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(
        Path(tmp_path_factory.mktemp("v3-wire")),
        {"SIO_PING_INTERVAL_SECS": str(INTERVAL_SECS), "SIO_PING_TIMEOUT_SECS": str(TIMEOUT_SECS)},
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def account(v3_server: ServerProcess) -> Account:
    with httpx.Client(base_url=v3_server.base_url, timeout=15) as api:
        return register(api)


@pytest.fixture
async def http(v3_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=v3_server.base_url, timeout=30) as client:
        yield client


def packets_of(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    binary = answer.headers["content-type"] == "application/octet-stream"
    return decode_payload(answer.content, binary=binary)


class Polling:
    """One v3 long-polling session."""

    def __init__(self, http: httpx.AsyncClient, sid: str) -> None:
        self.http = http
        self.sid = sid

    @classmethod
    async def open(cls, http: httpx.AsyncClient, **query: str) -> tuple[Polling, str]:
        answer = await http.get(PATH, params={"EIO": "3", "transport": "polling", **query})
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "text/plain; charset=UTF-8"
        handshake = answer.text
        sid = orjson.loads(handshake[handshake.index(":") + 2 :])["sid"]
        return cls(http, sid), handshake

    def params(self) -> dict[str, str]:
        return {"EIO": "3", "transport": "polling", "sid": self.sid}

    async def post(self, body: str | bytes, **headers: str) -> httpx.Response:
        content = body.encode() if isinstance(body, str) else body
        return await self.http.post(PATH, params=self.params(), content=content, headers=headers)

    async def poll(self) -> httpx.Response:
        return await self.http.get(PATH, params=self.params())

    async def until(self, match: str) -> list[str]:
        """Poll until a packet starting with `match` arrives; every packet up to it."""
        seen: list[str] = []
        async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
            while not any(p.startswith(match) for p in seen):
                seen += packets_of(await self.poll())
        return seen


async def test_the_polling_handshake_is_v3s_and_connects_to_root(
    http: httpx.AsyncClient,
) -> None:
    session, handshake = await Polling.open(http)
    length, _, packet = handshake.partition(":")
    assert int(length) == len(packet)
    assert packet.startswith("0")
    opened = orjson.loads(packet[1:])
    assert opened == {  # no maxPayload: v3's open packet
        "sid": session.sid,
        "upgrades": ["websocket"],
        "pingInterval": 1000,
        "pingTimeout": 1000,
    }
    # The implicit CONNECT to `/`, without a sid payload (then the chat's greeting).
    assert (await session.poll()).text.startswith("2:40")
    # The server never pings a v3 client; the client pings, the server answers `3`.
    assert (await session.post("1:2")).text == "ok"
    assert (await session.poll()).text == "1:3"


async def test_packets_come_and_go_in_length_prefixed_payloads(
    http: httpx.AsyncClient, account: Account
) -> None:
    session, _ = await Polling.open(http, token=account.access_token)
    signed_in = await session.until('42["authenticated"')
    assert signed_in[0] == "40"
    authenticated = orjson.loads(signed_in[-1][2:])[1]
    assert authenticated["user_id"] == account.id
    # Two packets in one POST; the room name holds an emoji (2 UTF-16 code units, 4 bytes).
    room = "v3-😀-" + session.sid[:8]
    join = orjson.dumps(["join", {"room_id": room}]).decode()
    send = orjson.dumps(["message", {"room_id": room, "content": "€ and 😀"}]).decode()
    first, second = f"421{join}", f"422{send}"
    body = f"{len(first) + 1}:{first}{len(second) + 2}:{second}"  # +1, +2: the emoji(s)
    assert (await session.post(body)).text == "ok"
    seen = await session.until("432")
    acks = {p[:3]: orjson.loads(p[3:])[0] for p in seen if p.startswith(("431", "432"))}
    assert acks["431"]["conversation"]["name"] == room
    assert acks["432"]["content"] == "€ and 😀"
    # The server counts the same way: each packet's length is in UTF-16 code units.
    edit = (
        "423"
        + orjson.dumps(
            ["edit_message", {"message_id": acks["432"]["id"], "content": "😀😀"}]
        ).decode()
    )
    assert (await session.post(f"{len(edit) + 2}:{edit}")).text == "ok"
    edited: list[str] = []
    async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
        while not any(p.startswith("433") for p in edited):
            answer = await session.poll()
            raw = answer.content.decode()
            for packet in packets_of(answer):
                framed = f"{len(packet.encode('utf-16-le')) // 2}:{packet}"
                assert raw.startswith(framed), (raw, packet)
                raw = raw[len(framed) :]
                edited.append(packet)
            assert raw == ""
    assert orjson.loads(next(p for p in edited if p.startswith("433"))[3:])[0]["content"] == "😀😀"


@pytest.mark.parametrize(
    "body",
    [
        "4hello",  # v4's form
        "5:4hi",  # shorter than its length
        "x:4hi",
        "2:4😀",  # the length cuts a character in two
        "1:7",  # a packet of no known type
        "3:b1AQ==",  # a base64 packet that is no message
    ],
)
async def test_a_payload_that_is_not_v3_closes_the_session(
    http: httpx.AsyncClient, body: str
) -> None:
    session, _ = await Polling.open(http)
    assert (await session.post(body)).status_code == 400
    assert (await session.poll()).status_code == 400


async def test_binary_payloads_parse_and_the_session_carries_on(http: httpx.AsyncClient) -> None:
    # A binary packet (its header, then its attachment): as a base64 message (a `b64=1`
    # client), then in an XHR2 binary payload. Parley's events take no bytes: the answer is
    # `binary_not_supported`, and the session goes on.
    header = '451-["heartbeat",{"_placeholder":true,"num":0}]'
    session, _ = await Polling.open(http, b64="1")
    assert (await session.post(f"{len(header)}:{header}6:b4AQID1:2")).text == "ok"
    seen = await session.until("3")
    assert any("binary_not_supported" in p for p in seen), seen
    xhr2, _ = await Polling.open(http)
    text = header.encode()
    length = [int(d) for d in str(len(text))]
    binary = bytes([0, *length, 255]) + text + bytes([1, 4, 255, 4, 1, 2, 3, 0, 1, 255]) + b"2"
    answer = await xhr2.post(binary, **{"content-type": "application/octet-stream"})
    assert answer.text == "ok"
    seen = await xhr2.until("3")
    assert any("binary_not_supported" in p for p in seen), seen


async def test_a_websocket_client_that_pings_stays_and_one_that_stops_is_closed(
    v3_server: ServerProcess, account: Account
) -> None:
    signed_in = f"&token={account.access_token}"  # so that no sign-in timeout comes first
    pinging = await EioSocket.open(v3_server, eio=3, query=signed_in)
    assert pinging.handshake["upgrades"] == []
    assert "maxPayload" not in pinging.handshake
    assert await pinging.starting("40") == "40"
    started = time.monotonic()
    while time.monotonic() - started < INTERVAL_SECS + TIMEOUT_SECS + LATE_SECS:
        await pinging.connection.send("2")  # paced by the answers, as fast as they come
        assert await pinging.starting("3") == "3"
    await pinging.connection.send('421["heartbeat"]')
    assert (await pinging.starting("431")).startswith('431[{"status":"alive"')
    assert "2" not in pinging.seen  # the server never pings a v3 client
    await pinging.connection.close()

    silent = await EioSocket.open(v3_server, eio=3, query=signed_in)
    opened = time.monotonic()
    code = await silent.closed(INTERVAL_SECS + TIMEOUT_SECS + 5)
    waited = time.monotonic() - opened
    assert code == 1000
    assert INTERVAL_SECS + TIMEOUT_SECS - 0.1 <= waited <= INTERVAL_SECS + TIMEOUT_SECS + LATE_SECS
    assert "2" not in silent.seen


async def test_the_upgrade_from_polling(http: httpx.AsyncClient, v3_server: ServerProcess) -> None:
    session, _ = await Polling.open(http)
    assert (await session.poll()).text.startswith("2:40")
    url = f"ws://127.0.0.1:{v3_server.port}{PATH}?EIO=3&transport=websocket&sid={session.sid}"
    async with connect(url) as upgraded:
        await upgraded.send("2probe")
        async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
            assert await upgraded.recv() == "3probe"
        assert (await session.poll()).text == "1:6"  # the pending poll's release: a NOOP
        await upgraded.send("5")
        await upgraded.send('421["heartbeat"]')
        async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
            answer = await upgraded.recv()
        assert isinstance(answer, str)
        assert answer.startswith('431[{"status":"alive"')
        assert (await session.poll()).status_code == 400  # polling is over for it


async def test_v2_namespace_connects_answers_and_errors(
    v3_server: ServerProcess, account: Account
) -> None:
    socket = await EioSocket.open(v3_server, eio=3)
    assert await socket.starting("40") == "40"
    # The token in the namespace's query; the answer names the namespace alone, no sid.
    await socket.connection.send(f"40/gameplay?token={account.access_token}&x=1,")
    assert await socket.starting("40/") == "40/gameplay,"
    authenticated = await socket.starting('42/gameplay,["authenticated"')
    assert orjson.loads(authenticated.partition(",")[2])[1]["user_id"] == account.id
    await socket.connection.send('42/gameplay,7["list_rooms",{}]')
    assert (await socket.starting("43/gameplay,7")).startswith('43/gameplay,7[{"rooms":')
    await socket.connection.send("41/gameplay,")  # the client leaves the namespace
    await socket.connection.send('42/gameplay,8["list_rooms",{}]')
    assert await socket.starting("44/gameplay,") == '44/gameplay,"Not connected to namespace"'
    await socket.connection.send("40/nowhere,")
    assert await socket.starting("44/nowhere,") == '44/nowhere,"Invalid namespace"'
    await socket.connection.send("40/gameplay?token=not-a-token,")
    refused = orjson.loads((await socket.starting("44/gameplay,")).partition(",")[2])
    assert refused["code"] == "invalid_token"
    assert refused["message"]
    await socket.connection.send("2")
    assert await socket.starting("3") == "3"  # the session carries on
    await socket.connection.close()


async def test_a_bad_token_in_the_query_refuses_the_implicit_root(
    v3_server: ServerProcess,
) -> None:
    socket = await EioSocket.open(v3_server, eio=3, query="&token=not-a-token")
    refused = orjson.loads((await socket.starting("44"))[2:])
    assert refused["code"] == "invalid_token"
    await socket.connection.send('421["heartbeat"]')
    assert await socket.starting("44") == '44"Not connected to namespace"'
    await socket.connection.close()
