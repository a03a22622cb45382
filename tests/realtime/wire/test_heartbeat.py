"""The Engine.IO heartbeat and the connect and sign-in timeouts, on the server's own clock.

The server pings every client `SIO_PING_INTERVAL_SECS` after it opened or last answered,
however busy it is (a client closes a connection that gets no ping for interval + timeout),
and closes one that leaves a ping unanswered for `SIO_PING_TIMEOUT_SECS`. Timings here run at
1 s / 1 s and are checked with slack for a loaded machine, well under the interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.support.accounts import Account, register
from tests.support.eio import EioSocket
from tests.support.js import run_js
from tests.support.server import ServerProcess, start_server

INTERVAL_SECS = 1.0
TIMEOUT_SECS = 1.0
CONNECT_TIMEOUT_SECS = 0.8
LATE_SECS = 0.25
"""How late a ping or a close may come on a busy test machine (the old sweeper: up to 0.5 s
late, and never a ping for a client that kept sending)."""


@pytest.fixture(scope="module")
def heartbeat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(
        Path(tmp_path_factory.mktemp("heartbeat")),
        {
            "SIO_PING_INTERVAL_SECS": str(INTERVAL_SECS),
            "SIO_PING_TIMEOUT_SECS": str(TIMEOUT_SECS),
            "SIO_CONNECT_TIMEOUT_SECS": str(CONNECT_TIMEOUT_SECS),
        },
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def account(heartbeat_server: ServerProcess) -> Account:
    with httpx.Client(base_url=heartbeat_server.base_url, timeout=15) as api:
        return register(api)


async def signed_in(server: ServerProcess, account: Account) -> EioSocket:
    client = await EioSocket.open(server)
    assert client.handshake["pingInterval"] == 1000
    await client.send("40" + orjson.dumps({"token": account.access_token}).decode())
    await client.event("authenticated")
    return client


@pytest.mark.parametrize(
    ("transports", "ends_on"),
    [("websocket", "websocket"), ("polling", "polling"), ("polling,websocket", "websocket")],
    ids=["websocket", "polling", "upgrade"],
)
def test_a_busy_js_client_is_pinged_and_stays_connected(
    heartbeat_server: ServerProcess, account: Account, transports: str, ends_on: str
) -> None:
    outcome = run_js(
        "heartbeat.mjs", heartbeat_server.base_url, account.access_token, transports, "4500"
    )
    assert outcome["transport"] == ends_on
    assert outcome["disconnects"] == []
    assert outcome["connected"] is True
    assert outcome["answer"]["status"] == "alive"
    assert outcome["pings"] >= 3  # at ~1, ~2, ~3, ~4 s


async def test_a_client_that_keeps_sending_is_pinged_every_interval(
    heartbeat_server: ServerProcess, account: Account
) -> None:
    client = await signed_in(heartbeat_server, account)
    # The traffic under test: one heartbeat after another, each awaited by its ack (reading
    # the acks also records, and answers, the pings that come meanwhile).
    async with asyncio.timeout(3 * INTERVAL_SECS + 2):
        while len(client.pings) < 3:
            await client.send('421["heartbeat"]')
            await client.next(lambda p: p.startswith("431"))
    first = client.pings[0] - client.opened_at
    assert INTERVAL_SECS - 0.05 <= first <= INTERVAL_SECS + LATE_SECS, first
    # Each next ping an interval after the answer to the last one (answered at once here).
    gaps = [b - a for a, b in zip(client.pings, client.pings[1:], strict=False)]
    assert all(INTERVAL_SECS - 0.05 <= gap <= INTERVAL_SECS + LATE_SECS for gap in gaps), gaps
    await client.close()


async def test_a_client_that_never_answers_a_ping_is_closed_after_the_timeout(
    heartbeat_server: ServerProcess, account: Account
) -> None:
    client = await signed_in(heartbeat_server, account)
    client.answer_pings = False
    code = await client.closed(timeout=INTERVAL_SECS + TIMEOUT_SECS + 2)
    closed_at = time.monotonic()
    assert code == 1000
    assert len(client.pings) == 1
    first = client.pings[0] - client.opened_at
    assert INTERVAL_SECS - 0.05 <= first <= INTERVAL_SECS + LATE_SECS, first
    waited = closed_at - client.pings[0]
    assert TIMEOUT_SECS - 0.05 <= waited <= TIMEOUT_SECS + LATE_SECS, waited


async def test_a_session_that_never_connects_a_namespace_is_closed(
    heartbeat_server: ServerProcess,
) -> None:
    client = await EioSocket.open(heartbeat_server)
    code = await client.closed(timeout=CONNECT_TIMEOUT_SECS + 2)
    waited = time.monotonic() - client.opened_at
    assert code == 4408
    assert CONNECT_TIMEOUT_SECS - 0.05 <= waited <= CONNECT_TIMEOUT_SECS + LATE_SECS, waited


async def test_a_polling_session_that_never_connects_a_namespace_is_closed(
    heartbeat_server: ServerProcess,
) -> None:
    base = f"{heartbeat_server.base_url}/socket.io/?EIO=4&transport=polling"
    async with httpx.AsyncClient(timeout=5) as http:
        opened = await http.get(base)
        sid = opened.text.split('"sid":"')[1].split('"')[0]
        started = time.monotonic()
        poll = await http.get(f"{base}&sid={sid}")  # answered when the session closes
        waited = time.monotonic() - started
        assert poll.text == "1"  # CLOSE
        assert waited <= CONNECT_TIMEOUT_SECS + LATE_SECS, waited
        gone = await http.get(f"{base}&sid={sid}")
        assert gone.status_code == 400


async def test_a_namespace_connect_in_time_keeps_the_session(
    heartbeat_server: ServerProcess, account: Account
) -> None:
    client = await signed_in(heartbeat_server, account)
    await client.next(lambda _: len(client.pings) >= 1, timeout=INTERVAL_SECS + 2)
    await client.send('421["heartbeat"]')
    assert (await client.next(lambda p: p.startswith("431"))).startswith('431[{"status":"alive"')
    await client.close()


async def test_the_socketio_sign_in_timeout_closes_with_4408(
    heartbeat_server: ServerProcess,
) -> None:
    client = await EioSocket.open(heartbeat_server)
    await client.send("40")  # no token: WS_AUTH_TIMEOUT_SECS (1 s in tests) runs
    await client.next(lambda p: p.startswith("40{"))
    assert (await client.event("error"))["code"] == "auth_timeout"
    await client.next(lambda p: p == "41")
    assert await client.closed() == 4408


async def test_a_client_whose_sends_wait_for_the_database_is_not_dropped(
    tmp_path: Path,
) -> None:
    """Another process holds SQLite's write lock for over two ping intervals while the client
    sends 100 messages at once: past 64 in flight the server stops reading its packets, so
    its PONGs wait behind its sends. What came in after a ping counts as the answer: the
    client stays connected, and every send is stored once the lock is free."""
    data = tmp_path / "held"
    server = start_server(
        data,
        {
            "SIO_PING_INTERVAL_SECS": str(INTERVAL_SECS),
            "SIO_PING_TIMEOUT_SECS": str(TIMEOUT_SECS),
            "DATABASE_BUSY_TIMEOUT_SECS": "30",
        },
    )
    try:
        with httpx.Client(base_url=server.base_url, timeout=15) as api:
            someone = register(api)
        client = await signed_in(server, someone)
        room = f"held-{time.monotonic_ns()}"
        await client.send(f'420["join",{{"room_id":"{room}"}}]')
        await client.starting("430")
        holder = sqlite3.connect(data / "parley.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            for n in range(1, 101):
                await client.send(f'42{n}["message",{{"room_id":"{room}","content":"m{n}"}}]')
            held_until = time.monotonic() + 2 * (INTERVAL_SECS + TIMEOUT_SECS) + 0.5
            with contextlib.suppress(TimeoutError):  # reading on, answering the pings
                await client.next(lambda _: False, timeout=held_until - time.monotonic())
        finally:
            holder.rollback()
            holder.close()
        assert len(client.pings) >= 2  # pinged, and answered, while its sends waited
        acks: dict[int, Any] = {}
        async with asyncio.timeout(20):
            while len(acks) < 100:
                packet = await client.next(lambda p: p.startswith("43") and p[2:3] != "0")
                number, _, body = packet[2:].partition("[")
                acks[int(number)] = orjson.loads("[" + body)[0]
        assert all("error" not in ack for ack in acks.values()), acks
        assert sorted(acks) == list(range(1, 101))
        await client.close()
    finally:
        server.stop()


async def test_a_polling_session_that_times_out_between_polls_gets_close_at_its_next_poll(
    heartbeat_server: ServerProcess,
) -> None:
    """A session that times out while no poll of its client is waiting: the next poll is
    answered CLOSE, as a waiting one would have been (socket.io clients then report
    "transport close", not "transport error"); only the poll after that finds it unknown."""
    base = f"{heartbeat_server.base_url}/socket.io/?EIO=4&transport=polling"
    async with httpx.AsyncClient(timeout=5) as http:
        quiet = (await http.get(base)).text.split('"sid":"')[1].split('"')[0]
        clock = (await http.get(base)).text.split('"sid":"')[1].split('"')[0]
        # The clock's poll is answered when the clock times out; the quiet session, opened
        # first, has timed out by then, with no poll of its own waiting.
        assert (await http.get(f"{base}&sid={clock}")).text == "1"
        answer = await http.get(f"{base}&sid={quiet}")
        assert (answer.status_code, answer.text) == (200, "1")  # CLOSE
        gone = await http.get(f"{base}&sid={quiet}")
        assert gone.status_code == 400
