"""The official JavaScript socket.io-client 4.x on `/gameplay`, players on both instances."""

from __future__ import annotations

from typing import Any

from tests.realtime.gameplay.conftest import Deployment
from tests.support.js import run_js


def test_official_js_client_plays(deployment: Deployment, accounts: Any) -> None:
    alice, bob = accounts(2)
    outcome = run_js(
        "gameplay.mjs",
        deployment.server_for(0).base_url,
        deployment.server_for(1).base_url,
        alice.access_token,
        bob.access_token,
    )
    assert outcome["joined"]["room_id"] == outcome["room"]["room_id"]
    assert [p["player_id"] for p in outcome["state"]["room"]["players"]] == [alice.id, bob.id]
    action = outcome["action"]
    assert (action["player_id"], action["seq"]) == (alice.id, 2)
    assert action["coordinates"] == {"x": 100, "y": 200}
    assert "session_token" not in action
