"""How often one trusted caller may broadcast: BROADCASTS_PER_KEY a minute per API key (or per
admin, when an admin token is used instead of a key), counted across instances with Redis.
Over it: 429 `broadcast_rate_limited` with `retry_after` (seconds). A leaked or buggy key can
then flood no room faster than that."""

from __future__ import annotations

import hashlib

from parley.domain.ports import RateLimit
from parley.errors import RateLimited


def key_id(api_key: str) -> str:
    """What the limit counts a key under: a digest, so no key is ever a Redis key name."""
    return "key:" + hashlib.sha256(api_key.encode()).hexdigest()[:32]


class BroadcastLimit:
    def __init__(self, limit: RateLimit | None = None) -> None:
        self._limit = limit
        self.refused = 0
        """Broadcasts refused (a metric)."""

    async def take(self, caller: str) -> None:
        if self._limit is None:
            return
        retry_after = await self._limit.hit(caller)
        if retry_after is None:
            return
        self.refused += 1
        seconds = max(1, int(retry_after + 0.999))
        raise RateLimited(
            f"Too many broadcasts with this key lately; try again in {seconds} s.",
            code="broadcast_rate_limited",
            retry_after=seconds,
        )
