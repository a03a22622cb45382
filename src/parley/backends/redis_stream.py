"""The write-behind message log: a Redis Stream read by a consumer group of writers.

Senders append; every instance runs one consumer of the group `writers`, which hands batches
to the database writer and acknowledges them only after they are committed. An entry left
pending by a consumer that crashed is claimed by another once it has been idle for
`claim_idle_secs` (XAUTOCLAIM), so delivery to the database is at-least-once; the writer is
idempotent on the message id. Acknowledged entries are deleted, so the stream holds only the
backlog.

Sequence numbers come from Redis too (`seq:<conversation>`), seeded from the database the
first time a conversation is written to in this mode.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
import structlog
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from parley.backends.redis_client import redis_client
from parley.domain.ports import MessageLog, Persist
from parley.lifecycle import stop_task

log = structlog.get_logger(__name__)

GROUP = "writers"
BATCH = 500
BACKOFF_MAX_SECS = 5.0

_NEXT_SEQ = """
if redis.call('exists', KEYS[1]) == 0 then redis.call('set', KEYS[1], ARGV[1]) end
return redis.call('incr', KEYS[1])
"""


class RedisMessageLog(MessageLog):
    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        consumer: str,
        claim_idle_secs: float,
        dedup_ttl_secs: int = 86_400,
    ) -> None:
        self._redis: Redis = redis_client(url)
        self._stream = prefix + "messages"
        self._prefix = prefix
        self._consumer = consumer
        self._claim_idle_ms = int(claim_idle_secs * 1000)
        self._dedup_ttl = dedup_ttl_secs
        self._worker: asyncio.Task[None] | None = None
        self._next_seq = self._redis.register_script(_NEXT_SEQ)

    async def __aenter__(self) -> RedisMessageLog:
        await self._create_group()
        return self

    async def _create_group(self) -> None:
        with contextlib.suppress(ResponseError):  # BUSYGROUP: it exists already
            await self._redis.xgroup_create(self._stream, GROUP, id="0", mkstream=True)

    async def aclose(self) -> None:
        await stop_task(self._worker)
        await self._redis.aclose()

    # -- the sending side ------------------------------------------------------------------------

    async def next_seq(self, conversation_id: str, stored_last_seq: int) -> int:
        seq = await self._next_seq(
            keys=[self._prefix + "seq:" + conversation_id], args=[stored_last_seq]
        )
        return int(seq)

    async def claim_client_id(self, key: str, message_json: bytes) -> bytes | None:
        full = self._prefix + "dedup:" + key
        if await self._redis.set(full, message_json, nx=True, ex=self._dedup_ttl):
            return None
        stored = await self._redis.get(full)
        return stored.encode() if isinstance(stored, str) else stored

    async def release_client_id(self, key: str) -> None:
        await self._redis.delete(self._prefix + "dedup:" + key)

    async def append(self, row: dict[str, Any]) -> None:
        await self._redis.xadd(self._stream, {"m": orjson.dumps(row, default=str)})

    # -- the writing side ------------------------------------------------------------------------

    def start(self, persist: Persist) -> None:
        self._worker = asyncio.create_task(self._consume(persist), name="write-behind-worker")

    async def _consume(self, persist: Persist) -> None:
        backoff = 0.1
        while True:
            try:
                entries = await self._claim_stale()
                if not entries:
                    entries = await self._read_new()
                if entries:
                    await persist([orjson.loads(fields[b"m"]) for _, fields in entries])
                    ids = [entry_id for entry_id, _ in entries]
                    await self._redis.xack(self._stream, GROUP, *ids)
                    await self._redis.xdel(self._stream, *ids)
                    log.debug("write_behind.stored", entries=len(ids))
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis or the database away: the entries stay pending
                log.warning("write_behind.retry", error=type(exc).__name__, retry_in=backoff)
                if isinstance(exc, ResponseError) and str(exc).startswith("NOGROUP"):
                    # Redis came back empty (restarted without persistence) and the group went
                    # with it: without one, nothing sent from now on would ever be stored.
                    with contextlib.suppress(Exception):
                        await self._create_group()
                        log.warning("write_behind.group_recreated")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_SECS)

    async def _claim_stale(self) -> list[tuple[bytes, dict[bytes, bytes]]]:
        """Entries another consumer took and never acknowledged (it crashed)."""
        result = await self._redis.xautoclaim(
            self._stream,
            GROUP,
            self._consumer,
            min_idle_time=self._claim_idle_ms,
            start_id="0-0",
            count=BATCH,
        )
        return [e for e in result[1] if e and e[1]]

    async def _read_new(self) -> list[tuple[bytes, dict[bytes, bytes]]]:
        response = await self._redis.xreadgroup(
            GROUP, self._consumer, {self._stream: ">"}, count=BATCH, block=1000
        )
        if not response:
            return []
        # RESP2 answers [[stream, entries]], RESP3 {stream: [entries]}.
        raw: Any = response
        entries = raw[0][1] if isinstance(raw, list) else next(iter(raw.values()))[0]
        return list(entries)
