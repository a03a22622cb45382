"""Helpers for the push tests: users with devices, sends, and reading the server's log."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

import httpx

from tests.push.conftest import WEBHOOK_SECRET
from tests.support.accounts import Account, register
from tests.support.server import ServerProcess


def device_user(api: httpx.Client, name: str = "") -> tuple[Account, str]:
    """A user signed in on a device with a push token; returns the account and the token."""
    token = f"tok-{uuid.uuid4().hex}"
    account = register(api, fcm_token=token, name=name or "")
    return account, token


def group(api: httpx.Client, owner: Account, *members: Account, name: str = "Team") -> str:
    response = api.post(
        "/api/v1/conversations",
        headers=owner.headers,
        json={"name": name, "participant_ids": [m.id for m in members]},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def send(api: httpx.Client, sender: Account, conversation_id: str, content: str) -> dict[str, Any]:
    response = api.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        headers=sender.headers,
        json={"content": content},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def find_event(server: ServerProcess, event: str, **fields: Any) -> dict[str, Any] | None:
    """The first JSON log line of `event` whose fields include `fields`, in the log so far."""
    for line in server.log_lines:
        if event not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == event and all(entry.get(k) == v for k, v in fields.items()):
            return dict(entry)
    return None


def log_event(
    server: ServerProcess, event: str, timeout_secs: float = 15, **fields: Any
) -> dict[str, Any]:
    """The first JSON log line of `event` whose fields include `fields`, waiting for it."""
    with server.logged:
        found = server.logged.wait_for(
            lambda: find_event(server, event, **fields), timeout=timeout_secs
        )
    if found is None:
        raise TimeoutError(f"no {event} {fields} in the log within {timeout_secs}s")
    return found


def planned(
    server: ServerProcess, message: dict[str, Any], timeout_secs: float = 15
) -> dict[str, Any]:
    """How the server planned the message's pushes: `scheduled`, `online` (members)."""

    def find() -> dict[str, Any] | None:
        for line in server.log_lines:
            if "push.planned" in line and message["id"] in line:
                return dict(json.loads(line))
        return None

    with server.logged:
        found = server.logged.wait_for(find, timeout=timeout_secs)
    if found is None:
        raise TimeoutError(f"message {message['id']} was not planned within {timeout_secs}s")
    return found


def verify_signature(record: dict[str, Any]) -> None:
    headers = record["headers"]
    timestamp = headers["x-parley-timestamp"]
    expected = hmac.new(
        WEBHOOK_SECRET.encode(),
        timestamp.encode() + b"." + record["body"].encode(),
        hashlib.sha256,
    ).hexdigest()
    assert headers["x-parley-signature"] == f"v1={expected}"
    assert headers["content-type"] == "application/json"


def body_of(record: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(record["body"]))
