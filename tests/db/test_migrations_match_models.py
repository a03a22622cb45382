"""The migrations build exactly the schema the models declare, on every database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from parley.db.database import Database
from parley.db.migrate import upgrade_to_head
from parley.db.models import Base
from parley.db.search.schema import include_object
from tests.support.services import create_mariadb_database, create_postgres_database


def _differences(database_url: str) -> list[object]:
    async def run() -> list[object]:
        database = Database(database_url)
        try:
            await upgrade_to_head(database)
            async with database.engine.connect() as connection:
                return await connection.run_sync(
                    lambda sync: compare_metadata(
                        MigrationContext.configure(sync, opts={"include_object": include_object}),
                        Base.metadata,
                    )
                )
        finally:
            await database.dispose()

    return asyncio.run(run())


def test_a_migrated_database_has_the_models_schema(database_url: str) -> None:
    assert _differences(database_url) == []


RELEASED = "0003"
"""The newest revision a database may already be at (what the 2026-11 builds made)."""


@pytest.fixture
def fresh_database_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of the same backend as `database_url` (the shared one has been
    migrated and filled by the suite by the time this runs)."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'upgrade.db'}"
        return
    throwaway = (
        create_postgres_database()
        if database_url.startswith("postgres")
        else create_mariadb_database()
    )
    try:
        yield throwaway.url
    finally:
        throwaway.drop()


def test_upgrading_keeps_every_row(fresh_database_url: str) -> None:
    """A database made by an older build keeps its users, sessions, conversations, members
    and messages through every later migration (on SQLite a table rebuilt by a batch
    migration would cascade its ON DELETE to all of them)."""
    from alembic import command
    from sqlalchemy import text

    from parley.db.migrate import _alembic_config

    tables = ["users", "device_sessions", "conversations", "conversation_members", "messages"]

    async def run() -> dict[str, int]:
        database = Database(fresh_database_url)
        try:
            async with database.engine.begin() as connection:
                await connection.run_sync(
                    lambda sync: command.upgrade(_alembic_config(sync), RELEASED)
                )
            async with database.engine.begin() as connection:
                for statement, values in _seed_rows():
                    await connection.execute(text(statement), values)
            await upgrade_to_head(database)
            async with database.engine.connect() as connection:
                counts = {}
                for table in tables:  # names of our own, not input
                    query = text(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
                    counts[table] = int((await connection.execute(query)).scalar_one())
                return counts
        finally:
            await database.dispose()

    counts = asyncio.run(run())
    assert counts == {table: 1 for table in tables}


def _seed_rows() -> list[tuple[str, dict[str, object]]]:
    """One row per table, in the schema of revision 0003."""
    ids = {
        "user": "11111111111111111111111111111111",
        "session": "22222222222222222222222222222222",
        "conversation": "33333333333333333333333333333333",
        "message": "44444444444444444444444444444444",
        "now": datetime(2026, 11, 30, 12, tzinfo=UTC),
    }
    return [
        (
            "INSERT INTO users (id, username, name, role, status, is_online, created_at, "
            "updated_at) "
            "VALUES (:user, 'old_user', 'Old', 'customer', 'active', false, :now, :now)",
            ids,
        ),
        (
            "INSERT INTO device_sessions (id, user_id, refresh_jti, created_at, last_used_at, "
            "expires_at) VALUES (:session, :user, 'jti', :now, :now, :now)",
            ids,
        ),
        (
            "INSERT INTO conversations (id, kind, status, last_seq, created_at, updated_at) "
            "VALUES (:conversation, 'group', 'active', 1, :now, :now)",
            ids,
        ),
        (
            "INSERT INTO conversation_members (conversation_id, user_id, role, last_read_seq, "
            "joined_at) VALUES (:conversation, :user, 'owner', 0, :now)",
            ids,
        ),
        (
            "INSERT INTO messages (id, conversation_id, seq, sender_id, type, content, "
            "created_at) VALUES (:message, :conversation, 1, :user, 'text', 'kept', :now)",
            ids,
        ),
    ]
