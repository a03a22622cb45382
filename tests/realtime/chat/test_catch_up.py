"""Reconnecting clients get what they missed, in order, before new messages, once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import socketio

from tests.support.accounts import Account, direct_chat, register
from tests.support.clients import RECEIVE_TIMEOUT_SECS, WsClient
from tests.support.server import ServerProcess


def send(api: httpx.Client, who: Account, chat: str, text: str) -> int:
    response = api.post(
        f"/api/v1/conversations/{chat}/messages", headers=who.headers, json={"content": text}
    )
    assert response.status_code == 201
    return int(response.json()["seq"])


async def test_websocket_catch_up_comes_before_new_messages(
    api: httpx.Client, server: ServerProcess
) -> None:
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    first = await WsClient.open(server.base_url, alice.access_token)
    send(api, bob, chat, "one")
    last_seen = (await first.expect("new_message"))["data"]["seq"]
    await first.close()
    send(api, bob, chat, "two")
    send(api, bob, chat, "three")

    again = await WsClient.open(server.base_url)
    await again.send(
        {"type": "auth", "data": {"token": alice.access_token, "since": {chat: last_seen}}}
    )
    synced = await again.expect("synced")
    report = synced["data"]["conversations"][chat]
    assert (report["delivered"], report["last_seq"], report["has_more"]) == (2, 3, False)
    send(api, bob, chat, "four")
    await again.next(lambda f: f.get("data", {}).get("content") == "four")
    contents = [f["data"]["content"] for f in again.seen if f["type"] == "new_message"]
    assert contents == ["two", "three", "four"]  # in order, missed first, nothing twice
    await again.close()


async def test_socketio_catch_up_at_connect_and_on_demand(
    api: httpx.Client, server: ServerProcess
) -> None:
    alice, bob, stranger = register(api), register(api), register(api)
    chat = direct_chat(api, alice, bob)
    for text in ("a", "b", "c"):
        send(api, bob, chat, text)
    received: list[dict[str, Any]] = []
    synced: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    client = socketio.AsyncClient(reconnection=False)
    client.on("message", lambda data, *offset: received.append(data))
    client.on("synced", lambda data: synced.put_nowait(data))
    await client.connect(
        server.base_url,
        auth={"token": alice.access_token, "since": {chat: 1}},
        transports=["websocket"],
        wait_timeout=RECEIVE_TIMEOUT_SECS,
    )
    try:
        report = await asyncio.wait_for(synced.get(), RECEIVE_TIMEOUT_SECS)
        assert report["conversations"][chat]["delivered"] == 2
        assert [m["content"] for m in received] == ["b", "c"]

        other = direct_chat(api, stranger, bob)
        answer = await client.call(
            "sync", {"since": {chat: 0, other: 0}}, timeout=RECEIVE_TIMEOUT_SECS
        )
        assert answer["conversations"][chat]["delivered"] == 3
        assert answer["conversations"][other]["error"]["code"] == "not_a_member"
    finally:
        await client.disconnect()


def test_rest_history_since_a_seq(api: httpx.Client) -> None:
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    for i in range(5):
        send(api, alice, chat, f"m{i}")
    page = api.get(
        f"/api/v1/conversations/{chat}/messages",
        params={"after_seq": 2, "limit": 2},
        headers=bob.headers,
    ).json()
    assert [m["seq"] for m in page["messages"]] == [3, 4]
    assert page["has_more"] is True
    rest = api.get(
        f"/api/v1/conversations/{chat}/messages", params={"after_seq": 4}, headers=bob.headers
    ).json()
    assert [m["content"] for m in rest["messages"]] == ["m4"]
    assert rest["has_more"] is False
    assert str(uuid.UUID(chat)) == chat
