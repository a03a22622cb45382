"""Events: what the domain tells the world after a change has been committed.

An event names a broker channel and carries JSON-able data. It is encoded once to bytes for
the broker; each instance's hub decodes it once and encodes it once per wire protocol, however
many connections receive it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import orjson
from pydantic import BaseModel, GetPydanticSchema, create_model


class Audience(StrEnum):
    MEMBERS = "members"
    """Every connection of every member (new messages reach all devices)."""
    VIEWERS = "viewers"
    """Only connections that joined the conversation (typing, who-is-here)."""
    USER = "user"
    """Every connection of the user the channel names."""
    SUBSCRIBERS = "subscribers"
    """Connections that asked for it (presence subscriptions)."""


def conversation_channel(conversation_id: uuid.UUID | str) -> str:
    return f"c:{conversation_id}"


def user_channel(user_id: uuid.UUID | str) -> str:
    return f"u:{user_id}"


def presence_channel(user_id: uuid.UUID | str) -> str:
    return f"p:{user_id}"


def game_channel(room_id: str) -> str:
    return f"g:{room_id}"


Shape = type[Any]
"""What an event's data (or an answer) looks like on the wire: the pydantic model it is dumped
from, or the TypedDict it is built as. The AsyncAPI document gives its JSON Schema."""


def without(model: type[BaseModel], name: str, *fields: str) -> type[BaseModel]:
    """`model` less some of its fields, as a model of its own: what an event carries where it
    leaves out what only the REST answer needs. Dump with `dump_as`, so that the fields left
    out are said once, here."""
    unknown = set(fields) - set(model.model_fields)
    if unknown:
        raise ValueError(f"{model.__name__} has no fields {sorted(unknown)}")
    kept: dict[str, Any] = {
        key: (info.annotation, info)
        for key, info in model.model_fields.items()
        if key not in fields
    }
    return create_model(name, __doc__=model.__doc__, **kept)


def dump_as(shape: type[BaseModel], value: BaseModel) -> dict[str, Any]:
    """`value` as JSON with the fields of `shape` only (a `without` of its model)."""
    return value.model_dump(mode="json", include=set(shape.model_fields))


def json_of(shape: type[BaseModel]) -> GetPydanticSchema:
    """Marks a field holding `shape`'s JSON (a dump) in a TypedDict, so that its schema is
    `shape`'s: `Annotated[dict[str, Any], json_of(ConversationJoined)]`."""
    return GetPydanticSchema(lambda _source, handler: handler(shape))


SEQ_SLOT = "\x00seq\x00"
"""Stands in for a `seq` that only the store knows when it publishes (see `encode_sequenced`)."""
POSITION_SLOT = "\x00pos\x00"
"""Stands in for a message's position in the recovery log (see `encode_positioned`)."""
POSITION = "pos"
"""The `extra` key of a logged message's position: the offset Socket.IO clients resume from."""


@dataclass(frozen=True, slots=True)
class Event:
    channel: str
    name: str
    data: dict[str, Any]
    audience: Audience = Audience.MEMBERS
    origin: str | None = None
    """The connection the change came from, which gets an ack instead of the event."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Routing details for the hub that clients never see (e.g. the member a change is about)."""

    def encode(self) -> bytes:
        return self.encode_with(self.data)

    def encode_sequenced(self) -> tuple[bytes, bytes]:
        """The encoding split where `data["seq"]` goes: `head + str(seq) + tail` is the event
        with that seq. Lets a store number and publish an event in one atomic step."""
        head, slot, tail = self.encode_with({"seq": SEQ_SLOT, **self.data}).partition(
            orjson.dumps(SEQ_SLOT)
        )
        assert slot, "the seq slot is always encoded"
        return head, tail

    def sequenced(self, seq: int) -> Event:
        """This event with `data["seq"]` set, first, as `encode_sequenced` places it."""
        data = {"seq": seq, **self.data}
        return Event(self.channel, self.name, data, self.audience, self.origin, self.extra)

    def encode_positioned(self) -> tuple[bytes, bytes]:
        """The encoding split where `extra["pos"]` goes: `head + position + tail` is the
        event carrying its place in the recovery log (`RecoveryStore.publish_message`)."""
        body = {"n": self.name, "a": self.audience.value, "o": self.origin, "d": self.data}
        body["x"] = {**self.extra, POSITION: POSITION_SLOT}
        head, slot, tail = orjson.dumps(body).partition(orjson.dumps(POSITION_SLOT))
        assert slot, "the position slot is always encoded"
        return head + b'"', b'"' + tail

    def encode_with(self, data: dict[str, Any]) -> bytes:
        return orjson.dumps(
            {"n": self.name, "a": self.audience.value, "o": self.origin, "d": data, "x": self.extra}
        )

    @classmethod
    def decode(cls, channel: str, raw: bytes) -> Event:
        body = orjson.loads(raw)
        return cls(
            channel=channel,
            name=body["n"],
            data=body["d"],
            audience=Audience(body["a"]),
            origin=body.get("o"),
            extra=body.get("x") or {},
        )


SESSIONS_REVOKED = "session.revoked"
ACCOUNT_DISABLED = "account.disabled"
ROLE_CHANGED = "account.role_changed"
ACCOUNT_EVENTS = frozenset({SESSIONS_REVOKED, ACCOUNT_DISABLED, ROLE_CHANGED})
"""Changes to a user's credentials, on the user's channel. Every instance's hub acts on them
(it ends or updates the user's live connections there); no client ever receives them."""


def sessions_revoked(user_id: uuid.UUID, session_ids: list[uuid.UUID], reason: str) -> Event:
    """These device sessions ended: their live connections close (`session_revoked`)."""
    return Event(
        user_channel(user_id),
        SESSIONS_REVOKED,
        {"session_ids": [str(s) for s in session_ids], "reason": reason},
        Audience.USER,
    )


def account_disabled(user_id: uuid.UUID) -> Event:
    """Every live connection of the user closes (`account_disabled`)."""
    return Event(user_channel(user_id), ACCOUNT_DISABLED, {}, Audience.USER)


def role_changed(user_id: uuid.UUID, role: str) -> Event:
    """The user's live connections act with the new role from now on."""
    return Event(user_channel(user_id), ROLE_CHANGED, {"role": role}, Audience.USER)


BLOCKS_CHANGED = "block.changed"
"""Someone blocked or unblocked someone: on both users' channels, so that every instance's hub
updates what their live connections hide (`{blocker, blocked, blocking}`); no client ever
receives it (the blocked one is not told)."""
HUB_EVENTS = ACCOUNT_EVENTS | {BLOCKS_CHANGED}
"""Events for the hubs alone."""


def blocks_changed(blocker: uuid.UUID, blocked: uuid.UUID, *, blocking: bool) -> list[Event]:
    data = {"blocker": str(blocker), "blocked": str(blocked), "blocking": blocking}
    return [Event(user_channel(u), BLOCKS_CHANGED, data, Audience.USER) for u in (blocker, blocked)]
