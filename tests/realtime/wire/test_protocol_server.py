"""`parley protocol-server`, byte by byte: what the Engine.IO and Socket.IO protocol test suites
(socketio/engine.io-protocol, socketio/socket.io-protocol, test-suite/) check of a server, and
the official socket.io-client 4.8 against it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.support.clients import RECEIVE_TIMEOUT_SECS
from tests.support.eio import EioSocket
from tests.support.js import run_js
from tests.support.server import ServerProcess, start_server

ENGINE = "/engine.io/"
SOCKET = "/socket.io/"
HANDSHAKE_KEYS = {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}


@pytest.fixture(scope="module")
def protocol_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(
        Path(tmp_path_factory.mktemp("protocol-server")), {}, command="protocol-server"
    )
    yield server
    server.stop()


@pytest.fixture
async def http(protocol_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=protocol_server.base_url, timeout=30) as client:
        yield client


@dataclass
class Polling:
    """One long-polling session, read and written by hand."""

    http: httpx.AsyncClient
    path: str
    sid: str

    @classmethod
    async def open(cls, http: httpx.AsyncClient, path: str) -> Polling:
        opened = await http.get(path, params={"EIO": "4", "transport": "polling"})
        assert opened.status_code == 200, opened.text
        return cls(http, path, str(orjson.loads(opened.text[1:])["sid"]))

    @property
    def params(self) -> dict[str, str]:
        return {"EIO": "4", "transport": "polling", "sid": self.sid}

    async def get(self) -> httpx.Response:
        return await self.http.get(self.path, params=self.params)

    async def post(self, body: str) -> httpx.Response:
        return await self.http.post(self.path, params=self.params, content=body.encode())

    async def pending_get(self, port: int) -> PendingPoll:
        """A GET on a connection of its own, its request on the wire when this returns."""
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        query = "&".join(f"{k}={v}" for k, v in self.params.items())
        request = f"GET {self.path}?{query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        writer.write(request.encode())
        await writer.drain()
        return PendingPoll(reader, writer)

    async def until(self, count: int) -> list[str]:
        """The next `count` packets other than PINGs (which are answered)."""
        found: list[str] = []
        async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
            while len(found) < count:
                answer = await self.get()
                assert answer.status_code == 200, answer.text
                for packet in answer.text.split("\x1e"):
                    if packet == "2":
                        assert (await self.post("3")).status_code == 200
                    else:
                        found.append(packet)
        return found


@dataclass
class PendingPoll:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    async def answer(self) -> tuple[int, str]:
        try:
            async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
                raw = await self.reader.read()
        finally:
            self.writer.close()
            await self.writer.wait_closed()
        head, _, body = raw.decode().partition("\r\n\r\n")
        return int(head.split()[1]), body


# -- Engine.IO: the handshake ---------------------------------------------------------------------


@pytest.mark.parametrize("path", [ENGINE, SOCKET])
async def test_the_open_packet(
    http: httpx.AsyncClient, protocol_server: ServerProcess, path: str
) -> None:
    opened = await http.get(path, params={"EIO": "4", "transport": "polling"})
    assert opened.status_code == 200
    assert opened.headers["content-type"].startswith("text/plain")
    polling = orjson.loads(opened.text.removeprefix("0"))
    socket = await EioSocket.open(protocol_server, path)
    await socket.close()
    for handshake, upgrades in ((polling, ["websocket"]), (socket.handshake, [])):
        assert set(handshake) == HANDSHAKE_KEYS
        assert isinstance(handshake["sid"], str)
        assert handshake["upgrades"] == upgrades
        assert (handshake["pingInterval"], handshake["pingTimeout"]) == (300, 200)
        assert handshake["maxPayload"] == 1_000_000


async def test_the_400_answers_are_the_reference_servers(http: httpx.AsyncClient) -> None:
    # engine.io's error codes and messages: 0 Transport unknown, 1 Session ID unknown,
    # 2 Bad handshake method, 3 Bad request, 5 Unsupported protocol version.
    def body(code: int, message: str) -> tuple[int, dict[str, object]]:
        return 400, {"code": code, "message": message}

    async def answer(method: str, **params: str) -> tuple[int, object]:
        found = await http.request(method, ENGINE, params=params)
        return found.status_code, found.json()

    unsupported = body(5, "Unsupported protocol version")
    assert await answer("GET", transport="polling") == unsupported
    assert await answer("GET", EIO="abc", transport="polling") == unsupported
    assert await answer("GET", EIO="4") == body(0, "Transport unknown")
    assert await answer("GET", EIO="4", transport="abc") == body(0, "Transport unknown")
    assert await answer("POST", EIO="4", transport="polling") == body(2, "Bad handshake method")
    assert await answer("PUT", EIO="4", transport="polling") == body(2, "Bad handshake method")
    # A WebSocket transport over plain HTTP is no handshake.
    assert await answer("GET", EIO="4", transport="websocket") == body(3, "Bad request")
    unknown = body(1, "Session ID unknown")
    assert await answer("GET", EIO="4", transport="polling", sid="nope") == unknown
    assert await answer("POST", EIO="4", transport="polling", sid="nope") == unknown


@pytest.mark.parametrize(
    "query", ["transport=websocket", "EIO=abc&transport=websocket", "EIO=4", "EIO=4&transport=abc"]
)
async def test_a_websocket_with_bad_parameters_is_refused(
    protocol_server: ServerProcess, query: str
) -> None:
    with pytest.raises(InvalidStatus):
        await connect(f"ws://127.0.0.1:{protocol_server.port}{ENGINE}?{query}")


# -- Engine.IO: messages --------------------------------------------------------------------------


async def test_polling_echoes_one_packet_and_several(http: httpx.AsyncClient) -> None:
    session = await Polling.open(http, ENGINE)
    posted = await session.post("4hello")
    assert (posted.status_code, posted.text) == (200, "ok")
    assert await session.until(1) == ["4hello"]
    assert (await session.post("4test1\x1e4test2\x1e4test3")).status_code == 200
    assert await session.until(3) == ["4test1", "4test2", "4test3"]


async def test_websocket_echoes_a_text_packet(protocol_server: ServerProcess) -> None:
    socket = await EioSocket.open(protocol_server, ENGINE)
    await socket.send("4hello")
    assert await socket.next(lambda p: p != "2") == "4hello"
    await socket.close()


async def test_an_invalid_packet_closes_the_session(
    http: httpx.AsyncClient, protocol_server: ServerProcess
) -> None:
    session = await Polling.open(http, ENGINE)
    assert (await session.post("abc")).status_code == 400
    assert (await session.get()).status_code == 400
    socket = await EioSocket.open(protocol_server, ENGINE)
    await socket.send("abc")
    assert await socket.closed() == 1002


async def test_duplicate_polls_close_the_session(http: httpx.AsyncClient) -> None:
    session = await Polling.open(http, ENGINE)
    answers = await asyncio.gather(session.get(), session.get())
    assert sorted((a.status_code, a.text if a.status_code == 200 else "") for a in answers) == [
        (200, "1"),
        (400, ""),
    ]
    assert (await session.get()).status_code == 400


async def test_max_payload_is_enforced_on_both_transports(
    http: httpx.AsyncClient, protocol_server: ServerProcess
) -> None:
    session = await Polling.open(http, ENGINE)
    assert (await session.post("4" + "x" * 1_000_000)).status_code == 413
    assert (await session.get()).status_code == 400
    socket = await EioSocket.open(protocol_server, ENGINE)
    await socket.send("4" + "x" * 999_999)  # exactly maxPayload: echoed
    assert len(await socket.next(lambda p: p != "2")) == 1_000_000
    await socket.send("4" + "x" * 1_000_000)
    assert await socket.closed() == 1009


# -- Engine.IO: heartbeat and close ---------------------------------------------------------------


async def test_polling_heartbeat_and_ping_timeout(http: httpx.AsyncClient) -> None:
    session = await Polling.open(http, ENGINE)
    for _ in range(3):
        ping = await session.get()
        assert (ping.status_code, ping.text) == (200, "2")
        assert (await session.post("3")).status_code == 200
    assert (await session.get()).text == "2"  # not answered this time
    closed = await session.get()  # pending when the ping timeout closes the session
    assert (closed.status_code, closed.text) == (200, "1")
    assert (await session.get()).status_code == 400


async def test_websocket_heartbeat_and_ping_timeout(protocol_server: ServerProcess) -> None:
    socket = await EioSocket.open(protocol_server, ENGINE)
    for _ in range(3):
        assert await socket.next(lambda p: True) == "2"  # answered by the client
    socket.answer_pings = False
    assert await socket.closed() is not None
    gaps = [later - earlier for earlier, later in zip(socket.pings, socket.pings[1:], strict=False)]
    assert all(0.25 < gap < 1.0 for gap in gaps), gaps  # pingInterval after each answer


async def test_the_clients_close(http: httpx.AsyncClient, protocol_server: ServerProcess) -> None:
    socket = await EioSocket.open(protocol_server, ENGINE)
    await socket.send("1")
    assert await socket.closed() is not None
    # Over polling, a poll pending at the client's close is answered NOOP. A GET sent just
    # before the close may reach the server after it (two connections): that round is 400.
    for _ in range(10):
        session = await Polling.open(http, ENGINE)
        poll = await session.pending_get(protocol_server.port)
        closed = await session.post("1")
        assert closed.status_code == 200
        status, body = await poll.answer()
        assert (status, body) == (200, "6") or status == 400, (status, body)
        assert (await session.get()).status_code == 400
        if status == 200:
            return
    raise AssertionError("no poll was ever pending at the close")


# -- Engine.IO: the upgrade -----------------------------------------------------------------------


def upgrade_url(server: ServerProcess, sid: str) -> str:
    return f"ws://127.0.0.1:{server.port}{ENGINE}?EIO=4&transport=websocket&sid={sid}"


async def test_the_upgrade_releases_the_pending_poll_with_a_noop(
    http: httpx.AsyncClient, protocol_server: ServerProcess
) -> None:
    session = await Polling.open(http, ENGINE)
    async with connect(upgrade_url(protocol_server, session.sid)) as upgraded:
        # A poll pending at the probe is answered NOOP (the protocol's "6"); one that reaches
        # the server just after it (two connections) gets the same NOOP, queued for it.
        pending = await session.pending_get(protocol_server.port)
        await upgraded.send("2probe")
        async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
            assert await upgraded.recv() == "3probe"
        status, body = await pending.answer()
        assert status == 200
        assert body.split("\x1e")[-1] == "6", body  # after a PING, if one was due
        await upgraded.send("5")
        await upgraded.send("4hello")
        async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
            while (packet := await upgraded.recv()) == "2":
                await upgraded.send("3")
        assert packet == "4hello"
        # Upgraded: polling requests for the session are a transport mismatch (Bad request),
        # and a second WebSocket for it is accepted, then closed; the session carries on.
        for refused in (await session.get(), await session.post("4x")):
            assert (refused.status_code, refused.json()) == (
                400,
                {"code": 3, "message": "Bad request"},
            )
        async with connect(upgrade_url(protocol_server, session.sid)) as second:
            with pytest.raises(ConnectionClosed):
                async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
                    await second.recv()
        await upgraded.send("4still here")
        async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
            while (packet := await upgraded.recv()) == "2":
                await upgraded.send("3")
        assert packet == "4still here"


# -- Socket.IO ------------------------------------------------------------------------------------


async def sio(server: ServerProcess) -> EioSocket:
    return await EioSocket.open(server, SOCKET)


async def next_packet(socket: EioSocket) -> str:
    return await socket.next(lambda p: p != "2")


@pytest.mark.parametrize(
    ("connect_packet", "answer_prefix", "auth"),
    [
        ("40", "40", {}),
        ('40{"token":"123"}', "40", {"token": "123"}),
        ("40/custom,", "40/custom,", {}),
        ('40/custom,{"token":"abc"}', "40/custom,", {"token": "abc"}),
    ],
    ids=["main", "main-with-payload", "custom", "custom-with-payload"],
)
async def test_connect_answers_with_a_sid_then_the_payload_as_auth(
    protocol_server: ServerProcess, connect_packet: str, answer_prefix: str, auth: object
) -> None:
    socket = await sio(protocol_server)
    await socket.send(connect_packet)
    answer = await next_packet(socket)
    assert answer.startswith(answer_prefix)
    handshake = orjson.loads(answer[len(answer_prefix) :])
    assert set(handshake) == {"sid"}
    assert isinstance(handshake["sid"], str)
    namespace = answer_prefix[2:]
    assert await next_packet(socket) == f"42{namespace}" + orjson.dumps(["auth", auth]).decode()
    await socket.close()


async def test_an_unknown_namespace_is_refused_and_the_connection_stays(
    protocol_server: ServerProcess,
) -> None:
    socket = await sio(protocol_server)
    await socket.send("40/random")
    assert await next_packet(socket) == '44/random,{"message":"Invalid namespace"}'
    await socket.send("40")
    assert (await next_packet(socket)).startswith("40{")
    await socket.close()


async def test_without_a_connect_the_session_closes_at_the_connect_timeout(
    protocol_server: ServerProcess,
) -> None:
    socket = await sio(protocol_server)  # answers pings: only the connect timeout ends it
    assert await socket.closed() == 4408
    assert 0.9 < time.monotonic() - socket.opened_at < 3  # connectTimeout: 1 000 ms


async def connected(server: ServerProcess) -> EioSocket:
    socket = await sio(server)
    await socket.send("40")
    assert (await next_packet(socket)).startswith("40{")
    assert await next_packet(socket) == '42["auth",{}]'
    return socket


async def test_disconnecting_from_the_main_namespace_keeps_the_engine_session(
    protocol_server: ServerProcess,
) -> None:
    socket = await connected(protocol_server)
    await socket.send("41")
    # Nothing answers a DISCONNECT: the next packet is a PING, and the session lives on.
    assert await socket.next(lambda p: True) == "2"
    await socket.send("40")
    assert (await next_packet(socket)).startswith("40{")
    await socket.close()


async def test_a_custom_namespace_comes_and_goes_on_the_same_connection(
    protocol_server: ServerProcess,
) -> None:
    socket = await connected(protocol_server)
    await socket.send("40/custom")  # no trailing comma: the namespace runs to the end
    assert (await next_packet(socket)).startswith("40/custom,{")
    assert await next_packet(socket) == '42/custom,["auth",{}]'
    await socket.send("41/custom")
    await socket.send('42["message","message to main namespace"]')
    assert await next_packet(socket) == '42["message-back","message to main namespace"]'
    await socket.close()


async def test_message_is_echoed_and_message_with_ack_acknowledged(
    protocol_server: ServerProcess,
) -> None:
    socket = await connected(protocol_server)
    await socket.send('42["message",1,"2",{"3":[true]}]')
    assert await next_packet(socket) == '42["message-back",1,"2",{"3":[true]}]'
    await socket.send('42456["message-with-ack",1,"2",{"3":[false]}]')
    assert await next_packet(socket) == '43456[1,"2",{"3":[false]}]'
    await socket.send('427["message-with-ack"]')
    assert await next_packet(socket) == "437[]"
    await socket.close()


async def test_socketio_over_polling(http: httpx.AsyncClient) -> None:
    session = await Polling.open(http, SOCKET)
    assert (await session.post('40{"token":"p"}')).status_code == 200
    opened, greeting = await session.until(2)
    assert opened.startswith("40{")
    assert greeting == '42["auth",{"token":"p"}]'
    assert (await session.post('421["message-with-ack","x"]\x1e42["message",2]')).status_code == 200
    assert await session.until(2) == ['431["x"]', '42["message-back",2]']


@pytest.mark.parametrize(
    "packet",
    ["4abc", "42{}", '42abc["message-with-ack",1,"2",{"3":[false]}]'],
    ids=["unknown-type", "payload-not-an-array", "ack-id-not-digits"],
)
async def test_an_undecodable_packet_closes_the_connection(
    protocol_server: ServerProcess, packet: str
) -> None:
    socket = await connected(protocol_server)
    await socket.send(packet)
    assert await socket.closed() == 1002


async def test_an_invalid_handshake_closes_the_connection(protocol_server: ServerProcess) -> None:
    socket = await sio(protocol_server)
    await socket.send("4abc")
    assert await socket.closed() == 1002


# -- the official client ---------------------------------------------------------------------------


@pytest.mark.parametrize("transports", ["websocket", "polling", "polling,websocket"])
def test_socketio_client_against_the_protocol_server(
    protocol_server: ServerProcess, transports: str
) -> None:
    outcome = run_js("protocol.mjs", protocol_server.base_url, transports)
    assert outcome["auth"] == {"token": "123", "nested": {"list": [1, "two", None]}}
    assert outcome["customAuth"] == {}
    assert outcome["sameEngine"] is True
    assert outcome["messageBack"] == [1, "2", {"3": [True]}]
    assert outcome["acked"] == [1, "2", {"3": [False]}]
    assert outcome["ackedNoArgs"] == []
    assert outcome["transport"] == transports.rsplit(",", 1)[-1]
