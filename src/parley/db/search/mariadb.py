"""MariaDB: the InnoDB FULLTEXT index, in boolean mode with every word required."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.dialects.mysql import match as fulltext_match

from parley.db.models import Message
from parley.db.search.match import Match

MIN_WORD_CHARS = 3
"""InnoDB's default `innodb_ft_min_token_size`: shorter words are not in the index."""
STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "an",
        "are",
        "as",
        "at",
        "be",
        "by",
        "com",
        "de",
        "en",
        "for",
        "from",
        "how",
        "i",
        "in",
        "is",
        "it",
        "la",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "what",
        "when",
        "where",
        "who",
        "will",
        "with",
        "und",
        "www",
    ]
)
"""InnoDB's default stop words (`INFORMATION_SCHEMA.INNODB_FT_DEFAULT_STOPWORD`): not indexed."""


def indexed(words: Sequence[str]) -> list[str]:
    """The words the index can hold; requiring any other would match nothing."""
    return [w for w in words if len(w) >= MIN_WORD_CHARS and w.lower() not in STOP_WORDS]


def match(words: Sequence[str]) -> Match | None:
    kept = indexed(words)
    if not kept:
        return None
    # Words are letters and digits only, so `+word` never meets an operator or a quote.
    wanted = " ".join("+" + word for word in kept)
    relevance = fulltext_match(Message.__table__.c.content, against=wanted).in_boolean_mode()
    return Match(condition=relevance > 0, score=relevance)
