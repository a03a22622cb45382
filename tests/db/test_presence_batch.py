"""The presence batch's own statements (db/presence, db/prepared) on every database: the
state they write reads back through the ORM, and the names and peers they read are the
ORM's, for batch sizes on and between the padded IN list lengths."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from parley.db import presence
from parley.db.database import Database
from parley.db.migrate import upgrade_to_head
from parley.db.models import Conversation, ConversationMember, User

NOW = datetime(2026, 12, 2, 3, 4, 5, 678901, tzinfo=UTC)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await upgrade_to_head(database)
    yield database
    await database.dispose()


async def _users(database: Database, count: int, *, named: bool = True) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(count)]
    async with database.transaction() as tx:
        for user_id in ids:
            tx.add(User(id=user_id, username=f"pb_{user_id.hex[:12]}" if named else None))
    return ids


async def _conversation(database: Database, kind: str, *members: uuid.UUID) -> uuid.UUID:
    conversation = Conversation(id=uuid.uuid4(), kind=kind, name=f"P {uuid.uuid4().hex[:8]}")
    if kind == "room":
        conversation.room_key = (conversation.name or "").lower()
    async with database.transaction() as tx:
        tx.add(conversation)
        await tx.flush()
        for user_id in members:
            tx.add(ConversationMember(conversation_id=conversation.id, user_id=user_id))
    return conversation.id


def test_padded_lengths_are_powers_of_two_at_least_the_count() -> None:
    assert [presence.padded_length(n) for n in (1, 2, 3, 4, 5, 8, 9, 500)] == [
        1,
        2,
        4,
        4,
        8,
        8,
        16,
        512,
    ]


@pytest.mark.parametrize("online_count", [1, 3, 4])
async def test_writes_each_state_and_reads_names_and_peers(
    database: Database, online_count: int
) -> None:
    online = await _users(database, online_count)
    offline = await _users(database, 2)
    (nameless,) = await _users(database, 1, named=False)
    outsider = (await _users(database, 1))[0]
    direct = await _conversation(database, "direct", online[0], offline[0])
    group = await _conversation(database, "group", online[0], nameless, outsider)
    await _conversation(database, "room", *online, *offline)  # rooms are left out

    everyone = [*online, *offline, nameless]
    async with database.transaction() as tx:
        found = await tx.run_sync(
            presence.announce,
            {True: [*online, nameless], False: offline},
            [online[-1], nameless],
            everyone,
            now=NOW,
            excluded_kind="room",
        )

    assert found.names == {online[-1]: f"pb_{online[-1].hex[:12]}", nameless: None}
    assert {user: sorted(ids) for user, ids in found.peers.items()} == {
        online[0]: sorted([direct, group]),
        offline[0]: [direct],
        nameless: [group],
    }
    async with database.transaction() as tx:
        rows = (
            await tx.execute(
                select(User.id, User.is_online, User.last_seen_at, User.updated_at).where(
                    User.id.in_([*everyone, outsider])
                )
            )
        ).all()
    state = {row.id: (row.is_online, row.last_seen_at, row.updated_at) for row in rows}
    for user_id in [*online, nameless]:
        assert state[user_id] == (True, NOW, NOW)
    for user_id in offline:
        assert state[user_id] == (False, NOW, NOW)
    assert state[outsider][:2] == (False, None)  # not in the batch


async def test_an_empty_batch_writes_and_reads_nothing(database: Database) -> None:
    async with database.transaction() as tx:
        found = await tx.run_sync(
            presence.announce, {True: [], False: []}, [], [], now=NOW, excluded_kind="room"
        )
    assert (found.names, found.peers) == ({}, {})
