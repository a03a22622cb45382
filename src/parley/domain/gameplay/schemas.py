"""The gameplay commands, as both socket transports receive them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, Field, StringConstraints

from parley.domain.accounts.schemas import Lenient

RoomId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
GameName = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=32)]
MAX_CAPACITY = 100


class CreateRoom(Lenient):
    name: str = Field("", max_length=100)
    capacity: int = Field(
        8, ge=1, le=MAX_CAPACITY, validation_alias=AliasChoices("capacity", "max_players")
    )
    game: GameName = "relay"
    settings: dict[str, Any] = Field(default_factory=dict)


class RoomRef(Lenient):
    room_id: RoomId = Field(validation_alias=AliasChoices("room_id", "roomId", "id"))


class ListRooms(Lenient):
    game: GameName | None = None


class QuickMatch(Lenient):
    game: GameName = "relay"
    capacity: int = Field(
        8, ge=1, le=MAX_CAPACITY, validation_alias=AliasChoices("capacity", "max_players")
    )
    name: str = Field("", max_length=100)


class PlayerAction(Lenient):
    """The GOSOCKET seed's `player_action`. `room_id` may be left out by a player who sits in
    one room only. `player_id` and `session_token` are accepted and ignored: the player is
    whoever the connection signed in as, and a token is never passed on."""

    room_id: RoomId | None = Field(None, validation_alias=AliasChoices("room_id", "roomId"))
    action_type: str = Field(
        min_length=1, max_length=64, validation_alias=AliasChoices("action_type", "type", "action")
    )
    coordinates: dict[str, Any] | None = None
    timestamp: str | int | float | None = None
    game_state: dict[str, Any] | None = None
    shared_state: dict[str, Any] | None = Field(None, max_length=64)
    cell: int | None = None
    data: dict[str, Any] | None = None
