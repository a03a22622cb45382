"""Presence: online / last seen, who is viewing a conversation, and who is typing.

A user is online while at least one connection is open. When the last one closes they stay
online for a short grace period, so a reconnect (a page reload, a network hop) does not flash
offline-online to everyone. Typing expires by itself if the client never says it stopped.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import structlog
from sqlalchemy import update
from typing_extensions import TypedDict

from parley.clock import iso_z
from parley.db import presence as db_presence
from parley.db.models import User
from parley.db.types import utcnow
from parley.domain.accounts.principal import Principal
from parley.domain.conversations.schemas import ConversationKind
from parley.domain.events import Audience, Event, conversation_channel, presence_channel
from parley.domain.ports import PresenceStore
from parley.domain.unit_of_work import UnitOfWork
from parley.lifecycle import stop_task

log = structlog.get_logger(__name__)

TOUCH_EVERY_SECS = 60.0
ANNOUNCE_BATCH = 500
"""Most users whose presence one transaction writes."""


class PresenceChanged(TypedDict):
    """`presence.changed`, named on the wire by its `type`."""

    type: Literal["user_online", "user_offline"]
    user_id: str
    username: str | None
    is_online: bool
    last_seen: str | None
    """When the user was last seen (ISO 8601, UTC)."""


class ViewerChanged(TypedDict):
    """`viewer.joined` / `viewer.left`: someone started or stopped viewing a conversation."""

    room_id: str
    """The conversation's id (its events name an open room by its name: see `enter`)."""
    conversation_id: str
    user_id: str
    username: str | None


class TypingChanged(ViewerChanged):
    """`typing.changed`: a viewer started or stopped typing."""

    is_typing: bool
    status: Literal["start", "stop"]


@dataclass(frozen=True, slots=True)
class UserStatus:
    user_id: str
    username: str | None
    is_online: bool
    last_seen: datetime | None

    def event_data(self) -> PresenceChanged:
        return {
            "type": "user_online" if self.is_online else "user_offline",
            "user_id": self.user_id,
            "username": self.username,
            "is_online": self.is_online,
            "last_seen": iso_z(self.last_seen) if self.last_seen else None,
        }


class PresenceService:
    def __init__(
        self,
        uow: UnitOfWork,
        store: PresenceStore,
        *,
        offline_grace_secs: float,
        typing_ttl_secs: float,
    ) -> None:
        self._uow = uow
        self._store = store
        self._grace = offline_grace_secs
        self._typing_ttl = typing_ttl_secs
        self._pending_offline: dict[str, asyncio.TimerHandle] = {}
        self._typing: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._touched: dict[str, float] = {}
        self._announcements: dict[uuid.UUID, tuple[str | None, bool]] = {}
        self._announcer: asyncio.Future[None] | None = None

    # -- online / offline -------------------------------------------------------------------

    async def connected(self, principal: Principal, connection_id: str) -> None:
        user_id = str(principal.user_id)
        first = await self._store.add_connection(user_id, connection_id)
        pending = self._pending_offline.pop(user_id, None)
        if pending is not None:
            pending.cancel()  # back within the grace period: never went offline
            return
        if first:
            self._announce(principal.user_id, principal.username, online=True)

    async def disconnected(self, principal: Principal, connection_id: str) -> None:
        user_id = str(principal.user_id)
        if not await self._store.remove_connection(user_id, connection_id):
            return
        loop = asyncio.get_running_loop()
        self._pending_offline[user_id] = loop.call_later(
            self._grace, self._spawn_offline, principal.user_id, principal.username
        )

    def _spawn_offline(self, user_id: uuid.UUID, username: str | None) -> None:
        self._pending_offline.pop(str(user_id), None)
        self._announce(user_id, username, online=False)

    def announce(self, user_id: uuid.UUID, username: str | None, *, online: bool) -> None:
        """A state set by hand (the customer-service seed's `PUT /api/users/status`), told to
        subscribers and peers like any connect or disconnect."""
        self._announce(user_id, username, online=online)

    def _announce(self, user_id: uuid.UUID, username: str | None, *, online: bool) -> None:
        """Write the user's new state and tell subscribers and peers, soon and in a batch:
        one transaction carries every change queued meanwhile (a burst of connects costs a
        few statements, not a few per connect). The latest state of a user wins."""
        self._announcements[user_id] = (username, online)
        if self._announcer is None or self._announcer.done():
            self._announcer = asyncio.ensure_future(self._announce_queued())

    async def _announce_queued(self) -> None:
        while self._announcements:
            batch = dict(itertools.islice(self._announcements.items(), ANNOUNCE_BATCH))
            for user_id in batch:
                del self._announcements[user_id]
            try:
                await self._announce_batch(batch)
            except Exception:  # presence is also in the store; the next change rewrites it
                log.exception("presence.announce_failed", users=len(batch))

    async def _announce_batch(self, batch: dict[uuid.UUID, tuple[str | None, bool]]) -> None:
        now = utcnow()
        states: dict[bool, list[uuid.UUID]] = {True: [], False: []}
        for user_id, (_, online) in batch.items():
            states[online].append(user_id)
        unnamed = [user_id for user_id, (name, _) in batch.items() if name is None]
        async with self._uow() as work:
            # Peers in direct, group and support chats hear it too; open rooms can be huge.
            found = await work.tx.run_sync(
                db_presence.announce,
                states,
                unnamed,
                list(batch),
                now=now,
                excluded_kind=ConversationKind.ROOM.value,
            )
            for user_id, (username, online) in batch.items():
                status = UserStatus(str(user_id), username or found.names.get(user_id), online, now)
                data = dict(status.event_data())
                work.emit(
                    Event(presence_channel(user_id), "presence.changed", data, Audience.SUBSCRIBERS)
                )
                for conversation_id in found.peers.get(user_id, ()):
                    work.emit(
                        Event(
                            conversation_channel(conversation_id),
                            "presence.changed",
                            data,
                            extra={"user_id": str(user_id)},
                        )
                    )

    async def touch(self, principal: Principal) -> None:
        """Refresh the user's last-seen time, at most once a minute per user."""
        now = time.monotonic()
        key = str(principal.user_id)
        if now - self._touched.get(key, -TOUCH_EVERY_SECS) < TOUCH_EVERY_SECS:
            return
        self._touched[key] = now
        if len(self._touched) > 100_000:  # bounded: forget the oldest half
            for old in list(self._touched)[:50_000]:
                del self._touched[old]
        async with self._uow() as work:
            await work.tx.execute(
                update(User)
                .where(User.id == principal.user_id)
                .values(last_seen_at=utcnow())
                .execution_options(synchronize_session=False)
            )

    @property
    def instance_id(self) -> str:
        return self._store.instance_id

    async def instances(self) -> dict[str, int]:
        """The live instances sharing presence (one without Redis), with their connections."""
        return await self._store.instances()

    async def status_of(self, user_id: uuid.UUID) -> UserStatus | None:
        async with self._uow() as work:
            user = await work.tx.get(User, user_id)
        if user is None:
            return None
        online = await self._store.is_online(str(user_id))
        return UserStatus(str(user.id), user.username, online, user.last_seen_at)

    # -- viewing a conversation -------------------------------------------------------------

    async def enter(
        self,
        principal: Principal,
        conversation_id: uuid.UUID,
        connection_id: str,
        *,
        room: str | None = None,
    ) -> list[str]:
        """Start viewing; tells the other viewers when the user arrives. Returns the viewers.
        `room`: an open room's name, which the events give as `room_id`."""
        key = str(conversation_id)
        if await self._store.enter(key, str(principal.user_id), connection_id):
            event = self._viewer_event("viewer.joined", conversation_id, principal, connection_id)
            await self._uow.publisher.publish([_in_room(event, room)])
        return await self._store.viewers(key)

    async def leave(
        self,
        principal: Principal,
        conversation_id: uuid.UUID,
        connection_id: str,
        *,
        room: str | None = None,
    ) -> None:
        if await self._store.leave(str(conversation_id), str(principal.user_id), connection_id):
            event = self._viewer_event("viewer.left", conversation_id, principal, connection_id)
            await self._uow.publisher.publish([_in_room(event, room)])

    async def viewers(self, conversation_id: uuid.UUID) -> list[str]:
        return await self._store.viewers(str(conversation_id))

    @staticmethod
    def _viewer_event(
        name: str, conversation_id: uuid.UUID, principal: Principal, origin: str
    ) -> Event:
        """An event for whoever views the conversation, about one user there."""
        return _to_viewers(name, _viewer(conversation_id, principal), origin)

    # -- typing -----------------------------------------------------------------------------

    async def typing(
        self, principal: Principal, conversation_id: uuid.UUID, *, is_typing: bool, origin: str
    ) -> None:
        """Tell the viewers; a start not followed by a stop ends by itself after the TTL."""
        key = (str(conversation_id), str(principal.user_id))
        expiry = self._typing.pop(key, None)
        if expiry is not None:
            expiry.cancel()
        if is_typing:
            loop = asyncio.get_running_loop()
            self._typing[key] = loop.call_later(
                self._typing_ttl, self._expire_typing, principal, conversation_id, origin
            )
        elif expiry is None:
            return  # a stop for a start that already expired: nothing to tell
        await self._uow.publisher.publish(
            [self._typing_event(principal, conversation_id, is_typing, origin)]
        )

    def _expire_typing(self, principal: Principal, conversation_id: uuid.UUID, origin: str) -> None:
        self._typing.pop((str(conversation_id), str(principal.user_id)), None)
        event = self._typing_event(principal, conversation_id, False, origin)
        self._spawn(self._uow.publisher.publish([event]))

    def _typing_event(
        self, principal: Principal, conversation_id: uuid.UUID, is_typing: bool, origin: str
    ) -> Event:
        data = TypingChanged(
            **_viewer(conversation_id, principal),
            is_typing=is_typing,
            status="start" if is_typing else "stop",
        )
        return _to_viewers("typing.changed", data, origin)

    # -- crashed instances ------------------------------------------------------------------

    def start_sweeping(self, *, every_secs: float) -> None:
        """Periodically take offline the users a crashed instance left online."""
        self._sweeper = asyncio.create_task(self._sweep(every_secs), name="presence-sweeper")

    async def _sweep(self, every_secs: float) -> None:
        while True:
            await asyncio.sleep(every_secs)
            try:
                for user_id in await self._store.sweep():
                    self._announce(uuid.UUID(user_id), None, online=False)
            except Exception:  # Redis or the database away: try again next round
                log.exception("presence.sweep_failed")

    # -- lifecycle --------------------------------------------------------------------------

    def _spawn(self, coroutine: Coroutine[None, None, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        """Cancel timers and wait for announcements already under way."""
        await stop_task(self._sweeper)
        for handle in [*self._pending_offline.values(), *self._typing.values()]:
            handle.cancel()
        self._pending_offline.clear()
        self._typing.clear()
        if self._announcer is not None:
            await asyncio.gather(self._announcer, return_exceptions=True)
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _viewer(conversation_id: uuid.UUID, principal: Principal) -> ViewerChanged:
    return {
        "room_id": str(conversation_id),
        "conversation_id": str(conversation_id),
        "user_id": str(principal.user_id),
        "username": principal.username,
    }


def _to_viewers(name: str, data: ViewerChanged, origin: str) -> Event:
    conversation_id = data["conversation_id"]
    return Event(
        conversation_channel(conversation_id), name, dict(data), Audience.VIEWERS, origin=origin
    )


def _in_room(event: Event, room: str | None) -> Event:
    """The event with `room_id` the open room's name, as its clients know the room."""
    if room is not None:
        event.data["room_id"] = room
    return event
