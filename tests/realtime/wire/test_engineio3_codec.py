"""The Engine.IO v3 payload codec and heartbeat bookkeeping, against the examples of the v3
specification (socketio/engine.io-protocol, branch v3) and what engine.io-parser 2.x writes."""

from __future__ import annotations

import pytest

from parley.realtime.wire import engineio3
from parley.realtime.wire.engineio3 import ClientPings, PayloadError, decode_payload, encode_payload


def test_the_open_packet_is_v3s_without_max_payload() -> None:
    packet = engineio3.handshake("lv_VI97HAXpY6yYWAAAC", ["websocket"], 25000, 5000)
    assert packet == (
        '0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],'
        '"pingInterval":25000,"pingTimeout":5000}'
    )
    # The specification's sample session: 96 characters, then the implicit CONNECT.
    body, binary = encode_payload([packet, "40"], binary=True)
    assert (body.decode(), binary) == (f"96:{packet}2:40", False)


def test_text_payloads_count_characters_as_javascript_does() -> None:
    # The specification's example: € is one character (three bytes).
    assert encode_payload(["4hello", "4€"], binary=False) == ("6:4hello2:4€".encode(), False)
    # Outside the BMP a character is two UTF-16 code units, as String.length counts it.
    assert encode_payload(["4😀"], binary=False) == ("3:4😀".encode(), False)
    assert engineio3.js_length("a😀€") == 4
    assert encode_payload([], binary=False) == (b"", False)


@pytest.mark.parametrize(
    ("body", "packets"),
    [
        ("6:4hello6:4world", ["4hello", "4world"]),  # the specification's request n°3
        ("2:4€", ["4€"]),
        ("3:4😀1:2", ["4😀", "2"]),
        ("7:4a😀😀b", ["4a😀😀b"]),
        ('11:42["hello"]11:42["world"]', ['42["hello"]', '42["world"]']),
        ("1:10:", ["1"]),  # an empty packet (`0:`) is skipped, as engine.io-parser does
        ("6:2probe", ["2probe"]),
    ],
)
def test_text_payloads_decode(body: str, packets: list[str]) -> None:
    assert decode_payload(body.encode(), binary=False) == packets


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"0:",  # nothing at all
        b"4hello",  # v4's form: no length
        b"5:4hi",  # longer than what follows
        b":4hi",
        b"x:4hi",
        b"-1:4",
        b"\xd9\xa3:4hi",  # an Arabic-Indic digit is no length
        b"2:4hi",  # trailing characters that are no packet
        "2:4😀".encode(),  # the length cuts the emoji's surrogate pair
        b"12345678901:4",
        b"3:b1AQ==",  # a base64 packet that is no message
        b"6:b4A!!!",  # not base64
    ],
)
def test_malformed_text_payloads_are_refused(body: bytes) -> None:
    with pytest.raises(PayloadError):
        decode_payload(body, binary=False)


def test_base64_binary_packets_come_and_go_in_v4s_form() -> None:
    # The specification's example without XHR2: `2:4€10:b4AQIDBA==`.
    assert decode_payload("2:4€10:b4AQIDBA==".encode(), binary=False) == ["4€", "bAQIDBA=="]
    assert encode_payload(["4€", "bAQIDBA=="], binary=False) == (
        "2:4€10:b4AQIDBA==".encode(),
        False,
    )


SPEC_BINARY = bytes.fromhex("00 04 ff 34 e2 82 ac 01 05 ff 04 01 02 03 04")
"""The specification's XHR2 example: "€" as a string part, then a 4-byte binary message."""


def test_xhr2_binary_payloads() -> None:
    assert decode_payload(SPEC_BINARY, binary=True) == ["4€", "bAQIDBA=="]
    assert encode_payload(["4€", "bAQIDBA=="], binary=True) == (SPEC_BINARY, True)
    # Text alone stays text even for a client that takes binary, as engine.io 3.x does.
    assert encode_payload(["4€"], binary=True) == ("2:4€".encode(), False)
    long_part = "4" + "x" * 120
    body, binary = encode_payload([long_part, "bAA=="], binary=True)
    assert binary
    assert body[:5] == bytes([0, 1, 2, 1, 255])  # 121 bytes, one byte per digit
    assert decode_payload(body, binary=True) == [long_part, "bAA=="]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        bytes([2, 1, 255, 0x34]),  # neither string nor binary
        bytes([0, 255, 0x34]),  # no length
        bytes([0, 10, 255, 0x34]),  # a "digit" that is 10
        bytes([0, 5, 255, 0x34]),  # shorter than its length
        bytes([0, 2]),  # no end of the length
        bytes([1, 2, 255, 0x02, 0x01]),  # a binary ping
        bytes([0, 2, 255, 0x34, 0xFF]),  # not UTF-8
        bytes([0, 0, 255]),  # an empty part
    ],
)
def test_malformed_binary_payloads_are_refused(body: bytes) -> None:
    with pytest.raises(PayloadError):
        decode_payload(body, binary=True)


def test_websocket_frames() -> None:
    assert engineio3.from_ws_text('42["x"]') == '42["x"]'
    assert engineio3.from_ws_text("b4AQID") == "bAQID"  # forceBase64
    with pytest.raises(PayloadError):
        engineio3.from_ws_text("b4!!")
    assert engineio3.from_ws_binary(b"\x04\x01\x02") == b"\x01\x02"
    assert engineio3.to_ws_binary(b"\x01\x02") == b"\x04\x01\x02"
    for frame in (b"", b"\x01\x02", b"4\x01"):
        with pytest.raises(PayloadError):
            engineio3.from_ws_binary(frame)


def test_a_session_that_stops_pinging_is_due_once() -> None:
    pings = ClientPings(limit_secs=10)
    pings.watch("quiet", now=0)
    pings.watch("chatty", now=1)
    assert pings.next_deadline() == 10
    assert pings.due(9.9) == []
    for now in range(2, 30, 3):
        pings.pinged("chatty", now=now)
    assert pings.due(10) == ["quiet"]  # chatty's entry went back in at its new deadline
    assert pings.due(20) == []
    assert len(pings) == 1
    assert pings.due(38.9) == []
    assert pings.due(39) == ["chatty"]  # its last ping was at 29
    assert pings.due(100) == []
    assert len(pings) == 0
    assert pings.next_deadline() is None


def test_a_forgotten_session_is_never_due() -> None:
    pings = ClientPings(limit_secs=1)
    pings.watch("gone", now=0)
    pings.forget("gone")
    pings.pinged("gone", now=0.5)  # a late ping of a closed session does not bring it back
    assert pings.due(5) == []


def test_pinging_in_a_loop_keeps_one_entry_per_session() -> None:
    pings = ClientPings(limit_secs=1)
    pings.watch("loop", now=0)
    for i in range(10_000):
        pings.pinged("loop", now=i / 1000)
    assert len(pings._heap) == 1
    assert pings.due(10.9) == []
    assert pings.due(11) == ["loop"]
