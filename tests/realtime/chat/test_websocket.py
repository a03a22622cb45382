"""Plain WebSocket: real clients on a real server, every database backend."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.accounts import Account, befriend, direct_chat, login, register
from tests.support.clients import WsClient
from tests.support.server import ServerProcess


@pytest.fixture
async def opened(server: ServerProcess) -> AsyncIterator[list[WsClient]]:
    """Clients a test opens; all closed at the end."""
    clients: list[WsClient] = []
    yield clients
    for client in clients:
        await client.close()


async def ws(server: ServerProcess, opened: list[WsClient], who: Account, **kw: str) -> WsClient:
    client = await WsClient.open(server.base_url, who.access_token, **kw)
    opened.append(client)
    return client


async def test_a_message_reaches_every_device_of_every_member(
    api: httpx.Client, server: ServerProcess, opened: list[WsClient]
) -> None:
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    alice_phone = await ws(server, opened, alice)
    assert alice.access_token not in server.log()  # tokens in URLs are redacted from logs
    alice_laptop = await ws(server, opened, alice, path="/api/ws")
    bob_phone, bob_laptop = await ws(server, opened, bob), await ws(server, opened, bob)

    acked = await alice_phone.ack(
        "send_message", {"conversation_id": chat, "content": "hi bob", "client_msg_id": "m1"}
    )
    assert acked["content"] == "hi bob"
    assert acked["seq"] == 1
    for device in (bob_phone, bob_laptop, alice_laptop):
        frame = await device.expect("new_message")
        assert frame["data"]["id"] == acked["id"]
        assert frame["data"]["sender"]["username"] == alice.username
    # The sending connection had its ack; it does not get the message a second time.
    assert await alice_phone.seen_by_now("new_message") == []


async def test_without_an_id_the_sender_gets_the_seed_style_echo(
    api: httpx.Client, server: ServerProcess, opened: list[WsClient]
) -> None:
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    alice_ws, bob_ws = await ws(server, opened, alice), await ws(server, opened, bob)
    await alice_ws.send(
        {
            "type": "SEND_MESSAGE",
            "sender_id": alice.id,
            "timestamp": 1,
            "data": {"chat_room_id": chat, "content": "hello", "mime_type": "text/plain"},
        }
    )
    echoed = await alice_ws.expect("NEW_MESSAGE")  # answered in the case it spoke
    received = await bob_ws.expect("new_message")
    assert echoed["data"]["id"] == received["data"]["id"]
    assert received["data"]["type"] == "text"


async def test_messages_sent_over_rest_arrive_on_sockets(
    api: httpx.Client, server: ServerProcess, opened: list[WsClient]
) -> None:
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    bob_ws = await ws(server, opened, bob)
    sent = api.post(
        f"/api/v1/conversations/{chat}/messages",
        headers=alice.headers,
        json={"content": "via rest"},
    ).json()
    frame = await bob_ws.expect("new_message")
    assert frame["data"]["id"] == sent["id"]


async def test_rooms_join_typing_receipts_and_leave(
    api: httpx.Client, server: ServerProcess, opened: list[WsClient]
) -> None:
    alice, bob = register(api), register(api)
    room = f"room-{uuid.uuid4().hex[:8]}"
    alice_ws, bob_ws = await ws(server, opened, alice), await ws(server, opened, bob)

    await alice_ws.send({"type": "join_room", "data": {"conversation_id": room}})
    joined = await alice_ws.expect("join_success")
    room_id = joined["data"]["conversation_id"]
    users = await alice_ws.expect("users")
    assert users["data"]["users"] == [alice.id]

    bob_join = await bob_ws.ack("join_room", {"room_id": room})  # by name, as seed 001 does
    assert bob_join["conversation_id"] == room_id
    assert set(bob_join["users"]) == {alice.id, bob.id}
    arrived = await alice_ws.expect("user_joined")
    assert (arrived["data"]["user_id"], arrived["data"]["username"]) == (bob.id, bob.username)

    await bob_ws.ack("typing", {"conversation_id": room_id, "is_typing": True})
    typing = await alice_ws.expect("typing")
    assert (typing["data"]["user_id"], typing["data"]["is_typing"]) == (bob.id, True)
    # Bob never says he stopped: the indicator ends by itself (TYPING_TTL_SECS=1 in tests).
    stopped = await alice_ws.expect("typing", timeout=5)
    assert stopped["data"]["is_typing"] is False

    sent = await bob_ws.ack("send_message", {"conversation_id": room_id, "content": "yo"})
    await alice_ws.expect("new_message")
    await alice_ws.ack("read_receipt", {"conversation_id": room_id, "message_id": sent["id"]})
    receipt = await bob_ws.expect("read_receipt")
    assert (receipt["data"]["user_id"], receipt["data"]["last_read_seq"]) == (alice.id, 1)

    await bob_ws.ack("leave_room", {"conversation_id": room_id})
    left = await alice_ws.expect("user_left")
    assert left["data"]["user_id"] == bob.id
    # Having left the view, Bob no longer sees typing, but as a member still gets messages.
    bob_ws.seen.clear()
    await alice_ws.ack("typing", {"conversation_id": room_id, "status": "start"})
    await alice_ws.ack("send_message", {"conversation_id": room_id, "content": "still there?"})
    await bob_ws.expect("new_message")
    assert await bob_ws.seen_by_now("typing") == []


async def test_presence_online_offline_and_last_seen(
    api: httpx.Client, server: ServerProcess, opened: list[WsClient]
) -> None:
    alice, bob = register(api), register(api)
    # Friends may watch each other (people who share no conversation and are not friends may
    # not); friends hear presence only by subscribing.
    befriend(api, alice, bob)
    alice_ws = await ws(server, opened, alice)
    status = await alice_ws.ack("subscribe_status", {"target_user_id": bob.id})
    assert (status["type"], status["is_online"]) == ("user_offline", False)

    bob_phone = await WsClient.open(server.base_url, bob.access_token)
    online = await alice_ws.expect("user_online")
    assert (online["data"]["user_id"], online["data"]["is_online"]) == (bob.id, True)
    bob_laptop = await WsClient.open(server.base_url, bob.access_token)
    await bob_phone.close()  # one device left: still online
    await bob_laptop.close()
    offline = await alice_ws.expect("user_offline", timeout=5)
    assert offline["data"]["last_seen"] is not None
    user = api.get(f"/api/v1/users/{bob.id}", headers=alice.headers).json()
    assert user["is_online"] is False
    assert user["last_seen"] is not None
    # Bob comes back: a later frame about him on this connection, so any stray one sent
    # before it (a re-announcement, a second offline) has arrived by then.
    bob_again = await WsClient.open(server.base_url, bob.access_token)
    await alice_ws.expect("user_online")
    await bob_again.close()
    # Online once, offline once before that: the second device neither re-announced nor
    # ended it early.
    assert [f["type"] for f in alice_ws.seen if f["type"].startswith("user_o")] == [
        "user_online",
        "user_offline",
        "user_online",
    ]


async def test_peers_in_a_direct_chat_hear_presence_without_subscribing(
    api: httpx.Client, server: ServerProcess, opened: list[WsClient]
) -> None:
    alice, bob = register(api), register(api)
    direct_chat(api, alice, bob)
    alice_ws = await ws(server, opened, alice)
    bob_ws = await WsClient.open(server.base_url, bob.access_token)
    online = await alice_ws.expect("user_online")
    assert online["data"]["user_id"] == bob.id
    await bob_ws.close()


async def test_bad_frames_get_errors_and_the_connection_survives(
    api: httpx.Client, server: ServerProcess, opened: list[WsClient]
) -> None:
    alice, stranger = register(api), register(api)
    bob = register(api)
    chat = direct_chat(api, alice, bob)
    client = await ws(server, opened, stranger)

    await client.send("{not json")
    assert (await client.expect("error"))["code"] == "bad_frame"
    await client.send("[1, 2]")
    assert (await client.expect("error"))["code"] == "bad_frame"
    unknown = await client.command("teleport", {})
    assert unknown["code"] == "unknown_type"
    missing = await client.command("send_message", {"content": "where to?"})
    assert missing["code"] == "validation_error"
    assert missing["details"]["fields"][0]["field"] == "conversation_id"
    wrong_type = await client.command("send_message", {"conversation_id": chat, "content": 5})
    assert wrong_type["code"] == "validation_error"
    not_member = await client.command("send_message", {"conversation_id": chat, "content": "x"})
    assert not_member["code"] == "not_a_member"
    too_long = await (await ws(server, opened, alice)).command(
        "send_message", {"conversation_id": chat, "content": "x" * 10_001}
    )
    assert too_long["code"] == "message_too_long"
    nowhere = await client.command("join_room", {"conversation_id": str(uuid.uuid4())})
    assert nowhere["code"] == "conversation_not_found"
    # Still alive, and nothing was half-written.
    assert await client.ack("ping") == {"pong": True}
    history = api.get(f"/api/v1/conversations/{chat}/messages", headers=alice.headers)
    assert history.json()["messages"] == []


async def test_authentication_by_frame_by_header_and_refusals(
    api: httpx.Client, server: ServerProcess, opened: list[WsClient]
) -> None:
    alice = register(api)
    by_frame = await WsClient.open(server.base_url)
    opened.append(by_frame)
    before = await by_frame.command("send_message", {"conversation_id": "x", "content": "y"})
    assert before["code"] == "not_authenticated"
    await by_frame.send({"type": "auth", "data": {"token": alice.access_token}})
    assert (await by_frame.expect("authenticated"))["data"]["user_id"] == alice.id
    again = await by_frame.command("auth", {})
    assert again["code"] == "already_authenticated"
    renewed = await by_frame.ack("auth", {"token": alice.access_token})  # a token renewal
    assert (renewed["user_id"], renewed["renewed"]) == (alice.id, True)

    forged = await WsClient.open(server.base_url, "not-a-token", expect_auth=False)
    error = await forged.expect("error")
    assert error["code"] == "invalid_token"
    with pytest.raises(ConnectionClosed) as closed:
        await forged.expect("never")
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4401

    silent = await WsClient.open(server.base_url)
    with pytest.raises(ConnectionClosed) as timed_out:
        await silent.expect("never", timeout=5)
    assert timed_out.value.rcvd is not None
    assert timed_out.value.rcvd.code == 4408


async def test_a_revoked_session_cannot_open_a_socket(
    api: httpx.Client, server: ServerProcess
) -> None:
    alice = register(api)
    api.post("/api/v1/auth/logout", headers=alice.headers)
    client = await WsClient.open(server.base_url, alice.access_token, expect_auth=False)
    assert (await client.expect("error"))["code"] == "session_revoked"
    with pytest.raises(ConnectionClosed):
        await client.expect("never")


async def test_gochat_bare_frames(
    api: httpx.Client, server: ServerProcess, opened: list[WsClient]
) -> None:
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    alice_ws = await ws(server, opened, alice)
    bob_ws = await ws(server, opened, bob, query="dialect=flat")
    await alice_ws.send({"conversation_id": chat, "content": "Hey Bob!"})
    frame = await bob_ws.next(lambda f: "content" in f)
    assert (frame["conversation_id"], frame["sender_id"], frame["content"]) == (
        chat,
        alice.id,
        "Hey Bob!",
    )
    assert frame["sender_username"] == alice.username
    assert frame["type"] == "text"
    assert isinstance(frame["sent_at"], int)


async def test_members_added_later_receive_at_once(
    api: httpx.Client, server: ServerProcess, opened: list[WsClient]
) -> None:
    owner, newcomer = register(api), register(api)
    group = api.post(
        "/api/v1/conversations",
        headers=owner.headers,
        json={"name": "later", "participant_ids": []},
    ).json()
    newcomer_ws = await ws(server, opened, newcomer)
    api.post(
        f"/api/v1/conversations/{group['id']}/members",
        headers=owner.headers,
        json={"user_id": newcomer.id},
    )
    joined = await newcomer_ws.expect("conversation_joined")
    assert joined["data"]["conversation_id"] == group["id"]
    api.post(
        f"/api/v1/conversations/{group['id']}/messages",
        headers=owner.headers,
        json={"content": "welcome"},
    )
    assert (await newcomer_ws.expect("new_message"))["data"]["content"] == "welcome"


async def test_broadcast_reaches_room_members(
    api: httpx.Client, server: ServerProcess, opened: list[WsClient]
) -> None:
    from tests.support.server import API_KEY

    listener = register(api)
    room = f"alerts-{uuid.uuid4().hex[:8]}"
    client = await ws(server, opened, listener)
    await client.ack("join_room", {"room_id": room})
    response = api.post(
        "/messages",
        headers={"X-API-Key": API_KEY},
        json={"room_id": room, "content": "Hello World", "username": "System"},
    )
    assert response.status_code == 201
    frame = await client.expect("new_message")
    assert (frame["data"]["content"], frame["data"]["sender_username"]) == ("Hello World", "System")


async def test_seeded_users_chat_over_api_ws(
    api: httpx.Client, server: ServerProcess, opened: list[WsClient]
) -> None:
    from tests.support.accounts import run_cli

    assert run_cli(server, "seed").returncode == 0
    customer, agent = login(api, "customer1", "password123"), login(api, "agent1", "password123")
    chat = api.post(
        "/api/v1/conversations",
        headers=customer.headers,
        json={"customerId": customer.id, "agentId": agent.id},
    ).json()
    agent_ws = await ws(server, opened, agent, path="/api/ws")
    customer_ws = await ws(server, opened, customer, path="/api/ws")
    await agent_ws.send({"type": "join_chat", "data": {"chatId": chat["id"]}})
    await agent_ws.expect("join_success")
    await customer_ws.send(
        {
            "type": "send_message",
            "data": {"chatId": chat["id"], "content": "Hello!", "messageType": "text"},
        }
    )
    frame = await agent_ws.expect("new_message")
    assert frame["data"]["content"] == "Hello!"


async def test_clients_joining_a_new_room_at_once_all_land_in_it(
    api: httpx.Client, server: ServerProcess, opened: list[WsClient]
) -> None:
    people = [register(api) for _ in range(12)]
    clients = [await ws(server, opened, who) for who in people]
    room = f"rush-{uuid.uuid4().hex[:8]}"
    replies = await asyncio.gather(*(c.command("join_room", {"room_id": room}) for c in clients))
    assert [r["type"] for r in replies] == ["ack"] * len(people), replies
    assert len({r["data"]["conversation_id"] for r in replies}) == 1
    detail = api.get(
        f"/api/v1/conversations/{replies[0]['data']['conversation_id']}", headers=people[0].headers
    ).json()
    assert {m["user_id"] for m in detail["members"]} == {p.id for p in people}
