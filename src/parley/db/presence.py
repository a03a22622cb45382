"""A batch of presence changes in one database call: the users' new state written, the
names the batch lacks and the peers who hear of it read.

The connects of a burst each queue their user's change (`PresenceService._announce`); one
transaction carries all that were queued meanwhile. Its statements run inside one greenlet
(`AsyncSession.run_sync`) on the transaction's connection, prepared once per dialect
(`db/prepared`): built with the ORM per batch, they cost several times their run on SQLite
(measured: a third of a cold connect burst's server time went to them).

A prepared statement has a fixed number of IN parameters: lists are padded, with their last
value repeated, to the next power of two, so that a few statements serve every batch size
(`IN` with a value twice is the same condition).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, select, update
from sqlalchemy.orm import Session

from parley.db.models import Conversation, ConversationMember, User
from parley.db.prepared import Statement, prepare_for

_USERS = cast(Table, User.__table__)
_MEMBERS = cast(Table, ConversationMember.__table__)
_CONVERSATIONS = cast(Table, Conversation.__table__)


def padded_length(count: int) -> int:
    """The IN list length a list of `count` values is run with (a power of two)."""
    length = 1
    while length < count:
        length *= 2
    return length


def _in(column: Any, count: int) -> ColumnElement[bool]:
    return cast(
        ColumnElement[bool],
        column.in_([bindparam(f"v{n}", type_=column.type) for n in range(count)]),
    )


def _listed(values: Sequence[Any]) -> dict[str, Any]:
    """`v0…vN` for a list padded to `padded_length` with its last value."""
    length = padded_length(len(values))
    padded = [*values, *[values[-1]] * (length - len(values))]
    return {f"v{n}": value for n, value in enumerate(padded)}


def _set_state(count: int) -> Statement:
    u = _USERS.c
    return (
        update(_USERS)
        .where(_in(u.id, count))
        .values(
            is_online=bindparam("online", type_=u.is_online.type),
            last_seen_at=bindparam("now", type_=u.last_seen_at.type),
            updated_at=bindparam("now"),  # given, not left to `onupdate`: see db/prepared.py
        )
    )


def _names(count: int) -> Statement:
    u = _USERS.c
    return select(u.id, u.username).where(_in(u.id, count))


def _peers(count: int, excluded_kind: str) -> Statement:
    m, c = _MEMBERS.c, _CONVERSATIONS.c
    return (
        select(m.user_id, m.conversation_id)
        .join(_CONVERSATIONS, c.id == m.conversation_id)
        .where(_in(m.user_id, count), c.kind != excluded_kind)
    )


@dataclass(slots=True)
class Announced:
    names: dict[uuid.UUID, str | None] = field(default_factory=dict)
    """Usernames of the users asked about."""
    peers: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)
    """Each user's conversations (of other kinds than the one excluded)."""


def announce(
    session: Session,
    states: dict[bool, list[uuid.UUID]],
    unnamed: list[uuid.UUID],
    everyone: list[uuid.UUID],
    *,
    now: datetime,
    excluded_kind: str,
) -> Announced:
    """Write each user's online state (`states`: online → users) with `now` as last seen;
    read the usernames of `unnamed` and the conversations of `everyone`, except those of
    `excluded_kind` (run with `AsyncSession.run_sync`)."""
    connection = session.connection()
    dialect = connection.dialect
    found = Announced()
    for online, ids in states.items():
        if ids:
            n = padded_length(len(ids))
            statement = prepare_for(dialect, ("presence.state", n), partial(_set_state, n))
            statement.execute(connection, {**_listed(ids), "online": online, "now": now})
    if unnamed:
        n = padded_length(len(unnamed))
        statement = prepare_for(dialect, ("presence.names", n), partial(_names, n))
        found.names = {row[0]: row[1] for row in statement.execute(connection, _listed(unnamed))}
    if everyone:
        n = padded_length(len(everyone))
        statement = prepare_for(
            dialect, ("presence.peers", n, excluded_kind), partial(_peers, n, excluded_kind)
        )
        for user_id, conversation_id in statement.execute(connection, _listed(everyone)):
            found.peers.setdefault(user_id, []).append(conversation_id)
    return found
