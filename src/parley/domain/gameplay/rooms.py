"""A game room as the store keeps it: who sits where, the shared state, the event sequence.

Every event of a room carries the room's next `seq`, so a client orders what it hears and a
snapshot (`seq` included) tells it which later events are new.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from typing_extensions import TypedDict


class RoomStatus(StrEnum):
    OPEN = "open"
    """Anyone may join while there is a free seat."""
    PLAYING = "playing"
    """An authoritative game has started; the seats are taken."""
    FINISHED = "finished"
    """The game ended; the room stays for its players to read the result."""


class SeatPublic(TypedDict):
    """A seat as clients see it."""

    player_id: str
    user_id: str
    username: str | None
    name: str
    joined_at: str
    connected: bool
    """Whether the player has a live connection in the room now."""


class RoomPublic(TypedDict):
    """A room as clients see it (every command's answer, the snapshot's `room`)."""

    room_id: str
    id: str
    name: str
    game: str
    capacity: int
    settings: dict[str, Any]
    owner_id: str
    status: RoomStatus
    players: list[SeatPublic]
    player_count: int
    created_at: str


class RoomSnapshotPublic(TypedDict):
    """`game.state` (`room_state`): everything a player needs on (re)joining."""

    room_id: str
    room: RoomPublic
    seq: int
    """The seq of the room's last event: later events have higher ones."""
    shared_state: dict[str, Any]
    player_states: dict[str, Any]
    """The last state each player sent, by player id."""


class Seat(BaseModel):
    model_config = ConfigDict(extra="ignore")

    player_id: str
    """The player's user id."""
    username: str | None
    name: str
    joined_at: str
    connections: int = 0
    """Live `/gameplay` connections of this player in the room, across instances."""

    def public(self) -> SeatPublic:
        return {
            "player_id": self.player_id,
            "user_id": self.player_id,
            "username": self.username,
            "name": self.name,
            "joined_at": self.joined_at,
            "connected": self.connections > 0,
        }


class Room(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: str
    name: str
    game: str
    capacity: int
    settings: dict[str, Any]
    owner_id: str
    status: RoomStatus
    players: list[Seat]
    created_at: str

    @property
    def is_open(self) -> bool:
        return self.status is RoomStatus.OPEN and len(self.players) < self.capacity

    def seat_of(self, player_id: str) -> Seat | None:
        return next((s for s in self.players if s.player_id == player_id), None)

    def player_ids(self) -> list[str]:
        return [s.player_id for s in self.players]

    def public(self) -> RoomPublic:
        return {
            "room_id": self.id,
            "id": self.id,
            "name": self.name,
            "game": self.game,
            "capacity": self.capacity,
            "settings": self.settings,
            "owner_id": self.owner_id,
            "status": self.status,
            "players": [s.public() for s in self.players],
            "player_count": len(self.players),
            "created_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class RoomSnapshot:
    """Everything a player needs to (re)join a room: the latest state per player, the shared
    state, and the seq of the last event they are now up to date with."""

    room: Room
    seq: int
    shared: dict[str, Any] = field(default_factory=dict)
    player_states: dict[str, Any] = field(default_factory=dict)

    def public(self) -> RoomSnapshotPublic:
        return {
            "room_id": self.room.id,
            "room": self.room.public(),
            "seq": self.seq,
            "shared_state": self.shared,
            "player_states": self.player_states,
        }
