"""Socket.IO with the official python-socketio client, on every transport and database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import socketio
import socketio.exceptions

from tests.support.accounts import Account, register
from tests.support.clients import RECEIVE_TIMEOUT_SECS, WsClient
from tests.support.server import ServerProcess
from tests.support.sio import SioClient


@pytest.fixture
async def sio(server: ServerProcess) -> AsyncIterator[Any]:
    """A factory for connected clients; every one is disconnected at the end."""
    made: list[SioClient] = []

    async def connect(
        who: Account | None = None,
        *,
        transports: list[str] | None = None,
        auth: Any = None,
        **kw: Any,
    ) -> SioClient:
        client = SioClient()
        made.append(client)
        if auth is None and who is not None:
            auth = {"token": who.access_token}
        await client.client.connect(
            server.base_url,
            auth=auth,
            transports=transports or ["websocket"],
            wait_timeout=RECEIVE_TIMEOUT_SECS,
            **kw,
        )
        if who is not None and "token" in (auth or {}):
            await client.expect("authenticated")
        return client

    yield connect
    for client in made:
        await client.client.disconnect()


@pytest.mark.parametrize("transports", [["websocket"], ["polling", "websocket"], ["polling"]])
async def test_join_message_and_acks(api: httpx.Client, sio: Any, transports: list[str]) -> None:
    alice, bob = register(api), register(api)
    room = f"room-{uuid.uuid4().hex[:8]}"
    a = await sio(alice, transports=transports)
    b = await sio(bob, transports=transports)

    joined = await a.call("join", {"room_id": room})
    assert joined["users"] == [alice.id]
    assert (await a.expect("room_users"))["users"] == [alice.id]
    await b.call("join", {"room_id": room})
    arrived = await a.expect("user_joined")
    assert (arrived["user_id"], arrived["username"]) == (bob.id, bob.username)

    stored = await a.call(
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
    assert (stored["content"], stored["seq"], stored["title"]) == (
        "Hello team!",
        1,
        "Optional Title",
    )
    received = await b.expect("message")
    assert received["id"] == stored["id"]
    assert received["payload"] == {"custom": "data"}
    assert received["sender"]["username"] == alice.username


async def test_without_an_ack_the_sender_gets_the_message_as_an_event(
    api: httpx.Client, sio: Any
) -> None:
    alice = register(api)
    room = f"room-{uuid.uuid4().hex[:8]}"
    a = await sio(alice)
    await a.call("join", {"room_id": room})
    await a.client.emit("message", {"room_id": room, "content": "echo"})
    assert (await a.expect("message"))["content"] == "echo"


async def test_typing_receipts_leave_and_presence(api: httpx.Client, sio: Any) -> None:
    alice, bob = register(api), register(api)
    chat = api.post(
        "/api/v1/conversations", headers=alice.headers, json={"participant_id": bob.id}
    ).json()["id"]
    a = await sio(alice)
    status = await a.call("subscribe_status", {"target_user_id": bob.id})
    assert status["is_online"] is False
    assert (await a.expect("user_offline"))["user_id"] == bob.id

    b = await sio(bob)
    online = await a.expect("user_online")
    assert (online["type"], online["user_id"], online["is_online"]) == ("user_online", bob.id, True)
    await a.call("join", {"conversation_id": chat})
    await b.call("join", {"conversation_id": chat})
    await b.call("typing", {"room_id": chat, "status": "start"})
    typing = await a.expect("typing")
    assert (typing["user_id"], typing["is_typing"]) == (bob.id, True)

    sent = await a.call("message", {"conversation_id": chat, "content": "read me"})
    await b.call("read", {"room_id": chat, "message_id": sent["id"]})
    receipt = await a.expect("read_receipt")
    assert (receipt["user_id"], receipt["last_read_seq"]) == (bob.id, 1)

    await b.call("leave", {"room_id": chat})
    assert (await a.expect("user_left"))["user_id"] == bob.id
    await b.client.disconnect()
    offline = await a.expect("user_offline")
    assert offline["last_seen"] is not None


async def test_refused_and_late_authentication(
    api: httpx.Client, sio: Any, server: ServerProcess
) -> None:
    forged = SioClient()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await forged.client.connect(
            server.base_url,
            auth={"token": "forged"},
            transports=["websocket"],
            wait_timeout=RECEIVE_TIMEOUT_SECS,
        )
    refusal = await forged.expect("connect_error")
    assert refusal["data"]["code"] == "invalid_token"

    alice = register(api)
    late = await sio()  # no credentials yet: only `authenticate` works
    refused = await late.call("join", {"room_id": "anything"})
    assert refused["error"]["code"] == "not_authenticated"
    bare = await late.call("authenticate", {"user_id": alice.id, "username": "Alice"})
    assert bare["error"]["code"] == "token_required"  # no trusted gateway configured
    greeting = await late.call("authenticate", {"token": alice.access_token})
    assert greeting["user_id"] == alice.id
    assert (await late.expect("authenticated"))["username"] == alice.username

    by_query = await sio(
        auth={}, transports=["websocket"], headers={"Authorization": f"Bearer {alice.access_token}"}
    )
    assert (await by_query.expect("authenticated"))["user_id"] == alice.id

    silent = await sio()
    error = await silent.expect("error", timeout=5)
    assert error["code"] == "auth_timeout"


async def test_bad_input_gets_an_error_and_the_connection_stays(
    api: httpx.Client, sio: Any
) -> None:
    alice = register(api)
    a = await sio(alice)
    missing = await a.call("message", {"content": "where to?"})
    assert missing["error"]["code"] == "validation_error"
    assert missing["error"]["details"]["fields"][0]["field"] == "conversation_id"
    nowhere = await a.call("message", {"room_id": str(uuid.uuid4()), "content": "x"})
    assert nowhere["error"]["code"] == "conversation_not_found"
    await a.client.emit("teleport", {"to": "mars"})
    assert (await a.expect("error"))["code"] == "unknown_event"
    assert (await a.call("heartbeat", {}))["status"] == "alive"


async def test_socketio_and_plain_websocket_clients_talk(
    api: httpx.Client, sio: Any, server: ServerProcess
) -> None:
    alice, bob = register(api), register(api)
    room = f"mixed-{uuid.uuid4().hex[:8]}"
    a = await sio(alice)
    b = await WsClient.open(server.base_url, bob.access_token)
    try:
        await a.call("join", {"room_id": room})
        joined = await b.ack("join_room", {"conversation_id": room})
        await b.ack(
            "send_message", {"conversation_id": joined["conversation_id"], "content": "from ws"}
        )
        assert (await a.expect("message"))["content"] == "from ws"
        await a.call("message", {"room_id": room, "content": "from sio"})
        assert (await b.expect("new_message"))["data"]["content"] == "from sio"
    finally:
        await b.close()


async def test_edits_and_deletes_reach_the_other_members(api: httpx.Client, sio: Any) -> None:
    alice, bob = register(api), register(api)
    chat = api.post(
        "/api/v1/conversations", headers=alice.headers, json={"participant_id": bob.id}
    ).json()["id"]
    a, b = await sio(alice), await sio(bob)
    sent = await a.call("message", {"conversation_id": chat, "content": "teh"})
    await b.expect("message")
    edited = await a.call("edit_message", {"message_id": sent["id"], "content": "the"})
    assert edited["content"] == "the"
    assert (await b.expect("message_updated"))["content"] == "the"
    refused = await b.call("delete_message", {"message_id": sent["id"]})
    assert refused["error"]["code"] == "not_the_sender"
    await a.call("delete_message", {"message_id": sent["id"]})
    gone = await b.expect("message_deleted")
    assert (gone["id"], gone["content"]) == (sent["id"], "")
    assert gone["deleted_at"] is not None


async def test_phone_sign_in_over_socketio(
    api: httpx.Client, sio: Any, server: ServerProcess
) -> None:
    """The GOSOCKET seed's flow: greeting, login, verify_otp, set_profile, device_info,
    heartbeat, all on the default namespace of a connection that starts without a token."""
    client = await sio()
    greeting = await client.expect("connected")
    assert (greeting["status"], greeting["event"]) == ("connected", "connect")

    mobile = f"+1650253{uuid.uuid4().int % 10_000:04d}"
    await client.client.emit(
        "login", {"mobile_no": mobile, "device_id": "phone-7", "fcm_token": "fcm"}
    )
    sent = await client.expect("login")
    assert (sent["status"], sent["event"], sent["mobile_no"]) == ("success", "login", mobile)

    verified = await client.call(
        "verify_otp",
        {"mobile_no": mobile, "otp": sent["otp"], "session_token": sent["session_token"]},
    )
    assert verified["user"]["mobile_no"] == mobile
    assert (await client.expect("authenticated"))["user_id"] == verified["user"]["id"]

    profile = await client.call(
        "set_profile",
        {
            "mobile_no": mobile,
            "full_name": "John Doe",
            "state": "California",
            "session_token": sent["session_token"],
        },
    )
    assert profile["user"]["full_name"] == "John Doe"
    stored = await client.call(
        "device_info",
        {
            "device_id": "phone-7",
            "device_type": "mobile",
            "manufacturer": "Apple",
            "model": "iPhone 14",
        },
    )
    assert stored["status"] == "success"
    await client.client.emit("heartbeat")
    assert (await client.expect("heartbeat"))["status"] == "alive"

    headers = {"Authorization": f"Bearer {verified['tokens']['access_token']}"}
    sessions = api.get("/api/v1/auth/sessions", headers=headers).json()
    assert sessions[0]["device_info"]["model"] == "iPhone 14"


async def test_device_info_before_the_phone_sign_in_is_kept_for_its_session(
    api: httpx.Client, sio: Any
) -> None:
    """The GOSOCKET seed lists `device_info` with the connection events: a client sends it
    right after connecting, before `login`; it lands on the device session verify_otp opens."""
    client = await sio()
    await client.expect("connected")
    early = await client.call(
        "device_info", {"device_id": "phone-9", "manufacturer": "Google", "model": "Pixel 8"}
    )
    assert (early["status"], early["device_info"]["model"]) == ("success", "Pixel 8")
    mobile = f"+1650253{uuid.uuid4().int % 10_000:04d}"
    sent = await client.call("login", {"mobile_no": mobile})
    verified = await client.call(
        "verify_otp",
        {"mobile_no": mobile, "otp": sent["otp"], "session_token": sent["session_token"]},
    )
    await client.expect("authenticated")
    await client.call("heartbeat")  # the sign-in's own work is done by the next answer
    headers = {"Authorization": f"Bearer {verified['tokens']['access_token']}"}
    sessions = api.get("/api/v1/auth/sessions", headers=headers).json()
    assert sessions[0]["device_info"] == {
        "device_id": "phone-9",
        "manufacturer": "Google",
        "model": "Pixel 8",
    }
