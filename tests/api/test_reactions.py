"""Reactions over REST and both socket protocols, on every database."""

from __future__ import annotations

import urllib.parse

import httpx

from tests.support.accounts import Account, direct_chat, register
from tests.support.clients import WsClient
from tests.support.server import ServerProcess
from tests.support.sio import SioClient


def message_in(api: httpx.Client, who: Account, conversation: str, content: str = "hi") -> str:
    response = api.post(
        f"/api/v1/conversations/{conversation}/messages",
        headers=who.headers,
        json={"content": content},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def react(
    api: httpx.Client, who: Account, message: str, emoji: str, *, remove: bool = False
) -> httpx.Response:
    path = f"/api/v1/messages/{message}/reactions/{urllib.parse.quote(emoji, safe='')}"
    return api.delete(path, headers=who.headers) if remove else api.put(path, headers=who.headers)


def reactions_of(api: httpx.Client, who: Account, conversation: str) -> list[dict]:  # type: ignore[type-arg]
    page = api.get(f"/api/v1/conversations/{conversation}/messages", headers=who.headers).json()
    return page["messages"][0]["reactions"]  # type: ignore[no-any-return]


async def test_reactions_count_once_per_user_and_everyone_hears_them(
    api: httpx.Client, server: ServerProcess
) -> None:
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    message = message_in(api, alice, chat)
    bob_ws = await WsClient.open(server.base_url, bob.access_token)
    alice_sio = SioClient()
    await alice_sio.connect(server.base_url, auth={"token": alice.access_token})
    try:
        added = react(api, bob, message, "👍")
        assert added.status_code == 200, added.text
        assert (added.json()["count"], added.json()["mine"]) == (1, True)
        heard = await alice_sio.expect("reaction_added")
        assert (heard["emoji"], heard["user_id"], heard["count"]) == ("👍", bob.id, 1)
        assert react(api, bob, message, "👍").json()["count"] == 1  # once per user per emoji
        assert react(api, alice, message, "👍").json()["count"] == 2
        # 🎉 and 👍 are different emoji, also where a collation might weigh them alike.
        assert react(api, alice, message, "🎉").json()["count"] == 1
        family = "👨\u200d👩\u200d👧"
        assert react(api, alice, message, family).status_code == 200

        assert reactions_of(api, bob, chat) == [
            {"emoji": "👍", "count": 2, "mine": True},
            {"emoji": "🎉", "count": 1, "mine": False},
            {"emoji": family, "count": 1, "mine": False},
        ]
        removed = react(api, bob, message, "👍", remove=True)
        assert (removed.json()["count"], removed.json()["mine"]) == (1, False)
        assert react(api, bob, message, "👍", remove=True).json()["count"] == 1  # idempotent
        assert (await alice_sio.expect("reaction_removed"))["user_id"] == bob.id

        # The same over sockets.
        over_ws = await bob_ws.ack("react", {"message_id": message, "emoji": "🔥"})
        assert over_ws["count"] == 1
        over_sio = await alice_sio.call("unreact", {"message_id": message, "emoji": "🎉"})
        assert over_sio["count"] == 0
        assert [r["emoji"] for r in reactions_of(api, alice, chat)] == ["👍", family, "🔥"]
    finally:
        await bob_ws.close()
        await alice_sio.disconnect()


def test_bad_reactions_are_refused_and_store_nothing(api: httpx.Client) -> None:
    alice, bob, carol = register(api), register(api), register(api)
    chat = direct_chat(api, alice, bob)
    message = message_in(api, alice, chat)
    for emoji in ["a b", "x" * 17, "\u0007", "🎉" * 9]:
        refused = react(api, bob, message, emoji)
        assert refused.status_code == 422, (emoji, refused.text)
        assert refused.json()["error"]["code"] == "validation_error"
    outsider = react(api, carol, message, "👍")
    assert outsider.status_code in (403, 404)
    missing = react(api, bob, "00000000-0000-0000-0000-000000000000", "👍")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "message_not_found")
    assert reactions_of(api, alice, chat) == []
    api.delete(f"/api/v1/messages/{message}", headers=alice.headers)
    deleted = react(api, bob, message, "👍")
    assert (deleted.status_code, deleted.json()["error"]["code"]) == (422, "message_deleted")


def test_a_message_carries_at_most_fifty_kinds(api: httpx.Client) -> None:
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    message = message_in(api, alice, chat)
    for i in range(50):
        assert react(api, alice, message, f"e{i}").status_code == 200
    over = react(api, bob, message, "one-more")
    assert (over.status_code, over.json()["error"]["code"]) == (409, "too_many_reactions")
    assert react(api, bob, message, "e7").json()["count"] == 2  # an existing one still counts
