"""Two Parley instances on one PostgreSQL and one Redis: clients on either reach each other."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import migrate
from tests.support.accounts import befriend, register
from tests.support.clients import WsClient
from tests.support.deployment import Deployment, two_instances
from tests.support.redis_server import OwnRedis, own_redis
from tests.support.server import API_KEY, ServerProcess, start_server
from tests.support.services import REDIS_URL, create_postgres_database, require_tcp, scale_out_env


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    with two_instances(Path(tmp_path_factory.mktemp("cluster"))) as deployment:
        yield deployment


@pytest.fixture
def api_a(cluster: Deployment) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cluster.a.base_url, timeout=15) as client:
        yield client


@pytest.fixture
def api_b(cluster: Deployment) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cluster.b.base_url, timeout=15) as client:
        yield client


@pytest.fixture
async def opened() -> AsyncIterator[list[WsClient]]:
    clients: list[WsClient] = []
    yield clients
    for client in clients:
        await client.close()


async def open_ws(server: ServerProcess, opened: list[WsClient], token: str) -> WsClient:
    client = await WsClient.open(server.base_url, token)
    opened.append(client)
    return client


def test_both_instances_report_redis_healthy(api_a: httpx.Client, api_b: httpx.Client) -> None:
    for api in (api_a, api_b):
        body = api.get("/health").json()
        assert body["services"] == {"database": "ok", "broker": "ok"}


def test_phone_code_limits_count_across_instances(api_a: httpx.Client, api_b: httpx.Client) -> None:
    """OTP_REQUESTS_PER_NUMBER (3) holds for the deployment, not per instance."""
    mobile = f"+1650253{random.randrange(10_000):04d}"
    body = {"mobile_no": mobile, "device_id": "dev-1", "fcm_token": "fcm-1"}
    answers = [api.post("/auth/login", json=body) for api in (api_a, api_b, api_a, api_b)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.json()["error"]["code"] == "otp_rate_limited"
    assert int(refused.headers["retry-after"]) > 0


async def test_messages_typing_and_receipts_cross_instances(
    cluster: Deployment, api_a: httpx.Client, api_b: httpx.Client, opened: list[WsClient]
) -> None:
    alice, bob = register(api_a), register(api_b)
    chat = api_a.post(
        "/api/v1/conversations", headers=alice.headers, json={"participant_id": bob.id}
    ).json()["id"]
    on_a = await open_ws(cluster.a, opened, alice.access_token)
    on_b = await open_ws(cluster.b, opened, bob.access_token)
    await on_a.ack("join_room", {"conversation_id": chat})
    await on_b.ack("join_room", {"conversation_id": chat})

    sent = await on_a.ack("send_message", {"conversation_id": chat, "content": "across"})
    assert (await on_b.expect("new_message"))["data"]["id"] == sent["id"]
    api_b.post(
        f"/api/v1/conversations/{chat}/messages", headers=bob.headers, json={"content": "and back"}
    )
    assert (await on_a.expect("new_message"))["data"]["content"] == "and back"

    await on_b.ack("typing", {"conversation_id": chat, "is_typing": True})
    assert (await on_a.expect("typing"))["data"]["user_id"] == bob.id
    await on_a.ack("read_receipt", {"conversation_id": chat})
    assert (await on_b.expect("read_receipt"))["data"]["user_id"] == alice.id


async def test_presence_and_new_members_cross_instances(
    cluster: Deployment, api_a: httpx.Client, api_b: httpx.Client, opened: list[WsClient]
) -> None:
    owner, newcomer = register(api_a), register(api_b)
    befriend(api_a, owner, newcomer)
    watcher = await open_ws(cluster.a, opened, owner.access_token)
    await watcher.ack("subscribe_status", {"target_user_id": newcomer.id})
    on_b = await open_ws(cluster.b, opened, newcomer.access_token)
    assert (await watcher.expect("user_online"))["data"]["user_id"] == newcomer.id

    group = api_a.post(
        "/api/v1/conversations",
        headers=owner.headers,
        json={"name": "cross", "participant_ids": []},
    ).json()
    api_a.post(
        f"/api/v1/conversations/{group['id']}/members",
        headers=owner.headers,
        json={"user_id": newcomer.id},
    )
    assert (await on_b.expect("conversation_joined"))["data"]["conversation_id"] == group["id"]
    api_a.post(
        f"/api/v1/conversations/{group['id']}/messages",
        headers=owner.headers,
        json={"content": "welcome across"},
    )
    assert (await on_b.expect("new_message"))["data"]["content"] == "welcome across"


async def test_broadcast_on_one_instance_reaches_the_other(
    cluster: Deployment, api_a: httpx.Client, api_b: httpx.Client, opened: list[WsClient]
) -> None:
    listener = register(api_b)
    room = f"cluster-news-{uuid.uuid4().hex[:8]}"
    on_b = await open_ws(cluster.b, opened, listener.access_token)
    await on_b.ack("join_room", {"room_id": room})
    response = api_a.post(
        "/api/v1/broadcast",
        headers={"X-API-Key": API_KEY},
        json={"room_id": room, "content": "to everyone"},
    )
    assert response.status_code == 201
    assert (await on_b.expect("new_message"))["data"]["content"] == "to everyone"


@dataclass
class RestartableCluster:
    redis: OwnRedis
    servers: list[ServerProcess]


@pytest.fixture
def restartable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RestartableCluster]:
    """Two instances on a Redis of the test's own, which the test may kill and restart."""
    root = Path(tmp_path_factory.mktemp("redis-restart"))
    redis_server = own_redis(root)
    redis_server.start()
    database = create_postgres_database()
    servers: list[ServerProcess] = []
    try:
        migrate(root / "migrate", database.url)
        env = {"DATABASE_URL": database.url, "REDIS_URL": redis_server.url}
        servers = [start_server(root / "a", env), start_server(root / "b", env)]
        yield RestartableCluster(redis_server, servers)
    finally:
        for server in servers:
            server.stop()
        redis_server.stop()
        database.drop()


async def test_delivery_resumes_after_redis_restarts(
    restartable: RestartableCluster, opened: list[WsClient]
) -> None:
    """Redis goes away and comes back: the instances resubscribe, nothing crashes, and a
    message sent meanwhile is stored (live delivery of it is the reconnect catch-up's job)."""
    a, b = restartable.servers
    with httpx.Client(base_url=a.base_url, timeout=15) as api:
        alice, bob = register(api), register(api)
        chat = api.post(
            "/api/v1/conversations", headers=alice.headers, json={"participant_id": bob.id}
        ).json()["id"]
        on_a = await open_ws(a, opened, alice.access_token)
        on_b = await open_ws(b, opened, bob.access_token)
        await on_a.ack("send_message", {"conversation_id": chat, "content": "before"})
        assert (await on_b.expect("new_message"))["data"]["content"] == "before"

        marks = [len(server.log_lines) for server in (a, b)]
        restartable.redis.stop()
        down = api.get("/health")
        assert down.status_code == 503
        assert down.json()["services"]["broker"].startswith("error")
        during = await on_a.ack("send_message", {"conversation_id": chat, "content": "during"})
        assert during["seq"] == 2

        restartable.redis.start()
        for server, mark in zip((a, b), marks, strict=True):
            await asyncio.to_thread(server.wait_for_log, "redis.subscriber_restored", after=mark)
        assert api.get("/health").status_code == 200
        await on_a.ack("send_message", {"conversation_id": chat, "content": "after"})
        after = await on_b.next(lambda f: f.get("data", {}).get("content") == "after")
        assert after["data"]["seq"] == 3


async def test_presence_and_viewers_span_instances(
    cluster: Deployment, api_a: httpx.Client, opened: list[WsClient]
) -> None:
    watcher, bob = register(api_a), register(api_a)
    befriend(api_a, watcher, bob)
    watching = await open_ws(cluster.a, opened, watcher.access_token)
    await watching.ack("subscribe_status", {"target_user_id": bob.id})
    bob_on_a = await WsClient.open(cluster.a.base_url, bob.access_token)
    bob_on_b = await WsClient.open(cluster.b.base_url, bob.access_token)
    assert (await watching.expect("user_online"))["data"]["user_id"] == bob.id

    room = f"spread-{uuid.uuid4().hex[:8]}"
    await watching.ack("join_room", {"room_id": room})
    joined = await bob_on_b.ack("join_room", {"room_id": room})
    assert set(joined["users"]) == {watcher.id, bob.id}  # viewers on both instances

    await bob_on_a.close()  # still connected on B: not offline
    await bob_on_b.ack("ping")
    await bob_on_b.close()
    offline = await watching.expect("user_offline", timeout=10)
    assert offline["data"]["user_id"] == bob.id
    # Bob comes back on B, whose frames about him arrive in the order B published them: any
    # stray one of B's (a re-announcement, a second offline) has arrived before his return.
    bob_again = await WsClient.open(cluster.b.base_url, bob.access_token)
    assert (await watching.expect("user_online"))["data"]["user_id"] == bob.id
    await bob_again.close()
    # Online once, offline once before that: the second device neither re-announced nor
    # ended it early.
    assert [f["type"] for f in watching.seen if f["type"].startswith("user_o")] == [
        "user_online",
        "user_offline",
        "user_online",
    ]


@pytest.fixture
def killable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[ServerProcess]]:
    """Two instances with a 2 s liveness TTL, one of which the test kills with SIGKILL."""
    require_tcp("Redis", REDIS_URL)
    database = create_postgres_database()
    root = Path(tmp_path_factory.mktemp("killable"))
    servers: list[ServerProcess] = []
    try:
        migrate(root / "migrate", database.url)
        env = scale_out_env(database.url, PRESENCE_INSTANCE_TTL_SECS="2")
        servers = [start_server(root / "a", env), start_server(root / "b", env)]
        yield servers
    finally:
        for server in servers:
            server.stop()
        database.drop()


async def test_users_of_a_killed_instance_go_offline(
    killable: list[ServerProcess], opened: list[WsClient]
) -> None:
    survivor, doomed = killable
    with httpx.Client(base_url=survivor.base_url, timeout=15) as api:
        watcher, victim = register(api), register(api)
        befriend(api, watcher, victim)
    watching = await open_ws(survivor, opened, watcher.access_token)
    await watching.ack("subscribe_status", {"target_user_id": victim.id})
    await open_ws(doomed, opened, victim.access_token)
    assert (await watching.expect("user_online"))["data"]["user_id"] == victim.id

    doomed.process.kill()  # SIGKILL: no goodbye, no clean-up
    offline = await watching.expect("user_offline", timeout=15)
    assert offline["data"]["user_id"] == victim.id
    assert offline["data"]["username"] == victim.username


async def test_no_acknowledged_message_is_lost_when_an_instance_dies(
    killable: list[ServerProcess], opened: list[WsClient]
) -> None:
    """Alice's instance is killed mid-conversation; she reconnects to the other one with the
    last seq she saw and ends up with every message Bob had acknowledged, once, in order."""
    survivor, doomed = killable
    with httpx.Client(base_url=survivor.base_url, timeout=15) as api:
        alice, bob = register(api), register(api)
        chat = api.post(
            "/api/v1/conversations", headers=alice.headers, json={"participant_id": bob.id}
        ).json()["id"]
    sender = await open_ws(survivor, opened, bob.access_token)
    reader = await WsClient.open(doomed.base_url, alice.access_token)
    acked: list[int] = []
    for i in range(20):
        acked.append(
            (await sender.ack("send_message", {"conversation_id": chat, "content": f"m{i}"}))["seq"]
        )
        if i == 9:
            await reader.next(lambda f: f.get("data", {}).get("seq") == acked[4])
            doomed.process.kill()
    seen = [f["data"]["seq"] for f in reader.seen if f.get("type") == "new_message"]
    last = max(seen)

    back = await WsClient.open(survivor.base_url)
    opened.append(back)
    await back.send({"type": "auth", "data": {"token": alice.access_token, "since": {chat: last}}})
    await back.expect("synced")
    recovered = [f["data"]["seq"] for f in back.seen if f.get("type") == "new_message"]
    assert seen + recovered == acked == list(range(1, 21))
