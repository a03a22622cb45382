"""Game rooms over plain WebSocket, at `/ws/gameplay` (and `/api/ws/gameplay`).

The `/gameplay` Socket.IO namespace's commands as JSON frames, signed in the same way as `/ws`:
`{type: "create_room" | "join_room" | "leave_room" | "list_rooms" | "quick_match" |
"player_action" | "ping", id?, data}`. A frame with an `id` gets `{type: "ack", id, data}` or
`{type: "error", id, code, message}`; one without gets `room_created`, `room_joined`,
`room_left` or `rooms` (and nothing for a successful action). Server frames carry the
namespace's event names as `type`: `room_state`, `player_joined`, `player_action`, …
"""

from __future__ import annotations

from typing import Any

from starlette.websockets import WebSocket

from parley.domain.accounts.principal import Principal
from parley.realtime.gameplay.live import GAME_COMMANDS, GameCommand, GameLive
from parley.realtime.transports.websocket import (
    Handler,
    Reply,
    SignIn,
    WebSocketSession,
    ping,
    renew,
)
from parley.wirejson import JsonPolicy


class GameplayWebSocketSession(WebSocketSession):
    overlapping_kinds = frozenset()  # game commands run one at a time

    def __init__(
        self,
        websocket: WebSocket,
        signin: SignIn,
        games: GameLive,
        *,
        outbox_limit: int,
        outbox_limit_bytes: int,
        auth_timeout_secs: float,
        max_frame_bytes: int,
        json_policy: JsonPolicy,
    ) -> None:
        super().__init__(
            websocket,
            signin,
            outbox_limit=outbox_limit,
            outbox_limit_bytes=outbox_limit_bytes,
            auth_timeout_secs=auth_timeout_secs,
            max_frame_bytes=max_frame_bytes,
            json_policy=json_policy,
        )
        self.games = games

    async def opened(self, principal: Principal, since: dict[str, int]) -> None:
        rooms = await self.games.open(self.connection, principal)
        self.authenticated(principal, rooms=rooms)

    async def closed(self) -> None:
        await self.games.close(self.connection)


def _answered(run: GameCommand, reply: str | None) -> Handler:
    async def handler(
        session: GameplayWebSocketSession, data: dict[str, Any], seed: bool
    ) -> tuple[Any, Reply]:
        result = await run(session.games, session.connection, data)
        return result, [(reply, result)] if reply is not None else []

    return handler


HANDLERS: dict[str, Handler] = {
    **{name: _answered(run, reply) for name, (run, reply) in GAME_COMMANDS.items()},
    "ping": ping,
    "heartbeat": ping,
    "auth": renew,
    "authenticate": renew,
}
GameplayWebSocketSession.handlers = HANDLERS
