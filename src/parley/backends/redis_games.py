"""Game rooms in Redis, shared by every instance.

A room is one hash, `<prefix>game:r:<room>`: `room` (the record as JSON), `seq`, `m:<player>`
(a seat marker the relay script checks), `p:<player>` (that player's latest state) and
`s:<key>` (the shared state, key by key). `<prefix>game:open` ranks rooms with a free seat by
age; `<prefix>game:u:<player>` holds the rooms a player sits in. A room's keys expire after
`GAME_ROOM_TTL_SECS` without a change, so rooms abandoned by a crashed instance go away.

Ordering: a relayed action is one Lua script (take the seq, store the state, publish; the
scripts of actions queued meanwhile go in one pipeline, in order); any
other change is a WATCH/MULTI transaction that publishes its events inside the MULTI. Redis
runs both atomically, so a room's events reach the broker channel (`<prefix>g:<room>`, the
Redis broker's name for it) in `seq` order, whichever instance produced them.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, cast

import orjson
import structlog
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from parley.backends.redis_client import redis_client
from parley.domain.events import Event, game_channel
from parley.domain.gameplay import bounds
from parley.domain.gameplay.rooms import Room, RoomSnapshot
from parley.domain.ports import GameStore, RoomChange, RoomDecision
from parley.errors import Forbidden, NotFound, ServiceUnavailable
from parley.lifecycle import stop_task

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 100
"""Optimistic retries of one change before giving up (each retry means another change won)."""
OPEN_ROOMS_SCANNED = 200

RELAY = """
if redis.call('HEXISTS', KEYS[1], 'm:' .. ARGV[1]) == 0 then
  return redis.call('EXISTS', KEYS[1]) - 2
end
if #ARGV > 7 then
  local size = redis.call('HGET', KEYS[1], 'sbytes')
  if size then
    size = tonumber(size)
  else
    size = 0
    local all = redis.call('HGETALL', KEYS[1])
    for i = 1, #all, 2 do
      if string.sub(all[i], 1, 2) == 's:' then
        size = size + #all[i] - 2 + #all[i + 1] + 4
      end
    end
  end
  local grown = size
  for i = 8, #ARGV, 2 do
    local old = redis.call('HSTRLEN', KEYS[1], 's:' .. ARGV[i])
    if old > 0 then
      grown = grown - #ARGV[i] - old - 4
    end
    grown = grown + #ARGV[i] + #ARGV[i + 1] + 4
  end
  if grown > tonumber(ARGV[7]) and grown > size then
    return -3
  end
  redis.call('HSET', KEYS[1], 'sbytes', grown)
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('HSET', KEYS[1], 'p:' .. ARGV[1], ARGV[2])
for i = 8, #ARGV, 2 do
  redis.call('HSET', KEYS[1], 's:' .. ARGV[i], ARGV[i + 1])
end
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('PUBLISH', ARGV[3], ARGV[4] .. seq .. ARGV[5])
return seq
"""
"""-3: the shared state would grow past ARGV[7] bytes (nothing changed); -2: no such room;
-1: the player has no seat; else the action's seq. `sbytes` keeps the shared state's size as
`bounds.shared_bytes` counts it (key and JSON value bytes, 4 more each); a room stored before
it was kept is counted once."""


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class RedisGameStore(GameStore):
    def __init__(self, url: str, *, prefix: str, ttl_secs: float) -> None:
        self._prefix = prefix
        self._keys = prefix + "game:"
        self._ttl_ms = max(1000, int(ttl_secs * 1000))
        self._redis: Redis = redis_client(url, decode_responses=True)
        self._relay = self._redis.register_script(RELAY)
        self._relays: list[tuple[str, list[Any], asyncio.Future[Any]]] = []
        self._relayer: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RedisGameStore:
        await self._redis.ping()
        return self

    async def aclose(self) -> None:
        await stop_task(self._relayer)
        await self._redis.aclose()

    def _room_key(self, room_id: str) -> str:
        return self._keys + "r:" + room_id

    def _player_key(self, player_id: str) -> str:
        return self._keys + "u:" + player_id

    async def create(self, snapshot: RoomSnapshot, *, if_absent: bool = False) -> bool:
        room = snapshot.room
        async with self._redis.pipeline(transaction=True) as pipe:
            if if_absent:
                await pipe.watch(self._room_key(room.id))
                if await pipe.exists(self._room_key(room.id)):
                    return False
                pipe.multi()  # type: ignore[no-untyped-call]
            self._write(pipe, room.id, None, RoomChange(room, snapshot.seq, snapshot.shared))
            try:
                await pipe.execute()
            except WatchError:  # made by someone else meanwhile
                return False
        return True

    async def load(self, room_id: str) -> RoomSnapshot | None:
        return _decode(cast(dict[str, str], await self._redis.hgetall(self._room_key(room_id))))

    async def update(self, room_id: str, decide: RoomDecision) -> RoomChange:
        key = self._room_key(room_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            for _ in range(MAX_ATTEMPTS):
                try:
                    await pipe.watch(key)
                    raw = cast(dict[str, str], await pipe.hgetall(key))
                    current = _decode(raw)
                    if current is None:
                        raise NotFound("No such game room.", code="room_not_found")
                    change = decide(current)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    self._write(pipe, room_id, (current, raw), change)
                    await pipe.execute()
                    return change
                except WatchError:
                    continue
        raise ServiceUnavailable("The room is too busy to change; try again.", code="room_busy")

    def _write(
        self,
        pipe: Pipeline,
        room_id: str,
        before: tuple[RoomSnapshot, dict[str, str]] | None,
        change: RoomChange,
    ) -> None:
        """Queue the writes (and publishes) that turn `before` into `change`."""
        old_players = set(before[0].room.player_ids()) if before is not None else set()
        room = change.room
        key = self._room_key(room_id)
        if room is None:
            pipe.delete(key)
            pipe.zrem(self._keys + "open", room_id)
            for player in old_players:
                pipe.srem(self._player_key(player), room_id)
        else:
            players = set(room.player_ids())
            fields: dict[str, str] = {"room": room.model_dump_json(), "seq": str(change.seq)}
            for player in players - old_players:
                fields["m:" + player] = "1"
                pipe.sadd(self._player_key(player), room_id)
            for player in players:  # a player's index lives as long as their rooms do
                pipe.pexpire(self._player_key(player), self._ttl_ms)
            for player in old_players - players:
                pipe.hdel(key, "m:" + player, "p:" + player)
                pipe.srem(self._player_key(player), room_id)
            for player, state in change.player_states.items():
                if player in players:
                    fields["p:" + player] = _dumps(state)
            if change.shared is not None:
                stale = [
                    f
                    for f in (before[1] if before is not None else {})
                    if f.startswith("s:") and f[2:] not in change.shared
                ]
                if stale:
                    pipe.hdel(key, *stale)
                shared = {k: orjson.dumps(v) for k, v in change.shared.items()}
                fields.update({"s:" + k: v.decode() for k, v in shared.items()})
                size = sum(bounds.entry_bytes(k, len(v)) for k, v in shared.items())
                fields["sbytes"] = str(size)
            pipe.hset(key, mapping=fields)  # type: ignore[arg-type]
            pipe.pexpire(key, self._ttl_ms)
            if room.is_open:
                pipe.zadd(self._keys + "open", {room_id: _created_ms(room)})
            else:
                pipe.zrem(self._keys + "open", room_id)
        for event in change.events:
            pipe.publish(self._prefix + event.channel, event.encode())

    async def relay(
        self,
        room_id: str,
        player_id: str,
        state: dict[str, Any],
        shared_patch: dict[str, Any] | None,
        event: Event,
        sequenced: tuple[bytes, bytes],
        *,
        max_shared_bytes: int,
    ) -> int:
        head, tail = sequenced
        args: list[Any] = [
            player_id,
            _dumps(state),
            self._prefix + game_channel(room_id),
            head,
            tail,
            self._ttl_ms,
            max_shared_bytes,
        ]
        for name, value in (shared_patch or {}).items():
            args += [name, _dumps(value)]
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._relays.append((self._room_key(room_id), args, answer))
        if self._relayer is None or self._relayer.done():
            self._relayer = asyncio.create_task(self._send_relays(), name="redis-game-relays")
        seq = int(await answer)
        if seq == -3:
            raise bounds.state_too_large(max_shared_bytes)
        if seq == -2:
            raise NotFound("No such game room.", code="room_not_found")
        if seq == -1:
            raise Forbidden("Join the room first.", code="not_in_room")
        return seq

    async def _send_relays(self) -> None:
        """Relays queued meanwhile go in one pipeline, in the order they came: one round trip
        and far less client work per action than a script call each."""
        while self._relays:
            batch, self._relays = self._relays, []
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for key, args, _ in batch:
                        await self._relay(keys=[key], args=args, client=pipe)
                    results = await pipe.execute(raise_on_error=False)
            except Exception as exc:  # Redis away: each caller gets the error
                results = [exc] * len(batch)
            for (_, _, answer), result in zip(batch, results, strict=True):
                if answer.done():
                    continue
                if isinstance(result, BaseException):
                    answer.set_exception(result)
                else:
                    answer.set_result(result)

    async def open_rooms(self, game: str | None, limit: int) -> list[Room]:
        ids = cast(
            list[str], await self._redis.zrange(self._keys + "open", 0, OPEN_ROOMS_SCANNED - 1)
        )
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for room_id in ids:
                pipe.hget(self._room_key(room_id), "room")
            records: list[str | None] = await pipe.execute()
        rooms, gone = [], []
        for room_id, record in zip(ids, records, strict=True):
            room = None if record is None else _room(room_id, record)
            if room is None:
                gone.append(room_id)
                continue
            if room.is_open and (game is None or room.game == game):
                rooms.append(room)
        if gone:  # expired (or unreadable) rooms leave their entry behind
            await self._redis.zrem(self._keys + "open", *gone)
        return rooms[:limit]

    async def rooms_of(self, player_id: str) -> list[str]:
        key = self._player_key(player_id)
        ids = sorted(cast(set[str], await self._redis.smembers(key)))
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for room_id in ids:
                pipe.hexists(self._room_key(room_id), "m:" + player_id)
            seated: list[bool] = await pipe.execute()
        gone = [i for i, here in zip(ids, seated, strict=True) if not here]
        if gone:
            await self._redis.srem(key, *gone)
        return [i for i, here in zip(ids, seated, strict=True) if here]


def _decode(raw: dict[str, str]) -> RoomSnapshot | None:
    """The room, or None when there is none, or none that can be read (a record this version
    cannot parse counts as gone: it is left to expire rather than failing every command that
    touches it)."""
    record = raw.get("room")
    if record is None:
        return None
    room = _room(None, record)
    if room is None:
        return None
    try:
        shared = {k[2:]: orjson.loads(v) for k, v in raw.items() if k.startswith("s:")}
        states = {k[2:]: orjson.loads(v) for k, v in raw.items() if k.startswith("p:")}
        seq = int(raw.get("seq", 0))
    except (orjson.JSONDecodeError, ValueError):
        log.warning("gameplay.room_unreadable", room_id=room.id)
        return None
    return RoomSnapshot(room, seq, shared, states)


def _room(room_id: str | None, record: str) -> Room | None:
    try:
        return Room.model_validate_json(record)
    except ValidationError:
        log.warning("gameplay.room_unreadable", room_id=room_id)
        return None


def _created_ms(room: Room) -> float:
    return datetime.fromisoformat(room.created_at).timestamp() * 1000
