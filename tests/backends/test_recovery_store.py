"""One behavioural contract, run on every recovery store: in-process and Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from parley.backends.memory import MemoryBroker
from parley.backends.memory_recovery import MemoryRecoveryStore
from parley.backends.redis import RedisBroker
from parley.backends.redis_recovery import RedisRecoveryStore
from parley.domain.events import POSITION, Event
from parley.domain.ports import Broker, LoggedMessage, RecoveryStore, parse_position
from tests.support.clients import RECEIVE_TIMEOUT_SECS
from tests.support.services import REDIS_URL, require_tcp

PREFIX = f"parley-test-{uuid.uuid4().hex[:8]}:"
CHANNEL = "c:recovery-test"


@pytest.fixture(params=["memory", "redis"])
async def stores(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[RecoveryStore, asyncio.Queue[bytes]]]:
    """A store, and what its broker delivers on CHANNEL."""
    heard: asyncio.Queue[bytes] = asyncio.Queue()
    broker: Broker
    if request.param == "memory":
        broker = MemoryBroker()
    else:
        require_tcp("Redis", REDIS_URL)
        broker = RedisBroker(REDIS_URL, prefix=PREFIX)
        await broker.__aenter__()
    broker.set_handler(lambda channel, payload: heard.put_nowait(payload))
    await broker.subscribe(CHANNEL)
    try:
        if request.param == "memory":
            yield MemoryRecoveryStore(broker, retention_secs=60), heard
        else:
            async with RedisRecoveryStore(REDIS_URL, prefix=PREFIX, retention_secs=60) as store:
                yield store, heard
    finally:
        await broker.aclose()


def message_event(seq: int) -> Event:
    return Event(CHANNEL, "message.created", {"seq": seq, "content": f"m{seq}"}, origin="conn-1")


async def publish(store: RecoveryStore, seq: int, origin: str | None = "conn-1") -> str:
    event = message_event(seq)
    logged = LoggedMessage("", CHANNEL[2:], seq, origin)
    return await store.publish_message(CHANNEL, event.encode_positioned(), logged)


async def test_messages_are_published_with_their_position_in_log_order(
    stores: tuple[RecoveryStore, asyncio.Queue[bytes]],
) -> None:
    store, heard = stores
    start = await store.last_position()
    positions = [await publish(store, seq) for seq in (1, 2, 3)]
    assert positions == sorted(positions, key=lambda p: parse_position(p) or (0, 0))
    assert len(set(positions)) == 3
    assert await store.last_position() == positions[-1]
    for seq, position in zip((1, 2, 3), positions, strict=True):
        payload = await asyncio.wait_for(heard.get(), RECEIVE_TIMEOUT_SECS)
        event = Event.decode(CHANNEL, payload)
        assert event.data == {"seq": seq, "content": f"m{seq}"}
        assert event.extra[POSITION] == position
        assert event.origin == "conn-1"
    after = await store.messages_after(start, limit=100)
    assert after is not None
    assert [(m.position, m.seq, m.origin) for m in after[-3:]] == [
        (position, seq, "conn-1") for seq, position in zip((1, 2, 3), positions, strict=True)
    ]
    later = await store.messages_after(positions[0], limit=100)  # exclusive of the offset
    assert later is not None
    assert [m.seq for m in later[-2:]] == [2, 3]
    assert positions[0] not in [m.position for m in later]


async def test_a_replay_past_the_limit_is_refused(
    stores: tuple[RecoveryStore, asyncio.Queue[bytes]],
) -> None:
    store, _ = stores
    start = await store.last_position()
    for seq in range(5):
        await publish(store, seq, origin=None)
    assert await store.messages_after(start, limit=4) is None
    found = await store.messages_after(start, limit=5)
    assert found is not None
    assert [m.origin for m in found] == [None] * 5


async def test_a_record_is_taken_once(stores: tuple[RecoveryStore, asyncio.Queue[bytes]]) -> None:
    store, _ = stores
    key = uuid.uuid4().hex
    assert await store.save(key, b"record", 60, owner="conn-1") is True
    await store.keep([key, uuid.uuid4().hex], 60)  # an unknown key is no error
    assert await store.take(key) == b"record"
    assert await store.take(key) is None
    assert await store.take(uuid.uuid4().hex) is None


async def test_a_record_resumed_elsewhere_is_not_overwritten_by_its_old_connection(
    stores: tuple[RecoveryStore, asyncio.Queue[bytes]],
) -> None:
    store, _ = stores
    key = uuid.uuid4().hex
    assert await store.save(key, b"old", 60, owner="conn-1", unless_taken=True) is True
    assert await store.save(key, b"old, again", 60, owner="conn-1", unless_taken=True) is True
    assert await store.save(key, b"resumed", 60, owner="conn-2") is True  # took it over
    assert await store.save(key, b"old, gone", 60, owner="conn-1", unless_taken=True) is False
    assert await store.take(key) == b"resumed"


async def test_malformed_positions_read_from_the_start(
    stores: tuple[RecoveryStore, asyncio.Queue[bytes]],
) -> None:
    store, _ = stores
    await publish(store, 1)
    for bad in ("", "abc", "1-", "-1", "\uff11-1", "9" * 30 + "-1"):
        found = await store.messages_after(bad, limit=100_000)
        assert found is not None
        assert found  # from the start of what is kept


async def test_the_in_process_log_refuses_a_replay_it_dropped_entries_of() -> None:
    """Bounded in entries as well as in time: what it had to drop for room, it cannot replay."""
    broker = MemoryBroker()
    store = MemoryRecoveryStore(broker, retention_secs=60, max_entries=3)
    start = await store.last_position()
    positions = [await publish(store, seq) for seq in range(5)]
    assert await store.messages_after(start, limit=100) is None
    kept = await store.messages_after(positions[1], limit=100)
    assert kept is not None
    assert [m.seq for m in kept] == [2, 3, 4]
