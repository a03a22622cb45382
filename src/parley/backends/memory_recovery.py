"""The in-process recovery store: the message log and the recoverable sessions of one instance.

Logging a message and handing it to the in-process broker happen with no `await` between
them, so the log's order is the order of delivery. Positions are `<ms>-<n>` like Redis
stream ids; a restarted process starts a new log, and its old sessions are gone with it.
"""

from __future__ import annotations

import time
from collections import deque

from parley.domain.ports import Broker, LoggedMessage, RecoveryStore, parse_position


class MemoryRecoveryStore(RecoveryStore):
    def __init__(self, broker: Broker, *, retention_secs: float) -> None:
        self._broker = broker
        self._retention_ms = int(retention_secs * 1000)
        self._log: deque[tuple[tuple[int, int], LoggedMessage]] = deque()
        self._last = (0, 0)
        self._records: dict[str, tuple[bytes, str, float]] = {}
        """key -> (record, owner, monotonic deadline)"""

    async def publish_message(
        self, channel: str, positioned: tuple[bytes, bytes], message: LoggedMessage
    ) -> str:
        now_ms = int(time.time() * 1000)
        ms, n = self._last
        self._last = (now_ms, 0) if now_ms > ms else (ms, n + 1)
        position = f"{self._last[0]}-{self._last[1]}"
        logged = LoggedMessage(position, message.conversation_id, message.seq, message.origin)
        self._log.append((self._last, logged))
        while self._log and self._log[0][0][0] < now_ms - self._retention_ms:
            self._log.popleft()
        head, tail = positioned
        await self._broker.publish(channel, head + position.encode() + tail)
        return position

    async def last_position(self) -> str:
        return f"{self._last[0]}-{self._last[1]}"

    async def messages_after(self, position: str, *, limit: int) -> list[LoggedMessage] | None:
        after = parse_position(position) or (0, 0)
        found: list[LoggedMessage] = []
        for key, message in reversed(self._log):  # the newest are the likeliest
            if key <= after:
                break
            if len(found) == limit:
                return None
            found.append(message)
        found.reverse()
        return found

    async def save(
        self, key: str, record: bytes, ttl_secs: float, *, owner: str, unless_taken: bool = False
    ) -> bool:
        found = self._records.get(key)
        if unless_taken and found is not None and found[1] != owner:
            return False
        self._records[key] = (record, owner, time.monotonic() + ttl_secs)
        if len(self._records) % 1024 == 0:
            self._forget_expired()
        return True

    async def take(self, key: str) -> bytes | None:
        found = self._records.pop(key, None)
        if found is None or found[2] <= time.monotonic():
            return None
        return found[0]

    async def keep(self, keys: list[str], ttl_secs: float) -> None:
        deadline = time.monotonic() + ttl_secs
        for key in keys:
            found = self._records.get(key)
            if found is not None:
                self._records[key] = (found[0], found[1], deadline)
        self._forget_expired()

    def _forget_expired(self) -> None:
        now = time.monotonic()
        for key in [k for k, (_, _, deadline) in self._records.items() if deadline <= now]:
            del self._records[key]
