"""Hostile and malformed input at the socket edges: answered with a stable error code, never a
500 and never a dropped connection (issue #10).

Origin bytes, Socket.IO ack ids, /ws frame ids, and `since` at sign-in and in `sync`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.support.accounts import Account, direct_chat, register
from tests.support.clients import WsClient
from tests.support.eio import EioSocket
from tests.support.server import ServerProcess, start_server

GOOD_ORIGIN = "http://good.example"


@pytest.fixture(scope="module")
def edge_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(
        Path(tmp_path_factory.mktemp("edges")), {"CORS_ALLOWED_ORIGINS": GOOD_ORIGIN}
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def edge_account(edge_server: ServerProcess) -> Account:
    with httpx.Client(base_url=edge_server.base_url, timeout=15) as api:
        return register(api)


# -- Origin -----------------------------------------------------------------------------------


def test_a_non_utf8_origin_is_simply_not_allowed(edge_server: ServerProcess) -> None:
    with httpx.Client(base_url=edge_server.base_url, timeout=15) as http:
        path = "/socket.io/?EIO=4&transport=polling"
        bad = http.get(path, headers={"Origin": b"http://\xff\xfe.example"})
        assert bad.status_code == 403
        assert bad.json()["error"]["code"] == "origin_not_allowed"
        assert "access-control-allow-origin" not in bad.headers
        good = http.get(path, headers={"Origin": GOOD_ORIGIN})
        assert good.headers["access-control-allow-origin"] == GOOD_ORIGIN
        preflight = http.options(path, headers={"Origin": b"http://\xc3("})
        assert preflight.status_code < 500
        assert "access-control-allow-origin" not in preflight.headers


def test_refused_bodies_carry_cors_headers_for_the_browser_to_read(
    edge_server: ServerProcess, edge_account: Account
) -> None:
    """A browser reads a 413 or 422 only with CORS headers; without them it reports a CORS
    failure instead of the error (the body checks ran outside CORS)."""
    headers = {**edge_account.headers, "Origin": GOOD_ORIGIN, "Content-Type": "application/json"}
    with httpx.Client(base_url=edge_server.base_url, timeout=15) as http:
        path = "/api/v1/users/me"
        refused = http.patch(path, headers=headers, content=b'{"name":"\\ud800"}')
        too_large = http.patch(
            path, headers=headers, content=b'{"name":"' + b"x" * 2_000_000 + b'"}'
        )
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "validation_error")
    assert too_large.status_code == 413
    for response in (refused, too_large):
        assert response.headers["access-control-allow-origin"] == GOOD_ORIGIN


# -- Socket.IO ack ids ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "packet",
    [
        '42\u00b2["heartbeat"]',  # "²" is str.isdigit() but not an ack id
        '42\u0663["heartbeat"]',  # ARABIC-INDIC DIGIT THREE
        "42" + "1" * 4301 + '["heartbeat"]',  # past int()'s 4 300-digit limit
        "42" + "9" * 16 + '["heartbeat"]',  # no longer a safe JavaScript integer
    ],
    ids=["superscript", "arabic-indic", "4301-digits", "16-digits"],
)
async def test_a_bad_ack_id_is_no_socketio_packet_and_closes_the_connection(
    edge_server: ServerProcess, edge_account: Account, packet: str
) -> None:
    # Not an ack id, so the rest is no JSON payload (or too long an id to be one): the
    # packet cannot be decoded, and the protocol closes (tests/realtime/wire/test_strict_socketio).
    client = await EioSocket.open(edge_server)
    await client.send("40" + orjson.dumps({"token": edge_account.access_token}).decode())
    await client.event("authenticated")
    await client.send('42999999999999999["heartbeat"]')  # 15 digits: fine
    answer = await client.next(lambda p: p.startswith("43999999999999999"))
    assert orjson.loads(answer[len("43999999999999999") :])[0]["status"] == "alive"
    await client.send(packet)
    assert await client.closed() == 1002


# -- /ws frame ids ----------------------------------------------------------------------------


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize(
    ("frame_id", "code"),
    [
        ("[[1]]", "bad_frame"),
        ('{"a": 1}', "bad_frame"),
        ("1.5", "bad_frame"),
        ("true", "bad_frame"),
        # Integers past 64 bits never get this far: the edge JSON policy refuses them.
        (str(2**63), "validation_error"),
        (str(-(2**63) - 1), "validation_error"),
        ('"' + "x" * 129 + '"', "bad_frame"),
    ],
    ids=["list", "object", "float", "bool", "int64+1", "int64-1", "129-chars"],
)
async def test_a_bad_frame_id_is_a_bad_frame_and_the_connection_stays(
    edge_server: ServerProcess, edge_account: Account, frame_id: str, code: str
) -> None:
    before = await WsClient.open(edge_server.base_url)  # waiting for its auth frame
    await before.send(f'{{"type":"auth","id":{frame_id},"data":{{"token":"x"}}}}')
    error = await before.expect("error")
    assert (error["code"], "id" in error) == (code, False)
    await before.send({"type": "auth", "data": {"token": edge_account.access_token}})
    await before.expect("authenticated")
    await before.send(f'{{"type":"ping","id":{frame_id}}}')
    error = await before.expect("error")
    assert (error["code"], "id" in error) == (code, False)
    assert await before.ack("ping") == {"pong": True}
    await before.close()


async def test_frame_ids_in_bounds_are_echoed(
    edge_server: ServerProcess, edge_account: Account
) -> None:
    client = await WsClient.open(edge_server.base_url, edge_account.access_token)
    for frame_id in ["x" * 128, 2**63 - 1, -(2**63), 0]:
        await client.send({"type": "ping", "id": frame_id})
        reply = await client.next(lambda f, i=frame_id: f.get("id") == i)
        assert reply["type"] == "ack"
    await client.close()


async def test_a_deeply_nested_frame_id_costs_no_connection(
    edge_server: ServerProcess, edge_account: Account
) -> None:
    client = await WsClient.open(edge_server.base_url, edge_account.access_token)
    for levels in (254, 300, 1000):
        await client.send(f'{{"type":"ping","id":{nested(levels)}}}')
        assert (await client.expect("error"))["type"] == "error"
    assert await client.ack("ping") == {"pong": True}
    await client.close()


@pytest.mark.parametrize(
    ("frame_type", "code"),
    # A 1000-deep list is refused by the edge JSON policy before the type is looked at.
    [(nested(1000), "validation_error"), ("5", "bad_frame"), ('{"t": "ping"}', "bad_frame")],
    ids=["deep-list", "number", "object"],
)
async def test_a_frame_type_that_is_not_a_string_is_a_bad_frame(
    edge_server: ServerProcess, edge_account: Account, frame_type: str, code: str
) -> None:
    client = await WsClient.open(edge_server.base_url)  # waiting for its auth frame
    await client.send(f'{{"type":{frame_type},"data":{{"token":"x"}}}}')
    assert (await client.expect("error"))["code"] == code
    await client.send({"type": "auth", "data": {"token": edge_account.access_token}})
    await client.expect("authenticated")
    await client.send(f'{{"type":{frame_type}}}')
    assert (await client.expect("error"))["code"] == code
    assert await client.ack("ping") == {"pong": True}
    await client.close()


# -- since at sign-in, and in sync ------------------------------------------------------------

BAD_SINCE: list[Any] = [
    "x",
    [1, 2],
    {"not-a-uuid": 1},
    {"00000000-0000-0000-0000-000000000001": 2**63},
    {"00000000-0000-0000-0000-000000000001": -1},
    {"00000000-0000-0000-0000-000000000001": "many"},
    {str(uuid.UUID(int=i)): 0 for i in range(1001)},
]
BAD_SINCE_IDS = ["string", "list", "non-uuid-key", "seq-2**63", "negative", "seq-string", "1001"]


@pytest.mark.parametrize("since", BAD_SINCE, ids=BAD_SINCE_IDS)
async def test_a_bad_since_in_the_socketio_connect_is_refused_not_dropped(
    edge_server: ServerProcess, edge_account: Account, since: Any
) -> None:
    client = await EioSocket.open(edge_server)
    auth = {"token": edge_account.access_token, "since": since}
    await client.send("40" + orjson.dumps(auth).decode())
    refused = orjson.loads((await client.next(lambda p: p.startswith("44")))[2:])
    assert refused["data"]["code"] == "validation_error"
    assert refused["data"]["details"]["fields"][0]["field"].startswith("since")
    # The same session connects once the client sends a good one.
    await client.send(
        "40" + orjson.dumps({"token": edge_account.access_token, "since": {}}).decode()
    )
    await client.event("authenticated")
    await client.close()


@pytest.mark.parametrize("since", BAD_SINCE, ids=BAD_SINCE_IDS)
async def test_a_bad_since_in_authenticate_refuses_that_sign_in_only(
    edge_server: ServerProcess, edge_account: Account, since: Any
) -> None:
    client = await EioSocket.open(edge_server)
    await client.send("40")
    await client.next(lambda p: p.startswith("40{"))
    bad = {"token": edge_account.access_token, "since": since}
    await client.send("421" + orjson.dumps(["authenticate", bad]).decode())
    answer = orjson.loads((await client.next(lambda p: p.startswith("431")))[3:])[0]
    assert answer["error"]["code"] == "validation_error"
    # Not half signed in: a good authenticate still works, and signs in.
    good = {"token": edge_account.access_token}
    await client.send("422" + orjson.dumps(["authenticate", good]).decode())
    answer = orjson.loads((await client.next(lambda p: p.startswith("432")))[3:])[0]
    assert answer["user_id"] == edge_account.id
    await client.close()


@pytest.mark.parametrize("since", BAD_SINCE, ids=BAD_SINCE_IDS)
async def test_a_bad_since_in_the_ws_auth_frame_is_refused_not_dropped(
    edge_server: ServerProcess, edge_account: Account, since: Any
) -> None:
    client = await WsClient.open(edge_server.base_url)
    refused = await client.command("auth", {"token": edge_account.access_token, "since": since})
    assert refused["code"] == "validation_error"
    await client.send({"type": "auth", "data": {"token": edge_account.access_token}})
    await client.expect("authenticated")
    assert await client.ack("ping") == {"pong": True}
    await client.close()


async def test_sync_with_a_seq_past_int64_is_a_validation_error_on_every_database(
    api: httpx.Client, server: ServerProcess
) -> None:
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    client = await WsClient.open(server.base_url, alice.access_token)
    for seq in (2**63, 2**64 - 1):
        refused = await client.command("sync", {"since": {chat: seq}})
        assert refused["code"] == "validation_error", refused
    largest = await client.ack("sync", {"since": {chat: 2**63 - 1}})
    assert largest["conversations"][chat]["delivered"] == 0
    await client.close()

    sio = await EioSocket.open(server)
    await sio.send("40" + orjson.dumps({"token": alice.access_token}).decode())
    await sio.event("authenticated")
    await sio.send("421" + orjson.dumps(["sync", {"since": {chat: 2**63}}]).decode())
    answer = orjson.loads((await sio.next(lambda p: p.startswith("431")))[3:])[0]
    assert answer["error"]["code"] == "validation_error"
    await sio.close()
