"""How fast one user may make new things that others then carry: conversations (groups,
rooms, support chats, new direct chats), rooms opened by joining a new name, game rooms.
CREATIONS_PER_USER an hour, counted across instances with Redis; admins are not limited.
Over it: 429 `creation_rate_limited` with `retry_after` (seconds)."""

from __future__ import annotations

from parley.domain.accounts.principal import Principal
from parley.domain.rate_limit import CountedLimit
from parley.domain.roles import Role


class CreationLimit(CountedLimit):
    async def take(self, principal: Principal, what: str) -> None:
        if principal.role is Role.ADMIN:
            return
        await self._take(
            str(principal.user_id),
            "creation_rate_limited",
            lambda seconds: f"You have made too many {what} lately; try again in {seconds} s.",
        )
