"""A room with an owner and members, for the moderation tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.accounts import Account, register


@dataclass
class Room:
    id: str
    name: str
    owner: Account


def new_room(api: httpx.Client, owner: Account, *members: Account) -> Room:
    name = f"mod-{uuid.uuid4().hex[:10]}"
    made = api.post("/api/v1/rooms", headers=owner.headers, json={"name": name})
    assert made.status_code == 201, made.text
    room = Room(str(made.json()["id"]), name, owner)
    for member in members:
        joined = api.post(f"/api/v1/rooms/{name}/join", headers=member.headers)
        assert joined.status_code == 200, joined.text
    return room


def people(api: httpx.Client, count: int) -> list[Account]:
    return [register(api) for _ in range(count)]


def send(api: httpx.Client, who: Account, room: Room, content: str) -> httpx.Response:
    return api.post(
        f"/api/v1/conversations/{room.id}/messages",
        headers=who.headers,
        json={"content": content},
    )


def code(answer: httpx.Response | dict[str, Any]) -> str:
    """The error code of a REST answer, a Socket.IO ack or a /ws error frame."""
    if isinstance(answer, httpx.Response):
        return str(answer.json()["error"]["code"])
    if answer.get("type") == "error":
        return str(answer.get("data", answer)["code"])
    return str(answer["error"]["code"])
