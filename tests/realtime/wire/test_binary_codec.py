"""The Socket.IO binary codec on its own: the specification's examples byte for byte, what
python-socketio's own packet code makes of Parley's packets and Parley of its, and every way
a header, a placeholder or an attachment sequence is refused."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from socketio.packet import ACK as PY_ACK
from socketio.packet import BINARY_EVENT as PY_BINARY_EVENT
from socketio.packet import Packet as PyPacket

from parley.realtime.wire.binary import (
    BAD_PACKET,
    PAYLOAD_TOO_LARGE,
    TOO_MANY_ATTACHMENTS,
    Assembly,
    AttachmentError,
    check_placeholders,
    deconstruct,
    encode_binary,
    has_bytes,
    reconstruct,
    split_count,
)

NESTED: Any = [
    "upload",
    {
        "file": b"\x00\x01\xff",
        "parts": [b"", {"deep": [b"x" * 300, 7, None]}],
        "name": "a.bin",
    },
    b"\xfe",
]


def placeholder(num: int) -> dict[str, Any]:
    return {"_placeholder": True, "num": num}


def test_the_specifications_examples() -> None:
    # socket.io-protocol, "Packet encoding": one attachment, two on a namespace, a binary ack.
    assert encode_binary("5", "/", ["baz", b"\x01\x02\x03\x04"]) == (
        '51-["baz",{"_placeholder":true,"num":0}]',
        [b"\x01\x02\x03\x04"],
    )
    assert encode_binary("5", "/admin", ["baz", b"\x01\x02", b"\x03\x04"]) == (
        '52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
        [b"\x01\x02", b"\x03\x04"],
    )
    assert encode_binary("6", "/", ["bar", b"\x01\x02\x03\x04"], 15) == (
        '61-15["bar",{"_placeholder":true,"num":0}]',
        [b"\x01\x02\x03\x04"],
    )
    assert encode_binary("6", "/admin", [b"\x00"], 1) == (
        '61-/admin,1[{"_placeholder":true,"num":0}]',
        [b"\x00"],
    )


def test_deconstruct_and_reconstruct_nested_bytes_in_order() -> None:
    placeheld, attachments = deconstruct(NESTED)
    assert attachments == [b"\x00\x01\xff", b"", b"x" * 300, b"\xfe"]
    assert placeheld == [
        "upload",
        {
            "file": placeholder(0),
            "parts": [placeholder(1), {"deep": [placeholder(2), 7, None]}],
            "name": "a.bin",
        },
        placeholder(3),
    ]
    check_placeholders(placeheld, len(attachments))
    assert reconstruct(placeheld, attachments) == NESTED
    assert has_bytes(NESTED)
    assert not has_bytes(placeheld)


def test_bytearray_memoryview_and_tuples_go_out_as_bytes_and_lists() -> None:
    placeheld, attachments = deconstruct(("x", bytearray(b"ab"), memoryview(b"cd")))
    assert placeheld == ["x", placeholder(0), placeholder(1)]
    assert attachments == [b"ab", b"cd"]
    assert all(type(a) is bytes for a in attachments)


def test_python_socketio_reads_what_parley_writes() -> None:
    header, attachments = encode_binary("5", "/gameplay", NESTED, 12)
    theirs = PyPacket(encoded_packet=header)
    assert (theirs.packet_type, theirs.namespace, theirs.id) == (PY_BINARY_EVENT, "/gameplay", 12)
    done = [theirs.add_attachment(a) for a in attachments]
    assert done == [False, False, False, True]
    assert theirs.data == NESTED


def test_parley_reads_what_python_socketio_writes() -> None:
    header, *attachments = PyPacket(PY_ACK, data=NESTED, id=3).encode()
    assert header.startswith("64-3[")
    count, rest = split_count(header[1:], 10)
    assert (count, rest[:1]) == (4, "3")
    data = orjson.loads(rest[1:])
    check_placeholders(data, count)
    assembly: Assembly[str] = Assembly(
        "ack 3", data, count, size_bytes=len(header), limit_bytes=10_000
    )
    assert [assembly.add(a) for a in attachments] == [False, False, False, True]
    assert assembly.result() == NESTED


@pytest.mark.parametrize(
    ("rest", "count", "after"),
    [
        ("1-[]", 1, "[]"),
        ("0-[]", 0, "[]"),
        ("10-/admin,3[]", 10, "/admin,3[]"),
        ("007-", 7, ""),
    ],
)
def test_the_count_before_the_dash(rest: str, count: int, after: str) -> None:
    assert split_count(rest, 10) == (count, after)


@pytest.mark.parametrize(
    "rest",
    [
        "",
        "-[]",
        "[]",
        "1[]",
        "a-[]",
        "1a-[]",
        " 1-[]",
        "+1-[]",
        "\uff11-[]",
        "\u0661-[]",
        "1234567-[]",
        "1.0-[]",
        "-1-[]",
    ],
)
def test_a_count_that_is_not_ascii_digits_and_a_dash_is_a_bad_packet(rest: str) -> None:
    with pytest.raises(AttachmentError) as refused:
        split_count(rest, 10)
    assert refused.value.code == BAD_PACKET


def test_more_attachments_than_the_bound_are_refused_with_their_own_code() -> None:
    assert split_count("3-[]", 3) == (3, "[]")
    with pytest.raises(AttachmentError) as refused:
        split_count("4-[]", 3)
    assert (refused.value.code, refused.value.details) == (
        TOO_MANY_ATTACHMENTS,
        {"limit": 3, "count": 4},
    )
    with pytest.raises(AttachmentError) as refused:
        split_count("999999-[]", 10)
    assert refused.value.code == TOO_MANY_ATTACHMENTS


@pytest.mark.parametrize(
    "data",
    [
        ["x", placeholder(1)],  # past the count
        ["x", placeholder(-1)],
        ["x", {"_placeholder": True, "num": True}],
        ["x", {"_placeholder": True, "num": 0.0}],
        ["x", {"_placeholder": True, "num": "0"}],
        ["x", {"_placeholder": True}],
        ["x", {"_placeholder": True, "num": 0, "extra": 1}],
        ["x", {"a": [{"b": placeholder(5)}]}],
    ],
)
def test_an_illegal_placeholder_is_a_bad_packet(data: Any) -> None:
    with pytest.raises(AttachmentError) as refused:
        check_placeholders(data, 1)
    assert refused.value.code == BAD_PACKET


def test_what_only_looks_like_a_placeholder_is_plain_data() -> None:
    data = ["x", {"_placeholder": False, "num": 9}, {"_placeholder": "true"}, {"num": 0}]
    check_placeholders(data, 0)
    assert reconstruct(data, []) == data


def test_an_attachment_may_be_named_twice_or_not_at_all() -> None:
    # As socket.io-parser: a placeholder names an attachment of its packet; nothing more.
    data = ["x", placeholder(1), placeholder(1)]
    check_placeholders(data, 3)
    assert reconstruct(data, [b"a", b"b", b"c"]) == ["x", b"b", b"b"]


def test_the_assembly_counts_header_and_attachments_against_the_limit() -> None:
    data = [placeholder(0), placeholder(1), placeholder(2)]
    assembly: Assembly[int] = Assembly(7, data, 3, size_bytes=40, limit_bytes=100)
    assert not assembly.add(b"a" * 30)
    assert not assembly.add(b"b" * 30)  # 100 bytes: exactly the limit
    with pytest.raises(AttachmentError) as refused:
        assembly.add(b"c")
    assert (refused.value.code, refused.value.details) == (PAYLOAD_TOO_LARGE, {"limit_bytes": 100})
    assert assembly.over_limit
    assert Assembly(7, data, 3, size_bytes=101, limit_bytes=100).over_limit
    fits: Assembly[int] = Assembly(7, data, 3, size_bytes=40, limit_bytes=100)
    assert not fits.over_limit
    assert [fits.add(b"a" * 20) for _ in range(3)] == [False, False, True]
    assert fits.result() == [b"a" * 20] * 3


def test_an_assembly_of_no_attachments_is_complete_at_once() -> None:
    assembly: Assembly[str] = Assembly("h", ["x", 1], 0, size_bytes=5, limit_bytes=10)
    assert assembly.complete
    assert assembly.result() == ["x", 1]
