"""Migration 0008's full-text objects exist on each database (the model comparison leaves
exactly these out, see `parley.db.search.schema.include_object`)."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text

from parley.db.database import Database
from parley.db.migrate import upgrade_to_head
from parley.db.search.schema import (
    FTS_TABLE,
    FTS_TRIGGERS,
    FULLTEXT_INDEX,
    GIN_INDEX,
    include_object,
)
from tests.search.support import found, group, say, word
from tests.support.accounts import direct_chat, register


def _objects(database_url: str) -> tuple[str, set[str]]:
    async def run() -> tuple[str, set[str]]:
        database = Database(database_url)
        try:
            await upgrade_to_head(database)
            async with database.engine.connect() as connection:
                if database.dialect == "sqlite":
                    rows = await connection.execute(text("SELECT name FROM sqlite_master"))
                elif database.dialect == "postgresql":
                    rows = await connection.execute(
                        text("SELECT indexname FROM pg_indexes WHERE tablename = 'messages'")
                    )
                else:
                    rows = await connection.execute(
                        text(
                            "SELECT index_name FROM information_schema.statistics WHERE "
                            "table_schema = DATABASE() AND table_name = 'messages' "
                            "AND index_type = 'FULLTEXT'"
                        )
                    )
                return database.dialect, {str(row[0]) for row in rows}
        finally:
            await database.dispose()

    return asyncio.run(run())


def test_each_database_has_its_search_index(database_url: str) -> None:
    dialect, names = _objects(database_url)
    if dialect == "sqlite":
        assert {FTS_TABLE, *FTS_TRIGGERS} <= names
    elif dialect == "postgresql":
        assert GIN_INDEX in names
    else:
        assert FULLTEXT_INDEX in names


def test_only_the_search_objects_are_left_out_of_the_comparison() -> None:
    for name in (FTS_TABLE, f"{FTS_TABLE}_data", f"{FTS_TABLE}_config"):
        assert not include_object(None, name, "table", True, None)
    assert not include_object(None, GIN_INDEX, "index", True, None)
    assert not include_object(None, FULLTEXT_INDEX, "index", True, None)
    for name, kind in (("messages", "table"), ("messages_other", "table"), ("ix_x", "index")):
        assert include_object(None, name, kind, True, None)
    assert include_object(None, FTS_TABLE, "table", False, None)  # a model table is compared


def _fts_integrity(database_url: str) -> None:
    """SQLite: FTS5's own check that the index matches the rows of messages."""

    async def run() -> None:
        database = Database(database_url)
        try:
            async with database.engine.begin() as connection:
                await connection.execute(
                    text(
                        "INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)"
                    )
                )
        finally:
            await database.dispose()

    asyncio.run(run())


def test_the_index_follows_edits_deletes_and_dropped_conversations(
    api: httpx.Client, database_url: str
) -> None:
    alice, bob = register(api), register(api)
    team = group(api, alice, bob)
    term, edited = word("ix"), word("ed")
    first = say(api, alice, team, f"{term} one")
    say(api, bob, team, f"{term} two")
    api.patch(f"/api/v1/messages/{first}", headers=alice.headers, json={"content": edited})
    assert found(api, bob, term) == [f"{term} two"]
    assert api.delete(f"/api/v1/conversations/{team}", headers=alice.headers).status_code == 204
    assert found(api, alice, term) == []
    assert found(api, alice, edited) == []
    if database_url.startswith("sqlite"):
        _fts_integrity(database_url)  # the triggers kept the external-content index exact
    chat = direct_chat(api, alice, bob)
    say(api, alice, chat, f"{term} again")
    assert found(api, bob, term) == [f"{term} again"]
