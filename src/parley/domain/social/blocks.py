"""Blocks: a blocked user cannot open a direct chat with, message, befriend or watch the one
who blocked them; in groups and rooms their messages are hidden for the blocker."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError

from parley.db import social as queries
from parley.db.models import Block
from parley.domain.accounts.principal import Principal
from parley.domain.events import blocks_changed
from parley.domain.roles import Role
from parley.domain.social.friends import FRIEND_REMOVED, brief, find_user, tell
from parley.domain.social.rules import may_see_presence
from parley.domain.social.schemas import BlockPublic, FriendRemoved, UserRef
from parley.domain.unit_of_work import UnitOfWork
from parley.errors import ValidationFailed


class BlockService:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def block(self, principal: Principal, ref: UserRef) -> BlockPublic:
        """Idempotent. Ends a friendship and drops pending requests between the two."""
        try:
            return await self._block(principal, ref)
        except IntegrityError:  # blocked twice at the same moment: the first one stands
            return await self._block(principal, ref)

    async def _block(self, principal: Principal, ref: UserRef) -> BlockPublic:
        async with self._uow() as work:
            them = await find_user(work.tx, ref)
            if them.id == principal.user_id:
                raise ValidationFailed("You cannot block yourself.", code="cannot_block_self")
            block = await work.tx.get(Block, (principal.user_id, them.id))
            if block is None:
                block = Block(blocker_id=principal.user_id, blocked_id=them.id)
                work.tx.add(block)
                await work.tx.flush()
                await queries.drop_requests_between(work.tx, principal.user_id, them.id)
                if await queries.remove_friendship(work.tx, principal.user_id, them.id):
                    removed = FriendRemoved(user_id=str(principal.user_id), friend_id=str(them.id))
                    tell(work, FRIEND_REMOVED, removed, them.id, principal.user_id)
                for event in blocks_changed(principal.user_id, them.id, blocking=True):
                    work.emit(event)
            return BlockPublic(user=brief(them), since=block.created_at)

    async def unblock(self, principal: Principal, user_id: uuid.UUID) -> None:
        """Idempotent: unblocking someone not blocked changes nothing."""
        async with self._uow() as work:
            block = await work.tx.get(Block, (principal.user_id, user_id))
            if block is not None:
                await work.tx.delete(block)
                for event in blocks_changed(principal.user_id, user_id, blocking=False):
                    work.emit(event)

    async def blocks(self, principal: Principal) -> list[BlockPublic]:
        async with self._uow() as work:
            rows = await queries.blocked_by(work.tx, principal.user_id)
        return [BlockPublic(user=brief(u), since=b.created_at) for b, u in rows]

    async def block_sets(self, user_id: uuid.UUID) -> tuple[frozenset[str], frozenset[str]]:
        """(whom the user blocks, who blocks the user): what a live connection hides. Read on
        every sign-in, so one statement without a unit of work; most users get two shared
        empty sets."""
        return await queries.live_block_sets(self._uow.db, user_id)

    async def may_see_presence(self, viewer: Principal, user: uuid.UUID) -> bool:
        """Friends and people who share a conversation may, and admins; a blocker's blocked
        may not."""
        async with self._uow() as work:
            return await may_see_presence(
                work.tx, viewer.user_id, user, is_admin=viewer.role is Role.ADMIN
            )
