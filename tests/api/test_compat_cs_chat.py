"""The customer-service chat seed's own REST API, as its clients call it."""

from __future__ import annotations

import httpx

from tests.support.accounts import run_cli, unique_username
from tests.support.server import ServerProcess


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
