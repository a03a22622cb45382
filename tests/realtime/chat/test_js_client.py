"""One round trip with the official JavaScript socket.io-client 4.x from npm."""

from __future__ import annotations

import uuid

import httpx

from tests.support.accounts import register
from tests.support.js import run_js
from tests.support.server import ServerProcess


def test_official_js_client_round_trip(api: httpx.Client, server: ServerProcess) -> None:
    alice, bob = register(api), register(api)
    room = f"js-{uuid.uuid4().hex[:8]}"
    outcome = run_js("roundtrip.mjs", server.base_url, alice.access_token, bob.access_token, room)
    assert outcome["transport"] == "websocket"  # upgraded from polling
    assert outcome["stored"]["content"] == "from js"
    assert outcome["message"]["id"] == outcome["stored"]["id"]
    assert outcome["message"]["sender"]["username"] == alice.username
