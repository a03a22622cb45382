"""`/api/v1/search/messages` and `/api/v1/conversations/{id}/messages/search`: message search."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from parley.api.deps import CurrentUser, RuntimeDep
from parley.domain.conversations.search import MAX_PAGE, SearchPage

router = APIRouter(prefix="/api/v1", tags=["search"])

# Lengths and words are checked by the service, with its own codes (`search_query_too_long`,
# `search_query_empty`), the same over REST and sockets (the server bounds a URL's length).
Q = Annotated[str, Query(description="Plain words, at most 256 characters; all must occur.")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Cursor = Annotated[str | None, Query(max_length=200)]


@router.get("/search/messages")
async def search_messages(
    q: Q,
    user: CurrentUser,
    runtime: RuntimeDep,
    conversation_id: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> SearchPage:
    """Messages you can read whose content has every word of `q`, best match first: in
    your conversations (supervisors: and every support chat), or only in `conversation_id`
    (an id or an open room's name). Deleted messages never match; edited ones match their
    new text; messages from users you block are left out, except in direct chats. Each
    result has `highlight`: the content HTML-escaped, matched words in `<mark>…</mark>`.
    Pass `next_cursor` back as `cursor` (with the same `q`) for the next page."""
    return await runtime.search.messages(
        user, q, conversation=conversation_id, limit=limit, cursor=cursor
    )


@router.get("/conversations/{conversation_id}/messages/search")
async def search_conversation(
    conversation_id: uuid.UUID,
    q: Q,
    user: CurrentUser,
    runtime: RuntimeDep,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> SearchPage:
    """`/api/v1/search/messages` within one conversation."""
    return await runtime.search.messages(
        user, q, conversation=conversation_id, limit=limit, cursor=cursor
    )
