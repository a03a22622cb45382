"""Message send rates, per user and per connection, on REST, `/ws` and Socket.IO, on one
instance and across two on Redis: a burst, then refusals with `send_rate_limited` and how
long to wait; nothing stored for a refused send; the connection stays."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.accounts import Account, direct_chat, register
from tests.support.clients import WsClient
from tests.support.deployment import two_instances
from tests.support.server import ServerProcess, start_server
from tests.support.sio import SioClient

SLOW = {
    "SEND_RATE_PER_USER": "0.5",
    "SEND_BURST_PER_USER": "3",
    "SEND_RATE_PER_CONNECTION": "0.5",
    "SEND_BURST_PER_CONNECTION": "2",
}


@pytest.fixture(scope="module")
def slow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(tmp_path_factory.mktemp("sends"), SLOW)
    yield server
    server.stop()


def rest_send(api: httpx.Client, who: Account, chat: str, text: str) -> httpx.Response:
    return api.post(
        f"/api/v1/conversations/{chat}/messages", headers=who.headers, json={"content": text}
    )


def stored(api: httpx.Client, who: Account, chat: str) -> list[str]:
    page = api.get(f"/api/v1/conversations/{chat}/messages", headers=who.headers).json()
    return [m["content"] for m in page["messages"]]


def test_rest_sends_per_user(slow: ServerProcess) -> None:
    with httpx.Client(base_url=slow.base_url, timeout=15) as api:
        alice, bob = register(api), register(api)
        chat = direct_chat(api, alice, bob)
        for n in range(3):
            assert rest_send(api, alice, chat, f"m{n}").status_code == 201
        refused = rest_send(api, alice, chat, "one too many")
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert error["code"] == "send_rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
        assert 0 < error["details"]["retry_after_ms"] <= 2000
        assert sorted(stored(api, alice, chat)) == ["m0", "m1", "m2"]
        assert rest_send(api, bob, chat, "bob has his own").status_code == 201


async def test_socket_sends_per_connection_and_the_socket_stays(slow: ServerProcess) -> None:
    with httpx.Client(base_url=slow.base_url, timeout=15) as api:
        alice, bob = register(api), register(api)
        chat = direct_chat(api, alice, bob)
    ws = await WsClient.open(slow.base_url, alice.access_token)
    try:
        for n in range(2):
            await ws.ack("send_message", {"conversation_id": chat, "content": f"w{n}"})
        refused = await ws.command("send_message", {"conversation_id": chat, "content": "w2"})
        assert refused["code"] == "send_rate_limited"
        assert refused["details"]["retry_after_ms"] > 0
        assert (await ws.command("ping"))["type"] == "ack"  # still open, still answering
    finally:
        await ws.close()
    sio = SioClient()
    await sio.connect(slow.base_url, auth={"token": alice.access_token})
    try:
        # A new connection has its own burst, but alice's own (3) has one send left.
        answer = await sio.call("send_message", {"conversation_id": chat, "content": "s0"})
        assert "error" not in answer, answer
        refused_sio = await sio.call("send_message", {"conversation_id": chat, "content": "s1"})
        assert refused_sio["error"]["code"] == "send_rate_limited"
        assert (await sio.call("heartbeat"))["status"] == "alive"
    finally:
        await sio.disconnect()
    with httpx.Client(base_url=slow.base_url, timeout=15) as api:
        assert sorted(stored(api, alice, chat)) == ["s0", "w0", "w1"]


def test_the_per_user_count_is_shared_by_instances(tmp_path: Path) -> None:
    with two_instances(tmp_path, **SLOW) as (a, b):
        with httpx.Client(base_url=a.base_url, timeout=15) as on_a:
            alice, bob = register(on_a), register(on_a)
            chat = direct_chat(on_a, alice, bob)
            for n in range(3):
                assert rest_send(on_a, alice, chat, f"a{n}").status_code == 201
        with httpx.Client(base_url=b.base_url, timeout=15) as on_b:
            # b's own count would allow three; the shared one stops alice from the next on.
            answers = [rest_send(on_b, alice, chat, f"b{n}").status_code for n in range(3)]
        assert 429 in answers, answers
        assert answers.count(201) <= 1, answers
