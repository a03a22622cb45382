"""How often one trusted caller may broadcast: BROADCASTS_PER_KEY a minute per API key (or per
admin, when an admin token is used instead of a key), counted across instances with Redis.
Over it: 429 `broadcast_rate_limited` with `retry_after` (seconds). A leaked or buggy key can
then flood no room faster than that."""

from __future__ import annotations

import hashlib

from parley.domain.rate_limit import CountedLimit


def key_id(api_key: str) -> str:
    """What the limit counts a key under: a digest, so no key is ever a Redis key name."""
    return "key:" + hashlib.sha256(api_key.encode()).hexdigest()[:32]


class BroadcastLimit(CountedLimit):
    async def take(self, caller: str) -> None:
        await self._take(
            caller,
            "broadcast_rate_limited",
            lambda seconds: f"Too many broadcasts with this key lately; try again in {seconds} s.",
        )
