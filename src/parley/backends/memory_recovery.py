"""The in-process recovery store: the message log and the recoverable sessions of one instance.

Logging a message and handing it to the in-process broker happen with no `await` between
them, so the log's order is the order of delivery. Positions are `<ms>-<n>` like Redis
stream ids; a restarted process starts a new log, and its old sessions are gone with it.

The log holds the retention's worth of messages, at most `max_entries` (about 100 bytes
each); a resume that would need entries dropped for room is refused (a new session).
"""

from __future__ import annotations

import sys
import time
from collections import deque

from parley.domain.ports import Broker, LoggedMessage, RecoveryStore, parse_position

Entry = tuple[int, int, str, int, str | None]
"""(ms, n, conversation id, seq, origin): a logged message, compactly."""


class MemoryRecoveryStore(RecoveryStore):
    outlives_instance = False

    def __init__(
        self, broker: Broker, *, retention_secs: float, max_entries: int = 200_000
    ) -> None:
        self._broker = broker
        self._retention_ms = int(retention_secs * 1000)
        self._max_entries = max_entries
        self._log: deque[Entry] = deque()
        self._last = (0, 0)
        self._last_text = "0-0"
        """`_last` as a position, made once per message rather than once per sign-in (every
        socket's record starts at it: thousands of connects share one string)."""
        self._dropped_through = (0, 0)
        """The newest entry dropped for room (not for age): nothing after it is missing."""
        self._records: dict[str, tuple[bytes, str, float]] = {}
        """key -> (record, owner, monotonic deadline)"""

    async def publish_message(
        self, channel: str, positioned: tuple[bytes, bytes], message: LoggedMessage
    ) -> str:
        now_ms = int(time.time() * 1000)
        ms, n = self._last
        ms, n = self._last = (now_ms, 0) if now_ms > ms else (ms, n + 1)
        conversation_id = sys.intern(message.conversation_id)
        log = self._log
        log.append((ms, n, conversation_id, message.seq, message.origin))
        oldest_ms = now_ms - self._retention_ms
        while log and log[0][0] < oldest_ms:
            log.popleft()
        if len(log) > self._max_entries:
            dropped = log.popleft()
            self._dropped_through = (dropped[0], dropped[1])
        head, tail = positioned
        position = self._last_text = f"{ms}-{n}"
        await self._broker.publish(channel, head + position.encode() + tail)
        return position

    async def last_position(self) -> str:
        return self._last_text

    async def messages_after(self, position: str, *, limit: int) -> list[LoggedMessage] | None:
        after = parse_position(position) or (0, 0)
        if after < self._dropped_through:
            return None  # some of what it missed was dropped for room
        found: list[LoggedMessage] = []
        for ms, n, conversation_id, seq, origin in reversed(self._log):  # newest first
            if (ms, n) <= after:
                break
            if len(found) == limit:
                return None
            found.append(LoggedMessage(f"{ms}-{n}", conversation_id, seq, origin))
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
