"""A PostgreSQL server of the test's own on a spare port, for tests that stop and start it."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.server import free_port
from tests.support.services import in_ci


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


@dataclass
class OwnPostgres:
    directory: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = list(args)
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)

    def init(self) -> None:
        initdb = _bin("initdb")
        if initdb is None:
            if in_ci():
                pytest.fail("CI=true: PostgreSQL's initdb is not installed", pytrace=False)
            pytest.skip("PostgreSQL's initdb is not installed")
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        result = self._as_postgres(
            initdb,
            "-D",
            str(self.directory / "data"),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
        )
        assert result.returncode == 0, result.stderr

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        result = self._as_postgres(
            _bin("pg_ctl") or "pg_ctl",
            "-D",
            str(self.directory / "data"),
            "-o",
            options,
            "-l",
            str(self.directory / "log"),
            "-w",
            "start",
        )
        assert result.returncode == 0, result.stderr + result.stdout

    def stop(self) -> None:
        self._as_postgres(
            _bin("pg_ctl") or "pg_ctl",
            "-D",
            str(self.directory / "data"),
            "-m",
            "immediate",
            "-w",
            "stop",
        )

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def own_postgres() -> OwnPostgres:
    """In a directory of its own under the system temp dir: pytest's are private to root,
    and the server runs as the postgres user."""
    directory = Path(tempfile.mkdtemp(prefix="parley-pg-"))
    directory.chmod(0o755)
    return OwnPostgres(directory, free_port())
