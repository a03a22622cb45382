"""Running the official JavaScript socket.io-client (tests/js, installed by bootstrap)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

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


def run_js(script: str, *args: str) -> Any:
    """Run a script of tests/js with node; its last line of output, as JSON."""
    node_client_ready()
    result = subprocess.run(
        ["node", script, *args],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])
