"""The public room directory: list and search public rooms, paged, and look one up."""

from __future__ import annotations

import base64
import binascii

from parley.db import rooms as room_queries
from parley.db.models import Conversation
from parley.domain.conversations.schemas import ConversationPublic, RoomPage
from parley.domain.conversations.views import conversation_public
from parley.domain.unit_of_work import UnitOfWork
from parley.errors import ValidationFailed

MAX_ROOM_PAGE = 100


class RoomService:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def directory(self, *, search: str | None, limit: int, cursor: str | None) -> RoomPage:
        """Public rooms, by name; `next_cursor` fetches the next page."""
        limit = max(1, min(limit, MAX_ROOM_PAGE))
        after = _decode(cursor) if cursor else None
        async with self._uow() as work:
            rows = await room_queries.public_rooms(
                work.tx, search=search, after_key=after, limit=limit + 1
            )
        page = rows[:limit]
        rooms = [_listed(c, n) for c, n in page]
        more = len(rows) > limit
        next_cursor = _encode(str(page[-1][0].room_key)) if more and page else None
        return RoomPage(rooms=rooms, next_cursor=next_cursor, has_more=more)


def _listed(room: Conversation, members: int) -> ConversationPublic:
    public = conversation_public(room)
    public.member_count = members
    return public


def _encode(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _decode(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ValidationFailed("That cursor is not one this server gave.", field="cursor") from exc
    if not key:
        raise ValidationFailed("That cursor is not one this server gave.", field="cursor")
    return key
