"""The Redis recovery store: a stream of new messages' positions, and the recoverable sessions.

One Lua script appends a message to the stream (`XADD`, trimmed to the retention by time:
stream ids are milliseconds) and publishes its event with the stream id in it. Redis runs
the script atomically and delivers Pub/Sub messages in the order it ran the PUBLISHes, so
the stream's order is the order in which every instance receives the messages: a client's
last offset splits the stream into what it has and what it missed. Sessions are plain keys
with a time to live (hashes of the record and the connection that owns it), read and deleted
in one step (a session resumes once). This is what the reference
server's Redis Streams adapter keeps; Parley's Pub/Sub broker stays as it is.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from parley.backends.redis_client import redis_client
from parley.backends.resp import RespClient, Script
from parley.domain.ports import LoggedMessage, RecoveryStore, parse_position

PUBLISH = """
local now = redis.call('TIME')
local oldest = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) - tonumber(ARGV[1])
local id = redis.call('XADD', KEYS[1], 'MINID', '~', oldest, '*',
                      'c', ARGV[2], 's', ARGV[3], 'o', ARGV[4])
redis.call('PUBLISH', ARGV[5], ARGV[6] .. id .. ARGV[7])
return id
"""

SAVE = """
if ARGV[4] == '1' then
  local owner = redis.call('HGET', KEYS[1], 'owner')
  if owner and owner ~= ARGV[2] then return 0 end
end
redis.call('HSET', KEYS[1], 'record', ARGV[1], 'owner', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""

TAKE = """
local record = redis.call('HGET', KEYS[1], 'record')
redis.call('DEL', KEYS[1])
return record
"""

SCAN_BATCH = 1000


class RedisRecoveryStore(RecoveryStore):
    def __init__(self, url: str, *, prefix: str, retention_secs: float) -> None:
        self._redis: Redis = redis_client(url, socket_connect_timeout=2)
        self._commands = RespClient(url)  # the per-message script: pipelined (`resp`)
        self._prefix = prefix
        self._stream = prefix + "recovery:log"
        self._retention_ms = int(retention_secs * 1000)
        self._publish = Script(PUBLISH)
        self._save: Any = self._redis.register_script(SAVE)
        self._take: Any = self._redis.register_script(TAKE)

    async def __aenter__(self) -> RedisRecoveryStore:
        await self._redis.ping()
        return self

    async def aclose(self) -> None:
        await self._commands.aclose()
        await self._redis.aclose()

    async def publish_message(
        self, channel: str, positioned: tuple[bytes, bytes], message: LoggedMessage
    ) -> str:
        head, tail = positioned
        position = await self._commands.run(
            self._publish,
            [self._stream],
            [
                self._retention_ms,
                message.conversation_id,
                message.seq,
                message.origin or "",
                self._prefix + channel,
                head,
                tail,
            ],
        )
        return position.decode() if isinstance(position, bytes) else str(position)

    async def last_position(self) -> str:
        newest: Any = await self._redis.xrevrange(self._stream, count=1)
        return str(newest[0][0].decode()) if newest else "0-0"

    async def messages_after(self, position: str, *, limit: int) -> list[LoggedMessage] | None:
        after = position if parse_position(position) is not None else "0-0"
        found: list[LoggedMessage] = []
        while True:
            batch: Any = await self._redis.xrange(self._stream, min="(" + after, count=SCAN_BATCH)
            for entry_id, fields in batch:
                if len(found) == limit:
                    return None
                origin = fields.get(b"o", b"").decode()
                found.append(
                    LoggedMessage(
                        entry_id.decode(),
                        fields[b"c"].decode(),
                        int(fields[b"s"]),
                        origin or None,
                    )
                )
            if len(batch) < SCAN_BATCH:
                return found
            after = batch[-1][0].decode()

    async def save(
        self, key: str, record: bytes, ttl_secs: float, *, owner: str, unless_taken: bool = False
    ) -> bool:
        ttl_ms = max(1, int(ttl_secs * 1000))
        saved = await self._save(
            keys=[self._key(key)], args=[record, owner, ttl_ms, "1" if unless_taken else "0"]
        )
        return bool(saved)

    async def take(self, key: str) -> bytes | None:
        found: Any = await self._take(keys=[self._key(key)])
        return None if found is None else bytes(found)

    async def keep(self, keys: list[str], ttl_secs: float) -> None:
        if not keys:
            return
        ttl_ms = max(1, int(ttl_secs * 1000))
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.pexpire(self._key(key), ttl_ms)
            await pipe.execute()

    def _key(self, key: str) -> str:
        return self._prefix + "recovery:session:" + key
