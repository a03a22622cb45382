"""Two instances started the way the seeds start theirs — Redis named by `REDIS_HOST` +
`REDIS_PORT` (WebSocket Chat Server) or `REDIS_ADDR` (GoChat), no `REDIS_URL` — share
messages: the names are understood, not silently ignored into two lone instances."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import migrate
from tests.support.accounts import direct_chat, register
from tests.support.clients import WsClient
from tests.support.server import ServerProcess, start_server
from tests.support.services import REDIS_URL, create_postgres_database, require_tcp, scale_out_env


@pytest.fixture(scope="module", params=["REDIS_HOST", "REDIS_ADDR"])
def seed_pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    require_tcp("Redis", REDIS_URL)
    redis = urlsplit(REDIS_URL)
    host, port = redis.hostname or "127.0.0.1", str(redis.port or 6379)
    named = (
        {"REDIS_HOST": host, "REDIS_PORT": port, "REDIS_PASSWORD": ""}
        if request.param == "REDIS_HOST"
        else {"REDIS_ADDR": f"{host}:{port}", "REDIS_DB": redis.path.strip("/") or "0"}
    )
    root = Path(tmp_path_factory.mktemp("seed-redis"))
    database = create_postgres_database()
    try:
        migrate(root / "migrate", database.url)
        env = {k: v for k, v in scale_out_env(database.url).items() if k != "REDIS_URL"}
        servers = (
            start_server(root / "a", {**env, **named}),
            start_server(root / "b", {**env, **named}),
        )
        yield servers
        for server in servers:
            server.stop()
    finally:
        database.drop()


async def test_instances_named_the_seeds_way_share_messages(
    seed_pair: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = seed_pair
    with httpx.Client(base_url=a.base_url, timeout=15) as api_a:
        health = api_a.get("/health").json()
        assert health["services"]["broker"] == "ok", health
        alice, bob = register(api_a), register(api_a)
        chat = direct_chat(api_a, alice, bob)
    on_b = await WsClient.open(b.base_url, bob.access_token)
    try:
        with httpx.Client(base_url=a.base_url, timeout=15) as api_a:
            sent = api_a.post(
                f"/api/v1/conversations/{chat}/messages",
                headers=alice.headers,
                json={"content": "across, the seed's way"},
            )
        assert sent.status_code == 201
        heard = await asyncio.wait_for(on_b.expect("new_message"), 10)
        assert heard["data"]["id"] == sent.json()["id"]
    finally:
        await on_b.close()
