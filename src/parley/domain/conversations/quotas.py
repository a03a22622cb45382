"""How much one user may hold: conversations owned (groups and rooms), rooms joined, members
of a group or room. Over a quota: 403 `quota_exceeded` with `details: {quota, limit}`.
Admins own without limit."""

from __future__ import annotations

from dataclasses import dataclass

from parley.errors import Forbidden


@dataclass(frozen=True)
class Quotas:
    max_owned: int = 1_000_000
    max_rooms_joined: int = 1_000_000
    max_members: int = 1_000_000

    def require_owned(self, count: int) -> None:
        _require(count, self.max_owned, "owned_conversations", "groups and rooms you own")

    def require_rooms(self, count: int) -> None:
        _require(count, self.max_rooms_joined, "rooms_joined", "rooms you are in")

    def require_group_room(self, count: int) -> None:
        _require(count, self.max_members, "members", "members of one group or room")


def _require(count: int, limit: int, quota: str, what: str) -> None:
    if count > limit:
        raise Forbidden(f"At most {limit} {what}.", code="quota_exceeded", quota=quota, limit=limit)
