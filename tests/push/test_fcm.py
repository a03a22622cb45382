"""The FCM HTTP v1 notifier against the receiver playing Google: the service account's RS256
assertion (checked with the test's own public key), the OAuth2 token, one `messages:send`
per device, dead tokens removed, passing failures retried."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from tests.push.support import device_user, log_event, send
from tests.support.accounts import direct_chat
from tests.support.push_receiver import PushReceiver
from tests.support.server import ServerProcess


@pytest.fixture
def fcm_api(fcm_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fcm_server.base_url, timeout=15) as client:
        yield client


def test_a_push_goes_to_fcm_with_a_valid_service_account_token(
    fcm_api: httpx.Client, fcm_server: ServerProcess, receiver: PushReceiver
) -> None:
    alice, _ = device_user(fcm_api, "Alice")
    bob, bob_token = device_user(fcm_api)
    chat = direct_chat(fcm_api, alice, bob)
    message = send(fcm_api, alice, chat, "over FCM")
    sends = receiver.wait("fcm", contains=bob_token)
    assert len(sends) == 1, [ln for ln in fcm_server.log_lines if "push" in ln][-10:]
    assert sends[0]["path"] == "/v1/projects/parley-test/messages:send"
    assert sends[0]["authorized"] is True
    body = json.loads(sends[0]["body"])["message"]
    assert body["token"] == bob_token
    assert body["notification"] == {"title": "Alice", "body": "over FCM"}
    assert body["data"]["conversation_id"] == chat
    assert body["data"]["message_id"] == message["id"]
    assert body["data"]["count"] == "1"
    assert body["android"]["collapse_key"] == chat
    tokens = receiver.seen("token")
    assert tokens, "no OAuth2 token was asked for"
    assert all(t["valid"] for t in tokens)
    claims = tokens[0]["claims"]
    assert claims["iss"] == "pusher@parley-test.iam.gserviceaccount.com"
    assert claims["scope"] == "https://www.googleapis.com/auth/firebase.messaging"
    assert claims["exp"] - claims["iat"] == 3600


def test_an_unregistered_token_is_removed(
    fcm_api: httpx.Client, fcm_server: ServerProcess, receiver: PushReceiver
) -> None:
    alice, _ = device_user(fcm_api)
    bob, bob_token = device_user(fcm_api)
    receiver.script({bob_token: ["unregistered"]})
    send(fcm_api, alice, direct_chat(fcm_api, alice, bob), "anyone?")
    assert len(receiver.wait("fcm", contains=bob_token)) == 1
    log_event(fcm_server, "push.delivered", user_id=bob.id, invalid=1)
    sessions = fcm_api.get("/api/v1/auth/sessions", headers=bob.headers).json()
    assert sessions[0]["has_push_token"] is False


def test_a_503_is_retried_and_then_delivered(
    fcm_api: httpx.Client, fcm_server: ServerProcess, receiver: PushReceiver
) -> None:
    alice, _ = device_user(fcm_api)
    bob, bob_token = device_user(fcm_api)
    receiver.script({bob_token: ["503:0", "500"]})
    send(fcm_api, alice, direct_chat(fcm_api, alice, bob), "third time lucky")
    assert len(receiver.wait("fcm", contains=bob_token, count=3)) == 3
    delivered = log_event(fcm_server, "push.delivered", user_id=bob.id, sent=1)
    assert delivered["attempt"] == 3
    assert fcm_api.get("/api/v1/auth/sessions", headers=bob.headers).json()[0]["has_push_token"]
