"""The Socket.IO line (issue #12, item 4), on `parley serve` and `parley protocol-server` alike.

A packet that cannot be decoded at the Socket.IO level, or that the session's state does not
allow, closes the connection, as the specification and socket.io's own server do (its
socket.io-parser throws, and the server closes on any packet for a namespace it is not
connected to). A well-formed packet carrying data Parley refuses (its JSON input policy, a
number for an event name, an unknown namespace to CONNECT to, a bad command) is answered, and
the connection stays.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest

from tests.support.accounts import register
from tests.support.eio import EioSocket
from tests.support.server import ServerProcess, start_server


@dataclass
class Target:
    """A server, how a client connects to `/` on it, and a packet it answers when alive."""

    server: ServerProcess
    connect: str
    alive: str
    answer: str

    async def connected(self) -> EioSocket:
        socket = await EioSocket.open(self.server)
        await socket.send(self.connect)
        await socket.next(lambda p: p.startswith("40{"))
        return socket

    async def assert_alive(self, socket: EioSocket) -> None:
        await socket.send(self.alive)
        await socket.next(lambda p: p.startswith(self.answer))


@pytest.fixture(scope="module", params=["serve", "protocol-server"])
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    command: str = request.param
    server = start_server(Path(tmp_path_factory.mktemp(command)), {}, command=command)
    try:
        if command == "serve":
            with httpx.Client(base_url=server.base_url, timeout=15) as api:
                token = register(api).access_token
            connect = "40" + orjson.dumps({"token": token}).decode()
            yield Target(server, connect, '42900["heartbeat"]', '43900[{"status":"alive"')
        else:
            yield Target(server, "40", '42900["message-with-ack","ok"]', '43900["ok"]')
    finally:
        server.stop()


DEEP = "[" * 2000 + "]" * 2000
"""Past every decoder's depth limit: only its text tells what it is."""

UNDECODABLE = {
    "unknown-type": "4abc",
    "empty": "4",
    "type-7": "47",
    "event-object": "42{}",
    "event-string": '42"message"',
    "event-empty": "42[]",
    "event-no-payload": "42",
    "event-name-null": "42[null]",
    "event-name-bool": "42[true]",
    "event-name-list": '42[["message"]]',
    "event-name-deep": "42" + DEEP,
    "event-reserved-name": '42["disconnect"]',
    "ack-id-letters": '42abc["message"]',
    "ack-id-superscript": '42\u00b2["message"]',
    "ack-id-arabic-indic": '42\u0663["message"]',
    "ack-id-16-digits": "42" + "9" * 16 + '["message"]',
    "ack-id-4301-digits": "42" + "1" * 4301 + '["message"]',
    "truncated-json": '42["message"',
    "trailing-garbage": '42["message"]x',
    "ack-no-payload": "431",
    "ack-object": "431{}",
    "connect-list": "40/custom,[]",
    "connect-string": '40/custom,"token"',
    "connect-again": "40",
    "disconnect-payload": "41{}",
    "client-connect-error": '44{"message":"x"}',
    "namespace-not-connected": '42/custom,["message"]',
    "namespace-without-comma": '42/custom["message"]',
}


@pytest.mark.parametrize("packet", list(UNDECODABLE.values()), ids=list(UNDECODABLE))
async def test_an_undecodable_packet_closes_the_connection(target: Target, packet: str) -> None:
    socket = await target.connected()
    await socket.send(packet)
    assert await socket.closed() == 1002


async def test_an_event_before_any_connect_closes_the_connection(target: Target) -> None:
    socket = await EioSocket.open(target.server)
    await socket.send('42["message"]')
    assert await socket.closed() == 1002


async def test_over_polling_the_session_is_gone(target: Target) -> None:
    async with httpx.AsyncClient(base_url=target.server.base_url, timeout=15) as http:
        path = "/socket.io/"
        opened = await http.get(path, params={"EIO": "4", "transport": "polling"})
        params = {"EIO": "4", "transport": "polling", "sid": orjson.loads(opened.text[1:])["sid"]}
        assert (await http.post(path, params=params, content="40\x1e42{}")).status_code == 200
        gone = await http.get(path, params=params)
        if gone.status_code == 200:  # the CONNECT answer was queued before the close
            assert gone.text.split("\x1e")[-1] == "1", gone.text
            gone = await http.get(path, params=params)
        assert (gone.status_code, gone.json()) == (
            400,
            {"code": 1, "message": "Session ID unknown"},
        )


async def refusal(socket: EioSocket, prefix: str) -> dict[str, object]:
    packet = await socket.next(lambda p: p.startswith(prefix))
    found = orjson.loads(packet[packet.index("[") :])
    return dict(found[0]["error"] if prefix.startswith("43") else found[1])


@pytest.mark.parametrize(
    "payload",
    ['"\\u0000"', '"\\ud800"', "[" * 40 + "]" * 40, DEEP, "99999999999999999999"],
    ids=["nul", "lone-surrogate", "nesting-40", "nesting-2000", "int-past-64-bits"],
)
async def test_a_policy_refusal_is_answered_and_the_connection_stays(
    target: Target, payload: str
) -> None:
    socket = await target.connected()
    await socket.send(f'421["message",{payload}]')
    error = await refusal(socket, "431[")
    assert error["code"] == "validation_error"
    await socket.send(f'42["message",{payload}]')  # no ack asked: an `error` event
    assert (await refusal(socket, '42["error",'))["code"] == "validation_error"
    await target.assert_alive(socket)
    await socket.close()


async def test_well_formed_packets_parley_will_not_take_are_answered(target: Target) -> None:
    socket = await target.connected()
    await socket.send("421[1]")  # a number is an event name to the protocol, not to Parley
    assert (await refusal(socket, "431["))["code"] == "bad_packet"
    await socket.send("40/nonexistent,")
    assert await socket.next(lambda p: p.startswith("44")) == (
        '44/nonexistent,{"message":"Invalid namespace"}'
    )
    await socket.send('40/custom,{"token":"\\u0000"}')  # the CONNECT payload's policy
    refused = orjson.loads((await socket.next(lambda p: p.startswith("44/custom,")))[10:])
    assert refused["data"]["code"] == "validation_error"
    await target.assert_alive(socket)
    await socket.close()


@pytest.mark.parametrize("target", ["serve"], indirect=True)
async def test_parleys_own_refusals_stay_answers(target: Target) -> None:
    socket = await EioSocket.open(target.server)
    await socket.send('40{"token":"not-a-token"}')  # a refused sign-in: CONNECT_ERROR
    refused = orjson.loads((await socket.next(lambda p: p.startswith("44")))[2:])
    assert refused["data"]["code"] in {"invalid_token", "unauthenticated"}
    await socket.send(target.connect)
    await socket.next(lambda p: p.startswith("40{"))
    await socket.send('421["join",{}]')  # a command with a missing field
    assert (await refusal(socket, "431["))["code"] == "validation_error"
    await socket.send('422["no_such_event",{}]')
    assert (await refusal(socket, "432["))["code"] in {"unknown_event", "unknown_type"}
    await target.assert_alive(socket)
    await socket.close()
