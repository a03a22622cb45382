"""Presence in Redis: who is connected and who views what, across every instance.

Each connection is recorded under its user (and each view under its conversation) together
with the id of the instance that holds it. An instance proves it is alive by refreshing a key
with a short TTL; entries of an instance whose key has expired do not count, so the users of
a crashed instance go offline by themselves, and `sweep` (run by one instance at a time)
removes those entries and says which users it took offline.

Keys (prefix `<REDIS_PREFIX>pres:`): `u:<user>` hash connection → instance; `v:<conversation>` hash
`<user>|<connection>` → instance; `i:<instance>` liveness; `ic:<instance>` set of what the
instance recorded, for the sweep; `instances` set of instance ids; `sweep-lock`.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Iterable

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from parley.backends.redis_client import redis_client
from parley.domain.ports import PresenceStore
from parley.lifecycle import stop_task

log = structlog.get_logger(__name__)


class RedisPresenceStore(PresenceStore):
    def __init__(self, url: str, *, instance_ttl_secs: float, prefix: str) -> None:
        self._prefix = prefix + "pres:"
        self._redis: Redis = redis_client(url, decode_responses=True)
        self.instance_id = uuid.uuid4().hex
        self._ttl_ms = max(1000, int(instance_ttl_secs * 1000))
        self._heartbeat: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RedisPresenceStore:
        await self._beat()
        await self._redis.sadd(self._prefix + "instances", self.instance_id)
        self._heartbeat = asyncio.create_task(self._keep_alive(), name="presence-heartbeat")
        return self

    async def aclose(self) -> None:
        await stop_task(self._heartbeat)
        # A clean stop: let the entries of this instance go at once.
        with contextlib.suppress(RedisError, OSError):
            await self._redis.delete(self._prefix + "i:" + self.instance_id)
        await self._redis.aclose()

    async def _beat(self) -> None:
        # The value is the instance's connection count (the dashboard); being there is alive.
        beat = str(self.connections_here())
        await self._redis.set(self._prefix + "i:" + self.instance_id, beat, px=self._ttl_ms)

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self._ttl_ms / 3000)
            try:
                await self._beat()
            except (RedisError, OSError) as exc:
                log.warning("presence.heartbeat_failed", error=str(exc))

    async def instances(self) -> dict[str, int]:
        """Each live instance's connection count, as of its last heartbeat."""
        known = sorted(await self._set(self._prefix + "instances"))
        if not known:
            return {}
        beats = await self._redis.mget([self._prefix + "i:" + i for i in known])
        return {i: _count(beat) for i, beat in zip(known, beats, strict=True) if beat}

    async def _hash(self, key: str) -> dict[str, str]:
        raw = await self._redis.hgetall(key)
        return {_text(k): _text(v) for k, v in raw.items()}

    async def _set(self, key: str) -> set[str]:
        return {_text(member) for member in await self._redis.smembers(key)}

    async def _live(self, entries: dict[str, str]) -> dict[str, str]:
        """The entries whose instance is alive."""
        instances = sorted(set(entries.values()))
        if not instances:
            return {}
        alive = await self._redis.mget([self._prefix + "i:" + i for i in instances])
        living = {i for i, flag in zip(instances, alive, strict=True) if flag}
        return {k: v for k, v in entries.items() if v in living}

    async def _record(self, key: str, field: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, field, self.instance_id)
            pipe.sadd(self._prefix + "ic:" + self.instance_id, f"{key}\n{field}")
            await pipe.execute()

    async def _forget(self, key: str, field: str) -> bool:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(key, field)
            pipe.srem(self._prefix + "ic:" + self.instance_id, f"{key}\n{field}")
            removed, _ = await pipe.execute()
        return bool(removed)

    async def add_connection(self, user_id: str, connection_id: str) -> bool:
        key = self._prefix + "u:" + user_id
        await self._record(key, connection_id)
        return len(await self._live(await self._hash(key))) == 1

    async def remove_connection(self, user_id: str, connection_id: str) -> bool:
        key = self._prefix + "u:" + user_id
        if not await self._forget(key, connection_id):
            return False
        return not await self._live(await self._hash(key))

    async def is_online(self, user_id: str) -> bool:
        return bool(await self._live(await self._hash(self._prefix + "u:" + user_id)))

    async def enter(self, conversation_id: str, user_id: str, connection_id: str) -> bool:
        key = self._prefix + "v:" + conversation_id
        await self._record(key, f"{user_id}|{connection_id}")
        return len(_user_entries(await self._live(await self._hash(key)), user_id)) == 1

    async def leave(self, conversation_id: str, user_id: str, connection_id: str) -> bool:
        key = self._prefix + "v:" + conversation_id
        if not await self._forget(key, f"{user_id}|{connection_id}"):
            return False
        return not _user_entries(await self._live(await self._hash(key)), user_id)

    async def viewers(self, conversation_id: str) -> list[str]:
        live = await self._live(await self._hash(self._prefix + "v:" + conversation_id))
        return list(dict.fromkeys(field.split("|", 1)[0] for field in live))

    async def sweep(self) -> list[str]:
        """Remove what dead instances left behind; the users that took offline.

        Only one instance sweeps at a time (a lock with a TTL, in case it dies mid-sweep).
        """
        lock = self._prefix + "sweep-lock"
        if not await self._redis.set(lock, self.instance_id, nx=True, px=self._ttl_ms):
            return []
        gone: list[str] = []
        try:
            instances = await self._set(self._prefix + "instances")
            for instance in instances:
                if await self._redis.exists(self._prefix + "i:" + instance):
                    continue
                gone.extend(await self._clear_instance(instance))
        finally:
            await self._redis.delete(lock)
        return list(dict.fromkeys(gone))

    async def _clear_instance(self, instance: str) -> list[str]:
        records_key = self._prefix + "ic:" + instance
        records = await self._set(records_key)
        users: set[str] = set()
        for record in records:
            key, _, field = record.partition("\n")
            await self._redis.hdel(key, field)
            if key.startswith(self._prefix + "u:"):
                users.add(key[len(self._prefix) + 2 :])
        await self._redis.delete(records_key)
        await self._redis.srem(self._prefix + "instances", instance)
        offline = [u for u in users if not await self.is_online(u)]
        log.info(
            "presence.swept_instance", instance=instance, records=len(records), offline=len(offline)
        )
        return offline


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _count(beat: bytes | str) -> int:
    """An instance's heartbeat value: its connection count (older instances wrote "1")."""
    text = _text(beat)
    return int(text) if text.isdigit() else 0


def _user_entries(entries: Iterable[str], user_id: str) -> list[str]:
    prefix = user_id + "|"
    return [field for field in entries if field.startswith(prefix)]
