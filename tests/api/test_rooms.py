"""Rooms over REST: the public directory, private rooms by invitation, on every database;
rooms stay conversations, so messages and sockets are shared."""

from __future__ import annotations

import uuid

import httpx

from tests.support.accounts import Account, register
from tests.support.clients import WsClient
from tests.support.server import ServerProcess


def create(api: httpx.Client, who: Account, **body: object) -> httpx.Response:
    return api.post("/api/v1/rooms", headers=who.headers, json=body)


def tag() -> str:
    return uuid.uuid4().hex[:8]


def test_public_rooms_are_listed_searched_and_paged(api: httpx.Client) -> None:
    alice, bob = register(api), register(api)
    prefix = f"dir-{tag()}"
    made = [create(api, alice, name=f"{prefix}-{i}", topic=f"topic {i}").json() for i in range(5)]
    hidden = create(api, alice, name=f"{prefix}-secret", private=True)
    assert (hidden.status_code, hidden.json()["private"]) == (201, True)
    assert made[0]["topic"] == "topic 0"

    seen, cursor = [], None
    while True:
        query = f"/api/v1/rooms?q={prefix}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(query, headers=bob.headers).json()
        assert len(page["rooms"]) <= 2
        seen += page["rooms"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert [r["name"] for r in seen] == [f"{prefix}-{i}" for i in range(5)]  # no private one
    assert all(r["member_count"] == 1 for r in seen)
    upper = api.get(f"/api/v1/rooms?q={prefix.upper()}", headers=bob.headers).json()
    assert len(upper["rooms"]) == 5  # names match whatever their case
    assert api.get("/api/v1/rooms?q=%25", headers=bob.headers).status_code == 200
    bad = api.get("/api/v1/rooms?cursor=!!!", headers=bob.headers)
    assert (bad.status_code, bad.json()["error"]["code"]) == (422, "validation_error")


async def test_join_talk_leave_over_rest_and_sockets(
    api: httpx.Client, server: ServerProcess
) -> None:
    alice, bob = register(api), register(api)
    name = f"lounge-{tag()}"
    room = create(api, alice, name=name).json()
    seen = api.get(f"/api/v1/rooms/{name}", headers=bob.headers)  # by name, not a member
    assert (seen.status_code, seen.json()["id"]) == (200, room["id"])
    assert [m["user_id"] for m in seen.json()["members"]] == [alice.id]

    joined = api.post(f"/api/v1/rooms/{room['id']}/join", headers=bob.headers).json()
    assert joined["joined"] is True
    again = api.post(f"/api/v1/rooms/{name}/join", headers=bob.headers).json()
    assert again["joined"] is False
    bob_ws = await WsClient.open(server.base_url, bob.access_token)
    try:
        sent = api.post(
            f"/api/v1/conversations/{room['id']}/messages",
            headers=alice.headers,
            json={"content": "welcome"},
        )
        assert sent.status_code == 201
        frame = await bob_ws.expect("new_message")
        assert (frame["data"]["content"], frame["data"]["room_id"]) == ("welcome", name)
        assert api.post(f"/api/v1/rooms/{name}/leave", headers=bob.headers).status_code == 204
        await bob_ws.expect("member_removed")
    finally:
        await bob_ws.close()
    left = api.get(f"/api/v1/rooms/{name}", headers=bob.headers).json()
    assert [m["user_id"] for m in left["members"]] == [alice.id]


def test_a_private_room_is_joined_by_invitation(api: httpx.Client) -> None:
    alice, bob, carol = register(api), register(api), register(api)
    name = f"hideout-{tag()}"
    room = create(api, alice, name=name, private=True, topic="shh").json()
    refused = api.post(f"/api/v1/rooms/{name}/join", headers=bob.headers)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "private_room")
    unseen = api.get(f"/api/v1/rooms/{room['id']}", headers=bob.headers)
    assert unseen.status_code == 403
    invited = api.post(
        f"/api/v1/rooms/{name}/invite", headers=alice.headers, json={"user_id": bob.id}
    )
    assert invited.status_code == 200, invited.text
    assert api.get(f"/api/v1/rooms/{name}", headers=bob.headers).status_code == 200
    by_member = api.post(
        f"/api/v1/rooms/{name}/invite", headers=bob.headers, json={"user_id": carol.id}
    )
    assert by_member.status_code == 403  # members do not invite; owner and admins do


def test_only_owners_and_admins_change_or_delete_a_room(api: httpx.Client) -> None:
    alice, bob = register(api), register(api)
    name = f"club-{tag()}"
    create(api, alice, name=name)
    api.post(f"/api/v1/rooms/{name}/join", headers=bob.headers)
    by_member = api.patch(f"/api/v1/rooms/{name}", headers=bob.headers, json={"topic": "mine"})
    assert by_member.status_code == 403
    changed = api.patch(
        f"/api/v1/rooms/{name}", headers=alice.headers, json={"topic": "news", "private": True}
    )
    assert (changed.json()["topic"], changed.json()["private"]) == ("news", True)
    cleared = api.patch(f"/api/v1/rooms/{name}", headers=alice.headers, json={"topic": ""})
    assert cleared.json()["topic"] is None
    assert api.delete(f"/api/v1/rooms/{name}", headers=bob.headers).status_code == 403
    assert api.delete(f"/api/v1/rooms/{name}", headers=alice.headers).status_code == 204
    assert api.get(f"/api/v1/rooms/{name}", headers=alice.headers).status_code == 404


def test_bad_rooms_are_refused_and_nothing_is_made(api: httpx.Client) -> None:
    alice = register(api)
    name = f"dup-{tag()}"
    assert create(api, alice, name=name).status_code == 201
    taken = create(api, alice, name=name.upper())
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "room_exists")
    for body in [
        {},
        {"name": ""},
        {"name": "x" * 101},
        {"name": f"t-{tag()}", "topic": "y" * 301},
        {"name": f"p-{tag()}", "private": "yes"},
    ]:
        refused = create(api, alice, **body)
        assert refused.status_code == 422, (body, refused.text)
    not_room = api.post(
        "/api/v1/conversations",
        headers=alice.headers,
        json={"name": "g", "participant_ids": [], "topic": "groups have none"},
    )
    assert not_room.status_code == 422
    listed = api.get("/api/v1/rooms?q=t-", headers=alice.headers).json()["rooms"]
    assert not [r for r in listed if r["topic"] == "y" * 301]
