"""Fixtures shared by the whole suite: a Parley server per database backend, HTTP clients."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import ServerProcess, parley_env, start_server
from tests.support.services import create_mariadb_database, create_postgres_database

DATABASE_BACKENDS = ["sqlite", "postgresql", "mariadb"]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """How `scripts/test` shares the suite between its workers (pytest-xdist, `--dist
    loadgroup`): a test on one database backend goes with every other test on that backend,
    and any other test with the rest of its module. So each worker starts a backend's server
    (and a module's own servers) at most once, and a module's tests keep their order."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("database_url") if callspec is not None else None
        group = f"db-{backend}" if backend else item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session", params=DATABASE_BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh, empty database on each backend; the suite runs once per backend."""
    backend = request.param
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'parley.db'}"
        return
    database = create_postgres_database() if backend == "postgresql" else create_mariadb_database()
    try:
        yield database.url
    finally:
        database.drop()


def migrate(data_dir: Path, database_url: str) -> None:
    """`parley migrate`, as an operator runs it before starting servers on a shared database."""
    data_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "parley", "migrate"],
        env=parley_env(data_dir, {"DATABASE_URL": database_url}),
        cwd=data_dir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="session")
def server(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("server")
    if not database_url.startswith("sqlite"):
        migrate(data_dir, database_url)
    process = start_server(data_dir, {"DATABASE_URL": database_url})
    yield process
    process.stop()


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=15) as client:
        yield client
