"""What a game room may hold: settings, shared state and player state are bounded, and a
command refused for them changes nothing and leaves the connection open."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis

from tests.realtime.gameplay.conftest import Deployment, PlayerFactory
from tests.support.sio import SioClient

MAX_SETTINGS_BYTES = 8192  # the defaults
MAX_STATE_BYTES = 65_536


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def refused(answer: Any) -> str:
    """The error code of a refused command (anything but a server failure)."""
    assert "error" in answer, answer
    code: str = answer["error"]["code"]
    assert code != "internal_error", answer
    return code


async def test_settings_that_cannot_be_kept_leave_no_room(
    deployment: Deployment, accounts: Any, player: PlayerFactory
) -> None:
    alice, bob = accounts(2)
    a: SioClient = await player(alice, 0)
    b: SioClient = await player(bob, 1)
    for depth in (300, 254, 40):  # 300: beyond what the JSON encoder can write at all
        refused(await a.call("create_room", {"settings": nested(depth)}))
    too_large = {"blob": "x" * MAX_SETTINGS_BYTES}
    code = refused(await a.call("create_room", {"settings": too_large}))
    assert code == "settings_too_large"

    # Nothing was left behind: no room lists alice, and a new connection of hers has no seat.
    for who in (a, b):
        listed = await who.call("list_rooms", {})
        assert alice.id not in {p["player_id"] for r in listed["rooms"] for p in r["players"]}
    again = SioClient("/gameplay")
    try:
        await again.connect(deployment.servers[0].base_url, auth={"token": alice.access_token})
        assert (await again.expect("authenticated"))["rooms"] == []
    finally:
        await again.disconnect()
    # The connection is still usable, and a room with settings within the bounds is made.
    fits = {"blob": "x" * (MAX_SETTINGS_BYTES - 100), "depth": nested(8)}
    room = await a.call("create_room", {"settings": fits})
    assert room["settings"] == fits
    matched = await b.call("quick_match", {"game": "relay", "capacity": 4})
    assert "error" not in matched, matched


async def test_a_refused_player_state_changes_nothing(seated_pair: Any) -> None:
    _, _, a, b, room_id = await seated_pair()
    big = {"room_id": room_id, "action_type": "move", "game_state": {"s": "x" * MAX_STATE_BYTES}}
    assert refused(await a.call("player_action", big)) == "state_too_large"
    deep = {"room_id": room_id, "action_type": "move", "data": nested(300)}
    refused(await a.call("player_action", deep))
    # Deep enough that the action itself encodes, but not the snapshot that would carry it.
    deep_state = {"room_id": room_id, "action_type": "move", "game_state": nested(250)}
    refused(await a.call("player_action", deep_state))

    fine = await a.call("player_action", {"room_id": room_id, "action_type": "move"})
    assert fine["seq"] == 2  # the refused actions took no seq
    heard = await b.expect("player_action")
    assert heard["seq"] == 2
    assert b.drain("player_action") == []


async def test_the_shared_state_stops_growing_at_its_bound(
    seated_pair: Any, accounts: Any, player: PlayerFactory
) -> None:
    _, _, a, b, room_id = await seated_pair()
    chunk = "x" * 20_000

    def patch(**shared: Any) -> dict[str, Any]:
        return {"room_id": room_id, "action_type": "set", "shared_state": shared}

    seqs = [(await a.call("player_action", patch(**{f"k{i}": chunk})))["seq"] for i in range(3)]
    assert seqs == [2, 3, 4]
    over = await a.call("player_action", patch(k3=chunk))
    assert refused(over) == "state_too_large"
    assert over["error"]["details"]["max_bytes"] == MAX_STATE_BYTES
    # Replacing a key with a smaller value is fine, and then the new key fits.
    assert (await a.call("player_action", patch(k0="small")))["seq"] == 5
    assert (await a.call("player_action", patch(k3=chunk)))["seq"] == 6
    heard = [(await b.expect("player_action"))["seq"] for _ in range(5)]
    assert heard == [2, 3, 4, 5, 6]  # nobody heard the refused one

    (carol,) = accounts(1)
    c: SioClient = await player(carol, 0)
    await c.call("join_room", {"room_id": room_id})
    state = await c.expect("room_state")
    assert state["shared_state"] == {"k0": "small", "k1": chunk, "k2": chunk, "k3": chunk}
    assert len(orjson.dumps(state["shared_state"])) <= MAX_STATE_BYTES


# Only Redis keeps rooms that someone else (an older version) wrote.
@pytest.mark.parametrize("deployment", ["two-instances-redis"], indirect=True)
async def test_a_room_record_that_cannot_be_read_does_not_break_listing_or_matching(
    deployment: Deployment, accounts: Any, player: PlayerFactory
) -> None:
    env = deployment.servers[0].env
    redis = Redis.from_url(env["REDIS_URL"])
    room_id = uuid.uuid4().hex
    keys = env["REDIS_PREFIX"] + "game:"
    record = {
        "id": room_id,
        "name": "left by an older version",
        "game": "relay",
        "capacity": 8,
        "settings": nested(250),
        "owner_id": str(uuid.uuid4()),
        "status": "open",
        "players": [],
        "created_at": "2020-01-01T00:00:00Z",
    }
    try:
        await redis.hset(keys + "r:" + room_id, mapping={"room": orjson.dumps(record), "seq": 0})
        await redis.zadd(keys + "open", {room_id: 0})  # the oldest open room
        (alice,) = accounts(1)
        a: SioClient = await player(alice, 0)
        listed = await a.call("list_rooms", {})
        assert "error" not in listed, listed
        assert room_id not in {r["room_id"] for r in listed["rooms"]}
        matched = await a.call("quick_match", {"game": "relay"})
        assert "error" not in matched, matched
        assert matched["room_id"] != room_id
        assert await redis.zscore(keys + "open", room_id) is None
    finally:
        await redis.delete(keys + "r:" + room_id)
        await redis.aclose()


async def test_plain_websocket_players_get_the_same_refusals_and_stay_connected(
    accounts: Any, ws_player: PlayerFactory
) -> None:
    (alice,) = accounts(1)
    ws = await ws_player(alice, 0)
    too_large = await ws.command("create_room", {"settings": {"blob": "x" * MAX_SETTINGS_BYTES}})
    assert (too_large["type"], too_large["code"]) == ("error", "settings_too_large")
    room = await ws.ack("create_room", {"settings": {"map": "dust"}})
    patch = {"room_id": room["room_id"], "action_type": "set"}
    for i in range(3):
        await ws.ack("player_action", {**patch, "shared_state": {f"k{i}": "x" * 20_000}})
    over = await ws.command("player_action", {**patch, "shared_state": {"k3": "x" * 20_000}})
    assert (over["type"], over["code"]) == ("error", "state_too_large")
    assert (await ws.ack("player_action", patch))["seq"] == 4
