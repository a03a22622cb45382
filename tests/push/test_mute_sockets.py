"""Muting over both socket protocols: the same service as REST, answered as acks."""

from __future__ import annotations

import httpx

from tests.push.support import device_user, group, planned, send
from tests.support.accounts import register
from tests.support.clients import WsClient
from tests.support.server import ServerProcess
from tests.support.sio import SioClient


async def test_mute_and_unmute_over_socketio_and_ws(
    push_api: httpx.Client, push_server: ServerProcess
) -> None:
    alice, _ = device_user(push_api)
    bob, _ = device_user(push_api)
    carol, _ = device_user(push_api)
    dave, _ = device_user(push_api)
    room = group(push_api, alice, bob, carol, dave)
    sio = SioClient()
    await sio.connect(push_server.base_url, auth={"token": bob.access_token})
    ws = await WsClient.open(push_server.base_url, carol.access_token)
    try:
        muted = await sio.client.call("mute_conversation", {"conversation_id": room}, timeout=5)
        assert muted["muted"] is True, muted
        ack = await ws.ack("mute_conversation", {"room_id": room, "until": "2999-01-01T00:00:00Z"})
        assert ack["muted"] is True
        assert ack["muted_until"].startswith("2999-01-01")
        refused = await ws.command("mute_conversation", {"room_id": room, "until": "yesterday"})
        assert refused["type"] == "error"
        assert refused.get("data", refused)["code"] == "validation_error", refused
        outsider = register(push_api)
        stranger = await WsClient.open(push_server.base_url, outsider.access_token)
        denied = await stranger.command("mute_conversation", {"room_id": room})
        await stranger.close()
        assert denied.get("data", denied)["code"] == "not_a_member", denied
    finally:
        await sio.client.disconnect()
        await ws.close()
    message = send(push_api, alice, room, "muted by both")
    assert planned(push_server, message)["scheduled"] == 1  # dave alone
    for account in (bob, carol):
        listed = push_api.get(f"/api/v1/conversations/{room}", headers=account.headers).json()
        assert listed["muted"] is True
    sio = SioClient()
    await sio.connect(push_server.base_url, auth={"token": bob.access_token})
    try:
        unmuted = await sio.client.call("unmute_conversation", {"conversation_id": room}, timeout=5)
        assert unmuted == {"conversation_id": room, "muted": False, "muted_until": None}
    finally:
        await sio.client.disconnect()


async def test_a_socket_sets_and_clears_its_devices_push_token(
    push_api: httpx.Client, push_server: ServerProcess
) -> None:
    bob = register(push_api)
    ws = await WsClient.open(push_server.base_url, bob.access_token)
    sio = SioClient()
    await sio.connect(push_server.base_url, auth={"token": bob.access_token})
    try:
        session = await ws.ack("set_push_token", {"fcm_token": "tok-ws-" + bob.id})
        assert (session["has_push_token"], session["current"]) == (True, True)
        empty = await ws.command("set_push_token", {"fcm_token": ""})
        assert empty.get("data", empty)["code"] == "validation_error", empty
        cleared = await sio.client.call("clear_push_token", {}, timeout=5)
        assert cleared["has_push_token"] is False
    finally:
        await ws.close()
        await sio.client.disconnect()
    sessions = push_api.get("/api/v1/auth/sessions", headers=bob.headers).json()
    assert sessions[0]["has_push_token"] is False


async def test_the_users_other_devices_hear_a_mute(
    push_api: httpx.Client, push_server: ServerProcess
) -> None:
    alice, _ = device_user(push_api)
    bob = register(push_api)
    room = group(push_api, alice, bob)
    ws = await WsClient.open(push_server.base_url, bob.access_token)
    sio = SioClient()
    await sio.connect(push_server.base_url, auth={"token": bob.access_token})
    try:
        assert push_api.put(f"/api/v1/conversations/{room}/mute", headers=bob.headers).is_success
        heard = await ws.expect("mute_changed")
        assert heard["data"] == {"conversation_id": room, "muted": True, "muted_until": None}
        assert (await sio.expect("mute_changed"))["muted"] is True
        assert push_api.delete(f"/api/v1/conversations/{room}/mute", headers=bob.headers)
        assert (await ws.expect("mute_changed"))["data"]["muted"] is False
    finally:
        await ws.close()
        await sio.client.disconnect()
