"""The GOSOCKET seed's (000) `/gameplay` event names for game-room events."""

from __future__ import annotations

EVENT_NAMES = {
    "game.state": "room_state",
    "game.action": "player_action",
    "game.player_joined": "player_joined",
    "game.player_left": "player_left",
    "game.player_disconnected": "player_disconnected",
    "game.player_reconnected": "player_reconnected",
    "game.over": "game_over",
}
