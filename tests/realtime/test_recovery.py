"""Socket.IO connection-state recovery: a dropped socket comes back as itself, with what it missed.

The official socket.io-client 4.8 (tests/js/recovery.mjs), then the edges by hand: what the
CONNECT answer and each message carry, a pid used twice, another user's token, forged input,
a revoked session, an expired token, a client that disconnected on purpose, opting out.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from tests.support.accounts import direct_chat, register
from tests.support.clients import RECEIVE_TIMEOUT_SECS
from tests.support.js import run_js
from tests.support.recovering import Recovering, lingering_old_connection, post
from tests.support.server import ServerProcess, start_server

OFFSET = re.compile(r"^\d+-\d+$")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(Path(tmp_path_factory.mktemp("recovery")), {})
    yield process
    process.stop()


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=15) as client:
        yield client


@pytest.mark.parametrize("mode", ["resume", "resume polling"])
def test_the_official_client_comes_back_as_itself(
    api: httpx.Client, server: ServerProcess, mode: str
) -> None:
    alice, bob = register(api), register(api)
    room = f"recover-{uuid.uuid4().hex[:8]}"
    seen = run_js("recovery.mjs", server.base_url, alice.access_token, bob.access_token, room, mode)
    assert seen["first"]["recovered"] is False
    assert seen["second"] == {"id": seen["first"]["id"], "recovered": True}
    contents = [content for content, _ in seen["seen"]]
    # The missed ones after the reconnect, in order, before the new one, nothing twice.
    assert contents == ["before", "missed 1", "missed 2", "missed 3", "after"]
    live_offsets = [seen["seen"][0][1], seen["seen"][4][1]]
    assert all(OFFSET.match(offset) for offset in live_offsets), seen["seen"]
    assert alice.id in seen["viewers"]  # the room it had joined came back with it


def test_past_the_window_it_is_a_new_session(tmp_path_factory: pytest.TempPathFactory) -> None:
    short = start_server(Path(tmp_path_factory.mktemp("short")), {"SIO_RECOVERY_WINDOW": "1"})
    try:
        with httpx.Client(base_url=short.base_url, timeout=15) as api:
            alice, bob = register(api), register(api)
            room = f"late-{uuid.uuid4().hex[:8]}"
            seen = run_js(
                "recovery.mjs",
                short.base_url,
                alice.access_token,
                bob.access_token,
                room,
                "late 1500",  # the window is 1 s: the reconnect comes after it
            )
    finally:
        short.stop()
    assert seen["second"]["recovered"] is False
    assert seen["second"]["id"] != seen["first"]["id"]
    assert [content for content, _ in seen["seen"]] == ["before", "after"]


async def test_the_answer_has_a_private_id_and_each_message_an_offset(
    api: httpx.Client, server: ServerProcess
) -> None:
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    client = await Recovering.connect(server, {"token": alice.access_token})
    assert client.pid is not None
    assert len(client.pid) >= 32
    assert client.pid != client.sid
    assert (await client.event("authenticated"))["socket_id"] == client.sid
    post(api, bob, chat, "one")
    content, offset = await client.message()
    assert content == "one"
    assert offset is not None
    assert OFFSET.match(offset)
    await client.drop()


async def test_missed_messages_come_back_once_in_order(
    api: httpx.Client, server: ServerProcess
) -> None:
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    first = await Recovering.connect(server, {"token": alice.access_token})
    post(api, bob, chat, "one")
    _, offset = await first.message()
    mine = await first.call(1, "message", {"room_id": chat, "content": "my own"})
    assert mine["content"] == "my own"  # acknowledged: not replayed to the sender
    await first.drop()
    post(api, bob, chat, "two")
    post(api, bob, chat, "three")

    # No token this time: the stored identity is checked again and used.
    second = await Recovering.connect(server, {"pid": first.pid, "offset": offset})
    assert (second.sid, second.pid) == (first.sid, first.pid)
    greeting = await second.event("authenticated")
    assert greeting["recovered"] is True
    assert greeting["user_id"] == alice.id
    assert [(await second.message())[0] for _ in range(2)] == ["two", "three"]
    await second.drop()

    # Dropped again before anything new: the same old offset replays nothing twice.
    third = await Recovering.connect(server, {"pid": first.pid, "offset": offset})
    assert third.sid == first.sid
    await third.event("authenticated")
    post(api, bob, chat, "four")
    assert (await third.message())[0] == "four"
    assert not [p for p in third.eio.seen if '"two"' in p or '"three"' in p]
    await third.drop()


async def test_a_private_id_comes_back_once_and_only_to_its_user(
    api: httpx.Client, server: ServerProcess
) -> None:
    alice, mallory = register(api), register(api)
    first = await Recovering.connect(server, {"token": alice.access_token})
    await first.event("authenticated")
    await first.drop()
    # Another user's token with alice's pid: mallory's own new session, nothing of alice's.
    stolen = await Recovering.connect(server, {"token": mallory.access_token, "pid": first.pid})
    assert stolen.sid != first.sid
    assert stolen.pid != first.pid
    assert (await stolen.event("authenticated"))["user_id"] == mallory.id
    await stolen.drop()
    # That try used the pid up: alice's own reconnect is a new session now.
    again = await Recovering.connect(server, {"token": alice.access_token, "pid": first.pid})
    assert again.sid != first.sid


@pytest.mark.parametrize(
    "extra",
    [
        {"pid": "not-a-pid-anybody-was-given"},
        {"pid": 12345, "offset": 7},
        {"pid": "x" * 10_000},
        {"pid": ["a"], "offset": {"x": 1}},
        {"pid": "", "offset": "99999999999999999999999999-1"},
    ],
)
async def test_forged_or_malformed_recovery_fields_start_a_new_session(
    api: httpx.Client, server: ServerProcess, extra: dict[str, object]
) -> None:
    alice = register(api)
    client = await Recovering.connect(server, {"token": alice.access_token, **extra})
    assert client.pid is not None
    assert client.pid != extra.get("pid")
    assert (await client.event("authenticated"))["user_id"] == alice.id
    assert (await client.call(1, "heartbeat", {}))["status"] == "alive"
    await client.drop()


@pytest.mark.parametrize("offset", ["0-0", "9" * 30 + "-1", "1-x", None])
async def test_a_forged_offset_replays_nothing_from_before_the_session(
    api: httpx.Client, server: ServerProcess, offset: str | None
) -> None:
    """The session's own start bounds the replay, whatever offset the client names (none:
    the socket.io client received no message yet)."""
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    post(api, bob, chat, "before alice connected")
    first = await Recovering.connect(server, {"token": alice.access_token})
    await first.event("authenticated")
    await first.drop()
    post(api, bob, chat, "missed")
    second = await Recovering.connect(server, {"pid": first.pid, "offset": offset})
    assert second.sid == first.sid
    assert (await second.message())[0] == "missed"
    assert not [p for p in second.eio.seen if "before alice connected" in p]
    await second.drop()


async def test_a_revoked_session_is_not_restored(api: httpx.Client, server: ServerProcess) -> None:
    alice = register(api)
    first = await Recovering.connect(server, {"token": alice.access_token})
    await first.event("authenticated")
    await first.drop()
    assert api.post("/api/v1/auth/logout", headers=alice.headers).status_code == 200
    second = await Recovering.connect(server, {"pid": first.pid})
    assert second.sid != first.sid
    refused = await second.call(1, "join", {"room_id": "anything"})
    assert refused["error"]["code"] == "not_authenticated"
    await second.drop()


async def test_a_socket_that_disconnected_on_purpose_is_not_restored(
    api: httpx.Client, server: ServerProcess
) -> None:
    alice = register(api)
    first = await Recovering.connect(server, {"token": alice.access_token})
    await first.event("authenticated")
    await first.eio.send("41")  # the client leaves the namespace
    # An event for a namespace it left is a protocol error, answered once the DISCONNECT
    # was read: the server ends that connection.
    await first.eio.send('42["heartbeat"]')
    assert await first.eio.closed() == 1002
    second = await Recovering.connect(server, {"token": alice.access_token, "pid": first.pid})
    assert second.sid != first.sid
    await second.drop()


async def test_a_client_may_go_without_offsets(api: httpx.Client, server: ServerProcess) -> None:
    """For client libraries that take no extra event argument (python-socketio handlers of
    one argument, Dart's socket_io_client): `recovery: false` in the CONNECT payload."""
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    client = await Recovering.connect(server, {"token": alice.access_token, "recovery": False})
    assert client.pid is None
    await client.event("authenticated")
    post(api, bob, chat, "plain")
    assert await client.message() == ("plain", None)
    await client.drop()


async def test_an_expired_token_is_not_restored(tmp_path_factory: pytest.TempPathFactory) -> None:
    brief = start_server(Path(tmp_path_factory.mktemp("brief")), {"ACCESS_TOKEN_TTL": "3"})
    try:
        with httpx.Client(base_url=brief.base_url, timeout=15) as api:
            alice = register(api)
            # A second socket on the same token is the clock: it hears when the token expires.
            watcher = await Recovering.connect(
                brief, {"token": alice.access_token, "recovery": False}
            )
            first = await Recovering.connect(brief, {"token": alice.access_token})
            await first.event("authenticated")
            await first.drop()
            assert (await watcher.event("error"))["code"] == "token_expired"
            # The token it signed in with ran out: what comes back must prove itself again.
            second = await Recovering.connect(brief, {"pid": first.pid})
            assert second.sid != first.sid
            await second.drop()
            await watcher.drop()
    finally:
        brief.stop()


async def test_a_resume_while_the_old_connection_lingers_keeps_the_newer_state(
    api: httpx.Client, server: ServerProcess
) -> None:
    """A client that comes back before the server noticed its old connection went (a
    half-open TCP connection): when that old one finally goes, it overwrites nothing."""
    await lingering_old_connection(server, server, register(api), register(api))


async def test_a_v2_client_gets_no_offsets(api: httpx.Client, server: ServerProcess) -> None:
    """Socket.IO v2 (Engine.IO 3) has no recovery: its CONNECT answer has no pid, and its
    messages carry no extra argument (python-socketio 4 handlers take one)."""
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    url = f"ws://127.0.0.1:{server.port}/socket.io/?EIO=3&transport=websocket"
    async with connect(f"{url}&token={alice.access_token}") as ws:

        async def next_packet(prefix: str) -> str:
            async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
                while True:
                    packet = await ws.recv()
                    if isinstance(packet, str) and packet.startswith(prefix):
                        return packet

        await next_packet('42["authenticated"')
        post(api, bob, chat, "v2")
        args = orjson.loads((await next_packet('42["message"'))[2:])
        assert len(args) == 2
        assert args[1]["content"] == "v2"
