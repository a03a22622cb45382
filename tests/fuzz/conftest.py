"""The fuzz suites' own server (SQLite, one instance) and the accounts and conversations they
aim at. Its own server, so a fuzzed logout or role change disturbs no other test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.accounts import Account, create_admin, direct_chat, register
from tests.support.server import ServerProcess, start_server

FUZZ_ENV = {
    # Long enough that the fuzzed sockets never time out mid-batch.
    "WS_AUTH_TIMEOUT_SECS": "30",
    "MAX_MESSAGE_CHARS": "2000",
    # No seat may expire mid-test and change the list of open game rooms a test compares.
    "GAME_SEAT_GRACE_SECS": "600",
}


@pytest.fixture(scope="package")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = Path(tmp_path_factory.mktemp("fuzz"))
    server = start_server(root, {"DATABASE_URL": f"sqlite:///{root}/parley.db", **FUZZ_ENV})
    yield server
    server.stop()


@pytest.fixture(scope="package")
def fuzz_api(fuzz_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=fuzz_server.base_url, timeout=15) as client:
        yield client


@dataclass
class World:
    """Who and what the fuzzed requests name."""

    customer: Account
    other: Account
    admin: Account
    direct_id: str
    group_id: str
    room_id: str
    room_name: str
    support_id: str
    message_id: str

    def history(self, api: httpx.Client, conversation_id: str) -> list[dict[str, Any]] | None:
        """Every message of a conversation (≤ 100), newest first, as its member reads it;
        None if the server cannot answer (a stored value it cannot give back breaks this)."""
        try:
            response = api.get(
                f"/api/v1/conversations/{conversation_id}/messages",
                params={"limit": 100},
                headers={**self.customer.headers, "Connection": "close"},
            )
        except httpx.TransportError:
            return None
        if response.status_code != 200:
            return None
        return list(response.json()["messages"])

    @property
    def ids(self) -> list[str]:
        return [
            self.customer.id,
            self.other.id,
            self.admin.id,
            self.direct_id,
            self.group_id,
            self.room_id,
            self.support_id,
            self.message_id,
        ]


def build_world(api: httpx.Client, server: ServerProcess) -> World:
    customer, other = register(api), register(api)
    admin = create_admin(api, server)
    direct_id = direct_chat(api, customer, other)

    def create(who: Account, body: dict[str, Any]) -> str:
        response = api.post("/api/v1/conversations", headers=who.headers, json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    group_id = create(customer, {"name": "fuzz group", "participant_ids": [other.id]})
    room_name = f"fuzz-{uuid.uuid4().hex[:8]}"
    room_id = create(customer, {"kind": "room", "name": room_name})
    support_id = create(customer, {"kind": "support"})
    sent = api.post(
        f"/api/v1/conversations/{group_id}/messages",
        headers=customer.headers,
        json={"content": "hello"},
    )
    assert sent.status_code == 201, sent.text
    for conversation_id in (direct_id, room_id, support_id):
        response = api.post(
            f"/api/v1/conversations/{conversation_id}/messages",
            headers=customer.headers,
            json={"content": "first"},
        )
        assert response.status_code == 201, response.text
    return World(
        customer,
        other,
        admin,
        direct_id,
        group_id,
        room_id,
        room_name,
        support_id,
        str(sent.json()["id"]),
    )


@pytest.fixture(scope="module")
def world(fuzz_api: httpx.Client, fuzz_server: ServerProcess) -> World:
    return build_world(fuzz_api, fuzz_server)
