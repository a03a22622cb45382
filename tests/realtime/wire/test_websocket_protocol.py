"""Parley's WebSocket protocol at the byte level (RFC 6455), with a raw TCP client.

The protocol is the same whatever the database, so these run on the SQLite server only.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest

from tests.support.accounts import register
from tests.support.rawws import CLOSE, CONT, PING, PONG, TEXT, RawSocket, client_frame, open_raw
from tests.support.server import ServerProcess

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
async def signed_in(api: httpx.Client, server: ServerProcess) -> AsyncIterator[RawSocket]:
    """A raw connection to /ws, past the handshake and signed in."""
    account = register(api)
    key = base64.b64encode(os.urandom(16)).decode()
    raw = await open_raw(server, f"/ws?token={account.access_token}", key=key)
    assert raw.status == 101
    authenticated = orjson.loads(await raw.frame_of(TEXT))
    assert authenticated["type"] == "authenticated"
    yield raw
    raw.writer.close()


async def test_the_handshake_proves_it_read_the_key(
    api: httpx.Client, server: ServerProcess
) -> None:
    account = register(api)
    key = base64.b64encode(os.urandom(16)).decode()
    raw = await open_raw(server, f"/ws?token={account.access_token}", key=key)
    expected = base64.b64encode(
        hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()  # noqa: S324
    ).decode()
    assert raw.status == 101
    assert raw.headers["sec-websocket-accept"] == expected
    assert raw.headers["upgrade"].lower() == "websocket"
    assert orjson.loads(await raw.frame_of(TEXT))["type"] == "authenticated"
    raw.writer.close()


@pytest.mark.parametrize(
    ("key", "version", "status"),
    [
        (None, "13", 400),
        ("not-base64!", "13", 400),
        (base64.b64encode(b"k" * 16).decode(), "8", 426),
    ],
)
async def test_bad_handshakes_are_refused(
    server: ServerProcess, key: str | None, version: str, status: int
) -> None:
    raw = await open_raw(server, "/ws", key=key, version=version)
    assert raw.status == status
    if status == 426:
        assert raw.headers["sec-websocket-version"] == "13"
    raw.writer.close()


async def test_a_fragmented_message_with_a_ping_inside_is_answered(signed_in: RawSocket) -> None:
    message = orjson.dumps({"type": "ping", "id": "frag", "data": {}})
    first, middle, last = message[:5], message[5:12], message[12:]
    signed_in.send(client_frame(TEXT, first, fin=False))
    signed_in.send(client_frame(CONT, middle, fin=False))
    signed_in.send(client_frame(PING, b"are you there"))  # control frames may interleave
    signed_in.send(client_frame(CONT, last))
    assert await signed_in.frame_of(PONG) == b"are you there"
    ack = orjson.loads(await signed_in.frame_of(TEXT))
    assert (ack["type"], ack["id"]) == ("ack", "frag")


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (client_frame(TEXT, b'{"type":"ping"}', masked=False), 1002),  # clients must mask
        (client_frame(CONT, b"orphan"), 1002),  # a continuation of nothing
        (client_frame(TEXT, b'{"type":"\xff\xfe"}'), 1007),  # not UTF-8
        (bytes([0x81, 0x80 | 127]) + struct.pack("!Q", 2**31) + os.urandom(4), 1009),
        (client_frame(CLOSE, struct.pack("!H", 1005)), 1002),  # a code no client may send
    ],
    ids=["unmasked", "orphan-continuation", "bad-utf8", "too-big", "bad-close-code"],
)
async def test_protocol_violations_close_with_their_code(
    signed_in: RawSocket, frame: bytes, code: int
) -> None:
    signed_in.send(frame)
    assert await signed_in.closed_with() == code


async def test_a_client_close_is_answered_and_the_server_hangs_up(signed_in: RawSocket) -> None:
    signed_in.send(client_frame(CLOSE, struct.pack("!H", 1000) + b"bye"))
    assert await signed_in.closed_with() == 1000


async def test_a_message_in_too_many_pieces_is_refused(signed_in: RawSocket) -> None:
    # Empty continuations add nothing to the size; their number is bounded all the same.
    signed_in.send(client_frame(TEXT, b"{", fin=False) + client_frame(CONT, b"", fin=False) * 2000)
    assert await signed_in.closed_with() == 1009


async def test_a_socketio_event_named_by_a_number_gets_an_error_and_one_named_by_a_list_closes(
    api: httpx.Client, server: ServerProcess
) -> None:
    # Both as socket.io-parser has it: a number is a valid event name at the protocol level
    # (Parley answers bad_packet), anything else is no EVENT at all (the connection closes).
    account = register(api)
    key = base64.b64encode(os.urandom(16)).decode()
    raw = await open_raw(server, "/socket.io/?EIO=4&transport=websocket", key=key)
    assert (await raw.frame_of(TEXT)).startswith(b"0")  # Engine.IO open
    raw.send(client_frame(TEXT, b'40{"token":"%s"}' % account.access_token.encode()))
    while not (await raw.frame_of(TEXT)).startswith(b"40"):
        pass
    raw.send(client_frame(TEXT, b"42[7,1]"))
    raw.send(client_frame(TEXT, b'42["heartbeat",{}]'))
    frames = []
    while not any(b'"alive"' in f or b"heartbeat" in f for f in frames[-1:]):
        frames.append(await raw.frame_of(TEXT))
    assert any(b"bad_packet" in f for f in frames), frames  # answered, and still connected
    raw.send(client_frame(TEXT, b'42[["not","a","name"],1]'))
    closing = await raw.frame_of(CLOSE)  # the server's close (it then waits for ours)
    assert struct.unpack("!H", closing[:2])[0] == 1002
    raw.writer.close()
