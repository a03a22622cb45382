"""After a game room's snapshot, relays at or below its seq are dropped as duplicates, and the
first newer relay ends that check: the connection goes back to the broadcast fast path.
A conversation's floor stays (its copies can come out of order from two instances)."""

from __future__ import annotations

from typing import Any

from parley.domain.events import Audience, Event
from parley.domain.gameplay.service import room_event
from parley.realtime.connection import Connection, OutboundEvent
from parley.realtime.protocol import CloseCode
from parley.realtime.wire.rawframes import RawWriter, text_frame


class Socket:
    """The transport end of a raw writer: keeps what was written."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []

    async def raw_ready(self) -> None:
        return None

    def raw_open(self) -> bool:
        return True

    def raw_write(self, frame: bytes) -> int:
        self.frames.append(frame)
        return len(frame)

    def raw_waiting(self) -> int:
        return 0

    def raw_heard_since(self, moment: float) -> bool:
        return True

    def keep_alive_by_app(self) -> None:
        return None


class Player(Connection):
    protocol = "test"

    def __init__(self) -> None:
        super().__init__("player-1")
        self.socket = Socket()
        self.writer = RawWriter(self.socket, limit_bytes=1 << 20, on_overflow=self._overflow)
        self.dialect = "test"

    async def _overflow(self) -> None:
        raise AssertionError("never too slow here")

    def encode(self, event: OutboundEvent) -> Any | None:
        return self.encode_text(event.event)

    def encode_text(self, event: Event) -> str | None:
        return f"{event.name}:{event.data.get('seq')}"

    def push(self, frame: Any) -> None:
        raise AssertionError("frames go to the raw writer")

    async def close(self, code: CloseCode, reason: str) -> None:
        return None

    async def end(self, code: str, message: str) -> None:
        return None

    def heard(self) -> list[bytes]:
        return self.socket.frames


def relay(room: str, seq: int) -> OutboundEvent:
    return OutboundEvent(room_event(room, "game.action", {"n": seq}).sequenced(seq))


def frame(name: str, seq: int) -> bytes:
    return text_frame(f"{name}:{seq}".encode())


def test_the_first_relay_past_the_snapshot_ends_the_duplicate_check() -> None:
    player, room = Player(), "r1"
    channel = f"g:{room}"
    player.hold([channel])
    player.deliver(relay(room, 4))  # held while the seat is taken
    player.deliver(relay(room, 6))
    snapshot = OutboundEvent(room_event(room, "game.state", {"seq": 5}))
    player.release(channel, [snapshot])
    assert player.heard() == [frame("game.state", 5), frame("game.action", 6)]
    assert player.floor == {}  # 4 was dropped, 6 passed: nothing older can follow

    player.deliver(relay(room, 7))
    assert player.heard()[-1] == frame("game.action", 7)


def test_a_relay_at_the_snapshot_seq_is_dropped_and_the_check_stays() -> None:
    player, room = Player(), "r2"
    channel = f"g:{room}"
    player.hold([channel])
    player.release(channel, [OutboundEvent(room_event(room, "game.state", {"seq": 9}))])
    player.deliver(relay(room, 9))
    assert player.heard() == [frame("game.state", 9)]
    assert player.floor == {channel: 9}


def test_a_conversation_keeps_its_floor() -> None:
    player = Player()
    missed = OutboundEvent(
        Event("c:conv", "message.created", {"seq": 3}, Audience.MEMBERS).sequenced(3)
    )
    player.hold(["conv"])
    player.release("conv", [missed])
    live = Event("c:conv", "message.created", {"seq": 4}, Audience.MEMBERS)
    player.deliver(OutboundEvent(live))
    assert player.heard()[-1] == frame("message.created", 4)
    assert player.floor == {"conv": 3}
