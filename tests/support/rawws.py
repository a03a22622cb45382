"""A raw RFC 6455 client over a TCP socket, for tests that need to break the rules or to
control exactly which bytes go out together."""

from __future__ import annotations

import asyncio
import os
import struct
from dataclasses import dataclass

from tests.support.clients import RECEIVE_TIMEOUT_SECS
from tests.support.server import ServerProcess

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
