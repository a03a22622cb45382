"""The authorization matrix's own server (SQLite) and its cast: one account per column of the
matrix, made through the public API (and `parley create-user` for the first admin)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.accounts import Account, create_admin, login, register
from tests.support.server import API_KEY, ServerProcess, start_server

ACTORS = (
    "anonymous",
    "outsider",
    "member",
    "owner",
    "agent",
    "super_agent",
    "admin",
    "api_key",
)
"""The matrix's columns.

- anonymous: no credentials at all.
- outsider: a customer who belongs to nothing (the non-member).
- member: a customer in the group, the open room and the direct chat, not their owner;
  not in the support chat.
- owner: the customer who made the group, the room and the direct chat, and whose support
  chat it is; the sender of the messages edited and deleted.
- agent: staff (role `agent`) assigned to the support chat and in nothing else — the wrong
  role for anything that needs an admin or a supervisor.
- super_agent: staff (role `super-agent`) in nothing: a supervisor of every support chat.
- admin: role `admin`, in nothing.
- api_key: no user, the trusted caller's `X-API-Key`.
"""


@pytest.fixture(scope="package")
def authz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = Path(tmp_path_factory.mktemp("authz"))
    server = start_server(root, {"DATABASE_URL": f"sqlite:///{root}/parley.db"})
    yield server
    server.stop()


@pytest.fixture(scope="package")
def authz_api(authz_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=authz_server.base_url, timeout=15) as client:
        yield client


@dataclass
class Cast:
    api: httpx.Client
    accounts: dict[str, Account]

    def headers(self, actor: str) -> dict[str, str]:
        if actor == "anonymous":
            return {}
        if actor == "api_key":
            return {"X-API-Key": API_KEY}
        return self.accounts[actor].headers

    def id(self, actor: str) -> str:
        return self.accounts[actor].id

    def relogin(self, actor: str) -> None:
        """A new session for an actor whose last request signed them out."""
        if actor in self.accounts:
            self.accounts[actor] = login(self.api, self.accounts[actor].username)

    def fresh_customer(self) -> Account:
        return register(self.api)


def with_role(api: httpx.Client, admin: Account, role: str) -> Account:
    account = register(api)
    response = api.put(
        f"/api/v1/users/{account.id}/role", headers=admin.headers, json={"role": role}
    )
    assert response.status_code == 200, response.text
    return login(api, account.username)


@pytest.fixture(scope="package")
def cast(authz_api: httpx.Client, authz_server: ServerProcess) -> Cast:
    admin = create_admin(authz_api, authz_server)
    accounts = {
        "outsider": register(authz_api),
        "member": register(authz_api),
        "owner": register(authz_api),
        "agent": with_role(authz_api, admin, "agent"),
        "super_agent": with_role(authz_api, admin, "super-agent"),
        "admin": admin,
    }
    return Cast(authz_api, accounts)


@dataclass
class Scene:
    """A group, an open room, a direct chat and a support chat, with a message in each."""

    group: str
    room: str
    room_name: str
    direct: str
    support: str
    group_message: str
    support_message: str
    friend_request: str
    """The owner's pending friend request to the member."""
    private_room: str
    """A private room of the owner's, the member invited."""


def build_scene(cast: Cast) -> Scene:
    api = cast.api
    owner = cast.headers("owner")

    def create(headers: dict[str, str], body: dict[str, Any]) -> str:
        response = api.post("/api/v1/conversations", headers=headers, json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def send(conversation_id: str) -> str:
        response = api.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            headers=owner,
            json={"content": "hello"},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    group = create(owner, {"name": "authz group", "participant_ids": [cast.id("member")]})
    room_name = f"authz-{uuid.uuid4().hex[:10]}"
    room = create(owner, {"kind": "room", "name": room_name})
    joined = api.post(
        f"/api/v1/conversations/{room}/members", headers=owner, json={"user_id": cast.id("member")}
    )
    assert joined.status_code == 200, joined.text
    direct = create(owner, {"participant_id": cast.id("member")})
    support = create(
        cast.headers("super_agent"),
        {"kind": "support", "customer_id": cast.id("owner"), "agent_id": cast.id("agent")},
    )
    for conversation_id in (room, direct):
        send(conversation_id)
    asked = api.post("/api/v1/friends/requests", headers=owner, json={"user_id": cast.id("member")})
    if asked.status_code == 200 and asked.json()["status"] == "friends":  # an earlier scene's
        unfriended = api.delete(f"/api/v1/friends/{cast.id('member')}", headers=owner)
        assert unfriended.status_code == 204, unfriended.text
        asked = api.post(
            "/api/v1/friends/requests", headers=owner, json={"user_id": cast.id("member")}
        )
    assert asked.status_code in (200, 201), asked.text
    friend_request = str(asked.json()["request"]["id"])
    private_room = create(
        owner, {"kind": "room", "name": f"private-{uuid.uuid4().hex[:10]}", "private": True}
    )
    invited = api.post(
        f"/api/v1/rooms/{private_room}/invite", headers=owner, json={"user_id": cast.id("member")}
    )
    assert invited.status_code == 200, invited.text
    return Scene(
        group,
        room,
        room_name,
        direct,
        support,
        send(group),
        send(support),
        friend_request,
        private_room,
    )
