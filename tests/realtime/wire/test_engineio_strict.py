"""Engine.IO v4 exactly as the protocol specifies it (socketio/engine.io-protocol), at byte
level: mandatory query parameters, one GET and one POST at a time, invalid packets, the
client's own close over polling, and a WebSocket naming a session that upgraded already."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.support.clients import RECEIVE_TIMEOUT_SECS
from tests.support.eio import EioSocket
from tests.support.server import ServerProcess, start_server

PATH = "/socket.io/"


@pytest.fixture(scope="module")
def eio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(Path(tmp_path_factory.mktemp("eio-strict")), {})
    yield server
    server.stop()


@pytest.fixture
async def http(eio_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=eio_server.base_url, timeout=30) as client:
        yield client


async def open_polling(http: httpx.AsyncClient) -> str:
    opened = await http.get(PATH, params={"EIO": "4", "transport": "polling"})
    assert opened.status_code == 200
    assert opened.text.startswith("0")
    return str(orjson.loads(opened.text[1:])["sid"])


def polling(sid: str) -> dict[str, str]:
    return {"EIO": "4", "transport": "polling", "sid": sid}


async def test_the_mandatory_query_parameters(
    http: httpx.AsyncClient, eio_server: ServerProcess
) -> None:
    # The bodies are the reference server's: {code, message} with engine.io's error codes.
    for params in ({"transport": "polling"}, {"EIO": "abc", "transport": "polling"}):
        answer = await http.get(PATH, params=params)
        assert (answer.status_code, answer.json()) == (
            400,
            {"code": 5, "message": "Unsupported protocol version"},
        ), params
    # The WebSocket transport over plain HTTP: a known transport, badly used.
    answer = await http.get(PATH, params={"EIO": "4", "transport": "websocket"})
    assert (answer.status_code, answer.json()) == (400, {"code": 3, "message": "Bad request"})
    for params in ({"EIO": "4"}, {"EIO": "4", "transport": "abc"}):
        answer = await http.get(PATH, params=params)
        assert (answer.status_code, answer.json()) == (
            400,
            {"code": 0, "message": "Transport unknown"},
        ), params
    for method in ("POST", "PUT"):  # no sid: only a GET opens a session
        answer = await http.request(method, PATH, params={"EIO": "4", "transport": "polling"})
        assert (answer.status_code, answer.json()["code"]) == (400, 2), method
    unknown = await http.get(PATH, params=polling("no-such-session"))
    assert (unknown.status_code, unknown.json()) == (
        400,
        {"code": 1, "message": "Session ID unknown"},
    )
    for query in ("EIO=4", "EIO=4&transport=abc", "transport=websocket"):
        with pytest.raises(InvalidStatus):
            await connect(f"ws://127.0.0.1:{eio_server.port}{PATH}?{query}")


async def test_two_polls_at_once_close_the_session(http: httpx.AsyncClient) -> None:
    sid = await open_polling(http)
    # Nothing is queued, so whichever GET the server takes first waits; the other is the
    # duplicate: answered 400, and the waiting one `1` (the session is closed).
    answers = await asyncio.gather(
        http.get(PATH, params=polling(sid)), http.get(PATH, params={**polling(sid), "t": "2"})
    )
    assert sorted((a.status_code, a.text if a.status_code == 200 else "") for a in answers) == [
        (200, "1"),
        (400, ""),
    ]
    assert (await http.get(PATH, params=polling(sid))).status_code == 400


INVALID_PACKETS = ["abc", "7", "x", "\x00", "0", "", "4hi\x1e9"]


@pytest.mark.parametrize("body", INVALID_PACKETS)
async def test_an_invalid_packet_over_polling_closes_the_session(
    http: httpx.AsyncClient, body: str
) -> None:
    sid = await open_polling(http)
    assert (await http.post(PATH, params=polling(sid), content=body)).status_code == 400
    assert (await http.get(PATH, params=polling(sid))).status_code == 400


@pytest.mark.parametrize("packet", [p for p in INVALID_PACKETS if "\x1e" not in p])
async def test_an_invalid_packet_over_websocket_closes_the_session(
    eio_server: ServerProcess, packet: str
) -> None:
    socket = await EioSocket.open(eio_server)
    await socket.send(packet)
    assert await socket.closed() == 1002


async def start_poll(port: int, sid: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A poll on a connection of its own, its request already written when this returns."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    query = f"EIO=4&transport=polling&sid={sid}"
    writer.write(f"GET {PATH}?{query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    return reader, writer


async def poll_answer(poll: tuple[asyncio.StreamReader, asyncio.StreamWriter]) -> tuple[int, str]:
    reader, writer = poll
    try:
        async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
            raw = await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = raw.decode().partition("\r\n\r\n")
    assert head, raw
    return int(head.split()[1]), body


async def test_the_clients_close_ends_its_pending_poll_with_a_noop(
    http: httpx.AsyncClient, eio_server: ServerProcess
) -> None:
    # The poll's request is on the wire before the close is sent, yet two connections may
    # still race at the server: a poll taken after the close is refused (400). Each round is
    # one or the other, and the pending case must come up: its answer is the NOOP.
    outcomes = []
    for _ in range(10):
        sid = await open_polling(http)
        poll = await start_poll(eio_server.port, sid)
        assert (await http.post(PATH, params=polling(sid), content="1")).status_code == 200
        status, body = await poll_answer(poll)
        assert (status, body) == (200, "6") or status == 400, (status, body)
        assert (await http.get(PATH, params=polling(sid))).status_code == 400
        outcomes.append(status)
        if status == 200:
            break
    assert outcomes[-1] == 200, outcomes


async def test_a_websocket_for_an_upgraded_session_is_accepted_then_closed(
    http: httpx.AsyncClient, eio_server: ServerProcess
) -> None:
    sid = await open_polling(http)
    url = f"ws://127.0.0.1:{eio_server.port}{PATH}?EIO=4&transport=websocket&sid={sid}"
    async with connect(url) as upgraded:
        await upgraded.send("2probe")
        async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
            assert await upgraded.recv() == "3probe"
        # The pending-poll release: a GET now is answered NOOP, as the protocol asks.
        released = await http.get(PATH, params=polling(sid))
        assert (released.status_code, released.text) == (200, "6")
        await upgraded.send("5")
        async with connect(url) as second:  # accepted (101), then closed by the server
            with pytest.raises(ConnectionClosed) as closed:
                async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
                    await second.recv()
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1008
        # Polling for an upgraded session: a transport mismatch (the reference's Bad request).
        for refused in (
            await http.get(PATH, params=polling(sid)),
            await http.post(PATH, params=polling(sid), content='40{"token":"x"}'),
        ):
            assert (refused.status_code, refused.json()) == (
                400,
                {"code": 3, "message": "Bad request"},
            )
        await upgraded.send("4" + '0{"token":"x"}')  # the upgraded session carries on
        async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
            while True:
                answer = await upgraded.recv()
                if isinstance(answer, str) and answer.startswith("44"):
                    break  # connect_error for the bad token: the session answered


async def test_the_open_packet_and_max_payload(
    http: httpx.AsyncClient, eio_server: ServerProcess
) -> None:
    """The open packet has exactly the protocol's keys; `maxPayload` is SIO_MAX_PAYLOAD_BYTES
    (default 1 000 000) and is what both transports take at most."""
    opened = await http.get(PATH, params={"EIO": "4", "transport": "polling"})
    handshake = orjson.loads(opened.text.removeprefix("0"))
    assert set(handshake) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
    assert (handshake["upgrades"], handshake["maxPayload"]) == (["websocket"], 1_000_000)
    sid = str(handshake["sid"])
    too_large = "4" + "x" * 1_000_000
    assert (await http.post(PATH, params=polling(sid), content=too_large)).status_code == 413
    assert (await http.get(PATH, params=polling(sid))).status_code == 400  # closed
    socket = await EioSocket.open(eio_server)
    assert socket.handshake["maxPayload"] == 1_000_000
    assert socket.handshake["upgrades"] == []
    await socket.send(too_large)
    assert await socket.closed() == 1009
