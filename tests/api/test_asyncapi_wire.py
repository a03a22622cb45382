"""The AsyncAPI document is what the server really sends: real clients (python-socketio and
websockets) go through sign-in, a join, a send, typing, a read, a reaction, an edit and game
moves, and every event, frame and acknowledgement they receive is checked against the schema
the document gives for that name on that channel, with every object closed (a field the
document does not name fails too). One server, SQLite only: the shapes do not depend on the
database."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from parley import __version__
from parley.asyncapi.document import asyncapi_document
from parley.realtime.dialects import WS_FRAME_TYPES, gochat
from tests.support.accounts import Account, register
from tests.support.clients import WsClient
from tests.support.server import ServerProcess, start_server
from tests.support.sio import SioClient

(BARE,) = {WS_FRAME_TYPES[domain] for domain in gochat.BARE}
"""What a bare frame is in the `flat` dialect: a message object, not an envelope (its `type`
is the message's own)."""


def _is_bare(frame: dict[str, Any]) -> bool:
    return "data" not in frame and "conversation_id" in frame


def _closed(schema: Any) -> Any:
    """Every object schema that lists its properties admits no others."""
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    closed = {key: _closed(value) for key, value in schema.items()}
    if "properties" in closed and "additionalProperties" not in closed:
        closed["additionalProperties"] = False
    return closed


class Contract:
    """The document's payload schema for each message, and what was checked against it."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.strict = _closed(copy.deepcopy(document))
        self.checked: dict[str, set[str]] = {}

    def check(self, channel: str, key: str, value: Any) -> None:
        messages = self.document["channels"][channel]["messages"]
        assert key in messages, f"{channel}: the document has no {key}: {value!r:.300}"
        pointer = f"#/channels/{channel}/messages/{key}/payload"
        validator = jsonschema.Draft202012Validator({**self.strict, "$ref": pointer})
        problems = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        assert not problems, f"{channel} {key}: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in problems[:5]
        )
        self.checked.setdefault(channel, set()).add(key)


class RecordingSio(SioClient):
    """Every event with all its arguments, in order, besides the queues per name."""

    def __init__(self, namespace: str, channel: str) -> None:
        super().__init__(namespace)
        self.channel = channel
        self.received: list[tuple[str, tuple[Any, ...]]] = []
        self.answers: list[tuple[str, Any]] = []

    async def _record(self, event: str, *args: Any) -> None:
        self.received.append((event, args))
        await super()._record(event, *args)

    async def ask(self, event: str, data: Any = None) -> Any:
        answer = await self.call(event, data)
        self.answers.append((event, answer))
        return answer

    def check(self, contract: Contract) -> None:
        for event, args in self.received:
            contract.check(self.channel, f"event.{event}", args[0] if args else None)
            if event == "message":  # a second argument: its recovery offset
                assert len(args) == 2, args
                assert isinstance(args[1], str), args
        for event, answer in self.answers:
            refused = isinstance(answer, dict) and "error" in answer
            contract.check(self.channel, "reply.error" if refused else f"reply.{event}", answer)


class RecordingWs:
    """A `/ws` client whose every frame is checked: an ack against the reply of the command
    whose id it carries (commands and replies are `ws`'s, whatever the dialect)."""

    def __init__(self, client: WsClient, channel: str, commands: str = "ws") -> None:
        self.client = client
        self.channel = channel
        self.commands = commands
        self.asked: dict[Any, str] = {}

    async def ask(self, kind: str, data: dict[str, Any] | None = None) -> dict[str, Any]:
        request_id = f"q-{uuid.uuid4().hex[:8]}"
        self.asked[request_id] = kind
        await self.client.send({"type": kind, "id": request_id, "data": data or {}})
        return await self.client.next(lambda f: f.get("id") == request_id)

    async def expect(self, frame_type: str) -> dict[str, Any]:
        return await self.client.expect(frame_type)

    async def check(self, contract: Contract) -> None:
        await self.ask("ping")  # every frame sent before its answer is in `seen` now
        for frame in self.client.seen:
            request_id = frame.get("id")
            if request_id in self.asked:
                reply = "reply.error" if frame["type"] == "error" else None
                reply = reply or f"reply.{self.asked[request_id]}"
                contract.check(self.commands, reply, frame)
                continue
            name = BARE if _is_bare(frame) else frame["type"]
            contract.check(self.channel, f"event.{name}", frame)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("asyncapi-wire")
    process = start_server(root, {"DATABASE_URL": f"sqlite:///{root}/parley.db"})
    yield process
    process.stop()


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract(asyncapi_document(version=__version__))


@pytest.fixture
def api(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=15) as client:
        yield client


async def _sio(server: ServerProcess, who: Account, namespace: str, channel: str) -> RecordingSio:
    client = RecordingSio(namespace, channel)
    await client.connect(server.base_url, auth={"token": who.access_token})
    await client.expect("authenticated")
    return client


async def _ws(
    server: ServerProcess, who: Account, channel: str, *, path: str = "/ws", query: str = ""
) -> RecordingWs:
    upper = "upper" in query
    client = await WsClient.open(
        server.base_url, who.access_token, path=path, query=query, expect_auth=not upper
    )
    if upper:
        await client.expect("AUTHENTICATED")
    return RecordingWs(client, channel, "ws_gameplay" if path == "/ws/gameplay" else "ws")


async def test_the_chat_flow_is_what_the_document_says(
    api: httpx.Client, server: ServerProcess, contract: Contract
) -> None:
    alice, bob = register(api), register(api)
    made = api.post(
        "/api/v1/conversations",
        headers=alice.headers,
        json={"name": "wire", "participant_ids": [bob.id]},
    )
    assert made.status_code == 201, made.text
    group = made.json()["id"]
    # Bob listens in every dialect; Alice comes online after, so that each hears it.
    bob_ws = await _ws(server, bob, "ws")
    flat = await _ws(server, bob, "ws_flat", query="dialect=flat")
    upper = await _ws(server, bob, "ws_upper", query="dialect=upper")
    cs = await _ws(server, bob, "ws_cs", path="/api/ws")
    listeners = [bob_ws, flat, upper, cs]
    alice_sio = await _sio(server, alice, "/", "socketio")
    try:
        await bob_ws.expect("user_online")
        await cs.expect("user_status_change")
        await upper.expect("USER_ONLINE")

        joined = await alice_sio.ask("join", {"room_id": group})
        assert joined["users"] == [alice.id]
        await alice_sio.expect("room_users")
        assert (await bob_ws.ask("join", {"conversation_id": group}))["type"] == "ack"
        await alice_sio.expect("user_joined")
        await bob_ws.client.send({"type": "join", "data": {"conversation_id": group}})
        await bob_ws.expect("users")  # after join_success: the seed's replies

        await alice_sio.ask("typing", {"room_id": group, "is_typing": True})
        await bob_ws.expect("typing")
        sent = await alice_sio.ask("message", {"room_id": group, "content": "hello"})
        for listener, kind in (
            (bob_ws, "new_message"),
            (upper, "NEW_MESSAGE"),
            (cs, "new_message"),
        ):
            await listener.expect(kind)
        await flat.client.next(_is_bare)

        read = await bob_ws.ask("read", {"conversation_id": group, "message_id": sent["id"]})
        assert read["type"] == "ack", read
        await alice_sio.expect("read_receipt")
        answer = await bob_ws.ask("send_message", {"conversation_id": group, "content": "hi"})
        assert answer["type"] == "ack", answer
        await alice_sio.expect("message")
        await bob_ws.ask("react", {"message_id": sent["id"], "emoji": "👍"})
        await alice_sio.expect("reaction_added")
        await alice_sio.ask("edit_message", {"message_id": sent["id"], "content": "hello!"})
        await cs.expect("message_updated")
        renamed = api.patch(
            f"/api/v1/conversations/{group}", headers=alice.headers, json={"name": "renamed"}
        )
        assert renamed.status_code == 200, renamed.text
        await alice_sio.expect("conversation_updated")
        await upper.expect("CONVERSATION_UPDATED")
        await alice_sio.ask("subscribe_status", {"target_user_id": bob.id})
        await bob_ws.ask("sync", {"since": {group: 0}})
        await bob_ws.client.send({"type": "ping", "data": {"n": 1}})
        await bob_ws.expect("pong")
        await alice_sio.emit("heartbeat", {})
        await alice_sio.expect("heartbeat")

        # Refusals: an acknowledgement or an `error` event; an error frame with or without id.
        refused = await alice_sio.ask("edit_message", {"message_id": "nope"})
        assert refused["error"]["code"] == "validation_error"
        await alice_sio.emit("typing", {})
        await alice_sio.expect("error")
        assert (await bob_ws.ask("send_message", {}))["type"] == "error"
        await bob_ws.client.send({"type": "no_such_command"})
        await bob_ws.expect("error")

        alice_sio.check(contract)
        for listener in listeners:
            await listener.check(contract)
    finally:
        await alice_sio.disconnect()
        for listener in listeners:
            await listener.client.close()
    on_sio = {"reply.message", "reply.error", "event.message", "event.message_updated"}
    assert on_sio <= contract.checked["socketio"]
    assert {"event.new_message", "event.reaction_added"} <= contract.checked["ws_flat"]
    assert "event.NEW_MESSAGE" in contract.checked["ws_upper"]
    assert {"event.user_status_change", "event.conversation_updated"} <= contract.checked["ws_cs"]


def _move(room_id: str, x: int, y: int) -> dict[str, Any]:
    return {"room_id": room_id, "action_type": "move", "coordinates": {"x": x, "y": y}}


async def test_the_game_flow_is_what_the_document_says(
    api: httpx.Client, server: ServerProcess, contract: Contract
) -> None:
    alice, bob = register(api), register(api)
    alice_sio = await _sio(server, alice, "/gameplay", "socketio_gameplay")
    bob_ws = await _ws(server, bob, "ws_gameplay", path="/ws/gameplay")
    try:
        # A relay room: actions passed on as sent.
        relay = await alice_sio.ask("create_room", {"name": "relay"})
        await alice_sio.expect("room_state")
        joined = await bob_ws.ask("join_room", {"room_id": relay["room_id"]})
        assert joined["type"] == "ack", joined
        await alice_sio.expect("player_joined")
        await bob_ws.ask("player_action", {**_move(relay["room_id"], 1, 2), "cell": 3})
        await alice_sio.expect("player_action")
        await bob_ws.client.send({"type": "leave_room", "data": {"room_id": relay["room_id"]}})
        await bob_ws.expect("room_left")
        await alice_sio.expect("player_left")

        # Tic-tac-toe: the server decides, and ends the game.
        game = await alice_sio.ask("create_room", {"game": "tictactoe"})
        room_id = game["room_id"]
        await bob_ws.ask("join_room", {"room_id": room_id})
        await alice_sio.expect_where("player_joined", lambda e: e["room_id"] == room_id)
        for turn, cell in enumerate(((0, 0), (0, 1), (1, 0), (1, 1), (2, 0))):
            if turn % 2 == 0:
                assert "error" not in await alice_sio.ask("player_action", _move(room_id, *cell))
            else:
                assert (await bob_ws.ask("player_action", _move(room_id, *cell)))["type"] == "ack"
        await alice_sio.expect("game_over")
        await bob_ws.expect("game_over")
        await alice_sio.ask("list_rooms", {})
        await alice_sio.emit("heartbeat", {})
        await alice_sio.expect("heartbeat")
        assert (await bob_ws.ask("player_action", _move(room_id, 2, 2)))["type"] == "error"

        alice_sio.check(contract)
        await bob_ws.check(contract)
    finally:
        await alice_sio.disconnect()
        await bob_ws.client.close()
    checked = contract.checked
    assert {"event.player_action", "event.game_over", "reply.player_action"} <= checked[
        "socketio_gameplay"
    ]
    assert {"event.room_state", "event.room_left", "reply.error"} <= checked["ws_gameplay"]
