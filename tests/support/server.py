"""Parley as a user runs it: `python -m parley serve` in a subprocess on a free port.

Readiness is read from the server's own log ("Uvicorn running on", written once the socket
listens; "Application startup complete" comes before the bind), so nothing polls or sleeps;
the log keeps being drained into memory so the server never blocks on it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

READY_MARKER = "Uvicorn running on"
JWT_SECRET = "test-secret-that-is-long-enough-for-production-use-0123456789"
API_KEY = "test-api-key"

FAST_HASHING = {"PASSWORD_HASH_TIME_COST": "1", "PASSWORD_HASH_MEMORY_KIB": "64"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def parley_env(data_dir: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """The environment a test server or CLI call runs with: nothing inherited that could
    change Parley's behaviour, a known JWT secret, cheap password hashing."""
    env = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "TMPDIR"}}
    env.update(
        PARLEY_DATA_DIR=str(data_dir),
        JWT_SECRET=JWT_SECRET,
        PARLEY_API_KEY=API_KEY,
        LOG_FORMAT="json",
        LOG_LEVEL="info",
        # Short timers, so tests of expiry wait a moment rather than the production default.
        TYPING_TTL_SECS="1",
        PRESENCE_GRACE_SECS="0.3",
        WS_AUTH_TIMEOUT_SECS="1",
        # Every test signs in from 127.0.0.1; the per-client limits have tests of their own
        # (tests/api/test_sign_in_limits.py).
        OTP_REQUESTS_PER_CLIENT="10000",
        LOGIN_ATTEMPTS_PER_CLIENT="1000000",
        LOGIN_FAILURES_PER_ACCOUNT="1000000",
        REGISTRATIONS_PER_CLIENT="1000000",
        REFRESHES_PER_CLIENT="1000000",
        SIGN_INS_IN_FLIGHT_PER_CLIENT="100000",
        PASSWORD_HASH_QUEUE="100000",
        # Many tests open hundreds of sockets from 127.0.0.1 at once (test_http_edge.py has
        # the limit's own test).
        HTTP_MAX_CONNECTIONS_PER_CLIENT="100000",
        # ... and a thousand handshakes at once (test_join_burst.py); test_pending_sockets.py
        # has the limit's own test.
        MAX_UNAUTHENTICATED_SOCKETS_PER_CLIENT="100000",
        # Slow-client tests flood with broadcasts (test_broadcast_limit.py has the limit's).
        BROADCASTS_PER_KEY="1000000",
        # The fuzz and authz suites create thousands of conversations as a few users
        # (tests/api/test_quotas.py has the limits' own tests).
        CREATIONS_PER_USER="1000000",
        SEND_RATE_PER_USER="1000000",
        SEND_BURST_PER_USER="1000000",
        SEND_RATE_PER_CONNECTION="1000000",
        SEND_BURST_PER_CONNECTION="1000000",
        MAX_OWNED_CONVERSATIONS="1000000",
        # Tests make their own users; the seed's default ones have a test of their own.
        SEED_DEFAULT_USERS="false",
        **FAST_HASHING,
    )
    env.update(extra)
    return env


def run_parley(
    data_dir: Path, *args: str, env: Mapping[str, str] | None = None, input_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m parley …` with the tests' environment (`parley_env`) in `data_dir`."""
    return subprocess.run(
        [sys.executable, "-m", "parley", *args],
        env=parley_env(data_dir, env or {}),
        cwd=data_dir,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@dataclass
class ServerProcess:
    base_url: str
    port: int
    process: subprocess.Popen[str]
    env: dict[str, str]
    log_lines: list[str] = field(default_factory=list)
    drainer: threading.Thread | None = None
    logged: threading.Condition = field(default_factory=threading.Condition)

    def wait_for_log(self, text: str, *more: str, after: int = 0, timeout_secs: float = 15) -> str:
        """The first log line from index `after` on that contains `text` (and each of `more`),
        waiting for it."""
        texts = (text, *more)
        with self.logged:
            found = self.logged.wait_for(
                lambda: next(
                    (ln for ln in self.log_lines[after:] if all(t in ln for t in texts)), None
                ),
                timeout=timeout_secs,
            )
        if found is None:
            raise TimeoutError(f"no log line with {text!r} within {timeout_secs}s")
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.drainer is not None:
            self.drainer.join(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()

    def log(self) -> str:
        return "\n".join(self.log_lines)


def start_server(
    data_dir: Path,
    env: Mapping[str, str],
    *,
    timeout_secs: float = 30,
    command: str = "serve",
    logged: threading.Condition | None = None,
) -> ServerProcess:
    """`parley serve` (or another command taking `--host` and `--port`: `protocol-server`).
    `logged`: a condition shared with other servers, notified at each line of any of them (a
    test then waits on a line in whichever log)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    full_env = parley_env(data_dir, env)
    process = subprocess.Popen(
        [sys.executable, "-m", "parley", command, "--host", "127.0.0.1", "--port", str(port)],
        env=full_env,
        cwd=data_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = ServerProcess(
        f"http://127.0.0.1:{port}", port, process, full_env, logged=logged or threading.Condition()
    )
    ready = threading.Event()

    def drain() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            with server.logged:
                server.log_lines.append(line.rstrip())
                server.logged.notify_all()
            if READY_MARKER in line:
                ready.set()
        ready.set()  # the process ended: stop waiting either way

    server.drainer = threading.Thread(target=drain, daemon=True, name=f"parley-log-{port}")
    server.drainer.start()
    if not ready.wait(timeout_secs) or process.poll() is not None:
        server.stop()
        raise RuntimeError(f"Parley did not start (exit {process.returncode}):\n{server.log()}")
    return server
