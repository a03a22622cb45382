"""The official JavaScript socket.io-client 4.x on `/gameplay`, players on both instances."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from tests.gameplay.conftest import Deployment
from tests.realtime.test_js_client import JS_DIR, node_client_ready


def test_official_js_client_plays(deployment: Deployment, accounts: Any) -> None:
    node_client_ready()
    alice, bob = accounts(2)
    result = subprocess.run(
        [
            "node",
            "gameplay.mjs",
            deployment.server_for(0).base_url,
            deployment.server_for(1).base_url,
            alice.access_token,
            bob.access_token,
        ],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["joined"]["room_id"] == outcome["room"]["room_id"]
    assert [p["player_id"] for p in outcome["state"]["room"]["players"]] == [alice.id, bob.id]
    action = outcome["action"]
    assert (action["player_id"], action["seq"]) == (alice.id, 2)
    assert action["coordinates"] == {"x": 100, "y": 200}
    assert "session_token" not in action
