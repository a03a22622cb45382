"""The ports: the interfaces the domain needs from its backends, declared here in its own terms.

Each is small on purpose, so that a new backend is one module. The backends implement them and
import the domain, never the other way round; `runtime.py` picks the implementations.

Why one module: it is the domain's one list of what it needs from the outside; each port is
a few lines, and splitting them would scatter that list without making any of them clearer.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, Any, Self

from parley.domain.events import Event
from parley.domain.gameplay.rooms import Room, RoomSnapshot

MessageHandler = Callable[[str, bytes], None]
"""Called with (channel, payload) for every message on a subscribed channel. Must not block."""
EventHandler = Callable[[Event], None]
"""Called with an event published in this process and carried without leaving it, as it was
published (not encoded and decoded on the way). Must not block, nor change the event."""


class Resource:
    """A backend used as `async with`: opened at start-up, closed at shutdown (`aclose`).
    The in-process backends have nothing to open or close."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop what `__aenter__` started and let go of connections."""
        return


class Broker(Resource, ABC):
    """Carries bytes on named channels between instances.

    The hub subscribes to a channel while a local connection needs it and unsubscribes when
    the last one leaves; publishing reaches every instance subscribed, this one included.
    """

    def __init__(self) -> None:
        self._handler: MessageHandler | None = None
        self._on_event: EventHandler | None = None

    def set_handler(self, handler: MessageHandler, on_event: EventHandler | None = None) -> None:
        """`handler` receives every message on a subscribed channel; `on_event`, when given,
        receives instead the events a broker carries without encoding them (`publish_event`)."""
        self._handler = handler
        self._on_event = on_event

    @abstractmethod
    async def publish(self, channel: str, payload: bytes) -> None: ...

    async def publish_event(self, event: Event, payload: bytes | None = None) -> None:
        """Publish an event on its channel; `payload` is its encoding when the caller has made
        it already. A broker whose subscribers are all in this process (the in-process one)
        hands them the event itself, which spares an encode and a decode per event."""
        await self.publish(event.channel, event.encode() if payload is None else payload)

    @abstractmethod
    async def subscribe(self, channel: str) -> None: ...

    @abstractmethod
    async def unsubscribe(self, channel: str) -> None: ...

    @abstractmethod
    async def ping(self) -> None:
        """Raise if the broker cannot carry messages right now."""


class RateLimit(Resource, ABC):
    """At most so many hits per key in a sliding window, counted wherever the backend counts
    (this process, or every instance through Redis)."""

    @abstractmethod
    async def hit(self, key: str) -> float | None:
        """Record a hit; None if allowed, else the seconds until the next one would be."""

    @abstractmethod
    async def peek(self, key: str) -> float | None:
        """What `hit` would answer, without recording anything."""


class PresenceStore(Resource, ABC):
    """Who is connected, and who is looking at which conversation, across instances.

    Connections are counted per user so that a second device does not announce the user
    online again and the first device closing does not announce them offline.
    """

    @abstractmethod
    async def add_connection(self, user_id: str, connection_id: str) -> bool:
        """Record a connection; True when it is the user's first."""

    @abstractmethod
    async def remove_connection(self, user_id: str, connection_id: str) -> bool:
        """Forget a connection; True when it was the user's last."""

    @abstractmethod
    async def is_online(self, user_id: str) -> bool: ...

    @abstractmethod
    async def enter(self, conversation_id: str, user_id: str, connection_id: str) -> bool:
        """Mark a connection as viewing; True when it is the user's first there."""

    @abstractmethod
    async def leave(self, conversation_id: str, user_id: str, connection_id: str) -> bool:
        """Unmark it; True when it was the user's last connection viewing."""

    @abstractmethod
    async def viewers(self, conversation_id: str) -> list[str]:
        """User ids viewing the conversation, in the order they arrived."""

    async def sweep(self) -> list[str]:
        """Forget what crashed instances left behind; returns the users that went offline.

        One process has nothing to sweep: its connections die with it.
        """
        return []

    instance_id = "local"
    """This instance's id among those sharing the store."""
    _count_connections: Callable[[], int] | None = None

    def report_connections(self, count: Callable[[], int]) -> None:
        """Where this instance's connection count is read, for `instances` (the dashboard)."""
        self._count_connections = count

    def connections_here(self) -> int:
        return self._count_connections() if self._count_connections is not None else 0

    async def instances(self) -> dict[str, int]:
        """The live instances sharing this store, each with its connection count as it last
        reported it (this one alone, in one process)."""
        return {self.instance_id: self.connections_here()}


@dataclass(frozen=True, slots=True)
class RoomChange:
    """What a room becomes, decided from its current snapshot."""

    room: Room | None
    """The new record; None removes the room."""
    seq: int
    """The room's seq after the change (one more per event that carries a seq)."""
    shared: dict[str, Any] | None = None
    """Replaces the shared state when given."""
    player_states: dict[str, Any] = field(default_factory=dict)
    """Latest state of these players; the states of players no longer seated are dropped."""
    events: list[Event] = field(default_factory=list)
    """Published in this order, atomically with the change: no other event of the room can
    come between them or overtake them."""


RoomDecision = Callable[[RoomSnapshot], RoomChange]
"""Decides a change from a snapshot. Pure: a store may call it again on a newer snapshot."""


class GameStore(Resource, ABC):
    """Game rooms shared by every instance, and the ordered publishing of their events.

    Each room has one sequence; a change and the events it numbers are stored and published
    in one atomic step, so every instance's players hear a room's events in `seq` order.
    """

    @abstractmethod
    async def create(self, snapshot: RoomSnapshot, *, if_absent: bool = False) -> bool:
        """Store a new room; with `if_absent`, only when no room has its id (False then)."""

    @abstractmethod
    async def load(self, room_id: str) -> RoomSnapshot | None: ...

    @abstractmethod
    async def update(self, room_id: str, decide: RoomDecision) -> RoomChange:
        """Apply `decide` atomically; raises NotFound (`room_not_found`) when there is no
        such room, and whatever `decide` raises (nothing is changed then)."""

    @abstractmethod
    async def relay(
        self,
        room_id: str,
        player_id: str,
        state: dict[str, Any],
        shared_patch: dict[str, Any] | None,
        event: Event,
        sequenced: tuple[bytes, bytes],
        *,
        max_shared_bytes: int,
    ) -> int:
        """The fast path for a relayed action: take the next seq, keep `state` as the
        player's latest, merge `shared_patch` into the shared state key by key, and publish
        `event` with that seq (`Event.sequenced`; `sequenced` is its encoding split where the
        seq goes, `Event.encode_sequenced`, made by the caller), in one step. Returns the seq;
        raises NotFound for a missing room, Forbidden (`not_in_room`) for a player without a
        seat, and PayloadTooLarge (`state_too_large`) when the patch would grow the shared
        state past `max_shared_bytes` (as `bounds.shared_bytes` counts it); nothing changes
        then."""

    @abstractmethod
    async def open_rooms(self, game: str | None, limit: int) -> list[Room]:
        """Rooms with a free seat, oldest first."""

    @abstractmethod
    async def rooms_of(self, player_id: str) -> list[str]:
        """The rooms where the player has a seat."""


Persist = Callable[[list[dict[str, Any]]], Awaitable[None]]
"""Stores a batch of message rows in the database (idempotent on the message id)."""


class MessageLog(Resource, ABC):
    """The write-behind log: sends are appended here and acknowledged at once; writers store
    them in the database afterwards, at least once. It also hands out each conversation's
    sequence numbers and remembers `client_msg_id`s, since the database lags behind it."""

    @abstractmethod
    async def next_seq(self, conversation_id: str, stored_last_seq: int) -> int:
        """The conversation's next seq, counting on from `stored_last_seq` the first time."""

    @abstractmethod
    async def claim_client_id(self, key: str, message_json: bytes) -> bytes | None:
        """Reserve a (conversation, sender, client_msg_id); the earlier message's JSON if it
        was reserved before (a resend), else None."""

    @abstractmethod
    async def release_client_id(self, key: str) -> None:
        """Give back a reservation whose message could not be appended."""

    @abstractmethod
    async def append(self, row: dict[str, Any]) -> None:
        """Add a message row to the log; it is acknowledged from here on."""

    @abstractmethod
    def start(self, persist: Persist) -> None:
        """Run this instance's writer: batches from the log go to `persist`."""


@dataclass(frozen=True, slots=True)
class LoggedMessage:
    """A new message's place in the delivery order (`RecoveryStore.publish_message`)."""

    position: str
    """`<ms>-<n>`: ordered as every instance received the messages."""
    conversation_id: str
    seq: int
    origin: str | None
    """The connection that sent it (it got an acknowledgement, not the event)."""


def parse_position(position: str) -> tuple[int, int] | None:
    """A log position `<ms>-<n>` as a pair that compares in log order; None if it is none."""
    ms, dash, n = position.partition("-")
    if not dash or not (ms.isascii() and ms.isdigit() and n.isascii() and n.isdigit()):
        return None
    if len(ms) > 15 or len(n) > 15:
        return None
    return int(ms), int(n)


class RecoveryStore(Resource, ABC):
    """Socket.IO connection-state recovery, shared by every instance.

    Two things: the log of new messages in the order they were published (each one's
    position is logged and the event published in one step, so the log's order is the order
    every instance delivers in), kept for the recovery window; and the recoverable sessions,
    opaque records under a key, each with a time to live.
    """

    outlives_instance: bool = True
    """Its records outlive this process and reach other instances (Redis): a connected
    socket's record is kept here from its sign-in on, so its client may come back to another
    instance, or after this one died. The in-process store dies with the process: there a
    connected socket's record is made from the socket itself when a resume asks for it, and
    stored only once the socket is gone."""

    @abstractmethod
    async def publish_message(
        self,
        channel: str,
        positioned: tuple[bytes, bytes],
        message: LoggedMessage,
    ) -> str:
        """Log the message (its `position` is ignored) and publish `head + position + tail`
        (`positioned`: `Event.encode_positioned`) in one step; returns the position."""

    @abstractmethod
    async def last_position(self) -> str:
        """The position of the newest logged message (`0-0` when there is none)."""

    @abstractmethod
    async def messages_after(self, position: str, *, limit: int) -> list[LoggedMessage] | None:
        """Logged messages after `position`, oldest first; None when there are more than
        `limit` (too many to replay)."""

    @abstractmethod
    async def save(
        self, key: str, record: bytes, ttl_secs: float, *, owner: str, unless_taken: bool = False
    ) -> bool:
        """Store `owner`'s record (owner: a connection id). With `unless_taken`, only if the
        record there is still `owner`'s or there is none: a copy that resumed elsewhere (its
        old connection was half-open) keeps its own. True when it was stored."""

    @abstractmethod
    async def take(self, key: str) -> bytes | None:
        """The record, removed in the same step: two takers never both get it."""

    @abstractmethod
    async def keep(self, keys: list[str], ttl_secs: float) -> None:
        """Give these records `ttl_secs` more to live (the sessions are still connected)."""


class SmsSender(ABC):
    """Delivers a text message (a one-time code) to a phone number."""

    @abstractmethod
    async def send(self, to: str, text: str, *, purpose: str) -> None: ...


@dataclass(frozen=True, slots=True)
class PresignedUpload:
    """Where and how a client sends a file straight to the store (no Parley in between):
    an HTML-form POST of `fields` then the file (S3's presigned POST, whose signed policy
    makes the store itself hold the size), or a PUT with `headers`."""

    url: str
    method: str
    fields: dict[str, str]
    headers: dict[str, str]
    expires_in_secs: int


@dataclass(frozen=True, slots=True)
class StoredFile:
    size: int
    metadata: dict[str, str]
    """What was stored with the file (a presigned upload's signed fields: its filename)."""


_FILE_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")


def check_file_key(key: str) -> str:
    """A key a store may use as a file name or object key: no slashes, no `..`, no NUL."""
    if not _FILE_KEY.fullmatch(key) or ".." in key:
        raise ValueError(f"not a file store key: {key!r}")
    return key


class FileStore(Resource, ABC):
    """Bytes under keys: uploaded files and their thumbnails.

    Keys are the domain's own (`[A-Za-z0-9._-]`, no slashes from clients); a write is whole or
    absent, never half there. `put` reads the file it is given from the start.
    """

    @abstractmethod
    async def put(self, key: str, source: IO[bytes], *, size: int, content_type: str) -> None:
        """Store `size` bytes read from `source` under `key` (replacing what was there)."""

    @abstractmethod
    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes from `start` up to and including `end` (the last byte when None), in
        chunks; raises NotFound (`upload_not_found`) before the first chunk when missing."""

    @abstractmethod
    async def size(self, key: str) -> int | None:
        """The stored size in bytes; None when nothing is stored under `key`."""

    @abstractmethod
    async def delete(self, key: str) -> None:
        """Remove `key`; nothing stored there is not an error."""

    async def presign_upload(
        self, key: str, *, max_bytes: int, metadata: dict[str, str], expires_in_secs: int
    ) -> PresignedUpload | None:
        """How a client may send one file of 1 to `max_bytes` bytes straight to `key`, with
        `metadata` kept beside it; None when the store has no such thing (a local
        directory), and the client uploads through Parley instead."""
        return None

    async def stat(self, key: str) -> StoredFile | None:
        """The size and metadata of what is stored under `key`; None when nothing is."""
        size = await self.size(key)
        return None if size is None else StoredFile(size, {})

    @abstractmethod
    async def rename(self, key: str, new_key: str, *, content_type: str) -> bool:
        """Move a file to `new_key` (replacing what was there); False when `key` holds
        nothing (a concurrent rename took it)."""

    @abstractmethod
    def list_keys(self, prefix: str) -> AsyncIterator[str]:
        """Every key starting with `prefix`, in no promised order."""


# -- push notifications ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PushTarget:
    """One device: the session that registered the token, and the token."""

    session_id: str
    token: str


@dataclass(frozen=True, slots=True)
class Notification:
    """One push to one user's devices: the messages of one conversation that reached them
    while they were offline (`count` of them; the newest `message_ids`, oldest first)."""

    id: str
    user_id: str
    conversation_id: str
    conversation_kind: str
    message_ids: list[str]
    count: int
    title: str
    body: str
    sender_id: str | None
    targets: list[PushTarget]

    @property
    def message_id(self) -> str:
        """The newest message."""
        return self.message_ids[-1]


@dataclass(slots=True)
class DeliveryReport:
    """What became of each target of one delivery attempt."""

    sent: list[PushTarget] = field(default_factory=list)
    invalid: list[PushTarget] = field(default_factory=list)
    """The push service says these tokens are dead: they are taken off their sessions."""
    retry: list[PushTarget] = field(default_factory=list)
    """Failed for a passing reason (429, 5xx, a timeout): worth another attempt."""
    failed: list[PushTarget] = field(default_factory=list)
    """Failed for good (a refusal that another attempt would not change)."""
    retry_after_secs: float | None = None
    """What the push service asked to wait before the next attempt, if it said."""


class Notifier(Resource, ABC):
    """Hands notifications to a push service (a webhook, FCM, the log)."""

    @abstractmethod
    async def deliver(self, notification: Notification) -> DeliveryReport:
        """One attempt at every target of `notification`. Never raises for a failed push:
        the report says what failed and whether it is worth retrying."""


@dataclass(frozen=True, slots=True)
class PendingPush:
    """What waited in the push queue under one key (a user and a conversation)."""

    key: str
    items: list[dict[str, Any]]
    """The newest items added under the key, oldest first."""
    count: int
    """How many were added in all (more than `items` holds when it overflowed)."""


class PushQueue(Resource, ABC):
    """A delayed queue of pushes that collapses what is added under one key.

    The first `add` under a key sets when it falls due; later ones join it until it is
    taken. `take_due` hands each due key to exactly one taker (of every instance sharing
    the queue), and a new `add` after that starts a new entry.
    """

    @abstractmethod
    async def add(self, key: str, item: dict[str, Any], *, delay_secs: float, keep: int) -> None:
        """Add `item` under `key`; the entry keeps the `keep` newest items."""

    @abstractmethod
    async def take_due(self, limit: int) -> list[PendingPush]:
        """Remove and return up to `limit` entries whose time has come, earliest first."""
