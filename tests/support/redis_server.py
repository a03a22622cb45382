"""A Redis server of the test's own, on a spare port, for tests that stop and restart it."""

from __future__ import annotations

import shutil
import subprocess
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from parley.backends.redis import RedisBroker
from tests.support.server import free_port
from tests.support.services import REDIS_URL, in_ci


@dataclass
class OwnRedis:
    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            if in_ci():
                pytest.fail("CI=true: redis-server is not installed", pytrace=False)
            pytest.skip("redis-server is not installed")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        # Redis says when it is ready; read its log rather than poll the port.
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if "Ready to accept connections" in line:
                break
        else:
            raise RuntimeError("redis-server exited before it was ready")
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        process = self.process
        if process is not None and process.stdout is not None:
            for _ in process.stdout:
                pass

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
            if self.process.stdout is not None:
                self.process.stdout.close()
        self.process = None


def own_redis(directory: Path) -> OwnRedis:
    return OwnRedis(free_port(), directory)


@asynccontextmanager
async def broker_pair() -> AsyncIterator[tuple[RedisBroker, RedisBroker]]:
    """Two instances' brokers (sender, receiver) on the shared Redis, under a prefix of
    their own."""
    prefix = f"parley-test:{uuid.uuid4().hex[:8]}:"
    async with (
        RedisBroker(REDIS_URL, prefix=prefix) as sender,
        RedisBroker(REDIS_URL, prefix=prefix) as receiver,
    ):
        yield sender, receiver
