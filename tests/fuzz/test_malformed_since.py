"""A malformed `since` (the reconnect catch-up map) on every way of signing in: the Socket.IO
CONNECT auth payload and `authenticate` event (over WebSocket and long-polling) and the
WebSocket `auth` frame. Each is refused with an error, the connection stays open, and a
good sign-in on it works afterwards."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.fuzz.conftest import World
from tests.fuzz.test_socket_frames import PollingEngine, WebSocketEngine, open_engine
from tests.support.clients import WsClient
from tests.support.framefuzz import dumps
from tests.support.fuzzing import BIG, MAX_DEPTH, assert_log_clean, nested
from tests.support.server import ServerProcess


def malformed(world: World) -> list[Any]:
    known = world.group_id
    return [
        [1, 2],
        "41",
        7,
        {"not-a-uuid": 1},
        {known: "forty"},
        {known: BIG},
        {known: 1.5},
        {known: None},
        {known: [1]},
        {"\ud800": 1},
        {known + "\x00": 1},
        nested(MAX_DEPTH + 2),
        {str(uuid.uuid4()): i for i in range(1001)},  # more conversations than a sync takes
    ]


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_socketio_sign_in_with_a_malformed_since(
    transport: str, fuzz_server: ServerProcess, world: World
) -> None:
    token = world.customer.access_token
    log_start = len(fuzz_server.log_lines)
    failures = []
    for since in malformed(world):
        engine: WebSocketEngine | PollingEngine = await open_engine(fuzz_server, transport)  # type: ignore[assignment]
        try:
            # In the CONNECT auth payload: refused (44) or connected with an error, not dropped.
            await engine.send(["40" + dumps({"token": token, "since": since})])
            answer = await engine.until(lambda p: p.startswith(("40", "44")))
            if answer is None:
                failures.append(f"CONNECT since={dumps(since)[:80]}: connection dropped")
                continue
            if answer.startswith("44"):
                await engine.send(["40" + dumps({"token": token})])
                assert await engine.until(lambda p: p.startswith("40")) is not None
            alive = await engine.event_ack("/", 1, "heartbeat")
            if alive is None:
                failures.append(f"CONNECT since={dumps(since)[:80]}: closed after connecting")
        finally:
            await engine.close()

        engine = await open_engine(fuzz_server, transport)  # type: ignore[assignment]
        try:
            # In the `authenticate` event: an error answer, still signed out, then a good one.
            await engine.send(["40"])
            assert await engine.until(lambda p: p.startswith("40")) is not None
            refused = await engine.event_ack(
                "/", 2, "authenticate", {"token": token, "since": since}
            )
            if refused is None:
                failures.append(f"authenticate since={dumps(since)[:80]}: connection dropped")
                continue
            if "error" not in refused:
                failures.append(f"authenticate since={dumps(since)[:80]}: accepted {refused}")
                continue
            signed_in = await engine.event_ack("/", 3, "authenticate", {"token": token})
            if signed_in is None:
                failures.append(f"authenticate since={dumps(since)[:80]}: dropped after")
            elif "error" in signed_in:
                failures.append(
                    f"authenticate since={dumps(since)[:80]}: answered an error, yet the next"
                    f" authenticate got {signed_in['error'].get('code')}"
                )
        finally:
            await engine.close()
    assert not failures, "\n".join(failures)
    assert_log_clean(fuzz_server, log_start)


async def test_websocket_auth_frame_with_a_malformed_since(
    fuzz_server: ServerProcess, world: World
) -> None:
    token = world.customer.access_token
    log_start = len(fuzz_server.log_lines)
    failures = []
    for since in malformed(world):
        client = await WsClient.open(fuzz_server.base_url)
        try:
            bad = {"type": "auth", "id": "bad", "data": {"token": token, "since": since}}
            await client.send(dumps(bad))  # json, not orjson: surrogates and huge ints too
            reply = await client.next(
                lambda f: f.get("id") == "bad" or f.get("type") == "authenticated"
            )
            if reply.get("type") != "error":
                failures.append(f"auth since={dumps(since)[:80]}: accepted ({reply.get('type')})")
                continue
            await client.send({"type": "auth", "data": {"token": token}})
            await client.expect("authenticated")
            await client.ack("ping")
        except Exception as exc:  # a dropped connection or a timeout: say which `since` did it
            failures.append(f"auth since={dumps(since)[:80]}: {exc!r}")
        finally:
            await client.close()
    assert not failures, "\n".join(failures)
    assert_log_clean(fuzz_server, log_start)
