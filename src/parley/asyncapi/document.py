"""The AsyncAPI 3.0 document of Parley's two socket protocols, built from the code itself.

Four channels: Socket.IO's namespaces `/` and `/gameplay`, and the plain WebSocket paths
`/ws` and `/ws/gameplay`. What a client sends comes from each handler table (`EVENTS`,
`HANDLERS`) with the payload of its model (asyncapi/catalog.py) as pydantic's JSON Schema;
what the server sends comes from the dialects (realtime/dialects), which name every domain
event on the wire. Nothing here is written twice: a command or event added to the code is in
the document, and one without a model stops it from being built.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from parley.asyncapi.catalog import CHAT, GAMEPLAY, Payload
from parley.realtime.chat.namespace import EVENTS as SIO_CHAT
from parley.realtime.chat.websocket import HANDLERS as WS_CHAT
from parley.realtime.dialects import gosocket, websocket_chat_server
from parley.realtime.dialects import parley as parley_names
from parley.realtime.gameplay.live import GAME_COMMANDS
from parley.realtime.gameplay.namespace import EVENTS as SIO_GAMEPLAY
from parley.realtime.gameplay.websocket import HANDLERS as WS_GAMEPLAY

SCHEMAS = "#/components/schemas/"
PRESENCE = {"user_online": "presence.changed", "user_offline": "presence.changed"}
CHAT_EVENTS = {
    **{
        name: domain
        for names in (parley_names.EVENT_NAMES, websocket_chat_server.EVENT_NAMES)
        for domain, name in names.items()
    },
    **PRESENCE,
}
"""Chat server events on Socket.IO `/`: wire name → the domain event it carries."""
WS_CHAT_EVENTS = {
    ("new_message" if domain == "message.created" else name): domain
    for name, domain in CHAT_EVENTS.items()
}
"""The same on `/ws` (the default `envelope` dialect): new messages are `new_message`."""
GAME_EVENTS = {name: domain for domain, name in gosocket.EVENT_NAMES.items()}
GAME_REPLIES = {reply for _, reply in GAME_COMMANDS.values() if reply is not None}

SIO_SESSION_EVENTS = {
    "authenticated": "The sign-in's answer: `{user_id, username, socket_id, ...}`.",
    "error": "A refused command without an acknowledgement: `{code, message, details?}`.",
}
SIO_CHAT_ONLY = {
    "room_users": "Who views a conversation, sent to a joiner: `{room_id, users}`.",
    "synced": "The answer to `sync` (or `since` at sign-in): `{conversations}`.",
    "connected": "Phone sign-in: the greeting before `login`.",
    "heartbeat": "The answer to `heartbeat`.",
}
WS_SESSION_FRAMES = {
    "ack": "The answer to a frame that carried an `id`: `{type: ack, id, data}`.",
    "error": "A refused frame: `{type: error, code, message, id?, details?}`.",
    "pong": "The answer to `ping` or `heartbeat`.",
    "authenticated": "The sign-in's answer.",
}


def _unknown(table: dict[str, Any], catalog: dict[str, tuple[Payload, str]]) -> list[str]:
    return sorted(set(table) - set(catalog))


def _check(tables: dict[str, tuple[dict[str, Any], dict[str, tuple[Payload, str]]]]) -> None:
    missing = {where: _unknown(table, cat) for where, (table, cat) in tables.items()}
    missing = {where: names for where, names in missing.items() if names}
    if missing:
        raise LookupError(f"socket commands without a model in asyncapi/catalog.py: {missing}")


def _schemas() -> tuple[dict[type[BaseModel], str], dict[str, Any]]:
    models = sorted(
        {m for m, _ in (*CHAT.values(), *GAMEPLAY.values()) if m is not None},
        key=lambda m: m.__name__,
    )
    keys, top = models_json_schema(
        [(m, "validation") for m in models], ref_template=SCHEMAS + "{model}"
    )
    refs = {model: keys[(model, "validation")]["$ref"] for model in models}
    return refs, top.get("$defs", {})


class _Builder:
    def __init__(self) -> None:
        self.refs, self.schemas = _schemas()
        self.schemas["NoFields"] = {"type": "object", "description": "Takes no fields."}
        self.schemas["EventData"] = {
            "type": "object",
            "description": "The domain event's data, as the REST shapes of what it names.",
        }
        self.channels: dict[str, Any] = {}
        self.operations: dict[str, Any] = {}

    def _payload_ref(self, model: Payload) -> dict[str, str]:
        return {"$ref": self.refs[model] if model is not None else SCHEMAS + "NoFields"}

    def channel(self, key: str, address: str, server: str, description: str) -> None:
        self.channels[key] = {
            "address": address,
            "description": description,
            "servers": [{"$ref": f"#/servers/{server}"}],
            "messages": {},
        }

    def message(
        self,
        channel: str,
        action: str,
        name: str,
        summary: str,
        payload: dict[str, Any],
        *,
        framed: bool,
    ) -> None:
        key = f"{'command' if action == 'send' else 'event'}.{name}"
        if framed:
            payload = _frame(name, payload, with_id=action == "send")
        self.channels[channel]["messages"][key] = {
            "name": name,
            "title": name,
            "summary": summary,
            "contentType": "application/json",
            "payload": payload,
        }
        self.operations[f"{channel}.{action}.{name}"] = {
            "action": action,
            "channel": {"$ref": f"#/channels/{channel}"},
            "summary": summary,
            "messages": [{"$ref": f"#/channels/{channel}/messages/{key}"}],
        }

    def commands(
        self,
        channel: str,
        table: dict[str, Any],
        catalog: dict[str, tuple[Payload, str]],
        *,
        framed: bool,
    ) -> None:
        for name in sorted(table):
            model, summary = catalog[name]
            self.message(channel, "send", name, summary, self._payload_ref(model), framed=framed)

    def events(self, channel: str, events: dict[str, str], *, framed: bool) -> None:
        for name, domain in sorted(events.items()):
            summary = f"The domain event `{domain}`."
            payload = {"$ref": SCHEMAS + "EventData"}
            self.message(channel, "receive", name, summary, payload, framed=framed)

    def notes(self, channel: str, notes: dict[str, str], *, framed: bool) -> None:
        for name, summary in sorted(notes.items()):
            payload = {"type": "object"}
            self.message(channel, "receive", name, summary, payload, framed=framed)


def _frame(name: str, data: dict[str, Any], *, with_id: bool) -> dict[str, Any]:
    """A `/ws` frame: `{type, id?, data}` (an error frame carries its fields at the top)."""
    properties: dict[str, Any] = {"type": {"const": name}, "data": data}
    if with_id:
        properties["id"] = {
            "description": "Ask for an `ack` frame carrying this id.",
            "anyOf": [{"type": "string", "maxLength": 128}, {"type": "integer"}],
        }
    return {"type": "object", "required": ["type"], "properties": properties}


def asyncapi_document(version: str) -> dict[str, Any]:
    _check(
        {
            "Socket.IO /": (SIO_CHAT, CHAT),
            "Socket.IO /gameplay": (SIO_GAMEPLAY, GAMEPLAY),
            "/ws": (WS_CHAT, CHAT),
            "/ws/gameplay": (WS_GAMEPLAY, GAMEPLAY),
        }
    )
    b = _Builder()
    b.channel(
        "socketio",
        "/",
        "socketio",
        'Socket.IO namespace `/`: chat. Events are `42["name", payload]`; a command asks '
        "for an acknowledgement to get its answer (or `{error}`).",
    )
    b.commands("socketio", SIO_CHAT, CHAT, framed=False)
    b.events("socketio", CHAT_EVENTS, framed=False)
    b.notes("socketio", {**SIO_SESSION_EVENTS, **SIO_CHAT_ONLY}, framed=False)

    b.channel(
        "socketio_gameplay",
        "/gameplay",
        "socketio",
        "Socket.IO namespace `/gameplay`: game rooms, each event numbered by the room's `seq`.",
    )
    b.commands("socketio_gameplay", SIO_GAMEPLAY, GAMEPLAY, framed=False)
    b.events("socketio_gameplay", GAME_EVENTS, framed=False)
    answer = "The answer to a command sent without an acknowledgement (or an `id`)."
    replies = dict.fromkeys(GAME_REPLIES, answer)
    b.notes("socketio_gameplay", {**SIO_SESSION_EVENTS, **replies}, framed=False)

    b.channel(
        "ws",
        "/ws",
        "websocket",
        "Plain WebSocket chat (also at `/api/ws`): JSON frames `{type, id?, data}`, in the "
        "`envelope` dialect shown here (`WS_DIALECT`, `?dialect=`).",
    )
    b.commands("ws", WS_CHAT, CHAT, framed=True)
    b.events("ws", WS_CHAT_EVENTS, framed=True)
    b.notes("ws", WS_SESSION_FRAMES, framed=True)

    b.channel(
        "ws_gameplay",
        "/ws/gameplay",
        "websocket",
        "Plain WebSocket game rooms (also at `/api/ws/gameplay`): the `/gameplay` commands "
        "as frames `{type, id?, data}`.",
    )
    b.commands("ws_gameplay", WS_GAMEPLAY, GAMEPLAY, framed=True)
    b.events("ws_gameplay", GAME_EVENTS, framed=True)
    b.notes("ws_gameplay", {**WS_SESSION_FRAMES, **replies}, framed=True)

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
        "channels": b.channels,
        "operations": b.operations,
        "components": {
            "schemas": dict(sorted(b.schemas.items())),
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
