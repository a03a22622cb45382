"""Two instances of one deployment (PostgreSQL + Redis), as the scale-out tests run them."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import migrate
from tests.support.server import ServerProcess, start_server
from tests.support.services import REDIS_URL, create_postgres_database, require_tcp, scale_out_env


@dataclass
class Deployment:
    a: ServerProcess
    b: ServerProcess
    root: Path
    env: dict[str, str]
    """What every instance runs with: a test may start more (`start_server(root / "c", env)`)."""
    logged: threading.Condition = field(default_factory=threading.Condition)
    """Notified at each log line of `a` or `b` (their shared `ServerProcess.logged`)."""

    def __iter__(self) -> Iterator[ServerProcess]:
        return iter((self.a, self.b))

    def __getitem__(self, index: int) -> ServerProcess:
        return (self.a, self.b)[index]


@contextlib.contextmanager
def two_instances(root: Path, **extra: str) -> Iterator[Deployment]:
    """Two instances on a fresh PostgreSQL database and a Redis prefix of their own; `extra`
    settings on both. Stopped (if still running) and the database dropped afterwards; unpacks
    as `(a, b)`."""
    require_tcp("Redis", REDIS_URL)
    database = create_postgres_database()
    started: list[ServerProcess] = []
    try:
        migrate(root / "migrate", database.url)
        env = scale_out_env(database.url, **extra)
        logged = threading.Condition()
        started.append(start_server(root / "a", env, logged=logged))
        started.append(start_server(root / "b", env, logged=logged))
        yield Deployment(started[0], started[1], root, env, logged)
    finally:
        for server in started:
            server.stop()
        database.drop()
