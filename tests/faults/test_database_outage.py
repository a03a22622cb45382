"""The database goes away and comes back: sends are refused, never acknowledged and lost."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from parley.db.database import Database
from parley.errors import ServiceUnavailable
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

            setup.postgres.start()  # returns once PostgreSQL accepts connections (pg_ctl -w)
            # A connection the server closed is replaced at checkout (the pool's and the send
            # path's kept one), so the first send after the restart already goes through: no
            # retry loop needed.
            back = await client.ack("send_message", {"conversation_id": chat, "content": "back"})
            assert back["seq"] == 2  # nothing half-stored in between
            assert api.get("/health").status_code == 200
            history = api.get(f"/api/v1/conversations/{chat}/messages", headers=bob.headers)
            assert [m["content"] for m in history.json()["messages"]] == ["back", "up"]
        finally:
            await client.close()


async def test_the_first_send_after_a_quiet_restart_goes_through(
    parley_on_own_postgres: Setup,
) -> None:
    """PostgreSQL restarts while nothing uses it: every pooled connection is dead, and no
    failed request has told the pool. A checkout notices (asyncpg saw each socket close) and
    opens a fresh connection, so neither a send nor a read fails (no ping per checkout)."""
    setup = parley_on_own_postgres
    with httpx.Client(base_url=setup.server.base_url, timeout=15) as api:
        alice = register(api)
        room = "quiet-restart"
        client = await WsClient.open(setup.server.base_url, alice.access_token)
        try:
            await client.ack("join_room", {"room_id": room})
            first = await client.ack("send_message", {"conversation_id": room, "content": "m"})
            history_url = f"/api/v1/conversations/{first['conversation_id']}/messages"
            # Several connections in the pool: reads side by side.
            async with httpx.AsyncClient(base_url=setup.server.base_url, timeout=15) as reads:
                pages = await asyncio.gather(
                    *(reads.get(history_url, headers=alice.headers) for _ in range(20))
                )
            assert {page.status_code for page in pages} == {200}
            setup.postgres.stop()
            setup.postgres.start()
            back = await client.ack("send_message", {"conversation_id": room, "content": "back"})
            assert back["seq"] == 2
            async with httpx.AsyncClient(base_url=setup.server.base_url, timeout=15) as reads:
                pages = await asyncio.gather(
                    *(reads.get(history_url, headers=alice.headers) for _ in range(20))
                )
            assert [page.status_code for page in pages] == [200] * 20
            assert pages[0].json()["messages"][0]["content"] == "back"
        finally:
            await client.close()


async def test_a_database_shutting_down_is_unavailable_not_an_internal_error() -> None:
    """PostgreSQL in a smart shutdown (a session still open) refuses new connections with
    57P03, which asyncpg's SQLAlchemy dialect raises as a plain DBAPIError: a send then got
    `internal_error` (the soak saw it) where a database going away means 503."""
    postgres = own_postgres()
    postgres.init()
    postgres.start()
    holder = await asyncio.create_subprocess_exec(
        *("psql", "-h", "127.0.0.1", "-p", str(postgres.port), "-U", "postgres"),
        *("-qc", "SELECT pg_sleep(120)"),
        stdout=asyncio.subprocess.DEVNULL,
    )
    try:
        # Until the session is in (each look a query of its own), or a smart shutdown ends
        # at once and the test sees a closed port instead.
        while await select_one(postgres.url, SLEEPING) == 0:
            assert holder.returncode is None, "psql ended"
        data = str(postgres.directory / "data")
        stop = postgres._as_postgres("pg_ctl", "-D", data, "-m", "smart", "-W", "stop")
        assert stop.returncode == 0, stop.stderr
        # Until the postmaster has taken the signal, a connection still opens: each try is a
        # fresh connection, and the first one refused must be refused as unavailable.
        refused: ServiceUnavailable | None = None
        for _ in range(200):
            try:
                await select_one(postgres.url)
            except ServiceUnavailable as exc:
                refused = exc
                break
        assert refused is not None, "PostgreSQL kept accepting connections in a smart shutdown"
        assert "shutting down" in str(refused.__cause__)
    finally:
        holder.kill()
        await holder.wait()
        postgres.remove()


SLEEPING = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'"


async def select_one(url: str, query: str = "SELECT 1") -> int:
    """The query's one value, on a connection of its own."""
    database = Database(url)
    try:
        async with database.transaction() as tx:
            return int((await tx.execute(text(query))).scalar_one())
    finally:
        await database.dispose()
