"""What a server writes to its log when a request crashes: no secret, no token, no local
variables, in either format, and without holding up the requests around it."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.accounts import Account, register
from tests.support.clients import WsClient
from tests.support.server import API_KEY, JWT_SECRET, ServerProcess, start_server


@pytest.fixture(scope="module", params=["console", "json"])
def logged(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, Path]]:
    root = Path(tmp_path_factory.mktemp(f"logs-{request.param}"))
    database = root / "parley.db"
    server = start_server(
        root, {"LOG_FORMAT": str(request.param), "DATABASE_URL": f"sqlite:///{database}"}
    )
    yield server, database
    server.stop()


def corrupt_role(database: Path, account: Account) -> None:
    """A row the code cannot read (a role no version of Parley wrote): a real crash."""
    with sqlite3.connect(database) as db:
        changed = db.execute(
            "UPDATE users SET role = 'no-such-role' WHERE id = ?", (account.id.replace("-", ""),)
        ).rowcount
    assert changed == 1


def assert_clean(log: str, *tokens: str) -> None:
    assert JWT_SECRET[:12] not in log
    assert API_KEY not in log
    for token in tokens:
        for part in token.split("."):
            assert part not in log
    assert "locals" not in log  # rich's panel of local variables
    assert "self = " not in log
    assert "self=" not in log


async def test_a_crash_logs_no_secret_and_holds_nothing_up(
    logged: tuple[ServerProcess, Path],
) -> None:
    server, database = logged
    with httpx.Client(base_url=server.base_url, timeout=30) as api:
        alice = register(api)
        corrupt_role(database, alice)
        mark = len(server.log_lines)
        latencies: list[float] = []
        crashed = threading.Event()

        def health() -> None:
            with httpx.Client(base_url=server.base_url, timeout=30) as probe:
                while not crashed.is_set() or len(latencies) < 20:
                    started = time.perf_counter()
                    assert probe.get("/health").status_code == 200
                    latencies.append(time.perf_counter() - started)

        prober = threading.Thread(target=health)
        prober.start()
        try:
            response = api.get("/api/v1/users/me", headers={**alice.headers, "X-API-Key": API_KEY})
        finally:
            crashed.set()
            prober.join(timeout=60)
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "internal_error"
        server.wait_for_log("request.crashed", after=mark)
        server.wait_for_log("Traceback", after=mark)
        assert_clean(server.log(), alice.access_token, alice.refresh_token)
        # Rendering a traceback used to stall the event loop for seconds (12.96 s for /health
        # in development, with locals); now the loop only queues the record.
        assert max(latencies) < 1.0, f"/health took {max(latencies):.2f} s during a crash"


async def test_tokens_in_urls_are_redacted_from_every_line(
    logged: tuple[ServerProcess, Path],
) -> None:
    server, _ = logged
    with httpx.Client(base_url=server.base_url, timeout=15) as api:
        bob = register(api)
        mark = len(server.log_lines)
        assert api.get("/api/v1/auth/me", params={"token": bob.access_token}).status_code == 401
        polled = api.get(
            "/socket.io/", params={"EIO": "4", "transport": "polling", "token": bob.access_token}
        )
        assert polled.status_code == 200
    client = await WsClient.open(server.base_url, bob.access_token)
    await client.close()
    server.wait_for_log("/socket.io/", after=mark)
    assert_clean(server.log(), bob.access_token)
