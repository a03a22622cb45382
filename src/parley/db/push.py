"""Queries for push notifications: whom a new message may be pushed to, and whether a push
that waited is still wanted."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, bindparam, exists, not_, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from parley.db.models import Block, Conversation, ConversationMember, DeviceSession, Message, User
from parley.domain.roles import AccountStatus


def muted_now(now: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
    member = ConversationMember
    return and_(member.muted == true(), or_(member.muted_until.is_(None), member.muted_until > now))


def _push_candidates(*, with_sender: bool) -> Select[uuid.UUID]:
    member = ConversationMember
    now = bindparam("now", type_=DeviceSession.__table__.c.expires_at.type)
    has_device = exists().where(
        DeviceSession.user_id == member.user_id,
        DeviceSession.fcm_token.is_not(None),
        DeviceSession.revoked_at.is_(None),
        DeviceSession.expires_at > now,
    )
    query = (
        select(member.user_id)
        .join(User, User.id == member.user_id)
        .where(
            member.conversation_id == bindparam("conversation_id"),
            User.status == AccountStatus.ACTIVE.value,
            not_(muted_now(now)),
            has_device,
        )
        .limit(bindparam("limit"))
    )
    if with_sender:
        sender = bindparam("sender_id", type_=Block.__table__.c.blocked_id.type)
        blocking = exists().where(Block.blocker_id == member.user_id, Block.blocked_id == sender)
        query = query.where(member.user_id != sender, not_(blocking))
    return query


# Built once: planning runs for every new message (see db/conversations.py's statements).
_CANDIDATES = _push_candidates(with_sender=False)
_CANDIDATES_NOT_FROM = _push_candidates(with_sender=True)


def push_candidates(
    conversation_id: uuid.UUID,
    sender_id: uuid.UUID | None,
    now: datetime,
    *,
    limit: int,
) -> tuple[Select[uuid.UUID], dict[str, Any]]:
    """Members a new message may be pushed to: not the sender, active, not muting the
    conversation, not blocking the sender, with at least one live device that has a token.
    At most `limit` (the caller asks for one more to learn there were more). The statement
    and its parameters."""
    params: dict[str, Any] = {"conversation_id": conversation_id, "now": now, "limit": limit}
    if sender_id is None:
        return _CANDIDATES, params
    return _CANDIDATES_NOT_FROM, {**params, "sender_id": sender_id}


@dataclass(frozen=True, slots=True)
class PushContext:
    """What a waiting push needs to know at its time: is it still wanted, and what to say."""

    last_read_seq: int
    muted: bool
    kind: str
    name: str | None


def push_context_query(
    conversation_id: uuid.UUID, user_id: uuid.UUID
) -> Select[int, bool, datetime | None, str, str | None]:
    member = ConversationMember
    return (
        select(
            member.last_read_seq,
            member.muted,
            member.muted_until,
            Conversation.kind,
            Conversation.name,
        )
        .join(Conversation, Conversation.id == member.conversation_id)
        .where(member.conversation_id == conversation_id, member.user_id == user_id)
    )


def push_context(rows: Sequence[Any], now: datetime) -> PushContext | None:
    """The context from `push_context_query`'s rows; None when the user is no member."""
    if not rows:
        return None
    row = rows[0]
    until = row[2]
    muted = bool(row[1]) and (until is None or until > now)
    return PushContext(int(row[0]), muted, str(row[3]), row[4])


def message_states(
    message_ids: Sequence[uuid.UUID],
) -> Select[uuid.UUID, str, datetime | None, list[Any] | None, list[str] | None]:
    """The waiting messages as they are now (edited, deleted), for what a push says."""
    return select(
        Message.id,
        Message.content,
        Message.deleted_at,
        Message.attachments,
        Message.attachment_urls,
    ).where(Message.id.in_(list(message_ids)))
