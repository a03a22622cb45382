"""The GOSOCKET seed (000), as its clients use it: `io()` and `io('/gameplay')` on one
connection, phone sign-in on `/` only, named game rooms, `player_action` with the seed's
`session_token`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import socketio

from tests.support.clients import RECEIVE_TIMEOUT_SECS
from tests.support.js import run_js
from tests.support.server import ServerProcess

GAMEPLAY = "/gameplay"


class SeedClient:
    """One Engine.IO connection carrying `/` and `/gameplay`, as `io()` + `io('/gameplay')`."""

    def __init__(self, namespaces: list[str]) -> None:
        self.namespaces = namespaces
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: dict[tuple[str, str], asyncio.Queue[Any]] = {}
        for namespace in namespaces:
            self.client.on("*", self._recorder(namespace), namespace=namespace)

    def _recorder(self, namespace: str) -> Callable[..., Any]:
        async def record(event: str, *args: Any) -> None:
            self.queue(namespace, event).put_nowait(args[0] if args else None)

        return record

    def queue(self, namespace: str, event: str) -> asyncio.Queue[Any]:
        return self.events.setdefault((namespace, event), asyncio.Queue())

    async def expect(self, namespace: str, event: str) -> Any:
        return await asyncio.wait_for(self.queue(namespace, event).get(), RECEIVE_TIMEOUT_SECS)

    async def call(self, namespace: str, event: str, data: Any = None) -> Any:
        return await self.client.call(
            event, data or {}, namespace=namespace, timeout=RECEIVE_TIMEOUT_SECS
        )

    async def phone_sign_in(self) -> dict[str, Any]:
        """The seed's `login` then `verify_otp` on `/`; the login answer (with session_token)."""
        mobile = f"+1650253{uuid.uuid4().int % 10_000:04d}"
        sent = await self.call("/", "login", {"mobile_no": mobile, "fcm_token": "fcm_token_here"})
        verified = await self.call(
            "/",
            "verify_otp",
            {"mobile_no": mobile, "session_token": sent["session_token"], "otp": sent["otp"]},
        )
        assert "error" not in verified, verified
        return {**sent, "user_id": verified["user"]["id"]}


@pytest.fixture
async def seed_clients(server: ServerProcess) -> AsyncIterator[Callable[..., Any]]:
    opened: list[SeedClient] = []

    async def open_client(namespaces: list[str] | None = None) -> SeedClient:
        client = SeedClient(namespaces or ["/", GAMEPLAY])
        await client.client.connect(
            server.base_url,
            namespaces=client.namespaces,
            transports=["websocket"],
            wait_timeout=RECEIVE_TIMEOUT_SECS,
        )
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        await client.client.disconnect()


def seed_action(session_token: str, **extra: Any) -> dict[str, Any]:
    return {
        "action_type": "move",
        "player_id": "player123",
        "session_token": session_token,
        "coordinates": {"x": 100, "y": 200},
        "timestamp": "2024-01-15T10:30:00Z",
        "game_state": {"level": 1, "score": 1000, "health": 100},
        **extra,
    }


async def test_a_sign_in_on_root_counts_on_gameplay(seed_clients: Any) -> None:
    ann, bob = await seed_clients(), await seed_clients()
    ann_login = await ann.phone_sign_in()
    assert (await ann.expect(GAMEPLAY, "authenticated"))["user_id"] == ann_login["user_id"]
    bob_login = await bob.phone_sign_in()
    await bob.expect(GAMEPLAY, "authenticated")

    room = f"lobby-{uuid.uuid4().hex[:6]}"  # named by the players, opened on first join
    opened = await ann.call(GAMEPLAY, "join_room", {"room_id": room})
    assert opened["room_id"] == room
    joined = await bob.call(GAMEPLAY, "join_room", {"room_id": room})
    assert joined["room_id"] == room
    assert {p["player_id"] for p in joined["players"]} == {
        ann_login["user_id"],
        bob_login["user_id"],
    }
    arrived = await ann.expect(GAMEPLAY, "player_joined")
    assert arrived["player_id"] == bob_login["user_id"]

    await bob.client.emit(
        "player_action", seed_action(bob_login["session_token"]), namespace=GAMEPLAY
    )
    heard = await ann.expect(GAMEPLAY, "player_action")
    assert (heard["room_id"], heard["player_id"]) == (room, bob_login["user_id"])
    assert heard["coordinates"] == {"x": 100, "y": 200}


async def test_a_gameplay_connection_signs_in_with_the_session_token(seed_clients: Any) -> None:
    ann, bob = await seed_clients(), await seed_clients()
    await ann.phone_sign_in()
    bob_login = await bob.phone_sign_in()
    room = f"arena-{uuid.uuid4().hex[:6]}"
    await ann.call(GAMEPLAY, "join_room", {"room_id": room})
    await bob.call(GAMEPLAY, "join_room", {"room_id": room})

    # Bob's second device: only `io('/gameplay')`, no token, no sign-in on `/`.
    second = await seed_clients([GAMEPLAY])
    acted = await second.call(
        GAMEPLAY, "player_action", seed_action(bob_login["session_token"], room_id=room)
    )
    assert "error" not in acted, acted
    assert (await second.expect(GAMEPLAY, "authenticated"))["user_id"] == bob_login["user_id"]
    heard = await ann.expect(GAMEPLAY, "player_action")
    assert heard["player_id"] == bob_login["user_id"]


async def test_a_bad_session_token_is_refused_and_the_socket_stays(seed_clients: Any) -> None:
    lone = await seed_clients([GAMEPLAY])
    refused = await lone.call(GAMEPLAY, "player_action", seed_action("not-a-session-token"))
    assert refused["error"]["code"] == "invalid_token"
    missing = await lone.call(GAMEPLAY, "player_action", {"action_type": "move"})
    assert missing["error"]["code"] == "not_authenticated"
    too_long = await lone.call(GAMEPLAY, "player_action", seed_action("x" * 600))
    assert too_long["error"]["code"] == "validation_error"
    alive = await lone.call(GAMEPLAY, "heartbeat")
    assert alive["status"] == "alive"


async def test_a_server_style_id_that_does_not_exist_is_not_opened(seed_clients: Any) -> None:
    ann = await seed_clients()
    await ann.phone_sign_in()
    missing = await ann.call(GAMEPLAY, "join_room", {"room_id": uuid.uuid4().hex})
    assert missing["error"]["code"] == "room_not_found"


def test_the_official_js_client_signs_in_once_for_both_namespaces(server: ServerProcess) -> None:
    mobile = f"+1650253{uuid.uuid4().int % 10_000:04d}"
    room = f"js-lobby-{uuid.uuid4().hex[:6]}"
    outcome = run_js("gosocket.mjs", server.base_url, mobile, room)
    assert outcome["multiplexed"] is True
    assert outcome["authenticated"]["user_id"] == outcome["user_id"]
    assert outcome["room"]["room_id"] == room
    assert [p["player_id"] for p in outcome["room"]["players"]] == [outcome["user_id"]]
