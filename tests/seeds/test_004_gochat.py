"""The GoChat seed (004): its Quick Test Flow, with Bob only listening.

A listener never shows its dialect on the wire, so a deployment for GoChat's clients sets
`WS_DIALECT=flat` (the README's seed table says so); a sender of the seed's bare frame gets
bare messages whatever the setting.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.support.clients import WsClient
from tests.support.server import ServerProcess, start_server

MESSAGE_FIELDS = {"id", "conversation_id", "sender_id", "sender_username", "content", "type"}


@pytest.fixture(scope="module")
def gochat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(tmp_path_factory.mktemp("gochat"), {"WS_DIALECT": "flat"})
    yield server
    server.stop()


def seed_user(api: httpx.Client, name: str) -> tuple[str, str]:
    """Register as the seed's README does; (user id, access token)."""
    email = f"{name}@test.com"
    body = {"email": email, "username": name, "password": "12345678"}
    registered = api.post("/api/v1/auth/register", json=body)
    assert registered.status_code == 201, registered.text
    logged_in = api.post("/api/v1/auth/login", json={"email": email, "password": "12345678"})
    assert logged_in.status_code == 200, logged_in.text
    tokens = logged_in.json()["tokens"]
    assert set(tokens) >= {"access_token", "refresh_token", "expires_in"}
    return logged_in.json()["user"]["id"], tokens["access_token"]


async def quick_test_flow(server: ServerProcess, suffix: str) -> tuple[WsClient, dict, str]:  # type: ignore[type-arg]
    with httpx.Client(base_url=server.base_url, timeout=15) as api:
        _, alice_token = seed_user(api, f"alice{suffix}")
        bob_id, bob_token = seed_user(api, f"bob{suffix}")
        created = api.post(
            "/api/v1/conversations",
            headers={"Authorization": f"Bearer {alice_token}"},
            json={"participant_id": bob_id},
        )
        assert created.status_code in (200, 201), created.text
        conversation = created.json()["id"]
    alice = await WsClient.open(server.base_url, alice_token)
    bob = await WsClient.open(server.base_url, bob_token)
    await alice.send({"conversation_id": conversation, "content": "Hey Bob!"})
    frame = await bob.next(
        lambda f: "Hey Bob!" in (f.get("content"), (f.get("data") or {}).get("content"))
    )
    await alice.close()
    return bob, frame, conversation


async def test_bob_only_listening_receives_the_bare_message(gochat_server: ServerProcess) -> None:
    bob, received, conversation = await quick_test_flow(gochat_server, "1")
    try:
        assert set(received) >= MESSAGE_FIELDS | {"sent_at"}, received
        assert received["conversation_id"] == conversation
        assert received["sender_username"] == "alice1"
        assert received["type"] == "text"
        assert isinstance(received["sent_at"], int)
    finally:
        await bob.close()


async def test_without_the_setting_a_listener_gets_parleys_envelope(
    server: ServerProcess,
) -> None:
    bob, received, _ = await quick_test_flow(server, uuid.uuid4().hex[:8])
    try:
        assert received["type"] == "new_message"
        assert received["data"]["content"] == "Hey Bob!"
    finally:
        await bob.close()
