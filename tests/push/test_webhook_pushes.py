"""Pushes to offline members through the webhook notifier, on SQLite, PostgreSQL and MariaDB:
real clients (httpx, python-socketio, websockets) against a real server, pushes against a
receiver the test runs. Nothing sleeps: tests wait on the receiver or the server's log."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx

from tests.push.support import (
    body_of,
    device_user,
    group,
    log_event,
    planned,
    send,
    verify_signature,
)
from tests.support.accounts import direct_chat, login, register
from tests.support.clients import WsClient
from tests.support.push_receiver import PushReceiver
from tests.support.server import ServerProcess
from tests.support.sio import SioClient


def test_an_offline_member_gets_one_signed_push(
    push_api: httpx.Client, push_server: ServerProcess, receiver: PushReceiver
) -> None:
    alice, alice_token = device_user(push_api, "Alice")
    bob, bob_token = device_user(push_api, "Bob")
    chat = direct_chat(push_api, alice, bob)
    before = time.time()
    message = send(push_api, alice, chat, "lunch at noon?")
    assert planned(push_server, message)["scheduled"] == 1  # bob; never the sender
    records = receiver.wait("webhook", contains=bob.id)
    assert len(records) == 1
    verify_signature(records[0])
    assert int(records[0]["headers"]["x-parley-timestamp"]) >= int(before)
    push = body_of(records[0])
    sessions = push_api.get("/api/v1/auth/sessions", headers=bob.headers).json()
    assert push == {
        "type": "message",
        "id": push["id"],
        "user_id": bob.id,
        "conversation_id": chat,
        "conversation_kind": "direct",
        "message_id": message["id"],
        "message_ids": [message["id"]],
        "count": 1,
        "title": "Alice",
        "body": "lunch at noon?",
        "sender_id": alice.id,
        "devices": [{"session_id": sessions[0]["id"], "token": bob_token}],
        "sent_at": push["sent_at"],
    }
    assert sessions[0]["has_push_token"] is True
    assert alice_token not in str(receiver.seen("webhook"))


async def test_members_online_on_either_protocol_get_none(
    push_api: httpx.Client, push_server: ServerProcess, receiver: PushReceiver
) -> None:
    alice, _ = device_user(push_api, "Alice")
    bob, _ = device_user(push_api)
    carol, _ = device_user(push_api)
    dave, _ = device_user(push_api)
    room = group(push_api, alice, bob, carol, dave)
    sio = SioClient()
    await sio.connect(push_server.base_url, auth={"token": bob.access_token})
    ws = await WsClient.open(push_server.base_url, carol.access_token)
    try:
        message = send(push_api, alice, room, "who is around?")
        plan = planned(push_server, message)
        assert (plan["scheduled"], plan["online"]) == (1, 2)
        await sio.expect("message")  # both got it live instead
        await ws.expect("new_message")
    finally:
        await sio.client.disconnect()
        await ws.close()
    assert len(receiver.wait("webhook", contains=dave.id)) == 1
    assert not receiver.seen("webhook", contains=bob.id)
    assert not receiver.seen("webhook", contains=carol.id)


async def test_a_member_who_reconnects_within_the_grace_gets_none(
    push_api: httpx.Client, push_server: ServerProcess, receiver: PushReceiver
) -> None:
    alice, _ = device_user(push_api)
    bob, _ = device_user(push_api)
    carol, _ = device_user(push_api)
    chat = direct_chat(push_api, alice, bob)
    other = direct_chat(push_api, alice, carol)
    message = send(push_api, alice, chat, "are you there?")
    assert planned(push_server, message)["scheduled"] == 1
    ws = await WsClient.open(push_server.base_url, bob.access_token)
    try:
        dropped = log_event(push_server, "push.dropped", user_id=bob.id)
        assert dropped["reason"] == "online"
    finally:
        await ws.close()
    # and one who read the message on another device meanwhile, neither
    message = send(push_api, alice, other, "ping")
    read = push_api.post(f"/api/v1/conversations/{other}/read", headers=carol.headers, json={})
    assert read.status_code == 200, read.text
    assert log_event(push_server, "push.dropped", user_id=carol.id)["reason"] == "read"
    assert not receiver.seen("webhook", contains=bob.id)
    assert not receiver.seen("webhook", contains=carol.id)


def test_muted_members_and_those_blocking_the_sender_get_none(
    push_api: httpx.Client, push_server: ServerProcess, receiver: PushReceiver
) -> None:
    alice, _ = device_user(push_api)
    bob, _ = device_user(push_api)
    carol, _ = device_user(push_api)
    dave, _ = device_user(push_api)
    erin, _ = device_user(push_api)
    room = group(push_api, alice, bob, carol, dave, erin)
    muted = push_api.put(f"/api/v1/conversations/{room}/mute", headers=bob.headers)
    assert muted.status_code == 200, muted.text
    assert muted.json() == {"conversation_id": room, "muted": True, "muted_until": None}
    until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    timed = push_api.put(
        f"/api/v1/conversations/{room}/mute", headers=erin.headers, json={"until": until}
    )
    assert timed.json()["muted"] is True
    blocked = push_api.post("/api/v1/blocks", headers=carol.headers, json={"user_id": alice.id})
    assert blocked.status_code == 201, blocked.text
    message = send(push_api, alice, room, "team update")
    assert planned(push_server, message)["scheduled"] == 1  # dave alone
    assert len(receiver.wait("webhook", contains=dave.id)) == 1
    for quiet in (bob, carol, erin):
        assert not receiver.seen("webhook", contains=quiet.id)
    listed = push_api.get("/api/v1/conversations", headers=erin.headers).json()
    mine = next(c for c in listed["conversations"] if c["id"] == room)
    assert mine["muted"] is True
    assert mine["muted_until"] is not None
    # unmuted, bob gets the next one
    assert (
        push_api.delete(f"/api/v1/conversations/{room}/mute", headers=bob.headers).json()["muted"]
        is False
    )
    message = send(push_api, alice, room, "second update")
    assert planned(push_server, message)["scheduled"] == 2  # dave and bob
    assert len(receiver.wait("webhook", contains=bob.id)) == 1


def test_a_mute_must_end_in_the_future_and_is_for_members(
    push_api: httpx.Client, push_server: ServerProcess
) -> None:
    alice, _ = device_user(push_api)
    bob = register(push_api)
    outsider = register(push_api)
    room = group(push_api, alice, bob)
    past = push_api.put(
        f"/api/v1/conversations/{room}/mute",
        headers=bob.headers,
        json={"until": "2020-01-01T00:00:00Z"},
    )
    assert past.status_code == 422
    assert past.json()["error"]["code"] == "mute_until_past"
    naive = push_api.put(
        f"/api/v1/conversations/{room}/mute",
        headers=bob.headers,
        json={"until": "2999-01-01T00:00:00"},
    )
    assert naive.status_code == 422
    stranger = push_api.put(f"/api/v1/conversations/{room}/mute", headers=outsider.headers)
    assert stranger.status_code == 403
    listed = push_api.get(f"/api/v1/conversations/{room}", headers=bob.headers).json()
    assert listed["muted"] is False


def test_messages_within_the_grace_collapse_into_one_push(
    push_api: httpx.Client, push_server: ServerProcess, receiver: PushReceiver
) -> None:
    alice, _ = device_user(push_api, "Alice")
    bob, _ = device_user(push_api)
    room = group(push_api, alice, bob, name="Launch")
    sent = [send(push_api, alice, room, f"update {n}") for n in range(3)]
    records = receiver.wait("webhook", contains=bob.id)
    assert len(records) == 1
    push = body_of(records[0])
    assert push["count"] == 3
    assert push["message_ids"] == [m["id"] for m in sent]
    assert push["message_id"] == sent[-1]["id"]
    assert (push["title"], push["body"]) == ("Launch", "3 new messages in Launch")


def test_a_token_the_push_service_calls_invalid_is_removed(
    push_api: httpx.Client, push_server: ServerProcess, receiver: PushReceiver
) -> None:
    alice, _ = device_user(push_api)
    bob, bob_token = device_user(push_api)
    receiver.script({"webhook": [f"invalid:{bob_token}"]})
    send(push_api, alice, direct_chat(push_api, alice, bob), "hello?")
    log_event(push_server, "push.tokens_removed", sessions=[_session_of(push_api, bob)])
    sessions = push_api.get("/api/v1/auth/sessions", headers=bob.headers).json()
    assert sessions[0]["has_push_token"] is False
    assert _metric(push_api, "parley_push_sent_total") >= 0


def test_a_failed_push_is_retried_with_backoff(
    push_api: httpx.Client, push_server: ServerProcess, receiver: PushReceiver
) -> None:
    alice, _ = device_user(push_api)
    bob, _ = device_user(push_api)
    receiver.script({"webhook": ["503", "429:0"]})
    send(push_api, alice, direct_chat(push_api, alice, bob), "retry me")
    records = receiver.wait("webhook", contains=bob.id, count=3)
    assert len(records) == 3
    assert len({body_of(r)["id"] for r in records}) == 1  # the same push each time
    delivered = log_event(push_server, "push.delivered", user_id=bob.id)
    assert (delivered["attempt"], delivered["sent"]) == (3, 1)


def test_pushes_to_one_user_are_rate_limited(
    push_api: httpx.Client, push_server: ServerProcess, receiver: PushReceiver
) -> None:
    """PUSH_RATE_LIMIT=3 here: a fourth conversation's push within the window is dropped."""
    bob, _ = device_user(push_api)
    senders = [device_user(push_api)[0] for _ in range(4)]
    for sender in senders:
        send(push_api, sender, direct_chat(push_api, sender, bob), "hi bob")
    assert log_event(push_server, "push.dropped", user_id=bob.id)["reason"] == "rate_limited"
    assert len(receiver.wait("webhook", contains=bob.id, count=3)) == 3
    assert _metric(push_api, 'parley_push_dropped_total{reason="rate_limited"}') >= 1
    assert _metric(push_api, "parley_push_sent_total") >= 3


def test_a_device_sets_and_clears_its_push_token_after_sign_in(
    push_api: httpx.Client, push_server: ServerProcess, receiver: PushReceiver
) -> None:
    alice, _ = device_user(push_api)
    bob = register(push_api)  # no token at sign-in
    assert (
        push_api.get("/api/v1/auth/sessions", headers=bob.headers).json()[0]["has_push_token"]
        is False
    )
    token = "tok-late-" + bob.id
    put = push_api.put(
        "/api/v1/auth/sessions/current/push-token", headers=bob.headers, json={"fcm_token": token}
    )
    assert put.status_code == 200, put.text
    assert put.json()["has_push_token"] is True
    assert put.json()["current"] is True
    # the same device signs in as someone else: the token follows the new session only
    carol = register(push_api)
    moved = push_api.put(
        "/api/v1/auth/sessions/current/push-token", headers=carol.headers, json={"token": token}
    )
    assert moved.status_code == 200
    assert (
        push_api.get("/api/v1/auth/sessions", headers=bob.headers).json()[0]["has_push_token"]
        is False
    )
    send(push_api, alice, direct_chat(push_api, alice, carol), "for carol's device")
    assert body_of(receiver.wait("webhook", contains=carol.id)[0])["devices"][0]["token"] == token
    cleared = push_api.delete("/api/v1/auth/sessions/current/push-token", headers=carol.headers)
    assert cleared.json()["has_push_token"] is False
    empty = push_api.put(
        "/api/v1/auth/sessions/current/push-token", headers=carol.headers, json={"fcm_token": ""}
    )
    assert empty.status_code == 422
    again = login(push_api, carol.username)  # a second device of carol's, no token
    assert len(push_api.get("/api/v1/auth/sessions", headers=again.headers).json()) == 2


def _session_of(api: httpx.Client, account: object) -> str:
    sessions = api.get("/api/v1/auth/sessions", headers=account.headers).json()  # type: ignore[attr-defined]
    return str(sessions[0]["id"])


def _metric(api: httpx.Client, name: str) -> float:
    for line in api.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} is not among the metrics")


def test_the_push_routes_are_in_openapi(push_api: httpx.Client) -> None:
    spec = push_api.get("/openapi.json").json()
    paths = spec["paths"]
    assert set(paths["/api/v1/conversations/{conversation_id}/mute"]) == {"put", "delete"}
    assert set(paths["/api/v1/auth/sessions/current/push-token"]) == {"put", "delete"}
    schemas = spec["components"]["schemas"]
    assert {"muted", "muted_until"} <= set(schemas["ConversationPublic"]["properties"])
    assert "has_push_token" in schemas["SessionPublic"]["properties"]
    assert set(schemas["MuteState"]["properties"]) == {"conversation_id", "muted", "muted_until"}


def test_a_push_shows_edits_and_leaves_out_deleted_messages(
    push_api: httpx.Client, push_server: ServerProcess, receiver: PushReceiver
) -> None:
    alice, _ = device_user(push_api, "Alice")
    bob, _ = device_user(push_api)
    carol, _ = device_user(push_api)
    chat = direct_chat(push_api, alice, bob)
    first = send(push_api, alice, chat, "typo hre")
    second = send(push_api, alice, chat, "oops, wrong chat")
    edited = push_api.patch(
        f"/api/v1/messages/{first['id']}", headers=alice.headers, json={"content": "typo here"}
    )
    assert edited.status_code == 200, edited.text
    deleted = push_api.delete(f"/api/v1/messages/{second['id']}", headers=alice.headers)
    assert deleted.status_code == 200, deleted.text
    [record] = receiver.wait("webhook", contains=bob.id)
    push = body_of(record)
    assert (push["count"], push["message_ids"], push["body"]) == (1, [first["id"]], "typo here")
    # every message deleted meanwhile: no push at all
    other = direct_chat(push_api, alice, carol)
    gone = send(push_api, alice, other, "never mind")
    assert push_api.delete(f"/api/v1/messages/{gone['id']}", headers=alice.headers).is_success
    assert log_event(push_server, "push.dropped", user_id=carol.id)["reason"] == "deleted"
    assert not receiver.seen("webhook", contains=carol.id)
