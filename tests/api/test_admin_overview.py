"""`GET /api/v1/admin/overview`, what the admin dashboard reads, on every database: counts
from the tables, messages per second from the message ids' time (UUIDv7), recent error codes
from this instance's ring, live instances from presence; admins only."""

from __future__ import annotations

import json
import uuid

import httpx
import websockets

from tests.support.accounts import create_admin, register
from tests.support.server import ServerProcess
from tests.support.sio import SioClient


def test_the_overview_counts_what_happened(api: httpx.Client, server: ServerProcess) -> None:
    admin, customer = create_admin(api, server), register(api)
    before = api.get("/api/v1/admin/overview", headers=admin.headers).json()
    chat = api.post("/api/v1/conversations", headers=customer.headers, json={"kind": "support"})
    assert chat.status_code == 201, chat.text
    room = api.post(
        "/api/v1/rooms", headers=customer.headers, json={"name": f"r{uuid.uuid4().hex}"}
    )
    assert room.status_code == 201, room.text
    for n in range(5):
        sent = api.post(
            f"/api/v1/conversations/{chat.json()['id']}/messages",
            headers=customer.headers,
            json={"content": f"help {n}"},
        )
        assert sent.status_code == 201, sent.text
    missing = api.get(f"/api/v1/conversations/{uuid.uuid4()}", headers=customer.headers)
    code = missing.json()["error"]["code"]

    after = api.get("/api/v1/admin/overview", headers=admin.headers).json()
    assert after["support_chats"].get("active", 0) == before["support_chats"].get("active", 0) + 1
    assert after["rooms"] == before["rooms"] + 1
    # Five messages in the last 10 s (and none counted from before the window).
    assert after["messages_per_sec"] >= 0.5
    assert after["recent_errors"][0] == {
        "at": after["recent_errors"][0]["at"],
        "code": code,
        "source": "rest GET /api/v1/conversations/{conversation_id}",
    }
    assert after["errors_total"] >= before["errors_total"] + 1
    here = after["instance"]
    assert after["instances"] == [
        {"id": here["id"], "connections": here["connections"], "this": True}
    ]
    assert after["connections"] == here["connections"]
    assert after["users"]["active"] >= 2
    assert set(after["instance"]) == {"id", "connections", "socketio_sessions"}


def test_only_admins_read_it(api: httpx.Client) -> None:
    someone = register(api)
    refused = api.get("/api/v1/admin/overview", headers=someone.headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "role_required"
    assert api.get("/api/v1/admin/overview").status_code == 401


async def test_socket_errors_are_listed_too(api: httpx.Client, server: ServerProcess) -> None:
    admin, someone = create_admin(api, server), register(api)
    client = SioClient()
    await client.connect(server.base_url, auth={"token": someone.access_token, "recovery": False})
    try:
        answer = await client.call("join", {"room_id": str(uuid.uuid4())})
    finally:
        await client.disconnect()
    code = answer["error"]["code"]
    async with websockets.connect(
        server.base_url.replace("http", "ws") + f"/ws?token={someone.access_token}"
    ) as ws:
        await ws.recv()  # authenticated
        await ws.send(json.dumps({"type": "no_such_frame", "id": "1", "data": {}}))
        frame = json.loads(await ws.recv())
    assert frame["type"] == "error"
    latest = api.get("/api/v1/admin/overview", headers=admin.headers).json()["recent_errors"]
    assert [(e["code"], e["source"]) for e in latest[:2]] == [
        (frame["code"], "ws /ws"),
        (code, "socket.io / join"),
    ]
