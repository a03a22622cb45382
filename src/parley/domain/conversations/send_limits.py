"""How fast messages may be sent: per connection and per user, a short burst and then a
steady rate (token buckets), on REST and both socket protocols alike.

The check is synchronous, so that a send keeps its place in line (one connection's sends are
stored in the order they were made). Across instances the per-user count is also kept in
Redis: each send is counted there in the background, and when the shared count says the
user is over, every instance refuses their sends until it has room again — from the next
send on, not the one that tipped it over.

A refused send: `send_rate_limited` (429 on REST, with `Retry-After`; on sockets an error
answer with `retry_after_ms`), nothing stored, the connection open.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict

import structlog

from parley.domain.accounts.principal import Principal
from parley.domain.ports import RateLimit
from parley.domain.rate_limit import MAX_KEYS, TokenBuckets
from parley.errors import RateLimited

log = structlog.get_logger(__name__)


class SendLimits:
    def __init__(
        self,
        *,
        user_rate: float,
        user_burst: float,
        connection_rate: float,
        connection_burst: float,
        shared: RateLimit | None = None,
    ) -> None:
        self._per_connection = TokenBuckets(rate=connection_rate, burst=connection_burst)
        self._per_user = TokenBuckets(rate=user_rate, burst=user_burst)
        self._shared = shared
        self._held_until: OrderedDict[str, float] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self.refused = 0
        """Sends refused (a metric)."""

    def check(self, principal: Principal, origin: str | None) -> None:
        """Take a send's turn, or raise `send_rate_limited`."""
        user = str(principal.user_id)
        if origin is not None:
            self._refuse_after(self._per_connection.take(origin), "this connection")
        held = self._held_until.get(user)
        if held is not None:
            wait = held - time.monotonic()
            if wait > 0:
                self._refuse_after(wait, "you")
            del self._held_until[user]
        self._refuse_after(self._per_user.take(user), "you")
        if self._shared is not None:
            task = asyncio.get_running_loop().create_task(self._count_shared(user))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _count_shared(self, user: str) -> None:
        assert self._shared is not None
        try:
            wait = await self._shared.hit(user)
        except Exception as exc:  # Redis away: the instance's own count still holds
            log.warning("send_limits.shared_count_failed", error=type(exc).__name__)
            return
        if wait is not None:
            self._held_until[user] = time.monotonic() + wait
            self._held_until.move_to_end(user)
            if len(self._held_until) > MAX_KEYS:
                self._held_until.popitem(last=False)

    def _refuse_after(self, wait: float | None, whom: str) -> None:
        if wait is None:
            return
        self.refused += 1
        wait_ms = max(1, int(wait * 1000 + 0.999))
        raise RateLimited(
            f"Too many messages from {whom}; wait {wait_ms} ms.",
            code="send_rate_limited",
            retry_after=max(1, -(-wait_ms // 1000)),
            retry_after_ms=wait_ms,
        )

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
