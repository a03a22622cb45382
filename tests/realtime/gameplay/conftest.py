"""Game rooms tested on one instance (in-process broker and store) and on two instances on
PostgreSQL + Redis, with the same tests: players alternate between the instances."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest

from tests.conftest import migrate
from tests.support.accounts import Account, register
from tests.support.clients import WsClient
from tests.support.server import ServerProcess, start_server
from tests.support.services import REDIS_URL, create_postgres_database, require_tcp, scale_out_env
from tests.support.sio import SioClient

GAME_ENV = {"GAME_ACTIONS_PER_SEC": "20", "GAME_SEAT_GRACE_SECS": "2"}


@dataclass
class Deployment:
    servers: list[ServerProcess]

    def server_for(self, player: int) -> ServerProcess:
        return self.servers[player % len(self.servers)]


@pytest.fixture(scope="module", params=["one-instance", "two-instances-redis"])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    root = Path(tmp_path_factory.mktemp("games"))
    if request.param == "one-instance":
        server = start_server(
            root / "a", {"DATABASE_URL": f"sqlite:///{root}/parley.db", **GAME_ENV}
        )
        yield Deployment([server])
        server.stop()
        return
    require_tcp("Redis", REDIS_URL)
    database = create_postgres_database()
    try:
        migrate(root / "migrate", database.url)
        env = scale_out_env(database.url, **GAME_ENV)
        servers = [start_server(root / "a", env), start_server(root / "b", env)]
        yield Deployment(servers)
        for server in servers:
            server.stop()
    finally:
        database.drop()


@pytest.fixture
def api(deployment: Deployment) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=deployment.servers[0].base_url, timeout=15) as client:
        yield client


@pytest.fixture
def accounts(api: httpx.Client) -> Callable[[int], list[Account]]:
    return lambda count: [register(api) for _ in range(count)]


PlayerFactory = Callable[..., Any]


@pytest.fixture
async def player(deployment: Deployment) -> AsyncIterator[PlayerFactory]:
    """`await player(account, n)`: a `/gameplay` Socket.IO client of that account on the
    instance for player number n, signed in."""
    made: list[SioClient] = []

    async def connect(account: Account, n: int = 0) -> SioClient:
        client = SioClient("/gameplay")
        made.append(client)
        await client.connect(
            deployment.server_for(n).base_url, auth={"token": account.access_token}
        )
        await client.expect("authenticated")
        return client

    yield connect
    for client in made:
        await client.disconnect()


@pytest.fixture
async def ws_player(deployment: Deployment) -> AsyncIterator[PlayerFactory]:
    made: list[WsClient] = []

    async def connect(account: Account, n: int = 0) -> WsClient:
        client = await WsClient.open(
            deployment.server_for(n).base_url, account.access_token, path="/ws/gameplay"
        )
        made.append(client)
        return client

    yield connect
    for client in made:
        await client.close()


class Pair(NamedTuple):
    """Two players on different instances (where there are two), seated in one room."""

    first: Account
    second: Account
    a: SioClient
    b: SioClient
    room_id: str


@pytest.fixture
def seated_pair(
    accounts: Callable[[int], list[Account]], player: PlayerFactory
) -> Callable[..., Awaitable[Pair]]:
    """`await seated_pair(**create_room_fields)`: the first player creates, the second joins."""

    async def make(**room: Any) -> Pair:
        first, second = accounts(2)
        a, b = await player(first, 0), await player(second, 1)
        created = await a.call("create_room", room)
        await b.call("join_room", {"room_id": created["room_id"]})
        return Pair(first, second, a, b, created["room_id"])

    return make
