"""The GOSOCKET seed's (000) `/gameplay` event names for game-room events."""

from __future__ import annotations

from parley.domain.events import Shape
from parley.domain.gameplay.rooms import RoomSnapshotPublic
from parley.domain.gameplay.schemas import GameEnded, PlayerActed, PlayerConnection, PlayersChanged

EVENTS: dict[str, tuple[str, Shape]] = {
    "game.state": ("room_state", RoomSnapshotPublic),
    "game.action": ("player_action", PlayerActed),
    "game.player_joined": ("player_joined", PlayersChanged),
    "game.player_left": ("player_left", PlayersChanged),
    "game.player_disconnected": ("player_disconnected", PlayerConnection),
    "game.player_reconnected": ("player_reconnected", PlayerConnection),
    "game.over": ("game_over", GameEnded),
}
"""Domain event → (event name, the shape of its data)."""
EVENT_NAMES = {domain: name for domain, (name, _) in EVENTS.items()}
