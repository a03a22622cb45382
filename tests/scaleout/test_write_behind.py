"""Write-behind: sends acknowledged from the Redis Stream, stored by the writers afterwards."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import redis

from tests.conftest import migrate
from tests.support.accounts import direct_chat, register
from tests.support.clients import WsClient
from tests.support.server import ServerProcess, start_server
from tests.support.services import REDIS_URL, create_postgres_database, require_tcp


@dataclass
class Deployment:
    root: Path
    env: dict[str, str]
    prefix: str

    def start(self, name: str) -> ServerProcess:
        return start_server(self.root / name, self.env)


@pytest.fixture
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    require_tcp("Redis", REDIS_URL)
    database = create_postgres_database()
    root = Path(tmp_path_factory.mktemp("write-behind"))
    prefix = f"parley-test-{uuid.uuid4().hex[:8]}:"
    try:
        migrate(root / "migrate", database.url)
        yield Deployment(
            root,
            {
                "DATABASE_URL": database.url,
                "REDIS_URL": REDIS_URL,
                "REDIS_PREFIX": prefix,
                "WRITE_BEHIND": "true",
                "WRITE_BEHIND_CLAIM_IDLE_SECS": "1",
                "LOG_LEVEL": "debug",  # the writer reports each stored batch at debug
            },
            prefix,
        )
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
        client.close()
        database.drop()


def wait_until_stored(server: ServerProcess, expected: int) -> None:
    """Until the server's writer says it has stored `expected` entries (its debug log)."""
    stored, after = 0, 0
    while stored < expected:
        line = server.wait_for_log('"write_behind.stored"', after=after)
        after = server.log_lines.index(line) + 1
        stored += json.loads(line)["entries"]


async def stored_contents(
    api: httpx.Client, server: ServerProcess, chat: str, headers: dict[str, str], expected: int
) -> list[str]:
    """History over REST, once the writer has stored what the test sent."""
    await asyncio.to_thread(wait_until_stored, server, expected)
    page = api.get(f"/api/v1/conversations/{chat}/messages", headers=headers).json()
    return [m["content"] for m in reversed(page["messages"])]


async def test_sends_are_delivered_at_once_and_stored_afterwards(
    deployment: Deployment,
) -> None:
    server = deployment.start("a")
    try:
        with httpx.Client(base_url=server.base_url, timeout=15) as api:
            alice, bob = register(api), register(api)
            chat = direct_chat(api, alice, bob)
            sender = await WsClient.open(server.base_url, alice.access_token)
            reader = await WsClient.open(server.base_url, bob.access_token)
            acked = [
                await sender.ack(
                    "send_message",
                    {"conversation_id": chat, "content": f"m{i}", "client_msg_id": f"c{i}"},
                )
                for i in range(5)
            ]
            assert [m["seq"] for m in acked] == [1, 2, 3, 4, 5]
            for i in range(5):
                assert (await reader.expect("new_message"))["data"]["content"] == f"m{i}"
            again = await sender.ack(
                "send_message", {"conversation_id": chat, "content": "m0", "client_msg_id": "c0"}
            )
            assert again["id"] == acked[0]["id"]  # a resend, not a copy

            assert await stored_contents(api, server, chat, bob.headers, 5) == [
                f"m{i}" for i in range(5)
            ]
            later = await sender.ack("send_message", {"conversation_id": chat, "content": "m5"})
            assert later["seq"] == 6

            # The same refusals as a send stored at once: a block, a room mute.
            blocked = api.post("/api/v1/blocks", headers=bob.headers, json={"user_id": alice.id})
            assert blocked.status_code == 201, blocked.text
            refused = await sender.command("send_message", {"room_id": chat, "content": "x"})
            assert refused["code"] == "blocked", refused
            room = f"wb-{uuid.uuid4().hex[:8]}"
            assert api.post("/api/v1/rooms", headers=bob.headers, json={"name": room}).is_success
            assert api.post(f"/api/v1/rooms/{room}/join", headers=alice.headers).is_success
            muted = api.post(
                f"/api/v1/rooms/{room}/mutes", headers=bob.headers, json={"user_id": alice.id}
            )
            assert muted.status_code == 201, muted.text
            refused = await sender.command("send_message", {"room_id": room, "content": "x"})
            assert refused["code"] == "muted_in_room", refused
            await sender.close()
            await reader.close()
    finally:
        server.stop()


async def test_entries_a_crashed_writer_took_are_stored_by_another(
    deployment: Deployment,
) -> None:
    first = deployment.start("first")
    with httpx.Client(base_url=first.base_url, timeout=15) as api:
        alice, bob = register(api), register(api)
        chat = api.post(
            "/api/v1/conversations", headers=alice.headers, json={"participant_id": bob.id}
        ).json()["id"]
    first.stop()

    # A writer takes an entry from the stream and dies before storing it.
    stream = deployment.prefix + "messages"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        row: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "conversation_id": chat,
            "seq": 1,
            "sender_id": alice.id,
            "sender_name": None,
            "type": "text",
            "content": "orphaned",
            "title": None,
            "payload": None,
            "attachment_urls": None,
            "reply_to_id": None,
            "client_msg_id": None,
            "created_at": datetime.now(UTC).isoformat(),
            "edited_at": None,
            "deleted_at": None,
        }
        client.xadd(stream, {"m": orjson.dumps(row)})
        taken = client.xreadgroup("writers", "crashed", {stream: ">"}, count=10)
        assert taken

        second = deployment.start("second")
        try:
            with httpx.Client(base_url=second.base_url, timeout=15) as api:
                assert await stored_contents(api, second, chat, bob.headers, 1) == ["orphaned"]
            assert client.xpending(stream, "writers")["pending"] == 0
        finally:
            second.stop()
    finally:
        client.close()
