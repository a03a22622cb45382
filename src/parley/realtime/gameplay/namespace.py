"""The `/gameplay` Socket.IO namespace: game rooms and player actions (the GOSOCKET seed's).

Client events, each answered through its acknowledgement: `create_room {name, capacity, game,
settings}`, `join_room {room_id}`, `leave_room {room_id}`, `list_rooms {game?}`, `quick_match
{game?, capacity?}`, `player_action {room_id?, action_type, coordinates, timestamp,
game_state, ...}`, `heartbeat`. Without an acknowledgement the answer comes as an event:
`room_created`, `room_joined` (join and quick match), `room_left`, `rooms`, `heartbeat`;
a relayed action has no answer but its errors.

Server events: `room_state` (the snapshot, first on joining and on reconnecting),
`player_joined`, `player_left`, `player_disconnected`, `player_reconnected`, `player_action`
(from the others, with `room_id`, `player_id`, `sender`, `server_timestamp`, `seq`),
`game_over {result, winner}`, `authenticated {user_id, rooms}`, `error`.
Sign-in and errors: see `transports.socketio` (a sign-in on `/` over the same Engine.IO
connection counts here too). A `player_action` on a socket not signed in signs it in with
its `session_token`, the GOSOCKET seed's credential (from `login`, once `verify_otp` passed).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from typing_extensions import TypedDict

from parley.clock import now_iso
from parley.domain.accounts.otp import OtpService
from parley.domain.accounts.principal import Principal
from parley.domain.accounts.schemas import Lenient
from parley.errors import Unauthenticated
from parley.realtime.gameplay.live import GAME_COMMANDS, GameCommand, GameLive
from parley.realtime.transports.socketio import AuthenticatedNamespace, Handler, SocketIOConnection


class GameGreeting(TypedDict):
    """`authenticated` on `/gameplay`, and the answer to a sign-in with `authenticate`."""

    user_id: str
    username: str | None
    socket_id: str
    rooms: list[str]
    """The rooms the player is seated in (each has had its `room_state`)."""


class Alive(TypedDict):
    """The answer to `heartbeat` (without an acknowledgement: the `heartbeat` event)."""

    status: Literal["alive"]
    timestamp: str
    socket_id: str


class GameplayNamespace(AuthenticatedNamespace):
    name = "/gameplay"
    pre_auth_events = frozenset({"authenticate", "heartbeat", "player_action"})

    def __init__(self, games: GameLive, otp: OtpService, *, auth_timeout_secs: float) -> None:
        super().__init__(games.auth, games.stats, auth_timeout_secs=auth_timeout_secs)
        self.games = games
        self.otp = otp
        self.events = EVENTS

    async def signed_in(self, socket: SocketIOConnection, since: Any) -> GameGreeting:
        principal = socket.principal
        assert principal is not None
        rooms = await self.games.open(socket, principal)
        greeting: GameGreeting = {
            "user_id": str(principal.user_id),
            "username": principal.username,
            "socket_id": socket.id,
            "rooms": rooms,
        }
        socket.emit("authenticated", greeting)
        return greeting

    async def signed_out(self, socket: SocketIOConnection) -> None:
        await self.games.close(socket)

    async def renew(self, socket: SocketIOConnection, token: str) -> Principal:
        return await self.games.renew(socket, token)


def _answered(run: GameCommand, reply: str | None) -> Handler:
    """A command answered through its ack, or else (for the seed's clients) as `reply`."""

    async def handler(
        namespace: GameplayNamespace, socket: SocketIOConnection, data: dict[str, Any], ack: bool
    ) -> Any:
        result = await run(namespace.games, socket, data)
        if not ack and reply is not None:
            socket.emit(reply, result)
        return result

    return handler


class SessionToken(Lenient):
    session_token: str = Field(min_length=1, max_length=512)


def _signing_in(handler: Handler) -> Handler:
    """`player_action` before any sign-in: its `session_token` is the credential."""

    async def signing_in(
        namespace: GameplayNamespace, socket: SocketIOConnection, data: dict[str, Any], ack: bool
    ) -> Any:
        if socket.principal is None:
            if not data.get("session_token"):
                raise Unauthenticated(
                    "Authenticate first: emit 'authenticate' {token}, or send the "
                    "session_token of a verified phone sign-in.",
                    code="not_authenticated",
                )
            token = SessionToken.model_validate(data).session_token
            await namespace.sign_in(socket, await namespace.otp.principal_for(token))
        return await handler(namespace, socket, data, ack)

    return signing_in


async def _heartbeat(
    namespace: GameplayNamespace, socket: SocketIOConnection, data: dict[str, Any], ack: bool
) -> Any:
    answer: Alive = {
        "status": "alive",
        "timestamp": now_iso(),
        "socket_id": socket.id,
    }
    if not ack:
        socket.emit("heartbeat", answer)
    return answer


EVENTS: dict[str, Handler] = {
    **{name: _answered(run, reply) for name, (run, reply) in GAME_COMMANDS.items()},
    "player_action": _signing_in(_answered(*GAME_COMMANDS["player_action"])),
    "authenticate": GameplayNamespace.authenticate,
    "heartbeat": _heartbeat,
}
