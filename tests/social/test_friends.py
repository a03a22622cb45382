"""Friends over REST, with the events on both socket protocols, on every database."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from tests.support.accounts import Account, register
from tests.support.clients import WsClient
from tests.support.server import ServerProcess
from tests.support.sio import SioClient


def ask(api: httpx.Client, me: Account, **who: str) -> httpx.Response:
    return api.post("/api/v1/friends/requests", headers=me.headers, json=who)


def requests(api: httpx.Client, me: Account, direction: str = "incoming") -> list[dict[str, Any]]:
    response = api.get(f"/api/v1/friends/requests?direction={direction}", headers=me.headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def friends(api: httpx.Client, me: Account) -> list[dict[str, Any]]:
    response = api.get("/api/v1/friends", headers=me.headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_a_request_accepted_makes_friends_and_both_sides_hear_it(
    api: httpx.Client, server: ServerProcess
) -> None:
    alice, bob = register(api), register(api)
    bob_ws = await WsClient.open(server.base_url, bob.access_token)
    alice_sio = SioClient()
    await alice_sio.connect(server.base_url, auth={"token": alice.access_token})
    try:
        sent = ask(api, alice, username=bob.username)
        assert sent.status_code == 201, sent.text
        request = sent.json()["request"]
        assert sent.json()["status"] == "pending"
        assert (request["from_user"]["id"], request["to_user"]["id"]) == (alice.id, bob.id)
        heard = await bob_ws.expect("friend_request")
        assert heard["data"]["id"] == request["id"]

        # Sending twice is one request.
        again = ask(api, alice, user_id=bob.id)
        assert again.status_code == 200
        assert again.json()["request"]["id"] == request["id"]
        assert [r["id"] for r in requests(api, bob)] == [request["id"]]
        assert [r["id"] for r in requests(api, alice, "outgoing")] == [request["id"]]

        accepted = api.post(f"/api/v1/friends/requests/{request['id']}/accept", headers=bob.headers)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["user"]["id"] == alice.id
        told = await alice_sio.expect("friend_request_accepted")
        assert told["to_user"]["id"] == bob.id

        mine = friends(api, alice)
        assert [f["user"]["id"] for f in mine] == [bob.id]
        assert mine[0]["is_online"] is True  # bob is connected
        assert set(mine[0]) >= {"since", "last_seen"}
        assert requests(api, bob) == []

        unfriended = api.delete(f"/api/v1/friends/{alice.id}", headers=bob.headers)
        assert unfriended.status_code == 204
        assert (await alice_sio.expect("friend_removed"))["friend_id"] == alice.id
        assert friends(api, alice) == []
        gone = api.delete(f"/api/v1/friends/{alice.id}", headers=bob.headers)
        assert (gone.status_code, gone.json()["error"]["code"]) == (404, "not_friends")
    finally:
        await bob_ws.close()
        await alice_sio.disconnect()


def test_crossing_requests_make_friends(api: httpx.Client) -> None:
    alice, bob = register(api), register(api)
    assert ask(api, alice, user_id=bob.id).status_code == 201
    crossed = ask(api, bob, user_id=alice.id)
    assert crossed.status_code == 200
    assert crossed.json()["status"] == "friends"
    assert crossed.json()["friend"]["user"]["id"] == alice.id
    assert [f["user"]["id"] for f in friends(api, bob)] == [alice.id]
    assert ask(api, alice, user_id=bob.id).json()["status"] == "friends"  # idempotent


def test_two_requests_at_once_are_one(api: httpx.Client, server: ServerProcess) -> None:
    alice, bob = register(api), register(api)

    async def both() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.base_url, timeout=15) as client:
            return list(
                await asyncio.gather(
                    *(
                        client.post(
                            "/api/v1/friends/requests",
                            headers=alice.headers,
                            json={"user_id": bob.id},
                        )
                        for _ in range(5)
                    )
                )
            )

    answers = asyncio.run(both())
    assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
    assert len({a.json()["request"]["id"] for a in answers}) == 1
    assert len(requests(api, bob)) == 1


def test_reject_and_cancel_are_the_right_sides(api: httpx.Client) -> None:
    alice, bob, carol = register(api), register(api), register(api)
    first = ask(api, alice, user_id=bob.id).json()["request"]["id"]
    wrong = api.post(f"/api/v1/friends/requests/{first}/reject", headers=alice.headers)
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (403, "not_the_recipient")
    outsider = api.post(f"/api/v1/friends/requests/{first}/accept", headers=carol.headers)
    assert outsider.status_code == 403
    rejected = api.post(f"/api/v1/friends/requests/{first}/reject", headers=bob.headers)
    assert rejected.status_code == 204
    assert requests(api, bob) == []

    second = ask(api, alice, user_id=bob.id).json()["request"]["id"]
    not_yours = api.delete(f"/api/v1/friends/requests/{second}", headers=bob.headers)
    assert (not_yours.status_code, not_yours.json()["error"]["code"]) == (403, "not_the_sender")
    assert (
        api.delete(f"/api/v1/friends/requests/{second}", headers=alice.headers).status_code == 204
    )
    missing = api.post(f"/api/v1/friends/requests/{second}/accept", headers=bob.headers)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "request_not_found")


def test_bad_requests_are_refused_and_store_nothing(api: httpx.Client) -> None:
    alice, bob = register(api), register(api)
    for body, code in [
        ({}, "validation_error"),
        ({"user_id": bob.id, "username": bob.username}, "validation_error"),
        ({"user_id": "not-a-uuid"}, "validation_error"),
        ({"username": "x" * 65}, "validation_error"),
        ({"user_id": str(uuid.uuid4())}, "user_not_found"),
        ({"username": "nobody-at-all"}, "user_not_found"),
        ({"user_id": alice.id}, "cannot_befriend_self"),
    ]:
        refused = api.post("/api/v1/friends/requests", headers=alice.headers, json=body)
        assert refused.status_code in (404, 422), (body, refused.text)
        assert refused.json()["error"]["code"] == code, body
    assert requests(api, alice, "outgoing") == []
    anonymous = api.get("/api/v1/friends")
    assert anonymous.status_code == 401


async def test_the_same_over_sockets(api: httpx.Client, server: ServerProcess) -> None:
    """The socket commands call the same service: request on /ws, accept on Socket.IO."""
    alice, bob = register(api), register(api)
    alice_ws = await WsClient.open(server.base_url, alice.access_token)
    bob_sio = SioClient()
    await bob_sio.connect(server.base_url, auth={"token": bob.access_token})
    try:
        outcome = await alice_ws.ack("friend_request", {"user_id": bob.id})
        assert outcome["status"] == "pending"
        listed = await bob_sio.call("list_friend_requests", {})
        assert [r["id"] for r in listed["requests"]] == [outcome["request"]["id"]]
        friend = await bob_sio.call(
            "accept_friend_request", {"request_id": outcome["request"]["id"]}
        )
        assert friend["user"]["id"] == alice.id
        assert (await alice_ws.expect("friend_request_accepted"))["data"]["from_user"][
            "id"
        ] == alice.id
        assert [f["user"]["id"] for f in (await alice_ws.ack("list_friends"))["friends"]] == [
            bob.id
        ]
        refused = await alice_ws.command("friend_request", {"user_id": "nope"})
        assert (refused["type"], refused["code"]) == ("error", "validation_error")
        assert (await alice_ws.command("ping"))["type"] == "ack"  # still open
    finally:
        await alice_ws.close()
        await bob_sio.disconnect()
