"""The README's quick start, run exactly as written: `examples/quickstart.sh` (curl) makes two
users and a room, `examples/bob.py` (websockets) waits, `examples/alice.cjs` (the official
socket.io-client) says hello, and each prints what the other sent."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.js import JS_DIR, node_client_ready
from tests.support.server import ServerProcess
from tests.support.services import in_ci

EXAMPLES = Path(__file__).parents[1] / "examples"
TIMEOUT_SECS = 30


def exports(script_output: str) -> dict[str, str]:
    """The variables of `export A=1 B=2` lines, as `eval` would set them."""
    found: dict[str, str] = {}
    for line in script_output.splitlines():
        for assignment in line.removeprefix("export ").split():
            name, _, value = assignment.partition("=")
            found[name] = value
    return found


def test_the_quick_start_exchanges_a_message_between_two_clients(server: ServerProcess) -> None:
    node_client_ready()
    missing = [tool for tool in ("curl", "jq") if shutil.which(tool) is None]
    if missing:
        if in_ci():
            pytest.fail(f"CI=true: the quick start needs {missing}", pytrace=False)
        pytest.skip(f"the quick start needs {missing}")
    env = {
        **{name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ},
        "PARLEY_URL": server.base_url,
        "NAMES": uuid.uuid4().hex[:8],
    }
    made = subprocess.run(
        ["bash", str(EXAMPLES / "quickstart.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECS,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    env |= exports(made.stdout)
    assert {"ROOM", "ALICE_TOKEN", "BOB_TOKEN"} <= env.keys()

    bob = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "bob.py")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert bob.stdout is not None
        with ThreadPoolExecutor(1) as reader:  # a read with a timeout: until Bob is signed in
            first = reader.submit(bob.stdout.readline).result(timeout=TIMEOUT_SECS)
        assert first.strip() == "bob: authenticated", first
        alice = subprocess.run(
            ["node", str(EXAMPLES / "alice.cjs")],
            env={**env, "NODE_PATH": str(JS_DIR / "node_modules")},
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECS,
            check=False,
        )
        assert alice.returncode == 0, alice.stderr
        said, _ = bob.communicate(timeout=TIMEOUT_SECS)
    finally:
        if bob.poll() is None:
            bob.kill()
            bob.wait()
    assert bob.returncode == 0
    assert "alice got: Hi Alice, Bob here" in alice.stdout
    assert "bob got: Hello Bob, Alice here (socket.io-client)" in said
