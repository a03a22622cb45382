"""The database goes away and comes back: sends are refused, never acknowledged and lost."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import migrate
from tests.support.accounts import register
from tests.support.clients import WsClient
from tests.support.postgres_server import OwnPostgres, own_postgres
from tests.support.server import ServerProcess, start_server


@dataclass
class Setup:
    postgres: OwnPostgres
    server: ServerProcess


@pytest.fixture
def parley_on_own_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root = Path(tmp_path_factory.mktemp("pg-outage"))
    postgres = own_postgres()
    postgres.init()
    postgres.start()
    server = None
    try:
        migrate(root / "migrate", postgres.url)
        server = start_server(root / "parley", {"DATABASE_URL": postgres.url})
        yield Setup(postgres, server)
    finally:
        if server is not None:
            server.stop()
        postgres.remove()


async def eventually_acked(
    client: WsClient, data: dict[str, object], within_secs: float = 20
) -> dict[str, object]:
    """Resend until acknowledged, as a client does while the service recovers (the recovery
    itself has no event to wait on)."""
    async with asyncio.timeout(within_secs):
        while True:
            reply = await client.command("send_message", data)
            if reply["type"] == "ack":
                return reply["data"]  # type: ignore[no-any-return]
            await asyncio.sleep(0.2)


async def test_sends_are_refused_while_the_database_is_down(
    parley_on_own_postgres: Setup,
) -> None:
    setup = parley_on_own_postgres
    with httpx.Client(base_url=setup.server.base_url, timeout=15) as api:
        alice, bob = register(api), register(api)
        chat = api.post(
            "/api/v1/conversations", headers=alice.headers, json={"participant_id": bob.id}
        ).json()["id"]
        client = await WsClient.open(setup.server.base_url, alice.access_token)
        try:
            first = await client.ack("send_message", {"conversation_id": chat, "content": "up"})
            assert first["seq"] == 1

            setup.postgres.stop()
            health = api.get("/health")
            assert health.status_code == 503
            assert health.json()["status"] == "degraded"
            refused = await client.command(
                "send_message", {"conversation_id": chat, "content": "lost?"}
            )
            assert (refused["type"], refused["code"]) == ("error", "service_unavailable")
            rest = api.post(
                f"/api/v1/conversations/{chat}/messages",
                headers=alice.headers,
                json={"content": "lost too?"},
            )
            assert rest.status_code == 503
            assert rest.json()["error"]["code"] == "service_unavailable"

            setup.postgres.start()
            back = await eventually_acked(client, {"conversation_id": chat, "content": "back"})
            assert back["seq"] == 2  # nothing half-stored in between
            assert api.get("/health").status_code == 200
            history = api.get(f"/api/v1/conversations/{chat}/messages", headers=bob.headers)
            assert [m["content"] for m in history.json()["messages"]] == ["back", "up"]
        finally:
            await client.close()
