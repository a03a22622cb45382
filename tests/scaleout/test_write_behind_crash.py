"""Write-behind under a real crash (issue #16): a writer killed with SIGKILL right after it
acknowledged sends it had not stored yet, then Redis itself restarted (empty) under a live
instance. Redis here is the test's own (tests/support/redis_server.py), never the shared one."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.conftest import migrate
from tests.support.accounts import Account, direct_chat, register
from tests.support.clients import WsClient
from tests.support.redis_server import OwnRedis, own_redis
from tests.support.server import ServerProcess, start_server
from tests.support.services import create_postgres_database

_ids = itertools.count(1)


@pytest.fixture
def setting(tmp_path: Path) -> Iterator[tuple[OwnRedis, dict[str, str], Path]]:
    database = create_postgres_database()
    broker = own_redis(tmp_path / "redis")
    (tmp_path / "redis").mkdir()
    broker.start()
    try:
        migrate(tmp_path / "migrate", database.url)
        env = {
            "DATABASE_URL": database.url,
            "REDIS_URL": broker.url,
            "REDIS_PREFIX": f"parley-test-{uuid.uuid4().hex[:8]}:",
            "WRITE_BEHIND": "true",
            "WRITE_BEHIND_CLAIM_IDLE_SECS": "1",
            "LOG_LEVEL": "debug",  # the writer reports each stored batch at debug
        }
        yield broker, env, tmp_path
    finally:
        broker.stop()
        database.drop()


async def pipelined(sender: WsClient, chat: str, count: int) -> list[dict[str, object]]:
    """`count` sends without waiting (32 in flight at a time); their acknowledgements."""
    acks = []
    for start in range(0, count, 32):
        ids = [f"wb-{next(_ids)}" for _ in range(start, min(count, start + 32))]
        for request_id in ids:
            data = {"conversation_id": chat, "content": request_id}
            await sender.send({"type": "send_message", "id": request_id, "data": data})
        for request_id in ids:
            frame = await sender.next(lambda f, wanted=request_id: f.get("id") == wanted)
            assert frame["type"] == "ack", frame
            acks.append(frame["data"])
    return acks


def wait_stored(server: ServerProcess, expected: int, after: int = 0) -> None:
    """Until the server's writer says it stored `expected` entries (from log line `after`)."""
    stored = 0
    while stored < expected:
        line = server.wait_for_log('"write_behind.stored"', after=after, timeout_secs=20)
        after = server.log_lines.index(line, after) + 1
        stored += json.loads(line)["entries"]


def wait_history(
    server: ServerProcess, api: httpx.Client, chat: str, who: Account, count: int
) -> None:
    """Until the conversation's history holds `count` messages: checked again after each batch
    the writer reports stored (the takeover waits WRITE_BEHIND_CLAIM_IDLE_SECS first)."""
    after = 0
    while len(history(api, chat, who)) < count:
        line = server.wait_for_log('"write_behind.stored"', after=after, timeout_secs=30)
        after = server.log_lines.index(line, after) + 1


def history(api: httpx.Client, chat: str, who: Account) -> list[dict[str, object]]:
    messages: list[dict[str, object]] = []
    while True:
        page = api.get(
            f"/api/v1/conversations/{chat}/messages",
            params={"after_seq": len(messages), "limit": 100},
            headers=who.headers,
        ).json()
        messages += page["messages"]
        if not page["has_more"]:
            return messages


async def test_acknowledged_sends_survive_a_killed_writer_and_seqs_a_redis_restart(
    setting: tuple[OwnRedis, dict[str, str], Path],
) -> None:
    broker, env, root = setting
    first = start_server(root / "first", env)
    try:
        with httpx.Client(base_url=first.base_url, timeout=15) as api:
            alice, bob = register(api), register(api)
            chat = direct_chat(api, alice, bob)
        sender = await WsClient.open(first.base_url, alice.access_token)
        acks = await pipelined(sender, chat, 300)
        first.process.kill()  # SIGKILL the moment the last send is acknowledged
        first.process.wait(timeout=10)
    finally:
        first.stop()
    assert [a["seq"] for a in acks] == list(range(1, 301))
    with redis.Redis.from_url(broker.url) as client:
        backlog = int(client.xlen(env["REDIS_PREFIX"] + "messages"))  # acknowledged, unstored

    second = start_server(root / "second", env)
    try:
        with httpx.Client(base_url=second.base_url, timeout=15) as api:
            if backlog:
                # The stream's length counts entries the killed writer may have stored but
                # not yet deleted, so wait on the outcome: the history complete.
                await asyncio.to_thread(wait_history, second, api, chat, bob, 300)
            stored = history(api, chat, bob)
            assert [m["seq"] for m in stored] == list(range(1, 301))  # each once
            assert [m["id"] for m in stored] == [a["id"] for a in acks]

            # Redis restarts empty: the seq counter is seeded again from the database.
            broker.stop()
            broker.start()
            mark = len(second.log_lines)
            response = api.post(
                f"/api/v1/conversations/{chat}/messages",
                headers=alice.headers,
                json={"content": "after the restart"},
            )
            assert response.status_code == 201, response.text
            assert response.json()["seq"] == 301
            await asyncio.to_thread(wait_stored, second, 1, mark)
            assert [m["seq"] for m in history(api, chat, bob)] == list(range(1, 302))
    finally:
        second.stop()
    print(f"write-behind backlog at the kill: {backlog} of 300")
