"""Revocation across instances (PostgreSQL + Redis): a session ended or a role changed through
one instance acts on the live sockets another instance holds."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import socketio
from websockets.exceptions import ConnectionClosed

from tests.support.accounts import create_admin, direct_chat, login, register
from tests.support.clients import WsClient
from tests.support.deployment import two_instances
from tests.support.server import ServerProcess
from tests.support.sio import SioClient


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with two_instances(Path(tmp_path_factory.mktemp("revocation"))) as both:
        yield both.a, both.b


@pytest.fixture
def api_a(pair: tuple[ServerProcess, ServerProcess]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=pair[0].base_url, timeout=15) as client:
        yield client


@pytest.fixture
async def opened() -> AsyncIterator[list[WsClient | SioClient]]:
    clients: list[WsClient | SioClient] = []
    yield clients
    for client in clients:
        if isinstance(client, WsClient):
            await client.close()
        else:
            await client.disconnect()


async def _both_sockets(
    server: ServerProcess, token: str, opened: list[WsClient | SioClient]
) -> tuple[WsClient, SioClient]:
    """A `/ws` and a Socket.IO connection of one user on `server`, signed in; the Socket.IO
    client's disconnect reason lands in its `disconnect` queue."""
    ws = await WsClient.open(server.base_url, token)
    opened.append(ws)
    sio = SioClient()
    opened.append(sio)

    async def disconnected(reason: str) -> None:
        sio.queue("disconnect").put_nowait(reason)

    sio.client.on("disconnect", disconnected)
    await sio.connect(server.base_url, auth={"token": token})
    await sio.expect("authenticated")
    return ws, sio


async def _ended_with(ws: WsClient, sio: SioClient, code: str) -> None:
    """Both sockets were told `code` and closed by the server (`/ws`: 4401 with the code)."""
    with pytest.raises(ConnectionClosed) as closed:
        await ws.expect("never")
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4401, code)
    assert (await sio.expect("error"))["code"] == code
    assert await sio.expect("disconnect") == socketio.AsyncClient.reason.SERVER_DISCONNECT


async def test_logout_on_one_instance_closes_the_sockets_on_the_other(
    pair: tuple[ServerProcess, ServerProcess],
    api_a: httpx.Client,
    opened: list[WsClient | SioClient],
) -> None:
    _, b = pair
    alice, bob = register(api_a), register(api_a)
    chat = direct_chat(api_a, alice, bob)
    ws, sio = await _both_sockets(b, alice.access_token, opened)

    assert api_a.post("/api/v1/auth/logout", headers=alice.headers).status_code == 200
    error = await ws.expect("error")
    assert error["code"] == "session_revoked"
    # Whatever arrives after the revocation is refused (or finds the socket closed).
    with contextlib.suppress(ConnectionClosed):
        await ws.send(
            {"type": "send_message", "data": {"conversation_id": chat, "content": "too late"}}
        )
    await _ended_with(ws, sio, "session_revoked")

    history = api_a.get(f"/api/v1/conversations/{chat}/messages", headers=bob.headers).json()
    assert "too late" not in [m["content"] for m in history["messages"]]


async def test_a_logout_on_one_instance_refuses_the_token_on_the_other_where_it_was_live(
    pair: tuple[ServerProcess, ServerProcess],
    api_a: httpx.Client,
    opened: list[WsClient | SioClient],
) -> None:
    """B signs a second connect of a live device session in from its live socket
    (`transports/live_sessions.py`); A's logout ends both there, and B then refuses the token."""
    _, b = pair
    alice = register(api_a)
    first_ws, first_sio = await _both_sockets(b, alice.access_token, opened)
    second_ws, second_sio = await _both_sockets(b, alice.access_token, opened)

    assert api_a.post("/api/v1/auth/logout", headers=alice.headers).status_code == 200
    await _ended_with(first_ws, first_sio, "session_revoked")
    await _ended_with(second_ws, second_sio, "session_revoked")
    refused = SioClient()
    opened.append(refused)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect(b.base_url, auth={"token": alice.access_token})
    assert (await refused.expect("connect_error"))["data"]["code"] == "session_revoked"


async def test_a_role_change_on_one_instance_applies_on_the_other(
    pair: tuple[ServerProcess, ServerProcess],
    api_a: httpx.Client,
    opened: list[WsClient | SioClient],
) -> None:
    a, b = pair
    admin, other_admin = create_admin(api_a, a), create_admin(api_a, a)
    customer = register(api_a)
    chat = direct_chat(api_a, admin, customer)
    posted = [
        api_a.post(
            f"/api/v1/conversations/{chat}/messages",
            headers=customer.headers,
            json={"content": f"customer {i}"},
        ).json()["id"]
        for i in range(2)
    ]
    admin_phone = login(api_a, admin.username)
    ws = await WsClient.open(b.base_url, admin_phone.access_token)
    opened.append(ws)
    assert (await ws.ack("delete_message", {"message_id": posted[0]}))["deleted_at"]

    demoted = api_a.put(
        f"/api/v1/users/{admin.id}/role", headers=other_admin.headers, json={"role": "customer"}
    )
    assert demoted.status_code == 200
    # Events on one user's channel arrive in order: once this one is in, so is the role.
    group = api_a.post(
        "/api/v1/conversations",
        headers=other_admin.headers,
        json={"name": "after the demotion", "participant_ids": []},
    ).json()
    api_a.post(
        f"/api/v1/conversations/{group['id']}/members",
        headers=other_admin.headers,
        json={"user_id": admin.id},
    )
    await ws.expect("conversation_joined")
    refused = await ws.command("delete_message", {"message_id": posted[1]})
    assert (refused["type"], refused["code"]) == ("error", "not_the_sender")


async def test_disabling_an_account_on_one_instance_closes_its_sockets_on_the_other(
    pair: tuple[ServerProcess, ServerProcess],
    api_a: httpx.Client,
    opened: list[WsClient | SioClient],
) -> None:
    a, b = pair
    admin = create_admin(api_a, a)
    alice = register(api_a)
    ws, sio = await _both_sockets(b, alice.access_token, opened)

    disabled = api_a.put(
        f"/api/v1/users/{alice.id}/status", headers=admin.headers, json={"status": "disabled"}
    )
    assert disabled.status_code == 200, disabled.text
    assert (await ws.expect("error"))["code"] == "account_disabled"
    await _ended_with(ws, sio, "account_disabled")
    # Nor may it sign in again, on either instance.
    for server in pair:
        refused = api_a.post(
            f"{server.base_url}/api/v1/auth/login",
            json={"username": alice.username, "password": alice.password},
        )
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "account_disabled"


async def test_a_ban_on_one_instance_stops_the_room_on_the_other(
    pair: tuple[ServerProcess, ServerProcess],
    api_a: httpx.Client,
    opened: list[WsClient | SioClient],
) -> None:
    _, b = pair
    owner, bob, carol = register(api_a), register(api_a), register(api_a)
    name = f"ban-{uuid.uuid4().hex[:10]}"
    room = api_a.post("/api/v1/rooms", headers=owner.headers, json={"name": name}).json()["id"]
    for member in (bob, carol):
        assert api_a.post(f"/api/v1/rooms/{name}/join", headers=member.headers).is_success
    bob_ws = await WsClient.open(b.base_url, bob.access_token)
    opened.append(bob_ws)
    bob_sio = SioClient()
    opened.append(bob_sio)
    await bob_sio.connect(b.base_url, auth={"token": bob.access_token})
    carol_ws = await WsClient.open(b.base_url, carol.access_token)
    opened.append(carol_ws)

    banned = api_a.post(
        f"/api/v1/rooms/{name}/bans", headers=owner.headers, json={"user_id": bob.id}
    )
    assert banned.status_code == 201, banned.text
    assert (await bob_ws.expect("member_banned"))["data"]["conversation_id"] == room
    assert (await bob_sio.expect("member_banned"))["user_id"] == bob.id
    assert (await carol_ws.expect("member_banned"))["data"]["user_id"] == bob.id

    bob_ws.seen.clear()
    bob_sio.drain("message")
    sent = api_a.post(
        f"/api/v1/conversations/{room}/messages",
        headers=owner.headers,
        json={"content": "bob is gone"},
    )
    assert sent.status_code == 201
    # Carol, on the same instance as bob's sockets, hears it: the hub there has routed it.
    assert (await carol_ws.expect("new_message"))["data"]["content"] == "bob is gone"
    assert await bob_ws.seen_by_now("new_message") == []
    assert (await bob_sio.call("heartbeat"))["status"] == "alive"
    assert bob_sio.drain("message") == []
    refused = await bob_ws.command("join_room", {"room_id": name})
    assert refused.get("data", refused)["code"] == "banned_from_room"
