"""The `parley` command as an operator uses it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.accounts import PASSWORD, login, run_cli, unique_username
from tests.support.server import ServerProcess, parley_env, run_parley, start_server


def test_seed_creates_the_four_default_users(api: httpx.Client, server: ServerProcess) -> None:
    result = run_cli(server, "seed")
    assert result.returncode == 0, result.stderr
    roles = {}
    for username in ("agent1", "agent2", "customer1", "customer2"):
        roles[username] = login(api, username, "password123").user["role"]
    assert roles == {
        "agent1": "agent",
        "agent2": "super-agent",
        "customer1": "customer",
        "customer2": "customer",
    }
    again = run_cli(server, "seed")
    assert again.returncode == 0
    assert "nothing" in again.stdout


def test_seed_and_reset_are_refused_in_production(server: ServerProcess) -> None:
    for command in (["seed"], ["reset-db", "--yes"]):
        result = run_cli(server, *command, env={"APP_ENV": "production"})
        assert result.returncode == 1
        assert "production" in result.stderr


def test_create_user_refuses_a_taken_username(api: httpx.Client, server: ServerProcess) -> None:
    username = unique_username("agent")
    env = {"PARLEY_NEW_USER_PASSWORD": PASSWORD}
    first = run_cli(server, "create-user", username, "--role", "agent", env=env)
    assert first.returncode == 0, first.stderr
    assert login(api, username).user["role"] == "agent"
    second = run_cli(server, "create-user", username, env=env)
    assert second.returncode == 1
    assert "already taken" in second.stderr


def test_reset_db_asks_first(tmp_path: Path) -> None:
    def parley(*args: str, answer: str | None = None) -> subprocess.CompletedProcess[str]:
        return run_parley(tmp_path, *args, input_text=answer)

    assert parley("seed").returncode == 0
    declined = parley("reset-db", answer="n\n")
    assert declined.returncode == 1
    assert "left as it was" in declined.stdout
    assert "nothing" in parley("seed").stdout  # still there
    accepted = parley("reset-db", answer="y\n")
    assert accepted.returncode == 0, accepted.stderr
    assert "created: agent1" in parley("seed").stdout  # gone, so seeded again


def test_production_without_a_secret_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    env = parley_env(tmp_path, {"APP_ENV": "production", "JWT_SECRET": ""})
    result = subprocess.run(
        [sys.executable, "-m", "parley", "serve", "--port", "1"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "JWT_SECRET" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_seeds_environment_starts_the_way_the_seeds_do(tmp_path: Path) -> None:
    """A shell's ENV=/root/.shrc does not stop Parley; Redis settings naming no server do,
    in one line, rather than leave the instance running on its own."""
    base = parley_env(tmp_path, {})
    ok = subprocess.run(
        [sys.executable, "-m", "parley", "migrate"],
        env={**base, "ENV": "/root/.shrc"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert "ENV=/root/.shrc names no environment" in ok.stderr
    refused = subprocess.run(
        [sys.executable, "-m", "parley", "serve"],
        env={**base, "REDIS_PASSWORD": "secret"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "parley: REDIS_PASSWORD set, but no Redis server: set REDIS_URL (redis://host:6379/0), "
        "REDIS_HOST or REDIS_ADDR, or unset them to run one instance on its own."
    ]


def test_version_prints_the_packages_version(tmp_path: Path) -> None:
    from parley import __version__

    result = run_parley(tmp_path, "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"parley {__version__}"


def test_a_bad_setting_is_one_line_naming_it_not_a_traceback(tmp_path: Path) -> None:
    result = run_parley(tmp_path, "serve", env={"PORT": "abc", "SERVER_MODE": "nope"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert sorted(lines) == [
        "parley: APP_ENV: Input should be 'development' or 'production' (got 'nope')",
        "parley: PORT: Input should be a valid integer, unable to parse string as an integer"
        " (got 'abc')",
    ], result.stderr


def test_a_server_stopped_with_sigterm_exits_0_with_its_log_complete(tmp_path: Path) -> None:
    """How containers and process managers stop it: the graceful shutdown's last lines reach
    the log (they were lost when uvicorn re-raised the signal and killed the process)."""
    server = start_server(tmp_path, {"DATABASE_URL": f"sqlite:///{tmp_path / 'parley.db'}"})
    server.stop()  # SIGTERM, then waits for the exit and the end of its log
    assert server.process.returncode == 0, server.log()
    assert "Application shutdown complete" in server.log()
    assert "Finished server process" in server.log_lines[-1]
