"""Issue #16: the delivery promises of README "Real time" and "Running several instances",
each through real server processes and real clients.

- a catch-up racing live sends: every message once, in seq order, nothing lost between the
  catch-up's end and live delivery (Socket.IO and /ws);
- the catch-up cap: 1 000 per conversation and `has_more`, the rest from history or `sync`;
- gap-free seqs with many connections sending to one conversation at once (SQLite, and two
  instances on PostgreSQL + Redis);
- a removed member's sockets stop receiving at the removal (one instance and two);
- two instances on MariaDB and Redis: a round trip and history.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import migrate
from tests.support.accounts import direct_chat, register
from tests.support.clients import WsClient
from tests.support.deployment import Deployment, two_instances
from tests.support.server import ServerProcess, start_server
from tests.support.services import REDIS_URL, create_mariadb_database, require_tcp, scale_out_env
from tests.support.sio import SioClient

# Big enough that a 1 000-message catch-up fits half of it (the catch-up's own budget) and
# that 20 busy connections each receiving 1 000 messages never count as too slow.
OUTBOX = {"OUTBOX_LIMIT": "4000"}
LONG_WAIT_SECS = 30.0
_ids = itertools.count(1)


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One instance on SQLite."""
    server = start_server(Path(tmp_path_factory.mktemp("promises")), OUTBOX)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    """Two instances on PostgreSQL and Redis."""
    with two_instances(Path(tmp_path_factory.mktemp("promises-pair")), **OUTBOX) as deployment:
        yield deployment


@pytest.fixture
async def opened() -> AsyncIterator[list[Any]]:
    clients: list[Any] = []
    yield clients
    for client in clients:
        await client.close() if isinstance(client, WsClient) else await client.disconnect()


class OrderedSio(SioClient):
    """Also keeps every event in arrival order, across names."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, Any]] = []

    async def _record(self, event: str, *args: Any) -> None:
        self.log.append((event, args[0] if args else None))
        await super()._record(event, *args)


def api_for(server: ServerProcess) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, timeout=15)


async def acked_seqs(client: WsClient, request_ids: list[str]) -> list[int]:
    """The seqs of these sends' acknowledgements, in the order they come."""
    waiting, seqs = set(request_ids), []
    while waiting:
        frame = await client.next(lambda f: f.get("id") in waiting, LONG_WAIT_SECS)
        assert frame["type"] == "ack", frame
        waiting.discard(frame["id"])
        seqs.append(int(frame["data"]["seq"]))
    return seqs


async def send_many(
    sender: WsClient, chat: str, count: int, tag: str, *, batch: int = 32, keep: bool = False
) -> list[int]:
    """`count` sends, pipelined in batches (`batch` in flight); the seqs acknowledged. What
    the sender receives meanwhile is dropped unless `keep`."""
    seqs: list[int] = []
    for start in range(0, count, batch):
        ids = []
        for i in range(start, min(count, start + batch)):
            request_id = f"{tag}-{next(_ids)}"
            ids.append(request_id)
            data = {"conversation_id": chat, "content": f"{tag} {i}"}
            await sender.send({"type": "send_message", "id": request_id, "data": data})
        seqs += await acked_seqs(sender, ids)
        if not keep:
            sender.seen.clear()
    return seqs


def new_message_seqs(client: WsClient, chat: str) -> list[int]:
    return [
        int(f["data"]["seq"])
        for f in client.seen
        if f.get("type") == "new_message" and f["data"]["conversation_id"] == chat
    ]


async def ws_until_seq(client: WsClient, chat: str, seq: int) -> list[int]:
    """Every new message's seq of `chat` until `seq` arrives, then a round trip: anything
    sent twice or after would be in by then."""
    if seq not in new_message_seqs(client, chat):
        await client.next(
            lambda f: f.get("type") == "new_message" and f["data"]["seq"] == seq,
            LONG_WAIT_SECS,
        )
    await client.ack("ping")
    return new_message_seqs(client, chat)


async def sio_until_seq(client: SioClient, chat: str, seq: int) -> list[int]:
    seqs: list[int] = []
    async with asyncio.timeout(LONG_WAIT_SECS):
        while not seqs or seqs[-1] != seq:
            message = await client.expect("message", LONG_WAIT_SECS)
            if message["conversation_id"] == chat:
                seqs.append(int(message["seq"]))
    await client.call("heartbeat")  # a round trip: repeats would have come before its answer
    seqs += [int(m["seq"]) for m in client.drain("message") if m["conversation_id"] == chat]
    return seqs


# 1. A catch-up racing live sends.


@pytest.mark.parametrize("protocol", ["ws", "socketio"])
async def test_a_catch_up_racing_live_sends_loses_nothing_and_repeats_nothing(
    single: ServerProcess, opened: list[Any], protocol: str
) -> None:
    with api_for(single) as api:
        alice, bob = register(api), register(api)
        chat = direct_chat(api, alice, bob)
    sender = await WsClient.open(single.base_url, bob.access_token)
    opened.append(sender)
    missed = await send_many(sender, chat, 300, "before")  # alice is away for these
    assert missed == list(range(1, 301))

    # Bob keeps sending while alice reconnects naming seq 0: the catch-up reads the 300 (and
    # whatever lands meanwhile) from the database while new ones are published live.
    during = asyncio.create_task(send_many(sender, chat, 300, "during"))
    since = {chat: 0}
    if protocol == "ws":
        receiver = await WsClient.open(single.base_url)
        opened.append(receiver)
        await receiver.send({"type": "auth", "data": {"token": alice.access_token, "since": since}})
        synced = (await receiver.expect("synced", LONG_WAIT_SECS))["data"]
    else:
        client = SioClient()
        opened.append(client)
        await client.connect(
            single.base_url, auth={"token": alice.access_token, "since": since, "recovery": False}
        )
        synced = await client.expect("synced", LONG_WAIT_SECS)
    report = synced["conversations"][chat]
    assert report["has_more"] is False
    assert 300 <= report["last_seq"] <= 600
    sent_live = await during
    assert sent_live == list(range(301, 601))
    last = await send_many(sender, chat, 1, "after")
    assert last == [601]

    if protocol == "ws":
        seqs = await ws_until_seq(receiver, chat, 601)
    else:
        seqs = await sio_until_seq(client, chat, 601)
    assert seqs == list(range(1, 602))  # each once, in order, the seam included


# 2. The catch-up cap.


async def test_more_than_a_thousand_missed_come_as_a_thousand_and_has_more(
    single: ServerProcess, opened: list[Any]
) -> None:
    with api_for(single) as api:
        alice, bob = register(api), register(api)
        chat = direct_chat(api, alice, bob)
        sender = await WsClient.open(single.base_url, bob.access_token)
        opened.append(sender)
        assert await send_many(sender, chat, 1005, "missed") == list(range(1, 1006))

        receiver = await WsClient.open(single.base_url)
        opened.append(receiver)
        await receiver.send(
            {"type": "auth", "data": {"token": alice.access_token, "since": {chat: 0}}}
        )
        synced = (await receiver.expect("synced", LONG_WAIT_SECS))["data"]
        assert synced["conversations"][chat] == {
            "delivered": 1000,
            "has_more": True,
            "last_seq": 1000,
        }
        assert new_message_seqs(receiver, chat) == list(range(1, 1001))

        # The rest from history, as the README says.
        rest = api.get(
            f"/api/v1/conversations/{chat}/messages",
            params={"after_seq": 1000},
            headers=alice.headers,
        ).json()
        assert ([m["seq"] for m in rest["messages"]], rest["has_more"]) == (
            list(range(1001, 1006)),
            False,
        )

    # …or by `sync` on the same connection.
    receiver.seen.clear()
    answer = await receiver.ack("sync", {"since": {chat: 1000}})
    assert answer["conversations"][chat] == {"delivered": 5, "has_more": False, "last_seq": 1005}
    assert await ws_until_seq(receiver, chat, 1005) == list(range(1001, 1006))

    # Socket.IO: the same cap and the same report in `synced`.
    client = SioClient()
    opened.append(client)
    await client.connect(
        single.base_url, auth={"token": alice.access_token, "since": {chat: 0}, "recovery": False}
    )
    synced = await client.expect("synced", LONG_WAIT_SECS)
    assert synced["conversations"][chat] == {"delivered": 1000, "has_more": True, "last_seq": 1000}
    seqs = [int(m["seq"]) for m in client.drain("message")]
    assert seqs == list(range(1, 1001))


# 3. Gap-free seqs under concurrent senders.


async def many_senders(servers: list[ServerProcess], opened: list[Any]) -> None:
    """20 connections (alternating over `servers`), 50 sends each, to one group at once: seqs
    1..1000 acknowledged, no gap, no repeat, and every connection receives all 1 000."""
    senders, per_sender = 20, 50
    total = senders * per_sender
    with api_for(servers[0]) as api:
        users = [register(api) for _ in range(senders)]
        response = api.post(
            "/api/v1/conversations",
            headers=users[0].headers,
            json={"name": "busy", "participant_ids": [u.id for u in users[1:]]},
        )
        assert response.status_code == 201, response.text
        chat = str(response.json()["id"])
    clients = []
    for i, user in enumerate(users):
        client = await WsClient.open(servers[i % len(servers)].base_url, user.access_token)
        opened.append(client)
        clients.append(client)

    async def run(index: int) -> list[int]:
        return await send_many(
            clients[index], chat, per_sender, f"from{index}", batch=10, keep=True
        )

    results = await asyncio.gather(*(run(i) for i in range(senders)))
    acknowledged = sorted(itertools.chain.from_iterable(results))
    assert acknowledged == list(range(1, total + 1))  # no gap, no repeat
    for client, own in zip(clients, results, strict=True):
        # A send with an id is answered by its ack, not echoed: each connection receives
        # everyone else's, each once.
        others = sorted(set(range(1, total + 1)) - set(own))
        seqs = await ws_until_seq(client, chat, others[-1])
        assert sorted(seqs) == others, "every connection gets each of the others' once"


async def test_gap_free_seqs_with_many_senders_on_sqlite(
    single: ServerProcess, opened: list[Any]
) -> None:
    await many_senders([single], opened)


async def test_gap_free_seqs_with_many_senders_across_two_instances(
    cluster: Deployment, opened: list[Any]
) -> None:
    await many_senders([cluster.a, cluster.b], opened)


# 4. A removed member stops receiving at once.


async def removed_member_stops_receiving(
    owner_side: ServerProcess, member_side: ServerProcess, opened: list[Any]
) -> None:
    with api_for(owner_side) as api:
        owner, bob, carol = register(api), register(api), register(api)
        response = api.post(
            "/api/v1/conversations",
            headers=owner.headers,
            json={"name": "team", "participant_ids": [bob.id, carol.id]},
        )
        assert response.status_code == 201, response.text
        chat = str(response.json()["id"])
        owner_ws = await WsClient.open(owner_side.base_url, owner.access_token)
        bob_ws = await WsClient.open(member_side.base_url, bob.access_token)
        bob_sio = OrderedSio()
        opened.extend([owner_ws, bob_ws, bob_sio])
        await bob_sio.connect(
            member_side.base_url, auth={"token": bob.access_token, "recovery": False}
        )
        await bob_sio.expect("authenticated")
        carol_ws = await WsClient.open(member_side.base_url, carol.access_token)
        opened.append(carol_ws)

        # The owner keeps sending while bob is removed.
        sending = asyncio.create_task(send_many(owner_ws, chat, 60, "around"))
        await bob_ws.next(lambda f: f.get("type") == "new_message")  # sends are flowing
        removed = await asyncio.to_thread(
            api.delete, f"/api/v1/conversations/{chat}/members/{bob.id}", headers=owner.headers
        )
        assert removed.status_code == 204, removed.text
        await sending
        last = (await send_many(owner_ws, chat, 1, "after"))[0]
    # Carol, on bob's instance, has the last message: it reached that instance, and bob's
    # connections would have had it queued too; a round trip on each flushes them.
    await carol_ws.next(lambda f: f.get("type") == "new_message" and f["data"]["seq"] == last)
    await bob_ws.ack("ping")
    await bob_sio.call("heartbeat")

    kinds = [f["type"] for f in bob_ws.seen if f.get("type") in ("new_message", "member_removed")]
    assert kinds.count("member_removed") == 1, kinds  # once, and nothing after it
    assert kinds[-1] == "member_removed", kinds

    sio_kinds = [name for name, _ in bob_sio.log if name in ("message", "member_removed")]
    assert sio_kinds.count("member_removed") == 1, sio_kinds
    assert sio_kinds[-1] == "member_removed", sio_kinds


async def test_a_removed_member_stops_receiving_on_one_instance(
    single: ServerProcess, opened: list[Any]
) -> None:
    await removed_member_stops_receiving(single, single, opened)


async def test_a_removed_member_stops_receiving_across_instances(
    cluster: Deployment, opened: list[Any]
) -> None:
    await removed_member_stops_receiving(cluster.a, cluster.b, opened)


# 7. MariaDB with Redis and two instances.


@pytest.fixture(scope="module")
def mariadb_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, ...]]:
    require_tcp("Redis", REDIS_URL)
    database = create_mariadb_database()
    root = Path(tmp_path_factory.mktemp("promises-mariadb"))
    started: list[ServerProcess] = []
    try:
        migrate(root / "migrate", database.url)
        env = scale_out_env(database.url)
        started += [start_server(root / "a", env), start_server(root / "b", env)]
        yield tuple(started)
    finally:
        for server in started:
            server.stop()
        database.drop()


async def test_two_instances_on_mariadb_and_redis_deliver_and_keep_history(
    mariadb_pair: tuple[ServerProcess, ...], opened: list[Any]
) -> None:
    a, b = mariadb_pair
    with api_for(a) as api_a, api_for(b) as api_b:
        alice, bob = register(api_a), register(api_b)
        chat = direct_chat(api_a, alice, bob)
        on_a = await WsClient.open(a.base_url, alice.access_token)
        on_b = await WsClient.open(b.base_url, bob.access_token)
        opened.extend([on_a, on_b])
        sent = await on_a.ack("send_message", {"conversation_id": chat, "content": "to b"})
        heard = await on_b.next(lambda f: f.get("type") == "new_message")
        assert (heard["data"]["id"], heard["data"]["seq"]) == (sent["id"], 1)
        answer = await on_b.ack("send_message", {"conversation_id": chat, "content": "to a"})
        back = await on_a.next(lambda f: f.get("type") == "new_message")
        assert (back["data"]["id"], back["data"]["seq"]) == (answer["id"], 2)
        for api, who in ((api_a, bob), (api_b, alice)):
            page = api.get(f"/api/v1/conversations/{chat}/messages", headers=who.headers).json()
            assert [m["content"] for m in page["messages"]] == ["to a", "to b"]  # newest first
