"""Mutes and bans in groups and rooms.

Who moderates: the conversation's owner and admins, and admins and super-agents anywhere. The
owner is never muted or banned, a room admin only by the owner or staff, nobody by themselves.
A mute lets its user read and refuses whatever they would add (`muted_in_room`: see `rules`);
a ban removes them at once (the member-removed path: their live sockets on every instance stop
receiving the room) and refuses their joins and invitations (`banned_from_room`) until lifted.
Both may end by themselves (`until`; the cleanup task deletes them after). Members hear
`member_muted`/`member_unmuted`/`member_banned`/`member_unbanned`; a banned user hears their
ban and unban on their own channel.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from parley.db import conversations as conversation_queries
from parley.db import moderation as queries
from parley.db import users as user_queries
from parley.db.models import Conversation, ConversationMember, RoomRestriction
from parley.domain.accounts.principal import Principal
from parley.domain.conversations import access
from parley.domain.conversations.schemas import MemberRole
from parley.domain.conversations.service import removed_events
from parley.domain.conversations.views import room_of
from parley.domain.events import Audience, Event, conversation_channel, user_channel
from parley.domain.moderation.permissions import MODERATORS, may_moderate
from parley.domain.moderation.rules import MODERATED_KINDS, RoomRules
from parley.domain.moderation.schemas import (
    RestrictionChanged,
    RestrictionKind,
    RestrictionPublic,
    RestrictionSet,
)
from parley.domain.unit_of_work import UnitOfWork, Work
from parley.errors import Forbidden, NotFound, ValidationFailed

EVENT = {
    (RestrictionKind.MUTE, True): "member.muted",
    (RestrictionKind.MUTE, False): "member.unmuted",
    (RestrictionKind.BAN, True): "member.banned",
    (RestrictionKind.BAN, False): "member.unbanned",
}


def restriction_public(row: RoomRestriction) -> RestrictionPublic:
    return RestrictionPublic(
        conversation_id=row.conversation_id,
        user_id=row.user_id,
        kind=RestrictionKind(row.kind),
        until=row.until,
        reason=row.reason,
        created_by=row.created_by,
        created_at=row.created_at,
    )


async def load_moderated(
    tx: AsyncSession, ref: str | uuid.UUID, principal: Principal
) -> tuple[Conversation, ConversationMember | None]:
    """The group or room, if the caller moderates it."""
    conversation = await access.find_by_ref(tx, str(ref))
    if conversation is None:
        raise access.not_found()
    member = await conversation_queries.find_member(tx, conversation.id, principal.user_id)
    if member is None and principal.role not in MODERATORS:
        raise Forbidden("You are not a member of this conversation.", code="not_a_member")
    if conversation.kind not in MODERATED_KINDS:
        raise ValidationFailed("Only groups and rooms have mutes and bans.", code="not_moderated")
    if not may_moderate(member, principal):
        raise Forbidden(
            "Only the conversation's owner or admins (or staff) moderate it.",
            code="not_a_moderator",
        )
    return conversation, member


class RestrictionService:
    def __init__(self, uow: UnitOfWork, rules: RoomRules | None = None) -> None:
        self._uow = uow
        self._rules = rules or RoomRules()

    async def restrict(
        self,
        principal: Principal,
        ref: str | uuid.UUID,
        kind: RestrictionKind,
        command: RestrictionSet,
    ) -> RestrictionPublic:
        """Mute or ban (again: the new `until` and `reason` replace the old)."""
        now = self._rules.now()
        if command.until is not None and command.until <= now:
            raise ValidationFailed(
                "It ends in the future; leave `until` out for until lifted.",
                code="until_past",
                field="until",
            )
        async with self._uow() as work:
            conversation, member = await load_moderated(work.tx, ref, principal)
            target = await self._require_target(work.tx, conversation, member, principal, command)
            if kind is RestrictionKind.MUTE and target is None:
                raise NotFound("That user is not a member.", code="member_not_found")
            row = await queries.find_restriction(
                work.tx, conversation.id, command.user_id, kind.value
            )
            if row is None:
                row = RoomRestriction(
                    conversation_id=conversation.id, user_id=command.user_id, kind=kind.value
                )
                work.tx.add(row)
            row.until = command.until
            row.reason = command.reason
            row.created_by = principal.user_id
            row.created_at = now
            if kind is RestrictionKind.BAN and target is not None:
                await conversation_queries.remove_member(work.tx, conversation.id, command.user_id)
                for event in removed_events(conversation.id, command.user_id):
                    work.emit(event)
            await work.tx.flush()
            public = restriction_public(row)
            self._announce(work, conversation, public, kind, on=True)
        return public

    async def lift(
        self,
        principal: Principal,
        ref: str | uuid.UUID,
        kind: RestrictionKind,
        user_id: uuid.UUID,
    ) -> None:
        """Unmute or unban; lifting what is not there is no error (204 either way)."""
        async with self._uow() as work:
            conversation, _ = await load_moderated(work.tx, ref, principal)
            row = await queries.find_restriction(work.tx, conversation.id, user_id, kind.value)
            if row is None:
                return
            public = restriction_public(row)
            await queries.lift(work.tx, conversation.id, user_id, kind.value)
            self._announce(work, conversation, public, kind, on=False)

    async def list(
        self, principal: Principal, ref: str | uuid.UUID, kind: RestrictionKind
    ) -> list[RestrictionPublic]:
        """Those in force now, oldest first."""
        async with self._uow() as work:
            conversation, _ = await load_moderated(work.tx, ref, principal)
            rows = await queries.list_in_force(
                work.tx, conversation.id, kind.value, self._rules.now()
            )
            return [restriction_public(row) for row in rows]

    @staticmethod
    async def _require_target(
        tx: AsyncSession,
        conversation: Conversation,
        member: ConversationMember | None,
        principal: Principal,
        command: RestrictionSet,
    ) -> ConversationMember | None:
        """The target's membership (None: not a member), if the caller may moderate them."""
        if command.user_id == principal.user_id:
            raise ValidationFailed(
                "Nobody mutes or bans themselves.", code="cannot_moderate_self", field="user_id"
            )
        target = await conversation_queries.find_member(tx, conversation.id, command.user_id)
        if target is None:
            if await user_queries.find_user(tx, command.user_id) is None:
                raise NotFound("No user with that id.", code="user_not_found")
            return None
        role = MemberRole(target.role)
        if role is MemberRole.OWNER:
            raise Forbidden("The owner is not muted or banned.", code="cannot_moderate_owner")
        caller_owns = member is not None and MemberRole(member.role) is MemberRole.OWNER
        if role is MemberRole.ADMIN and not caller_owns and principal.role not in MODERATORS:
            raise Forbidden(
                "Only the owner or staff mute or ban a room admin.",
                code="cannot_moderate_admin",
            )
        return target

    @staticmethod
    def _announce(
        work: Work,
        conversation: Conversation,
        public: RestrictionPublic,
        kind: RestrictionKind,
        *,
        on: bool,
    ) -> None:
        changed = RestrictionChanged(
            **public.model_dump(), room_id=room_of(conversation) or str(conversation.id)
        )
        data = changed.model_dump(mode="json")
        name = EVENT[(kind, on)]
        work.emit(Event(conversation_channel(conversation.id), name, data))
        if kind is RestrictionKind.BAN:  # no longer a member: told on their own channel
            work.emit(
                Event(
                    user_channel(public.user_id),
                    name,
                    data,
                    Audience.USER,
                    extra={"user_id": str(public.user_id)},
                )
            )
