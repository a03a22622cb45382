"""The Realtime Chat App seed (003), as its clients use `/ws`: upper-case frames, its message
structure, answered in kind."""

from __future__ import annotations

import httpx

from tests.support.accounts import Account, direct_chat, register
from tests.support.clients import WsClient
from tests.support.server import ServerProcess


async def seed_socket(server: ServerProcess, who: Account) -> WsClient:
    """`ws://…/ws` after authentication, the JWT in the Authorization header."""
    return await WsClient.open(server.base_url, headers=who.headers)


async def test_frames_keep_the_seeds_case_and_structure(
    api: httpx.Client, server: ServerProcess
) -> None:
    alice, bob = register(api), register(api)
    room = direct_chat(api, alice, bob)
    alice_ws, bob_ws = await seed_socket(server, alice), await seed_socket(server, bob)
    try:
        bob_ws.seen.clear()  # `authenticated` came before bob said anything
        await bob_ws.send({"type": "JOIN_ROOM", "data": {"chat_room_id": room}})
        joined = await bob_ws.expect("JOIN_SUCCESS")
        assert joined["data"]["chat_room_id" if "chat_room_id" in joined["data"] else "room_id"]
        users = await bob_ws.expect("USERS")
        assert bob.id in str(users["data"])

        await alice_ws.send({"type": "JOIN_ROOM", "data": {"chat_room_id": room}})
        await alice_ws.expect("JOIN_SUCCESS")
        arrived = await bob_ws.expect("USER_JOINED")
        assert arrived["data"]["user_id"] == alice.id

        # The seed's message format, to the letter.
        await alice_ws.send(
            {
                "type": "SEND_MESSAGE",
                "sender_id": alice.id,
                "timestamp": 1686123456789,
                "data": {
                    "chat_room_id": room,
                    "content": "Hello world!",
                    "mime_type": "text/plain",
                },
            }
        )
        message = await bob_ws.expect("NEW_MESSAGE")
        assert message["sender_id"] == alice.id
        assert isinstance(message["timestamp"], int)
        assert message["data"]["chat_room_id"] == room
        assert message["data"]["content"] == "Hello world!"
        assert message["data"]["mime_type"] == "text/plain"
        echoed = await alice_ws.expect("NEW_MESSAGE")  # the sender's own copy, no id asked
        assert echoed["data"]["id"] == message["data"]["id"]

        await alice_ws.send({"type": "TYPING", "data": {"chat_room_id": room}})
        await alice_ws.send({"type": "READ_RECEIPT", "data": {"chat_room_id": room}})
        await alice_ws.send({"type": "PING"})
        await alice_ws.expect("PONG")

        await alice_ws.send({"type": "LEAVE_ROOM", "data": {"chat_room_id": room}})
        left = await bob_ws.expect("USER_LEFT")
        assert left["data"]["user_id"] == alice.id
        # Once it spoke, nothing came back in lower case to a client that speaks upper case.
        assert not [f for f in bob_ws.seen if str(f.get("type", "")).islower()], bob_ws.seen
        # An unknown upper-case type changes nothing: an `id`'d command is still acked so.
        await bob_ws.send({"type": "NO_SUCH_THING"})
        assert (await bob_ws.command("ping"))["type"] == "ack"
    finally:
        await alice_ws.close()
        await bob_ws.close()


async def test_an_image_type_round_trips(api: httpx.Client, server: ServerProcess) -> None:
    alice, bob = register(api), register(api)
    room = direct_chat(api, alice, bob)
    alice_ws, bob_ws = await seed_socket(server, alice), await seed_socket(server, bob)
    try:
        await bob_ws.send({"type": "PING"})
        await bob_ws.expect("PONG")  # bob now speaks the seed's dialect too
        await alice_ws.send(
            {
                "type": "SEND_MESSAGE",
                "data": {
                    "chat_room_id": room,
                    "content": "https://x/y.png",
                    "mime_type": "image/png",
                },
            }
        )
        message = await bob_ws.expect("NEW_MESSAGE")
        assert message["data"]["mime_type"] == "image/png"
        assert message["data"]["type"] == "image"
        history = api.get(f"/api/v1/conversations/{room}/messages", headers=bob.headers).json()
        assert history["messages"][-1]["payload"] == {"mime_type": "image/png"}
    finally:
        await alice_ws.close()
        await bob_ws.close()


async def test_a_bad_frame_is_refused_and_the_socket_stays(
    api: httpx.Client, server: ServerProcess
) -> None:
    alice = register(api)
    alice_ws = await seed_socket(server, alice)
    try:
        await alice_ws.send({"type": "SEND_MESSAGE", "data": {"content": "no room"}})
        refused = await alice_ws.expect("error")  # Parley's own answers keep their names
        assert refused["code"] == "validation_error"
        await alice_ws.send({"type": "PING"})
        await alice_ws.expect("PONG")  # the connection lives on
    finally:
        await alice_ws.close()
