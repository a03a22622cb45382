"""Creating, finding, changing and leaving conversations.

Why one module: every kind of conversation (direct, group, room, support chat) is
created, changed and left under one set of membership rules.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from parley.db import conversations as queries
from parley.db import messages as message_queries
from parley.db import users as user_queries
from parley.db.models import Conversation, User
from parley.domain.accounts.principal import Principal
from parley.domain.conversations import access
from parley.domain.conversations.quotas import Quotas
from parley.domain.conversations.schemas import (
    ConversationChange,
    ConversationCreate,
    ConversationDeleted,
    ConversationKind,
    ConversationPage,
    ConversationPublic,
    ConversationStatus,
    ConversationUpdate,
    MemberAdd,
    MemberAdded,
    MemberPublic,
    MemberRemoved,
    MemberRole,
)
from parley.domain.conversations.views import (
    conversation_public,
    member_public,
    message_public,
    room_of,
    sender_of,
)
from parley.domain.creation import CreationLimit
from parley.domain.cursors import decode_cursor, encode_cursor, not_ours
from parley.domain.events import Audience, Event, conversation_channel, dump_as, user_channel
from parley.domain.moderation.rules import RoomRules
from parley.domain.roles import STAFF_ROLES, Role
from parley.domain.social.rules import require_direct_allowed
from parley.domain.unit_of_work import UnitOfWork, Work
from parley.errors import Conflict, Forbidden, NotFound, ValidationFailed

MANAGERS = frozenset({MemberRole.OWNER, MemberRole.ADMIN})


def removed_events(conversation_id: uuid.UUID, user_id: uuid.UUID) -> list[Event]:
    """A member left or was removed (or banned): the others hear it, and every instance stops
    delivering the conversation to the user's live connections at once."""
    removed = MemberRemoved(conversation_id=str(conversation_id), user_id=str(user_id))
    data = dict(removed)
    extra = {"user_id": str(user_id)}
    return [
        Event(conversation_channel(conversation_id), "member.removed", data, extra=extra),
        Event(user_channel(user_id), "member.removed", data, Audience.USER, extra=extra),
    ]


def _room_exists() -> Conflict:
    return Conflict("Another room already has that name.", code="room_exists")


DEFAULT_LIST_PAGE = 100
MAX_LIST_PAGE = 200


def _position(cursor: str) -> queries.ActivityPosition:
    last, created, conversation_id = decode_cursor(cursor, 3)
    try:
        return queries.ActivityPosition(
            last_message_at=None if last is None else datetime.fromisoformat(last),
            created_at=datetime.fromisoformat(created),
            id=uuid.UUID(conversation_id),
        )
    except (TypeError, ValueError) as exc:
        raise not_ours() from exc


class ConversationService:
    def __init__(
        self,
        uow: UnitOfWork,
        *,
        auto_create_rooms: bool = True,
        creations: CreationLimit | None = None,
        quotas: Quotas | None = None,
        rules: RoomRules | None = None,
    ) -> None:
        self._uow = uow
        self._auto_create_rooms = auto_create_rooms
        self._creations = creations or CreationLimit()
        self._quotas = quotas or Quotas()
        self._rules = rules or RoomRules()

    async def create(self, principal: Principal, command: ConversationCreate) -> ConversationPublic:
        kind = command.resolved_kind()
        if kind is not ConversationKind.DIRECT:  # a direct chat counts only when it is new
            await self._creations.take(principal, "conversations")
        try:
            async with self._uow() as work:
                if kind is ConversationKind.DIRECT:
                    conversation = await self._open_direct(work, principal, command)
                elif kind is ConversationKind.GROUP:
                    conversation = await self._open_group(work, principal, command)
                elif kind is ConversationKind.ROOM:
                    if not command.name:
                        raise ValidationFailed("A room needs a name.", field="name")
                    conversation = await self._open_room(work, principal, command.name)
                    conversation.topic = command.topic or None
                    conversation.is_private = command.private
                else:
                    conversation = await self._open_support(work, principal, command)
                if kind is not ConversationKind.ROOM and (command.topic or command.private):
                    raise ValidationFailed("Only rooms have a topic or are private.", field="topic")
                return await self._detail(work.tx, conversation, principal)
        except IntegrityError as exc:  # two clients created the same direct chat or room at once
            raise Conflict("That conversation was created at the same moment; retry.") from exc

    async def _open_direct(
        self, work: Work, principal: Principal, command: ConversationCreate
    ) -> Conversation:
        other = command.participant_id or next(iter(command.participant_ids), None)
        if other is None or other == principal.user_id:
            raise ValidationFailed(
                "A direct chat needs one other participant_id.", field="participant_id"
            )
        await self._require_users(work.tx, [other])
        other_user = await work.tx.get(User, other)
        assert other_user is not None  # just checked
        await require_direct_allowed(work.tx, principal.user_id, other_user)
        low, high = sorted((str(principal.user_id), str(other)))
        existing = await queries.find_by_key(work.tx, direct_key=f"{low}:{high}")
        if existing is not None:
            return existing
        await self._creations.take(principal, "conversations")
        conversation = await queries.add_conversation(
            work.tx, kind=ConversationKind.DIRECT.value, direct_key=f"{low}:{high}"
        )
        for user_id in (principal.user_id, other):
            await self._enrol(work, conversation, user_id, MemberRole.MEMBER)
        return conversation

    async def _open_group(
        self, work: Work, principal: Principal, command: ConversationCreate
    ) -> Conversation:
        others = [u for u in dict.fromkeys(command.participant_ids) if u != principal.user_id]
        self._quotas.require_group_room(len(others) + 1)
        await self._require_users(work.tx, others)
        await self._require_owned_below_quota(work, principal)
        conversation = await queries.add_conversation(
            work.tx,
            kind=ConversationKind.GROUP.value,
            name=command.name or "Group",
            owner_id=principal.user_id,
        )
        await self._enrol(work, conversation, principal.user_id, MemberRole.OWNER)
        for user_id in others:
            await self._enrol(work, conversation, user_id, MemberRole.MEMBER)
        return conversation

    async def _open_room(self, work: Work, principal: Principal, name: str) -> Conversation:
        if await queries.find_by_key(work.tx, room_key=access.room_key(name)) is not None:
            raise Conflict("A room with that name exists; join it instead.", code="room_exists")
        return await self._add_room(work, principal, name)

    async def _add_room(self, work: Work, principal: Principal, name: str) -> Conversation:
        """A new open room owned by its creator. If another one of that name committed since
        the caller looked, the unique room key refuses this one (IntegrityError)."""
        await self._require_owned_below_quota(work, principal)
        await self._require_rooms_below_quota(work, principal)
        conversation = await queries.add_conversation(
            work.tx,
            kind=ConversationKind.ROOM.value,
            name=name,
            room_key=access.room_key(name),
            owner_id=principal.user_id,
        )
        await self._enrol(work, conversation, principal.user_id, MemberRole.OWNER)
        return conversation

    async def _open_support(
        self, work: Work, principal: Principal, command: ConversationCreate
    ) -> Conversation:
        """Customers open support chats for themselves; staff open them for a customer."""
        if principal.role in STAFF_ROLES:
            customer_id = command.customer_id
            if customer_id is None:
                raise ValidationFailed("Staff must name the customer.", field="customer_id")
        else:
            customer_id = principal.user_id
            if command.customer_id not in (None, principal.user_id):
                raise Forbidden("Customers open support chats only for themselves.")
        agent_id = command.agent_id
        if agent_id is None and principal.role in access.SUPPORT_AGENTS:
            agent_id = principal.user_id
        await self._require_users(work.tx, [u for u in (customer_id, agent_id) if u])
        if agent_id is not None:
            await self._require_agent(work.tx, agent_id, field="agent_id")
        conversation = await queries.add_conversation(
            work.tx,
            kind=ConversationKind.SUPPORT.value,
            customer_id=customer_id,
            agent_id=agent_id,
            owner_id=customer_id,
        )
        await self._enrol(work, conversation, customer_id, MemberRole.OWNER)
        if agent_id is not None and agent_id != customer_id:
            await self._enrol(work, conversation, agent_id, MemberRole.ADMIN)
        return conversation

    async def join_room(
        self, principal: Principal, ref: str, *, with_members: bool = True
    ) -> tuple[ConversationPublic, bool]:
        """Join an open room by id or name (creating it if allowed), or enter a conversation
        the caller already belongs to. Returns the conversation and whether they were added;
        without `with_members` its member list is left empty (a socket join answers with the
        viewers instead, and reading every member costs as much as the room is large)."""
        try:
            return await self._join_room(principal, ref, with_members)
        except IntegrityError:  # someone created or joined the same room at the same moment
            return await self._join_room(principal, ref, with_members)

    async def _join_room(
        self, principal: Principal, ref: str, with_members: bool
    ) -> tuple[ConversationPublic, bool]:
        async with self._uow() as work:
            conversation = await access.find_by_ref(work.tx, ref)
            if conversation is None:
                if not self._auto_create_rooms or access.parse_id(ref) is not None:
                    raise access.not_found()
                # Not _open_room: a room created since the lookup above must end in the
                # IntegrityError that join_room retries on, not in room_exists.
                await self._creations.take(principal, "rooms")
                conversation = await self._add_room(work, principal, ref)
                return await self._detail(
                    work.tx, conversation, principal, with_members=with_members
                ), True
            member = await queries.find_member(work.tx, conversation.id, principal.user_id)
            added = False
            if member is None:
                if conversation.kind != ConversationKind.ROOM:
                    await access.require_access(work.tx, conversation, principal)
                elif conversation.is_private:
                    raise Forbidden(
                        "This room is private: its owner or admins invite its members.",
                        code="private_room",
                    )
                else:
                    await self._rules.require_not_banned(
                        work.tx, conversation.id, principal.user_id
                    )
                    await self._require_rooms_below_quota(work, principal)
                    await self._require_members_below_quota(work, conversation)
                    await self._enrol(work, conversation, principal.user_id, MemberRole.MEMBER)
                    added = True
            return await self._detail(
                work.tx, conversation, principal, with_members=with_members
            ), added

    async def list_for(
        self,
        principal: Principal,
        *,
        kinds: Sequence[ConversationKind] | None = None,
        statuses: Sequence[ConversationStatus] | None = None,
        limit: int = DEFAULT_LIST_PAGE,
        cursor: str | None = None,
    ) -> ConversationPage:
        """The caller's conversations, most recent activity first, a page at a time. The
        order moves as conversations get messages: one that gets a message while a client
        pages moves to the front (a client reloads the first page on `new_message`)."""
        limit = max(1, min(limit, MAX_LIST_PAGE))
        async with self._uow() as work:
            rows = await queries.list_for_user(
                work.tx,
                principal.user_id,
                kinds=[k.value for k in kinds or []],
                statuses=[s.value for s in statuses or []],
                after=_position(cursor) if cursor else None,
                limit=limit + 1,
            )
            more = len(rows) > limit
            rows = rows[:limit]
            conversations = [c for c, _ in rows]
            heads = await message_queries.latest_of(
                work.tx, [(c.id, c.last_seq) for c in conversations]
            )
            members = await self._members_by_conversation(work.tx, [c.id for c in conversations])
        result = []
        for conversation, member in rows:
            head = heads.get(conversation.id)
            last = (
                message_public(head[0], sender_of(head[1]), room_of(conversation)) if head else None
            )
            result.append(
                conversation_public(
                    conversation,
                    members=members.get(conversation.id),
                    last_message=last,
                    read_seq=member.last_read_seq,
                    mine=member,
                )
            )
        last_row = conversations[-1] if conversations else None
        next_cursor = None
        if more and last_row is not None:
            next_cursor = encode_cursor(
                [
                    last_row.last_message_at.isoformat() if last_row.last_message_at else None,
                    last_row.created_at.isoformat(),
                    str(last_row.id),
                ]
            )
        return ConversationPage(conversations=result, next_cursor=next_cursor, has_more=more)

    async def member_conversation_ids(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        return await queries.conversation_ids_for_user(self._uow.db, user_id)

    async def resolve(self, principal: Principal, ref: str | uuid.UUID) -> uuid.UUID:
        """The id of a conversation the caller may use (by id or room name)."""
        async with self._uow() as work:
            conversation, _ = await access.load(work.tx, ref, principal)
            return conversation.id

    async def resolve_to_speak(self, principal: Principal, ref: str | uuid.UUID) -> uuid.UUID:
        """`resolve`, for adding to the conversation (typing, a send's files): not muted."""
        async with self._uow() as work:
            conversation, _ = await access.load(work.tx, ref, principal)
            await self._rules.require_not_muted(work.tx, conversation, principal.user_id)
            return conversation.id

    async def room(self, principal: Principal, ref: str) -> ConversationPublic:
        """An open room with its members: a public one for anyone, a private one for its
        members only."""
        async with self._uow() as work:
            room = await access.find_by_ref(work.tx, ref)
            if room is None or room.kind != ConversationKind.ROOM:
                raise access.not_found()
            if room.is_private:
                await access.require_access(work.tx, room, principal)
            return await self._detail(work.tx, room, principal)

    async def resolve_room(
        self, principal: Principal, ref: str | uuid.UUID
    ) -> tuple[uuid.UUID, str | None]:
        """`resolve`, and the open room's name when the conversation is one (`room_of`)."""
        async with self._uow() as work:
            conversation, _ = await access.load(work.tx, ref, principal)
            return conversation.id, room_of(conversation)

    async def get(self, principal: Principal, ref: str | uuid.UUID) -> ConversationPublic:
        async with self._uow() as work:
            conversation, _ = await access.load(work.tx, ref, principal)
            return await self._detail(work.tx, conversation, principal)

    async def update(
        self, principal: Principal, conversation_id: uuid.UUID, update: ConversationUpdate
    ) -> ConversationPublic:
        async with self._uow() as work:
            conversation, member = await access.load(work.tx, conversation_id, principal)
            if update.name is not None:
                if conversation.kind not in (ConversationKind.GROUP, ConversationKind.ROOM):
                    raise ValidationFailed("Only groups and rooms have names.", field="name")
                self._require_manager(member, principal)
                conversation.name = update.name
                if conversation.kind == ConversationKind.ROOM:
                    key = access.room_key(update.name)
                    other = await queries.find_by_key(work.tx, room_key=key)
                    if other is not None and other.id != conversation.id:
                        raise _room_exists()
                    conversation.room_key = key
            if update.topic is not None or update.private is not None:
                if conversation.kind != ConversationKind.ROOM:
                    raise ValidationFailed("Only rooms have a topic or are private.", field="topic")
                self._require_manager(member, principal)
                if update.topic is not None:
                    conversation.topic = update.topic or None
                if update.private is not None:
                    conversation.is_private = update.private
            if update.name is not None or update.topic is not None:  # what members read
                await self._rules.require_not_muted(work.tx, conversation, principal.user_id)
            if update.status is not None:
                if conversation.kind != ConversationKind.SUPPORT:
                    raise ValidationFailed("Only support chats have a status.", field="status")
                conversation.status = update.status.value
            try:
                await work.tx.flush()
            except IntegrityError as exc:  # another room took the name since the check above
                raise _room_exists() from exc
            detail = await self._detail(work.tx, conversation, principal)
            work.emit(
                Event(
                    conversation_channel(conversation.id),
                    "conversation.updated",
                    dump_as(ConversationChange, detail),
                )
            )
            return detail

    async def delete(self, principal: Principal, conversation_id: uuid.UUID) -> None:
        async with self._uow() as work:
            conversation, member = await access.load(work.tx, conversation_id, principal)
            if conversation.kind == ConversationKind.GROUP or (
                conversation.kind == ConversationKind.ROOM
            ):
                self._require_manager(member, principal)
            elif (
                conversation.kind == ConversationKind.SUPPORT
                and principal.role not in (access.SUPPORT_SUPERVISORS | {Role.AGENT})
                and principal.user_id != conversation.customer_id
            ):
                raise Forbidden("Only the customer or staff may delete a support chat.")
            work.emit(
                Event(
                    conversation_channel(conversation.id),
                    "conversation.deleted",
                    dict(ConversationDeleted(conversation_id=str(conversation.id))),
                )
            )
            await queries.delete_conversation(work.tx, conversation.id)

    async def add_member(
        self, principal: Principal, conversation_id: uuid.UUID, command: MemberAdd
    ) -> ConversationPublic:
        async with self._uow() as work:
            conversation, member = await access.load(work.tx, conversation_id, principal)
            if conversation.kind == ConversationKind.DIRECT:
                raise ValidationFailed("A direct chat has exactly two members.")
            role = command.role
            if conversation.kind == ConversationKind.SUPPORT:
                # The customer is fixed; the only seat to fill is the agent's, and only an
                # agent fills it, enrolled as the agent is when the chat is opened.
                if principal.role not in STAFF_ROLES:
                    raise Forbidden("Only staff assign agents to support chats.")
                if role is not MemberRole.MEMBER:
                    raise ValidationFailed(
                        "In a support chat the customer owns it and others join as agents.",
                        code="support_role_fixed",
                        field="role",
                    )
                await self._require_users(work.tx, [command.user_id])
                await self._require_agent(work.tx, command.user_id, field="user_id")
                conversation.agent_id = command.user_id
                role = MemberRole.ADMIN
            else:
                self._require_manager(member, principal)
            await self._require_users(work.tx, [command.user_id])
            if await queries.find_member(work.tx, conversation.id, command.user_id) is None:
                await self._rules.require_not_banned(work.tx, conversation.id, command.user_id)
                await self._require_members_below_quota(work, conversation)
                await self._enrol(work, conversation, command.user_id, role)
            return await self._detail(work.tx, conversation, principal)

    async def remove_member(
        self, principal: Principal, conversation_id: uuid.UUID, user_id: uuid.UUID
    ) -> None:
        """Anyone may leave; owners and admins may remove others."""
        async with self._uow() as work:
            conversation, member = await access.load(work.tx, conversation_id, principal)
            if conversation.kind == ConversationKind.DIRECT:
                raise ValidationFailed("Nobody leaves a direct chat; delete it instead.")
            if user_id != principal.user_id:
                self._require_manager(member, principal)
                if conversation.kind == ConversationKind.SUPPORT and user_id == (
                    conversation.customer_id
                ):
                    raise Forbidden("A support chat's customer is fixed.", code="customer_fixed")
            if not await queries.remove_member(work.tx, conversation.id, user_id):
                raise NotFound("That user is not a member.", code="member_not_found")
            for event in removed_events(conversation.id, user_id):
                work.emit(event)

    async def _enrol(
        self, work: Work, conversation: Conversation, user_id: uuid.UUID, role: MemberRole
    ) -> None:
        """Add a member and tell every instance, so their live connections start receiving
        the conversation's messages at once. New members start with nothing unread."""
        await queries.add_member(
            work.tx, conversation.id, user_id, role.value, conversation.last_seq
        )
        added = MemberAdded(
            conversation_id=str(conversation.id),
            user_id=str(user_id),
            kind=ConversationKind(conversation.kind),
            name=conversation.name,
        )
        work.emit(
            Event(
                user_channel(user_id),
                "member.added",
                dict(added),
                Audience.USER,
                extra={"user_id": str(user_id)},
            )
        )

    async def _require_owned_below_quota(self, work: Work, principal: Principal) -> None:
        if principal.role is not Role.ADMIN:
            owned = await queries.count_owned(work.tx, principal.user_id)
            self._quotas.require_owned(owned + 1)

    async def _require_rooms_below_quota(self, work: Work, principal: Principal) -> None:
        joined = await queries.count_memberships(work.tx, principal.user_id, ConversationKind.ROOM)
        self._quotas.require_rooms(joined + 1)

    async def _require_members_below_quota(self, work: Work, conversation: Conversation) -> None:
        if conversation.kind in (ConversationKind.GROUP, ConversationKind.ROOM):
            members = await queries.count_members(work.tx, conversation.id)
            self._quotas.require_group_room(members + 1)

    @staticmethod
    def _require_manager(member: object, principal: Principal) -> None:
        role = getattr(member, "role", None)
        if role not in MANAGERS and principal.role is not Role.ADMIN:
            raise Forbidden(
                "Only the conversation's owner or admins may do this.", code="not_a_manager"
            )

    @staticmethod
    async def _require_agent(tx: AsyncSession, user_id: uuid.UUID, *, field: str) -> None:
        user = await user_queries.find_user(tx, user_id)
        if user is None or Role(user.role) not in access.SUPPORT_AGENTS:
            raise ValidationFailed(
                "Only an agent or a super-agent can be a support chat's agent.",
                code="not_an_agent",
                field=field,
            )

    @staticmethod
    async def _require_users(tx: AsyncSession, user_ids: Sequence[uuid.UUID]) -> None:
        for user_id in user_ids:
            if await user_queries.find_user(tx, user_id) is None:
                raise NotFound(f"No user with id {user_id}.", code="user_not_found")

    async def _members_by_conversation(
        self, tx: AsyncSession, conversation_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, list[MemberPublic]]:
        grouped: dict[uuid.UUID, list[MemberPublic]] = {}
        for member, user in await queries.list_members(tx, conversation_ids):
            grouped.setdefault(member.conversation_id, []).append(member_public(member, user))
        return grouped

    async def _detail(
        self,
        tx: AsyncSession,
        conversation: Conversation,
        principal: Principal,
        *,
        with_members: bool = True,
    ) -> ConversationPublic:
        members = (
            (await self._members_by_conversation(tx, [conversation.id])).get(conversation.id, [])
            if with_members
            else []
        )
        # The caller's own row: in the session already when `members` was read.
        mine = await queries.find_member(tx, conversation.id, principal.user_id)
        heads = await message_queries.latest_of(tx, [(conversation.id, conversation.last_seq)])
        head = heads.get(conversation.id)
        return conversation_public(
            conversation,
            members=members,
            last_message=(
                message_public(head[0], sender_of(head[1]), room_of(conversation)) if head else None
            ),
            read_seq=mine.last_read_seq if mine else None,
            mine=mine,
        )
