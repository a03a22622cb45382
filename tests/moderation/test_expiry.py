"""Mutes and bans that end by themselves, on a clock the test turns forward (no waiting):
once `until` passes the mute lets its member send again and the ban lets its user join, and
the cleanup round deletes exactly those rows (one without `until` stays, and still refuses).
In process, on every database backend, through the services the transports call."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from parley.config import Settings
from parley.db.models import RoomRestriction
from parley.domain.accounts.principal import ClientInfo, Principal
from parley.domain.accounts.schemas import UserCreate
from parley.domain.conversations.schemas import ConversationCreate, MessagePublic, MessageSend
from parley.domain.moderation.schemas import RestrictionKind, RestrictionSet
from parley.errors import Forbidden
from parley.runtime import Runtime

MUTE, BAN = RestrictionKind.MUTE, RestrictionKind.BAN


async def someone(runtime: Runtime) -> Principal:
    name = f"exp_{uuid.uuid4().hex[:12]}"
    made = await runtime.auth.register(
        UserCreate(username=name, password="expiry-Passw0rd"), ClientInfo()
    )
    return await runtime.auth.authenticate(made.tokens.access_token)


async def refused(code: str, call: Awaitable[object]) -> None:
    with pytest.raises(Forbidden) as caught:
        await call
    assert caught.value.code == code


def restriction(user: Principal, until: datetime | None) -> RestrictionSet:
    return RestrictionSet(user_id=user.user_id, until=until)


async def rows_of(runtime: Runtime, conversation_id: uuid.UUID) -> set[tuple[uuid.UUID, str]]:
    """The room's mute and ban rows, ended or not (the database is shared with other tests:
    the cleanup's counts include theirs)."""
    async with runtime.db.transaction() as tx:
        found = await tx.execute(
            select(RoomRestriction.user_id, RoomRestriction.kind).where(
                RoomRestriction.conversation_id == conversation_id
            )
        )
        return {(user_id, kind) for user_id, kind in found.all()}


async def test_mutes_and_bans_end_at_their_until_and_the_cleanup_deletes_them(
    database_url: str, tmp_path: Path
) -> None:
    now = [datetime.now(UTC)]
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,  # type: ignore[call-arg]
        database_url=database_url,
        auto_migrate=True,
        jwt_secret="x" * 40,
        password_hash_time_cost=1,
        password_hash_memory_kib=64,
    )
    async with Runtime.start(settings, clock=lambda: now[0]) as runtime:
        owner, bob, carol, troll = [await someone(runtime) for _ in range(4)]
        name = f"expiry-{uuid.uuid4().hex[:10]}"
        room = await runtime.conversations.create(
            owner, ConversationCreate.model_validate({"kind": "room", "name": name})
        )
        for member in (bob, carol):
            await runtime.conversations.join_room(member, name)

        async def send(who: Principal) -> tuple[MessagePublic, bool]:
            command = MessageSend.model_validate({"conversation_id": name, "content": "hi"})
            return await runtime.messages.send(who, command)

        in_an_hour = now[0] + timedelta(hours=1)
        restrict = runtime.restrictions.restrict
        await restrict(owner, room.id, MUTE, restriction(bob, in_an_hour))
        await restrict(owner, room.id, MUTE, restriction(carol, None))  # until lifted
        await restrict(owner, room.id, BAN, restriction(troll, in_an_hour))
        await refused("muted_in_room", send(bob))
        await refused("banned_from_room", runtime.conversations.join_room(troll, name))
        everyone = {(bob.user_id, "mute"), (carol.user_id, "mute"), (troll.user_id, "ban")}
        await runtime.cleanup.run_once()
        assert await rows_of(runtime, room.id) == everyone  # nothing has ended yet

        now[0] = in_an_hour  # `until` is the first moment it no longer counts
        _, created = await send(bob)
        assert created
        _, added = await runtime.conversations.join_room(troll, name)
        assert added
        mutes = await runtime.restrictions.list(owner, room.id, MUTE)
        assert [m.user_id for m in mutes] == [carol.user_id]
        assert await runtime.restrictions.list(owner, room.id, BAN) == []

        assert await rows_of(runtime, room.id) == everyone  # ended, not deleted yet
        assert (await runtime.cleanup.run_once())["restrictions"] >= 2
        assert await rows_of(runtime, room.id) == {(carol.user_id, "mute")}
        await refused("muted_in_room", send(carol))  # the one without `until` stays
        now[0] += timedelta(days=3650)
        await runtime.cleanup.run_once()
        await refused("muted_in_room", send(carol))
        assert await rows_of(runtime, room.id) == {(carol.user_id, "mute")}
