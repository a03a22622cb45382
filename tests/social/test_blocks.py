"""Blocks over REST and both socket protocols, on every database: what a blocked user can no
longer do, what the blocker no longer sees, and a setting for direct messages."""

from __future__ import annotations

import httpx

from tests.support.accounts import Account, direct_chat, register
from tests.support.clients import WsClient
from tests.support.server import ServerProcess
from tests.support.sio import SioClient


def block(api: httpx.Client, me: Account, them: Account) -> None:
    response = api.post("/api/v1/blocks", headers=me.headers, json={"user_id": them.id})
    assert response.status_code == 201, response.text


def group_of(api: httpx.Client, owner: Account, *others: Account) -> str:
    response = api.post(
        "/api/v1/conversations",
        headers=owner.headers,
        json={"name": "g", "participant_ids": [o.id for o in others]},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def history(api: httpx.Client, me: Account, conversation: str) -> list[str]:
    response = api.get(f"/api/v1/conversations/{conversation}/messages", headers=me.headers)
    assert response.status_code == 200, response.text
    return [m["content"] for m in response.json()["messages"]]


def send(api: httpx.Client, me: Account, conversation: str, content: str) -> httpx.Response:
    return api.post(
        f"/api/v1/conversations/{conversation}/messages",
        headers=me.headers,
        json={"content": content},
    )


async def test_a_blocked_user_can_no_longer_reach_the_blocker(
    api: httpx.Client, server: ServerProcess
) -> None:
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    assert send(api, alice, chat, "before").status_code == 201
    assert api.post("/api/v1/friends/requests", headers=alice.headers, json={"user_id": bob.id})
    api.post("/api/v1/friends/requests", headers=bob.headers, json={"user_id": alice.id})
    alice_ws = await WsClient.open(server.base_url, alice.access_token)
    try:
        block(api, bob, alice)
        block(api, bob, alice)  # idempotent
        assert [b["user"]["id"] for b in api.get("/api/v1/blocks", headers=bob.headers).json()] == [
            alice.id
        ]
        # The friendship ended, and alice heard that much (not that she is blocked).
        assert (await alice_ws.expect("friend_removed"))["data"]["friend_id"] == alice.id
        assert api.get("/api/v1/friends", headers=alice.headers).json() == []

        # No new direct chat, no message in the old one, either way; nothing stored.
        for sender, other in ((alice, bob), (bob, alice)):
            opened = api.post(
                "/api/v1/conversations", headers=sender.headers, json={"participant_id": other.id}
            )
            assert (opened.status_code, opened.json()["error"]["code"]) == (403, "blocked")
            refused = send(api, sender, chat, "after")
            assert (refused.status_code, refused.json()["error"]["code"]) == (403, "blocked")
        over_ws = await alice_ws.command("send_message", {"room_id": chat, "content": "ws"})
        assert (over_ws["type"], over_ws["code"]) == ("error", "blocked")
        assert history(api, bob, chat) == ["before"]

        # No friend request, and no presence.
        asked = api.post(
            "/api/v1/friends/requests", headers=alice.headers, json={"user_id": bob.id}
        )
        assert (asked.status_code, asked.json()["error"]["code"]) == (403, "blocked")
        watched = await alice_ws.command("subscribe_status", {"target_user_id": bob.id})
        assert (watched["type"], watched["code"]) == ("error", "presence_not_shared")
        assert (await alice_ws.command("ping"))["type"] == "ack"  # the connection carries on

        # Unblocked: back to normal.
        assert api.delete(f"/api/v1/blocks/{alice.id}", headers=bob.headers).status_code == 204
        assert api.delete(f"/api/v1/blocks/{alice.id}", headers=bob.headers).status_code == 204
        assert send(api, alice, chat, "again").status_code == 201
    finally:
        await alice_ws.close()


async def test_in_a_group_the_blocker_no_longer_sees_the_blocked(
    api: httpx.Client, server: ServerProcess
) -> None:
    alice, bob, carol = register(api), register(api), register(api)
    group = group_of(api, carol, alice, bob)
    block(api, bob, alice)
    bob_ws = await WsClient.open(server.base_url, bob.access_token)
    bob_sio, carol_sio = SioClient(), SioClient()
    await bob_sio.connect(server.base_url, auth={"token": bob.access_token})
    await carol_sio.connect(server.base_url, auth={"token": carol.access_token})
    try:
        assert send(api, alice, group, "from alice").status_code == 201
        assert send(api, carol, group, "from carol").status_code == 201
        assert (await carol_sio.expect_where("message", lambda m: True))["content"] == "from alice"
        seen = await bob_ws.expect("new_message")
        assert seen["data"]["content"] == "from carol"  # alice's came first, and was hidden
        heard = await bob_sio.expect("message")
        assert heard["content"] == "from carol"
        assert history(api, bob, group) == ["from carol"]
        assert history(api, carol, group) == ["from carol", "from alice"]

        # Unblocking takes effect on live connections at once.
        assert api.delete(f"/api/v1/blocks/{alice.id}", headers=bob.headers).status_code == 204
        await bob_ws.ack("ping")  # the unblock reached bob's connections before this answer
        assert send(api, alice, group, "visible again").status_code == 201
        assert (await bob_ws.expect("new_message"))["data"]["content"] == "visible again"
    finally:
        await bob_ws.close()
        await bob_sio.disconnect()
        await carol_sio.disconnect()


async def test_a_second_device_hides_what_the_first_one_does(
    api: httpx.Client, server: ServerProcess
) -> None:
    """A device signing in beside a connected one of the same user starts from that one's
    block lists (kept current by the hub's events) instead of reading them: a block, and an
    unblock, made while only the first was connected hold on the devices that come after."""
    alice, bob, carol = register(api), register(api), register(api)
    group = group_of(api, carol, alice, bob)
    first = await WsClient.open(server.base_url, bob.access_token)
    second, third = SioClient(), SioClient()
    try:
        block(api, bob, alice)
        await first.ack("ping")
        await second.connect(server.base_url, auth={"token": bob.access_token})
        await second.expect("authenticated")
        assert send(api, alice, group, "hidden").status_code == 201
        assert send(api, carol, group, "seen").status_code == 201
        assert (await second.expect("message"))["content"] == "seen"
        assert (await first.expect("new_message"))["data"]["content"] == "seen"

        assert api.delete(f"/api/v1/blocks/{alice.id}", headers=bob.headers).status_code == 204
        await first.ack("ping")
        await third.connect(server.base_url, auth={"token": bob.access_token})
        await third.expect("authenticated")
        assert send(api, alice, group, "visible").status_code == 201
        for device in (second, third):
            assert (await device.expect("message"))["content"] == "visible"
        assert (await first.expect("new_message"))["data"]["content"] == "visible"
    finally:
        await first.close()
        await second.disconnect()
        await third.disconnect()


async def test_the_blocked_does_not_see_the_blockers_presence(
    api: httpx.Client, server: ServerProcess
) -> None:
    alice, bob, carol = register(api), register(api), register(api)
    group_of(api, carol, alice, bob)  # peers: each hears the others come online
    block(api, bob, alice)
    alice_ws = await WsClient.open(server.base_url, alice.access_token)
    carol_ws = await WsClient.open(server.base_url, carol.access_token)
    try:
        bob_ws = await WsClient.open(server.base_url, bob.access_token)
        online = await carol_ws.next(
            lambda f: f.get("type") == "user_online" and f["data"]["user_id"] == bob.id
        )
        assert online["data"]["is_online"] is True
        # Delivered to carol, so already queued for alice had it been for her.
        seen = await alice_ws.seen_by_now("user_online")
        assert [f for f in seen if f["data"]["user_id"] == bob.id] == []
        await bob_ws.close()
    finally:
        await alice_ws.close()
        await carol_ws.close()


def test_direct_messages_from_friends_only(api: httpx.Client) -> None:
    alice, bob = register(api), register(api)
    setting = api.patch("/api/v1/users/me", headers=bob.headers, json={"dm_friends_only": True})
    assert (setting.status_code, setting.json()["dm_friends_only"]) == (200, True)
    refused = api.post(
        "/api/v1/conversations", headers=alice.headers, json={"participant_id": bob.id}
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "friends_only")
    asked = api.post("/api/v1/friends/requests", headers=alice.headers, json={"user_id": bob.id})
    api.post(
        f"/api/v1/friends/requests/{asked.json()['request']['id']}/accept", headers=bob.headers
    )
    chat = direct_chat(api, alice, bob)
    assert send(api, alice, chat, "hi friend").status_code == 201
    api.delete(f"/api/v1/friends/{bob.id}", headers=alice.headers)
    after = send(api, alice, chat, "still?")
    assert (after.status_code, after.json()["error"]["code"]) == (403, "friends_only")
    bad = api.patch("/api/v1/users/me", headers=bob.headers, json={"dm_friends_only": "yes"})
    assert bad.status_code == 422


def test_blocking_yourself_or_nobody_is_refused(api: httpx.Client) -> None:
    alice = register(api)
    me = api.post("/api/v1/blocks", headers=alice.headers, json={"user_id": alice.id})
    assert (me.status_code, me.json()["error"]["code"]) == (422, "cannot_block_self")
    nobody = api.post("/api/v1/blocks", headers=alice.headers, json={"username": "no-such-one"})
    assert (nobody.status_code, nobody.json()["error"]["code"]) == (404, "user_not_found")
    assert api.get("/api/v1/blocks", headers=alice.headers).json() == []
