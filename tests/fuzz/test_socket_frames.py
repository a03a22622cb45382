"""Malformed frames by the thousand on `/ws`, `/ws/gameplay` and Socket.IO (over WebSocket and
over long-polling, both namespaces), before and after sign-in.

The README: bad input "gets an error with a stable code; the connection stays open and
nothing is half-written". So after each batch the connection is still open and a good
command (ping / heartbeat with an ack) is answered; no fuzzed command was acknowledged as
done; the server's log has no crash; the conversations' histories, the user's list of
conversations and the list of open game rooms are what they were. (Engine.IO's close packet
`1` and Socket.IO's namespace DISCONNECT `41` are left out: they are how a client leaves.)
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import uuid
import zlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest

from parley.realtime.chat.namespace import EVENTS as CHAT_EVENTS
from parley.realtime.chat.websocket import HANDLERS as WS_HANDLERS
from parley.realtime.gameplay.namespace import EVENTS as GAME_EVENTS
from parley.realtime.gameplay.websocket import GameplayWebSocketSession
from tests.fuzz.conftest import FUZZ_ENV, World
from tests.support.clients import RECEIVE_TIMEOUT_SECS, WsClient
from tests.support.framefuzz import POISON_STRINGS, FrameFuzzer, dumps
from tests.support.fuzzing import BIG, assert_log_clean, nested
from tests.support.rawws import CLOSE, TEXT, RawSocket, open_raw
from tests.support.server import ServerProcess

FRAMES_PER_BATCH = 500
MAX_CHARS = int(FUZZ_ENV["MAX_MESSAGE_CHARS"])
BINARY = 0x2
DONE_EVENTS = {
    # Frames that show a command was carried out.
    "new_message",
    "message",
    "message_updated",
    "message_deleted",
    "join_success",
    "conversation_joined",
    "room_created",
    "room_joined",
    "room_left",
    "synced",
    "room_users",
}


def frame_bytes(opcode: int, payload: bytes) -> bytes:
    """A masked client frame of any length (rawws.client_frame stops at 64 KiB)."""
    head = bytes([0x80 | opcode])
    length = len(payload)
    if length < 126:
        head += bytes([0x80 | length])
    elif length < 2**16:
        head += struct.pack("!BH", 0x80 | 126, length)
    else:
        head += struct.pack("!BQ", 0x80 | 127, length)
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + masked


def chat_commands(world: World, token: str) -> dict[str, dict[str, Any]]:
    valid = {
        "send_message": {"room_id": world.group_id, "content": "hi", "attachments": []},
        "join_room": {"room_id": world.room_id},
        "leave_room": {"room_id": world.room_id},
        "typing": {"room_id": world.group_id, "is_typing": True},
        "read_receipt": {"room_id": world.group_id},
        "edit_message": {"message_id": world.message_id, "content": "edited"},
        "delete_message": {"message_id": world.message_id},
        "subscribe_status": {"target_user_id": world.other.id},
        "unsubscribe_status": {"target_user_id": world.other.id},
        "sync": {"since": {world.group_id: 0}},
        "ping": {},
        "auth": {"token": token},
        "login": {"mobile_no": "+14155550100"},
        "verify_otp": {"mobile_no": "+14155550100", "session_token": "x", "otp": "123456"},
        "set_profile": {"mobile_no": "+14155550100", "session_token": "x", "full_name": "A"},
        "device_info": {"device_id": "d1"},
        "friend_request": {"user_id": world.other.id},
        "accept_friend_request": {"request_id": str(uuid.uuid4())},
        "reject_friend_request": {"request_id": str(uuid.uuid4())},
        "cancel_friend_request": {"request_id": str(uuid.uuid4())},
        "remove_friend": {"user_id": world.other.id},
        "list_friends": {},
        "list_friend_requests": {"direction": "outgoing"},
        "block_user": {"username": world.other.username},
        "unblock_user": {"user_id": world.other.id},
        "list_blocks": {},
        "react": {"message_id": world.message_id, "emoji": "👍"},
        "unreact": {"message_id": world.message_id, "emoji": "👍"},
        "search_messages": {"q": "hi there", "conversation_id": world.group_id, "limit": 5},
        # Its bytes come only as a binary attachment, which text frames cannot carry.
        "upload": {"data": "not bytes", "filename": "fuzz.txt"},
        "mute_conversation": {"conversation_id": world.group_id, "until": "2999-01-01T00:00:00Z"},
        "unmute_conversation": {"conversation_id": world.group_id},
        # Nobody the other tests need: a ban or a mute of `other` would change what they see.
        "mute_member": {"room_id": world.room_id, "user_id": str(uuid.uuid4()), "reason": "x"},
        "unmute_member": {"room_id": world.room_id, "user_id": world.other.id},
        "ban_member": {
            "room_id": world.group_id,
            "user_id": str(uuid.uuid4()),
            "until": "2999-01-01T00:00:00Z",
        },
        "unban_member": {"room_id": world.group_id, "user_id": world.other.id},
        "list_mutes": {"room_id": world.room_id},
        "list_bans": {"conversation_id": world.group_id},
        # The customer's own message (`own_message`), and no staff: nothing is ever stored.
        "report_message": {"message_id": world.message_id, "reason": "spam", "text": "x"},
        "list_reports": {"status": "open", "limit": 5},
        "resolve_report": {"report_id": str(uuid.uuid4()), "status": "dismissed"},
        "set_push_token": {"fcm_token": "fuzz-token"},
        "clear_push_token": {},
    }
    aliases = {
        "message": "send_message",
        "send": "send_message",
        "join": "join_room",
        "join_chat": "join_room",
        "leave": "leave_room",
        "leave_chat": "leave_room",
        "read": "read_receipt",
        "mark_read": "read_receipt",
        "heartbeat": "ping",
        "authenticate": "auth",
        "add_reaction": "react",
        "remove_reaction": "unreact",
    }
    return {**valid, **{alias: valid[name] for alias, name in aliases.items()}}


def game_commands(room_id: str, token: str) -> dict[str, dict[str, Any]]:
    valid = {
        "create_room": {"name": "fuzz", "capacity": 2, "game": "relay"},
        "join_room": {"room_id": room_id},
        "quick_match": {"game": "relay", "capacity": 2},
        "leave_room": {"room_id": room_id},
        "list_rooms": {"game": "relay"},
        "player_action": {"room_id": room_id, "action_type": "move", "coordinates": {"x": 1}},
        "ping": {},
        "auth": {"token": token},
    }
    aliases = {"join": "join_room", "leave": "leave_room", "heartbeat": "ping"}
    aliases["authenticate"] = "auth"
    return {**valid, **{alias: valid[name] for alias, name in aliases.items()}}


def commands_for(table: Any, valid: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The valid payloads of every command in a handler table; a new command with none fails
    here, so it gets fuzzed too."""
    missing = sorted(set(table) - set(valid))
    assert not missing, f"no fuzz payload for commands {missing}"
    return {name: valid[name] for name in table}


@dataclass
class Stored:
    """What a refused command must not change."""

    histories: dict[str, Any]
    conversations: list[str]
    rooms: Any = None

    @classmethod
    async def read(cls, api: httpx.Client, world: World, watcher: WsClient | None) -> Stored:
        ids = [world.direct_id, world.group_id, world.room_id, world.support_id]
        histories = {}
        for cid in ids:
            messages = world.history(api, cid)
            histories[cid] = (
                None
                if messages is None
                else [(m["id"], m["content"], m["edited_at"], m["deleted_at"]) for m in messages]
            )
        listed = api.get("/api/v1/conversations", headers=world.customer.headers)
        conversations = sorted(c["id"] for c in listed.json()["conversations"])
        rooms = None
        if watcher is not None:
            listed_rooms = (await watcher.ack("list_rooms"))["rooms"]
            rooms = sorted((r["room_id"], len(r["players"])) for r in listed_rooms)
        return cls(histories, conversations, rooms)


def changes(before: Stored, after: Stored) -> list[str]:
    found = []
    for cid, old in before.histories.items():
        new = after.histories[cid]
        if new != old:
            added = len(new or []) - len(old or [])
            found.append(f"history of {cid} changed ({added:+d} messages): {str(new)[:300]}")
    if after.conversations != before.conversations:
        extra = sorted(set(after.conversations) - set(before.conversations))
        found.append(f"the customer's conversations changed: now also in {extra}")
    if after.rooms != before.rooms:
        found.append(f"open game rooms changed: {before.rooms} -> {str(after.rooms)[:300]}")
    return found


# -- plain WebSocket ----------------------------------------------------------------------------


@dataclass
class WsFuzz:
    raw: RawSocket
    received: list[dict[str, Any]] = field(default_factory=list)
    closed: int | None = None

    async def until(self, match: Any) -> dict[str, Any] | None:
        """Read frames until one matches; None if the server closed the connection."""
        while True:
            try:
                opcode, payload = await self.raw.frame()
            except (asyncio.IncompleteReadError, ConnectionError):
                self.closed = -1
                return None
            if opcode == CLOSE:
                self.closed = int(struct.unpack("!H", payload[:2])[0]) if payload else 1005
                return None
            if opcode != TEXT:
                continue
            frame = orjson.loads(payload)
            self.received.append(frame)
            if match(frame):
                return frame  # type: ignore[no-any-return]


def ws_frames(fuzzer: FrameFuzzer, count: int, labels: dict[str, str]) -> list[bytes]:
    """`count` hostile frames; `labels` gets, per frame id, the command and what is wrong."""
    r = fuzzer.random
    frames = []
    for n in range(count):
        choice = r.random()
        frame_id = f"fz{n}"
        if choice < 0.7:
            name = fuzzer.name()
            kind = r.choice([name, name.upper()])
            data, label = fuzzer.payload(name)
            labels[frame_id] = f"{name}: {label}"
            body = {"type": kind, "id": frame_id, "data": data}
            frames.append(frame_bytes(TEXT, dumps(body).encode()))
        elif choice < 0.78:
            kind, label = r.choice([fuzzer.labelled_poison(), (fuzzer.wrong_type(), "wrong type")])
            labels[frame_id] = f"type: {label}"
            body = {"type": kind, "id": frame_id}
            frames.append(frame_bytes(TEXT, dumps(body).encode()))
        elif choice < 0.84:
            # An id carrying poison (an id of another JSON type may be echoed back as it is).
            body = {"type": "ping", "id": fuzzer.poison()}
            frames.append(frame_bytes(TEXT, dumps(body).encode()))
        elif choice < 0.94:
            frames.append(frame_bytes(TEXT, fuzzer.garbage_text().encode()))
        else:
            junk = r.choice([b"\xff\xfe", b'{"type": "ping", "id": "\xed\xa0\x80"}', b"\x00"])
            frames.append(frame_bytes(BINARY, junk))
    frames.append(frame_bytes(TEXT, b'{"type": "ping", "id": "big", "pad": "' + b"x" * 70_000))
    return frames


def summary(findings: list[str]) -> list[str]:
    """Findings counted by kind, most frequent first."""
    counted = Counter(findings)
    return [f"{n}x {finding}" for finding, n in counted.most_common()]


async def send_batch(raw: RawSocket, frames: list[bytes]) -> None:
    for frame in frames:
        raw.send(frame)
        await raw.writer.drain()


def accepted(frames: list[dict[str, Any]], check_id: str, labels: dict[str, str]) -> list[str]:
    """What each reply showing that a fuzzed frame was carried out says about that frame."""
    found = []
    for f in frames:
        kind, frame_id = f.get("type"), f.get("id")
        if kind == "ack" and frame_id != check_id:
            label = (isinstance(frame_id, str) and labels.get(frame_id)) or (
                f"ping with a hostile id {str(frame_id)[:40]}"
            )
            found.append(f"{label} -> ack")
        elif kind in DONE_EVENTS:
            found.append(f"(side effect) {kind} event {str(f.get('data'))[:120]}")
    return found


@pytest.fixture
async def game_watcher(fuzz_server: ServerProcess, world: World) -> AsyncIterator[WsClient]:
    """The other user on /ws/gameplay, sitting in a room of their own: the room fuzzed
    commands name, and the eyes that list open rooms."""
    client = await WsClient.open(
        fuzz_server.base_url, world.other.access_token, path="/ws/gameplay"
    )
    yield client
    for room in (await client.ack("list_rooms"))["rooms"]:
        if any(p["player_id"] == world.other.id for p in room["players"]):
            await client.ack("leave_room", {"room_id": room["room_id"]})
    await client.close()


@pytest.mark.parametrize("path", ["/ws", "/ws/gameplay"])
async def test_plain_websocket_survives_malformed_frames(
    path: str,
    fuzz_server: ServerProcess,
    fuzz_api: httpx.Client,
    world: World,
    game_watcher: WsClient,
) -> None:
    token = world.customer.access_token
    watcher = None
    if path == "/ws":
        commands = commands_for(WS_HANDLERS, chat_commands(world, token))
    else:
        watcher = game_watcher
        room = await watcher.ack("create_room", {"name": "watched", "capacity": 4})
        table = GameplayWebSocketSession.handlers
        commands = commands_for(table, game_commands(room["room_id"], token))
    before = await Stored.read(fuzz_api, world, watcher)
    log_start = len(fuzz_server.log_lines)
    key = base64.b64encode(os.urandom(16)).decode()
    raw = await open_raw(fuzz_server, path, key=key)
    assert raw.status == 101
    session = WsFuzz(raw)
    fuzzer = FrameFuzzer(zlib.crc32(path.encode()), commands, max_chars=MAX_CHARS)
    failures: list[str] = []

    # Before sign-in: everything but a good auth frame is refused, and the socket stays.
    labels: dict[str, str] = {}
    await send_batch(raw, ws_frames(fuzzer, FRAMES_PER_BATCH, labels))
    auth = {"type": "auth", "id": "check-auth", "data": {"token": token}}
    raw.send(frame_bytes(TEXT, dumps(auth).encode()))
    raw.send(frame_bytes(TEXT, dumps({"type": "ping", "id": "check-pre"}).encode()))
    answered = await session.until(lambda f: f.get("id") == "check-pre")
    assert answered is not None, f"closed before sign-in (code {session.closed})"
    assert answered["type"] == "ack", answered
    refused_auth = [f for f in session.received if f.get("id") == "check-auth"]
    if refused_auth:
        failures.append(f"a hostile auth frame signed in before ours: {refused_auth[0]}")

    # Signed in.
    early = [f for f in session.received if f.get("type") == "ack" and f.get("id") != "check-pre"]
    failures += [f"before sign-in: {x}" for x in summary(accepted(early, "check-pre", labels))]
    session.received.clear()
    labels.clear()
    await send_batch(raw, ws_frames(fuzzer, FRAMES_PER_BATCH, labels))
    raw.send(frame_bytes(TEXT, dumps({"type": "ping", "id": "check"}).encode()))
    answered = await session.until(lambda f: f.get("id") == "check" and f.get("type") == "ack")
    assert answered is not None, f"closed after the signed-in batch (code {session.closed})"
    failures += [f"signed in: {x}" for x in summary(accepted(session.received, "check", labels))]
    raw.writer.close()

    after = await Stored.read(fuzz_api, world, watcher)
    barrier = f"fuzz-{uuid.uuid4().hex}"
    fuzz_api.get("/health", headers={"X-Request-ID": barrier})
    fuzz_server.wait_for_log(barrier, after=log_start)
    failures += changes(before, after)
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:40])
    assert_log_clean(fuzz_server, log_start)


# -- Socket.IO ------------------------------------------------------------------------------------


def sio_frames(
    fuzzer: FrameFuzzer, namespace: str, count: int, first_ack: int, labels: dict[int, str]
) -> list[str]:
    """Engine.IO message packets (`4…`) carrying well-formed Socket.IO packets with hostile
    contents, and some Engine.IO packets of known types; numeric ack ids from `first_ack` on.
    None of them may cost the connection (what does is `UNDECODABLE`, tested one by one)."""
    r = fuzzer.random
    prefix = "" if namespace == "/" else namespace + ","
    packets = []
    for n in range(count):
        choice = r.random()
        if choice < 0.7:
            name = fuzzer.name()
            ack = str(first_ack + n) if r.random() < 0.8 else ""
            data, label = fuzzer.payload(name)
            labels[first_ack + n] = f"{name}: {label}"
            packets.append(f"42{prefix}{ack}{dumps([name, data])}")
        elif choice < 0.85:
            # Event names the protocol allows (strings, numbers) that no command has, or that
            # carry poison (refused by the input policy).
            event = r.choice(
                [r.choice(POISON_STRINGS), r.choice([1, -1]) * BIG**2, 3.5, 7, "", "unknown_event"]
            )
            labels[first_ack + n] = f"event name {str(event)[:30]!r}"
            packets.append(f"42{prefix}{first_ack + n}" + dumps([event, {}]))
        elif choice < 0.95:
            packets.append(
                "4"
                + r.choice(
                    [
                        f"2{prefix}[1]",
                        f'2{prefix}[1.5,{{"a":1}}]',
                        f'2{prefix}["unknown_event"]',
                        f"3{prefix}[]",
                        f'3{prefix}7["x"]',
                        "0/nonexistent,",
                        '0/nonexistent,{"token":"x"}',
                        f'2{prefix}["heartbeat",' + "[" * 100 + "]" * 100 + "]",
                        f'2{prefix}["heartbeat",' + "9" * 30 + "]",
                    ]
                )
            )
        else:
            # Engine.IO packets of a known type only: one of no known type ("7", "x", NUL)
            # closes the session, as the protocol says (tests/realtime/wire/test_engineio_strict).
            packets.append(r.choice(["3", "5", "6", "2probe", "6junk", "3probe"]))
    return packets


NOT_PLAIN_ACK_IDS = ["-1", "1.5", "²", "١٢٣٤٥٦٧", "1e3", "9" * 30, "0x1f", " 1"]
"""Arabic-Indic digits pass `str.isdigit`; none of these is an ack id, so what follows is no
JSON payload."""


def undecodable(prefix: str) -> list[str]:
    """Socket.IO packets that cannot be decoded (or that the session's state does not allow):
    each closes the connection, as the protocol says (tests/realtime/wire/test_strict_socketio)."""
    packets = [f"42{prefix}{ack}" + dumps(["heartbeat"]) for ack in NOT_PLAIN_ACK_IDS]
    packets += [f"42{prefix}" + dumps([name, {}]) for name in [True, None, [1, 2], {"a": 1}]]
    packets += [f"42{prefix}" + dumps([nested(40)])]
    packets += [
        f"42{prefix}",
        f"42{prefix}[",
        f"42{prefix}{{}}",
        f"42{prefix}[]",
        f"42{prefix}[null]",
        f'42{prefix}["disconnect"]',
        f"42{prefix}\x00",
        f"42{prefix}" + "[" * 100,
        f'42{prefix}{{"type": NaN}}',
        f'42{prefix}["heartbeat"] trailing',
        '42/nonexistent,["heartbeat"]',
        '42/gameplay["x"]',
        f"43{prefix}",
        f"43{prefix}1{{}}",
        "45",
        "46",
        "47",
        "49",
        "4",
        f'44{prefix}{{"message": "x"}}',
        f"40{prefix}",  # connected already
        f"41{prefix}{{}}",
    ]
    return packets


def closed_by(batch: list[str]) -> str:
    """What a batch that ended the connection held (the harness sends a batch at once, so it
    cannot tell which packet it was): every packet in it should have been answered."""
    odd = [p[:60] for p in batch if not p.startswith("42")]
    return f"{len(batch)} well-formed packets sent; those not events: {odd[:5]}"


class EngineClient:
    """A raw Engine.IO 4 client over one transport, reading what the server sends."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.closed = False
        """Whether the server was seen closing the session (not merely silent)."""

    async def send(self, packets: list[str]) -> None:
        raise NotImplementedError

    async def until(self, match: Any) -> str | None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def event_ack(self, namespace: str, ack_id: int, event: str, data: Any = None) -> Any:
        prefix = "" if namespace == "/" else namespace + ","
        args = [event] if data is None else [event, data]
        await self.send([f"42{prefix}{ack_id}{dumps(args)}"])
        want = f"43{prefix}{ack_id}["
        reply = await self.until(lambda p: p.startswith(want))
        if reply is None:
            return None
        return orjson.loads(reply[len(want) - 1 :])[0]


class WebSocketEngine(EngineClient):
    def __init__(self, raw: RawSocket) -> None:
        super().__init__()
        self.raw = raw

    @classmethod
    async def open(cls, server: ServerProcess) -> WebSocketEngine:
        key = base64.b64encode(os.urandom(16)).decode()
        raw = await open_raw(server, "/socket.io/?EIO=4&transport=websocket", key=key)
        assert raw.status == 101
        client = cls(raw)
        assert await client.until(lambda p: p.startswith("0{")) is not None
        return client

    async def send(self, packets: list[str]) -> None:
        for packet in packets:
            self.raw.send(frame_bytes(TEXT, packet.encode("utf-8", "surrogatepass")))
            await self.raw.writer.drain()

    async def until(self, match: Any) -> str | None:
        while True:
            try:
                opcode, payload = await self.raw.frame()
            except TimeoutError:
                return None
            except (asyncio.IncompleteReadError, ConnectionError):
                self.closed = True
                return None
            if opcode == CLOSE:
                self.closed = True
                return None
            if opcode != TEXT:
                continue
            packet = payload.decode()
            if packet == "2":
                await self.send(["3"])
                continue
            self.received.append(packet)
            if match(packet):
                return packet

    async def close(self) -> None:
        self.raw.writer.close()


class PollingEngine(EngineClient):
    def __init__(self, client: httpx.AsyncClient, sid: str) -> None:
        super().__init__()
        self.client = client
        self.sid = sid
        self.broken = False
        self.url = f"/socket.io/?EIO=4&transport=polling&sid={sid}"

    @classmethod
    async def open(cls, server: ServerProcess) -> PollingEngine:
        client = httpx.AsyncClient(base_url=server.base_url, timeout=RECEIVE_TIMEOUT_SECS * 2)
        opened = await client.get("/socket.io/?EIO=4&transport=polling")
        assert opened.status_code == 200, opened.text
        sid = orjson.loads(opened.text[1:])["sid"]
        return cls(client, sid)

    async def send(self, packets: list[str]) -> None:
        # Several POST bodies, each a run of packets joined by the record separator.
        for start in range(0, len(packets), 100):
            body = "\x1e".join(packets[start : start + 100]).encode("utf-8", "surrogatepass")
            try:
                answer = await self.client.post(self.url, content=body)
            except httpx.TransportError:
                self.broken = True  # the server dropped the request: the session is gone
                return
            if answer.status_code != 200:
                self.broken = True
                return

    async def until(self, match: Any) -> str | None:
        try:
            return await self._until(match)
        except TimeoutError:
            return None

    async def _until(self, match: Any) -> str | None:
        async with asyncio.timeout(RECEIVE_TIMEOUT_SECS * 2):
            while not self.broken:
                try:
                    answer = await self.client.get(self.url)
                except httpx.TransportError:
                    self.closed = True
                    return None
                if answer.status_code != 200:
                    self.closed = True
                    return None
                for packet in answer.text.split("\x1e"):
                    if packet == "1":
                        self.closed = True
                        return None
                    if packet == "2":
                        await self.send(["3"])
                        continue
                    self.received.append(packet)
                    if match(packet):
                        return packet
            self.closed = True  # a POST was refused: the session is gone
            return None

    async def close(self) -> None:
        await self.client.aclose()


async def open_engine(server: ServerProcess, transport: str) -> EngineClient:
    if transport == "websocket":
        return await WebSocketEngine.open(server)
    return await PollingEngine.open(server)


def accepted_acks(packets: list[str], namespace_prefix: str, labels: dict[int, str]) -> list[str]:
    """For each ack of a fuzzed event that carries no error (the command was carried out),
    what was wrong with that event."""
    prefix = "43" + namespace_prefix
    found = []
    for packet in packets:
        if not packet.startswith(prefix):
            continue
        rest = packet[len(prefix) :]
        digits = len(rest) - len(rest.lstrip("0123456789"))
        if not digits or int(rest[:digits]) not in labels:
            continue
        try:
            payload = orjson.loads(rest[digits:])
        except orjson.JSONDecodeError:
            found.append(f"{labels[int(rest[:digits])]} -> unreadable ack")
            continue
        if not (payload and isinstance(payload[0], dict) and "error" in payload[0]):
            found.append(f"{labels[int(rest[:digits])]} -> ack")
    return found


@pytest.mark.parametrize("namespace", ["/", "/gameplay"])
@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_socketio_survives_malformed_packets(
    transport: str,
    namespace: str,
    fuzz_server: ServerProcess,
    fuzz_api: httpx.Client,
    world: World,
    game_watcher: WsClient,
) -> None:
    token = world.customer.access_token
    if namespace == "/":
        commands = commands_for(CHAT_EVENTS, chat_commands(world, token))
    else:
        room = await game_watcher.ack("create_room", {"name": "watched", "capacity": 4})
        commands = commands_for(GAME_EVENTS, game_commands(room["room_id"], token))
    before = await Stored.read(fuzz_api, world, game_watcher)
    log_start = len(fuzz_server.log_lines)
    engine = await open_engine(fuzz_server, transport)
    prefix = "" if namespace == "/" else namespace + ","
    fuzzer = FrameFuzzer(
        zlib.crc32(f"{transport} {namespace}".encode()), commands, max_chars=MAX_CHARS
    )
    count = FRAMES_PER_BATCH if transport == "websocket" else FRAMES_PER_BATCH // 2
    failures: list[str] = []
    try:
        # Connected to the namespace without a token: only sign-in events may work.
        await engine.send([f"40{prefix}"])
        assert await engine.until(lambda p: p.startswith(f"40{prefix}")) is not None
        labels: dict[int, str] = {}
        batch = sio_frames(fuzzer, namespace, count, 1, labels)
        await engine.send(batch)
        heard = await engine.event_ack(namespace, 900_001, "authenticate", {"token": token})
        if heard is None:
            failures.append(f"before sign-in, the connection closed: {closed_by(batch)}")
            await engine.close()
            engine = await open_engine(fuzz_server, transport)
            await engine.send([f"40{prefix}" + dumps({"token": token})])
            assert await engine.until(lambda p: p.startswith(f"40{prefix}")) is not None
        elif "error" in heard:
            # already_authenticated: a hostile `authenticate` signed the socket in.
            failures.append(f"before sign-in, a hostile event signed in: {heard}")
        early = accepted_acks(engine.received, prefix, labels)
        failures += [f"before sign-in: {x}" for x in summary(early)]

        engine.received.clear()
        labels.clear()
        batch = sio_frames(fuzzer, namespace, count, 10_001, labels)
        await engine.send(batch)
        alive = await engine.event_ack(namespace, 900_002, "heartbeat")
        if alive is None:
            failures.append(f"signed in, the connection closed: {closed_by(batch)}")
        else:
            assert alive.get("status") == "alive", alive
        late = accepted_acks(engine.received, prefix, labels)
        failures += [f"signed in: {x}" for x in summary(late)]
    finally:
        await engine.close()

    after = await Stored.read(fuzz_api, world, game_watcher)
    barrier = f"fuzz-{uuid.uuid4().hex}"
    fuzz_api.get("/health", headers={"X-Request-ID": barrier})
    fuzz_server.wait_for_log(barrier, after=log_start)
    failures += changes(before, after)
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:40])
    assert_log_clean(fuzz_server, log_start)


@pytest.mark.parametrize("namespace", ["/", "/gameplay"])
@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_socketio_closes_on_undecodable_packets_and_nothing_else_happens(
    transport: str,
    namespace: str,
    fuzz_server: ServerProcess,
    fuzz_api: httpx.Client,
    world: World,
    game_watcher: WsClient,
) -> None:
    """Each undecodable packet on a signed-in connection of its own (alive just before): the
    server closes the session, logs no error and stores nothing."""
    token = world.customer.access_token
    before = await Stored.read(fuzz_api, world, game_watcher)
    log_start = len(fuzz_server.log_lines)
    prefix = "" if namespace == "/" else namespace + ","
    failures: list[str] = []
    for packet in undecodable(prefix):
        engine = await open_engine(fuzz_server, transport)
        try:
            await engine.send([f"40{prefix}" + dumps({"token": token})])
            assert await engine.until(lambda p: p.startswith(f"40{prefix}")) is not None
            alive = await engine.event_ack(namespace, 900_003, "heartbeat")
            assert alive is not None, "the connection ended before the packet"
            await engine.send([packet])
            await engine.until(lambda p: False)
            if not engine.closed:
                failures.append(f"{packet[:60]!r}: the connection stayed open")
        finally:
            await engine.close()

    after = await Stored.read(fuzz_api, world, game_watcher)
    barrier = f"fuzz-{uuid.uuid4().hex}"
    fuzz_api.get("/health", headers={"X-Request-ID": barrier})
    fuzz_server.wait_for_log(barrier, after=log_start)
    failures += changes(before, after)
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:40])
    assert_log_clean(fuzz_server, log_start)
