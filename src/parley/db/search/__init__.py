"""Message search: one query for every database, the full-text match chosen by its dialect.

Each dialect module gives a `Match` for a list of plain words (letters and digits only,
never operators): how to join its index, the condition, and a score where higher is better.
Everything else — scope, deleted messages, hidden senders, order, paging — is shared here.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.db.models import Conversation, ConversationMember, Message, User
from parley.db.search import mariadb, postgresql, sqlite
from parley.db.search.match import Match


@dataclass(frozen=True, slots=True)
class Scope:
    """Where the caller may search."""

    user_id: uuid.UUID
    conversation_id: uuid.UUID | None = None
    """Only this conversation (already checked: the caller may read it)."""
    all_support: bool = False
    """Supervisors: every support chat too, member or not."""
    hidden_senders: frozenset[uuid.UUID] = frozenset()
    """Whose messages are left out, except in direct chats (as history does)."""


def match_for(dialect: str, words: Sequence[str]) -> Match | None:
    """None: nothing the database can look up (MariaDB drops its stop words)."""
    if dialect == "sqlite":
        return sqlite.match(words)
    if dialect == "postgresql":
        return postgresql.match(words)
    return mariadb.match(words)


Found = tuple[Message, User | None, Conversation]
Query = Select[Message, User | None, Conversation]


def _scoped(query: Query, scope: Scope) -> Query:
    if scope.conversation_id is not None:
        query = query.where(Message.conversation_id == scope.conversation_id)
    else:
        mine = select(ConversationMember.conversation_id).where(
            ConversationMember.user_id == scope.user_id
        )
        if scope.all_support:
            query = query.where(
                or_(Message.conversation_id.in_(mine), Conversation.kind == "support")
            )
        else:
            query = query.where(Message.conversation_id.in_(mine))
    if scope.hidden_senders:
        query = query.where(
            or_(
                Conversation.kind == "direct",
                Message.sender_id.is_(None),
                Message.sender_id.not_in(scope.hidden_senders),
            )
        )
    return query


async def search_messages(
    tx: AsyncSession, words: Sequence[str], scope: Scope, *, limit: int, offset: int
) -> list[Found]:
    """Best match first (ties: newest first); deleted messages never match."""
    found = match_for(tx.get_bind().dialect.name, words)
    if found is None:
        return []
    query: Query = (
        select(Message, User, Conversation)
        .join(Conversation, Conversation.id == Message.conversation_id)
        .outerjoin(User, User.id == Message.sender_id)
    )
    if found.index is not None:
        query = query.join(*found.index)
    query = _scoped(query.where(found.condition, Message.deleted_at.is_(None)), scope)
    query = query.order_by(found.score.desc(), Message.id.desc()).limit(limit).offset(offset)
    return [(row[0], row[1], row[2]) for row in await tx.execute(query)]
