"""Game rooms through real clients: create, list, join, leave, quick match, snapshots."""

from __future__ import annotations

import uuid
from typing import Any

from tests.realtime.gameplay.conftest import PlayerFactory
from tests.support.sio import SioClient


def ids(players: list[dict[str, Any]]) -> list[str]:
    return [p["player_id"] for p in players]


async def test_create_list_join_and_leave(accounts: Any, player: PlayerFactory) -> None:
    alice, bob = accounts(2)
    a: SioClient = await player(alice, 0)
    b: SioClient = await player(bob, 1)
    name = f"arena-{uuid.uuid4().hex[:6]}"

    room = await a.call("create_room", {"name": name, "capacity": 3, "settings": {"map": "dust"}})
    assert (room["name"], room["capacity"], room["game"]) == (name, 3, "relay")
    assert ids(room["players"]) == [alice.id]
    created = await a.expect("room_state")
    assert (created["room_id"], created["seq"]) == (room["room_id"], 0)

    listed = await b.call("list_rooms", {})
    mine = next(r for r in listed["rooms"] if r["room_id"] == room["room_id"])
    assert ids(mine["players"]) == [alice.id]
    assert mine["settings"] == {"map": "dust"}

    joined = await b.call("join_room", {"room_id": room["room_id"]})
    assert ids(joined["players"]) == [alice.id, bob.id]
    state = await b.expect("room_state")
    assert ids(state["room"]["players"]) == [alice.id, bob.id]
    assert state["seq"] == 1
    arrived = await a.expect("player_joined")
    assert (arrived["room_id"], arrived["player_id"], arrived["seq"]) == (
        room["room_id"],
        bob.id,
        1,
    )
    assert arrived["player"]["username"] == bob.username

    left = await b.call("leave_room", {"room_id": room["room_id"]})
    assert left["left"] is True
    assert ids(left["room"]["players"]) == [alice.id]
    gone = await a.expect("player_left")
    assert (gone["player_id"], gone["reason"], gone["seq"]) == (bob.id, "left", 2)
    acted = await b.call("player_action", {"room_id": room["room_id"], "action_type": "move"})
    assert acted["error"]["code"] == "not_in_room"


async def test_full_room_and_unknown_room_are_refused(accounts: Any, player: PlayerFactory) -> None:
    alice, bob, carol = accounts(3)
    a, b, c = await player(alice, 0), await player(bob, 1), await player(carol, 0)
    room = await a.call("create_room", {"capacity": 2})
    await b.call("join_room", {"room_id": room["room_id"]})
    full = await c.call("join_room", {"room_id": room["room_id"]})
    assert full["error"]["code"] == "room_full"
    missing = await c.call("join_room", {"room_id": uuid.uuid4().hex})
    assert missing["error"]["code"] == "room_not_found"
    bad = await c.call("create_room", {"game": "chess"})
    assert bad["error"]["code"] == "unknown_game"
    assert "tictactoe" in bad["error"]["message"]
    invalid = await c.call("create_room", {"capacity": 0})
    assert invalid["error"]["code"] == "validation_error"
    listed = await c.call("list_rooms", {})
    assert room["room_id"] not in [r["room_id"] for r in listed["rooms"]]  # full: not open


async def test_quick_match_fills_a_room_before_opening_another(
    accounts: Any, player: PlayerFactory
) -> None:
    # The only quick match of this module's deployment: no other tic-tac-toe room is open.
    first, second, third = accounts(3)
    a, b, c = await player(first, 0), await player(second, 1), await player(third, 0)
    opened = await a.call("quick_match", {"game": "tictactoe"})
    assert ids(opened["players"]) == [first.id]
    assert opened["status"] == "open"
    joined = await b.call("quick_match", {"game": "tictactoe"})
    assert joined["room_id"] == opened["room_id"]
    assert joined["status"] == "playing"
    assert ids(joined["players"]) == [first.id, second.id]
    started = await a.expect("player_joined")
    assert started["shared_state"]["turn"] == first.id
    assert started["shared_state"]["marks"] == {first.id: "X", second.id: "O"}
    elsewhere = await c.call("quick_match", {"game": "tictactoe"})
    assert elsewhere["room_id"] != opened["room_id"]
    assert ids(elsewhere["players"]) == [third.id]


async def test_snapshot_on_join_carries_latest_states(accounts: Any, player: PlayerFactory) -> None:
    alice, bob, carol = accounts(3)
    a, b = await player(alice, 0), await player(bob, 1)
    room = await a.call("create_room", {"settings": {"shared_state": {"round": 1}}})
    room_id = room["room_id"]
    await b.call("join_room", {"room_id": room_id})
    await a.call(
        "player_action",
        {
            "room_id": room_id,
            "action_type": "move",
            "coordinates": {"x": 1, "y": 2},
            "game_state": {"score": 10},
        },
    )
    await a.call(
        "player_action",
        {
            "room_id": room_id,
            "action_type": "move",
            "coordinates": {"x": 3, "y": 4},
            "game_state": {"score": 20},
            "shared_state": {"round": 2},
        },
    )
    last = await b.call(
        "player_action", {"room_id": room_id, "action_type": "jump", "game_state": {"hp": 90}}
    )

    c: SioClient = await player(carol, 1)
    await c.call("join_room", {"room_id": room_id})
    snapshot = await c.expect("room_state")
    assert snapshot["seq"] == last["seq"] + 1  # the join itself is the latest event
    assert snapshot["shared_state"] == {"round": 2}
    assert snapshot["player_states"][alice.id]["coordinates"] == {"x": 3, "y": 4}
    assert snapshot["player_states"][alice.id]["game_state"] == {"score": 20}
    assert snapshot["player_states"][bob.id]["action_type"] == "jump"
    # What happens next reaches the newcomer, numbered after the snapshot.
    await a.call("player_action", {"room_id": room_id, "action_type": "wave"})
    wave = await c.expect("player_action")
    assert (wave["action_type"], wave["seq"]) == ("wave", snapshot["seq"] + 1)


async def test_reconnect_gets_the_snapshot_first_and_keeps_the_seat(seated_pair: Any) -> None:
    alice, bob, a, b, room_id = await seated_pair()
    await b.disconnect()
    away = await a.expect("player_disconnected")
    assert away["player_id"] == bob.id
    moved = await a.call(
        "player_action", {"room_id": room_id, "action_type": "move", "coordinates": {"x": 7}}
    )

    back = SioClient("/gameplay")  # on the other instance this time, where there are two
    try:
        await back.connect(player_base_url(a), auth={"token": bob.access_token})
        snapshot = await back.expect("room_state")
        assert snapshot["room_id"] == room_id
        assert snapshot["seq"] == moved["seq"] + 1
        assert snapshot["player_states"][alice.id]["coordinates"] == {"x": 7}
        greeting = await back.expect("authenticated")
        assert greeting["rooms"] == [room_id]
        returned = await a.expect("player_reconnected")
        assert returned["player_id"] == bob.id
        await a.call("player_action", {"room_id": room_id, "action_type": "hello"})
        assert (await back.expect("player_action"))["action_type"] == "hello"
    finally:
        await back.disconnect()


def player_base_url(client: SioClient) -> str:
    return str(client.client.connection_url).split("/socket.io")[0]


async def test_a_seat_not_reclaimed_in_time_is_given_up(seated_pair: Any) -> None:
    alice, bob, a, b, _ = await seated_pair()
    await b.disconnect()
    gone = await a.expect("player_left", timeout=10)  # GAME_SEAT_GRACE_SECS=2 in these tests
    assert (gone["player_id"], gone["reason"]) == (bob.id, "disconnected")
    assert ids(gone["players"]) == [alice.id]


async def test_plain_websocket_speaks_the_same_commands(
    accounts: Any, player: PlayerFactory, ws_player: PlayerFactory
) -> None:
    alice, bob = accounts(2)
    on_ws = await ws_player(alice, 0)
    on_sio: SioClient = await player(bob, 1)
    room = await on_ws.ack("create_room", {"name": "ws room"})
    # The snapshot comes before the acknowledgement.
    state = next(f for f in on_ws.seen if f["type"] == "room_state")
    assert state["data"]["room_id"] == room["room_id"]
    await on_sio.call("join_room", {"room_id": room["room_id"]})
    joined = await on_ws.expect("player_joined")
    assert joined["data"]["player_id"] == bob.id

    sent = await on_ws.ack("player_action", {"action_type": "move", "coordinates": {"x": 1}})
    heard = await on_sio.expect("player_action")
    assert (heard["seq"], heard["player_id"]) == (sent["seq"], alice.id)
    await on_sio.call("player_action", {"room_id": room["room_id"], "action_type": "shoot"})
    relayed = await on_ws.expect("player_action")
    assert relayed["data"]["action_type"] == "shoot"
    assert relayed["data"]["seq"] == sent["seq"] + 1

    refused = await on_ws.command("join_room", {"room_id": uuid.uuid4().hex})
    assert (refused["type"], refused["code"]) == ("error", "room_not_found")
    listed = await on_ws.ack("list_rooms", {"game": "relay"})
    assert isinstance(listed["rooms"], list)


async def test_requires_sign_in(deployment: Any, accounts: Any) -> None:
    (alice,) = accounts(1)
    client = SioClient("/gameplay")
    try:
        await client.connect(deployment.servers[0].base_url)
        refused = await client.call("create_room", {})
        assert refused["error"]["code"] == "not_authenticated"
        signed_in = await client.call("authenticate", {"token": alice.access_token})
        assert signed_in["user_id"] == alice.id
        assert signed_in["rooms"] == []
        assert (await client.call("create_room", {}))["players"][0]["player_id"] == alice.id
    finally:
        await client.disconnect()
