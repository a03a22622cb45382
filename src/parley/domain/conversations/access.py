"""Finding a conversation and deciding whether the caller may use it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from parley.db import conversations as queries
from parley.db.models import Conversation, ConversationMember
from parley.domain.accounts.principal import Principal
from parley.domain.conversations.schemas import ConversationKind
from parley.domain.roles import Role
from parley.errors import Forbidden, NotFound

SUPPORT_SUPERVISORS = frozenset({Role.SUPER_AGENT, Role.ADMIN})
"""Roles that may read and act in every support chat without being a member of it."""

SUPPORT_AGENTS = frozenset({Role.AGENT, Role.SUPER_AGENT})
"""Roles that may be assigned to a support chat as its agent (admins supervise, not answer)."""


class ConversationLike(Protocol):
    """What the rules here read of a conversation: an ORM row or the send path's `Target`."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def room_key(self) -> str | None: ...
    @property
    def direct_key(self) -> str | None: ...


Found = TypeVar("Found", bound=ConversationLike)


def room_key(name: str) -> str:
    return name.strip().lower()


def parse_id(ref: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(ref)
    except ValueError:
        return None


def not_found() -> NotFound:
    return NotFound("No conversation with that id or room name.", code="conversation_not_found")


async def find_by_ref(tx: AsyncSession, ref: str) -> Conversation | None:
    """A conversation by id, or an open room by name."""
    conversation_id = parse_id(ref)
    if conversation_id is not None:
        found = await queries.find_conversation(tx, conversation_id)
        if found is not None:
            return found
    return await queries.find_by_key(tx, room_key=room_key(ref))


def match_refs(refs: Iterable[str], found: Iterable[Found]) -> dict[str, Found | None]:
    """Which of `found` each ref names, as `find_by_ref` decides: an id first, then an open
    room's name."""
    by_id: dict[uuid.UUID, Found] = {}
    by_key: dict[str, Found] = {}
    for conversation in found:
        by_id[conversation.id] = conversation
        if conversation.room_key is not None:
            by_key[conversation.room_key] = conversation
    matched: dict[str, Found | None] = {}
    for ref in refs:
        conversation_id = parse_id(ref)
        by_ref = by_id.get(conversation_id) if conversation_id is not None else None
        matched[ref] = by_ref or by_key.get(room_key(ref))
    return matched


def require_member(conversation: ConversationLike, is_member: bool, principal: Principal) -> None:
    """Members pass; so do supervisors in support chats without being members."""
    if is_member:
        return
    if conversation.kind == ConversationKind.SUPPORT and principal.role in SUPPORT_SUPERVISORS:
        return
    raise Forbidden("You are not a member of this conversation.", code="not_a_member")


async def require_access(
    tx: AsyncSession, conversation: Conversation, principal: Principal
) -> ConversationMember | None:
    """The caller's membership; supervisors pass for support chats without one."""
    member = await queries.find_member(tx, conversation.id, principal.user_id)
    require_member(conversation, member is not None, principal)
    return member


async def load(
    tx: AsyncSession, ref: str | uuid.UUID, principal: Principal
) -> tuple[Conversation, ConversationMember | None]:
    conversation = await find_by_ref(tx, str(ref))
    if conversation is None:
        raise not_found()
    return conversation, await require_access(tx, conversation, principal)
