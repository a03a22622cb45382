"""The admin dashboard's figures, read from the same services and tables as everything else.

Counts (conversations by kind and status, support chats by status, users by status) and the
messages stored in the last seconds come from the database, so every instance shows the same;
live instances from the presence store (Redis: every instance's heartbeat); connections and
recent errors are this instance's, passed in by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from parley.clock import now_iso
from parley.db import dashboard as queries
from parley.domain.accounts.principal import Principal
from parley.domain.presence import PresenceService
from parley.domain.recent_errors import RecentErrors
from parley.domain.roles import Role
from parley.domain.unit_of_work import UnitOfWork

RATE_WINDOW_SECS = 10
"""Messages per second is the average over this many seconds."""


@dataclass(frozen=True, slots=True)
class LiveCounts:
    """What only the serving instance knows: its sockets."""

    connections: int
    socketio_sessions: int


class Dashboard:
    def __init__(
        self, uow: UnitOfWork, presence: PresenceService, recent_errors: RecentErrors
    ) -> None:
        self._uow = uow
        self._presence = presence
        self._errors = recent_errors

    async def overview(self, principal: Principal, live: LiveCounts) -> dict[str, Any]:
        principal.require_role(Role.ADMIN)
        since = datetime.now(UTC) - timedelta(seconds=RATE_WINDOW_SECS)
        async with self._uow() as work:
            conversations = await queries.conversations_by_kind_and_status(work.tx)
            users = await queries.users_by_status(work.tx)
            recent = await queries.messages_since(work.tx, since)
        instances = await self._presence.instances()
        here = self._presence.instance_id
        instances[here] = live.connections  # this one's, exact; the others' as of their beat
        return {
            "timestamp": now_iso(),
            "instance": {
                "id": self._presence.instance_id,
                "connections": live.connections,
                "socketio_sessions": live.socketio_sessions,
            },
            "instances": [
                {"id": i, "connections": n, "this": i == here} for i, n in sorted(instances.items())
            ],
            "connections": sum(instances.values()),
            "messages_per_sec": round(recent / RATE_WINDOW_SECS, 2),
            "rooms": sum(conversations.get("room", {}).values()),
            "conversations": conversations,
            "support_chats": conversations.get("support", {}),
            "users": users,
            "recent_errors": self._errors.latest(),
            "errors_total": self._errors.total,
        }
