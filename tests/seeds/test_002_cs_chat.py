"""The customer-service chat seed (002), as its clients use it: its REST API and `/api/ws`."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.accounts import run_cli, unique_username
from tests.support.clients import WsClient
from tests.support.server import ServerProcess, start_server
from tests.support.services import create_postgres_database


def sign_in(api: httpx.Client, username: str, password: str = "password123") -> dict:  # type: ignore[type-arg]
    response = api.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_the_seed_clients_flow(api: httpx.Client, server: ServerProcess) -> None:
    assert run_cli(server, "seed").returncode == 0
    agent = sign_in(api, "agent1")
    assert set(agent) >= {"token", "user"}
    assert (agent["user"]["username"], agent["user"]["role"]) == ("agent1", "agent")
    assert "isOnline" in agent["user"]

    name = unique_username("cust")
    registered = api.post(
        "/api/auth/register",
        json={
            "username": name,
            "email": f"{name}@example.com",
            "password": "password123",
            "name": "New User",
            "role": "customer",
        },
    )
    assert registered.status_code == 201
    customer = registered.json()
    as_customer = {"Authorization": f"Bearer {customer['token']}"}
    as_agent = {"Authorization": f"Bearer {agent['token']}"}

    me = api.get("/api/users/me", headers=as_customer).json()
    assert me["name"] == "New User"
    online = api.put("/api/users/status", headers=as_customer, json={"isOnline": True})
    assert online.json()["isOnline"] is True
    assert any(u["username"] == "agent1" for u in api.get("/api/users", headers=as_customer).json())

    chat = api.post(
        "/api/chats",
        headers=as_customer,
        json={"customerId": customer["user"]["id"], "agentId": agent["user"]["id"]},
    )
    assert chat.status_code == 201, chat.text
    chat_id = chat.json()["id"]
    assert (chat.json()["customerId"], chat.json()["status"]) == (customer["user"]["id"], "active")
    sent = api.post(
        f"/api/chats/{chat_id}/messages",
        headers=as_agent,
        json={"content": "Hello, how can I help you?", "type": "text"},
    )
    assert sent.status_code == 201
    assert sent.json()["sender"]["role"] == "agent"
    api.post(
        f"/api/chats/{chat_id}/messages",
        headers=as_customer,
        json={"content": "My order is late", "type": "text"},
    )
    messages = api.get(f"/api/chats/{chat_id}/messages", headers=as_customer).json()
    assert [m["content"] for m in messages] == ["Hello, how can I help you?", "My order is late"]
    assert chat_id in {c["id"] for c in api.get("/api/chats", headers=as_agent).json()}

    closed = api.put(f"/api/chats/{chat_id}/status", headers=as_agent, json={"status": "closed"})
    assert closed.json()["status"] == "closed"
    assert api.put(f"/api/chats/{chat_id}/archive", headers=as_agent).json()["status"] == (
        "archived"
    )
    assert api.put(f"/api/chats/{chat_id}/unarchive", headers=as_agent).json()["status"] == (
        "active"
    )
    assert api.get(f"/api/chats/{chat_id}", headers=as_customer).json()["id"] == chat_id
    assert api.delete(f"/api/chats/{chat_id}", headers=as_agent).status_code == 200
    assert api.get(f"/api/chats/{chat_id}", headers=as_customer).status_code == 404

    assert api.post("/api/auth/logout", headers=as_customer).status_code == 200
    assert api.get("/api/users/me", headers=as_customer).status_code == 401


# -- its WebSocket, `/api/ws`, with the seed's frames -------------------------------------------


def seed_headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def seed_socket(server: ServerProcess, token: str) -> WsClient:
    """`GET /api/ws` with `Authorization: Bearer <token>`, as the seed's README connects."""
    return await WsClient.open(server.base_url, path="/api/ws", headers=seed_headers(token))


def new_customer(api: httpx.Client) -> dict:  # type: ignore[type-arg]
    name = unique_username("cust")
    body = {"username": name, "email": f"{name}@example.com", "password": "password123"}
    response = api.post("/api/auth/register", json={**body, "name": "C", "role": "customer"})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_the_seed_websocket_speaks_its_frames(
    api: httpx.Client, server: ServerProcess
) -> None:
    assert run_cli(server, "seed").returncode == 0
    agent = sign_in(api, "agent1")
    customer = new_customer(api)
    agent_ws = await seed_socket(server, agent["token"])
    try:
        customer_ws = await seed_socket(server, customer["token"])
        chat = api.post(
            "/api/chats",
            json={"customerId": customer["user"]["id"], "agentId": agent["user"]["id"]},
            headers=seed_headers(customer["token"]),
        )
        assert chat.status_code == 201, chat.text
        chat_id = chat.json()["id"]

        # Send Message / Join Chat Room, the seed's client frames.
        await customer_ws.send({"type": "join_chat", "data": {"chatId": chat_id}})
        await customer_ws.send(
            {
                "type": "send_message",
                "data": {"chatId": chat_id, "content": "Hello!", "messageType": "text"},
            }
        )
        frame = await agent_ws.next(
            lambda f: f.get("type") == "new_message" and f["data"].get("chatId") == chat_id
        )
        data = frame["data"]
        assert data["senderId"] == customer["user"]["id"]
        assert data["content"] == "Hello!"
        assert str(data["timestamp"]).endswith("Z")
        assert data["sender"] == {
            **data["sender"],
            "id": customer["user"]["id"],
            "name": "C",
            "role": "customer",
        }

        # User Status Change: the seed's manual switch reaches the other side of the chat.
        changed = api.put(
            "/api/users/status", json={"isOnline": False}, headers=seed_headers(customer["token"])
        )
        assert changed.status_code == 200, changed.text
        status = await agent_ws.next(
            lambda f: (
                f.get("type") == "user_status_change"
                and f["data"].get("userId") == customer["user"]["id"]
                and f["data"].get("isOnline") is False
            )
        )
        assert status["data"]["isOnline"] is False

        # Chat Status Updated.
        closed = api.put(
            f"/api/chats/{chat_id}/status",
            json={"status": "closed"},
            headers=seed_headers(agent["token"]),
        )
        assert closed.status_code == 200, closed.text
        updated = await customer_ws.next(
            lambda f: f.get("type") == "chat_status_updated" and f["data"].get("chatId") == chat_id
        )
        assert updated["data"]["status"] == "closed"
        await customer_ws.close()

        # A disconnect is a status change too.
        gone = await agent_ws.next(
            lambda f: (
                f.get("type") == "user_status_change"
                and f["data"].get("userId") == customer["user"]["id"]
                and f["data"].get("isOnline") is False
            )
        )
        assert gone["data"]["userId"] == customer["user"]["id"]
    finally:
        await agent_ws.close()


async def test_a_connect_is_a_user_status_change(api: httpx.Client, server: ServerProcess) -> None:
    assert run_cli(server, "seed").returncode == 0
    agent = sign_in(api, "agent1")
    customer = new_customer(api)
    chat = api.post(
        "/api/chats",
        json={"customerId": customer["user"]["id"], "agentId": agent["user"]["id"]},
        headers=seed_headers(customer["token"]),
    )
    assert chat.status_code == 201, chat.text
    agent_ws = await seed_socket(server, agent["token"])
    try:
        customer_ws = await seed_socket(server, customer["token"])
        online = await agent_ws.next(
            lambda f: (
                f.get("type") == "user_status_change"
                and f["data"].get("userId") == customer["user"]["id"]
            )
        )
        assert online["data"]["isOnline"] is True
        await customer_ws.close()
    finally:
        await agent_ws.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_fresh_database_gets_the_default_users_in_development(
    backend: str, tmp_path: Path
) -> None:
    database = create_postgres_database() if backend == "postgresql" else None
    url = database.url if database else f"sqlite:///{tmp_path / 'fresh.db'}"
    env = {"DATABASE_URL": url, "SEED_DEFAULT_USERS": "auto", "AUTO_MIGRATE": "true"}
    try:
        server = start_server(tmp_path / "server", env)
        try:
            with httpx.Client(base_url=server.base_url, timeout=15) as api:
                for username, role in [
                    ("agent1", "agent"),
                    ("agent2", "super-agent"),
                    ("customer1", "customer"),
                    ("customer2", "customer"),
                ]:
                    assert sign_in(api, username)["user"]["role"] == role
            assert "password123" not in server.log()  # the password is the README's, not logged
        finally:
            server.stop()
        # Production never seeds known passwords.
        prod = start_server(
            tmp_path / "prod",
            {
                **env,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.db'}",
                "APP_ENV": "production",
                "CORS_ALLOWED_ORIGINS": "http://localhost",
            },
        )
        try:
            with httpx.Client(base_url=prod.base_url, timeout=15) as api:
                refused = api.post(
                    "/api/auth/login", json={"username": "agent1", "password": "password123"}
                )
                assert refused.status_code == 401
        finally:
            prod.stop()
    finally:
        if database:
            database.drop()
