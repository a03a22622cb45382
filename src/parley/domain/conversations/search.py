"""Message search over the conversations the caller may read: ranked, paged, highlighted.

A query is reduced to plain words (letters and digits; everything else separates them), so
no input is ever a syntax error on any database: quotes, `*`, `-`, `NEAR`, parentheses and
SQL are only the words they contain. Every word must occur (whole words, case and, on SQLite
and MariaDB, accents ignored). Highlights are made here, the same on every database: the
content HTML-escaped with each matching word in `<mark>…</mark>`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import re
import unicodedata
import uuid

from pydantic import BaseModel

from parley.db import reactions as reaction_queries
from parley.db import social as social_queries
from parley.db.search import Scope, search_messages
from parley.domain.accounts.principal import Principal
from parley.domain.conversations import access
from parley.domain.conversations.schemas import ConversationKind, MessagePublic, ReactionCount
from parley.domain.conversations.views import message_public, room_of, sender_of
from parley.domain.unit_of_work import UnitOfWork
from parley.errors import ValidationFailed

MAX_QUERY_CHARS = 256
MAX_WORDS = 16
MAX_PAGE = 50
MAX_RESULTS = 1000
"""Paging stops after this many matches: refine the query instead."""
WORD = re.compile(r"[^\W_]+")
"""A word as every index tokenizes it: letters and digits (`_` separates, as in FTS5)."""


class SearchHit(BaseModel):
    message: MessagePublic
    highlight: str
    """`message.content`, HTML-escaped, with the words that matched in `<mark>…</mark>`."""


class SearchPage(BaseModel):
    results: list[SearchHit]
    terms: list[str]
    """The words searched for, after the query was reduced to plain words."""
    next_cursor: str | None
    has_more: bool


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words_of(query: str) -> list[str]:
    """The distinct words of a query, in order; refuses what cannot be searched."""
    if len(query) > MAX_QUERY_CHARS:
        raise ValidationFailed(
            f"A search is at most {MAX_QUERY_CHARS} characters.",
            code="search_query_too_long",
            field="q",
        )
    words: list[str] = []
    seen: set[str] = set()
    for word in WORD.findall(unicodedata.normalize("NFC", query)):
        if _fold(word) not in seen:
            seen.add(_fold(word))
            words.append(word.lower())
    if not words:
        raise ValidationFailed(
            "The search has no words to look for (letters or digits).",
            code="search_query_empty",
            field="q",
        )
    if len(words) > MAX_WORDS:
        raise ValidationFailed(
            f"A search has at most {MAX_WORDS} different words.",
            code="search_query_too_long",
            field="q",
        )
    return words


def highlight(content: str, words: list[str]) -> str:
    wanted = {_fold(w) for w in words}
    parts: list[str] = []
    last = 0
    for found in WORD.finditer(content):
        if _fold(found.group()) in wanted:
            parts.append(html.escape(content[last : found.start()]))
            parts.append(f"<mark>{html.escape(found.group())}</mark>")
            last = found.end()
    parts.append(html.escape(content[last:]))
    return "".join(parts)


def _digest(words: list[str], conversation: str | None) -> str:
    key = "\x00".join([conversation or "", *words]).encode()
    return hashlib.sha256(key).hexdigest()[:12]


def encode_cursor(offset: int, digest: str) -> str:
    return base64.urlsafe_b64encode(f"o{offset}.{digest}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str, digest: str) -> int:
    """The offset a cursor stands for; only for the same query and scope it was given for."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        offset, _, given = text[1:].partition(".")
        valid = text.startswith("o") and offset.isdigit() and len(offset) <= 5
        if valid and given == digest and int(offset) < MAX_RESULTS:
            return int(offset)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ValidationFailed(
        "The cursor is not one this server gave out for this search.", field="cursor"
    )


class SearchService:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def messages(
        self,
        principal: Principal,
        query: str,
        *,
        conversation: str | uuid.UUID | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> SearchPage:
        """Best match first; `next_cursor` fetches the next page of the same search."""
        words = words_of(query)
        limit = max(1, min(limit, MAX_PAGE))
        ref = str(conversation) if conversation is not None else None
        digest = _digest(words, ref)
        offset = decode_cursor(cursor, digest) if cursor else 0
        limit = min(limit, MAX_RESULTS - offset)
        async with self._uow() as work:
            blocks, _ = await social_queries.block_sets(work.tx, principal.user_id)
            hidden = frozenset(uuid.UUID(b) for b in blocks)
            if ref is not None:
                found, _ = await access.load(work.tx, ref, principal)
                direct = found.kind == ConversationKind.DIRECT
                scope = Scope(
                    principal.user_id, found.id, hidden_senders=frozenset() if direct else hidden
                )
            else:
                supervisor = principal.role in access.SUPPORT_SUPERVISORS
                scope = Scope(principal.user_id, all_support=supervisor, hidden_senders=hidden)
            rows = await search_messages(work.tx, words, scope, limit=limit + 1, offset=offset)
            has_more = len(rows) > limit
            rows = rows[:limit]
            reactions = await reaction_queries.summary(
                work.tx, [m.id for m, _, _ in rows], principal.user_id
            )
        results: list[SearchHit] = []
        for message, sender, found_in in rows:
            public = message_public(message, sender_of(sender), room_of(found_in))
            public.reactions = [
                ReactionCount(emoji=e, count=n, mine=mine)
                for e, n, mine in reactions.get(message.id, [])
            ]
            results.append(SearchHit(message=public, highlight=highlight(public.content, words)))
        next_offset = offset + len(rows)
        has_more = has_more and next_offset < MAX_RESULTS
        return SearchPage(
            results=results,
            terms=words,
            next_cursor=encode_cursor(next_offset, digest) if has_more else None,
            has_more=has_more,
        )
