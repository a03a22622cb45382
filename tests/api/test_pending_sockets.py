"""MAX_UNAUTHENTICATED_SOCKETS_PER_CLIENT: one address holds at most so many sockets open but
not signed in (/ws upgrades and Engine.IO sessions together); past it the upgrade or the
handshake is 429 `too_many_unauthenticated`. Signing in, or closing, frees the place."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest
from websockets.exceptions import InvalidStatus

from tests.support.accounts import register
from tests.support.clients import WsClient
from tests.support.server import ServerProcess, start_server
from tests.support.sio import SioClient

LIMIT = 3


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(
        tmp_path_factory.mktemp("pending"),
        {"MAX_UNAUTHENTICATED_SOCKETS_PER_CLIENT": str(LIMIT), "WS_AUTH_TIMEOUT_SECS": "60"},
    )
    yield server
    server.stop()


async def refused_ws(server: ServerProcess) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await WsClient.open(server.base_url)
    response = refused.value.response
    assert response.status_code == 429
    assert orjson.loads(response.body)["error"]["code"] == "too_many_unauthenticated"


def handshake(api: httpx.Client) -> httpx.Response:
    return api.get("/socket.io/", params={"EIO": "4", "transport": "polling"})


async def test_sockets_waiting_to_sign_in_are_bounded_per_address(strict: ServerProcess) -> None:
    with httpx.Client(base_url=strict.base_url, timeout=15) as api:
        alice = register(api)
        waiting = [await WsClient.open(strict.base_url) for _ in range(LIMIT - 1)]
        opened = handshake(api)
        assert opened.status_code == 200, opened.text  # an Engine.IO session counts too
        try:
            await refused_ws(strict)
            polling = handshake(api)
            assert polling.status_code == 429
            assert polling.json()["error"]["code"] == "too_many_unauthenticated"

            # One signs in: it no longer counts, so one more may wait.
            await waiting[0].send({"type": "auth", "data": {"token": alice.access_token}})
            await waiting[0].expect("authenticated")
            waiting.append(await WsClient.open(strict.base_url))
            await refused_ws(strict)
            # One goes away: its place is free again.
            await waiting.pop().close()
            waiting.append(await WsClient.open(strict.base_url))
            await refused_ws(strict)
        finally:
            for client in waiting:
                await client.close()

        # The limit is on sockets not signed in: a Socket.IO client signed in at connect
        # takes a place only until it has signed in.
        signed_in = []
        try:
            for _ in range(LIMIT + 1):
                sio = SioClient()
                await sio.connect(strict.base_url, auth={"token": alice.access_token})
                await sio.expect("authenticated")
                signed_in.append(sio)
        finally:
            for sio in signed_in:
                await sio.disconnect()
        metrics = api.get("/metrics").text
        assert "parley_unauthenticated_sockets_refused_total 4" in metrics
