"""A live client connection as the hub sees it, whatever its protocol.

Delivery never blocks the hub: `deliver` puts the already-encoded frame in a bounded outbox
(`wire.outbox`) that a writer drains (or, for long-polling, the next poll takes), or writes
it straight to the transport (`wire.rawframes`). A client that stops reading is disconnected
(close code 4429) instead of growing server memory.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from typing import Any

from parley.domain.accounts.principal import Principal
from parley.domain.events import Event
from parley.errors import ParleyError
from parley.realtime.pipeline import CommandPipeline
from parley.realtime.protocol import CloseCode
from parley.realtime.wire.rawframes import RawWriter, text_frame

MESSAGE_CREATED = "message.created"
PRESENCE_CHANGED = "presence.changed"
BLOCKABLE = frozenset({MESSAGE_CREATED, "message.updated", "message.deleted"})
"""Events about a message: hidden for whoever blocks its sender."""
_NOBODY: frozenset[str] = frozenset()  # shared: most connections block nobody


class OutboundEvent:
    """A decoded event plus its wire encodings, made at most once per dialect."""

    __slots__ = ("_encoded", "event")

    def __init__(self, event: Event) -> None:
        self.event = event
        self._encoded: dict[str, Any] = {}

    def encoded(self, dialect: str, encode: Callable[[Event], Any]) -> Any:
        encoded = self._encoded
        if dialect in encoded:
            return encoded[dialect]
        value = encoded[dialect] = encode(self.event)
        return value


class Connection(ABC):
    """One authenticated (or authenticating) client connection, as the hub addresses it."""

    protocol: str
    """`socketio` or `websocket`: its label in the metrics and the lifecycle log."""

    def __init__(self, connection_id: str) -> None:
        self.id = connection_id
        self._dialect = ""
        self.frame_key = ""
        """Where a broadcast keeps this dialect's frame (`framed`)."""
        self.writer: RawWriter | None = None
        """Its transport's raw writer, once frames can go straight to it (`rawframes`)."""
        # Set here, in the same order for every connection, so that instances keep sharing
        # their attribute keys (`stats` reads them at scrape time and at the disconnect).
        self.frames_in = 0
        """Frames (Socket.IO: events) received from the client."""
        self.frames_out = 0
        """Frames handed to the client: events, acknowledgements, errors."""
        self.opened_at = 0.0
        self.principal: Principal | None = None
        # The four sets below are made on first use (an empty set is 216 bytes, and an idle
        # connection, or one of a user in no conversation, needs none of them).
        self._viewing: set[str] | None = None
        self.room_names: dict[str, str] | None = None
        """The names of the open rooms among them (by conversation id), for the events."""
        self._member_of: set[str] | None = None
        self._watching: set[str] | None = None
        self._games: set[str] | None = None
        self.blocks: frozenset[str] = _NOBODY
        """Users this connection's user blocks: their messages are not delivered to it."""
        self.blocked_by: frozenset[str] = _NOBODY
        """Users who block this connection's user: their presence is not delivered to it."""
        self.held: dict[str, list[OutboundEvent]] | None = None
        """New messages held back per conversation while it catches up."""
        self.floor: dict[str, int] = {}
        """Per conversation, the highest seq a catch-up sent: live copies at or below it are
        duplicates."""
        self.live_from: dict[str, int] | None = None
        """Per conversation whose last catch-up was cut short (`has_more`): the first seq
        delivered live after it (0 until one is), so the next catch-up stops there instead
        of repeating what the client already has."""
        self.pipeline = CommandPipeline()
        """The client's commands in arrival order, its sends overlapping."""
        self.ended: ParleyError | None = None
        """Why its credentials stopped holding (session revoked, account disabled, token
        expired): the connection is closing and refuses every command meanwhile."""

    @property
    def dialect(self) -> str:
        """What its events look like on the wire: one frame is encoded per dialect."""
        return self._dialect

    @dialect.setter
    def dialect(self, dialect: str) -> None:
        self._dialect = dialect
        self.frame_key = frame_key(dialect)

    @property
    def viewing(self) -> set[str]:
        """Conversation ids this connection joined (actively views)."""
        if self._viewing is None:
            self._viewing = set()
        return self._viewing

    @property
    def viewing_now(self) -> AbstractSet[str]:
        """`viewing`, read without making the set."""
        return self._viewing or _NOBODY

    @property
    def member_of(self) -> set[str]:
        """Conversation channels whose messages this connection receives (hub bookkeeping)."""
        if self._member_of is None:
            self._member_of = set()
        return self._member_of

    @property
    def watching(self) -> set[str]:
        """Presence channels this connection subscribed to."""
        if self._watching is None:
            self._watching = set()
        return self._watching

    @property
    def games(self) -> set[str]:
        """Game rooms (ids) whose events this connection receives."""
        if self._games is None:
            self._games = set()
        return self._games

    @property
    def user_id(self) -> str:
        assert self.principal is not None
        return str(self.principal.user_id)

    @abstractmethod
    def encode(self, event: OutboundEvent) -> Any | None:
        """The frame for this connection's dialect, or None when it has no such event."""

    def encode_text(self, event: Event) -> str | None:
        """The event as this dialect's text message, or None (raw writers frame it)."""
        raise NotImplementedError

    @abstractmethod
    def push(self, frame: Any) -> None:
        """Queue a frame for the client; never blocks."""

    @abstractmethod
    async def close(self, code: CloseCode, reason: str) -> None: ...

    @abstractmethod
    async def end(self, code: str, message: str) -> None:
        """Tell the client why its credentials no longer hold (an `error` with `code`), then
        close: 4401 on plain WebSocket, a namespace DISCONNECT on Socket.IO."""

    def deliver(self, event: OutboundEvent) -> None:
        """An event from the hub: held back or dropped as a duplicate during a catch-up."""
        writer = self.writer
        if (
            writer is not None
            and self.ended is None
            and not self.blocks
            and not self.blocked_by
            and self.held is None
            and not self.floor
            and not self.live_from
        ):
            # The broadcast fast path (most recipients, most of the time): nothing to hide,
            # hold or drop, and the frame found by one lookup once the first recipient of
            # this dialect has framed it.
            frame = event._encoded.get(self.frame_key, _UNSET)
            if frame is _UNSET:
                frame = framed(event, self._dialect, self.encode_text)
            if frame is not None:
                self.frames_out += 1
                if not writer.closed and writer.put(frame) > writer.limit:
                    writer.overflowing()
            return
        if self.ended is not None:  # revoked: closing, and hears nothing more meanwhile
            return
        if (self.blocks or self.blocked_by) and self._hidden(event.event):
            return
        if self.held is not None or self.floor or self.live_from:
            stream = _stream_of(event.event)
            if self.held is not None and stream in self.held:
                self.held[stream].append(event)
                return
            floor = self.floor.get(stream)
            if floor is not None:
                if event.event.data["seq"] <= floor:
                    return
                if stream.startswith("g:"):
                    # A game room's channel carries its relays in seq order (one step both
                    # numbers and publishes each): nothing at or below the floor can follow
                    # this one, and without a floor the connection is back on the fast path.
                    # A conversation's copies may come out of order from two instances.
                    del self.floor[stream]
            if self.live_from and self.live_from.get(stream) == 0:
                self.live_from[stream] = int(event.event.data["seq"])
        self.send_event(event)

    def _hidden(self, event: Event) -> bool:
        """A message from someone this user blocks, or the presence of someone who blocks
        this user."""
        if event.name in BLOCKABLE:
            return str(event.data.get("sender_id")) in self.blocks
        if event.name == PRESENCE_CHANGED:
            return str(event.data.get("user_id")) in self.blocked_by
        return False

    def send_event(self, event: OutboundEvent) -> None:
        writer = self.writer
        if writer is None:
            frame = self.encode(event)
            if frame is not None:
                self.push(frame)
            return
        raw = framed(event, self._dialect, self.encode_text)
        if raw is not None:
            self.frames_out += 1
            writer.write(raw)

    # -- catching up after a reconnect ----------------------------------------------------------

    def hold(self, conversation_ids: list[str]) -> None:
        """Keep new messages of these conversations (or all events of these game rooms, by
        channel) back until `release`: the missed ones (or the snapshot) are sent first, so
        the client sees every conversation in order."""
        if not conversation_ids:
            return
        if self.held is None:
            self.held = {}
        for conversation_id in conversation_ids:
            self.held.setdefault(conversation_id, [])

    def release(
        self, conversation_id: str, missed: list[OutboundEvent], *, complete: bool = True
    ) -> None:
        """Send the missed messages (in seq order), then what was held, without repeats.

        An incomplete catch-up (`has_more`: the client fetches the rest) still lets live
        messages through after it; the first of them is remembered (`live_from`) so that a
        later catch-up ends where they began."""
        for event in missed:
            self.send_event(event)
        if missed:
            self.floor[conversation_id] = max(
                self.floor.get(conversation_id, 0), int(missed[-1].event.data["seq"])
            )
        held = self.held.pop(conversation_id, []) if self.held is not None else []
        if self.held == {}:
            self.held = None
        if complete:
            if self.live_from:
                self.live_from.pop(conversation_id, None)
        else:
            if self.live_from is None:
                self.live_from = {}
            if not self.live_from.get(conversation_id):  # the first gap's start stays
                self.live_from[conversation_id] = 0
        for event in held:
            self.deliver(event)

    def live_since(self, conversation_id: str) -> int | None:
        """Where live delivery took over after an incomplete catch-up (None: it did not)."""
        found = self.live_from.get(conversation_id) if self.live_from else None
        return found or None


def _stream_of(event: Event) -> str:
    """The ordered stream an event belongs to, for catch-up: a conversation's new messages
    (by conversation id) or everything in a game room (by channel); "" for the rest."""
    if event.name == MESSAGE_CREATED:
        return event.channel[2:]
    if event.channel.startswith("g:"):
        return event.channel
    return ""


def framed(
    event: OutboundEvent, dialect: str, encode: Callable[[Event], str | None]
) -> bytes | None:
    """The event's frame for a dialect, framed once per broadcast (every recipient after
    the first finds it under `frame_key(dialect)`: one lookup, nothing made)."""
    key = frame_key(dialect)
    encoded = event._encoded
    if key in encoded:
        found: bytes | None = encoded[key]
        return found
    text = event.encoded(dialect, encode)
    frame = encoded[key] = None if text is None else text_frame(text.encode())
    return frame


def frame_key(dialect: str) -> str:
    key = _FRAME_KEYS.get(dialect)
    if key is None:
        key = _FRAME_KEYS[dialect] = dialect + "#frame"
    return key


_FRAME_KEYS: dict[str, str] = {}
"""Per dialect, the key its frames are kept under (one string, not one per recipient)."""
_UNSET: Any = object()
