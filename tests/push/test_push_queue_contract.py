"""One contract, two push queues: in this process, and in Redis (the real server on 6379).

Delays are 0 (due at once) or an hour (not due within the test): nothing waits on a clock."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from parley.backends import create_push_queue
from parley.domain.ports import PushQueue
from tests.support.services import REDIS_URL, require_tcp


@pytest.fixture(params=["memory", "redis"])
async def queue(request: pytest.FixtureRequest) -> AsyncIterator[PushQueue]:
    url = ""
    if request.param == "redis":
        require_tcp("Redis", REDIS_URL)
        url = REDIS_URL
    made = create_push_queue(url, prefix=f"parley-test-{uuid.uuid4().hex[:8]}:")
    async with made as opened:
        yield opened


async def test_items_under_one_key_collapse_into_one_entry(queue: PushQueue) -> None:
    for n in range(5):
        await queue.add("u1:c1", {"n": n}, delay_secs=0, keep=3)
    await queue.add("u2:c1", {"n": 9}, delay_secs=0, keep=3)
    taken = sorted(await queue.take_due(10), key=lambda p: p.key)
    assert [(p.key, p.count, p.items) for p in taken] == [
        ("u1:c1", 5, [{"n": 2}, {"n": 3}, {"n": 4}]),  # the newest `keep`, oldest first
        ("u2:c1", 1, [{"n": 9}]),
    ]
    assert await queue.take_due(10) == []  # taken means gone


async def test_an_entry_waits_for_its_time_and_later_adds_join_it(queue: PushQueue) -> None:
    await queue.add("later:c", {"n": 1}, delay_secs=3600, keep=10)
    await queue.add("later:c", {"n": 2}, delay_secs=0, keep=10)  # the first add set the time
    assert await queue.take_due(10) == []


async def test_an_add_after_the_take_starts_a_new_entry(queue: PushQueue) -> None:
    await queue.add("u:c", {"n": 1}, delay_secs=0, keep=10)
    assert [p.count for p in await queue.take_due(10)] == [1]
    await queue.add("u:c", {"n": 2}, delay_secs=0, keep=10)
    [again] = await queue.take_due(10)
    assert (again.count, again.items) == (1, [{"n": 2}])


async def test_concurrent_takers_never_share_an_entry(queue: PushQueue) -> None:
    for n in range(50):
        await queue.add(f"u{n}:c", {"n": n}, delay_secs=0, keep=1)
    rounds = await asyncio.gather(*(queue.take_due(7) for _ in range(10)))
    keys = [p.key for taken in rounds for p in taken]
    assert sorted(keys) == sorted(f"u{n}:c" for n in range(50))
    assert all(len(taken) <= 7 for taken in rounds)
