"""BROADCASTS_PER_KEY: one API key (or one admin) broadcasts at most so many a minute, on one
instance and across two on Redis; over it 429 `broadcast_rate_limited` with `Retry-After`,
nothing stored, counted in /metrics."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.accounts import create_admin, register
from tests.support.deployment import two_instances
from tests.support.server import API_KEY, ServerProcess, start_server

KEY = {"X-API-Key": API_KEY}


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(tmp_path_factory.mktemp("broadcasts"), {"BROADCASTS_PER_KEY": "3"})
    yield server
    server.stop()


def body(room: str, n: int) -> dict[str, object]:
    return {"room_id": room, "content": f"news {n}", "username": "System"}


def history(api: httpx.Client, room: str) -> list[str]:
    """What the room holds, as a member who joins it now reads it."""
    reader = register(api)
    joined = api.post(f"/api/v1/rooms/{room}/join", headers=reader.headers)
    assert joined.is_success, joined.text
    room_id = joined.json()["room"]["id"]
    answer = api.get(f"/api/v1/conversations/{room_id}/messages", headers=reader.headers)
    assert answer.is_success, answer.text
    return [m["content"] for m in answer.json()["messages"]]


def test_a_key_is_limited_and_an_admin_counts_apart(limited: ServerProcess) -> None:
    room = f"news-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=limited.base_url, timeout=15) as api:
        for n in range(3):
            assert api.post("/api/v1/broadcast", headers=KEY, json=body(room, n)).status_code == 201
        refused = api.post("/messages", headers=KEY, json=body(room, 3))  # the seed's path too
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "broadcast_rate_limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        # A wrong key is still told so, not counted under the good key's limit.
        wrong = api.post("/api/v1/broadcast", headers={"X-API-Key": "nope"}, json=body(room, 9))
        assert wrong.status_code == 401
        admin = create_admin(api, limited)
        for n in range(4, 7):
            made = api.post("/api/v1/broadcast", headers=admin.headers, json=body(room, n))
            assert made.status_code == 201, made.text
        again = api.post("/api/v1/broadcast", headers=admin.headers, json=body(room, 7))
        assert again.json()["error"]["code"] == "broadcast_rate_limited"
        stored = history(api, room)
        assert sorted(stored) == [f"news {n}" for n in (0, 1, 2, 4, 5, 6)]
        metrics = api.get("/metrics").text
        assert "parley_broadcasts_refused_total 2" in metrics


def test_the_limit_holds_across_instances(tmp_path: Path) -> None:
    room = f"news-{uuid.uuid4().hex[:8]}"
    with (
        two_instances(tmp_path, BROADCASTS_PER_KEY="3") as (a, b),
        httpx.Client(timeout=15) as api,
    ):
        for n, server in enumerate((a, b, a)):
            url = f"{server.base_url}/api/v1/broadcast"
            answer = api.post(url, headers=KEY, json=body(room, n))
            assert answer.status_code == 201, answer.text
        refused = api.post(f"{b.base_url}/api/v1/broadcast", headers=KEY, json=body(room, 3))
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "broadcast_rate_limited"
