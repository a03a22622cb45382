"""One round trip with the official JavaScript socket.io-client 4.x from npm."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from tests.support.accounts import register
from tests.support.server import ServerProcess
from tests.support.services import in_ci

JS_DIR = Path(__file__).parents[1] / "js"


def node_client_ready() -> None:
    reason = ""
    if shutil.which("node") is None:
        reason = "node is not installed"
    elif not (JS_DIR / "node_modules" / "socket.io-client").is_dir():
        reason = "tests/js has no node_modules (scripts/bootstrap runs npm ci there)"
    if reason:
        if in_ci():
            pytest.fail(f"CI=true: {reason}", pytrace=False)
        pytest.skip(reason)


def test_official_js_client_round_trip(api: httpx.Client, server: ServerProcess) -> None:
    node_client_ready()
    alice, bob = register(api), register(api)
    room = f"js-{uuid.uuid4().hex[:8]}"
    result = subprocess.run(
        ["node", "roundtrip.mjs", server.base_url, alice.access_token, bob.access_token, room],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["transport"] == "websocket"  # upgraded from polling
    assert outcome["stored"]["content"] == "from js"
    assert outcome["message"]["id"] == outcome["stored"]["id"]
    assert outcome["message"]["sender"]["username"] == alice.username
