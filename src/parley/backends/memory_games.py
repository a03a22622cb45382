"""Game rooms in this process (one instance). Changes apply without yielding to the event
loop between reading and publishing, which makes each one atomic and keeps `seq` order."""

from __future__ import annotations

import copy
from typing import Any

import orjson

from parley.domain.events import Event
from parley.domain.gameplay import bounds
from parley.domain.gameplay.rooms import Room, RoomSnapshot
from parley.domain.ports import Broker, GameStore, RoomChange, RoomDecision
from parley.errors import Forbidden, NotFound


class MemoryGameStore(GameStore):
    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._rooms: dict[str, RoomSnapshot] = {}
        self._shared_bytes: dict[str, int] = {}
        """The shared state's size per room, counted on the first relay after a change."""

    async def create(self, snapshot: RoomSnapshot, *, if_absent: bool = False) -> bool:
        if if_absent and snapshot.room.id in self._rooms:
            return False
        self._rooms[snapshot.room.id] = snapshot
        self._shared_bytes.pop(snapshot.room.id, None)
        return True

    async def load(self, room_id: str) -> RoomSnapshot | None:
        snapshot = self._rooms.get(room_id)
        return None if snapshot is None else copy.deepcopy(snapshot)

    async def update(self, room_id: str, decide: RoomDecision) -> RoomChange:
        current = self._rooms.get(room_id)
        if current is None:
            raise NotFound("No such game room.", code="room_not_found")
        change = decide(copy.deepcopy(current))
        published = [(event.channel, event.encode()) for event in change.events]
        if change.shared is not None or change.room is None:
            self._shared_bytes.pop(room_id, None)
        if change.room is None:
            del self._rooms[room_id]
        else:
            seated = set(change.room.player_ids())
            states = {
                player: state
                for player, state in {**current.player_states, **change.player_states}.items()
                if player in seated
            }
            shared = current.shared if change.shared is None else change.shared
            self._rooms[room_id] = RoomSnapshot(change.room, change.seq, shared, states)
        for channel, data in published:  # encoded before anything changed
            await self._broker.publish(channel, data)
        return change

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
        current = self._rooms.get(room_id)
        if current is None:
            raise NotFound("No such game room.", code="room_not_found")
        if current.room.seat_of(player_id) is None:
            raise Forbidden("Join the room first.", code="not_in_room")
        if shared_patch:
            size = self._shared_bytes.get(room_id)
            if size is None:
                size = bounds.shared_bytes(current.shared)
            grown = size
            for key, value in shared_patch.items():
                if key in current.shared:
                    grown -= bounds.entry_bytes(key, len(orjson.dumps(current.shared[key])))
                grown += bounds.entry_bytes(key, len(orjson.dumps(value)))
            if grown > max_shared_bytes and grown > size:
                raise bounds.state_too_large(max_shared_bytes)
        head, tail = sequenced
        seq = current.seq + 1
        current.player_states[player_id] = state
        if shared_patch:
            current.shared.update(shared_patch)
            self._shared_bytes[room_id] = grown
        self._rooms[room_id] = RoomSnapshot(
            current.room, seq, current.shared, current.player_states
        )
        # The hub here gets the event itself; only another broker needs the bytes.
        await self._broker.publish_event(event.sequenced(seq), head + str(seq).encode() + tail)
        return seq

    async def open_rooms(self, game: str | None, limit: int) -> list[Room]:
        rooms = [
            s.room
            for s in self._rooms.values()
            if s.room.is_open and (game is None or s.room.game == game)
        ]
        return [r.model_copy(deep=True) for r in rooms[:limit]]

    async def rooms_of(self, player_id: str) -> list[str]:
        return [i for i, s in self._rooms.items() if s.room.seat_of(player_id) is not None]
