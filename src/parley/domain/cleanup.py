"""The background cleanup: expired one-time codes and device sessions, uploads never attached
(or whose message was deleted), mutes and bans past their `until`, every few minutes.

With several instances only one runs it at a time: each round first takes a lock (in Redis
when there is one; a single instance needs none) that expires before the next round, so a
crashed holder never blocks the others for long.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from parley.db import sessions as session_queries
from parley.db.database import Database
from parley.db.types import utcnow
from parley.domain.accounts.otp import OtpService
from parley.domain.moderation.rules import RoomRules
from parley.domain.uploads.service import UploadService
from parley.lifecycle import stop_task

log = structlog.get_logger(__name__)

TakeLock = Callable[[float], Awaitable[bool]]


async def no_lock_needed(ttl_secs: float) -> bool:
    return True


class Cleanup:
    def __init__(
        self,
        db: Database,
        otp: OtpService,
        *,
        interval_secs: float,
        take_lock: TakeLock,
        uploads: UploadService | None = None,
        rules: RoomRules | None = None,
    ) -> None:
        self._db = db
        self._rules = rules or RoomRules()
        self._uploads = uploads
        self._otp = otp
        self._interval = interval_secs
        self._take_lock = take_lock
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._every_interval(), name="cleanup")

    async def close(self) -> None:
        await stop_task(self._task)

    async def run_once(self) -> dict[str, int]:
        codes = await self._otp.delete_expired()
        async with self._db.transaction() as tx:
            sessions = await session_queries.delete_expired_sessions(tx, now=utcnow())
        async with self._db.transaction() as tx:
            restrictions = await self._rules.sweep(tx)
        files = pending = 0
        if self._uploads is not None:
            files = await self._uploads.delete_stale()
            pending = await self._uploads.delete_stale_pending()
        return {
            "otps": codes,
            "sessions": sessions,
            "restrictions": restrictions,
            "uploads": files,
            "pending_uploads": pending,
        }

    async def _every_interval(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                if not await self._take_lock(self._interval * 0.9):
                    continue  # another instance has this round
                removed = await self.run_once()
                log.info("cleanup.done", **removed)
            except Exception:  # the database or Redis away: next round
                log.exception("cleanup.failed")
