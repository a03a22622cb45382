"""What a live connection can do in game rooms, whatever protocol it speaks.

Entering a room follows its channel first and holds the room's events back; the snapshot goes
out next (`room_state`), then whatever was held and is newer than the snapshot's `seq`. So a
player who joins or reconnects sees the snapshot first and every later event exactly once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

from typing_extensions import TypedDict

from parley.domain.accounts.auth import AuthService
from parley.domain.accounts.principal import Principal
from parley.domain.events import game_channel
from parley.domain.gameplay.rooms import RoomPublic, RoomSnapshot
from parley.domain.gameplay.schemas import (
    ActionTaken,
    CreateRoom,
    ListRooms,
    PlayerAction,
    QuickMatch,
    RoomRef,
)
from parley.domain.gameplay.service import GameplayService, room_event
from parley.domain.ids import uuid7
from parley.errors import Conflict, Forbidden, NotFound, ValidationFailed
from parley.realtime.connection import Connection, OutboundEvent
from parley.realtime.hub import Hub
from parley.realtime.signin import principal_of, renew_access
from parley.realtime.stats import SocketStats


class RoomLeft(TypedDict):
    """The answer to `leave_room`."""

    room_id: str
    left: bool
    room: RoomPublic | None
    """The room as the others stay in it; null when it closed (you were the last)."""


class RoomList(TypedDict):
    """The answer to `list_rooms`: rooms with a free seat."""

    rooms: list[RoomPublic]


class GameLive:
    def __init__(self, auth: AuthService, games: GameplayService, hub: Hub) -> None:
        self.auth = auth
        self.games = games
        self._hub = hub

    @property
    def stats(self) -> SocketStats:
        return self._hub.stats

    async def open(self, connection: Connection, principal: Principal) -> list[str]:
        """A signed-in connection goes back to every room where the player has a seat;
        returns their ids (each has had its `room_state`)."""
        connection.principal = principal
        await self._hub.attach_player(connection)
        rooms = []
        for room_id in await self.games.rooms_of(principal):
            try:
                await self._enter(
                    connection,
                    room_id,
                    partial(self.games.reconnected, principal, room_id, connection.id),
                )
            except (NotFound, Forbidden):  # the seat went meanwhile
                continue
            rooms.append(room_id)
        return rooms

    async def renew(self, connection: Connection, token: str) -> Principal:
        return await renew_access(self.auth, self._hub, connection, token)

    async def close(self, connection: Connection) -> None:
        """The connection is gone: its seats wait for the player to come back."""
        principal = connection.principal
        if principal is None:
            return
        rooms = list(connection.games)
        connection.games.clear()
        await self._hub.detach(connection)
        for room_id in rooms:
            await self.games.disconnected(principal, room_id)

    async def create_room(self, connection: Connection, data: dict[str, Any]) -> RoomPublic:
        return await self._create(connection, CreateRoom.model_validate(data))

    async def _create(self, connection: Connection, command: CreateRoom) -> RoomPublic:
        principal = principal_of(connection)
        room_id = uuid7().hex
        snapshot = await self._enter(
            connection,
            room_id,
            lambda: self.games.create_room(principal, command, room_id=room_id),
        )
        return snapshot.room.public()

    async def join_room(self, connection: Connection, data: dict[str, Any]) -> RoomPublic:
        room_id = RoomRef.model_validate(data).room_id
        principal = principal_of(connection)
        if room_id in connection.games:
            return (await self.games.snapshot(room_id)).room.public()
        snapshot = await self._enter(
            connection, room_id, lambda: self.games.join_by_name(principal, room_id, connection.id)
        )
        return snapshot.room.public()

    async def quick_match(self, connection: Connection, data: dict[str, Any]) -> RoomPublic:
        """A seat in the oldest open room of the game, or a new room."""
        command = QuickMatch.model_validate(data)
        principal = principal_of(connection)
        for room in await self.games.match_candidates(principal, command.game):
            try:
                snapshot = await self._enter(
                    connection, room.id, partial(self.games.join, principal, room.id, connection.id)
                )
            except (Conflict, NotFound):  # filled or gone since the listing: the next one
                continue
            return snapshot.room.public()
        create = CreateRoom(name=command.name, capacity=command.capacity, game=command.game)
        return await self._create(connection, create)

    async def leave_room(self, connection: Connection, data: dict[str, Any]) -> RoomLeft:
        room_id = RoomRef.model_validate(data).room_id
        room = await self.games.leave(principal_of(connection), room_id, connection.id)
        self._forget(connection, room_id)
        return {"room_id": room_id, "left": True, "room": room.public() if room else None}

    async def list_rooms(self, connection: Connection, data: dict[str, Any]) -> RoomList:
        command = ListRooms.model_validate(data)
        rooms = await self.games.list_rooms(command.game)
        return {"rooms": [room.public() for room in rooms]}

    async def act(self, connection: Connection, data: dict[str, Any]) -> ActionTaken:
        action = PlayerAction.model_validate(data)
        room_id = action.room_id
        if room_id is None:
            if len(connection.games) != 1:
                raise ValidationFailed(
                    "Say which room: room_id (you are in "
                    f"{len(connection.games)} rooms on this connection).",
                    code="room_required",
                )
            room_id = next(iter(connection.games))
        return await self.games.act(principal_of(connection), room_id, action, connection.id)

    async def _enter(
        self,
        connection: Connection,
        room_id: str,
        take_seat: Callable[[], Awaitable[RoomSnapshot]],
    ) -> RoomSnapshot:
        channel = game_channel(room_id)
        connection.hold([channel])
        await self._hub.follow_channel(connection, channel)
        try:
            snapshot = await take_seat()
        except BaseException:
            connection.release(channel, [])
            if room_id not in connection.games:
                self._forget(connection, room_id)
            raise
        connection.games.add(room_id)
        state = OutboundEvent(room_event(room_id, "game.state", dict(snapshot.public())))
        connection.release(channel, [state])
        return snapshot

    def _forget(self, connection: Connection, room_id: str) -> None:
        channel = game_channel(room_id)
        connection.games.discard(room_id)
        connection.floor.pop(channel, None)
        self._hub.unfollow_channel(connection, channel)


GameCommand = Callable[[GameLive, Connection, dict[str, Any]], Awaitable[Mapping[str, Any]]]

GAME_COMMANDS: dict[str, tuple[GameCommand, str | None]] = {
    "create_room": (GameLive.create_room, "room_created"),
    "join_room": (GameLive.join_room, "room_joined"),
    "join": (GameLive.join_room, "room_joined"),
    "quick_match": (GameLive.quick_match, "room_joined"),
    "leave_room": (GameLive.leave_room, "room_left"),
    "leave": (GameLive.leave_room, "room_left"),
    "list_rooms": (GameLive.list_rooms, "rooms"),
    "player_action": (GameLive.act, None),
}
"""The game commands both transports take: name -> (what runs, the event or frame that
answers a client that asked for no acknowledgement; None: only errors are answered)."""
