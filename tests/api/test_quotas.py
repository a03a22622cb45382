"""What one user may create and hold: creations per hour (conversations, rooms opened by
name, game rooms), groups and rooms owned, rooms joined, members of one group or room. Each
refusal has its code and leaves nothing behind."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.support.accounts import Account, create_admin, register
from tests.support.clients import WsClient
from tests.support.server import ServerProcess, start_server
from tests.support.sio import SioClient


@pytest.fixture(scope="module")
def slow_makers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(tmp_path_factory.mktemp("creations"), {"CREATIONS_PER_USER": "3"})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(
        tmp_path_factory.mktemp("quotas"),
        {"MAX_OWNED_CONVERSATIONS": "2", "MAX_ROOMS_JOINED": "2", "MAX_CONVERSATION_MEMBERS": "3"},
    )
    yield server
    server.stop()


def new_group(api: httpx.Client, who: Account, *members: Account) -> httpx.Response:
    body = {"kind": "group", "name": "g", "participant_ids": [m.id for m in members]}
    return api.post("/api/v1/conversations", headers=who.headers, json=body)


def listed(api: httpx.Client, who: Account) -> int:
    page = api.get("/api/v1/conversations", headers=who.headers).json()
    return len(page["conversations"])


def room_name() -> str:
    return f"r-{uuid.uuid4().hex[:10]}"


async def test_creations_per_user_count_every_kind(slow_makers: ServerProcess) -> None:
    with httpx.Client(base_url=slow_makers.base_url, timeout=15) as api:
        alice, bob = register(api), register(api)
        assert new_group(api, alice, bob).status_code == 201
        direct = {"participant_id": bob.id}
        assert api.post("/api/v1/conversations", headers=alice.headers, json=direct).is_success
        # Opening the same direct chat again makes nothing new, so it is not counted.
        assert api.post("/api/v1/conversations", headers=alice.headers, json=direct).is_success
        ws = await WsClient.open(slow_makers.base_url, alice.access_token)
        try:
            await ws.ack("join_room", {"room_id": room_name()})  # the third: a room by name
            refused = await ws.command("join_room", {"room_id": room_name()})
            assert refused["code"] == "creation_rate_limited"
            assert refused["details"]["retry_after"] >= 1
        finally:
            await ws.close()
        answer = new_group(api, alice, bob)
        assert answer.status_code == 429
        assert answer.json()["error"]["code"] == "creation_rate_limited"
        assert int(answer.headers["retry-after"]) >= 1
        assert listed(api, alice) == 3  # nothing half-made
        # Joining a room that exists creates nothing: alice may, out of creations as she is.
        existing = room_name()
        made = api.post(
            "/api/v1/conversations", headers=bob.headers, json={"kind": "room", "name": existing}
        )
        assert made.status_code == 201
        joined = api.post(f"/api/v1/rooms/{existing}/join", headers=alice.headers)
        assert joined.is_success, joined.text
        for _ in range(2):  # bob's second and third
            assert new_group(api, bob, alice).status_code == 201
    game = SioClient("/gameplay")
    await game.connect(slow_makers.base_url, auth={"token": bob.access_token})
    try:
        answer = await game.call("create_room", {})
        assert answer["error"]["code"] == "creation_rate_limited"  # bob used his three above
    finally:
        await game.disconnect()


def test_admins_are_not_limited(slow_makers: ServerProcess) -> None:
    with httpx.Client(base_url=slow_makers.base_url, timeout=15) as api:
        admin = create_admin(api, slow_makers)
        other = register(api)
        for _ in range(5):
            assert new_group(api, admin, other).status_code == 201


async def test_quotas_on_owning_joining_and_members(small: ServerProcess) -> None:
    with httpx.Client(base_url=small.base_url, timeout=15) as api:
        alice, bob, carol, dave = (register(api) for _ in range(4))
        too_big = new_group(api, alice, bob, carol, dave)  # four with alice: over 3
        assert too_big.status_code == 403
        assert too_big.json()["error"]["details"] == {"quota": "members", "limit": 3}
        group = new_group(api, alice, bob, carol)
        assert group.status_code == 201
        added = api.post(
            f"/api/v1/conversations/{group.json()['id']}/members",
            headers=alice.headers,
            json={"user_id": dave.id},
        )
        assert added.status_code == 403
        assert added.json()["error"]["code"] == "quota_exceeded"
        assert new_group(api, alice, bob).status_code == 201
        third = new_group(api, alice, bob)  # alice owns two already
        assert third.status_code == 403
        assert third.json()["error"]["details"]["quota"] == "owned_conversations"
        assert listed(api, alice) == 2

        rooms = [room_name() for _ in range(3)]
        for maker, name in zip((carol, dave, dave), rooms, strict=True):  # rooms others own
            made = api.post(
                "/api/v1/conversations",
                headers=maker.headers,
                json={"kind": "room", "name": name},
            )
            assert made.status_code == 201, made.text
        ws = await WsClient.open(small.base_url, bob.access_token)
        try:
            for name in rooms[:2]:
                await ws.ack("join_room", {"room_id": name})
            refused = await ws.command("join_room", {"room_id": rooms[2]})
            assert refused["code"] == "quota_exceeded"
            assert refused["details"]["quota"] == "rooms_joined"
        finally:
            await ws.close()
