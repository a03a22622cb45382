"""Making users through the public API, the way a client does."""

from __future__ import annotations

import subprocess
import sys
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.server import ServerProcess

PASSWORD = "correct horse battery"


def unique_username(prefix: str = "user") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


@dataclass
class Account:
    user: dict[str, Any]
    access_token: str
    refresh_token: str
    password: str

    @property
    def id(self) -> str:
        return str(self.user["id"])

    @property
    def username(self) -> str:
        return str(self.user["username"])

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


def account_from(body: dict[str, Any], password: str) -> Account:
    return Account(
        body["user"], body["tokens"]["access_token"], body["tokens"]["refresh_token"], password
    )


def register(api: httpx.Client, **fields: Any) -> Account:
    username = fields.pop("username", None) or unique_username()
    body = {
        "username": username,
        "email": f"{username}@example.com",
        "password": PASSWORD,
        **fields,
    }
    response = api.post("/api/v1/auth/register", json=body)
    assert response.status_code == 201, response.text
    return account_from(response.json(), body["password"])


def direct_chat(api: httpx.Client, a: Account, b: Account) -> str:
    """The id of the direct chat between two users (made by the first)."""
    response = api.post("/api/v1/conversations", headers=a.headers, json={"participant_id": b.id})
    return str(response.json()["id"])


def login(api: httpx.Client, login_name: str, password: str = PASSWORD, **fields: Any) -> Account:
    response = api.post(
        "/api/v1/auth/login", json={"username": login_name, "password": password, **fields}
    )
    assert response.status_code == 200, response.text
    return account_from(response.json(), password)


def run_cli(
    server: ServerProcess,
    *args: str,
    input_text: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python -m parley …` against the same database and secret as `server`."""
    return subprocess.run(
        [sys.executable, "-m", "parley", *args],
        env={**server.env, **(env or {})},
        cwd=server.env["PARLEY_DATA_DIR"],
        input=input_text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def create_staff(api: httpx.Client, server: ServerProcess, role: str) -> Account:
    """A signed-in account with a role only the CLI (or an admin) gives: agent, admin, …"""
    username = unique_username(role.replace("-", ""))
    result = run_cli(
        server,
        "create-user",
        username,
        "--role",
        role,
        env={"PARLEY_NEW_USER_PASSWORD": PASSWORD},
    )
    assert result.returncode == 0, result.stderr
    return login(api, username)


def create_admin(api: httpx.Client, server: ServerProcess) -> Account:
    return create_staff(api, server, "admin")


def befriend(api: httpx.Client, a: Account, b: Account) -> None:
    """Make them friends (crossing requests), so that each may watch the other's presence."""
    for asker, asked in ((a, b), (b, a)):
        response = api.post(
            "/api/v1/friends/requests", headers=asker.headers, json={"user_id": asked.id}
        )
        assert response.status_code in (200, 201), response.text
