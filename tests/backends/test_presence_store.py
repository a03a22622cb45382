"""One behavioural contract, run on every presence store: in-process and Redis."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from parley.backends.memory import MemoryPresenceStore
from parley.backends.redis_presence import RedisPresenceStore
from parley.domain.ports import PresenceStore
from tests.support.services import REDIS_URL, require_tcp


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[PresenceStore]:
    if request.param == "memory":
        yield MemoryPresenceStore()
        return
    require_tcp("Redis", REDIS_URL)
    async with RedisPresenceStore(REDIS_URL, instance_ttl_secs=5, prefix=PREFIX) as redis_store:
        yield redis_store


PREFIX = f"parley-test-{uuid.uuid4().hex[:8]}:"


def new_id() -> str:
    return uuid.uuid4().hex


async def test_online_while_any_connection_is_open(store: PresenceStore) -> None:
    user = new_id()
    assert await store.is_online(user) is False
    assert await store.add_connection(user, "phone") is True  # first: announce online
    assert await store.add_connection(user, "laptop") is False
    assert await store.remove_connection(user, "phone") is False  # one left
    assert await store.is_online(user) is True
    assert await store.remove_connection(user, "laptop") is True  # last: announce offline
    assert await store.is_online(user) is False
    assert await store.remove_connection(user, "laptop") is False  # twice is harmless


async def test_viewers_are_counted_per_user(store: PresenceStore) -> None:
    room, alice, bob = new_id(), new_id(), new_id()
    assert await store.enter(room, alice, "a1") is True
    assert await store.enter(room, alice, "a2") is False
    assert await store.enter(room, bob, "b1") is True
    assert sorted(await store.viewers(room)) == sorted([alice, bob])
    assert await store.leave(room, alice, "a1") is False
    assert await store.leave(room, alice, "a2") is True
    assert await store.viewers(room) == [bob]
    assert await store.leave(room, alice, "a2") is False


async def test_a_dead_instances_users_go_offline() -> None:
    """Redis only: an instance that stops refreshing its liveness no longer counts."""
    require_tcp("Redis", REDIS_URL)
    user, room = new_id(), new_id()
    async with RedisPresenceStore(REDIS_URL, instance_ttl_secs=5, prefix=PREFIX) as survivor:
        crashed = RedisPresenceStore(REDIS_URL, instance_ttl_secs=5, prefix=PREFIX)
        await crashed.__aenter__()
        assert await crashed.add_connection(user, "c1") is True
        await crashed.enter(room, user, "c1")
        assert await survivor.is_online(user) is True
        # A crash: the heartbeat stops and the liveness key is gone (expired).
        assert crashed._heartbeat is not None
        crashed._heartbeat.cancel()
        await crashed._redis.delete(f"{PREFIX}pres:i:" + crashed.instance_id)
        await crashed._redis.aclose()
        assert await survivor.is_online(user) is False
        assert await survivor.viewers(room) == []
        assert user in await survivor.sweep()
        assert await survivor.sweep() == []  # nothing left to clear
