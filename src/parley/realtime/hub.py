"""The hub: delivers broker events to this instance's connections, in every protocol.

It keeps three local indexes — conversation channel → connections of its members, user →
connections, presence channel → watching connections — and subscribes to a broker channel
only while some local connection needs it (reference counted), so an instance never decodes
traffic for conversations it has no client in.

Account events on a user's channel (sessions revoked, account disabled, role changed) are
not passed on: the hub ends or updates that user's connections here, chat and game alike,
and one shared timer (`expiry`) ends those whose access token runs out. Between the commit
and the event reaching an instance (milliseconds; Redis Pub/Sub's latency) a connection's
commands still run, and one that was signing in just then misses the event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Coroutine, Iterable
from dataclasses import replace

import structlog

from parley.domain.accounts.principal import Principal
from parley.domain.events import (
    BLOCKS_CHANGED,
    HUB_EVENTS,
    ROLE_CHANGED,
    SESSIONS_REVOKED,
    Audience,
    Event,
    conversation_channel,
    presence_channel,
    user_channel,
)
from parley.domain.ports import Broker
from parley.domain.roles import Role
from parley.errors import AccountDisabled, ParleyError, SessionRevoked, TokenExpired
from parley.realtime.connection import Connection, OutboundEvent
from parley.realtime.expiry import TokenExpiry
from parley.realtime.stats import SocketStats

log = structlog.get_logger(__name__)


class Hub:
    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._members: dict[str, set[Connection]] = {}
        self._users: dict[str, set[Connection]] = {}
        self._watchers: dict[str, set[Connection]] = {}
        self._players: dict[str, set[Connection]] = {}
        """Signed-in game connections by user: they hear only their account's events."""
        self._expiry = TokenExpiry(self._token_expired)
        self._needed: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._subscription_lock = asyncio.Lock()
        self.stats = SocketStats()
        """Every connection's life, counted and logged (`stats`)."""
        broker.set_handler(self._on_broker_message, self._on_event)

    @property
    def connection_count(self) -> int:
        return sum(len(c) for c in self._users.values())

    @property
    def channel_count(self) -> int:
        """Broker channels this instance is subscribed to."""
        return len(self._needed)

    def connections_of(self, user_id: str) -> set[Connection]:
        return self._users.get(user_id, set())

    def known_conversations(self, user_id: str) -> list[str] | None:
        """The conversations the user's connections here receive, or None when they have
        none here. Member events keep every connection's set current, so a second device
        can start from it instead of asking the database."""
        for connection in self._users.get(user_id, ()):
            return [c[2:] for c in connection.member_of if c.startswith("c:")]
        return None

    async def attach(self, connection: Connection, conversation_ids: Iterable[str]) -> None:
        """Start delivering to an authenticated connection; returns once subscribed."""
        user_id = connection.user_id
        self._users.setdefault(user_id, set()).add(connection)
        channels = [user_channel(user_id)]
        for conversation_id in conversation_ids:
            channel = conversation_channel(conversation_id)
            self._members.setdefault(channel, set()).add(connection)
            connection.member_of.add(channel)
            channels.append(channel)
        self._expiry.track(connection)
        await self._settled(self._need(channels))

    async def attach_player(self, connection: Connection) -> None:
        """A signed-in game connection: ended or updated with its user's account like a chat
        connection, though it receives none of the user's chat events."""
        user_id = connection.user_id
        self._players.setdefault(user_id, set()).add(connection)
        self._expiry.track(connection)
        await self._settled(self._need([user_channel(user_id)]))

    def renew(self, connection: Connection, principal: Principal) -> None:
        """A fresh access token (of the same user): the connection lives on with it."""
        self._expiry.forget(connection)
        connection.principal = principal
        self._expiry.track(connection)

    def end(self, connection: Connection, error: ParleyError) -> None:
        """The connection's credentials no longer hold: it refuses commands from now on,
        tells its client why and closes."""
        if connection.ended is not None:
            return
        connection.ended = error
        log.info("hub.connection_ended", connection_id=connection.id, reason=error.code)
        self._spawn(self._end(connection, error))

    async def detach(self, connection: Connection) -> None:
        """Stop delivering to a connection: every channel it needed is released."""
        if connection.principal is None:
            return
        user_id = connection.user_id
        channels = []
        self._expiry.forget(connection)
        if connection in self._users.get(user_id, ()):
            channels.append(user_channel(user_id))
            self._discard(self._users, user_id, connection)
        elif connection in self._players.get(user_id, ()):
            channels.append(user_channel(user_id))
            self._discard(self._players, user_id, connection)
        for channel in connection.member_of:
            self._discard(self._members, channel, connection)
            channels.append(channel)
        connection.member_of.clear()
        for channel in connection.watching:
            self._discard(self._watchers, channel, connection)
            channels.append(channel)
        connection.watching.clear()
        await self._settled(self._release(channels))

    async def watch(self, connection: Connection, user_id: str) -> None:
        channel = presence_channel(user_id)
        if channel in connection.watching:
            return
        connection.watching.add(channel)
        self._watchers.setdefault(channel, set()).add(connection)
        await self._settled(self._need([channel]))

    async def unwatch(self, connection: Connection, user_id: str) -> None:
        channel = presence_channel(user_id)
        if channel not in connection.watching:
            return
        connection.watching.discard(channel)
        self._discard(self._watchers, channel, connection)
        await self._settled(self._release([channel]))

    def join_locally(self, user_id: str, conversation_id: str) -> None:
        """A member was added: their connections here receive the conversation from now on.

        The index changes at once (so the very next event reaches them); the broker
        subscription follows in order behind it.
        """
        channel = conversation_channel(conversation_id)
        added = 0
        for connection in self._users.get(user_id, ()):
            members = self._members.setdefault(channel, set())
            if connection not in members:
                members.add(connection)
                connection.member_of.add(channel)
                added += 1
        self._need([channel] * added)

    async def follow(self, connection: Connection, conversation_id: str) -> None:
        """This connection receives the conversation from the moment this returns (the
        broker subscription included), e.g. before a join is acknowledged."""
        await self.follow_channel(connection, conversation_channel(conversation_id))

    async def follow_channel(self, connection: Connection, channel: str) -> None:
        """Deliver the channel's events to this connection (a game room's, say) from the
        moment this returns."""
        if channel in connection.member_of:
            return
        self._members.setdefault(channel, set()).add(connection)
        connection.member_of.add(channel)
        await self._settled(self._need([channel]))

    def unfollow_channel(self, connection: Connection, channel: str) -> None:
        if channel in connection.member_of:
            connection.member_of.discard(channel)
            self._discard(self._members, channel, connection)
            self._release([channel])

    def leave_locally(self, user_id: str, conversation_id: str) -> None:
        channel = conversation_channel(conversation_id)
        removed = 0
        for connection in list(self._users.get(user_id, ())):
            if channel in connection.member_of:
                self._discard(self._members, channel, connection)
                connection.member_of.discard(channel)
                connection.viewing.discard(conversation_id)
                removed += 1
        self._release([channel] * removed)

    def deliver_local(self, event: Event) -> None:
        """Route one event to the local connections it is for."""
        outbound = OutboundEvent(event)
        # Nobody needs to hear that they themselves came online.
        about = event.data.get("user_id") if event.name == "presence.changed" else None
        origin = event.origin
        for connection in self._recipients(event):
            if connection.id != origin and (about is None or connection.user_id != about):
                connection.deliver(outbound)

    def _on_broker_message(self, channel: str, payload: bytes) -> None:
        try:
            event = Event.decode(channel, payload)
        except (ValueError, KeyError):
            log.warning("hub.bad_event", channel=channel)
            return
        self._on_event(event)

    def _on_event(self, event: Event) -> None:
        """An event for this instance: the broker's message decoded, or handed over as it was
        published here (an in-process broker's game relays)."""
        channel = event.channel
        if event.name in HUB_EVENTS:
            try:
                if event.name == BLOCKS_CHANGED:
                    self._blocks_changed(event)
                else:
                    self._account_changed(event)
            except (KeyError, TypeError, ValueError):  # another version's shape, say
                log.warning("hub.bad_account_event", channel=channel, event_name=event.name)
            return
        if event.name == "member.added" and event.audience is Audience.USER:
            self.join_locally(event.extra["user_id"], event.data["conversation_id"])
        elif event.name == "member.removed":
            # Either copy ends the membership here. The conversation's copy may come first,
            # with new messages published between the two (they travel on different
            # channels): the removed user gets none of those, and hears of the removal once,
            # on their own channel.
            self.leave_locally(event.extra["user_id"], event.data["conversation_id"])
        self.deliver_local(event)
        if event.name == "conversation.deleted":
            self._forget_conversation(channel, event.data["conversation_id"])

    def _blocks_changed(self, event: Event) -> None:
        """What the user's connections hide changes at once (sets are replaced, not changed:
        connections that block nobody share one empty set)."""
        user_id = event.channel[2:]
        blocker, blocked, blocking = (
            str(event.data["blocker"]),
            str(event.data["blocked"]),
            bool(event.data["blocking"]),
        )
        for connection in self._users.get(user_id, ()):
            if user_id == blocker:
                connection.blocks = _with(connection.blocks, blocked, blocking)
            elif user_id == blocked:
                connection.blocked_by = _with(connection.blocked_by, blocker, blocking)

    def _account_changed(self, event: Event) -> None:
        user_id = event.channel[2:]
        connections = [*self._users.get(user_id, ()), *self._players.get(user_id, ())]
        if event.name == ROLE_CHANGED:
            role = Role(event.data["role"])
            for connection in connections:
                if connection.principal is not None:
                    connection.principal = replace(connection.principal, role=role)
            return
        error: ParleyError = AccountDisabled()
        if event.name == SESSIONS_REVOKED:
            ended = set(event.data["session_ids"])
            error = SessionRevoked()
            connections = [
                c for c in connections if str(c.principal and c.principal.session_id) in ended
            ]
        for connection in connections:
            self.end(connection, error)

    def _token_expired(self, connection: Connection) -> None:
        self.end(
            connection,
            TokenExpired(
                "The access token has expired. Renew it before it does: authenticate with a "
                "fresh access token of the same user."
            ),
        )

    @staticmethod
    async def _end(connection: Connection, error: ParleyError) -> None:
        with contextlib.suppress(Exception):  # the client may be gone already
            await connection.end(error.code, error.message)

    def _recipients(self, event: Event) -> Iterable[Connection]:
        channel = event.channel
        if event.audience is Audience.MEMBERS:
            return tuple(self._members.get(channel, ()))
        if event.audience is Audience.VIEWERS:
            conversation_id = channel[2:]
            return [c for c in self._members.get(channel, ()) if conversation_id in c.viewing]
        if event.audience is Audience.USER:
            return tuple(self._users.get(channel[2:], ()))
        return tuple(self._watchers.get(channel, ()))

    def _forget_conversation(self, channel: str, conversation_id: str) -> None:
        connections = self._members.pop(channel, set())
        for connection in connections:
            connection.member_of.discard(channel)
            connection.viewing.discard(conversation_id)
        self._release([channel] * len(connections))

    def _need(self, channels: list[str]) -> list[asyncio.Task[None]]:
        """Count local needs; the first need of a channel subscribes to it."""
        ops = []
        for channel in channels:
            self._needed[channel] += 1
            if self._needed[channel] == 1:
                ops.append(self._spawn(self._subscription(channel, subscribe=True)))
        return ops

    def _release(self, channels: list[str]) -> list[asyncio.Task[None]]:
        ops = []
        for channel in channels:
            self._needed[channel] -= 1
            if self._needed[channel] <= 0:
                del self._needed[channel]
                ops.append(self._spawn(self._subscription(channel, subscribe=False)))
        return ops

    async def _subscription(self, channel: str, *, subscribe: bool) -> None:
        # One at a time, in the order asked (the lock is FIFO): a quick unsubscribe and
        # re-subscribe of the same channel must reach the broker in that order.
        async with self._subscription_lock:
            if subscribe:
                await self._broker.subscribe(channel)
            else:
                await self._broker.unsubscribe(channel)

    @staticmethod
    async def _settled(ops: list[asyncio.Task[None]]) -> None:
        if ops:
            await asyncio.gather(*ops)

    @staticmethod
    def _discard(index: dict[str, set[Connection]], key: str, connection: Connection) -> None:
        connections = index.get(key)
        if connections is not None:
            connections.discard(connection)
            if not connections:
                del index[key]

    def _spawn(self, coroutine: Coroutine[None, None, None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def close(self) -> None:
        self._expiry.close()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _with(ids: frozenset[str], user_id: str, present: bool) -> frozenset[str]:
    return ids | {user_id} if present else ids - {user_id}
