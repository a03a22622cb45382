"""Which pages may open sockets: every socket path over WebSocket and Socket.IO long-polling,
from no Origin (not a browser), the server's own, a listed one, and a foreign one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.support.server import ServerProcess, start_server

LISTED = "http://app.example"
FOREIGN = "http://evil.example"
SOCKET_URLS = (
    "/ws",
    "/api/ws",
    "/ws/gameplay",
    "/socket.io/?EIO=4&transport=websocket",
    "/socket.io/?EIO=3&transport=websocket",
)


@pytest.fixture(scope="module")
def listed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(tmp_path_factory.mktemp("listed"), {"CORS_ALLOWED_ORIGINS": LISTED})
    yield server
    server.stop()


async def opens(server: ServerProcess, path: str, origin: str | None) -> bool:
    """Whether the upgrade is accepted; a refusal must be a 403."""
    url = f"ws://127.0.0.1:{server.port}{path}"
    status = 101
    try:
        async with connect(url, origin=origin, open_timeout=10):  # type: ignore[arg-type]
            pass
    except InvalidStatus as refused:
        status = refused.response.status_code
    assert status in (101, 403)
    return status == 101


@pytest.mark.parametrize("path", SOCKET_URLS)
async def test_websocket_upgrades_by_origin(listed: ServerProcess, path: str) -> None:
    own = f"http://127.0.0.1:{listed.port}"
    assert await opens(listed, path, None)  # native apps, servers: no Origin at all
    assert await opens(listed, path, own)
    assert await opens(listed, path, LISTED)
    assert not await opens(listed, path, FOREIGN)
    assert not await opens(listed, path, f"http://127.0.0.1:{listed.port + 1}")


def test_long_polling_by_origin(listed: ServerProcess) -> None:
    path = "/socket.io/?EIO=4&transport=polling"
    with httpx.Client(base_url=listed.base_url, timeout=15) as http:
        assert http.get(path).status_code == 200
        allowed = http.get(path, headers={"Origin": LISTED})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == LISTED
        assert allowed.headers["access-control-allow-credentials"] == "true"
        refused = http.get(path, headers={"Origin": FOREIGN})
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "origin_not_allowed"
        # REST keeps plain CORS: a foreign page's request is answered, without CORS headers.
        rest = http.get("/health", headers={"Origin": FOREIGN})
        assert rest.status_code == 200
        assert "access-control-allow-origin" not in rest.headers


async def test_any_origin_means_any_page_and_never_credentials(tmp_path: Path) -> None:
    server = start_server(tmp_path, {"CORS_ALLOWED_ORIGINS": "*"})
    try:
        assert await opens(server, "/ws", FOREIGN)
        with httpx.Client(base_url=server.base_url, timeout=15) as http:
            answer = http.get("/socket.io/?EIO=4&transport=polling", headers={"Origin": FOREIGN})
            rest = http.get("/health", headers={"Origin": FOREIGN})
        for response in (answer, rest):
            assert response.status_code == 200
            assert response.headers["access-control-allow-origin"] == "*"
            assert "access-control-allow-credentials" not in response.headers
    finally:
        server.stop()
