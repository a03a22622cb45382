"""The push queue in Redis, shared by every instance.

A sorted set (`<REDIS_PREFIX>push:due`) holds each waiting key with its due time in
milliseconds of Redis's own clock (instances with skewed clocks agree); the key's items are a
list (`push:i:<key>`, trimmed to the newest few) and its count a counter (`push:n:<key>`).
Adding and taking are Lua scripts, so one entry is taken by exactly one instance. An instance
that dies during the grace leaves its entries here for the others to send; one that dies
between taking an entry and sending it loses that push (at most once).
"""

from __future__ import annotations

from typing import Any

import orjson
from redis.asyncio import Redis

from parley.backends.redis_client import redis_client
from parley.domain.ports import PendingPush, PushQueue

ADD = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZADD', KEYS[1], 'NX', now_ms + tonumber(ARGV[2]), ARGV[1])
redis.call('RPUSH', KEYS[2], ARGV[3])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[4]), -1)
redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return 1
"""

TAKE = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now_ms, 'LIMIT', 0, tonumber(ARGV[1]))
local out = {}
for _, key in ipairs(due) do
  redis.call('ZREM', KEYS[1], key)
  local items = redis.call('LRANGE', ARGV[2] .. 'i:' .. key, 0, -1)
  local count = redis.call('GET', ARGV[2] .. 'n:' .. key) or '0'
  redis.call('DEL', ARGV[2] .. 'i:' .. key, ARGV[2] .. 'n:' .. key)
  table.insert(out, {key, count, items})
end
return out
"""

KEEP_FOR_MS = 24 * 3600 * 1000
"""Items outlive their entry this long at most, should the sorted set ever lose it."""


class RedisPushQueue(PushQueue):
    def __init__(self, url: str, *, prefix: str) -> None:
        self._redis: Redis = redis_client(url)
        self._prefix = f"{prefix}push:"
        self._add = self._redis.register_script(ADD)
        self._take = self._redis.register_script(TAKE)

    async def aclose(self) -> None:
        await self._redis.aclose()

    async def add(self, key: str, item: dict[str, Any], *, delay_secs: float, keep: int) -> None:
        await self._add(
            keys=[self._prefix + "due", self._prefix + "i:" + key, self._prefix + "n:" + key],
            args=[key, max(0, int(delay_secs * 1000)), orjson.dumps(item), keep, KEEP_FOR_MS],
        )

    async def take_due(self, limit: int) -> list[PendingPush]:
        rows = await self._take(keys=[self._prefix + "due"], args=[limit, self._prefix])
        taken = []
        for key, count, items in rows:
            name = key.decode() if isinstance(key, bytes) else str(key)
            taken.append(PendingPush(name, [orjson.loads(i) for i in items], int(count)))
        return taken
