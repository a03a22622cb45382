"""Player actions: relayed in `seq` order, rate limited, and checked by an authoritative game."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.realtime.gameplay.conftest import PlayerFactory
from tests.support.sio import SioClient

SEED_ACTION = {
    "action_type": "move",
    "player_id": "player123",
    "session_token": "session_token_here",
    "coordinates": {"x": 100, "y": 200},
    "timestamp": "2024-01-15T10:30:00Z",
    "game_state": {"level": 1, "score": 1000, "health": 100},
}


async def test_the_seed_action_reaches_the_others_with_sender_time_and_seq(
    seated_pair: Any,
) -> None:
    alice, _, a, b, room_id = await seated_pair()

    await a.emit("player_action", SEED_ACTION)  # no room_id: alice sits in one room only
    heard = await b.expect("player_action")
    assert heard["room_id"] == room_id
    assert heard["player_id"] == alice.id  # who signed in, not what the client claimed
    assert heard["sender"] == {
        "user_id": alice.id,
        "username": alice.username,
        "name": alice.username,
    }
    assert heard["seq"] == 2
    assert heard["coordinates"] == {"x": 100, "y": 200}
    assert heard["game_state"] == {"level": 1, "score": 1000, "health": 100}
    assert heard["timestamp"] == "2024-01-15T10:30:00Z"
    assert heard["server_timestamp"].endswith("Z")
    assert isinstance(heard["server_time_ms"], int)
    assert "session_token" not in heard
    # The sender is not echoed: the next action alice hears is bob's, sent after hers (a
    # room's actions arrive in order, on any instance).
    answer = await b.call("player_action", {"room_id": room_id, "action_type": "move"})
    assert "error" not in answer, answer
    assert (await a.expect("player_action"))["seq"] == answer["seq"]


async def test_actions_of_several_players_arrive_in_seq_order(
    accounts: Any, player: PlayerFactory
) -> None:
    alice, bob, watcher = accounts(3)
    a, b = await player(alice, 0), await player(bob, 1)
    w: SioClient = await player(watcher, 0)
    room_id = (await a.call("create_room", {}))["room_id"]
    await b.call("join_room", {"room_id": room_id})
    await w.call("join_room", {"room_id": room_id})
    joined_at = (await w.expect("room_state"))["seq"]

    per_player = 15  # under the burst of GAME_ACTIONS_PER_SEC=20
    acks = await asyncio.gather(
        *[
            c.call("player_action", {"room_id": room_id, "action_type": "step", "data": {"n": i}})
            for i in range(per_player)
            for c in (a, b)
        ]
    )
    seqs = sorted(ack["seq"] for ack in acks)
    assert seqs == list(range(joined_at + 1, joined_at + 1 + 2 * per_player))

    heard = [await w.expect("player_action") for _ in range(2 * per_player)]
    assert [h["seq"] for h in heard] == seqs  # every action once, in order
    for sender in (alice.id, bob.id):  # and each player's own actions in the order sent
        assert [h["data"]["n"] for h in heard if h["player_id"] == sender] == list(
            range(per_player)
        )


async def test_excess_actions_are_dropped_and_the_player_is_told(seated_pair: Any) -> None:
    _, _, a, b, room_id = await seated_pair()

    answers = await asyncio.gather(
        *[a.call("player_action", {"room_id": room_id, "action_type": "spam"}) for _ in range(40)]
    )
    accepted = [x for x in answers if "error" not in x]
    dropped = [x["error"] for x in answers if "error" in x]
    assert 20 <= len(accepted) < 40  # GAME_ACTIONS_PER_SEC=20 in these tests
    assert dropped
    assert {d["code"] for d in dropped} == {"rate_limited"}
    assert all(d["details"]["retry_after_ms"] > 0 for d in dropped)

    heard = [await b.expect("player_action") for _ in accepted]
    assert sorted(h["seq"] for h in heard) == sorted(x["seq"] for x in accepted)
    # Without an ack the player hears it as an error event.
    for _ in range(25):
        await a.emit("player_action", {"room_id": room_id, "action_type": "spam"})
    told = await a.expect("error")
    assert (told["code"], told["event"]) == ("rate_limited", "player_action")


async def test_bad_actions_get_clear_errors_and_the_connection_lives(
    accounts: Any, player: PlayerFactory
) -> None:
    (alice,) = accounts(1)
    a = await player(alice, 0)
    first = await a.call("create_room", {})
    await a.call("create_room", {})
    ambiguous = await a.call("player_action", {"action_type": "move"})
    assert ambiguous["error"]["code"] == "room_required"
    missing = await a.call("player_action", {"room_id": first["room_id"]})
    assert missing["error"]["code"] == "validation_error"
    assert "action_type" in missing["error"]["message"]
    fine = await a.call("player_action", {"room_id": first["room_id"], "action_type": "move"})
    assert fine["seq"] == 1


def metric(text: str, name: str) -> float:
    line = next(ln for ln in text.splitlines() if ln.startswith(name + " "))
    return float(line.split()[1])


async def test_metrics_count_relayed_and_dropped_actions(seated_pair: Any, deployment: Any) -> None:
    _, _, a, _, room_id = await seated_pair()
    async with httpx.AsyncClient(base_url=deployment.servers[0].base_url) as api:
        before = (await api.get("/metrics")).text
        relayed = metric(before, "parley_game_actions_relayed_total")
        dropped = metric(before, "parley_game_actions_dropped_total")
        answers = await asyncio.gather(
            *[a.call("player_action", {"room_id": room_id, "action_type": "x"}) for _ in range(30)]
        )
        after = (await api.get("/metrics")).text
    refused = sum("error" in x for x in answers)
    assert metric(after, "parley_game_actions_relayed_total") == relayed + 30 - refused
    assert metric(after, "parley_game_actions_dropped_total") == dropped + refused
    assert metric(after, "parley_socketio_sessions") >= 1
    assert metric(after, "parley_broker_channels") >= 1
