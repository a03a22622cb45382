"""A sliding-window rate limit in Redis, shared by every instance.

Each key is a sorted set of hit times (`<REDIS_PREFIX>rl:<name>:<key>`), trimmed to the window
and checked in one Lua script on Redis's own clock, so instances with skewed clocks agree.
"""

from __future__ import annotations

from redis.asyncio import Redis

from parley.backends.redis_client import redis_client
from parley.backends.resp import RespClient, Script
from parley.domain.ports import RateLimit

HIT = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now_ms)
end
redis.call('ZADD', KEYS[1], now_ms, now_ms .. '-' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 0
"""
"""0: allowed; else the milliseconds until the oldest hit leaves the window."""

PEEK = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local window = tonumber(ARGV[1])
local count = redis.call('ZCOUNT', KEYS[1], '(' .. (now_ms - window), '+inf')
if count >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (now_ms - window), '+inf',
    'WITHSCORES', 'LIMIT', 0, 1)
  return math.max(1, tonumber(oldest[2]) + window - now_ms)
end
return 0
"""
"""HIT's answer without recording (nor trimming: read-only)."""


class RedisRateLimit(RateLimit):
    def __init__(self, url: str, *, prefix: str, name: str, limit: int, window_secs: float) -> None:
        self._redis: Redis = redis_client(url)
        self._commands = RespClient(url)  # a hit per message sent, say: pipelined (`resp`)
        self._key = f"{prefix}rl:{name}:"
        self._limit = limit
        self._window_ms = max(1, int(window_secs * 1000))
        self._script = Script(HIT)
        self._peek = self._redis.register_script(PEEK)
        self._hits = 0

    async def aclose(self) -> None:
        await self._commands.aclose()
        await self._redis.aclose()

    async def hit(self, key: str) -> float | None:
        self._hits += 1  # two hits in the same millisecond are still two members
        wait_ms = int(
            await self._commands.run(
                self._script, [self._key + key], [self._window_ms, self._limit, self._hits]
            )
        )
        return None if wait_ms == 0 else wait_ms / 1000

    async def peek(self, key: str) -> float | None:
        wait_ms = int(await self._peek(keys=[self._key + key], args=[self._window_ms, self._limit]))
        return None if wait_ms == 0 else wait_ms / 1000
