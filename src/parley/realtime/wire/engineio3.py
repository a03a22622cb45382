"""Engine.IO v3 (socket.io-client 1.x and 2.x): what differs from v4, for `engineio` to use.

The v3 protocol (socketio/engine.io-protocol, branch v3; engine.io 3.x) differs from v4 in:

- the open packet: `{sid, upgrades, pingInterval, pingTimeout}`, without `maxPayload`;
- the heartbeat's direction: the client pings (`2`), the server answers (`3`), and closes a
  session that has not pinged for `pingInterval + pingTimeout` (`ClientPings`);
- long-polling payloads: each packet is `<length>:<packet>`, the length counted in characters
  as JavaScript counts them (UTF-16 code units), binary packets as `b4<base64>`; a client with
  XHR2 that asked for no base64 (no `b64=1` at the handshake) may send and receive binary
  payloads (`application/octet-stream`): per packet a byte 0 (text) or 1 (binary), the length
  in bytes as one byte per decimal digit, a byte 255, then the packet;
- WebSocket binary frames start with the packet type byte (4), where v4 sends the data alone.

Packets cross this module's border in v4's text form, the form the rest of `engineio` handles:
a text packet as it is, a binary message as `b<base64>`. So v3 binary takes the same path as
v4 binary wherever that leads. The upgrade (`2probe`, `3probe`, `5`) and the packet types are
the same in both versions. JSONP polling (`j=`) is not supported (socket.io-client uses it
only when a browser has no XHR, or when told to with `forceJSONP`).
"""

from __future__ import annotations

import base64
import binascii
import heapq
from collections.abc import Callable

import orjson

PROTOCOL = "3"
BINARY_CONTENT_TYPE = "application/octet-stream"
MESSAGE = "4"
_BINARY_V4 = "b"
"""A binary message in v4's polling form: `b<base64>` (the type is implicit: message)."""
_BINARY_V3 = "b4"
"""A binary message in v3's text form: `b`, the packet type, then base64."""
MAX_LENGTH_DIGITS = 10
"""A length prefix longer than this cannot be honest (SIO_MAX_PAYLOAD_BYTES is far smaller)."""
_STRING, _BINARY, _END = 0, 1, 255


class PayloadError(ValueError):
    """A long-polling body that is no v3 payload: the protocol's `parse error` (the session
    closes)."""


def handshake(sid: str, upgrades: list[str], ping_interval_ms: int, ping_timeout_ms: int) -> str:
    """The open packet as engine.io 3.x sends it."""
    data = {
        "sid": sid,
        "upgrades": upgrades,
        "pingInterval": ping_interval_ms,
        "pingTimeout": ping_timeout_ms,
    }
    return "0" + orjson.dumps(data).decode()


def js_length(text: str) -> int:
    """The length JavaScript gives a string: UTF-16 code units (an emoji counts 2)."""
    if text.isascii():  # O(1) on str
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


# -- long-polling, client to server ---------------------------------------------------------------


def decode_payload(body: bytes, *, binary: bool) -> list[str]:
    """The packets of a POST body (`binary`: it came as application/octet-stream), in v4's
    text form. Raises PayloadError for anything malformed, as engine.io-parser does."""
    packets = _decode_binary(body) if binary else _decode_text(body.decode("utf-8", "replace"))
    if not packets:
        raise PayloadError("an empty payload")
    return packets


def _decode_text(text: str) -> list[str]:
    utf16 = b"" if text.isascii() else text.encode("utf-16-le", "surrogatepass")
    if len(utf16) in (0, 2 * len(text)):  # nothing outside the BMP: a character is a unit
        return _walk(lambda at: text.find(":", at), lambda start, end: text[start:end], len(text))

    def find_colon(at: int) -> int:
        found = utf16.find(b":\x00", 2 * at)
        while found != -1 and found % 2:  # the two bytes must be one code unit, not halves of two
            found = utf16.find(b":\x00", found + 1)
        return found // 2 if found != -1 else -1

    def units(start: int, end: int) -> str:
        try:
            return utf16[2 * start : 2 * end].decode("utf-16-le")
        except UnicodeDecodeError as exc:  # the length cuts a surrogate pair in two
            raise PayloadError("a packet length splits a character") from exc

    return _walk(find_colon, units, len(utf16) // 2)


def _walk(
    find_colon: Callable[[int], int], units: Callable[[int, int], str], size: int
) -> list[str]:
    """`<length>:<packet>` after one another, positions counted in UTF-16 code units."""
    packets: list[str] = []
    at = 0
    while at < size:
        colon = find_colon(at)
        digits = units(at, colon) if colon != -1 else ""
        if not (digits.isascii() and digits.isdigit()) or len(digits) > MAX_LENGTH_DIGITS:
            raise PayloadError("a packet length is not a number followed by ':'")
        start = colon + 1
        end = start + int(digits)
        if end > size:
            raise PayloadError("a packet is shorter than its length")
        packet = units(start, end)
        if packet:  # `0:` is how an empty payload is written: nothing to read
            packets.append(_from_v3_text(packet))
        at = end
    return packets


def _from_v3_text(packet: str) -> str:
    """`b4<base64>` → `b<base64>`; any other text packet as it is."""
    if not packet.startswith(_BINARY_V4):
        return packet
    if not packet.startswith(_BINARY_V3):
        raise PayloadError("a base64 packet that is no message")
    try:
        base64.b64decode(packet[2:], validate=True)
    except binascii.Error as exc:
        raise PayloadError("a base64 packet that is no base64") from exc
    return _BINARY_V4 + packet[2:]


def _decode_binary(body: bytes) -> list[str]:
    packets: list[str] = []
    at, size = 0, len(body)
    while at < size:
        kind = body[at]
        if kind not in (_STRING, _BINARY):
            raise PayloadError("a binary payload part is neither string (0) nor binary (1)")
        end_of_length = body.find(_END, at + 1, at + 2 + MAX_LENGTH_DIGITS)
        digits = body[at + 1 : end_of_length]
        if end_of_length == -1 or not digits or any(d > 9 for d in digits):
            raise PayloadError("a binary payload length is not digits followed by 255")
        length = int("".join(str(d) for d in digits))
        start, end = end_of_length + 1, end_of_length + 1 + length
        if length == 0 or end > size:
            raise PayloadError("a binary payload part is shorter than its length")
        part = body[start:end]
        if kind == _STRING:
            try:
                packets.append(_from_v3_text(part.decode("utf-8")))
            except UnicodeDecodeError as exc:
                raise PayloadError("a string part that is not UTF-8") from exc
        elif part[0] != int(MESSAGE):
            raise PayloadError("a binary part that is no message")
        else:
            packets.append(_BINARY_V4 + base64.b64encode(part[1:]).decode())
        at = end
    return packets


# -- long-polling, server to client ---------------------------------------------------------------


def encode_payload(packets: list[str], *, binary: bool) -> tuple[bytes, bool]:
    """A poll's answer: the body, and whether it is binary (application/octet-stream).

    `binary`: the client takes binary payloads (it sent no `b64=1` at its handshake); they are
    used only when a packet is binary, as engine.io 3.x does.
    """
    if binary and any(packet.startswith(_BINARY_V4) for packet in packets):
        return b"".join(_binary_part(packet) for packet in packets), True
    parts = []
    for packet in packets:
        if packet.startswith(_BINARY_V4):
            packet = _BINARY_V3 + packet[1:]
        parts.append(f"{js_length(packet)}:{packet}")
    return "".join(parts).encode(), False


def _binary_part(packet: str) -> bytes:
    if packet.startswith(_BINARY_V4):
        data = bytes([int(MESSAGE)]) + base64.b64decode(packet[1:])
        kind = _BINARY
    else:
        data = packet.encode()
        kind = _STRING
    return bytes([kind, *(int(d) for d in str(len(data))), _END]) + data


# -- WebSocket ---------------------------------------------------------------------------------


def from_ws_text(frame: str) -> str:
    """A text frame in v4's form: the same, but for `b4<base64>` (a client with
    `forceBase64`), which becomes `b<base64>`. Raises PayloadError for a bad base64 one."""
    return _from_v3_text(frame) if frame.startswith(_BINARY_V4) else frame


def from_ws_binary(frame: bytes) -> bytes:
    """A binary frame's message data: v3 puts the packet type (4) first."""
    if not frame or frame[0] != int(MESSAGE):
        raise PayloadError("a binary frame that is no message")
    return frame[1:]


def to_ws_binary(data: bytes) -> bytes:
    """A binary message as a v3 binary frame."""
    return bytes([int(MESSAGE)]) + data


# -- heartbeat ---------------------------------------------------------------------------------


class ClientPings:
    """The v3 heartbeat: each session must ping within `limit_secs` (pingInterval +
    pingTimeout) of opening or of its last ping, or it is due to close.

    One heap entry per session, whatever it sends: when an entry comes due and the session
    pinged meanwhile, the entry goes back in at the session's new deadline. A client that pings
    in a loop moves a number, not the heap. (v4's deadline queues rely on every entry having
    the same delay from when it was queued; these do not, hence a heap.)
    """

    __slots__ = ("_alive_until", "_heap", "_limit")

    def __init__(self, limit_secs: float) -> None:
        self._limit = limit_secs
        self._heap: list[tuple[float, str]] = []
        self._alive_until: dict[str, float] = {}

    def watch(self, sid: str, now: float) -> None:
        deadline = now + self._limit
        self._alive_until[sid] = deadline
        heapq.heappush(self._heap, (deadline, sid))

    def pinged(self, sid: str, now: float) -> None:
        if sid in self._alive_until:
            self._alive_until[sid] = now + self._limit

    def forget(self, sid: str) -> None:
        self._alive_until.pop(sid, None)

    def next_deadline(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def due(self, now: float) -> list[str]:
        """The sessions that stopped pinging (each once); they are forgotten."""
        heap, alive_until = self._heap, self._alive_until
        silent = []
        while heap and heap[0][0] <= now:
            _, sid = heapq.heappop(heap)
            deadline = alive_until.get(sid)
            if deadline is None:
                continue  # closed meanwhile
            if deadline > now:
                heapq.heappush(heap, (deadline, sid))
            else:
                del alive_until[sid]
                silent.append(sid)
        return silent

    def __len__(self) -> int:
        return len(self._alive_until)
