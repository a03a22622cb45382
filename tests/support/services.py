"""The real services tests run against, and throwaway databases on them.

A service that is down fails the run loudly under CI=true; elsewhere its tests are skipped
with the reason shown in the summary (`scripts/test` tries to start them first).
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get(
    "PARLEY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
MARIADB_URL = os.environ.get("PARLEY_TEST_MARIADB_URL", "mysql://root@127.0.0.1:3306/test")
REDIS_URL = os.environ.get("PARLEY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_tcp(name: str, url: str) -> None:
    parsed = make_url(url)
    host, port = parsed.host or "127.0.0.1", parsed.port
    assert port is not None
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError as exc:
        reason = f"{name} is not reachable at {host}:{port} ({exc}); start it or run scripts/test"
        if in_ci():
            pytest.fail(f"CI=true: {reason}", pytrace=False)
        pytest.skip(reason)


@dataclass
class ThrowawayDatabase:
    """A database created for one test run and dropped after it."""

    url: str
    drop: Any


def _sync(coro: Any) -> Any:
    return asyncio.run(coro)


def create_postgres_database() -> ThrowawayDatabase:
    import asyncpg

    require_tcp("PostgreSQL", POSTGRES_URL)
    admin = make_url(POSTGRES_URL)
    name = f"parley_test_{uuid.uuid4().hex[:10]}"
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)

    async def run(sql: str) -> None:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    _sync(run(f'CREATE DATABASE "{name}"'))
    url = admin.set(database=name).render_as_string(hide_password=False)
    return ThrowawayDatabase(
        url, lambda: _sync(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    )


def create_mariadb_database() -> ThrowawayDatabase:
    import asyncmy

    require_tcp("MariaDB", MARIADB_URL)
    admin = make_url(MARIADB_URL)
    name = f"parley_test_{uuid.uuid4().hex[:10]}"

    async def run(sql: str) -> None:
        connection = await asyncmy.connect(
            host=admin.host,
            port=admin.port or 3306,
            user=admin.username or "root",
            password=admin.password or "",
        )
        try:
            async with connection.cursor() as cursor:
                await cursor.execute(sql)
        finally:
            connection.close()

    _sync(run(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    url = admin.set(database=name).render_as_string(hide_password=False)
    return ThrowawayDatabase(url, lambda: _sync(run(f"DROP DATABASE IF EXISTS `{name}`")))


def scale_out_env(database_url: str, **extra: str) -> dict[str, str]:
    """What every instance of one test deployment shares: the database, Redis, and a Redis
    prefix of its own, so that tests never hear each other's events."""
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "REDIS_PREFIX": f"parley-test-{uuid.uuid4().hex[:8]}:",
        **extra,
    }
