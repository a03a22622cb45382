"""Queries on open rooms: the public directory."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.db.models import Conversation, ConversationMember


async def public_rooms(
    tx: AsyncSession, *, search: str | None, after_key: str | None, limit: int
) -> Sequence[tuple[Conversation, int]]:
    """Public rooms by name (their lower-case key), after `after_key`, with member counts."""
    members = (
        select(func.count())
        .where(ConversationMember.conversation_id == Conversation.id)
        .correlate(Conversation)
        .scalar_subquery()
    )
    query = select(Conversation, members).where(
        Conversation.kind == "room", Conversation.is_private.is_(False)
    )
    if search:
        escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Conversation.room_key.like(f"%{escaped}%", escape="\\"))
    if after_key is not None:
        query = query.where(Conversation.room_key > after_key)
    rows = await tx.execute(query.order_by(Conversation.room_key).limit(limit))
    return [(c, int(n)) for c, n in rows.all()]
