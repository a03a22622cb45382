"""The official socket.io-client 2.x (Engine.IO 3, from npm as socket.io-client-v2) against
Parley, beside the 4.x client: sign-in from the query or `authenticate`, rooms across the two
versions, `/gameplay`, refusals, and the v3 heartbeat ending a silent client that then
reconnects by itself. The server's heartbeat runs at 1 s + 1 s so that takes seconds."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.accounts import Account, register
from tests.support.js import run_js
from tests.support.server import ServerProcess, start_server


@pytest.fixture(scope="module")
def v2_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(
        Path(tmp_path_factory.mktemp("v2-client")),
        {"SIO_PING_INTERVAL_SECS": "1", "SIO_PING_TIMEOUT_SECS": "1"},
    )
    yield server
    server.stop()


@pytest.fixture
def accounts(v2_server: ServerProcess) -> tuple[Account, Account]:
    with httpx.Client(base_url=v2_server.base_url, timeout=15) as api:
        return register(api), register(api)


@pytest.mark.parametrize("transports", ["polling,websocket", "websocket", "polling"])
def test_a_v2_client_talks_with_a_v4_client_in_a_room(
    v2_server: ServerProcess, accounts: tuple[Account, Account], transports: str
) -> None:
    alice, bob = accounts
    room = f"v2-{uuid.uuid4().hex[:8]}"
    outcome = run_js(
        "v2.mjs", "roundtrip", v2_server.base_url, alice.access_token, bob.access_token, room,
        transports,
    )  # fmt: skip
    assert outcome["signedIn"]["user_id"] == alice.id  # the token came in the query
    assert outcome["joined"]["conversation"]["name"] == room
    assert outcome["stored"]["content"] == "from v2"
    assert outcome["receivedByBob"]["id"] == outcome["stored"]["id"]
    assert outcome["receivedByBob"]["sender"]["username"] == alice.username
    assert outcome["receivedByAlice"]["content"] == "from v4"
    assert outcome["receivedByAlice"]["sender"]["username"] == bob.username
    assert outcome["transport"] == transports.split(",")[-1]  # upgraded when it could


def test_a_v2_client_signs_in_with_authenticate(
    v2_server: ServerProcess, accounts: tuple[Account, Account]
) -> None:
    alice, _ = accounts
    outcome = run_js("v2.mjs", "authenticate", v2_server.base_url, alice.access_token)
    assert outcome["before"]["error"]["code"] == "not_authenticated"
    assert outcome["answer"]["user_id"] == alice.id
    assert outcome["after"]["status"] == "alive"


def test_a_v2_client_plays_on_the_gameplay_namespace(
    v2_server: ServerProcess, accounts: tuple[Account, Account]
) -> None:
    alice, bob = accounts
    outcome = run_js("v2.mjs", "gameplay", v2_server.base_url, alice.access_token, bob.access_token)
    assert outcome["signedIn"]["user_id"] == alice.id  # from `0/gameplay?token=…,`
    assert outcome["bobIn"]["user_id"] == bob.id
    room = outcome["room"]
    assert room["players"][0]["player_id"] == alice.id
    assert outcome["joined"]["room_id"] == room["room_id"]
    assert outcome["state"]["room_id"] == room["room_id"]
    assert outcome["action"]["sender"]["user_id"] == alice.id
    assert outcome["action"]["coordinates"] == {"x": 1, "y": 2}


def test_a_v2_client_with_a_bad_token_gets_error_events(v2_server: ServerProcess) -> None:
    outcome = run_js("v2.mjs", "refused", v2_server.base_url)
    for namespace in ("/", "/gameplay"):
        assert outcome[namespace]["code"] == "invalid_token", outcome
        assert outcome[namespace]["message"]
        assert outcome[f"{namespace} connected"] is False
    assert outcome["/nowhere"] == "Invalid namespace"  # the reference server's string


@pytest.mark.parametrize("transports", ["websocket", "polling"])
def test_a_v2_client_that_stops_pinging_is_dropped_and_reconnects(
    v2_server: ServerProcess, accounts: tuple[Account, Account], transports: str
) -> None:
    alice, _ = accounts
    outcome = run_js("v2.mjs", "reconnect", v2_server.base_url, alice.access_token, transports)
    assert outcome["pongs"] >= 3  # answered pings kept it connected past interval + timeout
    assert outcome["reason"] == "transport close"  # the server ended it
    assert outcome["secondEngine"] != outcome["firstEngine"]  # a new session
    assert outcome["signedIn"]["user_id"] == alice.id  # signed in again from the query
    assert outcome["answer"]["status"] == "alive"
