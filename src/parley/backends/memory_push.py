"""The push queue in this process: a heap of due times over a dict of collapsing entries.

What waits here is lost if the process dies; several instances need the Redis queue
(`redis_push`), which also lets another instance send what a dead one left.
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from parley.domain.ports import PendingPush, PushQueue


@dataclass(slots=True)
class _Entry:
    due: float
    items: deque[dict[str, Any]]
    count: int = 0
    order: int = field(default=0)


class MemoryPushQueue(PushQueue):
    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._added = 0

    async def add(self, key: str, item: dict[str, Any], *, delay_secs: float, keep: int) -> None:
        entry = self._entries.get(key)
        if entry is None:
            self._added += 1
            entry = _Entry(time.monotonic() + delay_secs, deque(maxlen=keep), order=self._added)
            self._entries[key] = entry
            heapq.heappush(self._heap, (entry.due, entry.order, key))
        entry.items.append(item)
        entry.count += 1

    async def take_due(self, limit: int) -> list[PendingPush]:
        now = time.monotonic()
        taken: list[PendingPush] = []
        while self._heap and len(taken) < limit and self._heap[0][0] <= now:
            _, order, key = heapq.heappop(self._heap)
            entry = self._entries.get(key)
            if entry is None or entry.order != order:
                continue
            del self._entries[key]
            taken.append(PendingPush(key, list(entry.items), entry.count))
        return taken
