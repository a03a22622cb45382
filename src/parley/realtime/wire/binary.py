"""Binary on the wire: Socket.IO binary packets and their attachments, Engine.IO's base64 records.

A packet whose data holds bytes travels as a `5` BINARY_EVENT or `6` BINARY_ACK header,
`<type><n>-[<namespace>,][<ack id>]<JSON>`, where each bytes value is replaced by the
placeholder `{"_placeholder":true,"num":i}`, followed by exactly n attachments, in order (binary
WebSocket frames, or `b<base64>` records over long-polling). Parley decides what the reference
parser (socket.io-parser) decides: attachments belong to the header just before them, a count
past the bound is refused ("too many attachments"; its `maxAttachments` is 10), a placeholder
must name an attachment of its packet. The reference server closes the connection on every
decoding failure; in Parley a header that cannot be decoded goes the way of any Socket.IO
packet that cannot be decoded (`socketio`), and a broken sequence (an attachment nobody waits
for, a text packet before the last attachment) closes the connection.

Engine.IO carries each attachment as a binary message: a binary WebSocket frame, or over
long-polling a `b<base64>` record of a payload (the functions at the end; inside `engineio` a
binary message waiting in an outbox has that text form too, the form `engineio3` converts).
Nothing here knows about namespaces or sessions: `socketio` parses the rest of a header,
`engineio` carries the attachments.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Generic, TypeVar

import orjson

PLACEHOLDER = "_placeholder"
BINARY_RECORD = "b"
"""Engine.IO's binary message as text: `b<base64>`."""
BYTES_TYPES = (bytes, bytearray, memoryview)
MAX_COUNT_DIGITS = 6
"""More digits than any sane bound on attachments: a longer count is refused unread."""

BAD_PACKET = "bad_packet"
TOO_MANY_ATTACHMENTS = "too_many_attachments"
PAYLOAD_TOO_LARGE = "payload_too_large"

H = TypeVar("H")


class AttachmentError(ValueError):
    """A binary packet that cannot be taken: its count, its placeholders or its size. The
    message is short, for a close reason (socket.io-parser's words where it has some)."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}


def split_count(rest: str, max_attachments: int) -> tuple[int, str]:
    """`2-/chat,7[...]` (a header after its type) → `(2, "/chat,7[...]")`."""
    end = rest.find("-", 0, MAX_COUNT_DIGITS + 1)
    digits = rest[:end] if end > 0 else ""
    if not digits or not all("0" <= c <= "9" for c in digits):  # ASCII only, as `isdigit` is not
        raise AttachmentError(BAD_PACKET, "illegal attachments (a count of digits, then '-')")
    count = int(digits)
    if count > max_attachments:
        raise AttachmentError(
            TOO_MANY_ATTACHMENTS,
            f"too many attachments (at most {max_attachments})",
            {"limit": max_attachments, "count": count},
        )
    return count, rest[end + 1 :]


def check_placeholders(data: Any, count: int) -> None:
    """Raise unless every placeholder in `data` is exactly `{"_placeholder": true, "num": i}`
    with 0 <= i < count (what the reference parser calls "illegal attachments")."""
    if isinstance(data, list):
        for item in data:
            check_placeholders(item, count)
    elif isinstance(data, dict):
        if data.get(PLACEHOLDER) is True:
            num = data.get("num")
            if (
                len(data) != 2
                or not isinstance(num, int)
                or isinstance(num, bool)
                or not 0 <= num < count
            ):
                names = f"0 to {count - 1}" if count else "none: no attachments"
                raise AttachmentError(BAD_PACKET, f"illegal placeholder (num: {names})")
            return
        for item in data.values():
            check_placeholders(item, count)


def reconstruct(data: Any, attachments: list[bytes]) -> Any:
    """`data` with each placeholder replaced by its attachment (checked by
    `check_placeholders`)."""
    if isinstance(data, list):
        return [reconstruct(item, attachments) for item in data]
    if isinstance(data, dict):
        if data.get(PLACEHOLDER) is True:
            return attachments[data["num"]]
        return {key: reconstruct(item, attachments) for key, item in data.items()}
    return data


def deconstruct(data: Any) -> tuple[Any, list[bytes]]:
    """`data` with every bytes value (bytes, bytearray, memoryview, at any depth in lists,
    tuples and dicts) replaced by a placeholder, and the bytes in placeholder order."""
    attachments: list[bytes] = []

    def walk(value: Any) -> Any:
        if isinstance(value, BYTES_TYPES):
            attachments.append(bytes(value))
            return {PLACEHOLDER: True, "num": len(attachments) - 1}
        if isinstance(value, list | tuple):
            return [walk(item) for item in value]
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        return value

    return walk(data), attachments


def has_bytes(data: Any) -> bool:
    if isinstance(data, BYTES_TYPES):
        return True
    if isinstance(data, list | tuple):
        return any(has_bytes(item) for item in data)
    if isinstance(data, dict):
        return any(has_bytes(item) for item in data.values())
    return False


def encode_binary(
    kind: str, namespace: str, data: Any, ack_id: int | None = None
) -> tuple[str, list[bytes]]:
    """The header of a binary packet (`kind` "5" or "6", without Engine.IO's `4`) and the
    attachments to send after it."""
    placeheld, attachments = deconstruct(data)
    head = f"{kind}{len(attachments)}-"
    if namespace != "/":
        head += namespace + ","
    if ack_id is not None:
        head += str(ack_id)
    return head + orjson.dumps(placeheld).decode(), attachments


class Assembly(Generic[H]):
    """A binary packet whose attachments are arriving: the parsed header (`header`, whatever
    the caller keeps of it), its data with placeholders, the `expected` number of
    attachments, and `limit_bytes` for header and attachments together."""

    __slots__ = ("_limit", "_parts", "_size", "data", "expected", "header")

    def __init__(
        self, header: H, data: Any, expected: int, *, size_bytes: int, limit_bytes: int
    ) -> None:
        self.header = header
        self.data = data
        self.expected = expected
        self._parts: list[bytes] = []
        self._size = size_bytes
        self._limit = limit_bytes

    @property
    def complete(self) -> bool:
        return len(self._parts) >= self.expected

    @property
    def over_limit(self) -> bool:
        return self._size > self._limit

    def add(self, attachment: bytes) -> bool:
        """Take the next attachment; True once the last one is in. Past the size limit, raise
        `AttachmentError` (`payload_too_large`)."""
        self._size += len(attachment)
        if self._size > self._limit:
            raise AttachmentError(
                PAYLOAD_TOO_LARGE,
                f"a packet and its attachments over {self._limit} bytes",
                {"limit_bytes": self._limit},
            )
        self._parts.append(attachment)
        return self.complete

    def result(self) -> Any:
        """The packet's data with its attachments in place (once `complete`)."""
        return reconstruct(self.data, self._parts)


# -- Engine.IO's binary records ----------------------------------------------------------------


def encode_record(data: bytes) -> str:
    """A binary message as `b<base64>`: the form it has in an outbox and a v4 poll's body."""
    return BINARY_RECORD + base64.b64encode(data).decode()


def decode_record(record: str) -> bytes | None:
    """The bytes of a `b<base64>` record, or None if it is not strict base64 (the reference
    server decodes leniently; Parley treats it as the invalid packet it is)."""
    try:
        return base64.b64decode(record[1:], validate=True)
    except (binascii.Error, ValueError):
        return None


def decode_records(packets: list[str | bytes]) -> bool:
    """Replace each `b<base64>` record by its bytes, in place; False if one is not base64."""
    for index, packet in enumerate(packets):
        if isinstance(packet, str) and packet[:1] == BINARY_RECORD:
            data = decode_record(packet)
            if data is None:
                return False
            packets[index] = data
    return True
