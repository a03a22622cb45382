"""The AsyncAPI 3.0 document of Parley's two socket protocols, built from the code itself.

Channels: Socket.IO's namespaces `/` and `/gameplay`; the plain WebSocket path `/ws` once per
dialect (`envelope`, `flat`, `upper`, and `cs` at `/api/ws`), and `/ws/gameplay`. What a
client sends comes from each handler table (`EVENTS`, `HANDLERS`) with the payload of its
model and the reply of its answer (asyncapi/catalog.py); what the server sends comes from the
dialects (realtime/dialects), which name every domain event on the wire with the shape of its
data (asyncapi/wire.py), and from the sessions' own notes (asyncapi/notes.py). Each shape's
JSON Schema is pydantic's (asyncapi/shapes.py). Nothing here is written twice: a command or
event added to the code is in the document, and one without a model stops it from being
built.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from parley.asyncapi import notes
from parley.asyncapi.catalog import CHAT, GAMEPLAY, WS_REPLIES, Command
from parley.asyncapi.shapes import SCHEMAS, Mode, Schemas
from parley.asyncapi.wire import (
    CHAT_EVENTS,
    GAME_EVENTS,
    WS_CHANNELS,
    Event,
    Frame,
    check_events,
    ws_chat_frames,
)
from parley.domain.conversations.schemas import MessageSend
from parley.realtime.chat.namespace import EVENTS as SIO_CHAT
from parley.realtime.chat.websocket import HANDLERS as WS_CHAT
from parley.realtime.gameplay.namespace import EVENTS as SIO_GAMEPLAY
from parley.realtime.gameplay.websocket import HANDLERS as WS_GAMEPLAY
from parley.realtime.transports.socketio import AckError
from parley.realtime.transports.websocket_frames import ErrorFrame


def _check(tables: dict[str, tuple[dict[str, Any], dict[str, Command]]]) -> None:
    missing = {where: sorted(set(table) - set(cat)) for where, (table, cat) in tables.items()}
    missing = {where: names for where, names in missing.items() if names}
    if missing:
        raise LookupError(f"socket commands without a model in asyncapi/catalog.py: {missing}")


class _Pending(NamedTuple):
    """A schema to fill in once every shape is known."""

    shape: Any
    mode: Mode


class _Builder:
    def __init__(self) -> None:
        self.schemas = Schemas()
        self.channels: dict[str, Any] = {}
        self.operations: dict[str, Any] = {}

    def shape(self, shape: Any, mode: Mode = "serialization") -> Any:
        if shape is None:
            return {"$ref": SCHEMAS + "NoFields"}
        self.schemas.want(shape, mode)
        return _Pending(shape, mode)

    def channel(
        self,
        key: str,
        address: str,
        server: str,
        description: str,
        bindings: dict[str, Any] | None = None,
    ) -> None:
        self.channels[key] = {
            "address": address,
            "description": description,
            "servers": [{"$ref": f"#/servers/{server}"}],
            "messages": {},
            **({"bindings": bindings} if bindings else {}),
        }

    def message(self, channel: str, key: str, name: str, summary: str, payload: Any) -> str:
        self.channels[channel]["messages"][key] = {
            "name": name,
            "title": name,
            "summary": summary,
            "contentType": "application/json",
            "payload": payload,
        }
        return f"#/channels/{channel}/messages/{key}"

    def operation(
        self,
        channel: str,
        action: str,
        name: str,
        summary: str,
        message_ref: str,
        replies: list[str] | None = None,
    ) -> None:
        operation: dict[str, Any] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": summary,
            "messages": [{"$ref": message_ref}],
        }
        if replies:
            operation["reply"] = {
                "channel": {"$ref": f"#/channels/{channel}"},
                "messages": [{"$ref": ref} for ref in replies],
            }
        self.operations[f"{channel}.{action}.{name}"] = operation

    def commands(
        self,
        channel: str,
        table: dict[str, Any],
        catalog: dict[str, Command],
        *,
        framed: bool,
    ) -> None:
        """Each command, answered by its reply (an acknowledgement, or an `ack` frame for a
        frame with an `id`) or by the refusal."""
        error = (
            self.message(
                channel,
                "reply.error",
                "error",
                "A refused command: the `error` frame, carrying the command's `id`.",
                {"allOf": [self.shape(ErrorFrame)], "required": ["id"]},
            )
            if framed
            else self.message(
                channel,
                "reply.error",
                "{error}",
                "A refused command's acknowledgement.",
                self.shape(AckError),
            )
        )
        for name in sorted(table):
            payload, reply, summary = catalog[name]
            if framed:
                reply = WS_REPLIES.get(name, reply)
            data = self.shape(payload, "validation")
            sent = _command_frame(name, data) if framed else data
            ref = self.message(channel, f"command.{name}", name, summary, sent)
            answer = self.shape(reply)
            answered = self.message(
                channel,
                f"reply.{name}",
                "ack" if framed else name,
                f"The answer to `{name}`"
                + (": `{type: ack, id, data}`." if framed else " (its acknowledgement)."),
                _ack_frame(answer) if framed else answer,
            )
            self.operation(channel, "send", name, summary, ref, [answered, error])

    def receive(self, channel: str, frames: list[Frame], *, framed: bool) -> None:
        for frame in frames:
            payload = self.shape(frame.shape)
            if framed and frame.enveloped:
                payload = _event_frame(frame.name, payload)
            ref = self.message(channel, f"event.{frame.name}", frame.name, frame.summary, payload)
            self.operation(channel, "receive", frame.name, frame.summary, ref)

    def resolve(self, value: Any, schemas: dict[tuple[int, Mode], Any]) -> Any:
        if isinstance(value, _Pending):
            return schemas[(id(value.shape), value.mode)]
        if isinstance(value, dict):
            return {k: self.resolve(v, schemas) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, schemas) for v in value]
        return value


REQUEST_ID = {
    "description": "Ask for an `ack` frame carrying this id (without one, the seed's reply "
    "frames answer).",
    "anyOf": [
        {"type": "string", "maxLength": 128},
        {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1},
    ],
}


def _command_frame(name: str, data: Any) -> dict[str, Any]:
    properties = {"type": {"const": name}, "id": REQUEST_ID, "data": data}
    return {"type": "object", "required": ["type"], "properties": properties}


def _ack_frame(data: Any) -> dict[str, Any]:
    properties = {"type": {"const": "ack"}, "id": REQUEST_ID, "data": data}
    return {"type": "object", "required": ["type", "id", "data"], "properties": properties}


def _event_frame(name: str, data: Any) -> dict[str, Any]:
    properties = {"type": {"const": name}, "data": data}
    return {"type": "object", "required": ["type", "data"], "properties": properties}


def _notes(table: dict[str, notes.Note], *, upper: bool = False) -> list[Frame]:
    return [
        Frame(name.upper() if upper else name, shape, summary)
        for name, (shape, summary) in sorted(table.items())
    ]


def _events(events: list[Event]) -> list[Frame]:
    return [Frame(e.name, e.shape, f"The domain event `{e.domain}`.") for e in events]


def _ws_bindings(dialect: str, *, chosen_by_query: bool) -> dict[str, Any]:
    query: dict[str, Any] = {
        "type": "object",
        "properties": {
            "token": {
                "type": "string",
                "description": "An access token (or an `Authorization: Bearer` header, or a "
                "first frame `{type: auth, data: {token}}`).",
            }
        },
    }
    if chosen_by_query:
        query["properties"]["dialect"] = {"const": dialect, "description": "This dialect."}
    return {"ws": {"method": "GET", "query": query, "bindingVersion": "0.1.0"}}


def _ws_chat_channel(b: _Builder, key: str, dialect: str, address: str, about: str) -> None:
    """A dialect's channel: its server frames. Commands and their replies are the same in
    every dialect, so only `ws` lists them."""
    if dialect != "envelope":
        about += " Commands and their replies: as on `ws`."
    b.channel(key, address, "websocket", about, _ws_bindings(dialect, chosen_by_query=True))
    upper = dialect == "upper"
    if dialect == "envelope":
        b.commands(key, WS_CHAT, CHAT, framed=True)
    if dialect == "flat":
        bare = b.shape(MessageSend, "validation")
        summary = "The GoChat seed's send: the command's fields alone (no type, no id)."
        ref = b.message(key, "command.bare_send", "{conversation_id, content}", summary, bare)
        b.operation(key, "send", "bare_send", summary, ref)
    frames = ws_chat_frames(dialect) + _notes(notes.WS_CHAT, upper=upper)
    b.receive(key, frames, framed=True)
    b.receive(key, [Frame("error", *notes.WS_ERROR, enveloped=False)], framed=True)


def asyncapi_document(version: str) -> dict[str, Any]:
    _check(
        {
            "Socket.IO /": (SIO_CHAT, CHAT),
            "Socket.IO /gameplay": (SIO_GAMEPLAY, GAMEPLAY),
            "/ws": (WS_CHAT, CHAT),
            "/ws/gameplay": (WS_GAMEPLAY, GAMEPLAY),
        }
    )
    check_events(CHAT_EVENTS + GAME_EVENTS)
    b = _Builder()
    b.channel(
        "socketio",
        "/",
        "socketio",
        'Socket.IO namespace `/`: chat. Events are `42["name", payload]`; a command asks '
        "for an acknowledgement to get its answer (or `{error}`). A new `message` logged "
        "for recovery carries its offset as a second argument.",
    )
    b.commands("socketio", SIO_CHAT, CHAT, framed=False)
    b.receive("socketio", _events(CHAT_EVENTS) + _notes(notes.SIO_CHAT), framed=False)

    b.channel(
        "socketio_gameplay",
        "/gameplay",
        "socketio",
        "Socket.IO namespace `/gameplay`: game rooms, each event numbered by the room's `seq`.",
    )
    b.commands("socketio_gameplay", SIO_GAMEPLAY, GAMEPLAY, framed=False)
    game_frames = _events(GAME_EVENTS)
    b.receive("socketio_gameplay", game_frames + _notes(notes.SIO_GAMEPLAY), framed=False)

    for key, (dialect, address, about) in WS_CHANNELS.items():
        _ws_chat_channel(b, key, dialect, address, about)

    b.channel(
        "ws_gameplay",
        "/ws/gameplay",
        "websocket",
        "Plain WebSocket game rooms (also at `/api/ws/gameplay`): the `/gameplay` commands "
        "as frames `{type, id?, data}`, the events as `{type, data}` (frame types in upper "
        "case once the client sends one so).",
        _ws_bindings("envelope", chosen_by_query=False),
    )
    b.commands("ws_gameplay", WS_GAMEPLAY, GAMEPLAY, framed=True)
    b.receive("ws_gameplay", game_frames + _notes(notes.WS_GAMEPLAY), framed=True)
    b.receive("ws_gameplay", [Frame("error", *notes.WS_ERROR, enveloped=False)], framed=True)

    schemas, definitions = b.schemas.build()
    definitions["NoFields"] = {"type": "object", "description": "Takes no fields."}
    channels = b.resolve(b.channels, schemas)
    host = {"host": {"default": "localhost:8000", "description": "Parley's address."}}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Parley real time",
            "version": version,
            "description": (
                "Socket.IO and plain WebSocket over one domain core: the same commands and "
                "the same events on both. Sign in with an access token (`POST "
                "/api/v1/auth/login`): Socket.IO's CONNECT auth `{token}`, `?token=`, an "
                "`Authorization: Bearer` header, or the `authenticate` command. Every "
                "refusal carries a stable `code` (README, Errors)."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "socketio": {
                "host": "{host}",
                "pathname": "/socket.io/",
                "protocol": "ws",
                "description": "Socket.IO 4 and 2 (Engine.IO 4 and 3), WebSocket or "
                "long-polling; a channel's address is the namespace.",
                "variables": host,
                "security": [{"$ref": "#/components/securitySchemes/bearer"}],
            },
            "websocket": {
                "host": "{host}",
                "protocol": "ws",
                "description": "Plain WebSocket (RFC 6455); a channel's address is the path.",
                "variables": host,
                "security": [{"$ref": "#/components/securitySchemes/bearer"}],
            },
        },
        "channels": channels,
        "operations": b.operations,
        "components": {
            "schemas": dict(sorted(definitions.items())),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An access token from `POST /api/v1/auth/login`.",
                }
            },
        },
    }
