"""The WebSocket Chat Server seed (001), as its Socket.IO clients use it: behind a trusted
gateway, `authenticate {user_id, username}` with the gateway's own ids, rooms named by the
client, `leave` ending the membership, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ServerProcess, start_server
from tests.support.services import create_postgres_database
from tests.support.sio import SioClient


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def gateway_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    root: Path = tmp_path_factory.mktemp("gateway")
    database = create_postgres_database() if request.param == "postgresql" else None
    url = database.url if database else f"sqlite:///{root}/parley.db"
    server = start_server(
        root, {"DATABASE_URL": url, "AUTO_MIGRATE": "true", "SIO_TRUST_GATEWAY_IDENTITY": "true"}
    )
    yield server
    server.stop()
    if database:
        database.drop()


async def seed_client(server: ServerProcess, user_id: str, username: str) -> tuple[SioClient, dict]:  # type: ignore[type-arg]
    client = SioClient()
    await client.connect(server.base_url)
    await client.emit("authenticate", {"user_id": user_id, "username": username})
    return client, await client.expect("authenticated")


async def test_the_seeds_room_flow(gateway_server: ServerProcess) -> None:
    suffix = uuid.uuid4().hex[:6]
    room = f"room-abc-{suffix}"
    john, john_said = await seed_client(gateway_server, f"user-123-{suffix}", "John Doe")
    jane, jane_said = await seed_client(gateway_server, f"user-456-{suffix}", "Jane Doe")
    try:
        assert john_said["username"] == "John Doe"  # named as the gateway named them
        await john.emit("join", {"room_id": room})
        users = await john.expect("room_users")
        assert users["room_id"] == room

        await jane.emit("join", {"room_id": room})
        assert (await jane.expect("room_users"))["room_id"] == room
        joined = await john.expect("user_joined")
        assert joined["room_id"] == room
        assert joined["user_id"] == jane_said["user_id"]

        await jane.emit(
            "message",
            {
                "room_id": room,
                "content": "Hello team!",
                "type": "text",
                "title": "Optional Title",
                "payload": {"custom": "data"},
                "attachment_urls": [],
            },
        )
        message = await john.expect_where("message", lambda m: m["content"] == "Hello team!")
        assert message["room_id"] == room
        assert message["title"] == "Optional Title"
        assert message["payload"] == {"custom": "data"}

        # subscribe_status with the gateway's id of the other user.
        await john.emit("subscribe_status", {"target_user_id": f"user-456-{suffix}"})
        status = await john.expect("user_online")
        assert status["user_id"] == jane_said["user_id"]

        # `leave` ends the membership: no more of the room's messages.
        await jane.emit("leave", {"room_id": room})
        left = await john.expect("user_left")
        assert left["room_id"] == room
        await john.emit("message", {"room_id": room, "content": "still there?"})
        await john.expect_where("message", lambda m: m["content"] == "still there?")  # echo
        ack = await jane.call("read", {"room_id": room})  # a round trip after the send
        assert "error" in ack  # no longer a member of the room
        assert not [m for m in jane.drain("message") if m["content"] == "still there?"]
    finally:
        await john.disconnect()
        await jane.disconnect()


async def test_a_gateway_id_is_one_account_on_every_connection(
    gateway_server: ServerProcess,
) -> None:
    gateway_id = f"user-{uuid.uuid4().hex[:8]}"
    first, said = await seed_client(gateway_server, gateway_id, "Ann")
    await first.disconnect()
    again, said_again = await seed_client(gateway_server, gateway_id, "Ann")
    try:
        assert said_again["user_id"] == said["user_id"]
        uuid.UUID(said["user_id"])  # a Parley account, linked to the gateway's id
    finally:
        await again.disconnect()


async def test_a_bad_gateway_identity_is_refused_and_the_socket_stays(
    gateway_server: ServerProcess,
) -> None:
    client = SioClient()
    await client.connect(gateway_server.base_url)
    try:
        refused = await client.call("authenticate", {"user_id": "x" * 500})
        assert refused["error"]["code"] == "validation_error"
        refused = await client.call("authenticate", {"user_id": ""})
        assert refused["error"]["code"] == "validation_error"
        await client.emit("authenticate", {"user_id": f"user-{uuid.uuid4().hex[:8]}"})
        assert (await client.expect("authenticated"))["user_id"]
    finally:
        await client.disconnect()
