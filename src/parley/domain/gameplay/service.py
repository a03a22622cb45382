"""Game rooms and player actions: the gameplay use cases, whatever transport asks.

A player's seat survives a dropped connection: the room hears `player_disconnected`, and the
seat is kept for `GAME_SEAT_GRACE_SECS` so a reconnect (on any instance) resumes the game with
a snapshot. After that the player leaves the room (`player_left`, reason `disconnected`).

Why one module: a room's life (create, join, the seat grace, actions, leave) is one state
machine whose steps share the same store calls and ordering.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, cast

import structlog

from parley.clock import iso_z
from parley.domain.accounts.principal import Principal
from parley.domain.creation import CreationLimit
from parley.domain.events import Audience, Event, game_channel
from parley.domain.gameplay import bounds
from parley.domain.gameplay.games import GAMES, Game, GameOver, Move
from parley.domain.gameplay.rooms import Room, RoomSnapshot, RoomStatus, Seat
from parley.domain.gameplay.schemas import ActionTaken, CreateRoom, GameEnded, PlayerAction
from parley.domain.gameplay.stamps import stamp
from parley.domain.ids import uuid7
from parley.domain.ports import GameStore, RoomChange
from parley.domain.rate_limit import TokenBuckets
from parley.errors import Conflict, Forbidden, NotFound, RateLimited, ValidationFailed

log = structlog.get_logger(__name__)

ROOMS_LISTED = 50
GAME_CACHE_SIZE = 10_000


class Unchanged(Exception):
    """Raised by a decision that finds nothing to change."""


def _now() -> datetime:
    return datetime.now(UTC)


def room_event(room_id: str, name: str, data: dict[str, Any], origin: str | None = None) -> Event:
    return Event(
        game_channel(room_id), name, {"room_id": room_id, **data}, Audience.MEMBERS, origin
    )


SERVER_ROOM_ID = re.compile(r"[0-9a-f]{32}")
"""The form of the ids `create_room` gives (uuid7, hex)."""


class GameplayService:
    def __init__(
        self,
        store: GameStore,
        *,
        actions_per_sec: float,
        seat_grace_secs: float,
        max_settings_bytes: int = 8192,
        max_state_bytes: int = 65_536,
        creations: CreationLimit | None = None,
    ) -> None:
        self._store = store
        self._creations = creations or CreationLimit()
        self._max_settings_bytes = max_settings_bytes
        self._max_state_bytes = max_state_bytes
        self._limits = TokenBuckets(rate=actions_per_sec)
        self._grace_secs = seat_grace_secs
        self._game_of: dict[str, Game] = {}
        self._player_ids: dict[uuid.UUID, str] = {}
        """Players' ids as text (formatting a uuid is ~1 µs of each action)."""
        self._grace: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.actions_relayed = 0
        self.actions_dropped = 0
        """Counted for the metrics endpoint."""

    # -- rooms ------------------------------------------------------------------------------------

    async def create_room(
        self,
        player: Principal,
        command: CreateRoom,
        *,
        room_id: str | None = None,
        if_absent: bool = False,
    ) -> RoomSnapshot:
        """A new room with its creator seated. A connection that must hear the room from its
        first event chooses the id (and follows it) beforehand."""
        game = _game(command.game)
        await self._creations.take(player, "game rooms")
        # Everything is checked before the room exists: a refused room leaves nothing behind.
        settings = bounds.encoded(command.settings, "room's settings")
        bounds.require_size(
            len(settings), self._max_settings_bytes, "room's settings", "settings_too_large"
        )
        now = iso_z(_now())
        room_id = room_id or uuid7().hex
        room = Room(
            id=room_id,
            name=command.name.strip() or f"{game.name} room",
            game=game.name,
            capacity=game.seats or command.capacity,
            settings=command.settings,
            owner_id=str(player.user_id),
            status=RoomStatus.OPEN,
            players=[_seat(player, now, connections=1)],
            created_at=now,
        )
        outcome = game.seated(game.initial_state(command.settings), room.player_ids())
        bounds.require_size(
            bounds.shared_bytes(outcome.shared),
            self._max_state_bytes,
            "room's shared state",
            "state_too_large",
        )
        snapshot = RoomSnapshot(room, 0, outcome.shared, {})
        if not await self._store.create(snapshot, if_absent=if_absent):
            raise Conflict("A room with that id exists.", code="room_exists")
        self._game_of[room_id] = game
        return snapshot

    async def join_by_name(
        self, player: Principal, room_id: str, origin: str | None
    ) -> RoomSnapshot:
        """`join`, opening the room when none has that id: players name rooms (`lobby`) as
        chat clients name open rooms; a room opened so is a relay room of that name. An id of
        the server's own form (32 hex digits, as `create_room` makes) is never opened so: it
        names a room that is gone, or was never made (`room_not_found`)."""
        for _ in range(2):  # opened by another player meanwhile: join theirs
            try:
                return await self.join(player, room_id, origin)
            except NotFound:
                if SERVER_ROOM_ID.fullmatch(room_id):
                    raise
            try:
                return await self.create_room(
                    player, CreateRoom(name=room_id), room_id=room_id, if_absent=True
                )
            except Conflict as exc:
                if exc.code != "room_exists":
                    raise
        return await self.join(player, room_id, origin)

    async def join(self, player: Principal, room_id: str, origin: str | None) -> RoomSnapshot:
        """Take a seat (or, already seated, come back with another connection)."""
        player_id = str(player.user_id)
        seen: list[RoomSnapshot] = []

        def decide(current: RoomSnapshot) -> RoomChange:
            seen[:] = [current]
            room = current.room
            if room.seat_of(player_id) is not None:
                return _back(current, player_id, origin)
            if len(room.players) >= room.capacity:
                raise Conflict("The room is full.", code="room_full")
            if room.status is not RoomStatus.OPEN:
                raise Conflict("The game in this room has started.", code="room_closed")
            seat = _seat(player, iso_z(_now()), connections=1)
            return _seated(current, [*room.players, seat], "game.player_joined", origin, seat=seat)

        change = await self._store.update(room_id, decide)
        self._cancel_grace(room_id, player_id)
        return _after(seen[0], change)

    async def leave(self, player: Principal, room_id: str, origin: str | None) -> Room | None:
        """Give up the seat; the room goes when its last player leaves."""
        player_id = str(player.user_id)

        def decide(current: RoomSnapshot) -> RoomChange:
            if current.room.seat_of(player_id) is None:
                raise Forbidden("You are not in that room.", code="not_in_room")
            return _without(current, player_id, "left", origin)

        change = await self._store.update(room_id, decide)
        self._cancel_grace(room_id, player_id)
        return change.room

    async def list_rooms(self, game: str | None) -> list[Room]:
        if game is not None:
            _game(game)
        return await self._store.open_rooms(game, ROOMS_LISTED)

    async def match_candidates(self, player: Principal, game: str) -> list[Room]:
        """Open rooms of that game the player is not in, oldest first (for quick match)."""
        _game(game)
        player_id = str(player.user_id)
        rooms = await self._store.open_rooms(game, ROOMS_LISTED)
        return [room for room in rooms if room.seat_of(player_id) is None]

    async def snapshot(self, room_id: str) -> RoomSnapshot:
        snapshot = await self._store.load(room_id)
        if snapshot is None:
            raise NotFound("No such game room.", code="room_not_found")
        return snapshot

    async def rooms_of(self, player: Principal) -> list[str]:
        return await self._store.rooms_of(str(player.user_id))

    # -- connections coming and going -------------------------------------------------------------

    async def reconnected(self, player: Principal, room_id: str, origin: str) -> RoomSnapshot:
        """A new connection of a seated player: counted, and given the snapshot."""
        player_id = str(player.user_id)
        seen: list[RoomSnapshot] = []

        def decide(current: RoomSnapshot) -> RoomChange:
            seen[:] = [current]
            if current.room.seat_of(player_id) is None:
                raise Forbidden("You are not in that room.", code="not_in_room")
            return _back(current, player_id, origin)

        change = await self._store.update(room_id, decide)
        self._cancel_grace(room_id, player_id)
        return _after(seen[0], change)

    async def disconnected(self, player: Principal, room_id: str) -> None:
        """A connection of a seated player closed; the last one starts the grace period."""
        player_id = str(player.user_id)

        def decide(current: RoomSnapshot) -> RoomChange:
            seat = current.room.seat_of(player_id)
            if seat is None:
                raise Unchanged
            left = max(0, seat.connections - 1)
            room = _with_seat(current.room, seat.model_copy(update={"connections": left}))
            if left:
                return RoomChange(room, current.seq)
            seq = current.seq + 1
            event = room_event(
                room.id, "game.player_disconnected", {"seq": seq, "player_id": player_id}
            )
            return RoomChange(room, seq, events=[event])

        try:
            change = await self._store.update(room_id, decide)
        except (Unchanged, NotFound):
            return
        seat = change.room.seat_of(player_id) if change.room is not None else None
        if seat is not None and seat.connections == 0:
            loop = asyncio.get_running_loop()
            key = (room_id, player_id)
            self._cancel_grace(*key)
            self._grace[key] = loop.call_later(
                self._grace_secs, self._grace_over, room_id, player_id
            )

    def _grace_over(self, room_id: str, player_id: str) -> None:
        self._grace.pop((room_id, player_id), None)
        self._spawn(self._expire_seat(room_id, player_id))

    async def _expire_seat(self, room_id: str, player_id: str) -> None:
        def decide(current: RoomSnapshot) -> RoomChange:
            seat = current.room.seat_of(player_id)
            if seat is None or seat.connections > 0:  # left, or back (maybe elsewhere)
                raise Unchanged
            return _without(current, player_id, "disconnected", None)

        try:
            await self._store.update(room_id, decide)
        except (Unchanged, NotFound):
            return
        except Exception:
            log.exception("gameplay.seat_expiry_failed", room_id=room_id)

    def _cancel_grace(self, room_id: str, player_id: str) -> None:
        handle = self._grace.pop((room_id, player_id), None)
        if handle is not None:
            handle.cancel()

    # -- actions -----------------------------------------------------------------------------------

    async def act(
        self, player: Principal, room_id: str, action: PlayerAction, origin: str | None
    ) -> ActionTaken:
        """Pass an action on to the room (checked first by an authoritative game)."""
        player_id = self._player_id(player)
        wait = self._limits.take(player_id)
        if wait is not None:
            self.actions_dropped += 1
            raise RateLimited(
                "Too many actions: this one was dropped.",
                code="rate_limited",
                retry_after_ms=max(1, round(wait * 1000)),
            )
        game = await self._game(room_id)
        server_timestamp, server_time_ms = stamp()
        state: dict[str, Any] = {
            "action_type": action.action_type,
            "coordinates": action.coordinates,
            "game_state": action.game_state,
            "timestamp": action.timestamp,
            "server_timestamp": server_timestamp,
        }
        data: dict[str, Any] = {
            "player_id": player_id,
            "sender": {"user_id": player_id, "username": player.username, "name": player.name},
            **state,
            "server_time_ms": server_time_ms,
        }
        for extra in ("cell", "data", "shared_state"):
            if getattr(action, extra) is not None:
                data[extra] = getattr(action, extra)
        # What is passed on, and the player's state kept of it, must be storable and bounded
        # before anything changes.
        if not game.authoritative:
            event = room_event(room_id, "game.action", data, origin)
            sequenced = bounds.sequenced(event, "action", self._max_state_bytes)
            seq = await self._store.relay(
                room_id,
                player_id,
                state,
                action.shared_state,
                event,
                sequenced,
                max_shared_bytes=self._max_state_bytes,
            )
            self.actions_relayed += 1
            return {"room_id": room_id, "seq": seq, "server_timestamp": state["server_timestamp"]}
        bounds.require_size(
            bounds.action_bytes(data, "action"), self._max_state_bytes, "action", "state_too_large"
        )
        move = Move(player_id, action.action_type, action.coordinates, _move_data(action))

        def decide(current: RoomSnapshot) -> RoomChange:
            if current.room.seat_of(player_id) is None:
                raise Forbidden("Join the room first.", code="not_in_room")
            outcome = game.act(current.shared, move)
            seq = current.seq + 1
            events = [
                room_event(
                    room_id,
                    "game.action",
                    {**data, "seq": seq, "shared_state": outcome.shared},
                    origin,
                )
            ]
            room = current.room
            if outcome.over is not None:
                room = room.model_copy(update={"status": RoomStatus.FINISHED})
                seq += 1
                events.append(_game_over(room_id, seq, outcome.over, outcome.shared))
            return RoomChange(room, seq, outcome.shared, {player_id: state}, events)

        change = await self._store.update(room_id, decide)
        self.actions_relayed += 1
        return {
            "room_id": room_id,
            "seq": change.events[0].data["seq"],
            "server_timestamp": state["server_timestamp"],
            "shared_state": change.shared or {},
            "game_over": cast(GameEnded, change.events[1].data) if len(change.events) > 1 else None,
        }

    def _player_id(self, player: Principal) -> str:
        player_id = self._player_ids.get(player.user_id)
        if player_id is None:
            if len(self._player_ids) >= GAME_CACHE_SIZE:
                self._player_ids.clear()
            player_id = self._player_ids[player.user_id] = str(player.user_id)
        return player_id

    async def _game(self, room_id: str) -> Game:
        game = self._game_of.get(room_id)
        if game is None:
            game = GAMES[(await self.snapshot(room_id)).room.game]
            if len(self._game_of) >= GAME_CACHE_SIZE:
                self._game_of.clear()
            self._game_of[room_id] = game  # a room never changes its game
        return game

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        for handle in self._grace.values():
            handle.cancel()
        self._grace.clear()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


# -- decisions: pure functions of a snapshot ----------------------------------------------------


def _game(name: str) -> Game:
    game = GAMES.get(name)
    if game is None:
        known = ", ".join(sorted(GAMES))
        raise ValidationFailed(f"No game {name!r}; the games are: {known}.", code="unknown_game")
    return game


def _seat(player: Principal, now: str, connections: int = 0) -> Seat:
    return Seat(
        player_id=str(player.user_id),
        username=player.username,
        name=player.name,
        joined_at=now,
        connections=connections,
    )


def _with_seat(room: Room, seat: Seat) -> Room:
    players = [seat if s.player_id == seat.player_id else s for s in room.players]
    return room.model_copy(update={"players": players})


def _back(current: RoomSnapshot, player_id: str, origin: str | None) -> RoomChange:
    """One more connection of a seated player; the room hears when they were away."""
    seat = current.room.seat_of(player_id)
    assert seat is not None
    room = _with_seat(current.room, seat.model_copy(update={"connections": seat.connections + 1}))
    if seat.connections:
        return RoomChange(room, current.seq)
    seq = current.seq + 1
    event = room_event(
        room.id, "game.player_reconnected", {"seq": seq, "player_id": player_id}, origin
    )
    return RoomChange(room, seq, events=[event])


def _seated(
    current: RoomSnapshot,
    players: list[Seat],
    event_name: str,
    origin: str | None,
    *,
    seat: Seat | None = None,
    reason: str | None = None,
    player_id: str | None = None,
) -> RoomChange:
    """The players changed: the game updates its state, the room hears who came or went."""
    room = current.room
    game = GAMES[room.game]
    outcome = game.seated(current.shared, [s.player_id for s in players])
    status = room.status
    if outcome.started:
        status = RoomStatus.PLAYING
    if outcome.over is not None:
        status = RoomStatus.FINISHED
    owner = room.owner_id
    if players and all(s.player_id != owner for s in players):
        owner = players[0].player_id
    room = room.model_copy(update={"players": players, "status": status, "owner_id": owner})
    seq = current.seq + 1
    data: dict[str, Any] = {
        "seq": seq,
        "player_id": seat.player_id if seat is not None else player_id,
        "players": [s.public() for s in players],
        "room": room.public(),
        "shared_state": outcome.shared,
    }
    if seat is not None:
        data["player"] = seat.public()
    if reason is not None:
        data["reason"] = reason
    events = [room_event(room.id, event_name, data, origin)]
    if outcome.over is not None:
        seq += 1
        events.append(_game_over(room.id, seq, outcome.over, outcome.shared))
    return RoomChange(room, seq, outcome.shared, events=events)


def _without(current: RoomSnapshot, player_id: str, reason: str, origin: str | None) -> RoomChange:
    players = [s for s in current.room.players if s.player_id != player_id]
    if not players:
        return RoomChange(None, current.seq)
    return _seated(current, players, "game.player_left", origin, reason=reason, player_id=player_id)


def _after(before: RoomSnapshot, change: RoomChange) -> RoomSnapshot:
    assert change.room is not None
    seated = set(change.room.player_ids())
    states = {k: v for k, v in before.player_states.items() if k in seated}
    shared = before.shared if change.shared is None else change.shared
    return RoomSnapshot(change.room, change.seq, shared, states)


def _game_over(room_id: str, seq: int, over: GameOver, shared: dict[str, Any]) -> Event:
    data = {
        "seq": seq,
        "result": over.result,
        "winner": over.winner,
        **over.detail,
        "shared_state": shared,
    }
    return room_event(room_id, "game.over", data)


def _move_data(action: PlayerAction) -> dict[str, Any]:
    data = dict(action.data or {})
    if action.cell is not None:
        data["cell"] = action.cell
    if action.shared_state is not None:
        data["shared_state"] = action.shared_state
    return data
