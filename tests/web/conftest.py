"""A real headless browser for the browser chat and the admin dashboard: Debian's chromium
(installed with apt-get when missing), driven by Playwright for Python pointed at it (never
Playwright's own browser download). Screenshots go to var/screenshots/.

Without chromium and no way to install it the tests are skipped with the reason; under
CI=true that is a failure instead, never a silent skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import ServerProcess, start_server

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
VENDOR = ROOT / "src" / "parley" / "web" / "vendor" / "socket.io.min.js"
# Typing indicators outlive a pause in typing; presence goes offline soon after a close.
WEB_ENV = {"TYPING_TTL_SECS": "5", "PRESENCE_GRACE_SECS": "0.2"}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def _install_chromium() -> str | None:
    """Why chromium could not be installed, or None once it is there."""
    if os.path.exists(CHROMIUM):
        return None
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return f"{CHROMIUM} is missing and apt-get cannot run here (not root)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(
            step, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        if done.returncode != 0 and step[1] == "install":
            return f"apt-get install chromium failed: {done.stderr.strip()[-300:]}"
    return None if os.path.exists(CHROMIUM) else f"{CHROMIUM} still missing after apt-get"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    problem = _install_chromium()
    if problem is not None:
        _unavailable(problem)
    if not VENDOR.exists():
        _unavailable(f"{VENDOR} is missing: run scripts/fetch-web-vendor (scripts/bootstrap does)")
    return CHROMIUM


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[object]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (scripts/bootstrap installs the dev tools)")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, args=ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server of the browser tests' own on SQLite: the pages are the same on every
    database (the admin overview's queries have their tests on all three in tests/api)."""
    data_dir = tmp_path_factory.mktemp("web")
    server = start_server(data_dir, {"DATABASE_URL": f"sqlite:///{data_dir / 'web.db'}", **WEB_ENV})
    yield server
    server.stop()


def screenshot(page: object, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]
