"""The send path's own statements (db/send_batch, db/prepared) on every database: what they
store reads back through the ORM exactly as an ORM insert's would, and what they read is
what the ORM sees."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from parley.db import send_batch
from parley.db.database import Database
from parley.db.migrate import upgrade_to_head
from parley.db.models import Conversation, ConversationMember, Message, RoomRestriction, User
from parley.db.prepared import Prepared
from parley.domain.ids import uuid7

NOW = datetime(2026, 12, 2, 3, 4, 5, 678901, tzinfo=UTC)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await upgrade_to_head(database)
    yield database
    await database.dispose()


async def _user(database: Database) -> uuid.UUID:
    user_id = uuid.uuid4()
    async with database.transaction() as tx:
        tx.add(User(id=user_id, username=f"sb_{user_id.hex[:12]}", role="customer"))
    return user_id


async def _conversation(database: Database, kind: str, *members: uuid.UUID) -> Conversation:
    conversation = Conversation(
        id=uuid.uuid4(), kind=kind, name=f"Room {uuid.uuid4().hex[:8]}", status="active"
    )
    if kind == "room":
        conversation.room_key = (conversation.name or "").lower()
    async with database.transaction() as tx:
        tx.add(conversation)
        await tx.flush()
        for user_id in members:
            tx.add(ConversationMember(conversation_id=conversation.id, user_id=user_id))
    return conversation


def _row(conversation_id: uuid.UUID, sender_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": uuid7(),
        "conversation_id": conversation_id,
        "seq": 0,
        "sender_id": sender_id,
        "sender_name": None,
        "type": "text",
        "content": "hello ☃",
        "title": None,
        "payload": None,
        "attachment_urls": None,
        "attachments": None,
        "reply_to_id": None,
        "client_msg_id": None,
        "created_at": NOW,
        "edited_at": None,
        "deleted_at": None,
    }
    row.update(fields)
    return row


async def test_read_finds_by_id_and_room_name_with_memberships_and_mutes(
    database: Database,
) -> None:
    alice, bob, carol = [await _user(database) for _ in range(3)]
    room = await _conversation(database, "room", alice, bob, carol)
    group = await _conversation(database, "group", alice)
    async with database.transaction() as tx:
        tx.add(
            RoomRestriction(
                conversation_id=room.id, user_id=bob, kind="mute", until=None, created_by=alice
            )
        )
        tx.add(
            RoomRestriction(
                conversation_id=room.id,
                user_id=carol,
                kind="mute",
                until=NOW - timedelta(seconds=1),
                created_by=alice,
            )
        )
    async with database.batch() as batch:
        facts = await send_batch.read(
            batch,
            {group.id, uuid.uuid4()},
            {room.room_key or ""},
            {alice, bob, carol},
            muted_kinds={"group", "room"},
            now=NOW,
        )
    by_id = {t.id: t for t in facts.targets}
    assert set(by_id) == {room.id, group.id}
    assert by_id[room.id] == send_batch.Target(
        room.id, "room", room.name, "active", room.room_key, None
    )
    assert facts.members == {(room.id, alice), (room.id, bob), (room.id, carol), (group.id, alice)}
    assert facts.muted == {(room.id, bob)}  # carol's mute has ended
    empty = await _conversation(database, "group")
    async with database.batch() as batch:  # mutes count only in the kinds asked about
        facts = await send_batch.read(
            batch, {empty.id}, {room.room_key or ""}, {bob}, muted_kinds={"group"}, now=NOW
        )
    assert {t.id for t in facts.targets} == {room.id, empty.id}  # found without members
    assert facts.members == {(room.id, bob)}
    assert facts.muted == set()


async def test_write_takes_consecutive_seqs_and_stores_what_the_orm_reads(
    database: Database,
) -> None:
    alice, bob = await _user(database), await _user(database)
    first = await _conversation(database, "group", alice, bob)
    second = await _conversation(database, "group", alice, bob)
    rows = [
        _row(first.id, alice, payload={"n": 1, "nested": [1, "two", None]}),
        _row(second.id, bob, attachment_urls=["https://example.com/a.png"]),
        _row(first.id, bob, title="t", client_msg_id="c-1", reply_to_id=uuid.uuid4()),
        _row(first.id, alice, attachments=[{"id": "u1", "size": 3}]),
    ]
    async with database.batch() as batch:
        await send_batch.write(batch, rows, now=NOW)
    assert [r["seq"] for r in rows] == [1, 1, 2, 3]
    async with database.transaction() as tx:
        stored = {m.id: m for m in (await tx.execute(select(Message))).scalars()}
        for row in rows:
            message = stored[row["id"]]
            assert {key: getattr(message, key) for key in row} == row
        first_now = await tx.get(Conversation, first.id, populate_existing=True)
        assert first_now is not None
        assert (first_now.last_seq, first_now.last_message_at, first_now.updated_at) == (
            3,
            NOW,
            NOW,
        )
        pointers = {
            (m.conversation_id, m.user_id): m.last_read_seq
            for m in (await tx.execute(select(ConversationMember))).scalars()
            if m.conversation_id in (first.id, second.id)
        }
    assert pointers == {
        (first.id, alice): 3,
        (first.id, bob): 2,
        (second.id, alice): 0,
        (second.id, bob): 1,
    }
    async with database.batch() as batch:  # the next batch goes on from there
        more = [_row(first.id, bob)]
        await send_batch.write(batch, more, now=NOW)
    assert more[0]["seq"] == 4
    later = NOW + timedelta(seconds=1)
    async with database.batch() as batch:  # a batch of one (PostgreSQL: one statement)
        alone = [_row(first.id, alice, payload={"k": "v"}, created_at=later)]
        await send_batch.write(batch, alone, now=later)
    assert alone[0]["seq"] == 5
    async with database.transaction() as tx:
        message = await tx.get(Message, alone[0]["id"])
        assert message is not None
        assert {key: getattr(message, key) for key in alone[0]} == alone[0]
        first_now = await tx.get(Conversation, first.id, populate_existing=True)
        assert first_now is not None
        assert (first_now.last_seq, first_now.last_message_at, first_now.updated_at) == (
            5,
            later,
            later,
        )
        member = await tx.get(ConversationMember, (first.id, alice), populate_existing=True)
        assert member is not None
        assert member.last_read_seq == 5


async def test_a_missing_value_is_named(database: Database) -> None:
    async with database.transaction() as tx:
        connection = await tx.connection()
        prepared = Prepared(send_batch._find(1, 0), connection.dialect)

        def run(sync: Any) -> None:
            prepared.execute(sync, {})

        with pytest.raises(ValueError, match="'i0'"):
            await tx.run_sync(lambda session: run(session.connection()))


async def test_a_failed_batch_stores_nothing_and_raises_as_sqlalchemy_would(
    database: Database,
) -> None:
    """A duplicate (a resend raced in) fails the whole batch as an `IntegrityError`, which the
    send path knows; the seqs it took are rolled back with it."""
    alice = await _user(database)
    group = await _conversation(database, "group", alice)
    async with database.batch() as batch:
        await send_batch.write(batch, [_row(group.id, alice, client_msg_id="dup")], now=NOW)
    with pytest.raises(IntegrityError):
        async with database.batch() as batch:
            await send_batch.write(batch, [_row(group.id, alice, client_msg_id="dup")], now=NOW)
    async with database.batch() as batch:  # the connection is fine, the seq not taken
        again = [_row(group.id, alice)]
        await send_batch.write(batch, again, now=NOW)
    assert again[0]["seq"] == 2


async def test_the_orm_session_of_a_batch_is_in_its_transaction(database: Database) -> None:
    """What the session changes commits with the batch's own statements, or not at all."""
    alice = await _user(database)
    group = await _conversation(database, "group", alice)
    async with database.batch() as batch:
        user = await batch.session().get(User, alice)
        assert user is not None
        user.name = "Alice B"
        await send_batch.write(batch, [_row(group.id, alice)], now=NOW)

    async def fails() -> None:
        async with database.batch() as batch:
            user = await batch.session().get(User, alice)
            assert user is not None
            user.name = "Not stored"
            await send_batch.write(batch, [_row(group.id, alice)], now=NOW)
            raise RuntimeError("the send failed")

    async def fails_unflushed() -> None:  # the session has not run a statement yet
        async with database.batch() as batch:
            batch.session().add(User(id=uuid.uuid4(), username=f"nf_{uuid.uuid4().hex[:12]}"))
            await send_batch.write(batch, [_row(group.id, alice)], now=NOW)
            raise RuntimeError("the send failed")

    with pytest.raises(RuntimeError):
        await fails()
    with pytest.raises(RuntimeError):
        await fails_unflushed()
    async with database.transaction() as tx:
        stored = await tx.get(User, alice)
        assert stored is not None
        assert stored.name == "Alice B"
        seqs = await tx.execute(select(Message.seq).where(Message.conversation_id == group.id))
        assert list(seqs.scalars()) == [1]
