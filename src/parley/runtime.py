"""The objects built once at start-up and shared by every transport."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog

from parley.config import Settings
from parley.db.database import Database
from parley.db.migrate import upgrade_to_head
from parley.domain.accounts.auth import AuthService
from parley.domain.accounts.users import UserService
from parley.security.passwords import PasswordHasher
from parley.security.tokens import TokenService

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    db: Database
    tokens: TokenService
    auth: AuthService
    users: UserService

    @classmethod
    @asynccontextmanager
    async def start(cls, settings: Settings) -> AsyncIterator[Runtime]:
        tokens = TokenService.from_settings(settings)
        hasher = PasswordHasher(
            time_cost=settings.password_hash_time_cost,
            memory_kib=settings.password_hash_memory_kib,
        )
        db = Database(settings.effective_database_url, pool_size=settings.database_pool_size)
        try:
            auto_migrate = settings.auto_migrate
            if auto_migrate is None:
                auto_migrate = db.is_sqlite
            if auto_migrate:
                await upgrade_to_head(db)
            log.info("runtime.started", database=db.dialect, app_env=settings.app_env.value)
            yield cls(
                settings=settings,
                db=db,
                tokens=tokens,
                auth=AuthService(db, hasher, tokens),
                users=UserService(db),
            )
        finally:
            await db.dispose()
