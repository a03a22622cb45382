"""Parley's WebSocket protocol at the byte level (RFC 6455), with a raw TCP client.

The protocol is the same whatever the database, so these run on the SQLite server only.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import orjson
import pytest

from tests.support.accounts import register
from tests.support.clients import RECEIVE_TIMEOUT_SECS
from tests.support.server import ServerProcess

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

TEXT, CONT, CLOSE, PING, PONG = 0x1, 0x0, 0x8, 0x9, 0xA


def client_frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True) -> bytes:
    """A client frame; masked unless a test means to break the rules."""
    head = bytes([(0x80 if fin else 0) | opcode])
    length = len(payload)
    mask_bit = 0x80 if masked else 0
    if length < 126:
        head += bytes([mask_bit | length])
    else:
        head += struct.pack("!BH", mask_bit | 126, length)
    if not masked:
        return head + payload
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


@dataclass
class RawSocket:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    status: int
    headers: dict[str, str]

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def frame(self) -> tuple[int, bytes]:
        """The next server frame: (opcode, payload). Server frames are never masked."""
        async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
            first, second = await self.reader.readexactly(2)
            assert not second & 0x80, "server frames are unmasked"
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", await self.reader.readexactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
            return first & 0x0F, await self.reader.readexactly(length)

    async def frame_of(self, opcode: int) -> bytes:
        while True:
            kind, payload = await self.frame()
            if kind == opcode:
                return payload

    async def closed_with(self) -> int:
        """The code of the server's close frame; then the server ends the TCP connection."""
        payload = await self.frame_of(CLOSE)
        async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
            assert await self.reader.read() == b""
        return int(struct.unpack("!H", payload[:2])[0])


async def open_raw(
    server: ServerProcess, path: str, *, key: str | None = None, version: str = "13"
) -> RawSocket:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: 127.0.0.1:{server.port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Version: {version}",
    ]
    if key is not None:
        lines.append(f"Sec-WebSocket-Key: {key}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    status_line, *header_lines = head.strip().split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawSocket(reader, writer, int(status_line.split()[1]), headers)


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
    ],
    ids=["unmasked", "orphan-continuation", "bad-utf8", "too-big"],
)
async def test_protocol_violations_close_with_their_code(
    signed_in: RawSocket, frame: bytes, code: int
) -> None:
    signed_in.send(frame)
    assert await signed_in.closed_with() == code


async def test_a_client_close_is_answered_and_the_server_hangs_up(signed_in: RawSocket) -> None:
    signed_in.send(client_frame(CLOSE, struct.pack("!H", 1000) + b"bye"))
    assert await signed_in.closed_with() == 1000
