"""The gameplay commands, as both socket transports receive them, and the events and answers
they give."""

from __future__ import annotations

from typing import Annotated, Any, NotRequired

from pydantic import AliasChoices, ConfigDict, Field, StringConstraints
from typing_extensions import TypedDict

from parley.domain.accounts.schemas import Lenient
from parley.domain.gameplay.rooms import RoomPublic, SeatPublic

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


# -- what the room hears (`room_event`: every event carries `room_id` and the room's `seq`) ------


class ActionSender(TypedDict):
    user_id: str
    username: str | None
    name: str


class PlayerActed(TypedDict):
    """`game.action` (`player_action`): a player's move or state, relayed in order."""

    room_id: str
    seq: int
    player_id: str
    sender: ActionSender
    action_type: str
    coordinates: dict[str, Any] | None
    game_state: dict[str, Any] | None
    timestamp: str | int | float | None
    """The client's own, passed on as sent."""
    server_timestamp: str
    server_time_ms: int
    cell: NotRequired[int]
    data: NotRequired[dict[str, Any]]
    shared_state: NotRequired[dict[str, Any]]
    """Sent along by the player, or (an authoritative game) the game's state after the move."""


class PlayersChanged(TypedDict):
    """`game.player_joined` / `game.player_left`: who sits in the room now."""

    room_id: str
    seq: int
    player_id: str
    players: list[SeatPublic]
    room: RoomPublic
    shared_state: dict[str, Any]
    player: NotRequired[SeatPublic]
    """Who joined."""
    reason: NotRequired[str]
    """Why they left: `left`, or `disconnected` once their seat's grace ran out."""


class PlayerConnection(TypedDict):
    """`game.player_disconnected` / `game.player_reconnected`: the seat is kept meanwhile."""

    room_id: str
    seq: int
    player_id: str


class GameEnded(TypedDict):
    """`game.over`, with the game's own details beside (tic-tac-toe: `mark` and `line`, or the
    `board` of a forfeit)."""

    __pydantic_config__ = ConfigDict(extra="allow")  # type: ignore[misc]
    room_id: str
    seq: int
    result: str
    """`win`, `draw`, or `forfeit` (the others left)."""
    winner: str | None
    shared_state: dict[str, Any]


class ActionTaken(TypedDict):
    """The answer to `player_action`."""

    room_id: str
    seq: int
    server_timestamp: str
    shared_state: NotRequired[dict[str, Any]]
    """An authoritative game's state after the move."""
    game_over: NotRequired[GameEnded | None]
    """An authoritative game: how it ended, when this move ended it."""
