"""The AsyncAPI document cannot drift: it is valid against the official AsyncAPI 3.0 schema
(npm's @asyncapi/specs, installed into tests/js by scripts/bootstrap), it names every
command each handler table takes with the JSON Schema of the model that validates it, every
event the dialects put on the wire, and it is what the server serves."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from parley import __version__
from parley.asyncapi import catalog, document, wire
from parley.asyncapi.document import asyncapi_document
from parley.realtime.chat.namespace import EVENTS as SIO_CHAT
from parley.realtime.chat.websocket import HANDLERS as WS_CHAT
from parley.realtime.dialects import SIO_EVENT_NAMES, WS_DIALECTS, WS_FRAME_TYPES
from parley.realtime.gameplay.namespace import EVENTS as SIO_GAMEPLAY
from parley.realtime.gameplay.websocket import HANDLERS as WS_GAMEPLAY
from tests.support.js import JS_DIR
from tests.support.server import ServerProcess, start_server
from tests.support.services import in_ci

SPEC = JS_DIR / "node_modules" / "@asyncapi" / "specs" / "schemas" / "3.0.0.json"
TABLES = {
    "socketio": (SIO_CHAT, catalog.CHAT),
    "socketio_gameplay": (SIO_GAMEPLAY, catalog.GAMEPLAY),
    "ws": (WS_CHAT, catalog.CHAT),
    "ws_gameplay": (WS_GAMEPLAY, catalog.GAMEPLAY),
}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return asyncapi_document(version=__version__)


def _official_schema() -> dict[str, Any]:
    if not SPEC.is_file():
        reason = "tests/js has no @asyncapi/specs (scripts/bootstrap runs npm ci there)"
        if in_ci():
            pytest.fail(f"CI=true: {reason}", pytrace=False)
        pytest.skip(reason)
    schema: dict[str, Any] = json.loads(SPEC.read_text())
    return schema


def test_the_document_is_valid_asyncapi_3(doc: dict[str, Any]) -> None:
    schema = _official_schema()
    assert schema["$id"] == "http://asyncapi.com/definitions/3.0.0/asyncapi.json"
    validator = jsonschema.Draft7Validator(schema)
    problems = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not problems, "\n".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in problems[:10]
    )


def test_the_official_schema_refuses_a_broken_document(doc: dict[str, Any]) -> None:
    """The check above would catch a mistake: the same document with one slip is invalid."""
    validator = jsonschema.Draft7Validator(_official_schema())
    broken = json.loads(json.dumps(doc))
    broken["operations"]["ws.send.typing"]["action"] = "publish"  # AsyncAPI 2's word
    assert not validator.is_valid(broken)


def _sent(doc: dict[str, Any], channel: str) -> dict[str, dict[str, Any]]:
    return {
        m["name"]: m
        for key, m in doc["channels"][channel]["messages"].items()
        if key.startswith("command.")
    }


def _received(doc: dict[str, Any], channel: str) -> set[str]:
    messages = doc["channels"][channel]["messages"]
    return {m["name"] for key, m in messages.items() if key.startswith("event.")}


def test_every_command_of_every_handler_table_is_there(doc: dict[str, Any]) -> None:
    for channel, (table, _) in TABLES.items():
        assert set(_sent(doc, channel)) == set(table), channel
    operations = doc["operations"].values()
    for channel, (table, _) in TABLES.items():
        sends = {
            op["messages"][0]["$ref"].rsplit(".", 1)[1]
            for op in operations
            if op["channel"]["$ref"] == f"#/channels/{channel}" and op["action"] == "send"
        }
        assert sends == set(table), channel


def _schema_of(model: type[BaseModel]) -> dict[str, Any]:
    _, top = models_json_schema(
        [(model, "validation")], ref_template="#/components/schemas/{model}"
    )
    return top


def test_each_payload_is_its_models_schema(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    for channel, (table, models) in TABLES.items():
        sent = _sent(doc, channel)
        for name in table:
            model = models[name].payload
            payload = sent[name]["payload"]
            if channel.startswith("ws"):
                assert payload["properties"]["type"] == {"const": name}
                payload = payload["properties"]["data"]
            if model is None:
                assert payload == {"$ref": "#/components/schemas/NoFields"}
                continue
            key = payload["$ref"].rsplit("/", 1)[1]
            for def_name, schema in _schema_of(model)["$defs"].items():
                assert schemas[def_name] == schema, (channel, name, def_name)
            assert key in _schema_of(model)["$defs"], (channel, name)


def test_every_event_the_dialects_name_is_there(doc: dict[str, Any]) -> None:
    on_sio = _received(doc, "socketio") | _received(doc, "socketio_gameplay")
    assert set(SIO_EVENT_NAMES.values()) <= on_sio
    assert {"user_online", "user_offline"} <= _received(doc, "socketio")
    on_ws = _received(doc, "ws") | _received(doc, "ws_gameplay")
    assert set(WS_FRAME_TYPES.values()) <= on_ws
    assert "new_message" in _received(doc, "ws")
    assert "room_state" in _received(doc, "ws_gameplay")


def test_every_command_is_answered_by_its_reply_or_the_refusal(doc: dict[str, Any]) -> None:
    for channel, (table, models) in TABLES.items():
        messages = doc["channels"][channel]["messages"]
        for name in table:
            reply = doc["operations"][f"{channel}.send.{name}"]["reply"]
            assert reply["channel"] == {"$ref": f"#/channels/{channel}"}
            prefix = f"#/channels/{channel}/messages/"
            assert reply["messages"] == [
                {"$ref": f"{prefix}reply.{name}"},
                {"$ref": f"{prefix}reply.error"},
            ]
            payload = messages[f"reply.{name}"]["payload"]
            if channel.startswith("ws"):
                assert payload["properties"]["type"] == {"const": "ack"}
                payload = payload["properties"]["data"]
            if channel.startswith("ws"):
                shape = catalog.WS_REPLIES.get(name, models[name].reply)
            else:
                shape = models[name].reply
            names = getattr(shape, "__args__", (shape,))
            refs = [{"$ref": f"#/components/schemas/{n.__name__}"} for n in names]
            assert payload == (refs[0] if len(refs) == 1 else {"anyOf": refs}), (channel, name)
    schemas = doc["components"]["schemas"]
    assert schemas["AckError"]["properties"]["error"] == {
        "$ref": "#/components/schemas/SocketError"
    }
    assert set(schemas["SocketError"]["required"]) == {"code", "message"}
    assert set(schemas["ErrorFrame"]["required"]) == {"type", "code", "message"}


def test_what_the_server_sends_has_every_field_of_its_model_required(doc: dict[str, Any]) -> None:
    """A model's dump always has every field (null or not); a TypedDict's `NotRequired` keys
    may be absent, and the document says so."""
    schemas = doc["components"]["schemas"]
    message = schemas["MessagePublic"]
    assert set(message["required"]) == set(message["properties"])
    acted = schemas["PlayerActed"]
    assert {"cell", "data", "shared_state"} == set(acted["properties"]) - set(acted["required"])
    assert "members" not in schemas["ConversationJoined"]["properties"]
    assert "last_message" in schemas["ConversationJoined"]["properties"]
    assert {"members", "last_message"}.isdisjoint(schemas["ConversationChange"]["properties"])


def test_every_ws_dialect_has_its_channel(doc: dict[str, Any]) -> None:
    assert {dialect for dialect, _, _ in wire.WS_CHANNELS.values()} == set(WS_DIALECTS)
    channels = doc["channels"]
    assert channels["ws_cs"]["address"] == "/api/ws"
    flat = channels["ws_flat"]["messages"]["event.new_message"]["payload"]
    assert flat == {"$ref": "#/components/schemas/MessagePublic"}  # bare, not in an envelope
    upper = {m["name"] for m in channels["ws_upper"]["messages"].values()}
    assert "NEW_MESSAGE" in upper
    assert all(name.isupper() or name == "error" for name in upper)
    cs = {m["name"] for m in channels["ws_cs"]["messages"].values()}
    assert {"new_message", "user_status_change", "chat_status_updated"} <= cs
    assert "user_online" not in cs
    for key in ("ws_flat", "ws_upper", "ws_cs"):
        query = channels[key]["bindings"]["ws"]["query"]["properties"]
        assert query["dialect"] == {
            "const": wire.WS_CHANNELS[key][0],
            "description": "This dialect.",
        }


def test_an_event_without_a_shape_stops_the_document() -> None:
    with pytest.raises(LookupError, match=r"new\.event"):
        wire.check_events([*wire.CHAT_EVENTS, wire.Event("new.event", "new_event", None)])


def test_a_command_without_a_model_stops_the_document() -> None:
    table = {**WS_CHAT, "new_command": WS_CHAT["ping"]}
    with pytest.raises(LookupError, match="new_command"):
        document._check({"/ws": (table, catalog.CHAT)})


def test_the_catalog_names_no_command_that_does_not_exist() -> None:
    assert set(catalog.CHAT) == set(SIO_CHAT) | set(WS_CHAT)
    assert set(catalog.GAMEPLAY) == set(SIO_GAMEPLAY) | set(WS_GAMEPLAY)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    server: ServerProcess = start_server(tmp_path_factory.mktemp("asyncapi"), {})
    try:
        with httpx.Client(base_url=server.base_url, timeout=15) as client:
            yield client
    finally:
        server.stop()


def test_the_server_serves_it_and_its_page(served: httpx.Client, doc: dict[str, Any]) -> None:
    answer = served.get("/asyncapi.json")
    assert answer.status_code == 200
    assert answer.json() == doc
    page = served.get("/asyncapi")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "<script" not in page.text
    for channel in doc["channels"].values():
        assert f">{channel['address']} <small>" in page.text
    assert "create_room" in page.text
    assert "reply: ack" in page.text
    linked = set(re.findall(r'href="#schema-([\w.-]+)"', page.text))
    anchors = set(re.findall(r"id=schema-([\w.-]+)", page.text))
    assert "PlayerAction" in linked
    assert linked <= anchors == set(doc["components"]["schemas"])
