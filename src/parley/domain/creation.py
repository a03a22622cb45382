"""How fast one user may make new things that others then carry: conversations (groups,
rooms, support chats, new direct chats), rooms opened by joining a new name, game rooms.
CREATIONS_PER_USER an hour, counted across instances with Redis; admins are not limited.
Over it: 429 `creation_rate_limited` with `retry_after` (seconds)."""

from __future__ import annotations

from parley.domain.accounts.principal import Principal
from parley.domain.ports import RateLimit
from parley.domain.roles import Role
from parley.errors import RateLimited


class CreationLimit:
    def __init__(self, limit: RateLimit | None = None) -> None:
        self._limit = limit
        self.refused = 0
        """Creations refused (a metric)."""

    async def take(self, principal: Principal, what: str) -> None:
        if self._limit is None or principal.role is Role.ADMIN:
            return
        retry_after = await self._limit.hit(str(principal.user_id))
        if retry_after is None:
            return
        self.refused += 1
        seconds = max(1, int(retry_after + 0.999))
        raise RateLimited(
            f"You have made too many {what} lately; try again in {seconds} s.",
            code="creation_rate_limited",
            retry_after=seconds,
        )
