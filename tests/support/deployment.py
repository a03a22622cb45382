"""Two instances of one deployment (PostgreSQL + Redis), as the scale-out tests run them."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import migrate
from tests.support.server import ServerProcess, start_server
from tests.support.services import REDIS_URL, create_postgres_database, require_tcp, scale_out_env


@contextlib.contextmanager
def two_instances(root: Path, **extra: str) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two instances on a fresh PostgreSQL database and a Redis prefix of their own; `extra`
    settings on both. Stopped (if still running) and the database dropped afterwards."""
    require_tcp("Redis", REDIS_URL)
    database = create_postgres_database()
    started: list[ServerProcess] = []
    try:
        migrate(root / "migrate", database.url)
        env = scale_out_env(database.url, **extra)
        started.append(start_server(root / "a", env))
        started.append(start_server(root / "b", env))
        yield started[0], started[1]
    finally:
        for server in started:
            server.stop()
        database.drop()
