"""The public room directory: list and search public rooms, paged, and look one up."""

from __future__ import annotations

from parley.db import rooms as room_queries
from parley.db.models import Conversation
from parley.domain.conversations.schemas import ConversationPublic, RoomPage
from parley.domain.conversations.views import conversation_public
from parley.domain.cursors import decode_cursor, encode_cursor, not_ours
from parley.domain.unit_of_work import UnitOfWork

MAX_ROOM_PAGE = 100


class RoomService:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def directory(self, *, search: str | None, limit: int, cursor: str | None) -> RoomPage:
        """Public rooms, by name; `next_cursor` fetches the next page."""
        limit = max(1, min(limit, MAX_ROOM_PAGE))
        after = _room_key(cursor) if cursor else None
        async with self._uow() as work:
            rows = await room_queries.public_rooms(
                work.tx, search=search, after_key=after, limit=limit + 1
            )
        page = rows[:limit]
        rooms = [_listed(c, n) for c, n in page]
        more = len(rows) > limit
        next_cursor = encode_cursor([str(page[-1][0].room_key)]) if more and page else None
        return RoomPage(rooms=rooms, next_cursor=next_cursor, has_more=more)


def _listed(room: Conversation, members: int) -> ConversationPublic:
    public = conversation_public(room)
    public.member_count = members
    return public


def _room_key(cursor: str) -> str:
    (key,) = decode_cursor(cursor, 1)
    if not isinstance(key, str) or not key:
        raise not_ours()
    return key
