"""A client that stops reading is disconnected with 4429, and the server keeps serving."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.accounts import register
from tests.support.clients import WsClient
from tests.support.server import API_KEY, ServerProcess, start_server


async def read_until_closed(client: ClientConnection) -> None:
    """Read what was buffered until the close frame arrives (and raises)."""
    while True:
        await client.recv()


@pytest.fixture(scope="module")
def small_outbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(Path(tmp_path_factory.mktemp("slow")), {"OUTBOX_LIMIT": "10"})
    yield server
    server.stop()


async def test_a_client_that_stops_reading_is_closed_with_4429(
    small_outbox_server: ServerProcess,
) -> None:
    server = small_outbox_server
    with httpx.Client(base_url=server.base_url, timeout=15) as api:
        sleeper, healthy = register(api), register(api)
        mark = len(server.log_lines)
        room = "slow-room"
        # A tiny receive buffer and a one-message client queue: the kernel stops taking data
        # almost at once when the test stops reading.
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.connect(("127.0.0.1", server.port))
        url = f"ws://127.0.0.1:{server.port}/ws?token={sleeper.access_token}"
        stalled = await connect(url, sock=raw, max_queue=1, compression=None)
        await stalled.send('{"type":"join_room","id":"j","data":{"room_id":"slow-room"}}')
        good = await WsClient.open(server.base_url, healthy.access_token)
        await good.ack("join_room", {"room_id": room})

        body = {"room_id": room, "content": "x" * 9000}
        for _ in range(1500):  # ~4 MiB fill the kernel's buffers, then the outbox overflows
            response = api.post("/api/v1/broadcast", json=body, headers={"X-API-Key": API_KEY})
            assert response.status_code == 201
            await good.expect("new_message")  # the healthy client keeps up throughout
            good.seen.clear()
            if any("connection.too_slow" in line for line in server.log_lines):
                break
        with pytest.raises(ConnectionClosed) as ended:
            await read_until_closed(stalled)
        assert ended.value.rcvd is not None
        assert ended.value.rcvd.code == 4429
        assert await good.ack("ping") == {"pong": True}
        await good.close()
        server.wait_for_log("socket.disconnected", "too slow", after=mark)
        dropped = next(
            line
            for line in api.get("/metrics").text.splitlines()
            if line.startswith('parley_outbox_drops_total{protocol="websocket"}')
        )
        assert float(dropped.split()[1]) >= 1
