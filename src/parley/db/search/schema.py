"""The full-text objects migration 0008 creates, which the models cannot declare."""

from __future__ import annotations

from typing import Any

FTS_TABLE = "messages_fts"
"""SQLite: the external-content FTS5 table over messages (rowid = messages.rowid)."""
FTS_TRIGGERS = ("messages_fts_inserted", "messages_fts_deleted", "messages_fts_updated")
GIN_INDEX = "ix_messages_content_search"
"""PostgreSQL: GIN on `PG_VECTOR_SQL`; queries must use that very expression."""
PG_CONFIG = "simple"
"""No stemming and no stop words: messages come in every language."""
PG_VECTOR_SQL = "to_tsvector('simple'::regconfig, content)"
FULLTEXT_INDEX = "ix_messages_content_fulltext"
"""MariaDB: the InnoDB FULLTEXT index on messages.content."""

FTS5_SHADOW_SUFFIXES = ("_data", "_idx", "_docsize", "_config", "_content")


def is_search_table(name: str | None) -> bool:
    return name == FTS_TABLE or any(name == FTS_TABLE + s for s in FTS5_SHADOW_SUFFIXES)


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic's `include_object`: leave out exactly the search objects found in the database
    (tests/search checks that each one exists); everything else is compared."""
    if not reflected:
        return True
    if type_ == "table":
        return not is_search_table(name)
    if type_ == "index":
        return name not in (GIN_INDEX, FULLTEXT_INDEX)
    return True
