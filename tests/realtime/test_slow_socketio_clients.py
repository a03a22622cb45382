"""A Socket.IO client that stops reading is closed with 4429 (its outbox overflowed), and the
others in its room keep receiving (issue #16; tests/realtime/test_slow_clients.py has /ws)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.accounts import register
from tests.support.server import API_KEY, ServerProcess, start_server
from tests.support.sio import SioClient


async def read_until_closed(client: ClientConnection) -> None:
    while True:
        await client.recv()


@pytest.fixture(scope="module")
def small_outbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(
        Path(tmp_path_factory.mktemp("slow-sio")),
        {"OUTBOX_LIMIT": "10", "OUTBOX_LIMIT_BYTES": "262144"},
    )
    yield server
    server.stop()


async def test_a_socketio_client_that_stops_reading_is_closed_with_4429(
    small_outbox_server: ServerProcess,
) -> None:
    server = small_outbox_server
    room = "slow-sio-room"
    with httpx.Client(base_url=server.base_url, timeout=15) as api:
        sleeper, healthy = register(api), register(api)
        # A tiny receive buffer and a one-message client queue, as in the /ws test.
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.connect(("127.0.0.1", server.port))
        url = f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket"
        stalled = await connect(url, sock=raw, max_queue=1, compression=None)
        assert str(await stalled.recv()).startswith("0")  # the Engine.IO open packet
        await stalled.send("40" + orjson.dumps({"token": sleeper.access_token}).decode())
        await stalled.send('421["join",{"room_id":"' + room + '"}]')
        while not str(await stalled.recv()).startswith("431"):  # joined: now stop reading
            pass

        good = SioClient()
        await good.connect(server.base_url, auth={"token": healthy.access_token})
        await good.expect("authenticated")
        assert "error" not in await good.call("join", {"room_id": room})

        body = {"room_id": room, "content": "x" * 9000}
        for _ in range(1500):  # the kernel's buffers fill, then the 256 KiB outbox overflows
            response = api.post("/api/v1/broadcast", json=body, headers={"X-API-Key": API_KEY})
            assert response.status_code == 201
            await good.expect("message")  # the healthy client keeps up throughout
            if any("connection.too_slow" in line for line in server.log_lines):
                break
        with pytest.raises(ConnectionClosed) as ended:
            await read_until_closed(stalled)
        assert ended.value.rcvd is not None
        assert ended.value.rcvd.code == 4429
        # The healthy one is still served: a command answered, and the next message delivered.
        assert (await good.call("heartbeat"))["status"] == "alive"
        response = api.post("/api/v1/broadcast", json=body, headers={"X-API-Key": API_KEY})
        assert response.status_code == 201
        assert (await good.expect("message"))["content"] == body["content"]
        await good.disconnect()
