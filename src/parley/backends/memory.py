"""The in-process broker and presence store: one instance, no setup. Delivery is immediate and in
order; an event published as one (`publish_event`) reaches the hub as that same object."""

from __future__ import annotations

from parley.domain.events import Event
from parley.domain.ports import Broker, PresenceStore


class MemoryBroker(Broker):
    def __init__(self) -> None:
        super().__init__()
        self._channels: set[str] = set()

    async def publish(self, channel: str, payload: bytes) -> None:
        if channel in self._channels and self._handler is not None:
            self._handler(channel, payload)

    async def publish_event(self, event: Event, payload: bytes | None = None) -> None:
        if event.channel not in self._channels:
            return
        if self._on_event is not None:
            self._on_event(event)
        elif self._handler is not None:
            self._handler(event.channel, event.encode() if payload is None else payload)

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)

    async def ping(self) -> None:
        return None


class MemoryPresenceStore(PresenceStore):
    def __init__(self) -> None:
        self._connections: dict[str, set[str]] = {}
        self._viewers: dict[str, dict[str, set[str]]] = {}

    async def add_connection(self, user_id: str, connection_id: str) -> bool:
        connections = self._connections.setdefault(user_id, set())
        connections.add(connection_id)
        return len(connections) == 1

    async def remove_connection(self, user_id: str, connection_id: str) -> bool:
        connections = self._connections.get(user_id)
        if connections is None or connection_id not in connections:
            return False
        connections.discard(connection_id)
        if connections:
            return False
        del self._connections[user_id]
        return True

    async def is_online(self, user_id: str) -> bool:
        return user_id in self._connections

    async def enter(self, conversation_id: str, user_id: str, connection_id: str) -> bool:
        users = self._viewers.setdefault(conversation_id, {})
        connections = users.setdefault(user_id, set())
        connections.add(connection_id)
        return len(connections) == 1

    async def leave(self, conversation_id: str, user_id: str, connection_id: str) -> bool:
        users = self._viewers.get(conversation_id, {})
        connections = users.get(user_id)
        if connections is None or connection_id not in connections:
            return False
        connections.discard(connection_id)
        if connections:
            return False
        del users[user_id]
        if not users:
            self._viewers.pop(conversation_id, None)
        return True

    async def viewers(self, conversation_id: str) -> list[str]:
        return list(self._viewers.get(conversation_id, {}))
