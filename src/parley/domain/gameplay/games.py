"""The game interface, the relay (the default "game") and tic-tac-toe.

A game sees the shared state of a room and decides what a change of players or an action does
to it. An authoritative game checks every action on the server (an illegal one is refused and
never reaches the other players) and says when the game is over; the relay checks nothing and
passes each action on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

from parley.errors import Conflict, ValidationFailed


class IllegalAction(Conflict):
    code = "illegal_move"
    default_message = "That move is not allowed now."


@dataclass(frozen=True, slots=True)
class GameOver:
    result: str
    """`win`, `draw`, or `forfeit` (the others left)."""
    winner: str | None
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Outcome:
    shared: dict[str, Any]
    started: bool = False
    over: GameOver | None = None


@dataclass(frozen=True, slots=True)
class Move:
    """What a game needs of a player action."""

    player_id: str
    action_type: str
    coordinates: dict[str, Any] | None
    data: dict[str, Any]


class Game(ABC):
    name: ClassVar[str]
    authoritative: ClassVar[bool] = True
    seats: ClassVar[int | None] = None
    """A fixed number of players, or None for any capacity."""

    @abstractmethod
    def initial_state(self, settings: dict[str, Any]) -> dict[str, Any]: ...

    @abstractmethod
    def seated(self, shared: dict[str, Any], players: list[str]) -> Outcome:
        """The players changed (someone joined or left): the new shared state."""

    @abstractmethod
    def act(self, shared: dict[str, Any], move: Move) -> Outcome:
        """Apply a move, or raise IllegalAction."""


class Relay(Game):
    """Passes every action on; the room keeps each player's latest state and a shared state
    that actions may update key by key (`shared_state`)."""

    name = "relay"
    authoritative = False

    def initial_state(self, settings: dict[str, Any]) -> dict[str, Any]:
        initial = settings.get("shared_state")
        return dict(initial) if isinstance(initial, dict) else {}

    def seated(self, shared: dict[str, Any], players: list[str]) -> Outcome:
        return Outcome(shared)

    def act(self, shared: dict[str, Any], move: Move) -> Outcome:
        patch = move.data.get("shared_state")
        return Outcome({**shared, **patch} if isinstance(patch, dict) else shared)


LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]


class TicTacToe(Game):
    """Two players; the first seated plays X and starts. A move is `coordinates {x, y}`
    (column and row, 0-2) or `cell` 0-8 in the action's data."""

    name = "tictactoe"
    seats = 2

    def initial_state(self, settings: dict[str, Any]) -> dict[str, Any]:
        return {"board": [""] * 9, "marks": {}, "turn": None, "status": "waiting", "moves": 0}

    def seated(self, shared: dict[str, Any], players: list[str]) -> Outcome:
        status = shared["status"]
        if status == "waiting" and len(players) == 2:
            marks = {players[0]: "X", players[1]: "O"}
            return Outcome(
                {**shared, "marks": marks, "turn": players[0], "status": "playing"}, True
            )
        if status == "playing" and len(players) < 2:
            winner = players[0] if players else None
            over = GameOver("forfeit", winner, {"board": shared["board"]})
            return Outcome({**shared, "status": "finished", "turn": None}, over=over)
        return Outcome(shared)

    def act(self, shared: dict[str, Any], move: Move) -> Outcome:
        if shared["status"] != "playing":
            raise IllegalAction("The game is not in progress.", code="game_not_in_progress")
        if move.action_type not in ("move", "place", "mark"):
            raise IllegalAction(f"Tic-tac-toe has no {move.action_type!r} action; send 'move'.")
        if shared["turn"] != move.player_id:
            raise IllegalAction("It is not your turn.", code="not_your_turn")
        cell = _cell(move)
        board = list(shared["board"])
        if board[cell]:
            raise IllegalAction("That cell is taken.", code="cell_taken")
        mark = shared["marks"][move.player_id]
        board[cell] = mark
        others = [p for p in shared["marks"] if p != move.player_id]
        state = {**shared, "board": board, "moves": shared["moves"] + 1, "last_cell": cell}
        line = next((line for line in LINES if all(board[i] == mark for i in line)), None)
        if line is not None:
            over = GameOver("win", move.player_id, {"mark": mark, "line": list(line)})
            return Outcome({**state, "status": "finished", "turn": None}, over=over)
        if all(board):
            over = GameOver("draw", None, {})
            return Outcome({**state, "status": "finished", "turn": None}, over=over)
        return Outcome({**state, "turn": others[0]})


def _cell(move: Move) -> int:
    cell = move.data.get("cell")
    if cell is None and move.coordinates is not None:
        x, y = move.coordinates.get("x"), move.coordinates.get("y")
        if isinstance(x, int) and isinstance(y, int) and 0 <= x < 3 and 0 <= y < 3:
            cell = y * 3 + x
    if not isinstance(cell, int) or isinstance(cell, bool) or not 0 <= cell < 9:
        raise ValidationFailed(
            "A move needs coordinates {x, y} in 0-2, or cell 0-8.", code="validation_error"
        )
    return cell


GAMES: dict[str, Game] = {game.name: game for game in (Relay(), TicTacToe())}
"""The games rooms can play, by name."""
