"""Revocation reaches live sockets: logout, a deleted session, a reused refresh token, a
disabled account and a role change act on connections already open, on every endpoint; an
access token that expires closes its socket unless it was renewed in time."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import socketio
from websockets.exceptions import ConnectionClosed

from tests.support.accounts import Account, create_admin, direct_chat, login, register
from tests.support.clients import RECEIVE_TIMEOUT_SECS, WsClient
from tests.support.js import run_js
from tests.support.server import ServerProcess, start_server
from tests.support.sio import SioClient

SERVER_DISCONNECT = socketio.AsyncClient.reason.SERVER_DISCONNECT


class Sockets:
    """Clients a test opens, all closed at the end."""

    def __init__(self) -> None:
        self.ws: list[WsClient] = []
        self.sio: list[SioClient] = []

    async def open_ws(
        self, server: ServerProcess, token: str, path: str = "/ws", **kw: Any
    ) -> WsClient:
        client = await WsClient.open(server.base_url, token, path=path, **kw)
        self.ws.append(client)
        return client

    async def open_sio(
        self,
        server: ServerProcess,
        auth: dict[str, Any],
        namespace: str = "/",
        transports: list[str] | None = None,
    ) -> SioClient:
        client = SioClient(namespace)
        self.sio.append(client)

        async def disconnected(*reason: Any) -> None:
            client.queue("disconnect").put_nowait(reason[0] if reason else None)

        client.client.on("disconnect", disconnected, namespace=namespace)
        await client.connect(server.base_url, auth=auth, transports=transports)
        await client.expect("authenticated")
        return client


@pytest.fixture
async def sockets() -> AsyncIterator[Sockets]:
    opened = Sockets()
    yield opened
    for ws in opened.ws:
        await ws.close()
    for sio in opened.sio:
        await sio.disconnect()


async def close_of(client: WsClient) -> tuple[int, str]:
    """Waits for the server to close the socket: its close code and reason."""
    with pytest.raises(ConnectionClosed) as closed:
        await client.expect("never")
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def ended_by(client: WsClient, code: str) -> None:
    """The socket was told why (an error frame with `code`), then closed with 4401."""
    assert await close_of(client) == (4401, code)
    errors = [f for f in client.seen if f.get("type") == "error" and "id" not in f]
    assert [e["code"] for e in errors] == [code]


async def sio_ended_by(client: SioClient, code: str) -> None:
    """An `error` event with `code`, then a namespace DISCONNECT (python-socketio's reason
    "server disconnect" is socket.io-client's "io server disconnect")."""
    error = await client.expect("error")
    assert error["code"] == code
    assert error["message"]
    assert await client.expect("disconnect") == SERVER_DISCONNECT


async def try_send(client: WsClient, conversation_id: str, content: str) -> None:
    """A send over a socket that may already be closed."""
    with contextlib.suppress(ConnectionClosed):
        await client.send(
            {
                "type": "send_message",
                "id": "late",
                "data": {"conversation_id": conversation_id, "content": content},
            }
        )


def history(api: httpx.Client, reader: Account, conversation_id: str) -> list[str]:
    response = api.get(f"/api/v1/conversations/{conversation_id}/messages", headers=reader.headers)
    assert response.status_code == 200, response.text
    return [m["content"] for m in response.json()["messages"]]


# -- ending sessions ------------------------------------------------------------------------------


async def test_logout_closes_that_devices_websocket_and_nothing_it_sends_is_stored(
    api: httpx.Client, server: ServerProcess, sockets: Sockets
) -> None:
    alice, bob = register(api), register(api)
    alice_phone = login(api, alice.username)
    chat = direct_chat(api, alice, bob)
    laptop = await sockets.open_ws(server, alice.access_token)
    phone = await sockets.open_ws(server, alice_phone.access_token)

    assert api.post("/api/v1/auth/logout", headers=alice.headers).status_code == 200
    await try_send(laptop, chat, "after logout")
    await ended_by(laptop, "session_revoked")
    await phone.ack("ping")  # the other device's session lives on
    assert "after logout" not in history(api, bob, chat)


@pytest.mark.parametrize("transports", [["websocket"], ["polling"]])
async def test_deleting_a_session_disconnects_its_socketio_socket(
    api: httpx.Client, server: ServerProcess, sockets: Sockets, transports: list[str]
) -> None:
    alice, bob = register(api), register(api)
    other_device = login(api, alice.username)
    chat = direct_chat(api, alice, bob)
    socket = await sockets.open_sio(server, {"token": alice.access_token}, transports=transports)

    listed = api.get("/api/v1/auth/sessions", headers=other_device.headers).json()
    [first] = [s["id"] for s in listed if not s["current"]]
    deleted = api.delete(f"/api/v1/auth/sessions/{first}", headers=other_device.headers)
    assert deleted.status_code == 204
    await socket.emit("message", {"room_id": chat, "content": "after delete"})
    await sio_ended_by(socket, "session_revoked")
    assert "after delete" not in history(api, bob, chat)


async def test_logout_everywhere_and_the_seed_logout_close_live_sockets(
    api: httpx.Client, server: ServerProcess, sockets: Sockets
) -> None:
    alice = register(api)
    second = login(api, alice.username)
    third = login(api, alice.username)
    ws_first = await sockets.open_ws(server, alice.access_token)
    sio_second = await sockets.open_sio(server, {"token": second.access_token})
    ws_third = await sockets.open_ws(server, third.access_token)

    # The customer-service seed's logout ends this device's session only.
    assert api.post("/api/auth/logout", headers=alice.headers).status_code == 200
    await ended_by(ws_first, "session_revoked")
    assert (await sio_second.call("heartbeat"))["status"] == "alive"

    everywhere = api.post("/api/v1/auth/logout", headers=second.headers, json={"all_devices": True})
    assert everywhere.json()["sessions_revoked"] == 2
    await sio_ended_by(sio_second, "session_revoked")
    await ended_by(ws_third, "session_revoked")


async def test_a_reused_refresh_token_closes_the_sessions_sockets(
    api: httpx.Client, server: ServerProcess, sockets: Sockets
) -> None:
    alice = register(api)
    socket = await sockets.open_ws(server, alice.access_token)
    body = {"refresh_token": alice.refresh_token}
    assert api.post("/api/v1/auth/refresh", json=body).status_code == 200
    replayed = api.post("/api/v1/auth/refresh", json=body)
    assert replayed.json()["error"]["code"] == "refresh_token_reused"
    await ended_by(socket, "session_revoked")


async def test_disabling_an_account_closes_its_connections_on_every_endpoint(
    api: httpx.Client, server: ServerProcess, sockets: Sockets
) -> None:
    admin, alice, bob = create_admin(api, server), register(api), register(api)
    chat = direct_chat(api, alice, bob)
    auth = {"token": alice.access_token}
    chat_ws = await sockets.open_ws(server, alice.access_token)
    game_ws = await sockets.open_ws(server, alice.access_token, path="/ws/gameplay")
    chat_sio = await sockets.open_sio(server, auth)
    game_sio = await sockets.open_sio(server, auth, namespace="/gameplay")

    disabled = api.put(
        f"/api/v1/users/{alice.id}/status", headers=admin.headers, json={"status": "disabled"}
    )
    assert disabled.status_code == 200
    await chat_sio.emit("message", {"room_id": chat, "content": "while disabled"})
    await ended_by(chat_ws, "account_disabled")
    await ended_by(game_ws, "account_disabled")
    await sio_ended_by(chat_sio, "account_disabled")
    await sio_ended_by(game_sio, "account_disabled")
    assert "while disabled" not in history(api, bob, chat)


async def test_a_role_change_applies_to_live_sockets_at_once(
    api: httpx.Client, server: ServerProcess, sockets: Sockets
) -> None:
    admin, other_admin = create_admin(api, server), create_admin(api, server)
    customer = register(api)
    chat = direct_chat(api, admin, customer)
    posted = [
        api.post(
            f"/api/v1/conversations/{chat}/messages",
            headers=customer.headers,
            json={"content": f"customer {i}"},
        ).json()["id"]
        for i in range(2)
    ]
    socket = await sockets.open_sio(server, {"token": admin.access_token})
    assert (await socket.call("delete_message", {"message_id": posted[0]}))["deleted_at"]

    demoted = api.put(
        f"/api/v1/users/{admin.id}/role", headers=other_admin.headers, json={"role": "customer"}
    )
    assert demoted.status_code == 200
    refused = await socket.call("delete_message", {"message_id": posted[1]})
    over_rest = api.delete(f"/api/v1/messages/{posted[1]}", headers=admin.headers)
    assert over_rest.status_code == 403
    assert refused["error"]["code"] == over_rest.json()["error"]["code"] == "not_the_sender"


async def refused_connect(server: ServerProcess, token: str, namespace: str = "/") -> str:
    """A Socket.IO connect with `token` is refused: its CONNECT_ERROR's code."""
    client = SioClient(namespace)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(server.base_url, auth={"token": token})
    return str((await client.expect("connect_error"))["data"]["code"])


# A connect with a token whose session a live connection already holds signs in from that
# connection (`transports/live_sessions.py`): once the session or account ends, those
# connections end, and a new connect with the same token is refused as before.


@pytest.mark.parametrize("namespace", ["/", "/gameplay"])
async def test_a_token_whose_live_sessions_socket_was_ended_by_logout_is_refused(
    api: httpx.Client, server: ServerProcess, sockets: Sockets, namespace: str
) -> None:
    alice = register(api)
    auth = {"token": alice.access_token}
    first = await sockets.open_sio(server, auth, namespace=namespace)
    second = await sockets.open_sio(server, auth, namespace=namespace)  # from `first`
    assert (await second.call("heartbeat"))["status"] == "alive"

    assert api.post("/api/v1/auth/logout", headers=alice.headers).status_code == 200
    await sio_ended_by(first, "session_revoked")
    await sio_ended_by(second, "session_revoked")
    assert await refused_connect(server, alice.access_token, namespace) == "session_revoked"


@pytest.mark.parametrize("path", ["/ws", "/ws/gameplay"])
async def test_a_ws_token_whose_live_sessions_socket_was_ended_by_logout_is_refused(
    api: httpx.Client, server: ServerProcess, sockets: Sockets, path: str
) -> None:
    alice = register(api)
    first = await sockets.open_ws(server, alice.access_token, path=path)
    second = await sockets.open_ws(server, alice.access_token, path=path)  # from `first`
    assert (await second.ack("ping")) is not None

    assert api.post("/api/v1/auth/logout", headers=alice.headers).status_code == 200
    await ended_by(first, "session_revoked")
    await ended_by(second, "session_revoked")
    refused = await sockets.open_ws(server, alice.access_token, path=path, expect_auth=False)
    assert (await refused.expect("error"))["code"] == "session_revoked"
    assert (await close_of(refused))[0] == 4401


async def test_a_disabled_accounts_token_is_refused_after_its_live_socket_ended(
    api: httpx.Client, server: ServerProcess, sockets: Sockets
) -> None:
    admin, alice = create_admin(api, server), register(api)
    held = await sockets.open_sio(server, {"token": alice.access_token})
    disabled = api.put(
        f"/api/v1/users/{alice.id}/status", headers=admin.headers, json={"status": "disabled"}
    )
    assert disabled.status_code == 200
    await sio_ended_by(held, "account_disabled")
    # Disabling the account ended its sessions too.
    assert await refused_connect(server, alice.access_token) == "session_revoked"


async def test_a_connect_borrowing_a_live_session_takes_its_changed_role(
    api: httpx.Client, server: ServerProcess, sockets: Sockets
) -> None:
    admin, other_admin = create_admin(api, server), create_admin(api, server)
    customer = register(api)
    chat = direct_chat(api, admin, customer)
    posted = api.post(
        f"/api/v1/conversations/{chat}/messages",
        headers=customer.headers,
        json={"content": "customer"},
    ).json()["id"]
    await sockets.open_sio(server, {"token": admin.access_token})
    demoted = api.put(
        f"/api/v1/users/{admin.id}/role", headers=other_admin.headers, json={"role": "customer"}
    )
    assert demoted.status_code == 200
    later = await sockets.open_sio(server, {"token": admin.access_token})
    refused = await later.call("delete_message", {"message_id": posted})
    assert refused["error"]["code"] == "not_the_sender"


def test_the_official_js_client_sees_why_it_was_disconnected(
    api: httpx.Client, server: ServerProcess
) -> None:
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    outcome = run_js("revocation.mjs", server.base_url, alice.access_token, chat)
    assert outcome["logout"] == 200
    assert outcome["error"]["code"] == "session_revoked"
    assert outcome["reason"] == "io server disconnect"
    assert "after logout" not in history(api, bob, chat)


# -- access tokens that expire --------------------------------------------------------------------

TOKEN_TTL_SECS = 3


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server whose access tokens live 3 s; gateway identities are trusted too."""
    root = Path(tmp_path_factory.mktemp("short-lived"))
    process = start_server(
        root,
        {
            "DATABASE_URL": f"sqlite:///{root}/parley.db",
            "ACCESS_TOKEN_TTL": str(TOKEN_TTL_SECS),
            "SIO_TRUST_GATEWAY_IDENTITY": "true",
        },
    )
    yield process
    process.stop()


@pytest.fixture
def short_api(short_lived: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=short_lived.base_url, timeout=15) as client:
        yield client


def expiry_of(token: str) -> int:
    return int(jwt.decode(token, options={"verify_signature": False})["exp"])


def token_expiring_after(api: httpx.Client, account: Account, exp: int) -> str:
    """A fresh access token of the account that expires later than `exp` (tokens expire on
    whole seconds, so one made within the same second would not)."""
    refresh = account.refresh_token
    while True:
        tokens = api.post("/api/v1/auth/refresh", json={"refresh_token": refresh}).json()["tokens"]
        if expiry_of(tokens["access_token"]) > exp:
            account.refresh_token = tokens["refresh_token"]
            return str(tokens["access_token"])
        refresh = tokens["refresh_token"]


async def test_an_expired_token_closes_its_sockets(
    short_api: httpx.Client, short_lived: ServerProcess, sockets: Sockets
) -> None:
    alice, gateway_user = register(short_api), register(short_api)
    ws = await sockets.open_ws(short_lived, alice.access_token)
    sio = await sockets.open_sio(short_lived, {"token": alice.access_token})
    behind_gateway = SioClient()
    sockets.sio.append(behind_gateway)
    await behind_gateway.connect(short_lived.base_url)
    greeting = await behind_gateway.call("authenticate", {"user_id": gateway_user.id})
    assert greeting["user_id"] == gateway_user.id

    timeout = TOKEN_TTL_SECS + RECEIVE_TIMEOUT_SECS
    with pytest.raises(ConnectionClosed) as closed:
        await ws.expect("never", timeout=timeout)
    assert time.time() >= expiry_of(alice.access_token)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4401, "token_expired")
    error = await sio.expect("error", timeout=timeout)
    assert error["code"] == "token_expired"
    assert await sio.expect("disconnect") == SERVER_DISCONNECT
    # A gateway's identity has no token to expire.
    assert (await behind_gateway.call("heartbeat"))["status"] == "alive"


async def test_a_renewed_token_keeps_the_socket_open_until_it_expires(
    short_api: httpx.Client, short_lived: ServerProcess, sockets: Sockets
) -> None:
    alice = register(short_api)
    first_exp = expiry_of(alice.access_token)
    ws = await sockets.open_ws(short_lived, alice.access_token)
    sio = await sockets.open_sio(short_lived, {"token": alice.access_token})

    fresh = token_expiring_after(short_api, alice, first_exp)
    renewed = await ws.ack("auth", {"token": fresh})
    assert (renewed["user_id"], renewed["renewed"]) == (alice.id, True)
    again = await sio.call("authenticate", {"token": fresh})
    assert (again["user_id"], again["renewed"]) == (alice.id, True)

    timeout = 2 * TOKEN_TTL_SECS + RECEIVE_TIMEOUT_SECS
    error = await sio.expect("error", timeout=timeout)
    assert error["code"] == "token_expired"
    # It lived past the first token's expiry and ended with the second one's.
    assert time.time() >= expiry_of(fresh) > first_exp
    assert await close_of(ws) == (4401, "token_expired")


async def test_another_users_token_cannot_take_over_a_socket(
    short_api: httpx.Client, short_lived: ServerProcess, sockets: Sockets
) -> None:
    alice, mallory = register(short_api), register(short_api)
    ws = await sockets.open_ws(short_lived, alice.access_token)
    sio = await sockets.open_sio(short_lived, {"token": alice.access_token})

    refused = await ws.command("auth", {"token": mallory.access_token})
    assert (refused["type"], refused["code"]) == ("error", "token_user_mismatch")
    answer = await sio.call("authenticate", {"token": mallory.access_token})
    assert answer["error"]["code"] == "token_user_mismatch"
    garbage = await ws.command("auth", {"token": "not-a-token"})
    assert garbage["code"] == "invalid_token"
    # Still open, and still Alice's.
    assert (await ws.ack("ping"))["pong"] is True
    assert (await sio.call("heartbeat"))["status"] == "alive"
    assert (await sio.call("subscribe_status", {"target_user_id": alice.id}))["user_id"] == alice.id
