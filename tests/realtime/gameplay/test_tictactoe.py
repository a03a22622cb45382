"""Tic-tac-toe: the server checks every move and ends the game with a result."""

from __future__ import annotations

from typing import Any

from tests.support.sio import SioClient


async def start_game(seated_pair: Any) -> tuple[Any, Any, SioClient, SioClient, str]:
    x_account, o_account, x, o, room_id = await seated_pair(game="tictactoe", capacity=9)
    started = await x.expect("player_joined")
    assert started["room"]["capacity"] == 2  # the game decides
    assert started["shared_state"]["status"] == "playing"
    assert started["shared_state"]["turn"] == x_account.id
    return x_account, o_account, x, o, room_id


def move(room_id: str, x: int, y: int) -> dict[str, Any]:
    return {"room_id": room_id, "action_type": "move", "coordinates": {"x": x, "y": y}}


async def test_a_full_game_with_illegal_moves_refused(seated_pair: Any) -> None:
    x_account, o_account, x, o, room_id = await start_game(seated_pair)

    out_of_turn = await o.call("player_action", move(room_id, 0, 0))
    assert out_of_turn["error"]["code"] == "not_your_turn"
    first = await x.call("player_action", move(room_id, 0, 0))
    assert first["shared_state"]["board"][0] == "X"
    seen = await o.expect("player_action")
    assert (seen["seq"], seen["player_id"]) == (first["seq"], x_account.id)
    assert seen["shared_state"]["turn"] == o_account.id

    taken = await o.call("player_action", move(room_id, 0, 0))
    assert taken["error"]["code"] == "cell_taken"
    off_board = await o.call("player_action", move(room_id, 3, 0))
    assert off_board["error"]["code"] == "validation_error"
    # Refused moves reach nobody: the next action X hears is O's legal one after them (a
    # room's actions arrive in order, on any instance).
    legal = await o.call("player_action", move(room_id, 0, 1))
    assert "error" not in legal, legal
    heard = await x.expect("player_action")
    assert (heard["seq"], heard["coordinates"]) == (legal["seq"], {"x": 0, "y": 1})

    # X: (0,0) (1,0) (2,0) wins the top row; O answers on the middle row.
    for mover, cell in ((x, (1, 0)), (o, (1, 1)), (x, (2, 0))):
        answer = await mover.call("player_action", move(room_id, *cell))
        assert "error" not in answer, answer
    over_x = await x.expect("game_over")
    over_o = await o.expect("game_over")
    assert over_x == over_o
    assert (over_x["result"], over_x["winner"], over_x["mark"]) == ("win", x_account.id, "X")
    assert over_x["line"] == [0, 1, 2]
    assert over_x["seq"] == answer["seq"] + 1
    assert answer["game_over"]["winner"] == x_account.id

    after = await o.call("player_action", move(room_id, 2, 2))
    assert after["error"]["code"] == "game_not_in_progress"
    state = await x.call("join_room", {"room_id": room_id})
    assert state["status"] == "finished"


async def test_a_draw(seated_pair: Any) -> None:
    _, _, x, o, room_id = await start_game(seated_pair)
    # X O X / X O O / O X X
    cells = [(0, 0), (1, 0), (2, 0), (1, 1), (0, 1), (2, 1), (1, 2), (0, 2), (2, 2)]
    for turn, cell in enumerate(cells):
        answer = await (x if turn % 2 == 0 else o).call("player_action", move(room_id, *cell))
        assert "error" not in answer, answer
    over = await o.expect("game_over")
    assert (over["result"], over["winner"]) == ("draw", None)
    assert over["shared_state"]["board"] == ["X", "O", "X", "X", "O", "O", "O", "X", "X"]


async def test_leaving_mid_game_forfeits(seated_pair: Any) -> None:
    x_account, o_account, x, o, room_id = await start_game(seated_pair)
    await x.call("player_action", move(room_id, 1, 1))
    await x.call("leave_room", {"room_id": room_id})
    over = await o.expect("game_over")
    assert (over["result"], over["winner"]) == ("forfeit", o_account.id)
    left = await o.expect("player_left")
    assert left["player_id"] == x_account.id
    assert left["seq"] + 1 == over["seq"]
